"""Recent provisioning activity: the recorder (queue, batches, trimming, failures, no secrets), its
middleware around the SCIM app, and the per-request cost it adds (on both databases)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from gatehouse.iam import scim_control
from gatehouse.scim import activity
from gatehouse.scim.activity import (
    ERROR_KEY,
    TOKEN_KEY,
    ActivityMiddleware,
    ActivityRecorder,
    shown_path,
)
from gatehouse.store import scim_activity_pages as pages
from gatehouse.store.database import Database
from gatehouse.store.records import as_utc
from gatehouse.store.scim_activity import recent
from gatehouse.store.tables import scim_activity
from support.coroutines import run_apart
from support.scim import okta_user

SCIM = "/scim/v2"


def scope(
    path: str = "/scim/v2/Users",
    method: str = "GET",
    query: bytes = b"",
    client: tuple[str, int] | None = ("203.0.113.5", 50000),
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers or [],
        "client": client,
        **extra,
    }


def rows(db: Database) -> list[dict[str, Any]]:
    with db.snapshot() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(scim_activity).order_by(scim_activity.c.id))]


# -- the recorder ---------------------------------------------------------------------------------------


def test_a_flush_writes_formatted_records(db: Database) -> None:
    """Each record becomes a row: time, token name, method, path, status, detail, client IP."""
    recorder = ActivityRecorder()
    started = time.time()
    recorder.record(scope(**{TOKEN_KEY: "Okta"}), started, 200)
    recorder.record(scope(method="POST", **{ERROR_KEY: "userName 'a' is taken."}), started + 1, 409)
    assert recorder.pending == 2 and rows(db) == []
    assert recorder.flush(db) == 2
    first, second = rows(db)
    assert (first["token_name"], first["method"], first["path"], first["status"]) == (
        "Okta",
        "GET",
        SCIM + "/Users",
        200,
    )
    assert first["detail"] is None and first["ip"] == "203.0.113.5"
    assert abs(as_utc(first["at"]).timestamp() - started) < 1e-3
    assert (second["status"], second["detail"], second["token_name"]) == (409, "userName 'a' is taken.", None)
    assert recorder.pending == 0 and recorder.flush(db) == 0
    with db.snapshot() as connection:
        shown = recent(connection)
    assert [a.status for a in shown] == [409, 200] and shown[0].failed and not shown[1].failed


def test_only_scim_query_parameters_keep_their_values() -> None:
    """Filters and paging are kept (short); anything else, e.g. an access_token, only by name."""
    assert shown_path("/scim/v2/Users", b"") == "/scim/v2/Users"
    query = b"filter=userName%20eq%20%22jane%40example.com%22&startIndex=1&count=10&access_token=ghs_secret"
    assert shown_path("/scim/v2/Users", query) == (
        '/scim/v2/Users?filter=userName eq "jane@example.com"&startIndex=1&count=10&access_token=…'
    )
    long = shown_path("/scim/v2/Users", b"filter=" + b"x" * 1000)
    assert len(long) < 250 and long.endswith("…")
    assert len(shown_path("/scim/v2/" + "p" * 1000, b"")) == 500


def test_the_queue_is_bounded_and_drops_the_oldest(db: Database) -> None:
    """Beyond the limit the oldest records go, and are counted."""
    recorder = ActivityRecorder(limit=5)
    for index in range(8):
        recorder.record(scope(path=f"/scim/v2/Users/{index}"), time.time(), 200)
    assert recorder.pending == 5 and recorder.dropped == 3
    recorder.flush(db)
    assert [row["path"] for row in rows(db)] == [f"/scim/v2/Users/{i}" for i in range(3, 8)]


def test_the_table_keeps_only_the_newest_rows(db: Database) -> None:
    """Each flush deletes all but the newest rows, by id, however many processes write."""
    first, second = ActivityRecorder(keep=10), ActivityRecorder(keep=10)  # two processes
    for index in range(15):
        first.record(scope(path=f"/a/{index}"), time.time(), 200)
    first.flush(db)
    assert len(rows(db)) == 10
    for index in range(4):
        second.record(scope(path=f"/b/{index}"), time.time(), 200)
    second.flush(db)
    paths = [row["path"] for row in rows(db)]
    assert paths == [f"/a/{i}" for i in range(9, 15)] + [f"/b/{i}" for i in range(4)]


def test_a_flush_gives_the_interpreter_back_between_chunks(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large batch is prepared CHUNK records at a time, with a zero sleep (the event loop's turn) between
    chunks, and every record is written once, in order."""
    sleeps: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(activity, "time", SimpleNamespace(time=time.time, sleep=sleep))
    recorder = ActivityRecorder(reads_per_second=0)  # every read listed
    count = 2 * activity.CHUNK + 5
    for index in range(count):
        recorder.record(scope(path=f"/c/{index}"), time.time(), 200)
    assert recorder.flush(db) == count
    assert sleeps == [0, 0]  # three chunks, two turns in between
    assert [row["path"] for row in rows(db)] == [f"/c/{i}" for i in range(count)]


