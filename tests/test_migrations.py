"""The Alembic migrations build exactly the schema that the code declares, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gatehouse.store import migration
from gatehouse.store.tables import metadata


def test_migrated_schema_matches_the_declared_tables(db_url: str) -> None:
    """After `upgrade`, autogenerate finds nothing to add, drop or alter."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            assert migration.current_revision(connection) == migration.head_revision()
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    """A second upgrade of a current database changes nothing."""
    engine = sa.create_engine(db_url)
    try:
        assert migration.upgrade(engine) == migration.head_revision()
        assert migration.is_current(engine)
    finally:
        engine.dispose()
