"""Run-time settings stored in the database (changed from the dashboard or the CLI), as JSON values."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.records import utcnow
from gatehouse.store.tables import app_settings

SCIM_ENABLED = "scim.enabled"
"""Whether SCIM provisioning is on. Off (or never set) refuses every SCIM request with 403."""

SCIM_PASSWORD_SIGN_IN = "scim.password_sign_in"
"""Whether provisioned users may sign in with the password their IdP sends (default off)."""


def get(connection: Connection, key: str, default: Any = None) -> Any:
    """The value stored under ``key``, or ``default``."""
    value = connection.execute(sa.select(app_settings.c.value).where(app_settings.c.key == key)).scalar()
    return default if value is None else orjson.loads(value)


def put(connection: Connection, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` (insert or update)."""
    encoded = orjson.dumps(value).decode()
    now = utcnow()
    updated = connection.execute(
        app_settings.update().where(app_settings.c.key == key).values(value=encoded, updated=now)
    )
    if updated.rowcount == 0:
        connection.execute(app_settings.insert().values(key=key, value=encoded, updated=now))
