"""Organization → Settings → Provisioning activity (``/organization/settings/scim/activity``): every SCIM request
Gatehouse recorded (within its retention), filtered by status class, token, method, resource and time, paged, with
a chart of requests and errors per hour over the last day (an SVG drawn on the server: no script); a failed
request's bodies (redacted), User-Agent and client IP open below its row (``<details>``, no script). A thin handler
over :func:`gatehouse.iam.provisioning_activity.activity`."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.iam import provisioning_activity as uc
from gatehouse.numerals import whole_number
from gatehouse.store.records import utcnow
from gatehouse.store.scim_activity import RESOURCES, Recorder
from gatehouse.web.actions import refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

PATH: Final = "/organization/settings/scim/activity"
DEFAULT_PER_PAGE: Final = 50
STATUS_CHOICES: Final = (
    ("", "All"), ("failed", "Failed (4xx, 5xx)"), ("succeeded", "Succeeded"), ("2xx", "2xx"), ("4xx", "4xx"),
    ("5xx", "5xx"),
)  # fmt: skip
PERIOD_CHOICES: Final = (("", "Any time"), ("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"))


def _number(text: str | None, default: int) -> int:
    number = whole_number(text, 6)
    return default if number is None else number


def page_url(view: uc.ActivityView, page_number: int) -> str:
    """The address of another page of the same filtered list."""
    wanted = view.wanted
    query = {
        "status": wanted.status, "token": wanted.token, "method": wanted.method, "resource": wanted.resource,
        "period": view.period,
    }  # fmt: skip
    kept = {key: value for key, value in query.items() if value}
    return f"{PATH}?{urlencode({**kept, 'per_page': view.per_page, 'page': page_number})}"


@page
async def activity(request: Request) -> Response:
    dashboard, principal, query = dashboard_of(request), principal_of(request), request.query_params
    recorder: Recorder | None = getattr(request.app.state, "scim_activity", None)
    if recorder is not None:
        await recorder.flush_async(dashboard.db)  # this process's latest requests, without waiting for the tick
    try:
        wanted = uc.wanted_of(
            query.get("status") or query.get("outcome", ""), query.get("token", ""), query.get("method", ""),
            query.get("resource", ""), query.get("period", ""),
        )  # fmt: skip
        number, per_page = _number(query.get("page"), 1), _number(query.get("per_page"), DEFAULT_PER_PAGE)
        view = await dashboard.db.read(lambda c: uc.activity(c, principal, wanted, number, per_page, utcnow()))
    except GatehouseError as exc:
        return refused(request, exc, PATH if exc.status == 400 else "/", "Back to Provisioning activity")
    settings = dashboard.settings
    return dashboard.render(
        request, "settings/activity.html", view=view, page_url=page_url, keep_rows=settings.scim_activity_keep_rows,
        reads_per_second=settings.scim_activity_reads_per_second,
        keep_days=settings.scim_activity_keep_days, page_sizes=uc.PAGE_SIZES, statuses=STATUS_CHOICES,
        periods=PERIOD_CHOICES, resources=RESOURCES, dropped=recorder.dropped if recorder is not None else 0,
    )  # fmt: skip


ROUTES: Final = [Route(PATH, activity, methods=["GET"])]
