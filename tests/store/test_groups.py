"""The group repository's SCIM search (store/groups.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from gatehouse.store import group_directory, groups
from gatehouse.store.database import Database
from gatehouse.store.tables import groups as groups_table
from gatehouse.store.tables import users as users_table
from support.iam import add_user

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


@pytest.mark.parametrize("count", [4, group_directory.GATHER_AT_MOST + 1], ids=["gathered", "walked"])
def test_a_group_s_first_members_by_username_either_way(db: Database, count: int) -> None:
    """The group page's first members, in username order with the label the page shows (the IdP's ``display``,
    else the display name, else the username): gathered through the membership key for a small group, walked
    along the username index for a large one (``count`` above GATHER_AT_MOST), the same either way."""
    with db.transaction() as connection:
        ids = {name: add_user(connection, name) for name in ("dora", "Carl", "bea", "al", "eve")}
        connection.execute(users_table.update().where(users_table.c.id == ids["bea"]).values(display_name="Bea B"))
        connection.execute(users_table.update().where(users_table.c.id == ids["dora"]).values(active=False))
        groups.insert(connection, groups.GroupWrite("g1", {"displayName": "ops"}), T0)
        groups.insert(connection, groups.GroupWrite("g2", {"displayName": "dev"}), T0)
        groups.add_members(connection, "g1", [ids[n] for n in ("dora", "Carl", "bea", "eve")], {ids["eve"]: "Eve E"})
        groups.add_members(connection, "g2", [ids["al"]])
    with db.snapshot() as connection:
        first = group_directory.first_members(connection, "g1", count, 3)
        every = group_directory.first_members(connection, "g1", count, 10)
    assert [(m.user_name, m.label, m.active) for m in first] == [
        ("bea", "Bea B", True),
        ("Carl", "Carl", True),
        ("dora", "dora", False),
    ]
    assert [m.user_name for m in every] == ["bea", "Carl", "dora", "eve"] and every[-1].label == "Eve E"
