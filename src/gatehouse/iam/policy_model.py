"""The permission policy model: validated documents, requests and decisions (see :mod:`gatehouse.iam.policy`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from gatehouse.errors import InvalidInput
from gatehouse.iam.catalog import ACTION_NAMES, RESOURCE_PREFIX
from gatehouse.iam.catalog_gateway import ACTION_ALIASES, API7_IAM_PREFIX
from gatehouse.iam.policy_patterns import Pattern

Effect = Literal["allow", "deny"]
Operator = Literal["exact_match", "contains_string", "present"]
Outcome = Literal["allowed", "denied", "not_allowed", "outside_boundary", "invalid_request"]
"""``denied``: a statement denies; ``not_allowed``: no role statement allows; ``outside_boundary``:
a boundary has no allowing statement; ``invalid_request``: the action is not in the catalog or a
name is too long."""

EFFECTS: Final[tuple[Effect, ...]] = get_args(Effect)
OPERATORS: Final[tuple[Operator, ...]] = get_args(Operator)
MAX_STATEMENTS: Final = 100
MAX_PATTERNS: Final = 64
"""Per ``actions`` and per ``resources`` list."""
MAX_CONDITIONS: Final = 16
"""Condition keys per statement."""
MAX_OPTIONS: Final = 16
"""Label checks per condition."""
MAX_LABEL_LENGTH: Final = 256
"""For a label key or value in a condition."""
MAX_DOCUMENT_CHOICES: Final = 2**18
"""The sum of the backtracking choices (:attr:`Pattern.choices`) of a document's regex resource
patterns: four with two open-ended repetitions each, or a thousand like ``user/<[a-f0-9-]+>``."""


class PolicyError(InvalidInput):
    """An invalid policy document; the detail reads ``statement[2].actions[0]: <why>``."""

    def __init__(self, location: str, reason: str, statement: int | None = None) -> None:
        self.location = location
        """Where: ``statement[2].conditions.user_label.options[1].operator``, or a top-level key."""
        self.reason = reason
        self.statement = statement
        """The index of the statement at fault, if the fault is in one."""
        super().__init__(f"{location}: {reason}")


@dataclass(frozen=True, slots=True)
class LabelCheck:
    """One ``MatchLabel`` option: a test on one label of the target."""

    key: str
    operator: Operator
    value: str | None = None
    """``None`` exactly when the operator is ``present``."""

    def holds(self, labels: Mapping[str, str]) -> bool:
        """Whether the labels pass: the label exists and (``exact_match``) equals or
        (``contains_string``) contains the value; ``present`` only needs it to exist."""
        actual = labels.get(self.key)
        if actual is None:
            return False
        if self.operator == "exact_match":
            return actual == self.value
        if self.operator == "contains_string":
            return self.value is not None and self.value in actual
        return True

    def as_dict(self) -> dict[str, str]:
        """The JSON form of the option."""
        option = {"key": self.key, "operator": self.operator}
        if self.value is not None:
            option["value"] = self.value
        return option


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition of a statement: every check must hold for the labels under ``name``."""

    name: str
    """The condition key, e.g. ``user_label``: the key of the labels in :attr:`EvaluationRequest.labels`."""
    checks: tuple[LabelCheck, ...]

    def holds(self, labels: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether every check holds; a condition on labels the request lacks does not hold."""
        target = labels.get(self.name)
        if target is None:
            return False
        return all(check.holds(target) for check in self.checks)


@functools.lru_cache(maxsize=4096)
def catalog_matches(pattern: Pattern) -> frozenset[str]:
    """The catalog actions an action pattern matches, by their name or by an alias (API7's
    ``iam:UpdateCustomRole`` stands for ``iam:UpdateRole``); cached: patterns are immutable."""
    named = {name for name in ACTION_NAMES if pattern.matches(name)}
    aliased = {action for alias, action in ACTION_ALIASES.items() if pattern.matches(alias)}
    return frozenset(named | aliased)


def _may_spell_api7_iam(pattern: Pattern) -> bool:
    """Whether a resource pattern could match an ``arn:api7:iam:…`` name (its literal start allows it)."""
    prefix = pattern.prefix
    return API7_IAM_PREFIX.startswith(prefix) or prefix.startswith(API7_IAM_PREFIX)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a policy."""

    effect: Effect
    actions: tuple[Pattern, ...]
    resources: tuple[Pattern, ...]
    conditions: tuple[Condition, ...] = ()
    action_names: frozenset[str] = field(init=False, compare=False, repr=False)
    """The catalog actions the action patterns match, computed once."""
    api7_iam: tuple[Pattern, ...] = field(init=False, compare=False, repr=False)
    """The resource patterns that may match API7's spelling of an IAM name (``arn:api7:iam:role/*``)."""

    def __post_init__(self) -> None:
        names = frozenset[str]().union(*(catalog_matches(pattern) for pattern in self.actions))
        object.__setattr__(self, "action_names", names)
        object.__setattr__(self, "api7_iam", tuple(p for p in self.resources if _may_spell_api7_iam(p)))

    def applies(self, request: EvaluationRequest) -> bool:
        """Whether the statement covers the request: action, resource and every condition.

        An IAM resource matches a pattern written with either spelling: ``arn:api7:iam:role/*`` matches
        ``arn:gatehouse:iam:role/r1`` (the request's name is always Gatehouse's: see ``canonical_resource``)."""
        if request.action not in self.action_names:
            return False
        resource = request.resource
        for pattern in self.resources:
            if pattern.matches(resource):
                break
        else:
            if not self.api7_iam or not resource.startswith(RESOURCE_PREFIX):
                return False
            spelled = API7_IAM_PREFIX + resource[len(RESOURCE_PREFIX) :]
            if not any(pattern.matches(spelled) for pattern in self.api7_iam):
                return False
        return all(condition.holds(request.labels) for condition in self.conditions)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the statement (``options`` as one object when there is one check)."""
        statement: dict[str, Any] = {
            "effect": self.effect,
            "actions": [pattern.text for pattern in self.actions],
            "resources": [pattern.text for pattern in self.resources],
        }
        if self.conditions:
            statement["conditions"] = {
                condition.name: {
                    "type": "MatchLabel",
                    "options": (
                        condition.checks[0].as_dict()
                        if len(condition.checks) == 1
                        else [check.as_dict() for check in condition.checks]
                    ),
                }
                for condition in self.conditions
            }
        return statement


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A validated policy document."""

    statements: tuple[Statement, ...]

    def as_dict(self) -> dict[str, Any]:
        """The canonical JSON form: ``parse_policy(doc.as_dict()) == doc``."""
        return {"statement": [statement.as_dict() for statement in self.statements]}


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A stored permission policy: attached to a role, or to a user as a permission boundary."""

    id: str
    name: str
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class RolePolicies:
    """A role the user holds, with the policies attached to it."""

    id: str
    name: str
    policies: tuple[NamedPolicy, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", tuple(self.policies))


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    """What is asked: an action on a resource, with the labels conditions may test.

    ``labels`` is keyed by condition key: ``{"user_label": {"team": "sre"}, "role_label": {...}}``.
    """

    action: str
    resource: str
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatementRef:
    """The statement that decided: in a role's policy, or (``role_id is None``) in a boundary."""

    policy_id: str
    policy_name: str
    index: int
    effect: Effect
    role_id: str | None = None
    role_name: str | None = None

    def describe(self) -> str:
        """``statement 2 of policy 'X' in role 'Y'``, or ``statement 0 of permission boundary 'Z'``."""
        if self.role_name is None:
            return f"statement {self.index} of permission boundary '{self.policy_name}'"
        return f"statement {self.index} of policy '{self.policy_name}' in role '{self.role_name}'"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer, and why (for error messages and the policy simulator)."""

    allowed: bool
    outcome: Outcome
    reason: str
    statement: StatementRef | None = None
    """The allowing statement (``allowed``) or the denying one (``denied``)."""
    boundary_id: str | None = None
    """For ``outside_boundary``: the first boundary without an allowing statement."""
    boundary_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form shown by the policy simulator."""
        statement = None
        if self.statement is not None:
            ref = self.statement
            statement = {
                "policy_id": ref.policy_id,
                "policy_name": ref.policy_name,
                "index": ref.index,
                "effect": ref.effect,
                "role_id": ref.role_id,
                "role_name": ref.role_name,
            }
        return {
            "allowed": self.allowed,
            "outcome": self.outcome,
            "reason": self.reason,
            "statement": statement,
            "boundary_id": self.boundary_id,
            "boundary_name": self.boundary_name,
        }
