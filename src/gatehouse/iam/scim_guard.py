"""The mass-deprovisioning guard (issue #13): an identity provider that starts deactivating or deleting users
by the hundred (a wrong assignment, a directory answering "zero users") is stopped before it empties the
organization.

Within a window (``GATEHOUSE_SCIM_GUARD_WINDOW_MINUTES``), SCIM deactivations (``active`` going from true to
false by PUT or PATCH) and deletions of users are counted in the database, so every process sees the same
count. Up to the threshold (:func:`threshold`: ``GATEHOUSE_SCIM_GUARD_PERCENT`` of the active SCIM users, and
at least ``GATEHOUSE_SCIM_GUARD_MIN_USERS``) they apply; past it, each is **held**: not applied, answered
``429`` with ``Retry-After`` (so the IdP retries and nothing is lost) and kept in a list for review. The first
hold of a burst writes a ``scim:GuardTripped`` audit record. Creates and other updates keep flowing.

An administrator with ``iam:UpdateSCIMProvisioning`` then either **allows** (the guard opens for the rest of
the window: the IdP's retries apply) or **keeps blocking** (the held list is cleared, the guard stays closed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gatehouse.config import Settings
from gatehouse.errors import TooManyRequests
from gatehouse.iam import audit
from gatehouse.iam.authorizer import Principal, allowed, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.store import scim_guard as store
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.store.scim_guard import Deprovision, State

READ: Final = "iam:GetSCIMProvisioning"
UPDATE: Final = "iam:UpdateSCIMProvisioning"
TRIPPED: Final = "scim:GuardTripped"
RETRY_AFTER: Final = 60
"""``Retry-After`` of a held request, in seconds."""
DEACTIVATE: Final = "deactivate"
DELETE: Final = "delete"


@dataclass(frozen=True, slots=True)
class Policy:
    """The guard's settings (from :class:`gatehouse.config.Settings`)."""

    enabled: bool = True
    window_minutes: int = 10
    percent: float = 10.0
    min_users: int = 25

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.scim_guard_enabled,
            settings.scim_guard_window_minutes,
            settings.scim_guard_percent,
            settings.scim_guard_min_users,
        )


def threshold(active_users: int, policy: Policy) -> int:
    """How many deactivations and deletions may apply within the window: ``percent`` of the active SCIM users
    (rounded up), and at least ``min_users``. The callers count as active the users deprovisioned within the
    window too, so the threshold does not shrink as a burst goes on."""
    return max(policy.min_users, math.ceil(active_users * policy.percent / 100))


class GuardHeld(TooManyRequests):
    """A deactivation or deletion held by the guard (429 with ``Retry-After``)."""

    retry_after = RETRY_AFTER

    def __init__(self, request: Deprovision, limit: int, policy: Policy) -> None:
        self.request = request
        self.limit = limit
        self.policy = policy
        super().__init__(
            f"Mass-deprovisioning guard: more than {limit} SCIM deactivations and deletions within "
            f"{policy.window_minutes} minutes; this {request.kind} of {request.user_name} is held until an "
            "administrator allows it (Organization → Settings → SCIM). Retry later."
        )


# ------------------------------------------------------------------------------------- the SCIM write path


def check(
    connection: Connection,
    policy: Policy,
    *,
    token_id: str | None,
    token_name: str | None,
    user_id: str,
    user_name: str,
    kind: str,
) -> None:
    """Before a deactivation or deletion applies, in its transaction: count it, or raise :class:`GuardHeld`
    (the transaction then rolls back; :func:`record_hold` writes the hold in one of its own)."""
    if not policy.enabled:
        return
    store.lock(connection)
    now = utcnow()
    request = Deprovision(now, token_id, token_name, user_id, user_name, kind)
    current = store.state(connection)
    if current.allowed_until is None or now >= current.allowed_until:
        applied = store.applied_since(connection, now - policy.window)
        # The threshold is never below min_users: the users are counted only once that many applied.
        if applied >= policy.min_users:
            limit = threshold(store.population(connection, applied), policy)
            if applied >= limit:
                raise GuardHeld(request, limit, policy)
        elif applied == 0:
            store.prune(connection, now)
    store.insert(connection, request, held=False)


