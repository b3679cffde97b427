"""Compiled SCIM filters run against real databases: SQLite (a temporary file) and PostgreSQL.

Each case names the ids a filter must select, through ``SELECT id`` and ``count(*)`` alike. The
EXPLAIN tests check that the look-ups IdPs send most (``userName eq``, ``externalId eq``,
``emails.value eq``) are index look-ups; run with ``-s`` to see their SQL and plans.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gatehouse.scim.filter import compile_filter, compile_sort
from gatehouse.store.tables import group_members, groups, metadata, user_emails, users
from support.pg import fresh_postgres_schema

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _user(
    uid: str,
    user_name: str,
    *,
    created: str,
    modified: str,
    external_id: str | None = None,
    active: bool = True,
    display_name: str | None = None,
    emails: tuple[tuple[str, str, bool], ...] = (),
    **doc: Any,
) -> dict[str, Any]:
    """A ``users`` row with its canonical JSON, and its ``user_emails`` rows under ``_emails``."""
    data: dict[str, Any] = {"schemas": [CORE], "id": uid, "userName": user_name, "active": active}
    if external_id is not None:
        data["externalId"] = external_id
    if display_name is not None:
        data["displayName"] = display_name
    if emails:
        data["emails"] = [{"value": v, "type": t, "primary": p} for v, t, p in emails]
    data.update({ENTERPRISE if key == "enterprise" else key: value for key, value in doc.items()})
    primary = next((v for v, _, p in emails if p), emails[0][0] if emails else None)
    return {
        "id": uid,
        "source": "scim",
        "user_name": user_name,
        "user_name_lower": user_name.lower(),
        "external_id": external_id,
        "active": active,
        "display_name": display_name,
        "name_lower": display_name.lower() if display_name else None,
        "email_lower": primary.lower() if primary else None,
        "super_admin": False,
        "created": _when(created),
        "last_modified": _when(modified),
        "version": 1,
        "data": json.dumps(data),
        "_emails": [
            {"user_id": uid, "position": i, "value_lower": v.lower(), "type": t, "primary": p}
            for i, (v, t, p) in enumerate(emails)
        ],
    }


USERS = [
    _user(
        "u1",
        "BJensen",
        external_id="bjensen-ext",
        display_name="Babs Jensen",
        created="2011-05-13T04:42:34Z",
        modified="2011-05-13T04:42:34Z",
        emails=(("bjensen@example.com", "work", True), ("babs@jensen.org", "home", False)),
        name={"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        title="Tour Guide",
        phoneNumbers=[
            {"value": "555-555-5555", "type": "work", "primary": True},
            {"value": "555-555-4444", "type": "mobile"},
        ],
        addresses=[{"type": "work", "locality": "Hollywood", "country": "USA"}],
        enterprise={
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "u3", "displayName": "John Smith"},
        },
    ),
    _user(
        "u2",
        "jyoung",
        external_id="jyoung",
        active=False,
        created="2015-01-01T00:00:00Z",
        modified="2020-06-01T00:00:00Z",
        emails=(("JYoung@Example.COM", "work", False),),
        name={"familyName": "Young", "givenName": "Joy"},
        title="",
        phoneNumbers=[],
        enterprise={"employeeNumber": "42"},
    ),
    _user(
        "u3",
        "JSmith",
        external_id="JSMITH",
        display_name="John Smith",
        created="2020-01-01T00:00:00Z",
        modified="2024-01-01T00:00:00Z",
        emails=(("john_smith@example.com", "work", False), ("100%@percent.net", "other", False)),
        name={"familyName": "Smith", "givenName": "John"},
        title="Manager",
        enterprise={"department": "Ops"},
    ),
    _user(
        "u4",
        "o'brien",
        created="2023-06-15T14:00:00+02:00",
        modified="2023-06-15T12:00:00Z",
        title="Tour guide",
        ims=[{"value": "obrien_im", "type": "aim"}],
    ),
    _user(
        "u5",
        "a\\b%c_d",
        external_id="X*?[1]",
        created="2025-02-03T04:05:06Z",
        modified="2025-02-03T04:05:06Z",
    ),
]

GROUPS = [
    {"id": "g1", "display_name": "Admins", "external_id": "adm-1", "created": "2021-01-01T00:00:00Z"},
    {"id": "g2", "display_name": "Tour Guides", "external_id": None, "created": "2022-01-01T00:00:00Z"},
    {"id": "g3", "display_name": "Empty", "external_id": None, "created": "2023-01-01T00:00:00Z"},
]
MEMBERS = [("g1", "u1"), ("g1", "u3"), ("g2", "u1"), ("g2", "u4")]
ALL_USERS = {"u1", "u2", "u3", "u4", "u5"}
BARE_VALUES = {"externalId eq jyoung"}
"""Accepted only as the whole filter, so not inside ``not (...)``."""


def _insert_dataset(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(users.insert(), [{k: v for k, v in u.items() if k != "_emails"} for u in USERS])
        connection.execute(user_emails.insert(), [e for u in USERS for e in u["_emails"]])
        connection.execute(
            groups.insert(),
            [
                {
                    "id": g["id"],
                    "display_name": g["display_name"],
                    "display_name_lower": g["display_name"].lower(),
                    "external_id": g["external_id"],
                    "created": _when(g["created"]),
                    "last_modified": _when(g["created"]),
                    "version": 1,
                    "data": json.dumps({"displayName": g["display_name"]}),
                }
                for g in GROUPS
            ],
        )
        connection.execute(group_members.insert(), [{"group_id": g, "user_id": u} for g, u in MEMBERS])


@pytest.fixture(scope="module", params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database URL on each backend: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('filters') / 'gatehouse.db'}"
        return
    with fresh_postgres_schema() as pg_url:
        yield pg_url


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    return engine


@pytest.fixture(scope="module")
def engine(url: str) -> Iterator[sa.Engine]:
    """The small dataset above, on each backend."""
    engine = _engine(url)
    _insert_dataset(engine)
    yield engine
    engine.dispose()


def _select(engine: sa.Engine, table: sa.Table, clause: sa.ColumnElement[bool]) -> set[str]:
    with engine.connect() as connection:
        found = set(connection.execute(sa.select(table.c.id).where(clause)).scalars())
        count = connection.execute(sa.select(sa.func.count()).select_from(table).where(clause)).scalar_one()
    assert count == len(found)
    return found


USER_CASES: list[tuple[str, set[str]]] = [
    # userName: case-insensitive, on the lower-cased column
    ('userName eq "bjensen"', {"u1"}),
    ('USERNAME EQ "BJENSEN"', {"u1"}),
    (f'{CORE}:userName eq "JYOUNG"', {"u2"}),
    ('userName ne "bjensen"', ALL_USERS - {"u1"}),
    ('userName co "SMI"', {"u3"}),
    ('userName sw "J"', {"u2", "u3"}),
    ('userName ew "Young"', {"u2"}),
    ('userName gt "j"', {"u2", "u3", "u4"}),
    ('userName ge "JYOUNG"', {"u2", "u4"}),
    ('userName lt "b"', {"u5"}),
    ('userName le "bjensen"', {"u1", "u5"}),
    ("userName pr", ALL_USERS),
    # LIKE metacharacters and the escape character are literal
    ('userName co "\\\\"', {"u5"}),
    ('userName co "%c_"', {"u5"}),
    ('userName sw "a\\\\b%"', {"u5"}),
    ('userName co "_"', {"u5"}),
    ('emails co "%"', {"u3"}),
    ('emails.value co "_"', {"u3"}),
    # externalId and id: case-exact
    ('externalId eq "jsmith"', set()),
    ('externalId eq "JSMITH"', {"u3"}),
    ("externalId eq jyoung", {"u2"}),
    ('externalId sw "J"', {"u3"}),
    ('externalId co "*?["', {"u5"}),
    ('externalId ew "[1]"', {"u5"}),
    ("externalId pr", {"u1", "u2", "u3", "u5"}),
    ('externalId ne "jyoung"', ALL_USERS - {"u2"}),
    ('id eq "u1"', {"u1"}),
    ('id eq "U1"', set()),
    # booleans
    ("active eq false", {"u2"}),
    ("active eq true", ALL_USERS - {"u2"}),
    ("active ne true", {"u2"}),
    # JSON attributes; absent or null: only ne (and not) match
    ('title eq "tour guide"', {"u1", "u4"}),
    ('title ne "Tour Guide"', {"u2", "u3", "u5"}),
    ("title pr", {"u1", "u3", "u4"}),
    ("not (title pr)", {"u2", "u5"}),
    ("title eq null", {"u2", "u5"}),
    ("title ne null", {"u1", "u3", "u4"}),
    ('not (title eq "manager")', ALL_USERS - {"u3"}),
    ('title gt "n"', {"u1", "u4"}),
    ('displayName eq "babs jensen"', {"u1"}),
    ('name.givenName eq "barbara"', {"u1"}),
    ('name.FAMILYNAME sw "j"', {"u1"}),
    ('name.formatted co "barbara j"', {"u1"}),
    ("name pr", {"u1", "u2", "u3"}),
    (f'{CORE}:name.givenName eq "joy"', {"u2"}),
    # enterprise extension, qualified or not
    (f'{ENTERPRISE}:employeeNumber eq "701984"', {"u1"}),
    ("employeeNumber eq 42", {"u2"}),
    (f'{ENTERPRISE.upper()}:department co "ops"', {"u3"}),
    (f'{ENTERPRISE}:manager.value eq "u3"', {"u1"}),
    ('manager.displayName sw "john"', {"u1"}),
    ("manager pr", {"u1"}),
    # emails: a child table
    ('emails eq "BJENSEN@example.com"', {"u1"}),
    ('emails.value eq "jyoung@example.com"', {"u2"}),
    ('emails co "@EXAMPLE.com"', {"u1", "u2", "u3"}),
    ('emails.value ew ".org"', {"u1"}),
    ('emails.type eq "home"', {"u1"}),
    ('emails.type ne "work"', {"u4", "u5"}),
    ("emails pr", {"u1", "u2", "u3"}),
    ("not (emails pr)", {"u4", "u5"}),
    ("emails eq null", {"u4", "u5"}),
    ("emails.primary eq true", {"u1"}),
    ('emails[type eq "work" and value co "jensen"]', {"u1"}),
    ('emails[type eq "home" and value co "example.com"]', set()),
    ('emails[type eq "work" or type eq "home"]', {"u1", "u2", "u3"}),
    ('emails[not (type eq "work")]', {"u1", "u3"}),
    ('emails[type eq "work"].value eq "john_smith@example.com"', {"u3"}),
    ('emails[value ew "example.com"] and not (emails[type eq "home"])', {"u2", "u3"}),
    # JSON arrays
    ('phoneNumbers co "4444"', {"u1"}),
    ('phoneNumbers[type eq "mobile" and value sw "555"]', {"u1"}),
    ('phoneNumbers[type eq "mobile" and primary eq true]', set()),
    ("phoneNumbers.primary eq true", {"u1"}),
    ("phoneNumbers pr", {"u1"}),
    ('ims[type eq "AIM"]', {"u4"}),
    ('addresses.locality eq "hollywood"', {"u1"}),
    ('addresses[country eq "usa" and type eq "work"]', {"u1"}),
    ("x509Certificates pr", set()),
    # groups: memberships
    ('groups eq "g1"', {"u1", "u3"}),
    ('groups.display eq "tour guides"', {"u1", "u4"}),
    ('groups[display sw "ADM"]', {"u1", "u3"}),
    ("not (groups pr)", {"u2", "u5"}),
    # dates, offsets converted to UTC, a bare date as midnight UTC
    ('meta.created eq "2011-05-13T04:42:34Z"', {"u1"}),
    ('meta.created gt "2015-01-01T00:00:00Z"', {"u3", "u4", "u5"}),
    ('meta.created ge "2015-01-01T00:00:00Z"', {"u2", "u3", "u4", "u5"}),
    ('meta.created lt "2015-01-01T01:00:00+01:00"', {"u1"}),
    ('meta.created le "2015-01-01T01:00:00+01:00"', {"u1", "u2"}),
    ('meta.created eq "2023-06-15T12:00:00Z"', {"u4"}),
    ('meta.created ne "2011-05-13T04:42:34Z"', ALL_USERS - {"u1"}),
    ('meta.lastModified ge "2024-01-01"', {"u3", "u5"}),
    ('meta.resourceType eq "User"', ALL_USERS),
    ('meta.resourceType eq "Group"', set()),
    # precedence: and binds tighter than or; parentheses and not
    ('title eq "tour guide" or userName sw "j" and active eq false', {"u1", "u2", "u4"}),
    ('(title eq "tour guide" or userName sw "j") and active eq false', {"u2"}),
    ('userName sw "j" and (active eq false or title eq "tour guide")', {"u2"}),
    ('userName sw "j" and active eq false or title eq "manager"', {"u2", "u3"}),
    ('not (userName eq "bjensen" or active eq false)', {"u3", "u4", "u5"}),
    ('not (not (userName eq "bjensen"))', {"u1"}),
    ('userName eq "bjensen" OR userName eq "jsmith" AND NOT (title pr)', {"u1"}),
]

GROUP_CASES: list[tuple[str, set[str]]] = [
    ('displayName eq "admins"', {"g1"}),
    ('DISPLAYNAME co "TOUR"', {"g2"}),
    ('displayName ne "Admins"', {"g2", "g3"}),
    ('externalId eq "adm-1"', {"g1"}),
    ('externalId eq "ADM-1"', set()),
    ("externalId pr", {"g1"}),
    ('members eq "u1"', {"g1", "g2"}),
    ('members[value eq "u3"]', {"g1"}),
    ('members.value eq "u4" and displayName sw "t"', {"g2"}),
    ('members.display co "SMITH"', {"g1"}),
    ('members.display eq "o\'brien"', {"g2"}),
    ("not (members pr)", {"g3"}),
    ('members ne "u1"', {"g3"}),
    ('meta.created lt "2022-01-01T00:00:00Z"', {"g1"}),
    ('meta.resourceType eq "Group"', {"g1", "g2", "g3"}),
    ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName sw "e"', {"g3"}),
]


@pytest.mark.parametrize(("expression", "expected"), USER_CASES, ids=[c[0] for c in USER_CASES])
def test_user_filter(engine: sa.Engine, expression: str, expected: set[str]) -> None:
    clause = compile_filter(expression, "User", engine.dialect.name)
    assert _select(engine, users, clause) == expected


@pytest.mark.parametrize(("expression", "expected"), GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_group_filter(engine: sa.Engine, expression: str, expected: set[str]) -> None:
    clause = compile_filter(expression, "Group", engine.dialect.name)
    assert _select(engine, groups, clause) == expected


def test_not_is_the_complement_of_every_user_case(engine: sa.Engine) -> None:
    """Predicates are two-valued: ``not (f)`` selects exactly the users ``f`` leaves out."""
    for expression, expected in USER_CASES:
        if expression in BARE_VALUES:
            continue
        clause = compile_filter(f"not ({expression})", "User", engine.dialect.name)
        assert _select(engine, users, clause) == ALL_USERS - expected, expression


SORT_CASES = [
    ("userName", None, ["u5", "u1", "u3", "u2", "u4"]),
    ("title", "title pr", ["u3", "u1", "u4"]),
    ("name.familyName", "name pr", ["u1", "u3", "u2"]),
    ("emails", "emails pr", ["u1", "u3", "u2"]),
    ("meta.lastModified", None, ["u1", "u2", "u4", "u3", "u5"]),
    (f"{ENTERPRISE}:employeeNumber", "employeeNumber pr", ["u2", "u1"]),
]


@pytest.mark.parametrize(("sort_by", "expression", "expected"), SORT_CASES, ids=[c[0] for c in SORT_CASES])
def test_sort(engine: sa.Engine, sort_by: str, expression: str | None, expected: list[str]) -> None:
    dialect = engine.dialect.name
    key = compile_sort(sort_by, "User", dialect)
    assert key is not None
    query = sa.select(users.c.id).order_by(key, users.c.id)
    if expression:
        query = query.where(compile_filter(expression, "User", dialect))
    with engine.connect() as connection:
        assert list(connection.execute(query).scalars()) == expected


# --------------------------------------------------------------------------- EXPLAIN

MANY = 2000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """``MANY`` users with an e-mail each, analysed, on the backend of ``url``."""
    yield from _big(request.param, tmp_path_factory.mktemp("big"))


def _big(backend: str, folder: Path) -> Iterator[sa.Engine]:
    if backend == "sqlite":
        engine = _populated(f"sqlite:///{folder / 'big.db'}")
        yield engine
        engine.dispose()
        return
    with fresh_postgres_schema() as pg_url:
        engine = _populated(pg_url)
        yield engine
        engine.dispose()


def _populated(url: str) -> sa.Engine:
    engine = _engine(url)
    now = datetime.now(UTC)
    rows = [
        {
            "id": f"id-{i:05d}",
            "source": "scim",
            "user_name": f"User{i}",
            "user_name_lower": f"user{i}",
            "external_id": f"ext-{i}",
            "active": True,
            "created": now,
            "last_modified": now,
            "data": json.dumps({"userName": f"User{i}", "title": "Engineer"}),
        }
        for i in range(MANY)
    ]
    with engine.begin() as connection:
        connection.execute(users.insert(), rows)
        connection.execute(
            user_emails.insert(),
            [{"user_id": r["id"], "position": 0, "value_lower": f"user{i}@example.com"} for i, r in enumerate(rows)],
        )
        connection.exec_driver_sql("ANALYZE")
    return engine


EXPLAINED = [
    # On PostgreSQL the prefix-search index on the same column serves equality just as well.
    ('userName eq "USER1234"', ("uq_users_user_name_lower", "ix_users_user_name_pattern"), {"id-01234"}),
    ('externalId eq "ext-1234"', ("ix_users_external_id",), {"id-01234"}),
    ('emails.value eq "User1234@Example.com"', ("ix_user_emails_value_lower",), {"id-01234"}),
    ('emails[type eq "work"].value eq "user1234@example.com"', ("ix_user_emails_value_lower",), set()),
]


@pytest.mark.parametrize("big", BACKENDS, indirect=True)
@pytest.mark.parametrize(("expression", "index", "expected"), EXPLAINED, ids=[c[0] for c in EXPLAINED])
def test_lookups_use_their_index(big: sa.Engine, expression: str, index: tuple[str, ...], expected: set[str]) -> None:
    dialect = big.dialect.name
    query = sa.select(users.c.id).where(compile_filter(expression, "User", dialect))
    sql = str(query.compile(big, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    with big.connect() as connection:
        plan = "\n".join(" ".join(str(c) for c in row) for row in connection.exec_driver_sql(explain + sql))
        assert set(connection.execute(query).scalars()) == expected
    print(f"\n-- {dialect}: {expression}\n{sql}\n{plan}")
    if dialect == "sqlite":
        assert any(f"USING INDEX {i}" in plan or f"USING COVERING INDEX {i}" in plan for i in index)
        assert "SCAN users" not in plan
    else:
        assert "Index" in plan and any(i in plan for i in index)
        assert "Seq Scan on users" not in plan
