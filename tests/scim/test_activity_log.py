"""The provisioning log as an admin debugging an IdP reads it: the bodies of failed requests (redacted at any depth,
capped, never for successes), the IdP's User-Agent, the resource, every filter as SQL, retention by count and by
days, and the bad values of its settings (on both databases where the store is involved)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from starlette.testclient import TestClient

from gatehouse.config import Settings, settings_problems
from gatehouse.errors import InvalidInput
from gatehouse.iam import provisioning_activity as uc
from gatehouse.iam.authorizer import Principal, super_admin_role
from gatehouse.scim.activity import ActivityMiddleware, ActivityRecorder, resource_of
from gatehouse.scim.activity_bodies import CAPTURE_LIMIT, MAX_BODY, REDACTED, redact, redact_text, stored_body
from gatehouse.store import scim_activity_pages as pages
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.scim_activity import write
from gatehouse.store.scim_activity_pages import ActivityFilter
from gatehouse.store.tables import scim_activity
from support.coroutines import run_apart
from support.scim import okta_user

SCIM = "/scim/v2"
SECRET = "Sup3r-Secret-Passw0rd"
ROOT = Principal(None, "test", True, True, (super_admin_role(),))


def rows(db: Database) -> list[dict[str, Any]]:
    with db.snapshot() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(scim_activity).order_by(scim_activity.c.id))]


# -- redaction and caps -----------------------------------------------------------------------------------


def test_secrets_are_redacted_at_any_depth_and_in_patch_operations() -> None:
    body = {
        "userName": "jane@example.com",
        "password": SECRET,
        "name": {"givenName": "Jane", "Client_Secret": SECRET},
        "emails": [{"value": "jane@example.com", "primary": True}],
        "urn:example:ext": {"nested": [{"accessToken": SECRET, "AUTHORIZATION": f"Bearer {SECRET}"}]},
        "Operations": [
            {"op": "replace", "path": "password", "value": SECRET},
            {"op": "Replace", "value": {"password": SECRET, "active": False}},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:Password", "value": SECRET},
            {"op": "add", "path": "displayName", "value": "Jane D"},
        ],
        "note": f"bearer {SECRET}",
        "x-api-key": SECRET,
        "secret": {"deep": SECRET},
        "count": 3,
    }
    shown = redact(body)
    assert SECRET not in json.dumps(shown)
    assert shown["userName"] == "jane@example.com" and shown["password"] == REDACTED
    assert shown["name"] == {"givenName": "Jane", "Client_Secret": REDACTED}
    assert shown["emails"] == body["emails"] and shown["count"] == 3
    assert shown["urn:example:ext"]["nested"] == [{"accessToken": REDACTED, "AUTHORIZATION": REDACTED}]
    operations = shown["Operations"]
    assert operations[0] == {"op": "replace", "path": "password", "value": REDACTED}
    assert operations[1] == {"op": "Replace", "value": {"password": REDACTED, "active": False}}
    assert operations[2]["value"] == REDACTED and operations[3]["value"] == "Jane D"
    assert shown["note"] == REDACTED and shown["x-api-key"] == REDACTED and shown["secret"] == REDACTED


def test_a_stored_body_is_redacted_json_or_redacted_text_and_capped() -> None:
    raw = json.dumps({"userName": "a", "password": SECRET}).encode()
    stored = stored_body([raw[:10], raw[10:]], len(raw))
    assert stored is not None and json.loads(stored) == {"userName": "a", "password": REDACTED}
    assert stored_body([], 0) is None

    text = b"grant_type=password&password=" + SECRET.encode() + b"&user=jane; Authorization: Bearer " + SECRET.encode()
    plain = stored_body([text], len(text))
    assert plain is not None and SECRET not in plain and "user=jane" in plain

    big = json.dumps({"members": [{"value": f"member-{i}"} for i in range(400)], "password": SECRET}).encode()
    capped = stored_body([big], len(big))
    assert capped is not None and SECRET not in capped
    assert len(capped) <= MAX_BODY + 60 and capped.endswith(f"[truncated: {len(big)} bytes in all]")


def test_a_body_cut_by_the_capture_limit_is_still_redacted() -> None:
    """Beyond what the middleware keeps, the JSON cannot be parsed: patterns redact it, a value cut short too."""
    head = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ['
    ops = b'{"op": "replace", "path": "password", "value": "' + SECRET.encode() + b'"}, '
    cut = b'{"userName": "x", "Password" : "' + SECRET.encode()  # cut in the middle of the secret
    kept = head + ops + cut
    stored = stored_body([kept], len(kept) + 10_000)
    assert stored is not None and SECRET not in stored and SECRET[:6] not in stored
    assert stored.count(REDACTED) == 2 and "truncated" in stored
    assert SECRET not in redact_text('{"value": "' + SECRET + '", "path": "password"}')


def test_the_middleware_keeps_bodies_of_failures_only_up_to_the_limit() -> None:
    recorder = ActivityRecorder()
    chunks = [b"x" * 10_000, b"y" * 10_000, b"z" * 10_000]

    def app_answering(status: int) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            while (await receive()).get("more_body"):
                pass
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b'{"detail": "no"}'})

        return app

    async def main() -> None:
        for status in (201, 400):
            messages = iter([{"type": "http.request", "body": c, "more_body": i < 2} for i, c in enumerate(chunks)])

            async def receive(messages: Any = messages) -> Any:
                return next(messages)

            async def send(message: Any) -> None:
                return None

            scope = {"type": "http", "method": "POST", "path": "/scim/v2/Users", "query_string": b"", "headers": []}
            await ActivityMiddleware(app_answering(status), recorder)(scope, receive, send)

    run_apart(main())
    succeeded, failed = list(recorder._queue)
    assert succeeded[-1] is None  # a success keeps no body at all
    received, received_size, sent, sent_size = failed[-1]
    assert received_size == 30_000 and sum(map(len, received)) == CAPTURE_LIMIT
    assert sent == [b'{"detail": "no"}'] and sent_size == 16


def test_bodies_waiting_in_memory_stay_within_their_budget(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the budget a failure is recorded without its bodies; a batch the database refused keeps its records
    but lets go of bodies over the budget; a flush starts a new budget."""
    from gatehouse.scim import activity

    monkeypatch.setattr(activity, "BODY_BUDGET", 100)
    recorder = ActivityRecorder()
    scope = {"type": "http", "method": "POST", "path": "/scim/v2/Users", "query_string": b"", "headers": []}
    body = ([b"x" * 40], 40, [b"y" * 20], 20)
    for _ in range(3):
        recorder.record(scope, time.time(), 400, body)
    assert [record[-1] is not None for record in recorder._queue] == [True, False, False]
    broken = Database.from_url(f"sqlite:///{tmp_path / 'no-tables.db'}")
    try:
        monkeypatch.setattr(activity, "BODY_BUDGET", 50)
        assert recorder.flush(broken) == 0 and recorder.pending == 3
    finally:
        broken.dispose()
    monkeypatch.setattr(activity, "BODY_BUDGET", 100)
    recorder.record(scope, time.time(), 400, body)  # a new budget since the flush took the queue
    assert recorder.flush(db) == 4
    assert [row["request_body"] is not None for row in rows(db)] == [False, False, False, True]


