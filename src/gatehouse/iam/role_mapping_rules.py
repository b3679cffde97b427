"""A login option's role-mapping rules as administrators write and read them (dashboard, admin API, CLI): their
checks, every problem at once, their targets named, and their dry run. The engine that evaluates them at
sign-in is :mod:`gatehouse.login.mapping`; this module adds what needs the database (the targets) and words
its problems for people.

- Each rule's ``target_id`` is a role id (``kind`` ``role``) or a permission policy id (``kind``
  ``boundary``), or that role's or policy's name, which is stored as its id. Every target must exist, and
  the built-in Super Admin role is never one: it is held by Super Admin accounts only, so no sign-in can
  make someone Super Admin.
- :func:`check_rules` finds every problem of every rule, not only the first: a :class:`RuleError` holds them
  all as :class:`RuleProblem` (rule index and field), so that a form can show each beside its field. Each
  reads as a sentence ("In rule 2, the attribute must be a JSONPath starting with $, such as $.groups[*].").
- Reading rules (:func:`describe_rules`, :func:`dry_run`) is ``iam:GetLoginOption``, like reading the option.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from jsonpath import JSONPathError

from gatehouse.errors import InvalidInput
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.json_types import json_type
from gatehouse.login import mapping
from gatehouse.login.mapping import FIELDS, KINDS, Kind, MappingError, Operation, Rule
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store.database import Connection

READ_ACTION: Final = "iam:GetLoginOption"
"""Reading rules is reading login options (:data:`gatehouse.iam.login_options.GET_ACTION`)."""
CHANGE_ACTION: Final = "iam:UpdateLoginOption"
"""Checking rules to save is changing login options (:data:`gatehouse.iam.login_options.UPDATE_ACTION`)."""
LABELS: Final[Mapping[str, str]] = {
    "kind": "kind", "target_id": "target", "attribute": "attribute", "operation": "operation", "value": "value",
}  # fmt: skip
MAX_LENGTHS: Final[Mapping[str, int]] = {
    "kind": 20, "target_id": mapping.MAX_TARGET_ID_LENGTH, "attribute": mapping.MAX_ATTRIBUTE_LENGTH,
    "operation": 40, "value": mapping.MAX_VALUE_LENGTH,
}  # fmt: skip
_MISSING: Final[Mapping[str, str]] = {
    "kind": "choose whether the rule grants a role or a boundary",
    "attribute": "give the attribute to read, as a JSONPath such as $.groups[*]",
    "operation": "choose how to compare the attribute with the value",
    "value": "give the value to compare with",
}
_OPERATIONS: Final = ", ".join(op.value for op in Operation)


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """What is wrong: with one field of one rule (``index`` 0 for the first rule, ``field`` one of
    :data:`~gatehouse.login.mapping.FIELDS`), with a rule as a whole (``field`` ``None``), or with the rules
    as a whole (``index`` ``None``: not JSON, not an array, too many)."""

    index: int | None
    field: str | None
    reason: str
    """A clause that reads on its own, lower case, without the final stop ("the value must not be empty")."""

    @property
    def message(self) -> str:
        """The sentence shown beside the field: "The value must not be empty." """
        return self.reason[:1].upper() + self.reason[1:] + "."

    @property
    def sentence(self) -> str:
        """The sentence that names the rule too: "In rule 2, the value must not be empty." """
        return self.message if self.index is None else f"In rule {self.index + 1}, {self.reason}."


class RuleError(InvalidInput):
    """Rules that are not acceptable: every problem found (:attr:`problems`), and :attr:`fields`, the problems
    of the form's other fields if there are some (as :class:`~gatehouse.errors.FieldProblems` has them); the
    detail is all their sentences, the other fields' first."""

    def __init__(self, problems: Sequence[RuleProblem], fields: Mapping[str, str] | None = None) -> None:
        self.problems, self.fields = tuple(problems), dict(fields or {})
        super().__init__(" ".join([*self.fields.values(), *(problem.sentence for problem in self.problems)]))


