"""The permission policy editor's companions: documents shown as indented JSON, examples to start from,
the action catalog by group, and which field an error is about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import orjson

from gatehouse.errors import GatehouseError
from gatehouse.iam.catalog import ACTIONS, GROUPS, LABEL_KEYS, VIEWER_POLICY, Action
from gatehouse.iam.catalog_gateway import ACTION_ALIASES, COLLECTIONS, RESOURCES
from gatehouse.iam.gateway_examples import EXAMPLES as GATEWAY_EXAMPLES
from gatehouse.iam.policy import PolicyError, parse_policy

FIELDS: Final = ("name", "description", "labels")
"""The editor's one-line fields (beside the document)."""


def pretty(document: object) -> str:
    """A document as the editor and the policy page show it: indented JSON."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


@dataclass(frozen=True, slots=True)
class Example:
    """A policy document to start from."""

    key: str
    title: str
    text: str


LABELLED_EXAMPLE: Final[Mapping[str, object]] = {
    "statement": [
        {"effect": "allow", "actions": ["iam:Get<.*>"], "resources": ["*"]},
        {
            "effect": "allow",
            "actions": ["iam:UpdateRole"],
            "resources": ["arn:gatehouse:iam:role/*"],
            "conditions": {
                "role_label": {
                    "type": "MatchLabel",
                    "options": {"key": "team", "operator": "exact_match", "value": "sre"},
                }
            },
        },
        {"effect": "deny", "actions": ["iam:DeleteRole"], "resources": ["arn:gatehouse:iam:role/*"]},
    ]
}
"""Read everything, edit the roles labelled team=sre, never delete a role (deny overrides allow)."""

EXAMPLES: Final[tuple[Example, ...]] = (
    Example("viewer", "Read-only (the starter Viewer policy)", pretty(parse_policy(VIEWER_POLICY).as_dict())),
    Example(
        "labelled",
        "Edit roles labelled team=sre, never delete roles",
        pretty(parse_policy(LABELLED_EXAMPLE).as_dict()),
    ),
    *(
        Example(example.key, example.title, pretty(parse_policy(example.document).as_dict()))
        for example in GATEWAY_EXAMPLES
    ),
)
EXAMPLES_BY_KEY: Final = {example.key: example for example in EXAMPLES}
CATALOG: Final[tuple[tuple[str, tuple[Action, ...]], ...]] = tuple(
    (title, tuple(action for action in ACTIONS if action.group == group)) for group, title in GROUPS.items()
)
"""The action catalog by group, in display order, for the editor's reference list and the simulator."""

RESOURCE_NAMES: Final[tuple[tuple[str, str, str], ...]] = (
    ("IAM objects", "arn:gatehouse:iam:<kind>/{id} (or arn:api7:iam:<kind>/{id})", "user_label, role_label, …"),
    *(
        (
            kind,
            RESOURCES[kind] if RESOURCES[kind] == COLLECTIONS[kind] else f"{RESOURCES[kind]}, {COLLECTIONS[kind]}",
            ", ".join(LABEL_KEYS[kind]) or "—",
        )
        for kind in RESOURCES
    ),
)
"""The editor's list of resource names: (kind, names, label condition keys)."""
ALIASES: Final = tuple(sorted(ACTION_ALIASES.items()))
"""API7's action names the editor accepts, and what they stand for."""


def error_field(exc: GatehouseError) -> str:
    """Which field an error is about (shown next to it): ``document`` for a policy's syntax or content."""
    if isinstance(exc, PolicyError) or exc.detail.startswith(("document", "statement")):
        return "document"
    for name in FIELDS:
        if exc.detail.startswith(name):
            return name
    return "form"
