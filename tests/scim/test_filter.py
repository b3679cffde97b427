"""SCIM filters (RFC 7644 §3.4.2.2) compiled to SQL text for SQLite and PostgreSQL, and the errors.

The SQL is rendered with its values inlined to be read and compared; the last tests check that
the real statements bind every value as a parameter instead.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import operators

from gatehouse.errors import InvalidFilter
from gatehouse.scim.filter import compile_filter, compile_sort
from gatehouse.store.tables import groups, users

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
DIALECTS = {
    "sqlite": sqlite.dialect(),
    # "named" renders LIKE patterns without psycopg's doubled percent signs, for legibility.
    "postgresql": postgresql.psycopg.dialect(paramstyle="named"),
}


def where(expression: str, dialect: str, resource: str = "User") -> str:
    """The WHERE clause of ``SELECT id`` for ``expression``, values inlined, on one line."""
    table = users if resource == "User" else groups
    clause = compile_filter(expression, resource, dialect)  # type: ignore[arg-type]
    sql = sa.select(table.c.id).where(clause).compile(dialect=DIALECTS[dialect], compile_kwargs={"literal_binds": True})
    return " ".join(str(sql).split()).split(" WHERE ", 1)[1]


def bound(expression: str, dialect: str, resource: str = "User") -> sa.engine.Compiled:
    table = users if resource == "User" else groups
    clause = compile_filter(expression, resource, dialect)  # type: ignore[arg-type]
    return sa.select(table.c.id).where(clause).compile(dialect=DIALECTS[dialect])


JSON_TITLE = {
    "sqlite": "json_extract(users.data, '$.\"title\"')",
    "postgresql": "(CAST(users.data AS JSON) #>> ARRAY['title'])",
}

# (resource, filter, SQLite WHERE, PostgreSQL WHERE); None means "same as SQLite".
SQL_CASES: list[tuple[str, str, str, str | None]] = [
    # userName: the lower-cased, uniquely indexed column, against the lower-cased value
    ("User", 'userName eq "BJensen"', "users.user_name_lower = 'bjensen'", None),
    # externalId: case-exact (RFC 7643 §3.1), two-valued against NULL
    ("User", 'externalId eq "AbC"', "users.external_id IS NOT NULL AND users.external_id = 'AbC'", None),
    # ne holds where the attribute is absent
    (
        "User",
        'title ne "X"',
        "json_extract(users.data, '$.\"title\"') IS NULL OR "
        "lower(json_extract(users.data, '$.\"title\"')) != lower('X')",
        "(CAST(users.data AS JSON) #>> ARRAY['title']) IS NULL OR "
        "lower(CAST(users.data AS JSON) #>> ARRAY['title']) != lower('X')",
    ),
    # co: %, _ and the escape character escaped, explicit ESCAPE
    (
        "User",
        'name.givenName co "a%b_c\\\\"',
        'json_extract(users.data, \'$."name"."givenName"\') IS NOT NULL AND '
        'lower(json_extract(users.data, \'$."name"."givenName"\')) '
        "LIKE lower('%a\\%b\\_c\\\\%') ESCAPE '\\'",
        "(CAST(users.data AS JSON) #>> ARRAY['name', 'givenName']) IS NOT NULL AND "
        "lower(CAST(users.data AS JSON) #>> ARRAY['name', 'givenName']) "
        "LIKE lower('%a\\%b\\_c\\\\%') ESCAPE '\\'",
    ),
    # sw on a case-exact attribute: SQLite's LIKE ignores case, so GLOB with * made literal
    (
        "User",
        'externalId sw "A*"',
        "users.external_id IS NOT NULL AND (users.external_id GLOB 'A[*]*')",
        "users.external_id IS NOT NULL AND users.external_id LIKE 'A*%' ESCAPE '\\'",
    ),
    (
        "User",
        'externalId ew "x?["',
        "users.external_id IS NOT NULL AND (users.external_id GLOB '*x[?][[]')",
        "users.external_id IS NOT NULL AND users.external_id LIKE '%x?[' ESCAPE '\\'",
    ),
    # emails: semi-join on the child table's value index
    (
        "User",
        'emails.value eq "A@X.org"',
        "users.id IN (SELECT e.user_id FROM user_emails AS e WHERE e.value_lower = 'a@x.org')",
        "EXISTS (SELECT 1 FROM user_emails AS e WHERE e.user_id = users.id AND e.value_lower = 'a@x.org')",
    ),
    (
        "User",
        'emails[type eq "work"].value eq "X"',
        "users.id IN (SELECT e.user_id FROM user_emails AS e "
        "WHERE e.type IS NOT NULL AND lower(e.type) = lower('work') AND e.value_lower = 'x')",
        "EXISTS (SELECT 1 FROM user_emails AS e WHERE e.user_id = users.id "
        "AND e.type IS NOT NULL AND lower(e.type) = lower('work') AND e.value_lower = 'x')",
    ),
    (
        "User",
        "emails pr",
        "users.id IN (SELECT e.user_id FROM user_emails AS e)",
        "EXISTS (SELECT 1 FROM user_emails AS e WHERE e.user_id = users.id)",
    ),
    (
        "User",
        'emails.type ne "work"',
        "(users.id NOT IN (SELECT e.user_id FROM user_emails AS e "
        "WHERE e.type IS NOT NULL AND lower(e.type) = lower('work')))",
        "NOT (EXISTS (SELECT 1 FROM user_emails AS e WHERE e.user_id = users.id "
        "AND e.type IS NOT NULL AND lower(e.type) = lower('work')))",
    ),
    # JSON arrays: json_each / json_array_elements
    (
        "User",
        'phoneNumbers[type eq "work"]',
        "EXISTS (SELECT 1 FROM json_each(users.data, '$.\"phoneNumbers\"') AS e "
        "WHERE json_extract(e.value, '$.\"type\"') IS NOT NULL "
        "AND lower(json_extract(e.value, '$.\"type\"')) = lower('work'))",
        "EXISTS (SELECT 1 FROM json_array_elements(CAST(users.data AS JSON) -> 'phoneNumbers') AS e "
        "WHERE (e.value ->> 'type') IS NOT NULL AND lower(e.value ->> 'type') = lower('work'))",
    ),
    (
        "User",
        "phoneNumbers.primary eq false",
        "EXISTS (SELECT 1 FROM json_each(users.data, '$.\"phoneNumbers\"') AS e "
        "WHERE json_extract(e.value, '$.\"primary\"') IS NOT NULL "
        "AND json_extract(e.value, '$.\"primary\"') = 0)",
        "EXISTS (SELECT 1 FROM json_array_elements(CAST(users.data AS JSON) -> 'phoneNumbers') AS e "
        "WHERE (e.value ->> 'primary') IS NOT NULL AND (e.value ->> 'primary') = 'false')",
    ),
    # the enterprise URN is one quoted key of the JSON path
    (
        "User",
        f'{ENTERPRISE}:employeeNumber eq "1"',
        f'json_extract(users.data, \'$."{ENTERPRISE}"."employeeNumber"\') IS NOT NULL AND '
        f"lower(json_extract(users.data, '$.\"{ENTERPRISE}\".\"employeeNumber\"')) = lower('1')",
        f"(CAST(users.data AS JSON) #>> ARRAY['{ENTERPRISE}', 'employeeNumber']) IS NOT NULL AND "
        f"lower(CAST(users.data AS JSON) #>> ARRAY['{ENTERPRISE}', 'employeeNumber']) = lower('1')",
    ),
    # dates: parsed, converted to UTC, compared as datetimes
    (
        "User",
        'meta.created gt "2011-05-13T04:42:34+02:00"',
        "users.created > '2011-05-13 02:42:34.000000'",
        "users.created > '2011-05-13 02:42:34+00:00'",
    ),
    (
        "User",
        'meta.lastModified le "2020-01-02"',
        "users.last_modified <= '2020-01-02 00:00:00.000000'",
        "users.last_modified <= '2020-01-02 00:00:00+00:00'",
    ),
    ("User", "active eq true", "users.active = 1", "users.active = true"),
    ("User", "active ne false", "users.active != 0", "users.active != false"),
    # lexical order, byte-wise on PostgreSQL whatever the database's locale
    ("User", 'userName gt "M"', "users.user_name_lower > 'm'", "(users.user_name_lower COLLATE \"C\") > 'm'"),
    (
        "User",
        'userName le "M"',
        "users.user_name_lower <= 'm'",
        "(users.user_name_lower COLLATE \"C\") <= 'm'",
    ),
    (
        "User",
        'title lt "M"',
        f"{JSON_TITLE['sqlite']} IS NOT NULL AND lower({JSON_TITLE['sqlite']}) < lower('M')",
        f"{JSON_TITLE['postgresql']} IS NOT NULL "
        "AND (lower(CAST(users.data AS JSON) #>> ARRAY['title']) COLLATE \"C\") < lower('M')",
    ),
    ("User", 'userName sw "J"', "users.user_name_lower LIKE 'j%' ESCAPE '\\'", None),
    ("User", 'userName ew "N"', "users.user_name_lower LIKE '%n' ESCAPE '\\'", None),
    ("User", 'meta.resourceType eq "User"', "1 = 1", "true"),
    ("User", 'meta.resourceType eq "Group"', "0 = 1", "false"),
    (
        "User",
        "title pr",
        f"{JSON_TITLE['sqlite']} IS NOT NULL AND {JSON_TITLE['sqlite']} != ''",
        f"{JSON_TITLE['postgresql']} IS NOT NULL AND {JSON_TITLE['postgresql']} != ''",
    ),
    (
        "User",
        "title eq null",
        f"NOT ({JSON_TITLE['sqlite']} IS NOT NULL AND {JSON_TITLE['sqlite']} != '')",
        f"NOT ({JSON_TITLE['postgresql']} IS NOT NULL AND {JSON_TITLE['postgresql']} != '')",
    ),
    ("User", "userName pr", "users.user_name_lower != ''", None),
    # and binds tighter than or; parentheses regroup
    (
        "User",
        'userName eq "a" or userName eq "b" and active eq true',
        "users.user_name_lower = 'a' OR users.user_name_lower = 'b' AND users.active = 1",
        "users.user_name_lower = 'a' OR users.user_name_lower = 'b' AND users.active = true",
    ),
    (
        "User",
        '(userName eq "a" or userName eq "b") and active eq true',
        "(users.user_name_lower = 'a' OR users.user_name_lower = 'b') AND users.active = 1",
        "(users.user_name_lower = 'a' OR users.user_name_lower = 'b') AND users.active = true",
    ),
    (
        "User",
        'not (userName eq "a" or active eq false)',
        "NOT (users.user_name_lower = 'a' OR users.active = 0)",
        "NOT (users.user_name_lower = 'a' OR users.active = false)",
    ),
    # memberships
    (
        "User",
        'groups.display eq "Admins"',
        "users.id IN (SELECT gm.user_id FROM group_members AS gm JOIN groups AS g ON g.id = gm.group_id "
        "WHERE g.display_name_lower = 'admins')",
        "EXISTS (SELECT 1 FROM group_members AS gm JOIN groups AS g ON g.id = gm.group_id "
        "WHERE gm.user_id = users.id AND g.display_name_lower = 'admins')",
    ),
    ("Group", 'displayName eq "Admins"', "groups.display_name_lower = 'admins'", None),
    ("Group", 'externalId eq "X"', "groups.external_id IS NOT NULL AND groups.external_id = 'X'", None),
    (
        "Group",
        'members[value eq "u1"]',
        "groups.id IN (SELECT gm.group_id FROM group_members AS gm JOIN users AS u ON u.id = gm.user_id "
        "WHERE gm.user_id = 'u1')",
        "EXISTS (SELECT 1 FROM group_members AS gm JOIN users AS u ON u.id = gm.user_id "
        "WHERE gm.group_id = groups.id AND gm.user_id = 'u1')",
    ),
    (
        "Group",
        'members.display ew "Smith"',
        "groups.id IN (SELECT gm.group_id FROM group_members AS gm JOIN users AS u ON u.id = gm.user_id "
        "WHERE lower(coalesce(u.display_name, u.user_name)) LIKE lower('%Smith') ESCAPE '\\')",
        "EXISTS (SELECT 1 FROM group_members AS gm JOIN users AS u ON u.id = gm.user_id "
        "WHERE gm.group_id = groups.id "
        "AND lower(coalesce(u.display_name, u.user_name)) LIKE lower('%Smith') ESCAPE '\\')",
    ),
]


@pytest.mark.parametrize(("resource", "expression", "lite", "pg"), SQL_CASES, ids=[c[1] for c in SQL_CASES])
def test_sql_text(resource: str, expression: str, lite: str, pg: str | None) -> None:
    assert where(expression, "sqlite", resource) == lite
    assert where(expression, "postgresql", resource) == (lite if pg is None else pg)


SAME_SQL = [
    # names and operators are case-insensitive (RFC 7643 §2.1, RFC 7644 §3.4.2.2)
    ('USERNAME EQ "x"', 'userName eq "x"'),
    ('name.GIVENNAME Co "x"', 'name.givenName co "x"'),
    ('Emails[TYPE eq "work"]', 'emails[type eq "work"]'),
    ("active EQ TRUE", "active eq true"),
    ("userName pr AND NOT (title PR) OR externalId Pr", "userName pr and not (title pr) or externalId pr"),
    # URN-qualified names are the same attributes
    (f'{CORE}:userName eq "x"', 'userName eq "x"'),
    (f'{CORE}:name.familyName eq "x"', 'name.familyName eq "x"'),
    (f'{CORE.upper()}:emails[type eq "work"]', 'emails[type eq "work"]'),
    (f'{ENTERPRISE}:employeeNumber eq "1"', 'employeeNumber eq "1"'),
    (f'{ENTERPRISE}:manager.value eq "m"', 'manager.value eq "m"'),
    # a bare multi-valued attribute compares its value (RFC 7644 §3.4.2.2 "emails co")
    ('emails co "x"', 'emails.value co "x"'),
    ('phoneNumbers eq "1"', 'phoneNumbers.value eq "1"'),
    ('groups eq "g"', 'groups.value eq "g"'),
    # Entra's unquoted value, and "not(" without a space, and redundant parentheses
    ("externalId eq jyoung", 'externalId eq "jyoung"'),
    ("userName eq jyoung@example.com", 'userName eq "jyoung@example.com"'),
    ("userName eq 01", 'userName eq "01"'),
    ("not(title pr)", "not (title pr)"),
    ('((userName eq "x"))', 'userName eq "x"'),
    # Entra's value filter followed by a sub-attribute comparison
    ('emails[type eq "work"].value eq "x"', 'emails[type eq "work" and value eq "x"]'),
    # an integer compared with a string attribute is its digits; eq null is "not present"
    ("employeeNumber eq 42", 'employeeNumber eq "42"'),
    ("title eq null", "not (title pr)"),
    ("title ne null", "title pr"),
    ('active eq "True"', "active eq true"),
    ('meta.created eq "2011-05-13T04:42:34Z"', 'meta.created eq "2011-05-13T06:42:34+02:00"'),
    ('meta.created eq "2011-05-13T04:42:34"', 'meta.created eq "2011-05-13T04:42:34Z"'),
    ('meta.created eq "2011-05-13t04:42:34z"', 'meta.created eq "2011-05-13T04:42:34Z"'),
]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize(("expression", "same_as"), SAME_SQL, ids=[c[0] for c in SAME_SQL])
def test_equivalent_spellings(expression: str, same_as: str, dialect: str) -> None:
    assert where(expression, dialect) == where(same_as, dialect)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_and_binds_tighter_than_or(dialect: str) -> None:
    clause = compile_filter('userName eq "a" or userName eq "b" and active eq true', "User", dialect)
    assert isinstance(clause, sa.BooleanClauseList) and clause.operator is operators.or_
    _, second = clause.clauses
    assert isinstance(second, sa.BooleanClauseList) and second.operator is operators.and_
    assert where('userName eq "a" or (userName eq "b" and active eq true)', dialect) == where(
        'userName eq "a" or userName eq "b" and active eq true', dialect
    )
    assert where('(userName eq "a" or userName eq "b") and active eq true', dialect) != where(
        'userName eq "a" or userName eq "b" and active eq true', dialect
    )


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_values_are_bound_parameters(dialect: str) -> None:
    hostile = "x' OR '1'='1"
    for expression in (
        f'title eq "{hostile}"',
        f'externalId co "{hostile}"',
        f'emails[value sw "{hostile}"]',
    ):
        compiled = bound(expression, dialect)
        assert "'1'='1" not in str(compiled), expression
        assert any(isinstance(v, str) and "'1'='1" in v for v in compiled.params.values()), expression


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_json_paths_are_bound_too(dialect: str) -> None:
    compiled = bound(f'{ENTERPRISE}:manager.value eq "m" and phoneNumbers[type eq "w"]', dialect)
    assert ENTERPRISE not in str(compiled) and "phoneNumbers" not in str(compiled)
    values = list(compiled.params.values())
    if dialect == "sqlite":
        assert f'$."{ENTERPRISE}"."manager"."value"' in values and '$."phoneNumbers"' in values
    else:
        assert [ENTERPRISE, "manager", "value"] in values and "phoneNumbers" in values


def test_date_values_are_utc_datetimes() -> None:
    compiled = bound('meta.lastModified ge "2011-05-13T04:42:34.5-07:00"', "postgresql")
    moments = [v for v in compiled.params.values() if isinstance(v, datetime)]
    assert moments == [datetime(2011, 5, 13, 11, 42, 34, 500000, tzinfo=UTC)]
    assert moments[0].utcoffset() == timedelta(0)


INVALID: list[tuple[str, str, str]] = [
    # unparseable
    ("User", "", "Invalid filter ''"),
    ("User", "   ", "Invalid filter"),
    ("User", 'userName eq "unterminated', "Invalid filter"),
    ("User", 'userName eq "x" and', "Invalid filter"),
    ("User", 'userName xx "x"', "Invalid filter"),
    ("User", 'userName eq "x")', "Invalid filter"),
    ("User", '(userName eq "x"', "Invalid filter"),
    ("User", "userName eq", "Invalid filter"),
    ("User", "userName", "Invalid filter"),
    ("User", 'emails[type eq "work"', "Invalid filter"),
    ("User", 'emails[value[type eq "x"]]', "Invalid filter"),
    ("User", 'emails.value[type eq "x"]', "value selection"),
    ("User", 'name.givenName.x eq "a"', "Invalid filter"),
    # a bare value alone, or a bare word anywhere but in the one accepted shape
    ("User", "RUNSCOPE300@example.com", "Invalid filter 'RUNSCOPE300@example.com'"),
    ("User", "externalId eq jyoung and active eq true", "Invalid filter"),
    ("User", "externalId eq and", "Invalid filter"),
    ("User", 'externalId eq "a"b', "Invalid filter"),
    # attributes
    ("User", 'password eq "x"', "'password' can never be filtered on"),
    ("User", "PASSWORD pr", "can never be filtered on"),
    ("User", 'nosuch eq "x"', "Unknown attribute 'nosuch'"),
    ("User", 'name.nosuch eq "x"', "'name' has no sub-attribute 'nosuch'"),
    ("User", 'userName.value eq "x"', "'userName' has no sub-attributes"),
    ("User", 'emails.nosuch eq "x"', "Unknown attribute 'emails.nosuch'"),
    ("User", 'emails[nosuch eq "x"]', "Unknown attribute 'emails.nosuch'"),
    ("User", 'emails[type.x eq "x"]', "must be a plain sub-attribute"),
    ("User", f'emails[{CORE}:type eq "x"]', "must be a plain sub-attribute"),
    ("User", 'urn:example:schema:User:userName eq "x"', "Unknown schema 'urn:example:schema:User'"),
    ("User", f'{ENTERPRISE}:userName eq "x"', "Unknown attribute"),
    ("User", f'{CORE}:employeeNumber eq "x"', "Unknown attribute"),
    ("User", 'members eq "x"', "Unknown attribute 'members'"),
    ("User", 'name eq "x"', "'name' is a complex attribute"),
    ("User", 'addresses co "x"', "'addresses' has no 'value'"),
    ("User", 'userName[value eq "x"]', "only applies to a multi-valued attribute"),
    ("User", 'meta.location eq "x"', "'meta' has no sub-attribute 'location'"),
    ("Group", 'userName eq "x"', "Unknown attribute 'userName': Group resources"),
    ("Group", 'title eq "x"', "Unknown attribute 'title'"),
    ("Group", f'{CORE}:displayName eq "x"', "Unknown schema"),
    # operators and values by type
    ("User", 'active co "x"', "active is a boolean"),
    ("User", "active gt true", "active is a boolean"),
    ("User", 'active eq "yes"', "active is a boolean"),
    ("User", 'emails[primary sw "t"]', "emails.primary is a boolean"),
    ("User", 'meta.created eq "yesterday"', '"yesterday" is not an ISO 8601 date-time'),
    ("User", "meta.created gt 2011", "2011 is not an ISO 8601 date-time"),
    ("User", 'meta.created gt "0001-01-01T00:00:00+05:00"', "lies outside the years 1 to 9999 in UTC"),
    ("User", 'meta.lastModified lt "9999-12-31T23:00:00-05:00"', "lies outside the years 1 to 9999 in UTC"),
    ("User", 'meta.lastModified co "2011"', "co, sw and ew do not apply"),
    ("User", "userName eq true", "userName is a string"),
    ("User", "userName eq 1.5", "userName is a string"),
    ("User", "title gt null", "null can only be compared with eq or ne"),
    ("User", "emails co null", "null can only be compared with eq or ne"),
    ("User", 'x509Certificates.value gt "a"', "do not apply to binary values"),
]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize(("resource", "expression", "detail"), INVALID, ids=[c[1] or "empty" for c in INVALID])
def test_invalid_filters(resource: str, expression: str, detail: str, dialect: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        compile_filter(expression, resource, dialect)  # type: ignore[arg-type]
    assert detail in caught.value.detail
    assert caught.value.scim_type == "invalidFilter" and caught.value.status == 400


def test_only_invalid_filter_is_ever_raised() -> None:
    """Every prefix of valid filters, and some hostile text, compiles or raises InvalidFilter."""
    valid = [case[1] for case in SQL_CASES] + [case[0] for case in SAME_SQL]
    samples = {text[:cut] for text in valid for cut in range(len(text) + 1)}
    samples |= {
        "(" * 40 + 'userName eq "x"' + ")" * 40,
        " or ".join(f'userName eq "{i}"' for i in range(300)),
        "not (" * 40 + "title pr" + ")" * 40,
        'userName eq "\\ud800"',
        'userName eq "\x00"',
        "userName eq \u00e9t\u00e9",
        "]",
        "$ref pr",
        "urn: eq 1",
    }
    for text in sorted(samples):
        for resource in ("User", "Group"):
            with contextlib.suppress(InvalidFilter):
                compile_filter(text, resource, "sqlite")  # type: ignore[arg-type]


def test_unknown_dialect_or_resource_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="dialect"):
        compile_filter("userName pr", "User", "mysql")
    with pytest.raises(ValueError, match="resource"):
        compile_filter("userName pr", "Users", "sqlite")  # type: ignore[arg-type]


SORTS: list[tuple[str, str | None, str | None]] = [
    ("User", "userName", "users.user_name_lower"),
    ("User", "USERNAME", "users.user_name_lower"),
    ("User", f"{CORE}:userName", "users.user_name_lower"),
    ("User", "externalId", "users.external_id"),
    ("User", "id", "users.id"),
    ("User", "meta.created", "users.created"),
    ("User", "meta.lastModified", "users.last_modified"),
    ("User", "emails", "users.email_lower"),
    ("User", "emails.value", "users.email_lower"),
    ("User", "name.familyName", 'lower(json_extract(users.data, \'$."name"."familyName"\'))'),
    ("User", "title", "lower(json_extract(users.data, '$.\"title\"'))"),
    ("User", "active", "users.active"),
    ("Group", "displayName", "groups.display_name_lower"),
    ("Group", "meta.lastModified", "groups.last_modified"),
    # ignored: unknown, complex, multi-valued, constant, not an attribute path
    ("User", "nosuch", None),
    ("User", "password", None),
    ("User", "name", None),
    ("User", "phoneNumbers", None),
    ("User", "emails.type", None),
    ("User", "meta.resourceType", None),
    ("User", 'userName eq "x"', None),
    ("User", "userName pr or title", None),
    ("User", "", None),
    ("User", None, None),
    ("Group", "userName", None),
    ("Group", "members", None),
]


@pytest.mark.parametrize(("resource", "sort_by", "sql"), SORTS, ids=[str(c[1]) for c in SORTS])
def test_sort_keys(resource: str, sort_by: str | None, sql: str | None) -> None:
    key = compile_sort(sort_by, resource, "sqlite")  # type: ignore[arg-type]
    if sql is None:
        assert key is None
        return
    assert key is not None
    assert str(key.compile(dialect=DIALECTS["sqlite"], compile_kwargs={"literal_binds": True})) == sql


def test_sort_key_on_postgresql() -> None:
    key = compile_sort("name.givenName", "User", "postgresql")
    assert key is not None
    rendered = str(key.compile(dialect=DIALECTS["postgresql"], compile_kwargs={"literal_binds": True}))
    assert rendered == "lower(CAST(users.data AS JSON) #>> ARRAY['name', 'givenName'])"
