"""Organization → Audit Logs: the audit log, newest first, with filters, keyset paging and CSV / JSON export.

Thin handlers over :mod:`gatehouse.iam.audit_log`, which checks ``iam:GetAudit`` (the page) and
``iam:ExportAudits`` (the export) and the filters; the same filters and values as the admin API. Filters
are GET query parameters, so a filtered view is a link; paging walks a keyset cursor ("Older"), never an
offset. Dates are days in UTC: ``since`` from the start of its day, ``until`` through the end of its day.

An export streams (one batch of records at a time, each read on a short-lived connection), at most
:data:`~gatehouse.iam.audit_log.EXPORT_LIMIT` records, as an attachment. Exporting is itself recorded in
the audit log (``iam:ExportAudits``, with its filters), refused attempts included.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gatehouse.errors import Forbidden, GatehouseError, InvalidInput
from gatehouse.iam import audit_log
from gatehouse.iam.audit import SOURCES, Change
from gatehouse.iam.catalog import ACTIONS, GROUPS
from gatehouse.store.audit import OUTCOMES, AuditPage, AuditQuery, AuditRecord
from gatehouse.store.records import utcnow
from gatehouse.web.actions import change, refused
from gatehouse.web.audit_sentences import sentence
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/audit-logs"
PAGE_SIZE: Final = 50
FILTERS: Final = ("event", "actor", "resource", "source", "outcome", "since", "until")
FORMATS: Final[Mapping[str, tuple[str, str]]] = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}
PREFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("iam:*", "Every IAM event (iam:*)"),
    ("scim:*", "Every SCIM event (scim:*)"),
    ("auth:*", "Every sign-in and sign-out event (auth:*)"),
)
SOURCE_LABELS: Final[Mapping[str, str]] = {
    "dashboard": "Dashboard",
    "api": "API",
    "scim": "SCIM",
    "cli": "CLI",
    "sso": "SSO",
    "system": "System",
    "gateway": "Gateway (forward auth)",
}
OUTCOME_LABELS: Final[Mapping[str, str]] = {"success": "Success", "refused": "Refused", "failed": "Failed"}
NO_PERMISSION: Final = (
    "Viewing the audit log needs the iam:GetAudit permission. Ask an administrator for a role that grants it "
    "(the starter roles Viewer and Organization Admin do)."
)
NO_EXPORT: Final = (
    "Exporting the audit log needs the iam:ExportAudits permission. Ask an administrator for a role that "
    "grants it (the starter role Organization Admin does)."
)


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters as typed, echoed into the form and the links (:func:`parse_filters` checks them)."""

    raw: dict[str, str]

    def params(self, **changes: str | None) -> dict[str, str]:
        """The non-empty query parameters, with some changed (``None`` drops one)."""
        values: dict[str, str | None] = {**self.raw, **changes}
        return {key: value for key, value in values.items() if value}

    def url(self, path: str = BASE, **changes: str | None) -> str:
        kept = self.params(**changes)
        return f"{path}?{urlencode(kept)}" if kept else path

    @property
    def active(self) -> bool:
        return any(self.raw.values())


def typed_filters(params: Mapping[str, str]) -> Filters:
    """The filters of the page's query parameters, as typed (trimmed, cut to 255 characters)."""
    return Filters({name: params.get(name, "").strip()[:255] for name in FILTERS})


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: a day as YYYY-MM-DD.") from exc