def record_hold(connection: Connection, held: GuardHeld, origin: audit.Origin) -> bool:
    """Keep a held request for review; the first of a burst also writes the ``scim:GuardTripped`` audit record.
    Whether this one tripped the guard."""
    store.lock(connection)
    now = utcnow()
    current = store.state(connection)
    tripped = current.last_held_at is None or current.last_held_at <= now - held.policy.window
    store.insert(connection, held.request, held=True)
    if tripped:
        summary = {
            "threshold": held.limit,
            "window_minutes": held.policy.window_minutes,
            "token_name": held.request.token_name,
            "first_held": held.request.user_name,
        }
        audit.record(
            connection, origin, audit.Change(TRIPPED, "organization", None, summary), status=429, error=held.detail
        )
    store.put_state(connection, State(now if tripped else current.tripped_at, now, current.allowed_until))
    return tripped


# ------------------------------------------------------------------------------------- the administrator's side


@dataclass(frozen=True, slots=True)
class GuardStatus:
    """What the guard is doing: its settings, what applied within the window, what it holds."""

    enabled: bool
    window_minutes: int
    percent: float
    min_users: int
    threshold: int
    applied_in_window: int
    held_count: int
    held_since: datetime | None
    allowed_until: datetime | None
    tripped_at: datetime | None
    held: list[Deprovision]

    def as_dict(self) -> dict[str, object]:
        """As JSON (the CLI's ``--json`` and the admin API)."""

        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "enabled": self.enabled,
            "window_minutes": self.window_minutes,
            "percent": self.percent,
            "min_users": self.min_users,
            "threshold": self.threshold,
            "applied_in_window": self.applied_in_window,
            "held_count": self.held_count,
            "held_since": when(self.held_since),
            "allowed_until": when(self.allowed_until),
            "tripped_at": when(self.tripped_at),
            "held": [
                {
                    "user_id": h.user_id,
                    "user_name": h.user_name,
                    "kind": h.kind,
                    "token_name": h.token_name,
                    "at": h.at.isoformat(),
                }
                for h in self.held
            ],
        }


def _status(connection: Connection, policy: Policy, *, with_list: bool = True) -> GuardStatus:
    now = utcnow()
    current = store.state(connection)
    count, since = store.held_summary(connection)
    applied = store.applied_since(connection, now - policy.window)
    allowed_until = current.allowed_until if current.allowed_until and now < current.allowed_until else None
    return GuardStatus(
        policy.enabled,
        policy.window_minutes,
        policy.percent,
        policy.min_users,
        threshold(store.active_scim_users(connection) + applied, policy),
        applied,
        count,
        since,
        allowed_until,
        current.tripped_at,
        store.held(connection) if with_list else [],
    )


def status(connection: Connection, principal: Principal, policy: Policy) -> GuardStatus:
    """The guard's status and the held requests (``iam:GetSCIMProvisioning``)."""
    require(principal, READ, ORGANIZATION)
    return _status(connection, policy)


@dataclass(frozen=True, slots=True)
class Banner:
    """The dashboard's banner while requests are held: "N deprovisioning requests held since HH:MM"."""

    count: int
    since: datetime


def banner(connection: Connection, principal: Principal) -> Banner | None:
    """The banner, for those who may read SCIM provisioning, while requests are held; else ``None``."""
    if not allowed(principal, READ, ORGANIZATION):
        return None
    count, since = store.held_summary(connection)
    return Banner(count, since) if count and since is not None else None


def allow(connection: Connection, principal: Principal, policy: Policy) -> int:
    """Open the guard for the current burst (until the window passes): the IdP's retries then apply. The held
    list is cleared; how many requests it held (``iam:UpdateSCIMProvisioning``)."""
    require(principal, UPDATE, ORGANIZATION)
    store.lock(connection)
    current = store.state(connection)
    store.put_state(connection, State(current.tripped_at, current.last_held_at, utcnow() + policy.window))
    return store.clear_held(connection)


def block(connection: Connection, principal: Principal) -> int:
    """Keep blocking: the held list is cleared and the guard stays closed (an earlier Allow ends); how many
    requests it held (``iam:UpdateSCIMProvisioning``)."""
    require(principal, UPDATE, ORGANIZATION)
    store.lock(connection)
    current = store.state(connection)
    store.put_state(connection, State(current.tripped_at, current.last_held_at, None))
    return store.clear_held(connection)
