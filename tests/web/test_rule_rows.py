"""The rule rows of a login option's form (:mod:`gatehouse.web.rule_rows`), without a server: rows read from
the posted fields in order, empty and removed rows dropped, moves among the rows that stay, more empty rows,
which of rows and JSON is the rules, and every problem placed beside its field."""

from __future__ import annotations

import json

import pytest

from gatehouse.iam.role_mapping_rules import RuleProblem
from gatehouse.web.rule_rows import (
    SPARE_ROWS,
    RuleRow,
    RulesForm,
    posted_rules,
    rows_of_text,
    rows_text,
    saved,
    view,
)

OPS = RuleRow("role", "Ops", "$.groups[*]", "exact_match", "ops")
DEV = RuleRow("role", "Viewer", "$.groups[*]", "contains_string", "dev")
SALES = RuleRow("boundary", "read-only", "$.department", "regex", "Sales|Support")
LIMIT = 300_000


def form(*rows: RuleRow, spare: int = 2, **extra: str) -> dict[str, str]:
    fields = {"rules-count": str(len(rows) + spare), "rules": "[]", **extra}
    for index, row in enumerate((*rows, *[RuleRow()] * spare)):
        fields.update({f"rules-{index}-{name}": getattr(row, name) for name in row.__slots__})
    return fields


def test_rows_are_read_in_order_and_empty_ones_are_ignored() -> None:
    posted = posted_rules(form(OPS, RuleRow(kind="boundary", operation="regex"), DEV, spare=1), LIMIT)
    assert posted.rows == (OPS, DEV) and posted.source == "rows" and posted.action == "" and not posted.editing
    assert json.loads(posted.text) == [OPS.to_json(), DEV.to_json()]  # the JSON view follows the rows
    assert posted.spare == SPARE_ROWS


def test_a_ticked_row_is_removed_on_every_submit() -> None:
    posted = posted_rules(form(OPS, DEV, SALES, **{"rules-1-remove": "on"}), LIMIT)
    assert posted.rows == (OPS, SALES) and not posted.editing


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("up:1", (DEV, OPS, SALES)),
        ("down:1", (OPS, SALES, DEV)),
        ("up:0", (OPS, DEV, SALES)),  # the first row stays first
        ("down:2", (OPS, DEV, SALES)),  # the last rule stays last (empty rows are no rules)
        ("up:4", (OPS, DEV, SALES)),  # an empty row does not move
        ("up:99", (OPS, DEV, SALES)),
    ],
)
def test_a_move_swaps_with_the_neighbouring_rule_and_saves_nothing(action: str, expected: tuple[RuleRow]) -> None:
    posted = posted_rules(form(OPS, DEV, SALES, rules_action=action), LIMIT)
    assert posted.rows == expected and posted.editing


def test_a_move_skips_the_rows_being_removed() -> None:
    posted = posted_rules(form(OPS, DEV, SALES, **{"rules-1-remove": "on"}, rules_action="up:2"), LIMIT)
    assert posted.rows == (SALES, OPS)


def test_add_gives_more_empty_rows() -> None:
    posted = posted_rules(form(OPS, spare=3, rules_action="add"), LIMIT)
    assert posted.editing and posted.rows == (OPS,) and posted.spare == 6
    again = posted_rules(form(OPS, spare=6, rules_action="add"), LIMIT)
    assert again.spare == 9
    assert len(view(again).rows) == 10


def test_the_json_is_the_rules_only_with_its_button_or_without_rows() -> None:
    typed = json.dumps([SALES.to_json()])
    saved_json = posted_rules(form(OPS, rules=typed, rules_action="json"), LIMIT)
    assert saved_json.source == "json" and saved_json.text == typed and not saved_json.editing
    assert saved_json.rows == (SALES,)  # shown as rows too, so their problems sit beside their fields
    ignored = posted_rules(form(OPS, rules=typed), LIMIT)
    assert ignored.source == "rows" and ignored.rows == (OPS,) and json.loads(ignored.text) == [OPS.to_json()]
    scripted = posted_rules({"rules": typed}, LIMIT)  # no rows on the form: the JSON is the rules
    assert scripted.source == "json" and scripted.rows == (SALES,) and not scripted.editing
    loaded = posted_rules(form(OPS, rules=typed, rules_action="load"), LIMIT)
    assert loaded.editing and loaded.rows == (SALES,)


def test_json_that_is_no_list_of_objects_has_no_rows() -> None:
    assert rows_of_text("[{") is None and rows_of_text('{"a": 1}') is None and rows_of_text("[1]") is None
    assert rows_of_text("") == () and rows_of_text("[]") == ()
    assert rows_of_text('[{"target_id": "Ops", "value": 42}]') == (RuleRow("role", "Ops", "", "", "42"),)
    assert rows_of_text(rows_text([OPS, SALES])) == (OPS, SALES)
    assert saved(rows_text([OPS])).rows == (OPS,)


def test_problems_are_placed_beside_their_fields_in_order() -> None:
    rules = RulesForm((OPS, DEV), spare=1)
    problems = [
        RuleProblem(0, "attribute", "the attribute must be a JSONPath starting with $"),
        RuleProblem(1, "target_id", "choose the role to grant"),
        RuleProblem(1, None, "the field x is not a field of a rule"),
        RuleProblem(None, None, "at most 100 rules are allowed, not 101"),
    ]
    shown = view(rules, problems)
    assert shown.errors == {
        "rules-0-attribute": "The attribute must be a JSONPath starting with $.",
        "rules-1-target": "Choose the role to grant.",
        "rules-1-kind": "The field x is not a field of a rule.",
        "rules": "At most 100 rules are allowed, not 101.",
    }
    assert shown.summary == (
        ("rules-0-attribute", "In rule 1, the attribute must be a JSONPath starting with $."),
        ("rules-1-target", "In rule 2, choose the role to grant."),
        ("rules-1-kind", "In rule 2, the field x is not a field of a rule."),
        ("rules", "At most 100 rules are allowed, not 101."),
    )
    assert shown.json_open and len(shown.rows) == 3
    assert not view(rules).json_open and view(rules).summary == ()


def test_json_that_cannot_be_shown_as_rows_says_why() -> None:
    loaded = posted_rules(form(OPS, rules="[{", rules_action="load"), LIMIT)
    assert loaded.rows == (OPS,)  # the rows stay as they were
    shown = view(loaded)
    assert shown.json_open and shown.errors["rules"].startswith("The rules are not valid JSON (")
