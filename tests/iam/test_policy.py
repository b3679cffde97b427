"""The permission policy evaluator: patterns, conditions, evaluation, validation errors and caps.

Pure functions, no database: every case is a row of a table. The hypothesis properties at the end
check the rules that must hold for any valid document (deny is never undone, boundaries only
restrict, nothing raises) and fuzz the regex safety checks against slow matches.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse.errors import InvalidInput
from gatehouse.iam.catalog import ACTION_NAMES, ORGANIZATION, SUPER_ADMIN_POLICY, resource_name
from gatehouse.iam.policy import (
    MAX_CHOICES,
    MAX_NAME_LENGTH,
    Decision,
    EvaluationRequest,
    NamedPolicy,
    PatternError,
    PolicyDocument,
    PolicyError,
    RolePolicies,
    compile_pattern,
    evaluate,
    parse_policy,
)

USER_U1 = resource_name("user", "u1")
USER_U2 = resource_name("user", "u2")
ROLE_R1 = resource_name("role", "r1")


# ---------------------------------------------------------------------------------------------
# Helpers: documents, policies and roles in a line each


def stmt(effect: str, actions: Sequence[str], resources: Sequence[str] = ("*",), **conditions: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"effect": effect, "actions": list(actions), "resources": list(resources)}
    if conditions:
        statement["conditions"] = {key: {"type": "MatchLabel", "options": opts} for key, opts in conditions.items()}
    return statement


def allow(actions: Sequence[str], resources: Sequence[str] = ("*",), **conditions: Any) -> dict[str, Any]:
    return stmt("allow", actions, resources, **conditions)


def deny(actions: Sequence[str], resources: Sequence[str] = ("*",), **conditions: Any) -> dict[str, Any]:
    return stmt("deny", actions, resources, **conditions)


def doc(*statements: dict[str, Any]) -> PolicyDocument:
    return parse_policy({"statement": list(statements)})


def policy(name: str, *statements: dict[str, Any]) -> NamedPolicy:
    return NamedPolicy(f"id-{name}", name, doc(*statements))


def role(name: str, *policies: NamedPolicy) -> RolePolicies:
    return RolePolicies(f"id-{name}", name, policies)


def option(key: str, operator: str, value: str | None = None) -> dict[str, str]:
    return {"key": key, "operator": operator} | ({} if value is None else {"value": value})


def request(action: str, resource: str = USER_U1, **labels: Mapping[str, str]) -> EvaluationRequest:
    return EvaluationRequest(action, resource, labels)


# ---------------------------------------------------------------------------------------------
# Patterns

PATTERN_CASES = [
    # literal: the whole name, exactly
    pytest.param("iam:GetUser", "iam:GetUser", True, id="literal"),
    pytest.param("iam:GetUser", "iam:GetUsers", False, id="literal-is-anchored-at-end"),
    pytest.param("iam:GetUser", "xiam:GetUser", False, id="literal-is-anchored-at-start"),
    # case-sensitive everywhere, actions included
    pytest.param("iam:GetUser", "iam:getuser", False, id="action-case-sensitive"),
    pytest.param("arn:gatehouse:iam:user/AB", "arn:gatehouse:iam:user/ab", False, id="resource-case-sensitive"),
    pytest.param("iam:<(?i:getuser)>", "iam:GetUser", True, id="segment-may-opt-into-ignorecase"),
    # * wildcard
    pytest.param("*", "anything/at:all", True, id="star-alone"),
    pytest.param("*", "", True, id="star-matches-empty"),
    pytest.param("iam:Get*", "iam:GetUser", True, id="star-suffix"),
    pytest.param("iam:Get*", "iam:UpdateUser", False, id="star-suffix-no-match"),
    pytest.param("*User", "iam:GetUser", True, id="star-prefix"),
    pytest.param("iam:*User*", "iam:UpdateUserRole", True, id="star-twice"),
    pytest.param("arn:gatehouse:iam:*/u1", USER_U1, True, id="star-in-middle"),
    pytest.param("arn:gatehouse:iam:user/*", "arn:gatehouse:iam:user/a/b", True, id="star-crosses-slash"),
    pytest.param("a*b*c", "acb", False, id="star-order-matters"),
    pytest.param("a*a", "a", False, id="star-chunks-do-not-overlap"),
    pytest.param("a**b", "ab", True, id="consecutive-stars"),
    pytest.param(ORGANIZATION, ORGANIZATION, True, id="star-matches-literal-star"),
    # <regex> segments
    pytest.param("iam:<.*>User", "iam:GetUser", True, id="regex-any"),
    pytest.param("iam:<(Get|Delete)>User", "iam:DeleteUser", True, id="regex-alternation"),
    pytest.param("iam:<(Get|Delete)>User", "iam:UpdateUser", False, id="regex-alternation-no-match"),
    pytest.param("user/<a|b>", "b", False, id="regex-alternation-stays-inside-segment"),
    pytest.param("user/<a|b>", "user/b", True, id="regex-alternation-inside-segment"),
    pytest.param("arn:gatehouse:iam:user/<[a-f0-9-]+>", "arn:gatehouse:iam:user/3fa8-9c", True, id="regex-class"),
    pytest.param("arn:gatehouse:iam:user/<[a-f0-9-]+>", "arn:gatehouse:iam:user/3fa8-9cX", False, id="regex-anchored"),
    pytest.param("<[a-z]+>:<[A-Z]>*", "iam:GetUser", True, id="regex-and-star"),
    pytest.param("user/<.>", "user/\n", True, id="regex-dot-matches-newline"),
    pytest.param("a.b", "axb", False, id="dot-outside-segment-is-literal"),
    pytest.param("v<1\\>0>", "v1>0", True, id="escaped-gt-inside-segment"),
    pytest.param("v<[>]>x", "v>x", True, id="gt-inside-class"),
    pytest.param("a>b", "a>b", True, id="stray-gt-is-literal"),
    pytest.param("<(?>a+)>b", "aab", True, id="atomic-group-inside-segment"),
    pytest.param("<(?P<x>a)>b", "ab", True, id="named-group-inside-segment"),
    pytest.param("(a)+", "(a)+", True, id="regex-syntax-outside-segment-is-literal"),
    # names longer than the cap never match, even '*'
    pytest.param("*", "x" * (MAX_NAME_LENGTH + 1), False, id="overlong-name"),
    pytest.param("*", "x" * MAX_NAME_LENGTH, True, id="name-at-cap"),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), PATTERN_CASES)
def test_pattern_matching(pattern: str, name: str, expected: bool) -> None:
    """A pattern matches whole names, with * and <regex>, case-sensitively."""
    assert compile_pattern(pattern).matches(name) is expected


PATTERN_KIND_CASES = [
    ("iam:GetUser", "literal"),
    ("iam:*", "glob"),
    ("*a*b*c*d*e*", "glob"),  # globs are matched without re: no limit on wildcards
    ("iam:<Get>User", "regex"),
]


@pytest.mark.parametrize(("pattern", "kind"), PATTERN_KIND_CASES)
def test_pattern_kinds(pattern: str, kind: str) -> None:
    """Literal and wildcard-only patterns avoid re; only <regex> patterns compile one."""
    assert compile_pattern(pattern).kind == kind


def test_patterns_are_cached() -> None:
    """Compiling the same text twice gives the same object (regexes compiled once)."""
    assert compile_pattern("iam:<.*>Token") is compile_pattern("iam:<.*>Token")


CHOICE_CASES = [
    ("<abc>", 1),
    ("<a?>", 2),
    ("<[a-z]{2,5}>", 4),
    ("<[0-9]{8}>", 1),  # a fixed count is no choice
    ("<(ab|cd)>", 2),
    ("<(ab|cd){2}>", 4),
    ("<.*>", 256),
    ("<a+>", 256),
    ("*<x>", 256),  # a wildcard next to a segment counts as open-ended too
    ("<.*>Get<.*>", MAX_CHOICES),
    ("<(?>a*)>", 256),
]


@pytest.mark.parametrize(("pattern", "choices"), CHOICE_CASES)
def test_backtracking_choices(pattern: str, choices: int) -> None:
    """The backtracking budget counts each construct as documented (pins re's parser output)."""
    assert compile_pattern(pattern).choices == choices


PATTERN_ERROR_CASES = [
    ("", "must not be empty"),
    ("x" * 257, "is longer than 256 characters"),
    ("user/<" + "a" * 129 + ">", "regex segment longer than 128 characters"),
    ("user/<>", "empty regex segment '<>' at position 5"),
    ("user/<abc", "unterminated regex segment: the '<' at position 5"),
    ("<[>", "unterminated regex segment"),
    ("<(a>", "invalid regex segment <(a>: missing ), unterminated subpattern"),
    ("<a)|(.*>", "invalid regex segment <a)|(.*>: unbalanced parenthesis"),
    ("<(?i)a>", "global flags not at the start"),
    ("<(a+)+>", "repetition inside a repetition"),
    ("<(a|ab)*>", "alternation inside a repetition"),
    ("<(a*b)*c>", "repetition inside a repetition"),
    ("<(a)\\1>", "backreferences are not allowed"),
    ("<(?=a)b>", "lookaround assertions are not allowed"),
    ("<(?<!a)b>", "lookaround assertions are not allowed"),
    ("<(a)?(?(1)b|c)>", "conditional groups are not allowed"),
    ("<[[a]>", "ambiguous regex segment"),
    ("<.*><.*><.*>", "at most two open-ended repetitions"),
    ("*a*<b+>", "at most two open-ended repetitions"),
    ("<" + "a?" * 17 + ">", "too ambiguous"),
]


@pytest.mark.parametrize(("pattern", "message"), PATTERN_ERROR_CASES)
def test_pattern_errors(pattern: str, message: str) -> None:
    """Malformed or unsafe patterns are refused with the reason."""
    with pytest.raises(PatternError, match=re.escape(message)):
        compile_pattern(pattern)


WORST_ALLOWED = [
    ("<a*><a*>b", "a" * MAX_NAME_LENGTH),
    ("*a<[a-z]*>b", "a" * MAX_NAME_LENGTH),
    ("<" + "a?" * 16 + ">" + "a" * 16 + "b", "a" * 40),
    ("<" + "a?" * 16 + ">b", "a" * MAX_NAME_LENGTH),
    ("<.{0,255}>a<.{0,255}>b", "a" * MAX_NAME_LENGTH),
]


@pytest.mark.parametrize(("pattern", "name"), WORST_ALLOWED)
def test_worst_allowed_patterns_stay_fast(pattern: str, name: str) -> None:
    """The most ambiguous patterns still accepted fail to match a hostile name in milliseconds."""
    compiled = compile_pattern(pattern)
    started = time.perf_counter()
    assert not compiled.matches(name)
    assert time.perf_counter() - started < 0.1  # ~4 ms measured; generous for loaded CI machines


# ---------------------------------------------------------------------------------------------
# Conditions

CONDITION_CASES = [
    # (options, labels of the request, holds)
    pytest.param(option("env", "exact_match", "prod"), {"user_label": {"env": "prod"}}, True, id="exact"),
    pytest.param(option("env", "exact_match", "prod"), {"user_label": {"env": "production"}}, False, id="exact-no"),
    pytest.param(option("env", "exact_match", "prod"), {"user_label": {"env": "Prod"}}, False, id="exact-case"),
    pytest.param(option("env", "exact_match", ""), {"user_label": {"env": ""}}, True, id="exact-empty-value"),
    pytest.param(option("env", "contains_string", "rod"), {"user_label": {"env": "prod"}}, True, id="contains"),
    pytest.param(option("env", "contains_string", "dev"), {"user_label": {"env": "prod"}}, False, id="contains-no"),
    pytest.param(option("env", "present"), {"user_label": {"env": ""}}, True, id="present"),
    pytest.param(option("env", "present"), {"user_label": {"team": "sre"}}, False, id="present-no"),
    pytest.param(option("env", "exact_match", "prod"), {"user_label": {}}, False, id="label-missing"),
    pytest.param(option("env", "present"), {"role_label": {"env": "prod"}}, False, id="label-kind-missing"),
    pytest.param(option("env", "present"), {}, False, id="no-labels-at-all"),
    pytest.param(
        [option("env", "exact_match", "prod"), option("team", "present")],
        {"user_label": {"env": "prod", "team": "sre"}},
        True,
        id="list-all-hold",
    ),
    pytest.param(
        [option("env", "exact_match", "prod"), option("team", "present")],
        {"user_label": {"env": "prod"}},
        False,
        id="list-one-fails",
    ),
]


@pytest.mark.parametrize(("options", "labels", "holds"), CONDITION_CASES)
def test_conditions(options: Any, labels: Mapping[str, Mapping[str, str]], holds: bool) -> None:
    """A statement applies only when every label check of its conditions holds."""
    roles = [role("R", policy("P", allow(["iam:GetUser"], user_label=options)))]
    decision = evaluate(EvaluationRequest("iam:GetUser", USER_U1, labels), roles)
    assert decision.allowed is holds


def test_every_condition_must_hold() -> None:
    """Two condition keys in one statement: both must hold."""
    statement = allow(
        ["iam:GetRole"], role_label=option("tier", "present"), user_label=option("team", "exact_match", "sre")
    )
    roles = [role("R", policy("P", statement))]
    both = request("iam:GetRole", ROLE_R1, role_label={"tier": "1"}, user_label={"team": "sre"})
    one = request("iam:GetRole", ROLE_R1, role_label={"tier": "1"}, user_label={"team": "dev"})
    assert evaluate(both, roles).allowed
    assert not evaluate(one, roles).allowed


def test_arbitrary_label_kinds() -> None:
    """Any *_label key is a condition on the labels the caller passes under that key."""
    roles = [role("R", policy("P", allow(["iam:UpdateGroupBinding"], group_label=option("idp", "present"))))]
    target = resource_name("group", "g1")
    assert evaluate(request("iam:UpdateGroupBinding", target, group_label={"idp": "okta"}), roles).allowed
    assert not evaluate(request("iam:UpdateGroupBinding", target), roles).allowed


# ---------------------------------------------------------------------------------------------
# Evaluation

READ_ALL = policy("read-all", allow(["iam:Get*"]))
ALL = policy("all", allow(["*"]))
NO_DELETE = policy("no-delete", deny(["iam:DeleteUser"]))
ALLOW_THEN_DENY = policy("mixed", allow(["iam:*User"]), deny(["iam:DeleteUser"], [USER_U2]))
ONLY_U1 = policy("only-u1", allow(["iam:*"], [USER_U1]))
PROD_DENY = policy("prod-deny", deny(["iam:*"], user_label=option("env", "exact_match", "prod")))
GET_BOUNDARY = policy("get-only", allow(["iam:Get*"]))
ROLE_BOUNDARY = policy("roles-only", allow(["iam:*Role"]))
DENYING_BOUNDARY = policy("boundary-deny", allow(["*"]), deny(["iam:DeleteUser"]))

# (id, roles, boundaries, request, outcome, deciding (role, policy, index, effect) or None, reason)
EVALUATION_CASES = [
    pytest.param(
        [role("Viewer", READ_ALL)],
        [],
        request("iam:GetUser"),
        "allowed",
        ("Viewer", "read-all", 0, "allow"),
        "allowed by statement 0 of policy 'read-all' in role 'Viewer'",
        id="allow",
    ),
    pytest.param(
        [role("Viewer", READ_ALL)],
        [],
        request("iam:DeleteUser"),
        "not_allowed",
        None,
        f"no statement allows iam:DeleteUser on {USER_U1}",
        id="no-statement-allows",
    ),
    pytest.param(
        [],
        [],
        request("iam:GetUser"),
        "not_allowed",
        None,
        f"no statement allows iam:GetUser on {USER_U1}",
        id="no-roles",
    ),
    pytest.param(
        [role("Admin", ALL), role("Careful", NO_DELETE)],
        [],
        request("iam:DeleteUser"),
        "denied",
        ("Careful", "no-delete", 0, "deny"),
        "denied by statement 0 of policy 'no-delete' in role 'Careful'",
        id="deny-overrides-allow-across-roles",
    ),
    pytest.param(
        [role("Careful", NO_DELETE), role("Admin", ALL)],
        [],
        request("iam:DeleteUser"),
        "denied",
        ("Careful", "no-delete", 0, "deny"),
        "denied by statement 0 of policy 'no-delete' in role 'Careful'",
        id="deny-overrides-whatever-the-order",
    ),
    pytest.param(
        [role("Ops", ALLOW_THEN_DENY)],
        [],
        request("iam:DeleteUser", USER_U2),
        "denied",
        ("Ops", "mixed", 1, "deny"),
        "denied by statement 1 of policy 'mixed' in role 'Ops'",
        id="deny-overrides-allow-within-a-policy",
    ),
    pytest.param(
        [role("Ops", ALLOW_THEN_DENY)],
        [],
        request("iam:DeleteUser", USER_U1),
        "allowed",
        ("Ops", "mixed", 0, "allow"),
        "allowed by statement 0 of policy 'mixed' in role 'Ops'",
        id="deny-on-other-resource-does-not-apply",
    ),
    pytest.param(
        [role("Ops", ONLY_U1)],
        [],
        request("iam:GetUser", USER_U2),
        "not_allowed",
        None,
        f"no statement allows iam:GetUser on {USER_U2}",
        id="allow-on-other-resource-only",
    ),
    pytest.param(
        [role("Viewer", READ_ALL), role("Admin", ALL)],
        [],
        request("iam:GetUser"),
        "allowed",
        ("Viewer", "read-all", 0, "allow"),
        "allowed by statement 0 of policy 'read-all' in role 'Viewer'",
        id="first-allowing-statement-reported",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [GET_BOUNDARY],
        request("iam:DeleteUser"),
        "outside_boundary",
        None,
        f"outside permission boundary 'get-only': none of its statements allows iam:DeleteUser on {USER_U1}",
        id="boundary-limits-an-allowed-action",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [GET_BOUNDARY],
        request("iam:GetUser"),
        "allowed",
        ("Admin", "all", 0, "allow"),
        "allowed by statement 0 of policy 'all' in role 'Admin'",
        id="boundary-lets-through",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [GET_BOUNDARY, ROLE_BOUNDARY],
        request("iam:GetUser"),
        "outside_boundary",
        None,
        f"outside permission boundary 'roles-only': none of its statements allows iam:GetUser on {USER_U1}",
        id="every-boundary-must-allow",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [GET_BOUNDARY, ROLE_BOUNDARY],
        request("iam:GetRole", ROLE_R1),
        "allowed",
        ("Admin", "all", 0, "allow"),
        "allowed by statement 0 of policy 'all' in role 'Admin'",
        id="several-boundaries-all-allow",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [DENYING_BOUNDARY],
        request("iam:DeleteUser"),
        "denied",
        (None, "boundary-deny", 1, "deny"),
        "denied by statement 1 of permission boundary 'boundary-deny'",
        id="boundary-deny",
    ),
    pytest.param(
        [],
        [policy("everything", allow(["*"]))],
        request("iam:GetUser"),
        "not_allowed",
        None,
        f"no statement allows iam:GetUser on {USER_U1}",
        id="a-boundary-grants-nothing",
    ),
    pytest.param(
        [role("Admin", ALL, PROD_DENY)],
        [],
        request("iam:GetUser"),
        "allowed",
        ("Admin", "all", 0, "allow"),
        "allowed by statement 0 of policy 'all' in role 'Admin'",
        id="conditional-deny-without-labels-does-not-apply",
    ),
    pytest.param(
        [role("Admin", ALL, PROD_DENY)],
        [],
        request("iam:GetUser", user_label={"env": "prod"}),
        "denied",
        ("Admin", "prod-deny", 0, "deny"),
        "denied by statement 0 of policy 'prod-deny' in role 'Admin'",
        id="conditional-deny-applies",
    ),
    pytest.param(
        [role("Super Admin", NamedPolicy("sa", "super-admin", parse_policy(SUPER_ADMIN_POLICY)))],
        [],
        request("iam:UpdateLoginOption", ORGANIZATION),
        "allowed",
        ("Super Admin", "super-admin", 0, "allow"),
        "allowed by statement 0 of policy 'super-admin' in role 'Super Admin'",
        id="super-admin-policy",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [],
        request("iam:FlyToTheMoon"),
        "invalid_request",
        None,
        "'iam:FlyToTheMoon' is not an action of the catalog",
        id="action-outside-catalog",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [],
        request("iam:getuser"),
        "invalid_request",
        None,
        "'iam:getuser' is not an action of the catalog",
        id="action-wrong-case",
    ),
    pytest.param(
        [role("Admin", ALL)],
        [],
        request("iam:GetUser", "arn:gatehouse:iam:user/" + "x" * MAX_NAME_LENGTH),
        "invalid_request",
        None,
        f"the resource name is longer than {MAX_NAME_LENGTH} characters",
        id="overlong-resource",
    ),
]


@pytest.mark.parametrize(("roles", "boundaries", "req", "outcome", "deciding", "reason"), EVALUATION_CASES)
def test_evaluation(
    roles: list[RolePolicies],
    boundaries: list[NamedPolicy],
    req: EvaluationRequest,
    outcome: str,
    deciding: tuple[str | None, str, int, str] | None,
    reason: str,
) -> None:
    """Allowed only if a role allows, every boundary allows, and nothing denies; the decider is named."""
    decision = evaluate(req, roles, boundaries)
    assert decision.outcome == outcome
    assert decision.allowed is (outcome == "allowed")
    assert decision.reason == reason
    if deciding is None:
        assert decision.statement is None
    else:
        ref = decision.statement
        assert ref is not None
        assert (ref.role_name, ref.policy_name, ref.index, ref.effect) == deciding
        assert ref.policy_id == f"id-{ref.policy_name}" or ref.policy_id == "sa"


def test_outside_boundary_names_the_boundary() -> None:
    """An outside-boundary decision carries the boundary's id and name for the simulator."""
    decision = evaluate(request("iam:DeleteUser"), [role("Admin", ALL)], [GET_BOUNDARY])
    assert (decision.boundary_id, decision.boundary_name) == ("id-get-only", "get-only")
    assert decision.as_dict() == {
        "allowed": False,
        "outcome": "outside_boundary",
        "reason": decision.reason,
        "statement": None,
        "boundary_id": "id-get-only",
        "boundary_name": "get-only",
    }


def test_decision_json() -> None:
    """The simulator's JSON names the deciding statement."""
    decision = evaluate(request("iam:DeleteUser"), [role("Careful", NO_DELETE)])
    assert json.loads(json.dumps(decision.as_dict()))["statement"] == {
        "policy_id": "id-no-delete",
        "policy_name": "no-delete",
        "index": 0,
        "effect": "deny",
        "role_id": "id-Careful",
        "role_name": "Careful",
    }


# ---------------------------------------------------------------------------------------------
# Validation: one case per error, with the exact location

VALID = allow(["iam:GetUser"])


def with_statement(index: int, statement: Any) -> dict[str, Any]:
    """A document whose statement ``index`` is ``statement``, the ones before it valid."""
    return {"statement": [VALID] * index + [statement]}


def condition(body: Any, key: str = "user_label") -> dict[str, Any]:
    return VALID | {"conditions": {key: body}}


def match_label(options: Any) -> dict[str, Any]:
    return {"type": "MatchLabel", "options": options}


# (document, location, statement index, reason fragment)
VALIDATION_CASES = [
    pytest.param([], "document", None, "must be a JSON object", id="not-an-object"),
    pytest.param({"Statement": []}, "Statement", None, "unknown key 'Statement'", id="unknown-top-level-key"),
    pytest.param({}, "statement", None, "is required", id="statement-missing"),
    pytest.param({"statement": {}}, "statement", None, "must be a list of statements", id="statement-not-a-list"),
    pytest.param({"statement": "x"}, "statement", None, "must be a list of statements", id="statement-a-string"),
    pytest.param(with_statement(2, "allow"), "statement[2]", 2, "must be an object", id="statement-not-an-object"),
    pytest.param(
        with_statement(1, VALID | {"action": ["iam:GetUser"]}),
        "statement[1].action",
        1,
        "unknown key 'action'",
        id="unknown-statement-key",
    ),
    pytest.param(
        with_statement(0, {"actions": ["iam:GetUser"], "resources": ["*"]}),
        "statement[0].effect",
        0,
        "is required",
        id="effect-missing",
    ),
    pytest.param(
        with_statement(2, VALID | {"effect": "Allow"}),
        "statement[2].effect",
        2,
        'unknown effect \'Allow\': use "allow" or "deny"',
        id="effect-unknown",
    ),
    pytest.param(
        with_statement(0, {"effect": "allow", "resources": ["*"]}),
        "statement[0].actions",
        0,
        "is required",
        id="actions-missing",
    ),
    pytest.param(
        with_statement(0, VALID | {"actions": "iam:GetUser"}),
        "statement[0].actions",
        0,
        "must be a list of strings",
        id="actions-a-string",
    ),
    pytest.param(
        with_statement(3, VALID | {"actions": []}),
        "statement[3].actions",
        3,
        "must not be empty",
        id="actions-empty",
    ),
    pytest.param(
        with_statement(0, VALID | {"actions": ["iam:GetUser", 7]}),
        "statement[0].actions[1]",
        0,
        "must be a string, not a number",
        id="action-not-a-string",
    ),
    pytest.param(
        with_statement(1, VALID | {"actions": ["iam:GetUser", "iam:GetUsers"]}),
        "statement[1].actions[1]",
        1,
        "'iam:GetUsers' matches no action of the catalog; did you mean 'iam:GetUser'?",
        id="action-unknown",
    ),
    pytest.param(
        with_statement(0, VALID | {"actions": ["iam:deleteuser"]}),
        "statement[0].actions[0]",
        0,
        "did you mean 'iam:DeleteUser'? Actions are case-sensitive",
        id="action-wrong-case",
    ),
    pytest.param(
        with_statement(0, VALID | {"actions": ["portal:*"]}),
        "statement[0].actions[0]",
        0,
        "'portal:*' matches no action of the catalog",
        id="action-pattern-matches-nothing",
    ),
    pytest.param(
        with_statement(0, VALID | {"actions": ["iam:<[Gg>et*"]}),
        "statement[0].actions[0]",
        0,
        "'iam:<[Gg>et*' has an unterminated regex segment",
        id="action-bad-regex",
    ),
    pytest.param(
        with_statement(0, VALID | {"actions": ["iam:<(G+)+>et*"]}),
        "statement[0].actions[0]",
        0,
        "repetition inside a repetition",
        id="action-unsafe-regex",
    ),
    pytest.param(
        with_statement(0, {"effect": "allow", "actions": ["iam:GetUser"]}),
        "statement[0].resources",
        0,
        "is required",
        id="resources-missing",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": []}),
        "statement[0].resources",
        0,
        "must not be empty",
        id="resources-empty",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": [USER_U1, None]}),
        "statement[0].resources[1]",
        0,
        "must be a string, not null",
        id="resource-not-a-string",
    ),
    pytest.param(
        with_statement(1, VALID | {"resources": ["arn:gatehouse:iam:users/*"]}),
        "statement[1].resources[0]",
        1,
        "'arn:gatehouse:iam:users/*' matches no resource: names look like arn:gatehouse:iam:<kind>/<id>",
        id="resource-unknown-kind",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": ["arn:aws:iam::user/*"]}),
        "statement[0].resources[0]",
        0,
        "matches no resource",
        id="resource-other-product",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": ["arn:gatehouse:iam:user/<(>"]}),
        "statement[0].resources[0]",
        0,
        "invalid regex segment <(>: missing ), unterminated subpattern",
        id="resource-bad-regex",
    ),
    pytest.param(
        with_statement(0, VALID | {"conditions": []}),
        "statement[0].conditions",
        0,
        "must be an object of conditions",
        id="conditions-not-an-object",
    ),
    pytest.param(
        with_statement(1, condition(match_label(option("env", "present")), key="env")),
        "statement[1].conditions.env",
        1,
        "unknown condition key 'env': condition keys end in '_label'",
        id="condition-key-unknown",
    ),
    pytest.param(
        with_statement(0, condition("prod")),
        "statement[0].conditions.user_label",
        0,
        'must be an object {"type": "MatchLabel"',
        id="condition-not-an-object",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("env", "present")) | {"Type": "x"})),
        "statement[0].conditions.user_label.Type",
        0,
        "unknown key 'Type'",
        id="condition-unknown-key",
    ),
    pytest.param(
        with_statement(0, condition({"type": "StringEquals", "options": option("env", "present")})),
        "statement[0].conditions.user_label.type",
        0,
        "must be \"MatchLabel\", not 'StringEquals'",
        id="condition-type-unknown",
    ),
    pytest.param(
        with_statement(0, condition({"options": option("env", "present")})),
        "statement[0].conditions.user_label.type",
        0,
        'must be "MatchLabel", not None',
        id="condition-type-missing",
    ),
    pytest.param(
        with_statement(0, condition({"type": "MatchLabel"})),
        "statement[0].conditions.user_label.options",
        0,
        "is required",
        id="options-missing",
    ),
    pytest.param(
        with_statement(0, condition(match_label([]))),
        "statement[0].conditions.user_label.options",
        0,
        "must not be empty",
        id="options-empty",
    ),
    pytest.param(
        with_statement(0, condition(match_label("env"))),
        "statement[0].conditions.user_label.options",
        0,
        "must be an object or a list of objects",
        id="options-a-string",
    ),
    pytest.param(
        with_statement(0, condition(match_label([option("env", "present"), "team"]))),
        "statement[0].conditions.user_label.options[1]",
        0,
        "must be an object",
        id="option-not-an-object",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("env", "exact_match", "a") | {"values": ["b"]}))),
        "statement[0].conditions.user_label.options.values",
        0,
        "unknown key 'values'",
        id="option-unknown-key",
    ),
    pytest.param(
        with_statement(0, condition(match_label({"operator": "present"}))),
        "statement[0].conditions.user_label.options.key",
        0,
        "is required: a label key",
        id="option-key-missing",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("", "present")))),
        "statement[0].conditions.user_label.options.key",
        0,
        "is required: a label key",
        id="option-key-empty",
    ),
    pytest.param(
        with_statement(2, condition(match_label([option("env", "present"), option("team", "regex_match", "s.*")]))),
        "statement[2].conditions.user_label.options[1].operator",
        2,
        "unknown operator 'regex_match': use one of exact_match, contains_string, present",
        id="option-operator-unknown",
    ),
    pytest.param(
        with_statement(0, condition(match_label({"key": "env", "value": "prod"}))),
        "statement[0].conditions.user_label.options.operator",
        0,
        "unknown operator None",
        id="option-operator-missing",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("env", "exact_match")))),
        "statement[0].conditions.user_label.options.value",
        0,
        "is required by the operator 'exact_match'",
        id="option-value-missing",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("env", "contains_string") | {"value": 5}))),
        "statement[0].conditions.user_label.options.value",
        0,
        "is required by the operator 'contains_string': a string",
        id="option-value-not-a-string",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("env", "present", "prod")))),
        "statement[0].conditions.user_label.options.value",
        0,
        "is not used by the operator 'present'",
        id="option-value-with-present",
    ),
]


@pytest.mark.parametrize(("document", "location", "index", "reason"), VALIDATION_CASES)
def test_validation_errors(document: object, location: str, index: int | None, reason: str) -> None:
    """An invalid document is refused with the statement index and field at fault, and why."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(document)
    error = caught.value
    assert isinstance(error, InvalidInput)
    assert error.status == 400
    assert (error.location, error.statement) == (location, index)
    assert error.detail.startswith(f"{location}: ")
    assert reason in error.reason


def many(count: int, item: Any) -> list[Any]:
    return [item] * count


# (document, location, reason fragment): one row per cap, just over it
CAP_CASES = [
    pytest.param({"statement": many(101, VALID)}, "statement", "has 101 statements; at most 100", id="statements"),
    pytest.param(
        with_statement(0, VALID | {"actions": many(65, "iam:GetUser")}),
        "statement[0].actions",
        "has 65 entries; at most 64",
        id="actions",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": many(65, "*")}),
        "statement[0].resources",
        "has 65 entries; at most 64",
        id="resources",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": ["arn:gatehouse:iam:user/" + "x" * 234]}),
        "statement[0].resources[0]",
        "is longer than 256 characters",
        id="pattern-length",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": ["arn:gatehouse:iam:user/<" + "x" * 129 + ">"]}),
        "statement[0].resources[0]",
        "regex segment longer than 128 characters",
        id="regex-length",
    ),
    pytest.param(
        with_statement(
            0, VALID | {"conditions": {f"k{n}_label": match_label(option("a", "present")) for n in range(17)}}
        ),
        "statement[0].conditions",
        "has 17 conditions; at most 16",
        id="conditions",
    ),
    pytest.param(
        with_statement(0, condition(match_label(many(17, option("a", "present"))))),
        "statement[0].conditions.user_label.options",
        "has 17 entries; at most 16",
        id="options",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("a", "exact_match", "v" * 257)))),
        "statement[0].conditions.user_label.options.value",
        "a string of at most 256 characters",
        id="label-value",
    ),
    pytest.param(
        with_statement(0, condition(match_label(option("k" * 257, "present")))),
        "statement[0].conditions.user_label.options.key",
        "a label key of 1 to 256 characters",
        id="label-key",
    ),
    pytest.param(
        with_statement(0, VALID | {"resources": [f"arn:gatehouse:iam:user/<.*>-{n}-<.*>" for n in range(5)]}),
        "statement[0].resources[4]",
        "too ambiguous together",
        id="document-complexity",
    ),
]


@pytest.mark.parametrize(("document", "location", "reason"), CAP_CASES)
def test_caps(document: object, location: str, reason: str) -> None:
    """Every size cap refuses a document just over it, saying where."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(document)
    assert caught.value.location == location
    assert reason in caught.value.reason


AT_CAP = [
    pytest.param({"statement": many(100, VALID)}, id="statements"),
    pytest.param(with_statement(0, VALID | {"actions": many(64, "iam:GetUser")}), id="actions"),
    pytest.param(with_statement(0, VALID | {"resources": ["arn:gatehouse:iam:user/" + "x" * 233]}), id="pattern"),
    pytest.param(with_statement(0, VALID | {"resources": ["arn:gatehouse:iam:user/<" + "x" * 128 + ">"]}), id="regex"),
    pytest.param(
        with_statement(0, VALID | {"resources": [f"arn:gatehouse:iam:user/<.*>-{n}-<.*>" for n in range(4)]}),
        id="document-complexity",
    ),
]


@pytest.mark.parametrize("document", AT_CAP)
def test_at_caps(document: object) -> None:
    """A document exactly at a cap is accepted."""
    parse_policy(document)


def test_empty_policy_allows_nothing() -> None:
    """A document without statements is valid, allows nothing and, as a boundary, blocks everything."""
    empty = NamedPolicy("e", "empty", parse_policy({"statement": []}))
    assert evaluate(request("iam:GetUser"), [role("R", empty)]).outcome == "not_allowed"
    assert evaluate(request("iam:GetUser"), [role("A", ALL)], [empty]).outcome == "outside_boundary"


def test_round_trip() -> None:
    """as_dict gives the canonical JSON form, which parses back to an equal document."""
    source = {
        "statement": [
            allow(["iam:<.*>User", "iam:GetRole"], [USER_U1, "arn:gatehouse:iam:role/*"]),
            deny(
                ["iam:DeleteUser"],
                user_label=[option("env", "exact_match", "prod"), option("team", "present")],
                role_label=option("tier", "contains_string", "gold"),
            ),
        ]
    }
    parsed = parse_policy(source)
    assert parsed.as_dict() == source
    assert parse_policy(json.loads(json.dumps(parsed.as_dict()))) == parsed


# ---------------------------------------------------------------------------------------------
# Properties

ACTION_PATTERNS = [*sorted(ACTION_NAMES), "*", "iam:*", "iam:Get*", "iam:<.*>User", "iam:<(Get|Delete)>*Token"]
RESOURCE_PATTERNS = [
    "*",
    "arn:gatehouse:iam:user/*",
    USER_U1,
    "arn:gatehouse:iam:user/<u[0-9]>",
    "arn:gatehouse:iam:*/u2",
    "arn:gatehouse:iam:role/<r.*>",
    ORGANIZATION,
]
NAMES = [USER_U1, USER_U2, ROLE_R1, "arn:gatehouse:iam:role/x", ORGANIZATION, resource_name("token", "t1")]
LABEL_KINDS = ["user_label", "role_label"]
LABEL_KEYS = ["env", "team"]
LABEL_VALUES = ["prod", "dev", "production"]

options_strategy = st.one_of(
    st.builds(option, st.sampled_from(LABEL_KEYS), st.just("present")),
    st.builds(
        option,
        st.sampled_from(LABEL_KEYS),
        st.sampled_from(["exact_match", "contains_string"]),
        st.sampled_from(LABEL_VALUES),
    ),
)
statement_strategy = st.builds(
    stmt,
    st.sampled_from(["allow", "deny"]),
    st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3),
    st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3),
    **{
        kind: st.one_of(st.none(), options_strategy, st.lists(options_strategy, min_size=1, max_size=2))
        for kind in LABEL_KINDS
    },
).map(lambda statement: _drop_none_conditions(statement))