def test_resource_is_derived_from_the_path() -> None:
    assert resource_of("/scim/v2/Users") == "Users"
    assert resource_of("/scim/v2/Users/abc") == "Users"
    assert resource_of("/scim/v2/users/.search") == "Users"
    assert resource_of("/scim/v2/Groups/g1") == "Groups"
    assert resource_of("/scim/v2/ServiceProviderConfig") == "discovery"
    assert resource_of("/scim/v2/Schemas/urn:x") == "discovery"
    assert resource_of("/scim/v2/ResourceTypes") == "discovery"
    assert resource_of("/scim/v2/Nowhere") == "other" and resource_of("/scim/v2/.search") == "other"
    assert resource_of("/scim/v2") == "other"


# -- through the app ----------------------------------------------------------------------------------------


def test_failed_requests_keep_redacted_bodies_and_the_user_agent(
    app_client: TestClient, db: Database, scim_token: str
) -> None:
    agent = "Okta SCIM Client 1.0.0"
    auth = {"Authorization": f"Bearer {scim_token}", "User-Agent": agent}
    user = okta_user("jane@example.com")
    user["password"] = SECRET
    assert app_client.post(f"{SCIM}/Users", json=user, headers=auth).status_code == 201
    assert app_client.post(f"{SCIM}/Users", json=user, headers=auth).status_code == 409
    user_id = app_client.get(f"{SCIM}/Users", headers=auth).json()["Resources"][0]["id"]
    bad_patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "password", "value": SECRET}, {"op": "explode", "path": "x"}],
    }
    assert app_client.patch(f"{SCIM}/Users/{user_id}", json=bad_patch, headers=auth).status_code == 400
    assert app_client.get(f"{SCIM}/Schemas", headers={"Authorization": "Bearer wrong"}).status_code == 401
    app_client.app.state.scim_activity.flush(db)  # type: ignore[attr-defined]

    created, conflict, listed, patched, refused = rows(db)
    assert [r["resource"] for r in (created, conflict, listed, patched, refused)] == [
        "Users", "Users", "Users", "Users", "discovery",
    ]  # fmt: skip
    assert created["user_agent"] == agent and created["request_body"] is None and created["response_body"] is None
    assert listed["request_body"] is None and listed["response_body"] is None
    request = json.loads(conflict["request_body"])
    assert request["userName"] == "jane@example.com" and request["password"] == REDACTED
    assert json.loads(conflict["response_body"])["status"] == "409"
    operations = json.loads(patched["request_body"])["Operations"]
    assert operations[0] == {"op": "replace", "path": "password", "value": REDACTED}
    assert refused["request_body"] is None and "invalid or has been revoked" in refused["response_body"]
    stored = " ".join(str(value) for row in rows(db) for value in row.values())
    assert SECRET not in stored and scim_token not in stored and "Bearer" not in stored


