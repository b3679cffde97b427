"""The Alembic migrations build exactly the schema that the code declares, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gatehouse.store import migration
from gatehouse.store.database import Database
from gatehouse.store.tables import SQLITE_SEARCH_TABLES, metadata


def test_migrated_schema_matches_the_declared_tables(db_url: str) -> None:
    """After `upgrade`, autogenerate finds nothing to add, drop or alter."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            assert migration.current_revision(connection) == migration.head_revision()
            opts = {"compare_type": True, "include_object": _declared_for(connection.dialect.name)}
            context = MigrationContext.configure(connection, opts={**opts, "include_name": _not_search_index})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def _not_search_index(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave out SQLite's search index (its side and FTS5 tables, made by the migration, not declared)."""
    return not (type_ == "table" and name in SQLITE_SEARCH_TABLES)


def _declared_for(dialect: str) -> Callable[..., bool]:
    """Leave out the objects declared for another database only (``ddl_if``)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == dialect

    return include


def test_upgrade_is_idempotent(db_url: str) -> None:
    """A second upgrade of a current database changes nothing."""
    engine = sa.create_engine(db_url)
    try:
        assert migration.upgrade(engine) == migration.head_revision()
        assert migration.is_current(engine)
    finally:
        engine.dispose()


def test_constraints_survive_migrations(db_url: str) -> None:
    """The users CHECK constraints hold after every migration (SQLite rebuilds tables in batch mode)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            bad = (
                "INSERT INTO users (id, source, user_name, user_name_lower, active, super_admin, created,"
                " last_modified, version, data, must_change_password)"
                " VALUES ('x', 'scim', 'x', 'x', true, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, '{}', false)"
            )
            with pytest.raises(sa.exc.IntegrityError):
                connection.exec_driver_sql(bad)
    finally:
        engine.dispose()


def test_at_head_tells_a_current_database_from_one_behind(db_url: str, tmp_path: Path) -> None:
    """The readiness probe: a migrated database is at head; an empty one is not."""
    current, empty = Database.from_url(db_url), Database.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with current.reader() as connection:
            assert migration.at_head(connection) is True
        with empty.reader() as connection:
            assert migration.at_head(connection) is False
    finally:
        current.dispose()
        empty.dispose()