def _error(reason: str, index: int | None = None, field: str | None = None) -> RuleError:
    return RuleError([RuleProblem(index, field, reason)])


# ------------------------------------------------------------------------------------------ views


@dataclass(frozen=True)
class Target:
    """A rule's target for display: ``name`` is ``None`` when no such role or policy exists (any more)."""

    kind: Kind
    id: str
    name: str | None
    built_in: bool = False

    @property
    def problem(self) -> str | None:
        """Why a sign-in would not grant it, if it would not."""
        if self.name is None:
            return f"no such {'role' if self.kind == 'role' else 'permission policy'}"
        if self.kind == "role" and self.built_in:
            return "built-in role, never granted by mapping"
        return None

    @property
    def label(self) -> str:
        return self.name if self.name is not None else self.id


@dataclass(frozen=True)
class RuleLine:
    """One rule with its number (1 for the first) and its target's name."""

    number: int
    rule: Rule
    target: Target


@dataclass(frozen=True)
class OutcomeView:
    """One rule's dry-run outcome: whether it matched, and the claim value and its location if so."""

    number: int
    rule: Rule
    target: Target
    matched: bool
    value: str | None
    location: str | None


@dataclass(frozen=True)
class GrantView:
    """A resulting role or boundary, with the number of the first rule that grants it."""

    target: Target
    rule: int


@dataclass(frozen=True)
class DryRunView:
    """What the rules grant for the sample claims, targets named."""

    outcomes: tuple[OutcomeView, ...]
    roles: tuple[GrantView, ...]
    boundaries: tuple[GrantView, ...]

    def to_json(self) -> dict[str, Any]:
        def target(t: Target) -> dict[str, Any]:
            return {"kind": t.kind, "id": t.id, "name": t.name, "problem": t.problem}

        def grants(items: tuple[GrantView, ...]) -> list[dict[str, Any]]:
            return [{**target(g.target), "rule": g.rule} for g in items]

        return {
            "rules": [
                {"number": o.number, **o.rule.to_json(), "target": target(o.target), "matched": o.matched,
                 "matched_value": o.value, "matched_at": o.location}
                for o in self.outcomes
            ],
            "roles": grants(self.roles),
            "boundaries": grants(self.boundaries),
        }  # fmt: skip


def describe_rules(connection: Connection, principal: Principal, rules: Sequence[Rule]) -> list[RuleLine]:
    """Rules numbered, with their targets' names (for the rules table)."""
    require(principal, READ_ACTION, ORGANIZATION)
    targets = _targets(connection, rules)
    return [RuleLine(i + 1, rule, targets[i]) for i, rule in enumerate(rules)]


# ------------------------------------------------------------------------------------------ checks


