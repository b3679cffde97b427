"""Organization → Settings → Provisioning activity: the SCIM requests Gatehouse recorded, paged and filtered,
with requests and errors per hour over the last day (``iam:GetSCIMProvisioning``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gatehouse.errors import InvalidInput
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.provisioning import READ
from gatehouse.store import scim_activity_pages as pages
from gatehouse.store.database import Connection
from gatehouse.store.scim_activity import Activity
from gatehouse.store.scim_activity_pages import ActivityFilter, Hour

PAGE_SIZES: Final = (25, 50, 100)
OUTCOMES: Final = ("", "failed", "succeeded")
METHODS: Final = ("", "GET", "POST", "PUT", "PATCH", "DELETE")


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

    @property
    def peak(self) -> int:
        return max((hour.requests for hour in self.hours), default=0)


def wanted_of(outcome: str, token: str, method: str) -> ActivityFilter:
    """The filter asked for; a value the page never offers is a clear :class:`InvalidInput`."""
    if outcome not in OUTCOMES:
        raise InvalidInput("Choose the outcome among all, failed and succeeded.")
    if method.upper() not in METHODS:
        raise InvalidInput("Choose the method among GET, POST, PUT, PATCH and DELETE.")
    return ActivityFilter(outcome, token[:100], method.upper())


def activity(
    connection: Connection, principal: Principal, wanted: ActivityFilter, page: int, per_page: int, now: datetime
) -> ActivityView:
    """One page of the provisioning log (``page`` from 1, clamped to the last), the chart's hours and the
    token names to filter by."""
    require(principal, READ, ORGANIZATION)
    if per_page not in PAGE_SIZES:
        raise InvalidInput(f"Choose {', '.join(map(str, PAGE_SIZES))} requests a page.")
    total = pages.page(connection, wanted, 0, 1).total
    last = max(1, -(-total // per_page))
    page = min(max(page, 1), last)
    found = pages.page(connection, wanted, (page - 1) * per_page, per_page)
    return ActivityView(
        found.items,
        found.total,
        page,
        last,
        per_page,
        wanted,
        pages.hourly(connection, now),
        pages.token_names(connection),
    )
