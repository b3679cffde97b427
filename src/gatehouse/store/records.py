"""Plain records that the repositories return: copies, never live ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC by construction."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def optional_utc(value: datetime | None) -> datetime | None:
    """:func:`as_utc` of a nullable column's value (``None`` stays ``None``)."""
    return None if value is None else as_utc(value)


def utc_instant(value: datetime) -> datetime | None:
    """A given moment in UTC (a naive one taken as UTC already), or ``None`` when that instant lies before the year
    1 or after 9999 in UTC (``0001-01-01T00:00:00+05:00``), which no ``datetime`` holds: ``astimezone`` would raise
    ``OverflowError`` where the caller owes a clear refusal."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


@dataclass(frozen=True, slots=True)
class StoredResource:
    """A stored SCIM resource: its canonical JSON text and the columns its ``meta`` derives from."""

    id: str
    data: str
    version: int
    created: datetime
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class StoredUser(StoredResource):
    """A stored user, with what only the server knows about it."""

    source: str
    super_admin: bool
    password_hash: str | None
    active: bool
    user_name: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A link to another resource as it appears in ``groups`` or ``members``: id and display name."""

    id: str
    display: str | None


@dataclass(frozen=True, slots=True)
class UserBasics:
    """What a user's page and a user of the access review start with: who the user is, where the record comes
    from (``local``, ``scim``, ``sso``), whether it may sign in, and whether it is a Super Admin account."""

    id: str
    user_name: str
    display_name: str | None
    source: str
    active: bool
    super_admin: bool
