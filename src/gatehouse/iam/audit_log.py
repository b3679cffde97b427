"""Reading the audit log (Organization → Audit): the permission-checked use cases shared by the admin API
and the dashboard, and the CSV / JSON serializers of its export.

API7 parity (Tokens and audit logs, "Audit logs"): entries are filtered by event, operator (actor),
resource id, source, outcome and a date range, listed newest first, and exported as JSON or CSV.

- :func:`search` — one page, newest first, with a keyset cursor to the next (older) page; needs
  ``iam:GetAudit`` on the organization;
- :func:`export_rows` / :func:`export_stream` / :func:`export_page` — the records of an export, at
  most :data:`EXPORT_LIMIT`; need ``iam:ExportAudits`` on the organization;
- :func:`audit_query` — the filters, checked (a surface turns raw parameters into an
  :class:`~gatehouse.store.audit.AuditQuery` with it, so both surfaces accept the same values);
- :func:`to_csv_lines` / :func:`to_json_chunks` — serializers that stream (one line or one record at a
  time, never the whole export in memory).

Functions take an open connection and never commit; they raise :mod:`gatehouse.errors`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Final

import orjson

from gatehouse.errors import InvalidInput
from gatehouse.iam.audit import SOURCES
from gatehouse.iam.authorizer import Principal, allowed, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.csv_cells import csv_cell
from gatehouse.store import audit as store
from gatehouse.store.audit import MAX_PAGE_SIZE, OUTCOMES, AuditPage, AuditQuery, AuditRecord
from gatehouse.store.database import Connection
from gatehouse.store.records import utc_instant

READ: Final = "iam:GetAudit"
EXPORT: Final = "iam:ExportAudits"
EXPORT_LIMIT: Final = 100_000
"""The most records one export holds (the newest ones matching)."""
MAX_FILTER: Final = 255

CSV_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "occurred_at",
    "source",
    "event",
    "actor",
    "actor_id",
    "resource_type",
    "resource_id",
    "ip",
    "user_agent",
    "outcome",
    "status",
    "error",
    "summary",
)

__all__ = [
    "EXPORT",
    "EXPORT_LIMIT",
    "READ",
    "AuditPage",
    "AuditQuery",
    "AuditRecord",
    "audit_query",
    "export_page",
    "export_rows",
    "export_stream",
    "may_read",
    "require_export",
    "search",
    "to_csv_lines",
    "to_json_chunks",
]


# ------------------------------------------------------------------------------------------ filters


def _text(value: str | None, what: str) -> str:
    clean = (value or "").strip()
    if len(clean) > MAX_FILTER or not clean.isprintable():
        raise InvalidInput(f"{what}: at most {MAX_FILTER} printable characters.")
    return clean


def _utc(value: datetime | None, what: str) -> datetime | None:
    if value is None:
        return None
    moment = utc_instant(value)  # e.g. 0001-01-01T00:00:01+23:00 lies before the first representable instant
    if moment is None:
        raise InvalidInput(f"{what}: a moment between the years 1 and 9999 in UTC.")
    return moment


def audit_query(
    *,
    event: str | None = None,
    actor: str | None = None,
    resource_id: str | None = None,
    source: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditQuery:
    """The filters of a search or an export, checked: ``event`` is exact or a prefix ending in ``*``
    (``scim:*``); ``actor`` a user name as logged or a user id; ``source`` one of
    :data:`~gatehouse.iam.audit.SOURCES`; ``outcome`` one of ``success``, ``refused``, ``failed``;
    ``since`` (inclusive) and ``until`` (exclusive) are read as UTC when they carry no zone."""
    clean_event = _text(event, "event")
    if "*" in clean_event[:-1]:
        raise InvalidInput("event: an exact event name, or a prefix ending in '*' (e.g. 'iam:*').")
    clean_source = _text(source, "source")
    if clean_source and clean_source not in SOURCES:
        raise InvalidInput(f"source: one of {', '.join(SOURCES)}.")
    clean_outcome = _text(outcome, "outcome")
    if clean_outcome and clean_outcome not in OUTCOMES:
        raise InvalidInput(f"outcome: one of {', '.join(OUTCOMES)}.")
    start, end = _utc(since, "since"), _utc(until, "until")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("until: must be later than since.")
    return AuditQuery(
        event=clean_event,
        actor=_text(actor, "actor"),
        resource_id=_text(resource_id, "resource_id"),
        source=clean_source,
        outcome=clean_outcome,
        since=start,
        until=end,
    )


# ------------------------------------------------------------------------------------------ use cases


def search(
    connection: Connection,
    principal: Principal,
    query: AuditQuery | Callable[[], AuditQuery],
    limit: int = 50,
    cursor: str | None = None,
) -> AuditPage:
    """One page of matching records, newest first (``iam:GetAudit``); ``limit`` is 1 to
    :data:`~gatehouse.store.audit.MAX_PAGE_SIZE`; a bad ``cursor`` is :class:`InvalidInput`.

    ``query`` may be the function that reads the filters (:func:`audit_query` of a request's parameters): it is
    called once the permission is checked, so a refused caller learns nothing of what was wrong with them."""
    require(principal, READ, ORGANIZATION)
    checked = query() if callable(query) else query
    return store.search(connection, checked, min(max(limit, 1), MAX_PAGE_SIZE), cursor or None)


def may_read(principal: Principal) -> bool:
    """Whether the principal may read the audit log (``iam:GetAudit``), to offer the way to it."""
    return allowed(principal, READ, ORGANIZATION)


def require_export(principal: Principal) -> None:
    """Raise :class:`~gatehouse.errors.Forbidden` unless the principal may export (``iam:ExportAudits``):
    a streaming surface checks it before the first byte goes out."""
    require(principal, EXPORT, ORGANIZATION)


def export_rows(
    connection: Connection, principal: Principal, query: AuditQuery, limit: int = EXPORT_LIMIT
) -> Iterator[AuditRecord]:
    """Up to ``limit`` (at most :data:`EXPORT_LIMIT`) matching records, newest first, read page by page.

    The permission is checked at once (not when the iterator is first advanced); the connection must stay
    open while the records are read."""
    require_export(principal)
    return store.iterate(connection, query, limit=min(max(limit, 0), EXPORT_LIMIT))


def export_page(
    connection: Connection, principal: Principal, query: AuditQuery, limit: int, cursor: str | None = None
) -> AuditPage:
    """One page of an export (``iam:ExportAudits``), for surfaces that stream an export as a series of
    short reads rather than over one open connection."""
    require_export(principal)
    return store.search(connection, query, min(max(limit, 1), MAX_PAGE_SIZE), cursor or None)


def export_stream(
    reader: Callable[[], AbstractContextManager[Connection]],
    principal: Principal,
    query: AuditQuery,
    limit: int = EXPORT_LIMIT,
    batch: int = MAX_PAGE_SIZE,
) -> Iterator[AuditRecord]:
    """Up to ``limit`` (at most :data:`EXPORT_LIMIT`) matching records, newest first, each batch read on a
    connection of its own from ``reader`` (``Database.reader``), so a slow client never holds a database
    connection. The permission is checked at once; give the iterator to a streaming response."""
    require_export(principal)
    return _batches(reader, principal, query, min(max(limit, 0), EXPORT_LIMIT), batch)


def _batches(
    reader: Callable[[], AbstractContextManager[Connection]],
    principal: Principal,
    query: AuditQuery,
    limit: int,
    batch: int,
) -> Iterator[AuditRecord]:
    cursor: str | None = None
    left = limit
    while left > 0:
        with reader() as connection:
            page = export_page(connection, principal, query, min(batch, left), cursor)
        yield from page.records
        left -= len(page.records)
        if page.next_cursor is None or not page.records:
            return
        cursor = page.next_cursor


# ------------------------------------------------------------------------------------------ serializers


def to_csv_lines(records: Iterable[AuditRecord], *, header: bool = True) -> Iterator[str]:
    """CSV (RFC 4180, CRLF line ends): a header line (unless ``header=False``, for a continued export),
    then one line per record in :data:`CSV_COLUMNS` order; ``summary`` is compact JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    if header:
        yield line(list(CSV_COLUMNS))
    for record in records:
        row = record.as_dict()
        row["occurred_at"] = record.occurred_at
        yield line([csv_cell(row[column]) for column in CSV_COLUMNS])


def to_json_chunks(records: Iterable[AuditRecord]) -> Iterator[str]:
    """A JSON array of :meth:`~gatehouse.store.audit.AuditRecord.as_dict` objects, one record per chunk
    (and one per line, so the file diffs and greps well)."""
    yield "["
    first = True
    for record in records:
        text = orjson.dumps(record.as_dict(), default=str).decode()
        yield ("\n" if first else ",\n") + text
        first = False
    yield "\n]\n" if not first else "]\n"
