"""Statements run on the DBAPI connection beneath a SQLAlchemy connection (same transaction).

For the SCIM hot path only (see :mod:`gatehouse.store.lookups`): fixed, parameterised SQL, with the
placeholders and timestamp forms of each driver. User input is only ever a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy.engine import Connection

from gatehouse.store.parameters import check

SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DateTime stores


def cursor(connection: Connection) -> Any:
    """A DBAPI cursor on the connection's current transaction."""
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]


def mark(connection: Connection, name: str) -> str:
    """The named placeholder for ``name`` in this driver's paramstyle."""
    return f":{name}" if connection.dialect.name == "sqlite" else f"%({name})s"


def execute(connection: Connection, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> Any:
    """Execute one statement and return its (open) cursor; the caller fetches and closes."""
    check(params)
    handle = cursor(connection)
    handle.execute(sql, params)
    return handle


def fetch_one(connection: Connection, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> Any:
    """The first row of a statement, or ``None``."""
    handle = execute(connection, sql, params)
    try:
        return handle.fetchone()
    finally:
        handle.close()


def run(connection: Connection, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> int:
    """Execute a write and return its row count."""
    handle = execute(connection, sql, params)
    try:
        return int(handle.rowcount)
    finally:
        handle.close()


def run_many(connection: Connection, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Execute a write once per row."""
    batch = list(rows)
    check(batch)
    handle = cursor(connection)
    try:
        handle.executemany(sql, batch)
    finally:
        handle.close()


def insert_sql(connection: Connection, table: str, keys: Iterable[str]) -> str:
    """``INSERT INTO table (keys) VALUES (placeholders)``."""
    return _insert_sql(connection.dialect.name == "sqlite", table, tuple(keys))


@cache
def _insert_sql(sqlite: bool, table: str, names: tuple[str, ...]) -> str:
    """:func:`insert_sql`'s text, made once for each table, columns and paramstyle (the hot path inserts with
    the same few every time; the names are Gatehouse's own, never input)."""
    values = ", ".join(f":{name}" if sqlite else f"%({name})s" for name in names)
    return f"INSERT INTO {table} ({', '.join(_quoted(n) for n in names)}) VALUES ({values})"


def assignments(connection: Connection, keys: Iterable[str]) -> str:
    """``key = placeholder, …`` for an UPDATE."""
    return ", ".join(f"{_quoted(name)} = {mark(connection, name)}" for name in keys)


def _quoted(name: str) -> str:
    return f'"{name}"' if name == "primary" else name


def to_db_time(connection: Connection, value: datetime) -> Any:
    """A timestamp as the driver stores it: SQLAlchemy's text form on SQLite, aware on PostgreSQL."""
    return db_time(connection.dialect.name, value)


def db_time(dialect: str, value: datetime) -> Any:
    """:func:`to_db_time` for a dialect named before any connection is at hand."""
    if dialect == "sqlite":
        return value.astimezone(UTC).strftime(SQLITE_TIME_FORMAT)
    return value


def from_db_time(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns its text form, without an offset: parsed
    with ``+00:00`` appended, which costs a fifth of parsing it and then setting the zone)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:  # a text form with an offset of its own
            value = datetime.fromisoformat(value)
    moment: datetime = value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def integrity_error(connection: Connection) -> type[Exception]:
    """The driver's IntegrityError class (a unique or foreign-key violation)."""
    return connection.dialect.dbapi.IntegrityError  # type: ignore[no-any-return, union-attr]
