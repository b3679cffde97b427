"""SSO role and permission-boundary mapping (:mod:`gatehouse.login.mapping`): pure, table-driven.

Claims documents are shaped like real IdPs' (OpenID Connect Core 1.0 §5.1 standard claims plus Okta's
``groups`` and Entra ID's ``roles``). No test is timed: regex safety is checked through what is
rejected (nested quantifiers) and what is never tested (over-long claim strings).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.errors import InvalidInput
from gatehouse.login.mapping import (
    MAX_CANDIDATES,
    MAX_CLAIM_STRING_LENGTH,
    MAX_JSON_TEXT_LENGTH,
    MAX_RULES,
    MappingError,
    Operation,
    Rule,
    compile_path,
    compile_regex,
    dry_run,
    evaluate,
    nested_quantifier,
    parse_claims,
    parse_rules,
    recompute,
)

OKTA = {
    "sub": "00u1abcd",
    "preferred_username": "ada",
    "email": "ada@example.com",
    "email_verified": True,
    "groups": ["Everyone", "gatehouse-admins", "ops-team"],
    "department": "Engineering",
    "employee_number": 1234,
    "score": 1.5,
    "big": 1e20,
    "manager": None,
}
ENTRA = {
    "oid": "5f1e2d3c-0000-4000-8000-000000000001",
    "tid": "72f988bf-0000-4000-8000-000000000002",
    "roles": ["Gatehouse.Admin", "Gatehouse.Reader"],
    "groups": ["9c1f4a2e-0000-4000-8000-000000000003"],
}
NESTED = {
    "groups": [{"name": "admins", "id": 1}, {"name": "ops", "id": 2}, {"id": 3}],
    "org": {"unit": {"name": "Platform", "codes": ["P1", "P2"]}},
    "numbers": [1, 2, 3],
    "flags": [True, False],
    "matrix": [["a", "b"], ["c"]],
    "mixed": [None, {"x": "admin"}, ["admin"], 7, "admin-ro"],
    "empty": [],
}


def rule(attribute: str, operation: str, value: str, target: str = "r1", kind: str = "role") -> dict[str, str]:
    return {"kind": kind, "target_id": target, "attribute": attribute, "operation": operation, "value": value}


def matches(attribute: str, operation: str, value: str, claims: dict[str, Any]) -> bool:
    return bool(evaluate(parse_rules([rule(attribute, operation, value)]), claims).roles)


# (attribute, operation, value, claims, matched)
SEMANTICS = [
    # exact_match: a selected string, number or boolean whose text equals the value, case-sensitive
    ("$.department", "exact_match", "Engineering", OKTA, True),
    ("$.department", "exact_match", "engineering", OKTA, False),
    ("$.department", "exact_match", "Engineer", OKTA, False),
    ("$.groups[*]", "exact_match", "ops-team", OKTA, True),
    ("$.groups", "exact_match", "ops-team", OKTA, False),  # never looks inside a selected array
    ("$.employee_number", "exact_match", "1234", OKTA, True),  # a number by its JSON text
    ("$.employee_number", "exact_match", "1234.0", OKTA, False),
    ("$.score", "exact_match", "1.5", OKTA, True),
    ("$.big", "exact_match", "1e+20", OKTA, True),
    ("$.email_verified", "exact_match", "true", OKTA, True),
    ("$.email_verified", "exact_match", "True", OKTA, False),
    ("$.manager", "exact_match", "null", OKTA, False),  # null has no text
    ("$.missing", "exact_match", "x", OKTA, False),
    ("$.org", "exact_match", "Platform", NESTED, False),  # an object never matches
    ("$.org.unit.name", "exact_match", "Platform", NESTED, True),
    ("$['preferred_username']", "exact_match", "ada", OKTA, True),
    ("$.groups[*].name", "exact_match", "ops", NESTED, True),
    ("$.groups[*].name", "exact_match", "nobody", NESTED, False),
    ("$..name", "exact_match", "Platform", NESTED, True),
    ("$.groups[?@.id == 2].name", "exact_match", "ops", NESTED, True),
    ("$.roles[*]", "exact_match", "Gatehouse.Admin", ENTRA, True),
    ("$.roles[0]", "exact_match", "Gatehouse.Reader", ENTRA, False),
    ("$.groups[*]", "exact_match", "9c1f4a2e-0000-4000-8000-000000000003", ENTRA, True),
    # contains_string: a selected string containing the value
    ("$.department", "contains_string", "Eng", OKTA, True),
    ("$.department", "contains_string", "ENG", OKTA, False),
    ("$.email", "contains_string", "@example.com", OKTA, True),
    ("$.groups[*]", "contains_string", "admin", OKTA, True),
    ("$.groups", "contains_string", "admin", OKTA, False),
    ("$.employee_number", "contains_string", "12", OKTA, False),  # numbers are not strings
    ("$.email_verified", "contains_string", "tru", OKTA, False),
    ("$.missing", "contains_string", "x", OKTA, False),
    ("$.groups[*].name", "contains_string", "dmin", NESTED, True),
    # exact_match_in_array: an element of a selected array, or a selected array element
    ("$.groups", "exact_match_in_array", "ops-team", OKTA, True),
    ("$.groups[*]", "exact_match_in_array", "ops-team", OKTA, True),
    ("$.groups", "exact_match_in_array", "ops", OKTA, False),
    ("$.groups", "exact_match_in_array", "OPS-TEAM", OKTA, False),
    ("$.department", "exact_match_in_array", "Engineering", OKTA, False),  # not in an array
    ("$.roles", "exact_match_in_array", "Gatehouse.Admin", ENTRA, True),
    ("$.numbers", "exact_match_in_array", "2", NESTED, True),
    ("$.flags", "exact_match_in_array", "false", NESTED, True),
    ("$.empty", "exact_match_in_array", "x", NESTED, False),
    ("$.missing", "exact_match_in_array", "x", NESTED, False),
    ("$.groups[*].name", "exact_match_in_array", "ops", NESTED, False),  # a member of an object, not an array
    ("$.groups", "exact_match_in_array", "ops", NESTED, False),  # elements are objects
    ("$.matrix[*]", "exact_match_in_array", "c", NESTED, True),  # each selected array's elements
    ("$.org.unit.codes", "exact_match_in_array", "P2", NESTED, True),
    ("$.mixed", "exact_match_in_array", "admin", NESTED, False),  # nested array and object skipped
    ("$.mixed", "exact_match_in_array", "7", NESTED, True),
    # contains_string_in_array: a string element containing the value
    ("$.groups", "contains_string_in_array", "admin", OKTA, True),
    ("$.groups[*]", "contains_string_in_array", "team", OKTA, True),
    ("$.groups", "contains_string_in_array", "Admin", OKTA, False),
    ("$.roles", "contains_string_in_array", "Reader", ENTRA, True),
    ("$.department", "contains_string_in_array", "Eng", OKTA, False),
    ("$.numbers", "contains_string_in_array", "1", NESTED, False),  # numbers are not strings
    ("$.empty", "contains_string_in_array", "x", NESTED, False),
    ("$.mixed", "contains_string_in_array", "admin", NESTED, True),  # "admin-ro"
    ("$.missing", "contains_string_in_array", "x", NESTED, False),
    # regex: a selected string matching as a whole (fullmatch)
    ("$.department", "regex", "Eng.*", OKTA, True),
    ("$.department", "regex", "Eng", OKTA, False),
    ("$.department", "regex", "ngineer", OKTA, False),
    ("$.department", "regex", "(?i)engineering", OKTA, True),
    ("$.groups[*]", "regex", "gatehouse-[a-z]+", OKTA, True),
    ("$.groups", "regex", ".*", OKTA, False),  # an array is not a string
    ("$.employee_number", "regex", "[0-9]+", OKTA, False),
    ("$.roles[*]", "regex", r"Gatehouse\.(Admin|Owner)", ENTRA, True),
    ("$.roles[*]", "regex", r"Gatehouse\.Owner", ENTRA, False),
    ("$.missing", "regex", ".*", OKTA, False),
]


@pytest.mark.parametrize(("attribute", "operation", "value", "claims", "matched"), SEMANTICS)
def test_operation_semantics(attribute: str, operation: str, value: str, claims: dict[str, Any], matched: bool) -> None:
    assert matches(attribute, operation, value, claims) is matched


def test_every_operation_is_covered() -> None:
    assert {case[1] for case in SEMANTICS} == {op.value for op in Operation}


@pytest.mark.parametrize(
    ("attribute", "operation", "value", "claims", "text", "location"),
    [
        ("$.groups[*]", "exact_match", "ops-team", OKTA, "ops-team", "$['groups'][2]"),
        ("$.groups", "exact_match_in_array", "ops-team", OKTA, "ops-team", "$['groups'][2]"),
        ("$.employee_number", "exact_match", "1234", OKTA, "1234", "$['employee_number']"),
        ("$.groups[*].name", "contains_string", "dmin", NESTED, "admins", "$['groups'][0]['name']"),
        ("$.matrix[*]", "exact_match_in_array", "c", NESTED, "c", "$['matrix'][1][0]"),
        ("$.roles[*]", "regex", r".*\.Reader", ENTRA, "Gatehouse.Reader", "$['roles'][1]"),
    ],
)
def test_outcome_names_the_matching_value_and_node(
    attribute: str, operation: str, value: str, claims: dict[str, Any], text: str, location: str
) -> None:
    (outcome,) = evaluate(parse_rules([rule(attribute, operation, value)]), claims).outcomes
    assert (outcome.matched, outcome.value, outcome.location) == (True, text, location)


def test_ordered_rules_first_match_per_target_and_all_matches_kept() -> None:
    rules = parse_rules(
        [
            rule("$.groups[*]", "exact_match", "nobody", target="r-admin"),
            rule("$.groups", "exact_match_in_array", "gatehouse-admins", target="r-admin"),
            rule("$.department", "exact_match", "Engineering", target="r-admin"),
            rule("$.groups[*]", "contains_string", "ops", target="r-ops"),
            rule("$.department", "regex", "Eng.*", target="p-eng", kind="boundary"),
            rule("$.groups[*]", "exact_match", "ops-team", target="r-ops"),
        ]
    )
    result = evaluate(rules, OKTA)
    assert dict(result.roles) == {"r-admin": 1, "r-ops": 3}
    assert dict(result.boundaries) == {"p-eng": 4}
    assert result.matched == (1, 2, 3, 4, 5)
    assert [o.matched for o in result.outcomes] == [False, True, True, True, True, True]
    assert [o.index for o in result.outcomes] == list(range(6))


def test_same_target_id_as_role_and_boundary_stays_apart() -> None:
    rules = parse_rules(
        [
            rule("$.sub", "contains_string", "00u", target="x"),
            rule("$.sub", "contains_string", "00u", target="x", kind="boundary"),
        ]
    )
    result = evaluate(rules, OKTA)
    assert (dict(result.roles), dict(result.boundaries)) == ({"x": 0}, {"x": 1})


def test_no_rules_and_no_matches_grant_nothing() -> None:
    assert evaluate((), OKTA).roles == {}
    result = evaluate(parse_rules([rule("$.groups[*]", "exact_match", "nobody")]), OKTA)
    assert (dict(result.roles), dict(result.boundaries), result.matched) == ({}, {}, ())


@pytest.mark.parametrize(
    ("current", "granted_roles", "kind", "granted", "removed"),
    [
        (set(), {"a"}, "role", {"a"}, set()),
        ({"a", "b"}, {"b", "c"}, "role", {"c"}, {"a"}),
        ({"a"}, set(), "role", set(), {"a"}),  # nothing matches any more: every mapped role goes
        ({"a"}, {"a"}, "role", set(), set()),
        ({"p1"}, {"a"}, "boundary", set(), {"p1"}),  # boundaries are recomputed apart from roles
    ],
)
def test_recompute(current: set[str], granted_roles: set[str], kind: str, granted: set[str], removed: set[str]) -> None:
    rules = parse_rules([rule("$.sub", "contains_string", "00u", target=t) for t in sorted(granted_roles)])
    result = evaluate(rules, OKTA)
    assert recompute(current, result, "boundary" if kind == "boundary" else "role") == (
        frozenset(granted),
        frozenset(removed),
    )


def test_recompute_boundaries() -> None:
    rules = parse_rules([rule("$.department", "exact_match", "Engineering", target="p-eng", kind="boundary")])
    assert recompute({"p-old", "p-eng"}, evaluate(rules, OKTA), "boundary") == (frozenset(), frozenset({"p-old"}))
    assert recompute(set(), evaluate(rules, OKTA), "boundary") == (frozenset({"p-eng"}), frozenset())


# --- Validation --------------------------------------------------------------------------------

OK = rule("$.groups[*]", "exact_match", "ops")
VALID_LIST = ", ".join(op.value for op in Operation)


def with_(**changes: object) -> dict[str, object]:
    return {**OK, **changes}


def without(name: str) -> dict[str, object]:
    return {k: v for k, v in OK.items() if k != name}


INVALID: list[tuple[object, str]] = [
    ({"rules": []}, "rules: must be a JSON array of rules, not an object"),
    (None, "rules: must be a JSON array of rules, not null"),
    ([OK] * (MAX_RULES + 1), f"rules: at most {MAX_RULES} rules are allowed, got {MAX_RULES + 1}"),
    ([OK, "x"], "rules[1]: must be a JSON object, not a string"),
    ([OK, OK, [OK]], "rules[2]: must be a JSON object, not an array"),
    (
        [{**OK, "role": "r1"}],
        "rules[0]: unknown field 'role' (name the target with kind and target_id); "
        "the fields are kind, target_id, attribute, operation, value",
    ),
    (
        [{**OK, "extra": 1}],
        "rules[0]: unknown field 'extra'; the fields are kind, target_id, attribute, operation, value",
    ),
    ([with_(kind="group")], "rules[0].kind: must be role or boundary, not 'group'"),
    ([with_(kind=1)], "rules[0].kind: must be a string, not a number"),
    ([with_(kind="")], "rules[0].kind: must not be empty"),
    ([without("target_id")], "rules[0].target_id: is required"),
    ([with_(target_id="")], "rules[0].target_id: must not be empty"),
    ([with_(target_id=["r1"])], "rules[0].target_id: must be a string, not an array"),
    ([with_(target_id="r" * 201)], "rules[0].target_id: is longer than 200 characters (201)"),
    ([without("attribute")], "rules[0].attribute: is required"),
    ([with_(attribute=None)], "rules[0].attribute: must be a string, not null"),
    (
        [with_(attribute="groups")],
        "rules[0].attribute: must be a JSONPath starting with '$', e.g. $.groups[*] or $.title",
    ),
    ([OK, with_(attribute="$[")], "rules[1].attribute: not a valid JSONPath (unexpected end of query)"),
    ([with_(attribute="$.a b")], "rules[0].attribute: not a valid JSONPath (unexpected token 'b')"),
    (
        [with_(attribute="$.a[?match(@, 'x')]")],
        "rules[0].attribute: not a valid JSONPath (function 'match' is not defined)",
    ),
    ([with_(attribute="$." + "a" * 499)], "rules[0].attribute: is longer than 500 characters (501)"),
    ([without("operation")], "rules[0].operation: is required"),
    ([with_(operation="equals")], f"rules[0].operation: unknown operation 'equals'; use one of {VALID_LIST}"),
    ([with_(operation="=")], f"rules[0].operation: unknown operation '='; use one of {VALID_LIST}"),
    ([with_(operation="EXACT_MATCH")], f"rules[0].operation: unknown operation 'EXACT_MATCH'; use one of {VALID_LIST}"),
    ([without("value")], "rules[0].value: is required"),
    ([with_(value=True)], "rules[0].value: must be a string, not a boolean"),
    ([with_(value=42)], "rules[0].value: must be a string, not a number"),
    ([with_(value={})], "rules[0].value: must be a string, not an object"),
    ([with_(value="")], "rules[0].value: must not be empty"),
    ([with_(value="v" * 1001)], "rules[0].value: is longer than 1000 characters (1001)"),
    ([with_(operation="regex", value="a" * 501)], "rules[0].value: is longer than 500 characters (501)"),
    (
        [with_(operation="regex", value="(")],
        "rules[0].value: not a valid regular expression (missing ), unterminated subpattern at position 0)",
    ),
    (
        [with_(operation="regex", value="a{5,2}")],
        "rules[0].value: not a valid regular expression (min repeat greater than max repeat at position 2)",
    ),
    (
        [with_(operation="regex", value="a{99999999999999999999}")],
        "rules[0].value: not a valid regular expression (the repetition number is too large)",
    ),
    (
        [with_(operation="regex", value="[[a]")],
        "rules[0].value: not a valid regular expression (Possible nested set at position 1)",
    ),
    (
        [OK, OK, with_(operation="regex", value="(a+)+$")],
        "rules[2].value: unsafe regular expression: the repetition at position 4 applies to a group that itself "
        "repeats or alternates, which can backtrack without end",
    ),
]


@pytest.mark.parametrize(("raw", "message"), INVALID)
def test_validation_errors_name_the_rule_and_field(raw: object, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_rules(raw)
    assert str(caught.value) == message
    location, _, reason = message.partition(": ")
    assert (caught.value.location, caught.value.reason) == (location, reason)
    assert isinstance(caught.value, InvalidInput) and caught.value.status == 400


@pytest.mark.parametrize(
    "raw",
    [
        [OK] * MAX_RULES,
        [with_(value="v" * 1000)],
        [with_(operation="regex", value="a" * 500)],
        [with_(target_id="r" * 200)],
        [with_(attribute="$." + "a" * 498)],
        [without("kind")],  # kind defaults to role
        [with_(kind="boundary", operation="contains_string_in_array")],
        [with_(attribute="$")],
        [with_(attribute="$..name")],
        [with_(attribute="$.groups[?@.id == 2].name")],
    ],
)
def test_valid_at_the_caps_and_defaults(raw: list[dict[str, object]]) -> None:
    assert len(parse_rules(raw)) == len(raw)


def test_rules_round_trip_and_kind_defaults_to_role() -> None:
    (parsed,) = parse_rules([without("kind")])
    assert parsed == Rule("role", "r1", "$.groups[*]", Operation.EXACT_MATCH, "ops")
    assert parse_rules([parsed.to_json()]) == (parsed,)
    assert parsed.to_json() == OK


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+",
        "(a*)*",
        r"(\w*\s?)*",
        "(a|aa)+",
        "(a|b)*c",
        "((x+))*",
        "((a+)?)+",
        "(?:a+)+",
        "(x+){2}",
        "(a{1,3})+",
        "(.*,)*x",
        r"(\d+-?)+$",
        "^(([a-z])+.)+[A-Z]([a-z])+$",
    ],
)
def test_nested_quantifiers_are_rejected(pattern: str) -> None:
    assert nested_quantifier(pattern) is not None
    with pytest.raises(MappingError, match=r"^rules\[0\]\.value: unsafe regular expression"):
        parse_rules([with_(operation="regex", value=pattern)])


@pytest.mark.parametrize(
    "pattern",
    [
        "(a{2})+",
        "(ab)?",
        "(eng|ops)-.*",
        "[(a+)]+",
        r"\(a+\)+",
        "a{2,}b",
        "(a+)?",
        "(a{3})*",
        "(a+){,1}",
        "x{}",
        "(?i)admin.*",
        r"gatehouse-[a-z0-9]+",
        r"Gatehouse\.(Admin|Owner)",
        ".*admin.*",
        "[^]a+]*",
    ],
)
def test_safe_patterns_are_accepted(pattern: str) -> None:
    assert nested_quantifier(pattern) is None
    parse_rules([with_(operation="regex", value=pattern)])


@pytest.mark.parametrize(
    ("attribute", "operation", "value"),
    [
        ("$.v", "contains_string", "x"),
        ("$.v", "regex", "x*"),
        ("$.v[*]", "regex", "x+"),
        ("$.v", "contains_string_in_array", "x"),
        ("$.v[*]", "contains_string", "x"),
    ],
)
def test_overlong_claim_strings_are_never_tested(attribute: str, operation: str, value: str) -> None:
    at_cap, over_cap = "x" * MAX_CLAIM_STRING_LENGTH, "x" * (MAX_CLAIM_STRING_LENGTH + 1)
    shape = (lambda s: [s]) if attribute == "$.v[*]" or operation.endswith("_in_array") else (lambda s: s)
    assert matches(attribute, operation, value, {"v": shape(at_cap)})
    assert not matches(attribute, operation, value, {"v": shape(over_cap)})


def test_pathological_input_shape_is_capped_not_timed() -> None:
    # (x+x+)+y rejected; the closest accepted shape still only ever sees at most 1,000 characters
    assert nested_quantifier("(x+x+)+y") is not None
    assert not matches("$.v", "regex", "x+x+y", {"v": "x" * 5000})


def test_candidates_per_rule_are_capped() -> None:
    claims = {"groups": [f"g{i}" for i in range(MAX_CANDIDATES + 500)]}
    assert matches("$.groups", "exact_match_in_array", f"g{MAX_CANDIDATES - 1}", claims)
    assert not matches("$.groups", "exact_match_in_array", f"g{MAX_CANDIDATES}", claims)
    assert not matches("$.groups[*]", "exact_match", f"g{MAX_CANDIDATES + 10}", claims)


def test_numbers_too_long_to_print_do_not_match_or_raise() -> None:
    assert not matches("$.n", "exact_match", "1", {"n": 10**5000})
    assert not matches("$.n", "exact_match_in_array", "1", {"n": [10**5000, "x"]})


def test_compiled_paths_and_regexes_are_cached() -> None:
    parse_rules([with_(attribute="$.cache_probe[*]", operation="regex", value="cache-probe-.*")])
    assert compile_path("$.cache_probe[*]") is compile_path("$.cache_probe[*]")
    hits = compile_regex.cache_info().hits
    evaluate(parse_rules([with_(attribute="$.x", operation="regex", value="cache-probe-.*")]), {"x": "cache-probe-1"})
    assert compile_regex.cache_info().hits > hits


# --- Dry run -----------------------------------------------------------------------------------


def test_dry_run_reports_each_rule_and_the_resulting_sets() -> None:
    rules = [
        rule("$.groups", "exact_match_in_array", "nobody", target="r-x"),
        rule("$.roles[*]", "exact_match", "Gatehouse.Admin", target="r-admin"),
        rule("$.roles[*]", "regex", r"Gatehouse\..*", target="p-read", kind="boundary"),
    ]
    report = dry_run(json.dumps(rules), json.dumps(ENTRA))
    admin = {"matched": True, "matched_value": "Gatehouse.Admin", "matched_at": "$['roles'][0]"}
    assert report == dry_run(rules, ENTRA)
    assert report.to_json() == {
        "rules": [
            {"index": 0, **rules[0], "matched": False, "matched_value": None, "matched_at": None},
            {"index": 1, **rules[1], **admin},
            {"index": 2, **rules[2], **admin},
        ],
        "roles": [{"id": "r-admin", "rule": 1}],
        "boundaries": [{"id": "p-read", "rule": 2}],
    }
    json.dumps(report.to_json())


@pytest.mark.parametrize(
    ("rules_json", "claims_json", "message"),
    [
        ("[", "{}", "rules: not valid JSON (Expecting value at line 1 column 2)"),
        ("{}", "{}", "rules: must be a JSON array of rules, not an object"),
        ("[1]", "{}", "rules[0]: must be a JSON object, not a number"),
        ("[]", "{", "claims: not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
        ("[]", "[]", "claims: must be a JSON object, not an array"),
        ("[]", '"x"', "claims: must be a JSON object, not a string"),
        ("[]", None, "claims: must be a JSON object, not null"),
        ("[]", [1], "claims: must be a JSON object, not an array"),
        ("[]", "[" * 100_000, "claims: is nested too deeply"),
        ("[]", " " * (MAX_JSON_TEXT_LENGTH + 1), f"claims: is longer than {MAX_JSON_TEXT_LENGTH} characters"),
        ("[ ]" + " " * MAX_JSON_TEXT_LENGTH, "{}", f"rules: is longer than {MAX_JSON_TEXT_LENGTH} characters"),
    ],
)
def test_dry_run_errors(rules_json: object, claims_json: object, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        dry_run(rules_json, claims_json)
    assert str(caught.value) == message


def test_parse_claims_accepts_text_or_decoded() -> None:
    assert parse_claims('{"groups": ["a"]}') == parse_claims({"groups": ["a"]}) == {"groups": ["a"]}


# --- Properties --------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
CLAIM_KEYS = st.sampled_from(["groups", "roles", "department", "name", "sub", "x"]) | st.text(max_size=8)
CLAIMS = st.dictionaries(CLAIM_KEYS, JSON_VALUES, max_size=8)
PROBE_PATHS = [
    "$",
    "$.*",
    "$..*",
    "$.groups",
    "$.groups[*]",
    "$.groups[*].name",
    "$..name",
    "$.roles[0]",
    "$.x[-1]",
    "$[?@.name]",
    "$.department",
]
PROBE_VALUES = ["a", "1", "true", "null", "0.0"]
PROBE_RULES = parse_rules(
    [
        rule(
            path,
            op.value,
            PROBE_VALUES[(i + j) % len(PROBE_VALUES)],
            target=f"t{i}-{j}",
            kind="boundary" if (i + j) % 3 == 0 else "role",
        )
        for i, path in enumerate(PROBE_PATHS)
        for j, op in enumerate(op for op in Operation if op is not Operation.REGEX)
    ]
    + [rule("$..*", "regex", ".*a.*", target="re"), rule("$.groups[*]", "regex", "[a-z]+", target="re2")]
)


@settings(max_examples=120, deadline=None)
@given(CLAIMS)
def test_evaluate_never_raises_on_arbitrary_json_claims(claims: dict[str, Any]) -> None:
    result = evaluate(PROBE_RULES, claims)
    assert len(result.outcomes) == len(PROBE_RULES)
    targets = {r.target_id for r in PROBE_RULES}
    assert set(result.roles) | set(result.boundaries) <= targets
    for index in result.matched:
        outcome = result.outcomes[index]
        assert outcome.value is not None and outcome.location is not None and outcome.location.startswith("$")
    text = json.dumps(claims)
    assert dry_run([r.to_json() for r in PROBE_RULES], text).result.matched == result.matched


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), max_size=20), st.text(min_size=1, max_size=12))
def test_array_operations_agree_with_membership(groups: list[str], value: str) -> None:
    claims = {"groups": groups}
    assert matches("$.groups", "exact_match_in_array", value, claims) is (value in groups)
    assert matches("$.groups[*]", "exact_match", value, claims) is (value in groups)
    assert matches("$.groups", "contains_string_in_array", value, claims) is any(value in g for g in groups)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_regex_rules_only_ever_raises_mapping_error(pattern: str) -> None:
    try:
        (parsed,) = parse_rules([with_(operation="regex", value=pattern)])
    except MappingError:
        return
    assert nested_quantifier(parsed.value) is None
