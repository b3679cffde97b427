"""What a deactivation takes away, in one place for every path (SCIM, dashboard, API).

Requests are refused from the next one on anyway, because every session and token check joins the
user and requires it to be active. This also removes what must not come back on reactivation: the
user's dashboard sessions and API tokens end for good.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.iam import api_tokens
from gatehouse.store import sessions
from gatehouse.store.database import Connection


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """What a deactivation ended."""

    sessions: int
    tokens: int


def withdraw(connection: Connection, user_id: str) -> Withdrawn:
    """End every session and revoke every API token of a user (in the caller's transaction)."""
    return Withdrawn(
        sessions=sessions.end_for_user(connection, user_id),
        tokens=api_tokens.revoke_all_for_user(connection, user_id),
    )
