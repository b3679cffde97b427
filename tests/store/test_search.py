"""The user and group search (store/search.py, through store/directory.py and store/group_directory.py) as a
storage contract, on SQLite and PostgreSQL: what the next search finds after every kind of write (the store's,
an administrator's, the identity provider's by SCIM), relevance, keyset pages, totals, the migration that
builds the index for existing rows, and the plans (the trigram index, never a table scan)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from gatehouse.iam import users as admin
from gatehouse.iam.authorizer import Principal, load_principal
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.store import directory, group_directory, migration, search
from gatehouse.store import groups as group_store
from gatehouse.store import users as store
from gatehouse.store.database import Database
from gatehouse.store.directory import DirectoryQuery
from gatehouse.store.records import utcnow
from gatehouse.store.tables import SQLITE_SEARCH_INDEX
from support.pg import postgres_url, unavailable
from support.scim import GROUP, SCIM, USER, okta_user, patch


def user_doc(
    user_name: str,
    *,
    given: str | None = None,
    family: str | None = None,
    display: str | None = None,
    emails: tuple[str, ...] = (),
    external_id: str | None = None,
    active: bool = True,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemas": [USER], "userName": user_name, "active": active}
    if given or family:
        doc["name"] = {key: value for key, value in (("givenName", given), ("familyName", family)) if value}
    if display:
        doc["displayName"] = display
    if emails:
        doc["emails"] = [{"value": value, "primary": index == 0} for index, value in enumerate(emails)]
    if external_id:
        doc["externalId"] = external_id
    return doc


def add(connection: Connection, user_name: str, *, source: str = "scim", **fields: Any) -> str:
    write = store.UserWrite(id=str(uuid.uuid4()), doc=user_doc(user_name, **fields), source=source)
    return store.insert(connection, write, utcnow()).id


def found(db: Database, term: str, **query: Any) -> list[str]:
    """The usernames a search of the Users page finds, in order (first page)."""
    with db.reader() as connection:
        page = directory.search_users(connection, DirectoryQuery(search=term, **query))
    return [row.user_name for row in page.rows]


def found_groups(db: Database, term: str) -> list[str]:
    with db.reader() as connection:
        return [row.display_name for row in group_directory.list_groups(connection, term).rows]


def assert_index_intact(db: Database) -> None:
    """SQLite: each FTS5 index agrees with its side table, and each side table with its table."""
    if not db.is_sqlite:
        return
    keys = {"users": "user_name_lower", "groups": "display_name_lower"}
    with db.reader() as connection:
        for table, (side, fts) in SQLITE_SEARCH_INDEX.items():
            connection.exec_driver_sql(f"INSERT INTO {fts} ({fts}, rank) VALUES ('integrity-check', 1)")
            mismatched = connection.exec_driver_sql(
                f"SELECT count(*) FROM {table} t FULL JOIN {side} s ON s.owner_id = t.id "
                f"WHERE s.owner_id IS NULL OR t.id IS NULL OR s.search_text IS NOT t.search_text "
                f"OR s.key IS NOT t.{keys[table]}"
            ).scalar_one()
            assert mismatched == 0, table


# --------------------------------------------------------------------------------------- what is found


def test_any_part_of_any_field_in_any_case_and_accent(db: Database) -> None:
    """Username, display/given/family name, every e-mail and externalId; substrings; case and accents folded."""
    with db.transaction() as connection:
        add(
            connection,
            "journey.581629.0@example.com",
            given="Zoë",
            family="Urney581629",
            display="Zoë Urney",
            emails=("journey.581629.0@example.com", "Second.Address@Acme.io"),
            external_id="00uABC123xyz",
        )
        add(connection, "someone.else", display="Ömer Çelik", emails=("oc@example.org",))
    for term in ("581629", "urney", "URNEY581629", "zoe", "ZOË", "acme.io", "second.addr", "abc123", "ney5"):
        assert found(db, term) == ["journey.581629.0@example.com"], term
    assert found(db, "omer celik") == found(db, "ÇELİK") == ["someone.else"]
    assert found(db, "example") == ["journey.581629.0@example.com", "someone.else"]
    assert found(db, "zzz-not-there") == []


def test_like_and_match_specials_are_plain_characters(db: Database) -> None:
    """``%``, ``_``, backslash and quotes in a term are searched as typed, on both databases."""
    with db.transaction() as connection:
        for user_name in ("fifty%off", "snake_case_x", "back\\slash", 'say"hi"x', "it's-me", "fiftyXoff", "snakeXcase"):
            add(connection, user_name)
    assert found(db, "ty%of") == ["fifty%off"]
    assert found(db, "ke_ca") == ["snake_case_x"]
    assert found(db, "k\\sl") == ["back\\slash"]
    assert found(db, 'y"hi"') == ['say"hi"x']
    assert found(db, "t's-m") == ["it's-me"]
    assert found(db, "%%%") == found(db, '"""') == []
    assert found(db, "_ca") == ["snake_case_x"]