def parse_filters(params: Mapping[str, str]) -> AuditQuery:
    """The filters of the page's query parameters, checked (:func:`gatehouse.iam.audit_log.audit_query`);
    unusable values are :class:`InvalidInput`. Days are UTC: ``since`` from the start of its day, ``until``
    through the end of its day."""
    raw = typed_filters(params).raw
    since, until = _day(raw["since"], "since"), _day(raw["until"], "until")
    return audit_log.audit_query(
        event=raw["event"],
        actor=raw["actor"],
        resource_id=raw["resource"],
        source=raw["source"],
        outcome=raw["outcome"],
        since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until and until < date.max else None,
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """A record as the table shows it."""

    record: AuditRecord
    summary_json: str

    @property
    def sentence(self) -> str:
        """The record in words, with the names recorded at the time (:mod:`gatehouse.web.audit_sentences`)."""
        return sentence(self.record)

    @property
    def resource(self) -> str:
        kind, rid = self.record.resource_type, self.record.resource_id
        if kind and rid:
            return f"{kind}/{rid}"
        return rid or kind or ""


def entries(found: AuditPage) -> list[Entry]:
    return [
        Entry(record, orjson.dumps(record.summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
        for record in found.records
    ]


SIGN_IN_EVENTS = ("auth:SignIn", "auth:SignOut", "auth:SingleLogout", "auth:ChangePassword")
SCIM_EVENTS = tuple(
    f"scim:{verb}{kind}" for kind in ("User", "Group") for verb in ("Create", "Replace", "Patch", "Delete")
)


def event_choices(current: str, seen: list[AuditRecord]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The event select's option groups: prefixes, the catalog's actions by group, then any other event seen
    on this page or asked for in the URL."""
    groups: list[tuple[str, list[tuple[str, str]]]] = [("Prefixes", list(PREFIXES))]
    known = {value for value, _ in PREFIXES}
    groups.append(("Sign-in", [(name, name) for name in SIGN_IN_EVENTS]))
    groups.append(("SCIM provisioning", [(name, name) for name in SCIM_EVENTS]))
    known.update(SIGN_IN_EVENTS, SCIM_EVENTS)
    for key, title in GROUPS.items():
        names = [action.name for action in ACTIONS if action.group == key]
        groups.append((title, [(name, name) for name in names]))
        known.update(names)
    others = sorted({record.event for record in seen} - known)
    if current and current not in known and current not in others:
        others.append(current)
    if others:
        groups.append(("Other events", [(name, name) for name in others]))
    return groups


def export_name(extension: str, now: datetime) -> str:
    return f"gatehouse-audit-{now.strftime('%Y%m%dT%H%M%SZ')}.{extension}"


# ---------------------------------------------------------------------------------------- routes


def _refused(request: Request, exc: GatehouseError) -> Response:
    """A refusal in the audit log's words: the permission that is missing (403), or what is wrong (400)."""
    if exc.status == 403:
        exc = Forbidden(NO_EXPORT if f"{audit_log.EXPORT} " in exc.detail else NO_PERMISSION)
    if audit_log.may_read(principal_of(request)):
        return refused(request, exc, BASE, "Back to the audit log")
    return refused(request, exc, "/", "Back to the dashboard")


def _shown(filters: Filters, found: AuditPage, cursor: str | None) -> dict[str, Any]:
    """What the page shows of a search: the records, the links around them, and the filters' choices."""
    return {
        "filters": filters,
        "entries": entries(found),
        "next_url": filters.url(cursor=found.next_cursor) if found.next_cursor else None,
        "newest_url": filters.url(cursor=None) if cursor else None,
        "export_urls": {fmt: filters.url(f"{BASE}/export", format=fmt) for fmt in FORMATS},
        "event_groups": event_choices(filters.raw["event"], found.records),
        "sources": [(value, SOURCE_LABELS.get(value, value)) for value in SOURCES],
        "outcomes": [(value, OUTCOME_LABELS.get(value, value)) for value in OUTCOMES],
        "source_labels": SOURCE_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "page_size": PAGE_SIZE,
        "export_limit": audit_log.EXPORT_LIMIT,
        "paged": cursor is not None,
    }


@page
async def listing(request: Request) -> Response:
    dashboard, principal, params = dashboard_of(request), principal_of(request), request.query_params
    cursor = params.get("cursor", "")[:512] or None
    error: str | None = None
    try:  # the filters are read once the permission is checked
        found = await dashboard.db.read(
            lambda c: audit_log.search(c, principal, lambda: parse_filters(params), PAGE_SIZE, cursor)
        )
    except Forbidden as exc:
        return _refused(request, exc)
    except InvalidInput as exc:
        error, found = exc.detail, AuditPage([], None)
    return dashboard.render(
        request, "audit/index.html", status=400 if error else 200, error=error,
        retention_days=dashboard.settings.audit_retention_days, **_shown(typed_filters(params), found, cursor),
    )  # fmt: skip


@page
async def export(request: Request) -> Response:
    principal, params = principal_of(request), request.query_params
    chosen = params.get("format", "csv")
    try:
        if chosen not in FORMATS:
            raise InvalidInput("format: csv or json.")
        query = parse_filters(params)
    except InvalidInput as exc:
        return _refused(request, exc)
    what = Change(audit_log.EXPORT, summary={"format": chosen, **typed_filters(params).params()})
    try:
        await change(request, what, lambda c: audit_log.require_export(principal))
    except GatehouseError as exc:
        return _refused(request, exc)
    records = audit_log.export_stream(dashboard_of(request).db.reader, principal, query)
    media_type, extension = FORMATS[chosen]
    body: Iterator[str] = audit_log.to_csv_lines(records) if chosen == "csv" else audit_log.to_json_chunks(records)
    headers = {
        "Content-Disposition": f'attachment; filename="{export_name(extension, utcnow())}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(body, media_type=media_type, headers=headers)


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(f"{BASE}/export", export, methods=["GET"]),
]
