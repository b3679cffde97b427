"""The policy simulator: would this user be allowed this action on this resource, and which statement
decides? It evaluates exactly what :func:`~gatehouse.iam.authorizer.require` would for that user now
(their roles, their group-bound roles, their boundaries), without doing anything.

Simulating for a user shows what they may do, so it needs ``iam:GetUser`` on that user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import orjson

from gatehouse.errors import GatehouseError, InvalidInput, existing
from gatehouse.iam.authorizer import Labels, Principal, authorize, load_principal, require
from gatehouse.iam.catalog import (
    ACTION_NAMES,
    ACTIONS_BY_NAME,
    ANY_ID,
    NAME_PREFIXES,
    Action,
    canonical_action,
    resource_name,
)
from gatehouse.iam.catalog import LABEL_KEYS as _LABEL_KEYS
from gatehouse.iam.gateway_labels import resolve
from gatehouse.iam.policies import get_policy
from gatehouse.iam.policy import Decision
from gatehouse.iam.resource_names import LABELLED, parse_resource
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection

MAX_RESOURCE = 512


@dataclass(frozen=True, slots=True)
class Simulation:
    """The question and the answer."""

    user_id: str
    user_name: str
    action: str
    resource: str
    decision: Decision


def simulate(
    connection: Connection,
    principal: Principal,
    user_id: str,
    action: str,
    resource: str,
    labels: Labels | None = None,
) -> Simulation:
    """Decide ``action`` on ``resource`` for ``user_id`` as the authorizer would now."""
    require(principal, "iam:GetUser", resource_name("user", user_id))
    if canonical_action(action) not in ACTION_NAMES:
        raise InvalidInput(f"Unknown action {action!r}: pick one from the catalog.")
    resource = resource.strip()
    if not resource.startswith(NAME_PREFIXES) or len(resource) > MAX_RESOURCE:
        raise InvalidInput(
            f"A resource is a name such as {resource_name('user', '<id>')} or "
            f"{resource_name('gatewaygroup', '<id>')} (at most {MAX_RESOURCE} characters)."
        )
    user = existing(user_store.get(connection, user_id), "There is no such user. They may have been deleted.")
    subject = load_principal(connection, user_id)
    return Simulation(user.id, user.user_name, action, resource, authorize(subject, action, resource, labels))


# ------------------------------------------------------------------------------------------ the form


DEFAULT_ACTION: Final = "iam:GetUser"

LABEL_KEYS: Final = _LABEL_KEYS
"""The condition keys of a resource's labels, by resource kind, its own first (groups, the organization and
the gateway settings have none): ``gatewaygroup`` takes ``gateway_group_label`` (and a secret's or a
certificate's labels), a published service ``service_label`` and its group's ``gateway_group_label``, a
consumer ``consumer_label`` and ``gateway_group_label``. In the form, ``env=dev`` is a label of the resource
itself (its own key) and ``gateway_group_label:env=dev`` one under the key named; for a gateway resource,
the keys not given take the labels Gatehouse keeps (:func:`gatehouse.iam.gateway_labels.resolve`)."""


@dataclass(frozen=True, slots=True)
class Question:
    """The simulator's form as asked: a user (id or username), an action, optionally a resource (default:
    the user for user actions, every object of the kind otherwise) and the resource's labels."""

    user: str = ""
    action: str = DEFAULT_ACTION
    resource: str = ""
    labels: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The simulation, and the deciding statement as indented JSON when the asker may read its policy."""

    simulation: Simulation
    statement: str | None


def default_resource(action: Action, user_id: str) -> str:
    """The resource an action is checked against, made concrete: a user action asks about the simulated
    user themselves; other kinds ask about every object (``<kind>/*``)."""
    return action.resource.replace("{id}", user_id if action.kind == "user" else ANY_ID)


def ask(connection: Connection, principal: Principal, question: Question) -> Answer:
    """Resolve the user (an id, else a username), fill in the default resource and :func:`simulate`."""
    action = ACTIONS_BY_NAME.get(question.action)
    if action is None:
        raise InvalidInput(f"Unknown action {question.action!r}: pick one from the catalog.")
    wanted = question.user.strip()
    found = user_store.get(connection, wanted) or user_store.get_by_user_name(connection, wanted)
    user_id = found.id if found else wanted  # unknown: simulate checks iam:GetUser, then says not found
    resource = question.resource.strip() or default_resource(action, user_id)
    labels = _labels_by_key(action, question.labels or {})
    if action.kind in LABELLED:
        try:
            named = parse_resource(resource)
        except InvalidInput:
            named = None  # simulate says what is wrong with it
        if named is not None:
            labels = resolve(connection, [named], [labels])[0]
    result = simulate(connection, principal, user_id, action.name, resource, labels or None)
    return Answer(result, _statement_text(connection, principal, result.decision))


def _labels_by_key(action: Action, given: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The form's labels by condition key (see :data:`LABEL_KEYS`)."""
    keys = LABEL_KEYS.get(action.kind, ())
    if given and not keys:
        raise InvalidInput(f"labels: {action.kind} resources carry no labels; leave the labels empty.")
    labels: dict[str, dict[str, str]] = {}
    for name, value in given.items():
        key, colon, label = name.partition(":")
        if not colon:
            labels.setdefault(keys[0], {})[name] = value
        elif key in keys and label:
            labels.setdefault(key, {})[label] = value
        else:
            raise InvalidInput(
                f"labels: {name!r}: write key=value for the resource's own labels, or <condition key>:key=value with "
                f"a condition key of {action.kind} resources ({', '.join(keys)})."
            )
    return labels


def _statement_text(connection: Connection, principal: Principal, decision: Decision) -> str | None:
    ref = decision.statement
    if ref is None:
        return None
    try:
        policy = get_policy(connection, principal, ref.policy_id)
    except GatehouseError:  # the asker may not read the deciding policy: the answer stands without it
        return None
    statements = orjson.loads(policy.document).get("statement", [])
    if 0 <= ref.index < len(statements):
        return orjson.dumps(statements[ref.index], option=orjson.OPT_INDENT_2).decode()
    return None
