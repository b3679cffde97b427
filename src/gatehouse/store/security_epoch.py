"""The security epoch (:data:`gatehouse.store.tables.security_epoch`): read it, one primary-key row.

Its triggers (migration 0016) move it in the transaction of every change to a user's standing, a role held
in any way, a role or policy, an API token's revocation or expiry, a gateway label; so two reads that see the
same value saw the same permissions. Read it **before** the rows derived from it: what was read after a value
is at least as new as that value.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from gatehouse.store.database import Connection
from gatehouse.store.tables import security_epoch


@functools.cache
def _statement() -> sa.Select[Any]:
    return sa.select(security_epoch.c.value).where(security_epoch.c.id == 1)


def current(connection: Connection) -> int:
    """The epoch now; -1 when its row is missing (nothing may then be kept: see
    :mod:`gatehouse.iam.principal_cache`)."""
    value = connection.execute(_statement()).scalar()
    return -1 if value is None else int(value)