def test_a_backlog_writes_only_what_the_table_keeps(db: Database) -> None:
    """A backlog larger than the table is written in one transaction, newest rows only: the older
    ones would be trimmed at once anyway."""
    recorder = ActivityRecorder(keep=100, reads_per_second=0)
    for index in range(250):
        recorder.record(scope(path=f"/x/{index}"), time.time(), 200)
    assert recorder.flush(db) == 100
    assert recorder.superseded == 150 and recorder.dropped == 0 and recorder.pending == 0
    assert [row["path"] for row in rows(db)] == [f"/x/{i}" for i in range(150, 250)]


def test_reads_past_a_tokens_budget_are_counted_in_one_row_a_second(db: Database) -> None:
    """Past its budget a second, a token's successful reads are counted: one row per token, resource and status
    stands for them, with the last one's time and client; failures, writes, other tokens and the next second are
    listed as before, and the hourly chart adds the counted reads up."""
    recorder = ActivityRecorder(reads_per_second=3)
    second = float(int(time.time()))
    okta = {TOKEN_KEY: "okta"}
    for index in range(10):  # 3 listed, 7 counted
        recorder.record(scope(path=f"/scim/v2/Users/{index}", client=(f"10.0.0.{index}", 1), **okta), second, 200)
    recorder.record(scope(path="/scim/v2/Groups", **okta), second + 0.1, 200)  # counted apart: another resource
    recorder.record(scope(path="/scim/v2/Users/9", **okta), second + 0.2, 404)  # a failure: listed
    recorder.record(scope(method="POST", **okta), second + 0.3, 201)  # a write: listed
    for index in range(4):  # another token: its own budget, one counted
        recorder.record(scope(path=f"/scim/v2/Users/e{index}", **{TOKEN_KEY: "entra"}), second + 0.4, 200)
    recorder.record(scope(path="/scim/v2/Users/next", **okta), second + 1.0, 200)  # next second: listed
    recorder.settle()
    assert recorder.flush(db) == 3 + 1 + 1 + 3 + 1 + 3
    found = rows(db)
    counted = [(row["token_name"], row["path"], row["status"], row["repeats"]) for row in found if row["repeats"] > 1]
    assert sorted(counted) == [("okta", "/scim/v2/Users", 200, 7)]
    groups = [row for row in found if row["resource"] == "Groups"]
    assert [(row["repeats"], row["path"], row["status"]) for row in groups] == [(1, "/scim/v2/Groups", 200)]
    single = [row for row in found if row["token_name"] == "entra" and row["path"] == "/scim/v2/Users"]
    assert [row["repeats"] for row in single] == [1]  # the one read past entra's budget
    (seven,) = [row for row in found if row["repeats"] == 7]
    assert seven["ip"] == "10.0.0.9" and seven["method"] == "GET" and seven["resource"] == "Users"
    assert [row["status"] for row in found if row["repeats"] == 1 and row["method"] == "POST"] == [201]
    assert [row["path"] for row in found if row["status"] == 404] == ["/scim/v2/Users/9"]
    assert sum(row["repeats"] for row in found) == 18  # every request, listed or counted
    with db.snapshot() as connection:
        hours = pages.hourly(connection, datetime.fromtimestamp(second + 1, UTC))
    assert (sum(hour.requests for hour in hours), sum(hour.errors for hour in hours)) == (18, 1)


def test_the_flusher_settles_the_counted_reads(db: Database) -> None:
    """Counted reads reach the table with the next background flush, without another request to close their
    second, and with the final flush when the app stops."""
    recorder = ActivityRecorder(reads_per_second=1, interval=0.05)

    async def main() -> None:
        async with recorder.running(db):
            now = time.time()
            for _ in range(5):
                recorder.record(scope(**{TOKEN_KEY: "okta"}), now, 200)
            for _ in range(100):
                await anyio.sleep(0.02)
                if sum(row["repeats"] for row in rows(db)) == 5:
                    break
            assert sorted(row["repeats"] for row in rows(db)) == [1, 4]
            for _ in range(3):
                recorder.record(scope(**{TOKEN_KEY: "okta"}), now + 5, 200)

    run_apart(main())
    assert sorted(row["repeats"] for row in rows(db)) == [1, 1, 2, 4]


