"""The audit log: one record for every change attempted through any surface, kept whatever its outcome.

A surface (dashboard, admin API, SCIM, CLI, SSO) describes who is asking (:class:`Origin`) and what they
attempt (:class:`Change`), then runs the work through :func:`audited` (or :func:`audited_sync`):

- when the work succeeds, its record is written **in the work's own transaction**, so a change and its
  record commit together or not at all;
- when it is refused (401/403) or fails (any other error), the work's transaction rolls back and the
  record is written **in a transaction of its own**, then the error goes on to the surface.

Summaries never hold a secret: :func:`mask` replaces the value of every key that names one
(passwords, tokens, secrets, keys) before anything is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar

from gatehouse.errors import GatehouseError
from gatehouse.store import audit as store
from gatehouse.store.audit import AuditRecord
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow

log = logging.getLogger("gatehouse.audit")

T = TypeVar("T")
Source = Literal["dashboard", "api", "scim", "cli", "sso", "system", "gateway"]
SOURCES: Final[tuple[str, ...]] = ("dashboard", "api", "scim", "cli", "sso", "system", "gateway")
"""``gateway``: a request a proxy asked about (forward authentication) and Gatehouse denied."""

MASK: Final = "***"
_SECRET_WORDS: Final = ("password", "secret", "token", "credential", "private", "api_key", "apikey", "authorization")
_NOT_SECRET: Final = frozenset({"token_name", "token_id", "token_hint", "hint", "token_expires_at"})
MAX_ERROR: Final = 1_000
MAX_SUMMARY_TEXT: Final = 500


@dataclass(frozen=True, slots=True)
class Origin:
    """Who attempts a change, through which surface, from where."""

    source: Source
    actor: str
    """As shown in the log: a user name, ``alice (token ci)``, ``SCIM token okta``, ``operator (CLI)``."""
    actor_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What is attempted: an event (a catalog action such as ``iam:UpdateUserStatus``, or ``scim:CreateUser``,
    ``auth:SignIn``), the resource it touches and a summary of the change."""

    event: str
    resource_type: str | None = None
    resource_id: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)

    def about(self, resource_id: str | None = None, **summary: Any) -> Change:
        """The same change with its resource id (known after a create) and more summary."""
        return replace(self, resource_id=resource_id or self.resource_id, summary={**self.summary, **summary})


def mask(value: Any) -> Any:
    """``value`` with every secret replaced by :data:`MASK` (keys naming a secret, at any depth)."""
    if isinstance(value, Mapping):
        return {str(k): MASK if _is_secret(str(k)) and _has_secret(v) else mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(item) for item in value]
    if isinstance(value, str) and len(value) > MAX_SUMMARY_TEXT:
        return value[:MAX_SUMMARY_TEXT] + "…"
    return value


def _has_secret(value: Any) -> bool:
    """A value that can hold a secret: not empty, not a switch (``password_sign_in: true`` is no secret)."""
    return value not in (None, "") and not isinstance(value, bool)


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered not in _NOT_SECRET and any(word in lowered for word in _SECRET_WORDS)


def outcome_of(status: int) -> str:
    """``success`` below 400, ``refused`` for 401/403, ``failed`` otherwise."""
    if status < 400:
        return "success"
    return "refused" if status in (401, 403) else "failed"


def record(
    connection: Connection,
    origin: Origin,
    change: Change,
    *,
    status: int = 200,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Write one record in the caller's transaction."""
    store.insert(
        connection,
        AuditRecord(
            occurred_at=now or utcnow(),
            source=origin.source,
            event=change.event,
            actor=origin.actor,
            actor_id=origin.actor_id,
            resource_type=change.resource_type,
            resource_id=change.resource_id,
            ip=origin.ip,
            user_agent=origin.user_agent,
            outcome=outcome_of(status),
            status=status,
            error=error[:MAX_ERROR] if error else None,
            summary=mask(dict(change.summary)),
        ),
    )


def _failure(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, GatehouseError):
        return exc.status, exc.detail
    return 500, "internal error"


Describe = Callable[[Any, Change], Change]


def _recorded(
    origin: Origin, change: Change, work: Callable[[Connection], T], describe: Describe | None, status: int
) -> Callable[[Connection], T]:
    """``work``, then its success record, in the same transaction."""

    def run(connection: Connection) -> T:
        result = work(connection)
        record(connection, origin, describe(result, change) if describe else change, status=status)
        return result

    return run


async def audited(
    db: Database,
    origin: Origin,
    change: Change,
    work: Callable[[Connection], T],
    *,
    describe: Describe | None = None,
    status: int = 200,
) -> T:
    """Run ``work`` in a write transaction that also writes its audit record (see the module).

    ``describe(result, change)`` may complete the change from the work's result (a created id, say).
    """

    try:
        return await db.write(_recorded(origin, change, work, describe, status))
    except Exception as exc:
        failed_status, detail = _failure(exc)
        await record_apart(db, origin, change, failed_status, detail)
        raise


def audited_sync(
    db: Database,
    origin: Origin,
    change: Change,
    work: Callable[[Connection], T],
    *,
    describe: Describe | None = None,
) -> T:
    """:func:`audited` for synchronous callers (the CLI, whose successes are all 200)."""
    try:
        with db.transaction() as connection:
            return _recorded(origin, change, work, describe, 200)(connection)
    except Exception as exc:
        failed_status, detail = _failure(exc)
        try:
            with db.transaction() as connection:
                record(connection, origin, change, status=failed_status, error=detail)
        except Exception:  # the original error matters more than its record
            log.exception("could not record a failed %s in the audit log", change.event)
        raise


async def record_apart(db: Database, origin: Origin, change: Change, status: int, error: str | None = None) -> None:
    """Record an attempt in a transaction of its own (refused and failed attempts, sign-in failures).

    A failure to record is logged, never raised: it must not hide the error being reported.
    """
    try:
        await db.write(lambda c: record(c, origin, change, status=status, error=error))
    except Exception:
        log.exception("could not record %s in the audit log", change.event)


async def purge_expired(db: Database, retention: timedelta, now: datetime | None = None) -> int:
    """Delete every record older than ``retention``, batch by batch; how many went."""
    before = (now or utcnow()) - retention
    total = 0
    while True:
        gone = await db.write(lambda c: store.purge(c, before))
        total += gone
        if gone < store.PURGE_BATCH:
            return total
