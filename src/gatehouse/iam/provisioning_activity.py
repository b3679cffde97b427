"""Organization → Settings → Provisioning activity: the SCIM requests Gatehouse recorded, paged and filtered (token,
method, resource, status class, time), with requests and errors per hour over the last day; the count of failed
requests in the last hour for the SCIM Provisioning page; the same log for the admin API and the CLI. Reading any
of it is ``iam:GetSCIMProvisioning``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gatehouse.errors import InvalidInput
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.provisioning import READ
from gatehouse.store import scim_activity_pages as pages
from gatehouse.store.database import Connection
from gatehouse.store.records import utc_instant, utcnow
from gatehouse.store.scim_activity import RESOURCES, Activity
from gatehouse.store.scim_activity_pages import STATUSES, ActivityFilter, ActivityPage, Hour

PAGE_SIZES: Final = (25, 50, 100)
METHODS: Final = ("", "GET", "POST", "PUT", "PATCH", "DELETE")
PERIODS: Final = {"": None, "1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
"""Time filters the page offers: any time, the last hour, the last 24 hours, the last 7 days."""
MAX_LIMIT: Final = 500
"""The most requests one read of the API or the CLI returns."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """A filter as asked for (``period`` kept to show it again) and as the store runs it."""

    filter: ActivityFilter
    period: str = ""


@dataclass(frozen=True, slots=True)
class ActivityView:
    items: list[Activity]
    total: int
    page: int
    pages: int
    per_page: int
    wanted: ActivityFilter
    hours: list[Hour]
    tokens: list[str]
    period: str = ""

    @property
    def peak(self) -> int:
        return max((hour.requests for hour in self.hours), default=0)

    @property
    def filtered(self) -> bool:
        wanted = self.wanted
        chosen = (wanted.status, wanted.token, wanted.method, wanted.resource, wanted.since, wanted.until)
        return any(chosen)


def _time(name: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"Give {name} as an ISO 8601 time, e.g. 2026-12-06T09:30:00Z.") from None
    moment = utc_instant(found)
    if moment is None:
        raise InvalidInput(f"Give {name} between the years 1 and 9999 in UTC.")
    return moment


def wanted_of(
    status: str = "",
    token: str = "",
    method: str = "",
    resource: str = "",
    period: str = "",
    since: str = "",
    until: str = "",
    now: datetime | None = None,
) -> Wanted:
    """The filter asked for; a value never offered (a status, method, resource or period not in the lists, a time
    that is not ISO 8601, a range that ends before it starts) is a clear :class:`InvalidInput`."""
    if status.lower() not in STATUSES:
        raise InvalidInput("Choose the status among failed, succeeded, 2xx, 3xx, 4xx and 5xx.")
    if method.upper() not in METHODS:
        raise InvalidInput("Choose the method among GET, POST, PUT, PATCH and DELETE.")
    found = next((name for name in RESOURCES if name.lower() == resource.lower()), None) if resource else ""
    if found is None:
        raise InvalidInput("Choose the resource among Users, Groups, discovery and other.")
    if period not in PERIODS:
        raise InvalidInput("Choose the period among 1h, 24h and 7d.")
    start, end = _time("since", since), _time("until", until)
    if period and start is not None:
        raise InvalidInput("Give a period or a since time, not both.")
    window = PERIODS[period]
    if window is not None:
        start = (now or utcnow()) - window
    if start is not None and end is not None and end <= start:
        raise InvalidInput("The until time must come after the since time.")
    return Wanted(ActivityFilter(status.lower(), token[:100], method.upper(), found, start, end), period)


def activity(
    connection: Connection, principal: Principal, wanted: Wanted, page: int, per_page: int, now: datetime
) -> ActivityView:
    """One page of the provisioning log (``page`` from 1, clamped to the last), the chart's hours and the
    token names to filter by."""
    require(principal, READ, ORGANIZATION)
    if per_page not in PAGE_SIZES:
        raise InvalidInput(f"Choose {', '.join(map(str, PAGE_SIZES))} requests a page.")
    total = pages.count(connection, wanted.filter)
    last = max(1, -(-total // per_page))
    page = min(max(page, 1), last)
    found = pages.page(connection, wanted.filter, (page - 1) * per_page, per_page, total)
    return ActivityView(
        found.items,
        found.total,
        page,
        last,
        per_page,
        wanted.filter,
        pages.hourly(connection, now),
        pages.token_names(connection),
        wanted.period,
    )


def log(connection: Connection, principal: Principal, wanted: Wanted, offset: int, limit: int) -> ActivityPage:
    """The matching requests from ``offset``, at most ``limit`` (1 to :data:`MAX_LIMIT`), newest first, and how
    many match: the admin API's and the CLI's read."""
    require(principal, READ, ORGANIZATION)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"Ask for 1 to {MAX_LIMIT} requests at a time.")
    if not 0 <= offset <= 10_000_000:
        raise InvalidInput("The offset must be 0 or more.")
    return pages.page(connection, wanted.filter, offset, limit)


def failures_last_hour(connection: Connection, principal: Principal, now: datetime | None = None) -> int:
    """How many SCIM requests failed (4xx, 5xx) in the last hour: the SCIM Provisioning page links them."""
    require(principal, READ, ORGANIZATION)
    since = (now or utcnow()) - timedelta(hours=1)
    return pages.count(connection, ActivityFilter(status="failed", since=since))