def _drop_none_conditions(statement: dict[str, Any]) -> dict[str, Any]:
    conditions = {key: body for key, body in statement.get("conditions", {}).items() if body["options"] is not None}
    statement = {key: value for key, value in statement.items() if key != "conditions"}
    return statement | ({"conditions": conditions} if conditions else {})


documents = st.lists(statement_strategy, max_size=4).map(lambda statements: parse_policy({"statement": statements}))
named_policies = st.builds(NamedPolicy, st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(["A", "B"]), documents)
roles_strategy = st.lists(
    st.builds(RolePolicies, st.sampled_from(["r1", "r2"]), st.just("R"), st.lists(named_policies, max_size=3)),
    max_size=3,
)
boundaries_strategy = st.lists(named_policies, max_size=2)
labels_strategy = st.dictionaries(
    st.sampled_from(LABEL_KINDS),
    st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2),
    max_size=2,
)
requests = st.builds(
    EvaluationRequest,
    st.one_of(st.sampled_from(sorted(ACTION_NAMES)), st.text(max_size=20)),
    st.one_of(st.sampled_from(NAMES), st.text(max_size=300)),
    labels_strategy,
)
PROPERTY = settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def _consistent(decision: Decision) -> None:
    assert decision.allowed is (decision.outcome == "allowed")
    if decision.outcome in ("allowed", "denied"):
        assert decision.statement is not None
        assert decision.statement.effect == ("allow" if decision.allowed else "deny")
    else:
        assert decision.statement is None


