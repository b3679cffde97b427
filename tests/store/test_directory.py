"""The Users directory queries (store/directory.py): filters, sorts, paging, totals and their index use, and
the search as the page asks it, on SQLite and PostgreSQL (the search itself: tests/store/test_search.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import directory, groups, migration, sessions, user_events
from gatehouse.store import users as store
from gatehouse.store.database import Database
from gatehouse.store.directory import DirectoryQuery, next_prefix, search_users
from gatehouse.store.tables import users
from support.pg import fresh_postgres_schema

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def add_user(
    connection: Connection,
    user_name: str,
    name: str | None = None,
    email: str | None = None,
    *,
    source: str = "scim",
    active: bool = True,
    minute: int = 0,
    last_login: int | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Insert a user as the store writes one; ``minute`` orders creation, ``last_login`` sign-ins."""
    doc: dict[str, Any] = {"schemas": [USER], "userName": user_name, "active": active, **(extra or {})}
    if name:
        doc["displayName"] = name
    if email:
        doc["emails"] = [{"value": email, "type": "work", "primary": True}]
    write = store.UserWrite(id=str(uuid.uuid4()), doc=doc, source=source)
    store.insert(connection, write, T0 + timedelta(minutes=minute))
    if last_login is not None:
        connection.execute(
            users.update().where(users.c.id == write.id).values(last_login_at=T0 + timedelta(days=last_login))
        )
    return write.id


def names(page: directory.DirectoryPage) -> list[str]:
    return [row.user_name for row in page.rows]


def search(db: Database, gather_at_most: int = directory.GATHER_AT_MOST, **fields: Any) -> directory.DirectoryPage:
    with db.snapshot() as connection:
        return search_users(connection, DirectoryQuery(**fields), gather_at_most=gather_at_most)


#: Both read paths: gather small segments through their indexes (the default here), or walk the sort index.
PATHS = pytest.mark.parametrize("gather_at_most", [directory.GATHER_AT_MOST, 0], ids=["gather", "walk"])


@pytest.fixture
def people(db: Database) -> Database:
    """Six users with distinct initials (orders do not depend on PostgreSQL's collation), sources,
    statuses, sign-ins, and a few empty values."""
    with db.transaction() as connection:
        add_user(connection, "alice", "Alice Martin", "alice@example.com", minute=1, last_login=3)
        add_user(connection, "Bob.Stone", "Robert Stone", "BOB@Acme.io", minute=2, last_login=5)
        add_user(connection, "carol", "Carol Alvarez", "alvarez.c@example.com", source="local", minute=3)
        add_user(connection, "dave", None, "dave@example.com", active=False, minute=4, last_login=1)
        add_user(connection, "erin", "Erin Alder", None, source="local", active=False, minute=5)
        add_user(connection, "zed", None, None, source="sso", minute=6, last_login=9)
    return db


# ----------------------------------------------------------------------------------------- search


def test_search_matches_user_name_name_or_email_in_any_case(people: Database) -> None:
    """A term is matched against userName, names and e-mails, case-insensitively, OR-ed."""
    assert names(search(people, search="AL")) == ["alice", "carol"]  # a short prefix; carol by e-mail
    assert names(search(people, search="rob")) == ["Bob.Stone"]  # by name
    assert names(search(people, search="bob@acme")) == ["Bob.Stone"]  # by e-mail, stored as BOB@Acme.io
    assert names(search(people, search="  Erin ")) == ["erin"]  # trimmed


def test_a_short_term_is_a_prefix_a_longer_one_a_substring(people: Database) -> None:
    """One or two characters match the beginning of a value only; three or more match anywhere."""
    assert search(people, search="li").total == 0  # inside 'alice', not at its beginning
    assert names(search(people, search="lice")) == ["alice"]
    assert names(search(people, search="martin")) == ["alice"]  # Alice Martin
    assert names(search(people, search="EXAMPLE.COM")) == ["alice", "carol", "dave"]


def test_a_search_is_ranked_and_keeps_the_filters(people: Database) -> None:
    """With a term, the order is relevance (then username), whatever the sort asked, and the total is exact
    below 10,000; the status and source filters still apply."""
    found = search(people, search="al", sort="created", descending=True)
    assert found.ranked and found.exact and found.offset == 0 and names(found) == ["alice", "carol"]
    assert names(search(people, search="alder", status="deactivated")) == ["erin"]
    assert search(people, search="alder", status="active").total == 0
    assert names(search(people, search="example", source="local")) == ["carol"]