# -- filters, as SQL, on both databases ---------------------------------------------------------------------


def _seed(db: Database) -> None:
    now = utcnow()
    spec = [
        # minutes ago, token, method, path, status
        (5, "Okta", "GET", "/scim/v2/Users", 200),
        (10, "Okta", "POST", "/scim/v2/Users", 409),
        (20, "Entra", "PATCH", "/scim/v2/Groups/g1", 204),
        (30, None, "GET", "/scim/v2/ServiceProviderConfig", 401),
        (90, "Entra", "DELETE", "/scim/v2/Users/u1", 500),
        (60 * 20, "Okta", "GET", "/scim/v2/Schemas", 200),
        (60 * 24 * 3, "Okta", "PUT", "/scim/v2/Groups/g2", 404),
        (60 * 24 * 10, "Okta", "GET", "/scim/v2/Nowhere", 404),
    ]
    with db.transaction() as connection:
        write(
            connection,
            [
                {
                    "at": now - timedelta(minutes=minutes),
                    "token_name": token,
                    "method": method,
                    "path": path,
                    "resource": resource_of(path),
                    "status": status,
                }
                for minutes, token, method, path, status in spec
            ],
            now=now,
        )


def _paths(db: Database, **asked: str) -> list[str]:
    wanted = uc.wanted_of(**asked)
    with db.snapshot() as connection:
        found = uc.log(connection, ROOT, wanted, 0, 100)
    assert found.total == len(found.items)
    return [f"{item.method} {item.path}" for item in found.items]


