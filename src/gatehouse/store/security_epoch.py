"""The security epoch (:data:`gatehouse.store.tables.security_epoch`): read it, one primary-key row.

Its triggers (migration 0016) move it in the transaction of every change to a user's standing, a role held
in any way, a role or policy, an API token's revocation or expiry, a gateway label; so two reads that see the
same value saw the same permissions. Read it **before** the rows derived from it: what was read after a value
is at least as new as that value. It is read on every authenticated API request, so on the DBAPI connection
(:mod:`gatehouse.store.driver`): a few microseconds rather than a compiled statement's tens.
"""

from __future__ import annotations

from typing import Final

from gatehouse.store import driver
from gatehouse.store.database import Connection

_CURRENT: Final = "SELECT value FROM security_epoch WHERE id = 1"


def current(connection: Connection) -> int:
    """The epoch now; -1 when its row is missing (nothing may then be kept: see
    :mod:`gatehouse.iam.principal_cache`)."""
    row = driver.fetch_one(connection, _CURRENT, ())
    return -1 if row is None else int(row[0])