def rules_from_text(text: str) -> list[Any]:
    """Rules typed as JSON (an array of rule objects; blank is none), decoded but not yet checked."""
    if not text.strip():
        return []
    if len(text) > mapping.MAX_JSON_TEXT_LENGTH:
        raise _error(f"the rules are longer than {mapping.MAX_JSON_TEXT_LENGTH} characters")
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(f"the rules are not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise _error("the rules are nested too deeply") from None
    if not isinstance(decoded, list):
        raise _error("the rules must be a JSON array of rules, [ {...}, {...} ]")
    return decoded


def check_rules(connection: Connection, raw: object) -> tuple[Rule, ...]:
    """Validate rules and resolve their targets to ids (see the module); :class:`RuleError` with every problem
    otherwise."""
    parsed = _parse(raw)
    resolved, problems = [], []
    for index, rule in enumerate(parsed):
        target = _resolve(connection, rule)
        if target is None:
            kind = "role" if rule.kind == "role" else "permission policy"
            problems.append(
                RuleProblem(index, "target_id", f"there is no {kind} with the id or name “{rule.target_id}”")
            )
        elif rule.kind == "role" and (target.built_in or target.id == SUPER_ADMIN_ROLE_ID):
            reason = (
                f"the built-in role {target.name} cannot be granted by mapping: it is held by Super Admin accounts "
                "only (made with gatehouse admin create), so no sign-in can make someone Super Admin"
            )
            problems.append(RuleProblem(index, "target_id", reason))
        else:
            resolved.append(replace(rule, target_id=target.id))
    if problems:
        raise RuleError(problems)
    return tuple(resolved)


def problems_of(connection: Connection, principal: Principal, raw: object) -> list[RuleProblem]:
    """Every problem of rules about to be saved, without raising (``iam:UpdateLoginOption``): for a form that
    shows them all at once with the error of another of its fields."""
    require(principal, CHANGE_ACTION, ORGANIZATION)
    try:
        check_rules(connection, raw)
    except RuleError as exc:
        return list(exc.problems)
    return []


def rule_problems(raw: object) -> list[RuleProblem]:
    """Every problem of decoded JSON rules that needs no database (each field of each rule on its own)."""
    if not isinstance(raw, list):
        return [RuleProblem(None, None, f"the rules must be a JSON array of rules, not {json_type(raw)}")]
    if len(raw) > mapping.MAX_RULES:
        return [RuleProblem(None, None, f"at most {mapping.MAX_RULES} rules are allowed, not {len(raw)}")]
    return [problem for index, item in enumerate(raw) for problem in _item_problems(index, item)]


def _item_problems(index: int, item: object) -> list[RuleProblem]:
    if not isinstance(item, dict):
        return [RuleProblem(index, None, f"the rule must be a JSON object, not {json_type(item)}")]
    problems = []
    if unknown := sorted(str(key) for key in item if key not in FIELDS):
        hint = " (name the target with kind and target_id)" if unknown[0] in KINDS else ""
        reason = f"the field {unknown[0]} is not a field of a rule{hint}; the fields are {', '.join(FIELDS)}"
        problems.append(RuleProblem(index, None, reason))
    texts: dict[str, str] = {}
    for name in FIELDS:
        value = item.get(name, "role" if name == "kind" else "")
        limit = mapping.MAX_REGEX_LENGTH if name == "value" and item.get("operation") == "regex" else MAX_LENGTHS[name]
        if not isinstance(value, str):
            problems.append(RuleProblem(index, name, f"the {LABELS[name]} must be text, not {json_type(value)}"))
        elif not value:
            problems.append(RuleProblem(index, name, _missing(name, item.get("kind", "role"))))
        elif len(value) > limit:
            reason = f"the {LABELS[name]} is longer than {limit} characters ({len(value)})"
            problems.append(RuleProblem(index, name, reason))
        else:
            texts[name] = value
    problems.extend(_value_problems(index, texts))
    return sorted(problems, key=lambda problem: -1 if problem.field is None else FIELDS.index(problem.field))


def _missing(name: str, kind: object) -> str:
    if name != "target_id":
        return _MISSING[name]
    if kind == "boundary":
        return "choose the permission policy to set as a boundary"
    return "choose the role to grant" if kind == "role" else "choose the role or permission policy"


def _value_problems(index: int, texts: Mapping[str, str]) -> list[RuleProblem]:
    problems = []
    if (kind := texts.get("kind")) is not None and kind not in KINDS:
        problems.append(RuleProblem(index, "kind", f"the kind must be role or boundary, not “{kind}”"))
    if (attribute := texts.get("attribute")) is not None:
        if not attribute.startswith("$"):
            reason = "the attribute must be a JSONPath starting with $, such as $.groups[*] or $.department"
            problems.append(RuleProblem(index, "attribute", reason))
        else:
            try:
                mapping.compile_path(attribute)
            except JSONPathError as exc:
                detail = (str(exc.args[0] if exc.args else exc).splitlines() or [type(exc).__name__])[0]
                problems.append(RuleProblem(index, "attribute", f"the attribute is not a valid JSONPath ({detail})"))
    if (operation := texts.get("operation")) is not None and operation not in {op.value for op in Operation}:
        reason = f"the operation “{operation}” is not one of {_OPERATIONS}"
        problems.append(RuleProblem(index, "operation", reason))
    value = texts.get("value")
    if operation == Operation.REGEX and value is not None and (unsafe := _regex_problem(value)) is not None:
        problems.append(RuleProblem(index, "value", unsafe))
    return problems


def _regex_problem(pattern: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            mapping.compile_regex(pattern)
    except re.error as exc:
        return f"the value is not a valid regular expression ({exc.msg} at position {exc.pos})"
    except (OverflowError, Warning) as exc:
        return f"the value is not a valid regular expression ({exc})"
    if (position := mapping.nested_quantifier(pattern)) is not None:
        return (
            f"the value is an unsafe regular expression: the repetition at position {position} applies to a group "
            "that itself repeats or alternates, which can backtrack without end"
        )
    return None


def _parse(raw: object) -> tuple[Rule, ...]:
    decoded = list(raw) if isinstance(raw, Sequence) and not isinstance(raw, str) else raw
    if problems := rule_problems(decoded):
        raise RuleError(problems)
    try:
        return mapping.parse_rules(decoded)
    except MappingError as exc:  # the engine's own check, should the one above ever miss something
        found = re.fullmatch(r"rules\[(\d+)\](?:\.(\w+))?", exc.location)
        index, field = (int(found.group(1)), found.group(2)) if found else (None, None)
        raise _error(f"the {LABELS.get(field or '', 'rule')} {exc.reason}", index, field) from None


def _resolve(connection: Connection, rule: Rule) -> Target | None:
    if rule.kind == "role":
        role = role_store.get(connection, rule.target_id) or role_store.get_by_name(connection, rule.target_id)
        return None if role is None else Target("role", role.id, role.name, role.built_in)
    policy = policy_store.get(connection, rule.target_id) or policy_store.get_by_name(connection, rule.target_id)
    return None if policy is None else Target("boundary", policy.id, policy.name, policy.built_in)


def _targets(connection: Connection, rules: Sequence[Rule]) -> list[Target]:
    """Each rule's target, named (a missing one unnamed), without raising."""
    return [_resolve(connection, rule) or Target(rule.kind, rule.target_id, None) for rule in rules]


# ------------------------------------------------------------------------------------------ dry run


def dry_run(connection: Connection, principal: Principal, rules: object, claims: object) -> DryRunView:
    """What ``rules`` (JSON text or decoded; targets by id or name) grant for ``claims`` (JSON text or an
    object). Targets that do not exist or are built-in are shown with their problem and granted to nobody.
    """
    require(principal, READ_ACTION, ORGANIZATION)
    decoded = rules_from_text(rules) if isinstance(rules, str) else rules
    parsed = _parse(decoded)
    try:
        sample = mapping.parse_claims(claims)
    except MappingError as exc:
        verb = exc.reason if exc.reason.startswith("must") else re.sub(r"^(is )?", "are ", exc.reason, count=1)
        raise _error(f"the sample claims {verb}") from None
    targets = _targets(connection, parsed)
    by_index = {index: target for index, target in enumerate(targets)}
    result = mapping.evaluate([replace(r, target_id=t.id) for r, t in zip(parsed, targets, strict=True)], sample)
    outcomes = tuple(
        OutcomeView(o.index + 1, parsed[o.index], by_index[o.index], o.matched, o.value, o.location)
        for o in result.outcomes
    )
    return DryRunView(outcomes, _granted(result.roles, by_index), _granted(result.boundaries, by_index))


def _granted(granted: Mapping[str, int], targets: Mapping[int, Target]) -> tuple[GrantView, ...]:
    return tuple(GrantView(targets[index], index + 1) for _, index in sorted(granted.items(), key=lambda x: x[1]))
