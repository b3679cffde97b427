"""Validation of permission policy documents (see :mod:`gatehouse.iam.policy`)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from gatehouse.iam.catalog import ACTIONS, CONDITION_KEYS, NAME_PREFIXES, RESOURCE_KINDS, RESOURCE_PREFIX
from gatehouse.iam.policy_model import (
    EFFECTS,
    MAX_CONDITIONS,
    MAX_DOCUMENT_CHOICES,
    MAX_LABEL_LENGTH,
    MAX_OPTIONS,
    MAX_PATTERNS,
    MAX_STATEMENTS,
    OPERATORS,
    Condition,
    Effect,
    LabelCheck,
    PolicyDocument,
    PolicyError,
    Statement,
    catalog_matches,
)
from gatehouse.iam.policy_patterns import Pattern, PatternError, compile_pattern
from gatehouse.json_types import json_type

_DOCUMENT_KEYS: Final = ("statement",)
_STATEMENT_KEYS: Final = ("effect", "actions", "resources", "conditions")
_CONDITION_KEYS: Final = ("type", "options")
_OPTION_KEYS: Final = ("key", "operator", "value")
_CONDITION_NAME: Final = re.compile(r"[a-z][a-z0-9_]*_label")
_KIND_PREFIXES: Final = NAME_PREFIXES
_LABEL_KINDS: Final = ", ".join(CONDITION_KEYS[:6])


def parse_policy(document: object) -> PolicyDocument:
    """Validate a policy document (parsed JSON) and compile it, or raise :class:`PolicyError`.

    Unknown keys are refused (to catch typos), as are action patterns that match no catalog action
    and resource patterns that cannot match any ``arn:gatehouse:iam:<kind>/...`` name.
    """
    if not isinstance(document, Mapping):
        raise PolicyError("document", "must be a JSON object with a 'statement' list")
    _refuse_unknown_keys(document, _DOCUMENT_KEYS, "", None, "a policy document has only 'statement'")
    if "statement" not in document:
        raise PolicyError("statement", "is required: a list of statements")
    raw_statements = _list(document["statement"], "statement", None, "must be a list of statements")
    if len(raw_statements) > MAX_STATEMENTS:
        raise PolicyError("statement", f"has {len(raw_statements)} statements; at most {MAX_STATEMENTS} are allowed")
    statements = tuple(_parse_statement(index, raw) for index, raw in enumerate(raw_statements))
    _check_complexity(statements)
    return PolicyDocument(statements)


def _parse_statement(index: int, raw: object) -> Statement:
    at = f"statement[{index}]"
    if not isinstance(raw, Mapping):
        raise PolicyError(at, "must be an object with effect, actions and resources", index)
    _refuse_unknown_keys(
        raw, _STATEMENT_KEYS, f"{at}.", index, "a statement has effect, actions, resources, conditions"
    )
    for key in ("effect", "actions", "resources"):
        if key not in raw:
            raise PolicyError(f"{at}.{key}", "is required", index)
    if raw["effect"] not in EFFECTS:
        raise PolicyError(f"{at}.effect", f'unknown effect {raw["effect"]!r}: use "allow" or "deny"', index)
    effect: Effect = "allow" if raw["effect"] == "allow" else "deny"
    actions = _patterns(raw["actions"], f"{at}.actions", index)
    for position, pattern in enumerate(actions):
        if not catalog_matches(pattern):
            raise PolicyError(f"{at}.actions[{position}]", _no_action(pattern.text), index)
    resources = _patterns(raw["resources"], f"{at}.resources", index)
    for position, pattern in enumerate(resources):
        if not _may_name_a_resource(pattern):
            reason = (
                f"{pattern.text!r} matches no resource: names look like {RESOURCE_PREFIX}<kind>/<id>, "
                f"with kind one of {', '.join(RESOURCE_KINDS)} (or arn:api7:iam:<kind>/<id>), or "
                "arn:api7:gateway:<kind>/<id> with kind gatewaygroup, servicetemplate, gatewaysetting or alert"
            )
            raise PolicyError(f"{at}.resources[{position}]", reason, index)
    conditions = _conditions(raw.get("conditions", {}), f"{at}.conditions", index)
    return Statement(effect, actions, resources, conditions)


def _patterns(raw: object, at: str, index: int) -> tuple[Pattern, ...]:
    items = _list(raw, at, index, "must be a list of strings")
    if not items:
        raise PolicyError(at, "must not be empty", index)
    if len(items) > MAX_PATTERNS:
        raise PolicyError(at, f"has {len(items)} entries; at most {MAX_PATTERNS} are allowed", index)
    patterns: list[Pattern] = []
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise PolicyError(f"{at}[{position}]", f"must be a string, not {json_type(item)}", index)
        try:
            patterns.append(compile_pattern(item))
        except PatternError as exc:
            raise PolicyError(f"{at}[{position}]", f"{item!r} {exc}", index) from None
    return tuple(patterns)


def _no_action(text: str) -> str:
    reason = f"{text!r} matches no action of the catalog"
    folded = [action.name for action in ACTIONS if action.name.lower() == text.lower()]
    if folded:
        return f"{reason}; did you mean {folded[0]!r}? Actions are case-sensitive"
    close = difflib.get_close_matches(text, [action.name for action in ACTIONS], n=1)
    return f"{reason}; did you mean {close[0]!r}?" if close else reason


def _may_name_a_resource(pattern: Pattern) -> bool:
    """Whether the pattern's literal start is compatible with the start of some resource name
    (:data:`~gatehouse.iam.catalog.NAME_PREFIXES`)."""
    prefix = pattern.prefix
    return any(kind.startswith(prefix) or prefix.startswith(kind) for kind in _KIND_PREFIXES)


def _conditions(raw: object, at: str, index: int) -> tuple[Condition, ...]:
    if not isinstance(raw, Mapping):
        raise PolicyError(at, "must be an object of conditions keyed by label kind, e.g. user_label", index)
    if len(raw) > MAX_CONDITIONS:
        raise PolicyError(at, f"has {len(raw)} conditions; at most {MAX_CONDITIONS} are allowed", index)
    conditions: list[Condition] = []
    for name, body in raw.items():
        where = f"{at}.{name}"
        if not isinstance(name, str) or not _CONDITION_NAME.fullmatch(name):
            reason = f"unknown condition key {name!r}: condition keys end in '_label', e.g. {_LABEL_KINDS}"
            raise PolicyError(where, reason, index)
        if not isinstance(body, Mapping):
            raise PolicyError(where, 'must be an object {"type": "MatchLabel", "options": ...}', index)
        _refuse_unknown_keys(body, _CONDITION_KEYS, f"{where}.", index, "a condition has type and options")
        if body.get("type") != "MatchLabel":
            raise PolicyError(f"{where}.type", f'must be "MatchLabel", not {body.get("type")!r}', index)
        if "options" not in body:
            raise PolicyError(f"{where}.options", "is required", index)
        options = body["options"]
        if isinstance(options, Mapping):
            checks: tuple[LabelCheck, ...] = (_label_check(options, f"{where}.options", index),)
        else:
            items = _list(options, f"{where}.options", index, "must be an object or a list of objects")
            if not items:
                raise PolicyError(f"{where}.options", "must not be empty", index)
            if len(items) > MAX_OPTIONS:
                raise PolicyError(f"{where}.options", f"has {len(items)} entries; at most {MAX_OPTIONS}", index)
            checks = tuple(_label_check(item, f"{where}.options[{n}]", index) for n, item in enumerate(items))
        conditions.append(Condition(name, checks))
    return tuple(conditions)


def _label_check(raw: object, at: str, index: int) -> LabelCheck:
    if not isinstance(raw, Mapping):
        raise PolicyError(at, 'must be an object {"key", "operator", "value"}', index)
    _refuse_unknown_keys(raw, _OPTION_KEYS, f"{at}.", index, "an option has key, operator and value")
    key = raw.get("key")
    if not isinstance(key, str) or not key or len(key) > MAX_LABEL_LENGTH:
        raise PolicyError(f"{at}.key", f"is required: a label key of 1 to {MAX_LABEL_LENGTH} characters", index)
    operator = next((known for known in OPERATORS if raw.get("operator") == known), None)
    if operator is None:
        reason = f"unknown operator {raw.get('operator')!r}: use one of {', '.join(OPERATORS)}"
        raise PolicyError(f"{at}.operator", reason, index)
    value = raw.get("value")
    if operator == "present":
        if value is not None:
            raise PolicyError(f"{at}.value", "is not used by the operator 'present': remove it", index)
        return LabelCheck(key, operator)
    if not isinstance(value, str) or len(value) > MAX_LABEL_LENGTH:
        reason = f"is required by the operator {operator!r}: a string of at most {MAX_LABEL_LENGTH} characters"
        raise PolicyError(f"{at}.value", reason, index)
    return LabelCheck(key, operator, value)


def _check_complexity(statements: tuple[Statement, ...]) -> None:
    total = 0
    for index, statement in enumerate(statements):
        for position, pattern in enumerate(statement.resources):
            if pattern.kind == "regex":
                total += pattern.choices
                if total > MAX_DOCUMENT_CHOICES:
                    reason = (
                        "the document's regex resource patterns are too ambiguous together to match quickly: "
                        "use fewer open-ended repetitions, or * wildcards without a regex segment"
                    )
                    raise PolicyError(f"statement[{index}].resources[{position}]", reason, index)


def _refuse_unknown_keys(raw: Mapping[Any, Any], known: tuple[str, ...], at: str, index: int | None, hint: str) -> None:
    for key in raw:
        if key not in known:
            raise PolicyError(f"{at}{key}", f"unknown key {key!r}: {hint}", index)


def _list(raw: object, at: str, index: int | None, reason: str) -> Sequence[object]:
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise PolicyError(at, reason, index)
    return raw