def test_each_filter_narrows_the_log(db: Database) -> None:
    _seed(db)
    assert len(_paths(db)) == 8
    assert _paths(db, status="failed") == [
        "POST /scim/v2/Users", "GET /scim/v2/ServiceProviderConfig", "DELETE /scim/v2/Users/u1",
        "PUT /scim/v2/Groups/g2", "GET /scim/v2/Nowhere",
    ]  # fmt: skip
    assert _paths(db, status="succeeded") == ["GET /scim/v2/Users", "PATCH /scim/v2/Groups/g1", "GET /scim/v2/Schemas"]
    assert _paths(db, status="2xx") == _paths(db, status="succeeded")
    assert _paths(db, status="5xx") == ["DELETE /scim/v2/Users/u1"]
    assert len(_paths(db, status="4xx")) == 4
    assert _paths(db, token="Entra") == ["PATCH /scim/v2/Groups/g1", "DELETE /scim/v2/Users/u1"]
    assert _paths(db, method="put") == ["PUT /scim/v2/Groups/g2"]
    assert _paths(db, resource="Groups") == ["PATCH /scim/v2/Groups/g1", "PUT /scim/v2/Groups/g2"]
    assert _paths(db, resource="discovery") == ["GET /scim/v2/ServiceProviderConfig", "GET /scim/v2/Schemas"]
    assert _paths(db, resource="other") == ["GET /scim/v2/Nowhere"]
    assert _paths(db, period="1h") == [
        "GET /scim/v2/Users", "POST /scim/v2/Users", "PATCH /scim/v2/Groups/g1", "GET /scim/v2/ServiceProviderConfig",
    ]  # fmt: skip
    assert len(_paths(db, period="24h")) == 6 and len(_paths(db, period="7d")) == 7
    since = (utcnow() - timedelta(hours=2)).isoformat()
    until = (utcnow() - timedelta(minutes=15)).isoformat()
    assert _paths(db, since=since, until=until) == [
        "PATCH /scim/v2/Groups/g1", "GET /scim/v2/ServiceProviderConfig", "DELETE /scim/v2/Users/u1",
    ]  # fmt: skip
    assert _paths(db, status="failed", period="1h", token="Okta", method="POST", resource="Users") == [
        "POST /scim/v2/Users"
    ]
    with db.snapshot() as connection:
        assert uc.failures_last_hour(connection, ROOT) == 2
        assert pages.count(connection, ActivityFilter(status="3xx")) == 0


def test_the_token_names_to_filter_by_are_each_name_once(db: Database) -> None:
    """Every name the log mentions, once, case variants apart, sorted without regard to case; requests without a
    token are not a name. (The names are found by seeking from one to the next, not by reading every request.)"""
    names = ["Okta", "entra", "Okta", None, "okta", "Zeta ü", "entra", "Ärger", "OneLogin", None, "a"]
    now = utcnow()
    with db.transaction() as connection:
        assert pages.token_names(connection) == []
        records = [{"at": now, "token_name": n, "method": "GET", "path": SCIM + "/Users", "status": 200} for n in names]
        write(connection, records, now=now)
    with db.snapshot() as connection:
        found = pages.token_names(connection)
        everything = connection.execute(sa.select(scim_activity.c.token_name).distinct()).scalars()
    assert found == sorted({n for n in names if n}, key=lambda n: (n.lower(), n))
    assert sorted(found) == sorted(n for n in everything if n is not None)


