"""One page of a filtered, sorted table (store/pages.py), on SQLite and PostgreSQL: the count of every
match, the order with its tie-break on id in either direction, and no second statement for an empty page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from gatehouse.store import groups
from gatehouse.store.database import Database
from gatehouse.store.pages import filtered_page
from gatehouse.store.records import utcnow
from gatehouse.store.tables import groups as groups_table

NAMES = {"g1": "Beta", "g2": "alpha", "g3": "beta", "g4": "Gamma"}
"""Group ids and display names; ``beta`` ties with ``Beta`` when the order ignores case."""


@pytest.fixture
def named(db: Database) -> Database:
    with db.transaction() as connection:
        for group_id, name in NAMES.items():
            groups.insert(connection, groups.GroupWrite(group_id, {"displayName": f"{name} {uuid.uuid4()}"}), utcnow())
            connection.execute(groups_table.update().where(groups_table.c.id == group_id).values(external_id=name))
    return db


def page(db: Database, condition: Any = None, order: Any = None, **options: Any) -> tuple[int, list[str]]:
    arguments: dict[str, Any] = {"descending": False, "offset": 0, "limit": 10, **options}
    where = sa.true() if condition is None else condition
    with db.snapshot() as connection:
        total, rows = filtered_page(connection, groups_table, (groups_table.c.id,), where, order, **arguments)
    return total, [row.id for row in rows]


def test_the_order_breaks_ties_by_id_the_same_way(named: Database) -> None:
    by_name = sa.func.lower(groups_table.c.external_id)
    assert page(named, order=by_name) == (4, ["g2", "g1", "g3", "g4"])
    assert page(named, order=by_name, descending=True) == (4, ["g4", "g3", "g1", "g2"])
    assert page(named) == (4, ["g1", "g2", "g3", "g4"])  # no order: by id
    assert page(named, descending=True) == (4, ["g1", "g2", "g3", "g4"])  # descending needs an order


def test_the_count_is_of_every_match_and_the_page_a_slice(named: Database) -> None:
    is_beta = sa.func.lower(groups_table.c.external_id) == "beta"
    assert page(named, is_beta) == (2, ["g1", "g3"])
    assert page(named, order=groups_table.c.id, offset=1, limit=2) == (4, ["g2", "g3"])


@pytest.mark.parametrize("options", [{"limit": 0}, {"offset": 4}, {"offset": 9}])
def test_an_empty_page_costs_one_statement(named: Database, options: dict[str, Any]) -> None:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(named.engine, "before_cursor_execute", before)
    try:
        assert page(named, **options) == (4, [])
    finally:
        event.remove(named.engine, "before_cursor_execute", before)
    selects = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1 and "count(" in selects[0].lower()