def test_short_terms_match_the_beginning_of_the_prefix_columns_only(db: Database) -> None:
    """One or two characters, or a term pg_trgm draws no trigram from, match the beginning of the username,
    name or primary e-mail (today's prefix search), still by relevance."""
    with db.transaction() as connection:
        add(connection, "bo", emails=("x@example.com",))
        add(connection, "bob", display="Robert")
        add(connection, "abo", emails=("bob@example.com",))
        add(connection, "rob.b", display="Bo Derek")
    assert found(db, "BO") == ["bo", "abo", "bob", "rob.b"]  # exact; e-mail and username prefixes; a name
    assert found(db, "ob") == []  # inside, not at the beginning


def test_relevance_exact_then_identifier_prefix_then_word_then_substring(db: Database) -> None:
    """Rank 0: the whole username, an e-mail or externalId; 1: one starting with the term; 2: a name or a word
    starting with it; 3: elsewhere. By username within a rank."""
    with db.transaction() as connection:
        add(connection, "zz-substring", display="Mallory Hanson")  # 'son' inside a name
        add(connection, "yy-word", display="Sonia Park")  # a name starts with 'son'
        add(connection, "xx-word", display="Dr Son Goku")  # a word of the name starts with it
        add(connection, "sonar.team")  # the username starts with it
        add(connection, "ww-email", emails=("sonny@example.com",))  # an e-mail starts with it
        add(connection, "vv-exact-id", external_id="son")  # the externalId is the term
        add(connection, "son")  # the username is the term
        add(connection, "aa-inside-email", emails=("mason@example.com",))
    assert found(db, "SON") == [
        "son",
        "vv-exact-id",
        "sonar.team",
        "ww-email",
        "xx-word",
        "yy-word",
        "aa-inside-email",
        "zz-substring",
    ]


def test_filters_still_apply_to_a_search(db: Database) -> None:
    with db.transaction() as connection:
        add(connection, "pat.active", display="Pat Smithers")
        add(connection, "pat.gone", display="Pat Smithson", active=False)
        add(connection, "pat.local", display="Pat Smith", source="local")
    assert found(db, "smith") == ["pat.active", "pat.gone", "pat.local"]
    assert found(db, "smith", status="deactivated") == ["pat.gone"]
    assert found(db, "smith", status="active", source="scim") == ["pat.active"]
    assert found(db, "smith", source="sso") == []


# --------------------------------------------------------------------------------------- kept in step


def test_store_writes_are_found_by_the_next_search(db: Database) -> None:
    """Created, renamed, given a new e-mail, deleted: the next search agrees (same transaction, no refresh)."""
    with db.transaction() as connection:
        user_id = add(connection, "kim.first", family="Oldname", emails=("kim@old.example",))
        assert [row.id for row in _rows(connection, "oldname")] == [user_id]  # in the writing transaction too
    assert found(db, "oldname") == ["kim.first"]
    with db.transaction() as connection:
        stored = store.get(connection, user_id)
        assert stored is not None
        renamed = user_doc("kim.second", family="Newname", emails=("kim@new.example", "k2@second.example"))
        store.update(connection, store.UserWrite(user_id, renamed), stored.version, utcnow())
    assert found(db, "oldname") == found(db, "old.example") == found(db, "kim.first") == []
    assert found(db, "newname") == found(db, "new.example") == found(db, "second.exa") == ["kim.second"]
    with db.transaction() as connection:
        store.set_active(connection, user_id, False, utcnow())  # the document changes, the search text not
    assert found(db, "newname", status="deactivated") == ["kim.second"]
    assert_index_intact(db)
    with db.transaction() as connection:
        store.delete(connection, user_id)
    assert found(db, "newname") == []
    assert_index_intact(db)