def test_like_wildcards_in_the_search_are_plain_characters(db: Database) -> None:
    """'%', '_' and backslash are escaped on PostgreSQL and compared literally on SQLite."""
    with db.transaction() as connection:
        for user_name in ("al_x", "al%y", "alxy", "zed\\z"):
            add_user(connection, user_name)
    assert names(search(db, search="al_")) == ["al_x"]
    assert names(search(db, search="al%")) == ["al%y"]
    assert names(search(db, search="zed\\")) == ["zed\\z"]
    assert search(db, search="%").total == 0
    assert search(db, search="al").total == 3


@PATHS
def test_filters_by_status_and_source_alone_and_with_a_search(people: Database, gather_at_most: int) -> None:
    """status and source narrow the list and its total, with or without a search."""
    assert names(search(people, gather_at_most, status="deactivated")) == ["dave", "erin"]
    assert search(people, gather_at_most, status="active").total == 4
    assert names(search(people, gather_at_most, source="local")) == ["carol", "erin"]
    assert names(search(people, gather_at_most, source="sso")) == ["zed"]
    assert names(search(people, gather_at_most, source="local", status="deactivated")) == ["erin"]
    assert names(search(people, gather_at_most, search="al", source="scim", status="active")) == ["alice"]
    assert search(people, gather_at_most, search="al", status="deactivated").total == 0


def test_successor_of_a_prefix_bounds_the_sqlite_range() -> None:
    """The upper bound is the prefix with its last character incremented, skipping surrogates."""
    assert next_prefix("ab") == "ac"
    assert next_prefix("a\ud7ff") == "a\ue000"
    assert next_prefix("a\U0010ffff") == "b"
    assert next_prefix("\U0010ffff") is None


# ----------------------------------------------------------------------------------------- sorting

SORTED = [
    ("username", False, ["alice", "Bob.Stone", "carol", "dave", "erin", "zed"]),
    ("username", True, ["zed", "erin", "dave", "carol", "Bob.Stone", "alice"]),
    # Users without a value come last in both directions, by userName.
    ("name", False, ["alice", "carol", "erin", "Bob.Stone", "dave", "zed"]),
    ("name", True, ["Bob.Stone", "erin", "carol", "alice", "dave", "zed"]),
    ("email", False, ["alice", "carol", "Bob.Stone", "dave", "erin", "zed"]),
    ("last_login", True, ["zed", "Bob.Stone", "alice", "dave", "carol", "erin"]),
    ("last_login", False, ["dave", "alice", "Bob.Stone", "zed", "carol", "erin"]),
    ("created", True, ["zed", "erin", "dave", "carol", "Bob.Stone", "alice"]),
    # Status: active first ascending; source: local, scim, sso ascending; userName within each.
    ("status", False, ["alice", "Bob.Stone", "carol", "zed", "dave", "erin"]),
    ("status", True, ["dave", "erin", "alice", "Bob.Stone", "carol", "zed"]),
    ("source", False, ["carol", "erin", "alice", "Bob.Stone", "dave", "zed"]),
    ("source", True, ["zed", "alice", "Bob.Stone", "dave", "carol", "erin"]),
]


@PATHS
@pytest.mark.parametrize(("sort", "descending", "expected"), SORTED, ids=[f"{s}-{d}" for s, d, _ in SORTED])
def test_sorts_by_every_column(
    people: Database, sort: str, descending: bool, expected: list[str], gather_at_most: int
) -> None:
    """Each sortable column orders identically on both databases and both read paths; empty values
    always come last."""
    assert names(search(people, gather_at_most, sort=sort, descending=descending)) == expected
    assert names(search(people, gather_at_most, sort=sort, descending=descending, source="local")) == [
        n for n in expected if n in ("carol", "erin")
    ]


