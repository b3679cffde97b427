"""The Alembic migrations build exactly the schema that the code declares, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gatehouse.store import migration, schema_revision
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


def test_the_servers_head_is_the_newest_migration() -> None:
    """``/readyz`` compares with ``schema_revision.HEAD`` (no Alembic in the server): a new migration moves it."""
    assert migration.head_revision() == schema_revision.HEAD, (
        f"set schema_revision.HEAD to {migration.head_revision()!r}, the newest migration's revision"
    )


def test_the_revision_read_without_alembic_is_alembics(db_url: str, tmp_path: Path) -> None:
    """At head (the suite's migrated database), one revision behind, and never migrated: the plain read agrees
    with Alembic's, and only the first is at head."""
    behind_url = f"sqlite:///{tmp_path / 'behind.db'}"
    behind_engine = sa.create_engine(behind_url)
    with behind_engine.connect() as connection:
        config = migration._config(connection)
        command.upgrade(config, "0015")
        connection.commit()
    behind_engine.dispose()
    databases = [Database.from_url(url) for url in (db_url, behind_url, f"sqlite:///{tmp_path / 'new.db'}")]
    try:
        seen = []
        for database in databases:
            with database.reader() as connection:
                assert schema_revision.current(connection) == migration.current_revision(connection)
                seen.append((schema_revision.current(connection), schema_revision.at_head(connection)))
    finally:
        for database in databases:
            database.dispose()
    assert seen == [(schema_revision.HEAD, True), ("0015", False), (None, False)]