def _rows(connection: Connection, term: str) -> list[directory.DirectoryRow]:
    return directory.search_users(connection, DirectoryQuery(search=term)).rows


def test_group_writes_are_found_by_the_next_search(db: Database) -> None:
    with db.transaction() as connection:
        group_id = str(uuid.uuid4())
        group_store.insert(
            connection, group_store.GroupWrite(group_id, {"schemas": [], "displayName": "Blue Team"}), utcnow()
        )
    assert found_groups(db, "lue te") == ["Blue Team"]
    with db.transaction() as connection:
        stored = group_store.get(connection, group_id)
        assert stored is not None
        renamed = group_store.GroupWrite(group_id, {"schemas": [], "displayName": "Équipe Rouge"})
        group_store.update(connection, renamed, stored.version, utcnow())
    assert found_groups(db, "blue") == []
    assert found_groups(db, "equipe") == found_groups(db, "ROUGE") == ["Équipe Rouge"]
    with db.transaction() as connection:
        group_store.delete(connection, group_id)
    assert found_groups(db, "rouge") == []
    assert_index_intact(db)


def _super_admin(connection: Connection) -> Principal:
    ensure_rbac(connection)
    write = store.UserWrite(str(uuid.uuid4()), user_doc("root"), source="local", super_admin=True)
    return load_principal(connection, store.insert(connection, write, utcnow()).id)


def test_an_administrators_changes_are_found_by_the_next_search(db: Database) -> None:
    """Invite, edit the name and e-mail, delete (iam use cases, as the dashboard and the admin API run them)."""
    with db.transaction() as connection:
        root = _super_admin(connection)
        invited = admin.create_local_user(
            connection,
            root,
            admin.new_local_user("dora.local", "dora@first.example", "Dora Explorer"),
            admin.OneTimePassword("not-a-real-hash"),
        )
    assert found(db, "explor") == found(db, "first.exa") == ["dora.local"]
    with db.transaction() as connection:
        admin.update_local_user(connection, root, invited.id, name="Dora Márquez", email="dora@second.example")
    assert found(db, "explor") == found(db, "first.exa") == []
    assert found(db, "marquez") == found(db, "second.exa") == ["dora.local"]
    with db.transaction() as connection:
        admin.delete_user(connection, root, invited.id)
    assert found(db, "marquez") == []
    assert_index_intact(db)


def test_the_identity_providers_changes_are_found_by_the_next_search(scim: TestClient, db: Database) -> None:
    """SCIM create, PATCH (userName, family name, e-mails), PUT, DELETE; a group's create, rename and delete."""
    created = scim.post(f"{SCIM}/Users", json=okta_user("journey.581629.0@example.com", "00uJOURNEY")).json()
    assert found(db, "581629") == found(db, "00ujourney") == ["journey.581629.0@example.com"]
    changes = patch(
        {"op": "replace", "path": "userName", "value": "trip.777@example.com"},
        {"op": "replace", "path": "name.familyName", "value": "Urney581629"},
        {"op": "replace", "path": "emails", "value": [{"value": "trip.777@example.com", "primary": True}]},
    )
    assert scim.patch(f"{SCIM}/Users/{created['id']}", json=changes).status_code == 200
    assert found(db, "journey.581629") == []
    assert found(db, "urney") == found(db, "trip.77") == ["trip.777@example.com"]
    replaced = {**okta_user("voyage@example.com", "00uJOURNEY"), "name": {"givenName": "Véra", "familyName": "X"}}
    assert scim.put(f"{SCIM}/Users/{created['id']}", json=replaced).status_code == 200
    assert found(db, "urney581629") == [] and found(db, "vera") == ["voyage@example.com"]
    assert scim.delete(f"{SCIM}/Users/{created['id']}").status_code == 204
    assert found(db, "voyage") == []
    group = scim.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "Night Shift"}).json()
    assert found_groups(db, "ght sh") == ["Night Shift"]
    rename = patch({"op": "replace", "value": {"displayName": "Day Shift"}})
    assert scim.patch(f"{SCIM}/Groups/{group['id']}", json=rename).status_code in (200, 204)
    assert found_groups(db, "night") == [] and found_groups(db, "day sh") == ["Day Shift"]
    assert scim.delete(f"{SCIM}/Groups/{group['id']}").status_code == 204
    assert found_groups(db, "shift") == []
    assert_index_intact(db)


