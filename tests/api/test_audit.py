"""The audit log through the admin API on both databases (search with filters and cursor paging, export as
CSV and JSON, permissions), and the shared read use cases of :mod:`gatehouse.iam.audit_log` (filters,
batched export, serializers)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.errors import Forbidden, InvalidInput
from gatehouse.iam import audit_log
from gatehouse.iam.audit import Change, Origin, record
from gatehouse.iam.authorizer import load_principal
from gatehouse.store.audit import AuditRecord
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import PASSWORD, ROOT, World, assert_error, audit, key


def write(
    db: Database, count: int, *, event: str = "scim:CreateUser", actor: str = "SCIM token okta", **more: Any
) -> None:
    """``count`` records, one second apart, the newest now."""
    now = utcnow()
    with db.transaction() as connection:
        for index in range(count):
            change = Change(event, "user", f"user-{index}", {"n": index, **more})
            record(connection, Origin("scim", actor), change, now=now - timedelta(seconds=count - index))
    return now


# ------------------------------------------------------------------------------------------ search


def test_search_filters_and_pages(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    written = write(db, 7)
    client.post("/api/users", headers=admin, json={"user_name": "nina", "password": PASSWORD})
    first = client.get("/api/audit-logs?limit=3", headers=admin).json()
    assert first["items"][0]["event"] == "iam:InviteUser" and first["items"][0]["actor"] == "admin (token ci)"
    seen = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/audit-logs?limit=3&cursor={cursor}", headers=admin).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 8
    scim = client.get("/api/audit-logs?event=scim:*&limit=100", headers=admin).json()["items"]
    assert len(scim) == 7 and all(item["source"] == "scim" for item in scim)
    exact = client.get("/api/audit-logs?event=iam:InviteUser", headers=admin).json()["items"]
    assert [(item["outcome"], item["status"]) for item in exact] == [("success", 201)]
    by_resource = client.get("/api/audit-logs?resource_id=user-3", headers=admin).json()["items"]
    assert [item["summary"] for item in by_resource] == [{"n": 3}]
    by_actor = client.get("/api/audit-logs", headers=admin, params={"actor": "SCIM token okta"}).json()["items"]
    assert len(by_actor) == 7
    source = client.get("/api/audit-logs?source=api&outcome=success", headers=admin).json()["items"]
    assert [item["event"] for item in source] == ["iam:InviteUser"]
    since = (written - timedelta(seconds=3, milliseconds=500)).isoformat()
    recent = client.get("/api/audit-logs", headers=admin, params={"since": since, "event": "scim:*"}).json()
    assert [item["resource_id"] for item in recent["items"]] == ["user-6", "user-5", "user-4"]


def test_search_refusals(client: TestClient, db: Database, world: World, admin: dict[str, str]) -> None:
    assert client.get("/api/audit-logs", headers=key(world.viewer_token)).status_code == 200  # Viewers read it
    assert_error(client.get("/api/audit-logs?cursor=garbage", headers=admin), 400, "invalid_input")
    assert_error(client.get("/api/audit-logs?event=iam:*User", headers=admin), 400)
    now = utcnow()
    params = {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}
    assert_error(client.get("/api/audit-logs", headers=admin, params=params), 400)
    assert_error(client.get("/api/audit-logs?limit=501", headers=admin), 422)
    assert_error(client.get("/api/audit-logs?source=mail", headers=admin), 422)
    assert_error(client.get("/api/audit-logs?since=yesterday", headers=admin), 422)
    # A moment that cannot be turned to UTC (before year 1) is a 400 that says so, never a 500.
    early = client.get("/api/audit-logs?until=0001-01-01T00:00:01%2B23:00", headers=admin)
    assert_error(early, 400, "invalid_input")
    assert "until" in early.json()["error"]["detail"]
    from support.api import roleless

    _, token = roleless(db, "nobody")
    assert_error(client.get("/api/audit-logs", headers=key(token)), 403)


# ------------------------------------------------------------------------------------------ export


def test_export_csv(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    write(db, 3, actor="=HYPERLINK(1)")
    response = client.get("/api/audit-logs/export?format=csv&event=scim:*", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["resource_id"] for row in rows] == ["user-2", "user-1", "user-0"]
    assert rows[0]["actor"] == "'=HYPERLINK(1)"  # no formula reaches a spreadsheet
    assert orjson.loads(rows[0]["summary"]) == {"n": 2}
    [recorded] = audit(db, "iam:ExportAudits")
    assert recorded.outcome == "success" and recorded.summary == {"format": "csv", "limit": 100000, "event": "scim:*"}


def test_export_json_with_a_limit(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    write(db, 5)
    response = client.get("/api/audit-logs/export?format=json&limit=2&source=scim", headers=admin)
    assert response.headers["content-type"].startswith("application/json")
    items = response.json()
    assert [item["resource_id"] for item in items] == ["user-4", "user-3"]
    assert set(items[0]) >= {"id", "occurred_at", "event", "actor", "outcome", "summary"}
    empty = client.get("/api/audit-logs/export?format=json&event=nothing", headers=admin)
    assert empty.json() == []


def test_export_needs_its_own_permission(client: TestClient, db: Database, world: World) -> None:
    viewer = key(world.viewer_token)
    assert_error(client.get("/api/audit-logs/export", headers=viewer), 403)
    assert client.get("/api/audit-logs/export", headers=key(world.org_admin_token)).status_code == 200
    assert_error(client.get("/api/audit-logs/export?format=xml", headers=viewer), 422)
    assert [(r.outcome, r.actor) for r in audit(db, "iam:ExportAudits")] == [
        ("success", "olga (token ci)"),
        ("refused", "vera (token ci)"),
    ]


# ------------------------------------------------------------------------------------------ the use cases


def test_export_stream_reads_batch_by_batch(db: Database, world: World) -> None:
    write(db, 7)
    query = audit_log.audit_query(event="scim:*")
    records = list(audit_log.export_stream(db.reader, ROOT, query, limit=5, batch=2))
    assert [r.resource_id for r in records] == ["user-6", "user-5", "user-4", "user-3", "user-2"]
    everything = list(audit_log.export_stream(db.reader, ROOT, query, batch=3))
    assert len(everything) == 7
    with db.reader() as connection:
        assert len(list(audit_log.export_rows(connection, ROOT, query, limit=4))) == 4
        viewer = load_principal(connection, world.viewer_id)
        with pytest.raises(Forbidden):
            audit_log.export_rows(connection, viewer, query)  # checked at once, not when iterated
        with pytest.raises(Forbidden):
            audit_log.export_stream(db.reader, viewer, query)
        assert audit_log.search(connection, viewer, query, limit=2).next_cursor is not None


def test_audit_query_checks_its_filters() -> None:
    assert audit_log.audit_query(event=" iam:* ", source="api").event == "iam:*"
    naive = audit_log.audit_query(since=datetime(2030, 1, 1, 12))
    assert naive.since == datetime(2030, 1, 1, 12, tzinfo=UTC)
    for bad in ({"event": "a*b"}, {"source": "mail"}, {"outcome": "maybe"}, {"actor": "x" * 300}, {"actor": "\x00"}):
        with pytest.raises(InvalidInput):
            audit_log.audit_query(**bad)


def test_serializers() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    entry = AuditRecord(
        when, "api", "iam:X", "+alice", "id-1", "user", "u,1", None, None, "success", 200, None, {"k": "v"}
    )
    lines = list(audit_log.to_csv_lines([entry, entry]))
    assert lines[0].startswith("id,occurred_at,") and len(lines) == 3 and lines[1].endswith("\r\n")
    row = next(csv.DictReader(io.StringIO("".join(lines))))
    assert (row["actor"], row["resource_id"], row["occurred_at"]) == ("'+alice", "u,1", when.isoformat())
    assert list(audit_log.to_csv_lines([], header=False)) == []
    assert orjson.loads("".join(audit_log.to_json_chunks([entry, entry]))) == [entry.as_dict(), entry.as_dict()]
    assert orjson.loads("".join(audit_log.to_json_chunks([]))) == []
