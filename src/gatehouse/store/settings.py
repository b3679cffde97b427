"""Run-time settings stored in the database (changed from the dashboard or the CLI), as JSON values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.records import utcnow
from gatehouse.store.tables import app_settings

SCIM_ENABLED = "scim.enabled"
"""Whether SCIM provisioning is on. Off (or never set) refuses every SCIM request with 403."""

SCIM_PASSWORD_SIGN_IN = "scim.password_sign_in"
"""Whether provisioned users may sign in with the password their IdP sends (default off)."""


def get(connection: Connection, key: str, default: Any = None) -> Any:
    """The value stored under ``key``, or ``default``."""
    row = driver.fetch_one(
        connection, f"SELECT value FROM app_settings WHERE key = {driver.mark(connection, 'k')}", {"k": key}
    )
    return default if row is None else orjson.loads(row[0])


def put_if_absent(connection: Connection, key: str, value: Any, now: datetime) -> bool:
    """Store ``value`` under ``key`` unless a value is there already (``INSERT … ON CONFLICT DO NOTHING``, so
    of processes racing to put one key exactly one succeeds); returns whether this call stored it."""
    insert_fn = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    row = {"key": key, "value": orjson.dumps(value).decode(), "updated": now}
    statement = insert_fn(app_settings).values(row).on_conflict_do_nothing()
    return bool(connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount)


def put(connection: Connection, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` (insert or update)."""
    encoded = orjson.dumps(value).decode()
    now = utcnow()
    updated = connection.execute(
        app_settings.update().where(app_settings.c.key == key).values(value=encoded, updated=now)
    )
    if updated.rowcount == 0:
        connection.execute(app_settings.insert().values(key=key, value=encoded, updated=now))
