"""The checks of role-mapping rules (:mod:`gatehouse.iam.role_mapping_rules`) that need no database: every
problem of every rule at once, in rule and field order, each a sentence (no field-name prefix, no backticks,
no JSON location); and the rules as a whole."""

from __future__ import annotations

import pytest

from gatehouse.iam.role_mapping_rules import RuleError, RuleProblem, rule_problems, rules_from_text

GOOD = {"kind": "role", "target_id": "Ops", "attribute": "$.groups[*]", "operation": "exact_match", "value": "ops"}


def test_a_good_rule_has_no_problem() -> None:
    assert rule_problems([GOOD, {**GOOD, "kind": "boundary", "operation": "regex", "value": "eng|ops"}]) == []
    assert rule_problems([{k: v for k, v in GOOD.items() if k != "kind"}]) == []  # kind defaults to role


def test_every_problem_of_every_rule_at_once_in_order() -> None:
    found = rule_problems([
        {**GOOD, "attribute": "groups", "operation": "equals", "value": ""},
        GOOD,
        {"kind": "team", "target_id": "", "attribute": "$.x[", "operation": "regex", "value": "(a+)+"},
    ])  # fmt: skip
    assert [(p.index, p.field) for p in found] == [
        (0, "attribute"), (0, "operation"), (0, "value"),
        (2, "kind"), (2, "target_id"), (2, "attribute"), (2, "value"),
    ]  # fmt: skip
    messages = [p.message for p in found]
    assert messages[0] == "The attribute must be a JSONPath starting with $, such as $.groups[*] or $.department."
    assert messages[1].startswith("The operation “equals” is not one of exact_match, contains_string, ")
    assert messages[2] == "Give the value to compare with."
    assert messages[3] == "The kind must be role or boundary, not “team”."
    assert messages[4] == "Choose the role or permission policy."
    assert messages[5].startswith("The attribute is not a valid JSONPath (")
    assert messages[6].startswith("The value is an unsafe regular expression: the repetition at position 4")
    for problem in found:
        assert problem.sentence.startswith(f"In rule {problem.index + 1}, ") and problem.sentence.endswith(".")
        assert "`" not in problem.sentence and "rules[" not in problem.sentence and "_id:" not in problem.sentence


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        (
            {**GOOD, "kind": "boundary", "target_id": ""},
            "target_id",
            "Choose the permission policy to set as a boundary.",
        ),
        ({**GOOD, "target_id": ""}, "target_id", "Choose the role to grant."),
        ({**GOOD, "value": 42}, "value", "The value must be text, not a number."),
        ({**GOOD, "value": "x" * 1001}, "value", "The value is longer than 1000 characters (1001)."),
        ({**GOOD, "operation": "regex", "value": "("}, "value", "The value is not a valid regular expression ("),
        ({**GOOD, "role": "Ops"}, None, "The field role is not a field of a rule (name the target with kind and"),
    ],
)
def test_each_problem_reads_as_a_sentence(rule: dict[str, object], field: str | None, message: str) -> None:
    [problem] = rule_problems([rule])
    assert problem.field == field and problem.message.startswith(message)


def test_problems_of_the_rules_as_a_whole() -> None:
    assert rule_problems({"a": 1}) == [
        RuleProblem(None, None, "the rules must be a JSON array of rules, not an object")
    ]
    assert rule_problems([1]) == [RuleProblem(0, None, "the rule must be a JSON object, not a number")]
    [many] = rule_problems([GOOD] * 101)
    assert many.sentence == "At most 100 rules are allowed, not 101."
    assert rules_from_text("  ") == []
    with pytest.raises(RuleError) as broken:
        rules_from_text("[{")
    assert broken.value.detail.startswith("The rules are not valid JSON (") and broken.value.problems[0].index is None


def test_a_rule_error_says_every_problem_and_the_other_fields_first() -> None:
    problems = [RuleProblem(0, "value", "give the value to compare with"), RuleProblem(1, "kind", "the kind is bad")]
    fields = {"issuer": "The issuer must use https.", "name": "The name must be 1 to 100 characters."}
    error = RuleError(problems, fields)
    assert error.detail == (
        "The issuer must use https. The name must be 1 to 100 characters. "
        "In rule 1, give the value to compare with. In rule 2, the kind is bad."
    )
    assert error.status == 400 and error.problems == tuple(problems) and error.fields == fields