# --------------------------------------------------------------------------------------- pages and totals

#: Both ways of reading rank 3: gathered through the index, or (``0``) by walking the username index.
PATHS = pytest.mark.parametrize("gather_at_most", [None, 0], ids=["gather", "walk"])


@pytest.fixture
def crowd(db: Database) -> Database:
    """37 matches of 'urney' across every rank (and users that do not match)."""
    with db.transaction() as connection:
        add(connection, "urney")
        for number in range(6):
            add(connection, f"urney.{number:02d}")  # username prefix
            add(connection, f"m{number:02d}", display=f"Ann Urney{number}")  # name word
        for number in range(24):
            add(connection, f"journey.{number:03d}", emails=(f"j{number}@example.com",))  # substring
        for number in range(10):
            add(connection, f"other.{number}")
    return db


def pages(db: Database, term: str, per_page: int, gather_at_most: int | None, **query: Any) -> Iterator[Any]:
    """Every page of a search, following the next cursors."""
    cursor = ""
    while True:
        with db.reader() as connection:
            page = directory.search_users(
                connection,
                DirectoryQuery(search=term, per_page=per_page, cursor=cursor, **query),
                search_gather_at_most=gather_at_most,
            )
        yield page
        if not page.next_cursor:
            return
        cursor = page.next_cursor


@PATHS
def test_keyset_pages_cover_every_match_once_in_order(crowd: Database, gather_at_most: int | None) -> None:
    """Pages of 5 follow each other (positions, cursors) to the full order; backwards too; the last page."""
    full = found(crowd, "urney", per_page=100)
    assert len(full) == 37 and full[:2] == ["urney", "urney.00"] and full[7] == "m00" and full[-1] == "journey.023"
    walked = list(pages(crowd, "urney", 5, gather_at_most))
    assert [row.user_name for page in walked for row in page.rows] == full
    assert [(page.first, page.last, page.page) for page in walked[:2]] == [(1, 5, 1), (6, 10, 2)]
    assert all(page.total == 37 and page.exact and page.pages == 8 for page in walked)
    assert walked[0].prev_cursor is None and walked[-1].next_cursor is None
    back = walked[-1]
    seen: list[str] = []
    while back.prev_cursor:
        with crowd.reader() as connection:
            query = DirectoryQuery(search="urney", per_page=5, cursor=back.prev_cursor)
            back = directory.search_users(connection, query, search_gather_at_most=gather_at_most)
        seen = [row.user_name for row in back.rows] + seen
    assert seen == full[:35] and back.first == 1
    last_cursor = walked[0].last_cursor
    assert last_cursor is not None
    with crowd.reader() as connection:
        query = DirectoryQuery(search="urney", per_page=5, cursor=last_cursor)
        last = directory.search_users(connection, query, search_gather_at_most=gather_at_most)
    assert [row.user_name for row in last.rows] == full[35:] and (last.first, last.last) == (36, 37)


