"""The group repository's SCIM search (store/groups.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from gatehouse.store import groups
from gatehouse.store.database import Database
from gatehouse.store.tables import groups as groups_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_search_counts_every_match_and_returns_the_stored_groups_of_the_page(db: Database) -> None:
    with db.transaction() as connection:
        stored = {
            name: groups.insert(connection, groups.GroupWrite(f"id-{name}", {"displayName": name}), T0)
            for name in ("ops", "Dev", "qa")
        }
    by_name = groups_table.c.display_name_lower
    with db.snapshot() as connection:
        everything = groups.search(connection, None, None, descending=False, offset=0, limit=10)
        ordered = groups.search(connection, None, by_name, descending=True, offset=1, limit=1)
        matching = groups.search(connection, by_name != "qa", by_name, descending=False, offset=0, limit=10)
        past_the_end = groups.search(connection, sa.true(), None, descending=False, offset=3, limit=10)
    assert everything == (3, sorted(stored.values(), key=lambda group: group.id))  # by id without an order
    assert ordered == (3, [stored["ops"]])
    assert matching == (2, [stored["Dev"], stored["ops"]])
    assert past_the_end == (3, [])