@PATHS
@pytest.mark.parametrize("sort", directory.SORTS)
def test_small_pages_walk_every_sort_without_gaps_or_overlaps(people: Database, sort: str, gather_at_most: int) -> None:
    """Pages of 2 (and of 4) concatenate to the full order for every sort, across segment boundaries."""
    full = names(search(people, gather_at_most, sort=sort, descending=True))
    for size in (2, 4):
        walked = []
        for number in (1, 2, 3):
            page = search(people, gather_at_most, sort=sort, descending=True, page=number, per_page=size)
            assert page.total == 6 and page.page == min(number, -(-6 // size))
            walked += names(page) if page.page == number else []
        assert walked == full


def test_paging_totals_and_a_page_past_the_end(db: Database) -> None:
    """120 users: 50 per page, 'Showing 51–100 of 120', and page 9 is served as the last page."""
    with db.transaction() as connection:
        for i in range(120):
            add_user(connection, f"user{i:03d}", f"Person {i:03d}", f"user{i:03d}@example.com", minute=i)
    second = search(db, page=2)
    assert (second.total, second.first, second.last, second.pages) == (120, 51, 100, 3)
    assert names(second)[0] == "user050" and names(second)[-1] == "user099"
    clamped = search(db, page=9)
    assert clamped.page == 3 and names(clamped) == [f"user{i:03d}" for i in range(100, 120)]
    assert search(db, search="user11").total == 10
    empty = search(db, search="nobody")
    assert (empty.total, empty.rows, empty.first, empty.last) == (0, [], 0, 0)


def test_rows_carry_what_the_table_shows(people: Database) -> None:
    """A row has the e-mail as written (not lower-cased), source, status, sign-in and creation times."""
    (bob,) = search(people, search="bob").rows
    assert bob.email == "BOB@Acme.io" and bob.display_name == "Robert Stone"
    assert bob.source == "scim" and bob.active and not bob.super_admin
    assert bob.last_login_at == T0 + timedelta(days=5) and bob.created == T0 + timedelta(minutes=2)


def test_profile_gathers_groups_manager_history_and_live_sessions(db: Database) -> None:
    """The user page's record: document, groups, the manager's id when known, events, live sessions."""
    now = datetime.now(UTC)
    with db.transaction() as connection:
        boss = add_user(connection, "boss", "The Boss")
        worker = add_user(
            connection,
            "worker",
            extra={ENTERPRISE: {"department": "Ops", "manager": {"value": boss}}, "title": "Engineer"},
        )
        stranger = add_user(connection, "stranger", extra={ENTERPRISE: {"manager": {"value": "not-a-user"}}})
        group_id = str(uuid.uuid4())
        groups.insert(connection, groups.GroupWrite(id=group_id, doc={"schemas": [], "displayName": "Admins"}), now)
        groups.add_members(connection, group_id, [worker])
        user_events.record(connection, worker, user_events.UserEventKind.DEACTIVATED, "admin", now)
        sessions.create(connection, worker, now, timedelta(hours=8), "203.0.113.7", "Firefox")
        sessions.create(connection, worker, now - timedelta(hours=9), timedelta(hours=8), "198.51.100.1", "Old")
    with db.snapshot() as connection:
        found = directory.profile(connection, worker, now=now)
        other = directory.profile(connection, stranger, now=now)
        assert directory.profile(connection, "missing", now=now) is None
    assert found is not None and other is not None
    assert found.doc["title"] == "Engineer" and found.enterprise["department"] == "Ops"
    assert [g.display for g in found.groups] == ["Admins"]
    assert found.manager == directory.ManagerLink(boss, "The Boss", boss)
    assert [(e.event, e.actor) for e in found.history] == [("deactivated", "admin")]
    assert [(s.ip, s.user_agent) for s in found.sessions] == [("203.0.113.7", "Firefox")]  # the other expired
    assert other.manager == directory.ManagerLink("not-a-user", "not-a-user", None)


# ----------------------------------------------------------------------------------------- EXPLAIN

MANY = 2000


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def big(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """``MANY`` users with varied names and e-mails. PostgreSQL is analysed (as autovacuum does after
    a bulk load); SQLite is not, as in production, where Gatehouse never runs ANALYZE."""
    if request.param == "sqlite":
        yield from _populated(f"sqlite:///{tmp_path_factory.mktemp('directory') / 'big.db'}")
        return
    with fresh_postgres_schema() as url:
        yield from _populated(url)


def _populated(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    migration.upgrade(engine)  # as every database is made (its triggers keep the user counts)
    now = datetime.now(UTC)
    first = ["ann", "ben", "cara", "dan", "eve", "finn", "gus", "hana", "ivy", "jon"]
    rows = []
    for i in range(MANY):
        given = first[i % 10]
        rows.append(
            {
                "id": f"id-{i:05d}",
                "source": ("scim", "local", "scim", "sso")[i % 4],
                "user_name": f"{given}.{i}",
                "user_name_lower": f"{given}.{i}",
                "name_lower": f"{given} family{i % 97}",
                "email_lower": f"mail{i}@example.com",
                "active": i % 9 != 0,
                "last_login_at": now - timedelta(hours=i) if i % 3 == 0 else None,
                "created": now - timedelta(minutes=i),
                "last_modified": now,
                "data": "{}",
            }
        )
    with engine.begin() as connection:
        connection.execute(users.insert(), rows)
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE users")
    yield engine
    engine.dispose()


def _plan(connection: Connection, statement: sa.Select[Any]) -> str:
    """The plan of a statement with its real bound parameters (as the page runs it)."""
    compiled = statement.compile(connection, compile_kwargs={"render_postcompile": True})
    if connection.dialect.name == "sqlite":
        params: Any = tuple(compiled.params[name] for name in compiled.positiontup or ())
        prefix = "EXPLAIN QUERY PLAN "
    else:
        params, prefix = compiled.params, "EXPLAIN "
    rows = connection.exec_driver_sql(prefix + str(compiled), params).all()
    return "\n".join(" ".join(str(part) for part in row) for row in rows)


def _assert_indexed(dialect: str, plan: str) -> None:
    if dialect == "sqlite":
        scans = [line for line in plan.splitlines() if "SCAN users" in line]
        assert all("INDEX" in line for line in scans), plan  # never a scan of the table itself
    else:
        assert "Seq Scan on users" not in plan, plan


LISTINGS = [
    (DirectoryQuery(), "uq_users_user_name_lower"),
    (DirectoryQuery(sort="name"), "ix_users_name_lower"),
    (DirectoryQuery(sort="email", descending=True), "ix_users_email_lower"),
    (DirectoryQuery(sort="last_login", descending=True), "ix_users_last_login_at"),
    (DirectoryQuery(sort="created", descending=True), "ix_users_created"),
    (DirectoryQuery(sort="status", status="deactivated"), "uq_users_user_name_lower"),
    (DirectoryQuery(source="local", sort="source"), "uq_users_user_name_lower"),
]


@pytest.mark.parametrize(("query", "index"), LISTINGS, ids=[f"{q.sort}-{q.status}-{q.source}" for q, _ in LISTINGS])
def test_sorted_pages_walk_the_sort_index(big: sa.Engine, query: DirectoryQuery, index: str) -> None:
    """A page without search walks the sort column's index (LIMIT stops it early), never the table."""
    dialect = big.dialect.name
    with big.connect() as connection:
        assert len(search_users(connection, query).rows) == 50
        plan = _plan(connection, directory.page_statement(query, dialect, 0, 50))
        count = _plan(connection, directory.count_statement(query, dialect))
    print(f"\n-- {dialect}: {query}\n{plan}\n{count}")
    assert index in plan, plan
    _assert_indexed(dialect, plan)
    if dialect == "sqlite":  # counts of a status or source read ix_users_source_active
        _assert_indexed(dialect, count)
        if query.status != "all" or query.source != "all":
            assert "ix_users_source_active" in count, count


GATHERED = [
    (DirectoryQuery(status="deactivated", source="local"), 0, "ix_users_source_active"),
    (DirectoryQuery(status="deactivated", sort="created"), 0, "ix_users_source_active"),
    # one source: (source, active) or (source, id), whichever the planner prefers
    (DirectoryQuery(sort="source", descending=True), 0, "ix_users_source_"),
    (DirectoryQuery(sort="name"), 1, "ix_users_name_lower"),  # the users without a name (none here)
]


@pytest.mark.parametrize(
    ("query", "segment", "index"), GATHERED, ids=[f"{q.sort}-{q.status}-{q.source}-{s}" for q, s, _ in GATHERED]
)
def test_small_segments_are_gathered_through_their_filter_index(
    big: sa.Engine, query: DirectoryQuery, segment: int, index: str
) -> None:
    """A small set (one source, one status, the users without a value) is read through its own index
    and then sorted, instead of walking the whole sort index to find it."""
    dialect = big.dialect.name
    with big.connect() as connection:
        plan = _plan(connection, directory.page_statement(query, dialect, 0, 50, segment, gather=True))
    print(f"\n-- {dialect}: {query} segment {segment}\n{plan}")
    _assert_indexed(dialect, plan)
    assert index in plan, plan
