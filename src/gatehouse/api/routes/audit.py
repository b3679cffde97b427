"""The audit log (API7 parity: Organization → Audit; ``GET /api/audit_logs`` and its export as JSON or CSV).

Thin routes over :mod:`gatehouse.iam.audit_log`: a search needs ``iam:GetAudit``, an export
``iam:ExportAudits`` (both on the organization). An export is streamed batch by batch (each batch read on
a connection of its own), at most :data:`~gatehouse.iam.audit_log.EXPORT_LIMIT` records, and is itself
recorded in the audit log (``iam:ExportAudits``, with its filters).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import StreamingResponse

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import ApiDep
from gatehouse.api.downloads import MEDIA_TYPES, Format, attachment
from gatehouse.api.errors import responses
from gatehouse.api.schemas_admin import AuditEntry, AuditLogPage
from gatehouse.iam import audit_log
from gatehouse.iam.audit import Change
from gatehouse.store.audit import MAX_PAGE_SIZE, AuditQuery

router = APIRouter(prefix="/audit-logs", tags=["Audit logs"])
Text = Annotated[str | None, Query(max_length=audit_log.MAX_FILTER)]
CHUNK_BYTES: Final = 64 * 1024


async def filters(
    event: Annotated[
        str | None,
        Query(max_length=audit_log.MAX_FILTER, description="An exact event (`iam:DeleteUser`) or a prefix (`scim:*`)."),
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=audit_log.MAX_FILTER, description="An actor as logged, or a user id.")
    ] = None,
    resource_id: Text = None,
    source: Annotated[Literal["dashboard", "api", "scim", "cli", "sso", "system", "gateway"] | None, Query()] = None,
    outcome: Annotated[Literal["success", "refused", "failed"] | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="From this moment (inclusive; UTC if no zone).")] = None,
    until: Annotated[datetime | None, Query(description="Before this moment (exclusive).")] = None,
) -> AuditQuery:
    """The filters of a search or an export, checked by :func:`gatehouse.iam.audit_log.audit_query` (400)."""
    return audit_log.audit_query(
        event=event,
        actor=actor,
        resource_id=resource_id,
        source=source,
        outcome=outcome,
        since=since,
        until=until,
    )


Filters = Annotated[AuditQuery, Depends(filters)]


@router.get("", summary="Search the audit log", responses=responses(400, 401, 403, 422))
async def search_audit_log(
    caller: CallerDep,
    api: ApiDep,
    query: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")] = None,
) -> AuditLogPage:
    """Records newest first, filtered; follow `next_cursor` for older pages (`iam:GetAudit`)."""
    page = await api.db.read(lambda c: audit_log.search(c, caller.principal, query, limit, cursor))
    return AuditLogPage.of(page)


@router.get(
    "/export",
    response_class=StreamingResponse,
    summary="Export the audit log",
    description="The matching records, newest first, as CSV or a JSON array, streamed; at most "
    f"{audit_log.EXPORT_LIMIT:,} (`limit`). Needs `iam:ExportAudits`; the export is recorded in the log.",
    responses={
        200: {
            "description": "The records.",
            "model": list[AuditEntry],
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **responses(400, 401, 403, 422),
    },
)
async def export_audit_log(
    caller: CallerDep,
    api: ApiDep,
    query: Filters,
    format: Annotated[Format, Query(description="CSV (RFC 4180) or a JSON array.")] = "csv",
    limit: Annotated[int, Query(ge=1, le=audit_log.EXPORT_LIMIT)] = audit_log.EXPORT_LIMIT,
) -> StreamingResponse:
    summary: dict[str, Any] = {"format": format, "limit": limit, **_described(query)}
    change = Change(audit_log.EXPORT, "organization", None, summary)
    await api.change(caller, change, lambda c: audit_log.require_export(caller.principal))
    records = audit_log.export_stream(api.db.reader, caller.principal, query, limit)
    body = audit_log.to_json_chunks(records) if format == "json" else audit_log.to_csv_lines(records)
    headers = {**attachment("gatehouse-audit", format), "Cache-Control": "no-store"}
    return StreamingResponse(_chunked(body), media_type=MEDIA_TYPES[format], headers=headers)


def _chunked(parts: Iterator[str], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The serializer's lines joined into chunks of about ``size`` bytes: each chunk is one hop to the
    thread pool and one ASGI message, rather than one per record."""
    pending: list[str] = []
    length = 0
    for part in parts:
        pending.append(part)
        length += len(part)
        if length >= size:
            yield "".join(pending).encode()
            pending, length = [], 0
    if pending:
        yield "".join(pending).encode()


def _described(query: AuditQuery) -> dict[str, Any]:
    """The filters of an export, as recorded."""
    found: dict[str, Any] = {}
    for key in ("event", "actor", "resource_id", "source", "outcome"):
        value = getattr(query, key)
        if value:
            found[key] = value
    for key in ("since", "until"):
        moment = getattr(query, key)
        if moment is not None:
            found[key] = moment.isoformat()
    return found
