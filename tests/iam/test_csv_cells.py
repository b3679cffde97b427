"""The CSV exports' cells (iam/csv_cells.py): whatever an IdP or an administrator typed never runs as a spreadsheet
formula, in the audit log's export and the access review's alike."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from gatehouse.iam import access_review, audit_log
from gatehouse.iam.csv_cells import csv_cell
from gatehouse.store.access_review import UserAccess


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_would_start_a_formula_is_quoted(start: str) -> None:
    assert csv_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_other_values_read_as_they_are() -> None:
    assert csv_cell(None) == "" and csv_cell("bjensen") == "bjensen" and csv_cell(True) == "True"
    assert csv_cell(datetime(2026, 12, 8, 1, 2, tzinfo=UTC)) == "2026-12-08T01:02:00+00:00"
    assert csv_cell({"b": 1, "a": "=x"}) == '{"a":"=x","b":1}'  # JSON starts with {: nothing to run
    assert csv_cell(["-1"]) == '["-1"]' and csv_cell(-1) == "'-1"


def test_both_exports_use_the_one_rule() -> None:
    assert audit_log.csv_cell is csv_cell and access_review.csv_cell is csv_cell
    user = UserAccess(
        id="u1", user_name="=cmd|' /C calc'!A0", display_name=None, source="scim", active=True, super_admin=False,
        last_login_at=None,
    )  # fmt: skip
    [row] = list(csv.DictReader(io.StringIO(access_review.to_csv([user]))))
    assert row["username"] == "'=cmd|' /C calc'!A0"