def test_the_hourly_chart_counts_in_utc_hours_in_the_database(db: Database) -> None:
    """The chart's 24 hours end with the current UTC hour; each counts its requests and failures; the hour of a
    request is its UTC hour whatever the database session's time zone (PostgreSQL set to +05:30 here)."""
    now = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    spec = [
        (now.replace(minute=5), 200), (now.replace(minute=20), 500), (now.replace(minute=29, second=59), 201),
        (datetime(2026, 12, 7, 9, 59, 59, tzinfo=UTC), 404), (datetime(2026, 12, 7, 8, tzinfo=UTC), 200),
        (datetime(2026, 12, 6, 11, tzinfo=UTC), 409),  # the first hour of the chart, at its first second
        (datetime(2026, 12, 6, 10, 59, 59, tzinfo=UTC), 500),  # an hour before the chart
        (datetime(2026, 12, 4, 10, tzinfo=UTC), 500),  # days before it
    ]  # fmt: skip
    with db.transaction() as connection:
        records = [{"at": at, "method": "GET", "path": SCIM + "/Users", "status": status} for at, status in spec]
        write(connection, records, now=now)
    with db.snapshot() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL TIME ZONE 'Asia/Kolkata'")
        hours = pages.hourly(connection, now)
        assert pages.hourly(connection, now.replace(tzinfo=None)) == hours  # a naive time is UTC, as stored
    first = datetime(2026, 12, 6, 11, tzinfo=UTC)
    assert [hour.start for hour in hours] == [first + timedelta(hours=i) for i in range(24)]
    counted = {hour.start.hour: (hour.requests, hour.errors) for hour in hours if hour.requests}
    assert counted == {11: (1, 1), 8: (1, 0), 9: (1, 1), 10: (3, 1)}
    # SQLite's text form read by position: a 'T' between the date and the time reads the same
    assert (
        pages._hour_start("2026-12-07T23")
        == pages._hour_start("2026-12-07 23")
        == datetime(2026, 12, 7, 23, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ({"status": "6xx"}, "status"),
        ({"status": "failed; DROP TABLE"}, "status"),
        ({"method": "TRACE"}, "method"),
        ({"resource": "Roles"}, "resource"),
        ({"period": "2h"}, "period"),
        ({"period": "-1"}, "period"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"since": "99999-01-01"}, "since"),
        ({"since": "2026-12-06T10:00:00Z", "until": "2026-12-06T09:00:00Z"}, "after"),
        ({"since": "2026-12-06T10:00:00Z", "period": "1h"}, "not both"),
    ],
)
def test_bad_filters_are_refused_clearly(asked: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        uc.wanted_of(**asked)
    assert message in refused.value.detail


@pytest.mark.parametrize(("offset", "limit"), [(0, 0), (0, -1), (0, 501), (-1, 10)])
def test_bad_paging_is_refused(db: Database, offset: int, limit: int) -> None:
    with db.snapshot() as connection, pytest.raises(InvalidInput):
        uc.log(connection, ROOT, uc.wanted_of(), offset, limit)


# -- retention ------------------------------------------------------------------------------------------------


def test_retention_by_count_and_by_days(db: Database) -> None:
    """Each flush keeps the newest ``keep`` rows and none older than ``keep_days``."""
    recorder = ActivityRecorder(keep=5, keep_days=2)
    now = time.time()
    for index, days in enumerate([10, 3, 1.5, 1, 0.5]):
        recorder.record(
            {"type": "http", "method": "GET", "path": f"/scim/v2/Users/{index}", "query_string": b"", "headers": []},
            now - days * 86400,
            200,
        )
    recorder.flush(db)
    assert [row["path"] for row in rows(db)] == [f"/scim/v2/Users/{i}" for i in (2, 3, 4)]  # older than 2 days: gone
    for index in range(5, 9):
        recorder.record(
            {"type": "http", "method": "GET", "path": f"/scim/v2/Users/{index}", "query_string": b"", "headers": []},
            now,
            200,
        )
    recorder.flush(db)
    assert [row["path"] for row in rows(db)] == [f"/scim/v2/Users/{i}" for i in range(4, 9)]  # the newest 5


def test_the_app_applies_the_retention_settings(settings: Settings, db: Database, scim_token: str) -> None:
    from gatehouse.app import create_app

    small = settings.model_copy(update={"scim_activity_keep_rows": 2, "scim_activity_keep_days": 1})
    with TestClient(create_app(small, db), base_url="https://testserver") as client:
        for _ in range(4):
            client.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {scim_token}"})
        client.app.state.scim_activity.flush(db)  # type: ignore[attr-defined]
        assert len(rows(db)) == 2


# -- the settings ---------------------------------------------------------------------------------------------


def test_the_retention_settings_have_sane_defaults() -> None:
    defaults = Settings(database_url="sqlite://")
    assert (defaults.scim_activity_keep_rows, defaults.scim_activity_keep_days) == (10_000, 30)
    chosen = Settings(database_url="sqlite://", scim_activity_keep_rows="500", scim_activity_keep_days="7")  # type: ignore[arg-type]
    assert (chosen.scim_activity_keep_rows, chosen.scim_activity_keep_days) == (500, 7)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("scim_activity_keep_rows", "0"),
        ("scim_activity_keep_rows", "-10"),
        ("scim_activity_keep_rows", "many"),
        ("scim_activity_keep_rows", "1.5"),
        ("scim_activity_keep_rows", "1000001"),
        ("scim_activity_keep_rows", "99999999999999999999999"),
        ("scim_activity_keep_days", "0"),
        ("scim_activity_keep_days", "-1"),
        ("scim_activity_keep_days", "a week"),
        ("scim_activity_keep_days", "3651"),
        ("scim_activity_keep_days", ""),
    ],
)
def test_bad_retention_settings_are_refused_with_their_name(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"GATEHOUSE_{name.upper()}", value)
    with pytest.raises(ValidationError) as refused:
        Settings(database_url="sqlite://")
    [line] = settings_problems(refused.value)
    assert line.startswith(f"GATEHOUSE_{name.upper()}: ") and repr(value) in line