@PROPERTY
@given(requests, roles_strategy, boundaries_strategy)
def test_evaluation_never_raises(req: EvaluationRequest, roles: list[RolePolicies], bounds: list[NamedPolicy]) -> None:
    """Any request against any valid documents gets a consistent decision, never an exception."""
    _consistent(evaluate(req, roles, bounds))


@PROPERTY
@given(requests, roles_strategy, boundaries_strategy)
def test_deciding_statement_applies(
    req: EvaluationRequest, roles: list[RolePolicies], bounds: list[NamedPolicy]
) -> None:
    """The statement a decision names exists where it says and applies to the request."""
    decision = evaluate(req, roles, bounds)
    ref = decision.statement
    if ref is None:
        return
    if ref.role_id is None:
        candidates = [b for b in bounds if b.id == ref.policy_id]
    else:
        candidates = [p for r in roles if r.id == ref.role_id for p in r.policies if p.id == ref.policy_id]
    assert any(
        ref.index < len(p.document.statements) and p.document.statements[ref.index].applies(req) for p in candidates
    )


@PROPERTY
@given(requests, roles_strategy, boundaries_strategy, statement_strategy, st.integers(min_value=0, max_value=3))
def test_adding_a_deny_never_allows(
    req: EvaluationRequest, roles: list[RolePolicies], bounds: list[NamedPolicy], extra: dict[str, Any], where: int
) -> None:
    """Adding a deny statement (to a role, a new role, or a boundary) never turns a deny into an allow."""
    before = evaluate(req, roles, bounds)
    denying = NamedPolicy("extra", "extra", parse_policy({"statement": [extra | {"effect": "deny"}]}))
    if where == 0 and roles:
        first = roles[0]
        roles = [RolePolicies(first.id, first.name, (*first.policies, denying)), *roles[1:]]
    elif where == 1:
        roles = [*roles, RolePolicies("new", "new", (denying,))]
    elif where == 2 and bounds:
        first_bound = bounds[0]
        merged = first_bound.document.statements + denying.document.statements
        bounds = [NamedPolicy(first_bound.id, first_bound.name, PolicyDocument(merged)), *bounds[1:]]
    after = evaluate(req, roles, bounds)
    if not before.allowed:
        assert not after.allowed


