"""Alembic environment: runs on the connection that :mod:`gatehouse.store.migration` hands over."""

from __future__ import annotations

from alembic import context

from gatehouse.store import governance_tables  # noqa: F401  (its tables join metadata)
from gatehouse.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a bare `alembic` invocation
    raise RuntimeError("Run migrations through `gatehouse db upgrade`.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