def test_every_read_is_listed_when_the_budget_is_off(db: Database) -> None:
    recorder = ActivityRecorder(reads_per_second=0)
    now = time.time()
    for _ in range(50):
        recorder.record(scope(**{TOKEN_KEY: "okta"}), now, 200)
    assert recorder.flush(db) == 50 and {row["repeats"] for row in rows(db)} == {1}


def test_a_database_error_keeps_the_records_for_the_next_flush(db: Database, tmp_path: Path) -> None:
    """The flush logs a failure instead of raising, and retries the same records later."""
    broken = Database.from_url(f"sqlite:///{tmp_path / 'no-tables.db'}")  # never migrated
    recorder = ActivityRecorder()
    recorder.record(scope(**{ERROR_KEY: "The SCIM token is invalid or has been revoked."}), time.time(), 401)
    try:
        assert recorder.flush(broken) == 0
    finally:
        broken.dispose()
    assert recorder.pending == 1 and recorder.dropped == 0
    recorder.record(scope(), time.time(), 200)
    assert recorder.flush(db) == 2
    assert [row["status"] for row in rows(db)] == [401, 200]


def test_the_flusher_runs_in_the_background_and_flushes_on_exit(db: Database) -> None:
    """A full batch wakes the flusher before its tick; what is left is written on the way out."""
    recorder = ActivityRecorder(batch_size=3, interval=60)
    seen: dict[str, int] = {}

    async def main() -> None:
        async with recorder.running(db):
            await anyio.sleep(0.05)
            for _ in range(3):
                recorder.record(scope(), time.time(), 200)
            with anyio.fail_after(5):
                while len(rows(db)) < 3:
                    await anyio.sleep(0.02)
            recorder.record(scope(), time.time(), 204)
            await anyio.sleep(0.1)
            seen["before exit"] = len(rows(db))

    run_apart(main())
    assert seen["before exit"] == 3  # one record is not a batch, and the tick is a minute away
    assert [row["status"] for row in rows(db)] == [200, 200, 200, 204]


def test_the_flusher_survives_database_errors(tmp_path: Path) -> None:
    """With the database failing, the flusher logs and carries on; the app's lifespan ends cleanly."""
    broken = Database.from_url(f"sqlite:///{tmp_path / 'no-tables.db'}")
    recorder = ActivityRecorder(batch_size=1, interval=0.01)

    async def main() -> None:
        async with recorder.running(broken):
            recorder.record(scope(), time.time(), 200)
            await anyio.sleep(0.1)

    try:
        run_apart(main())
    finally:
        broken.dispose()
    assert recorder.pending == 1


def test_an_error_in_the_lifespan_passes_through_unwrapped(db: Database) -> None:
    """The flusher's task group does not turn the app's own exceptions into ExceptionGroups."""
    recorder = ActivityRecorder()

    async def main() -> None:
        async with recorder.running(db):
            recorder.record(scope(), time.time(), 200)
            raise ValueError("startup failed")

    with pytest.raises(ValueError, match="startup failed"):
        run_apart(main())
    assert len(rows(db)) == 1  # flushed on the way out all the same