@PROPERTY
@given(requests, roles_strategy, boundaries_strategy)
def test_boundaries_only_restrict(req: EvaluationRequest, roles: list[RolePolicies], bounds: list[NamedPolicy]) -> None:
    """Whatever boundaries allow, the roles alone allow too."""
    if evaluate(req, roles, bounds).allowed:
        assert evaluate(req, roles).allowed


@PROPERTY
@given(requests, roles_strategy, statement_strategy)
def test_adding_an_allow_never_denies(req: EvaluationRequest, roles: list[RolePolicies], extra: dict[str, Any]) -> None:
    """A new role with an allowing statement never turns an allow into a deny."""
    before = evaluate(req, roles)
    allowing = NamedPolicy("extra", "extra", parse_policy({"statement": [extra | {"effect": "allow"}]}))
    after = evaluate(req, [*roles, RolePolicies("new", "new", (allowing,))])
    if before.allowed:
        assert after.allowed


@PROPERTY
@given(st.lists(statement_strategy, max_size=4))
def test_round_trip_property(statements: list[dict[str, Any]]) -> None:
    """Any valid document survives as_dict and JSON unchanged."""
    parsed = parse_policy({"statement": statements})
    assert parse_policy(json.loads(json.dumps(parsed.as_dict()))) == parsed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=20,
)
keys = st.sampled_from(["statement", "effect", "actions", "resources", "conditions", "user_label", "options", "key"])
policy_like = st.recursive(
    st.sampled_from(["allow", "deny", "*", "iam:GetUser", "present", "MatchLabel", "<(a+)+>", 1, None]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


@PROPERTY
@given(st.one_of(json_values, policy_like))
def test_parse_raises_only_policy_errors(document: object) -> None:
    """Arbitrary JSON is either a valid document or a PolicyError, never another exception."""
    with contextlib.suppress(PolicyError):
        parse_policy(document)


GLOB_ALPHABET = "ab/*"


@settings(max_examples=500)
@given(st.text(GLOB_ALPHABET, min_size=1, max_size=12), st.text("ab/", max_size=16))
def test_glob_matches_like_a_regex(pattern: str, name: str) -> None:
    """The linear-time glob matcher agrees with the equivalent anchored regex."""
    reference = re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), name, re.DOTALL)
    assert compile_pattern(pattern).matches(name) is (reference is not None)


REGEX_ALPHABET = "ab.*+?|()[]{}0123,<>\\^$-"


@settings(max_examples=1000, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(REGEX_ALPHABET, min_size=1, max_size=40), st.text("ab", max_size=MAX_NAME_LENGTH))
def test_accepted_patterns_match_quickly(pattern: str, name: str) -> None:
    """Fuzzing: any pattern the safety checks accept matches a name within the deadline, or is refused."""
    try:
        compiled = compile_pattern(pattern)
    except PatternError:
        return
    started = time.perf_counter()
    compiled.matches(name)
    compiled.matches("a" * MAX_NAME_LENGTH)
    assert time.perf_counter() - started < 0.1