def test_a_walk_that_finds_too_few_gathers_the_rest(crowd: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rank 3 walks a few chunks of the username index, then gathers what the page still lacks."""
    monkeypatch.setattr(search, "WALK_CHUNK", 3)
    monkeypatch.setattr(search, "WALK_CHUNKS", 2)
    full = found(crowd, "urney", per_page=100)
    walked = list(pages(crowd, "urney", 5, 0))
    assert [row.user_name for page in walked for row in page.rows] == full


@PATHS
def test_filters_and_ranks_agree_on_both_paths(crowd: Database, gather_at_most: int | None) -> None:
    with crowd.transaction() as connection:
        for user_id in [row.id for row in _rows(connection, "journey.01")]:
            store.set_active(connection, user_id, False, utcnow())
    walked = list(pages(crowd, "urney", 4, gather_at_most, status="deactivated"))
    names = [row.user_name for page in walked for row in page.rows]
    assert names == [f"journey.{n:03d}" for n in range(10, 20)] and walked[0].total == 10


def test_a_page_after_changes_neither_repeats_nor_skips(crowd: Database) -> None:
    """Keyset: users created or deleted before the cursor do not shift the next page."""
    first = next(pages(crowd, "urney", 10, None))
    with crowd.transaction() as connection:
        add(connection, "urney.000-new")  # sorts before the cursor
        store.delete(connection, first.rows[3].id)
    with crowd.reader() as connection:
        second = directory.search_users(
            connection, DirectoryQuery(search="urney", per_page=10, cursor=first.next_cursor)
        )
    names = [row.user_name for row in second.rows]
    assert names[0] == "m03" and "urney.000-new" not in names and first.rows[-1].user_name not in names


def test_totals_stop_counting_past_the_cap(crowd: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted with LIMIT CAP + 1: exact up to CAP, then "CAP+" (here CAP is 10 instead of 10,000)."""
    monkeypatch.setattr(search, "CAP", 10)
    page = directory.search_users
    with crowd.reader() as connection:
        many = page(connection, DirectoryQuery(search="urney", per_page=5))
        few = page(connection, DirectoryQuery(search="ann urney", per_page=5))
    assert (many.total, many.exact, many.pages, many.last_cursor) == (11, False, 2, None)
    assert (few.total, few.exact) == (6, True)


def test_a_cursor_that_is_not_one_serves_the_first_page(crowd: Database) -> None:
    assert search.Cursor.decode("not a cursor!") is None
    assert search.Cursor.decode(search.Cursor(True, 9, "x", 0).encode()) is None
    with crowd.reader() as connection:
        page = directory.search_users(connection, DirectoryQuery(search="urney", per_page=5, cursor="%%%"))
    assert page.first == 1 and page.rows[0].user_name == "urney"


# --------------------------------------------------------------------------------------- the migration


def test_the_migration_builds_the_index_for_existing_users_and_groups(db_url: str) -> None:
    """Users and groups written before 0009 are found after it; downgrading and upgrading again works."""
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as connection:
            config = migration._config(connection)
            command.downgrade(config, "0008")
        with engine.begin() as connection:
            doc = user_doc("old.timer", given="Ancien", family="Müller", emails=("old@legacy.example",))
            connection.execute(
                sa.text(
                    "INSERT INTO users (id, source, user_name, user_name_lower, active, display_name, name_lower, "
                    "super_admin, must_change_password, created, last_modified, version, data) VALUES "
                    "('u1', 'scim', 'old.timer', 'old.timer', true, 'Ancien Müller', 'ancien müller', false, false, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, :data)"
                ),
                {"data": orjson.dumps(doc).decode()},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO groups (id, display_name, display_name_lower, created, last_modified, version, data) "
                    "VALUES ('g1', 'Legacy Ops', 'legacy ops', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, '{}')"
                )
            )
        assert migration.upgrade(engine) == migration.head_revision()
        db = Database(engine)
        assert found(db, "muller") == found(db, "legacy.exa") == ["old.timer"]
        assert found_groups(db, "gacy o") == ["Legacy Ops"]
        assert_index_intact(db)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------- plans


def _explain(connection: Connection, statement: str, parameters: Any) -> str:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    prefix = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
    cursor.execute(prefix + statement, parameters)
    plan = "\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall())
    cursor.close()
    return plan