def test_the_client_ip_honours_trusted_proxies(db: Database) -> None:
    """X-Forwarded-For is believed only from a configured proxy, as on the dashboard."""
    forwarded = [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.7")]
    proxied = ActivityRecorder(trusted_proxies=["10.0.0.0/8"])
    proxied.record(scope(client=("10.0.0.2", 1), headers=forwarded), time.time(), 200)
    proxied.record(scope(client=("192.0.2.1", 1), headers=forwarded), time.time(), 200)
    direct = ActivityRecorder()
    direct.record(scope(client=("10.0.0.2", 1), headers=forwarded), time.time(), 200)
    direct.record(scope(client=None), time.time(), 200)
    proxied.flush(db)
    direct.flush(db)
    assert [row["ip"] for row in rows(db)] == ["198.51.100.7", "192.0.2.1", "10.0.0.2", None]


# -- the middleware and its cost ------------------------------------------------------------------------


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _crash(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("boom")


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    return None


def test_the_middleware_records_status_and_crashes() -> None:
    """The status comes from http.response.start; an app that fails before answering is a 500."""
    recorder = ActivityRecorder()

    async def main() -> None:
        await ActivityMiddleware(_answer, recorder)(scope(), _receive, _send)
        with pytest.raises(RuntimeError):
            await ActivityMiddleware(_crash, recorder)(scope(), _receive, _send)
        await ActivityMiddleware(_answer, recorder)({"type": "lifespan"}, _receive, _send)

    run_apart(main())
    assert [record[4] for record in recorder._queue] == [204, 500]


def measure_overhead(calls: int = 20_000) -> float:
    """Microseconds the middleware adds to one request (best of five rounds)."""
    recorder = ActivityRecorder(limit=calls * 2)
    wrapped = ActivityMiddleware(_answer, recorder)
    request = scope(**{TOKEN_KEY: "Okta"})

    async def rounds() -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(calls):
                await _answer(request, _receive, _send)
            bare = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(calls):
                await wrapped(request, _receive, _send)
            best = min(best, (time.perf_counter() - start - bare) / calls * 1e6)
            recorder._queue.clear()
        return best

    return run_apart(rounds())


def test_the_hot_path_costs_a_few_microseconds() -> None:
    """Recording is a tuple appended to a deque: no I/O, no formatting on the request path."""
    overhead = measure_overhead()
    print(f"activity middleware overhead: {overhead:.2f} µs per request")
    assert overhead < 25  # a few µs in practice; the bound only catches I/O sneaking in


# -- through the app --------------------------------------------------------------------------------------


def test_scim_requests_are_recorded_with_failures_and_without_secrets(
    app_client: TestClient, db: Database, scim_token: str
) -> None:
    """Successes and failures (401, 403, 404, 409 whose transaction rolled back) are all kept, with
    the token name and the SCIM error detail; no token, body or password lands in the table."""
    auth = {"Authorization": f"Bearer {scim_token}"}
    user = okta_user("jane@example.com")
    user["password"] = "Sup3r-Secret-Passw0rd"
    assert app_client.post(f"{SCIM}/Users", json=user, headers=auth).status_code == 201
    assert app_client.post(f"{SCIM}/Users", json=user, headers=auth).status_code == 409
    assert app_client.get(f'{SCIM}/Users?filter=userName eq "jane@example.com"', headers=auth).status_code == 200
    assert (
        app_client.get(f"{SCIM}/Users?access_token={scim_token}", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert app_client.get(f"{SCIM}/Nowhere", headers=auth).status_code == 404
    with db.transaction() as connection:
        scim_control.disable(connection)
    assert app_client.get(f"{SCIM}/ServiceProviderConfig", headers=auth).status_code == 403

    recorder = app_client.app.state.scim_activity  # type: ignore[attr-defined]
    recorder.flush(db)
    found = rows(db)
    summary = [(row["method"], row["path"], row["status"], row["token_name"]) for row in found]
    assert summary == [
        ("POST", f"{SCIM}/Users", 201, "Okta"),
        ("POST", f"{SCIM}/Users", 409, "Okta"),
        ("GET", f'{SCIM}/Users?filter=userName eq "jane@example.com"', 200, "Okta"),
        ("GET", f"{SCIM}/Users?access_token=…", 401, None),
        ("GET", f"{SCIM}/Nowhere", 404, None),
        ("GET", f"{SCIM}/ServiceProviderConfig", 403, "Okta"),  # a valid token while SCIM was off
    ]
    details = [row["detail"] for row in found]
    assert details[0] is None and details[2] is None
    assert "jane@example.com" in details[1]
    assert details[3] == "The SCIM token is invalid or has been revoked."
    assert details[4] == f"No SCIM endpoint at {SCIM}/Nowhere."
    assert details[5] is not None and details[5].startswith("SCIM provisioning is disabled")
    assert all(row["ip"] == "testclient" and row["at"] is not None for row in found)
    stored = " ".join(str(value) for row in found for value in row.values())
    assert scim_token not in stored and scim_token[4:12] not in stored
    assert "Sup3r-Secret-Passw0rd" not in stored and "Bearer" not in stored


def test_the_app_flushes_on_its_own(settings: Any, db: Database, scim_token: str) -> None:
    """With the app running, records reach the table within about a second, and on shutdown."""
    from gatehouse.app import create_app

    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        assert client.get(f"{SCIM}/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
        deadline = time.monotonic() + 5
        while not rows(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [row["status"] for row in rows(db)] == [401]
        assert client.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {scim_token}"}).status_code == 200
    assert [row["status"] for row in rows(db)] == [401, 200]