def _plans(db: Database, query: DirectoryQuery, gather_at_most: int | None) -> list[tuple[str, str]]:
    """Each statement a search runs, with its plan (PostgreSQL: with ``enable_seqscan`` off, so that a small
    table plans as a big one would)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    with db.engine.connect() as connection:
        if not db.is_sqlite:
            connection.exec_driver_sql("SET enable_seqscan = off")
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            directory.search_users(connection, query, search_gather_at_most=gather_at_most)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        if not db.is_sqlite:  # the search itself plans without them, then resets the setting
            connection.exec_driver_sql("SET enable_seqscan = off")
        plans = [(statement, _explain(connection, statement, parameters)) for statement, parameters in seen]
        connection.rollback()
    return plans


def _assert_no_table_scan(dialect: str, plan: str) -> None:
    if dialect == "sqlite":
        assert not [line for line in plan.splitlines() if "SCAN users" in line and "INDEX" not in line], plan
    else:
        assert "Seq Scan on users" not in plan, plan


@PATHS
@pytest.mark.parametrize("term", ["urn", "urney.0", "j7@example.com"])
def test_a_substring_search_reads_the_trigram_index(crowd: Database, term: str, gather_at_most: int | None) -> None:
    """Every statement of a search of three characters or more reads the trigram index (SQLite: the FTS5 table;
    PostgreSQL: the GIN index) or walks the username index, never the table."""
    dialect = crowd.engine.dialect.name
    plans = _plans(crowd, DirectoryQuery(search=term), gather_at_most)
    print("\n\n".join(f"-- {dialect}: {statement}\n{plan}" for statement, plan in plans))
    searching = [plan for statement, plan in plans if "search" in statement]
    assert searching
    for plan in searching:
        _assert_no_table_scan(dialect, plan)
        if dialect == "sqlite":
            assert "VIRTUAL TABLE INDEX" in plan or "uq_users_user_name_lower" in plan, plan
        else:
            assert "ix_users_search_trgm" in plan or "uq_users_user_name_lower" in plan, plan
    index = "VIRTUAL TABLE INDEX" if dialect == "sqlite" else "ix_users_search_trgm"
    assert index in searching[0], searching[0]  # the count
    if gather_at_most == 0 and term == "urn":  # rank 3 is walked
        assert any("uq_users_user_name_lower" in plan for plan in searching)


def test_a_short_search_reads_the_prefix_indexes(crowd: Database) -> None:
    dialect = crowd.engine.dialect.name
    plans = _plans(crowd, DirectoryQuery(search="ur"), None)
    assert plans
    for _, plan in plans:
        _assert_no_table_scan(dialect, plan)
    print("\n\n".join(plan for _, plan in plans))
    counted = plans[0][1]
    expected = "uq_users_user_name_lower" if dialect == "sqlite" else "ix_users_user_name_pattern"
    assert expected in counted, counted


def test_a_group_search_reads_the_trigram_index(db: Database) -> None:
    with db.transaction() as connection:
        for number in range(30):
            group_store.insert(
                connection,
                group_store.GroupWrite(str(uuid.uuid4()), {"schemas": [], "displayName": f"Team {number} Ops"}),
                utcnow(),
            )
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    with db.engine.connect() as connection:
        if not db.is_sqlite:
            connection.exec_driver_sql("SET enable_seqscan = off")
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert len(group_directory.list_groups(connection, "m 1").rows) == 11
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        if not db.is_sqlite:
            connection.exec_driver_sql("SET enable_seqscan = off")
        count = _explain(connection, *next((s, p) for s, p in seen if "search" in s))
        connection.rollback()
    assert ("group_search_fts VIRTUAL TABLE INDEX" if db.is_sqlite else "ix_groups_search_trgm") in count, count


# --------------------------------------------------------------------------------------- pg_trgm


def test_a_role_that_may_not_create_pg_trgm_is_told_what_to_ask() -> None:
    """In a database without pg_trgm, a role without CREATE on it gets a message naming the database, the role
    and the statement a superuser must run (before the migration changes anything)."""
    base = postgres_url()
    admin_engine = sa.create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name, role = f"gatehouse_noext_{uuid.uuid4().hex[:8]}", f"gatehouse_noext_{uuid.uuid4().hex[:8]}"
    try:
        with admin_engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            connection.exec_driver_sql(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'x'")
    except sa.exc.OperationalError as exc:
        admin_engine.dispose()
        unavailable(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
    engine = sa.create_engine(base.set(database=name, username=role, password="x"), poolclass=NullPool)
    try:
        with engine.connect() as connection, pytest.raises(search.SearchIndexUnavailable) as raised:
            search.require_pg_trgm(connection)
        message = raised.value.detail
        print(message)
        assert f"role '{role}'" in message and f"database '{name}'" in message
        assert "CREATE EXTENSION IF NOT EXISTS pg_trgm" in message and "gatehouse db upgrade" in message
    finally:
        engine.dispose()
        with admin_engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin_engine.dispose()
