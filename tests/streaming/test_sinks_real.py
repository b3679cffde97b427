"""Audit streaming as it runs in Gatehouse, on SQLite and PostgreSQL: sinks made through the admin API, records
written by real changes, delivered by the app's own background deliverer to real receivers started here — an
HTTPS server that checks each call's signature with code of its own (not Gatehouse's), Debian's rsyslog over TLS,
and a JSON-lines file. With the receivers down for a while, then back, and Gatehouse restarted in between, every
record arrives at least once and none is missing, each sink gets them in commit order, and a record has one id
everywhere (the de-duplication key), whatever was sent again. Background delivery is awaited by polling with a
deadline."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import audit_sinks
from gatehouse.iam.audit import Change, Origin, record
from gatehouse.secrets_box import LazySecretBox
from gatehouse.store import audit_sinks as sink_store
from gatehouse.store.audit import AuditQuery, iterate
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.streaming import deliverer as deliverer_module
from gatehouse.streaming.deliverer import Deliverer
from support.api import ROOT, key, seed
from support.coroutines import run_apart
from support.receivers import HttpsReceiver, Rsyslog, make_certificate
from support.scim import PUBLIC_URL

HOOK_KEY = "the receiver's shared HMAC key"
DEADLINE = 60.0


def settings_for(db_url: str, tmp_path: Path) -> Settings:
    """Gatehouse's settings, with delivery turned quick: a poll every 50 ms, retries at most 0.3 s apart."""
    return Settings(
        database_url=db_url,
        public_url=PUBLIC_URL,
        secret_key_file=tmp_path / "secret.key",
        audit_file_dir=tmp_path / "audit",
        audit_stream_poll_seconds=0.05,
        audit_stream_max_backoff_seconds=0.3,
    )


@contextmanager
def gatehouse(settings: Settings, db: Database) -> Iterator[TestClient]:
    """Gatehouse running (its background deliverer too) until the block ends: a start, then a stop."""
    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        yield client


def wait_for(what: str, done: Callable[[], bool], seconds: float = DEADLINE) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.05)


def audit_sequences(db: Database, after: int) -> list[tuple[int, str]]:
    """(id, event) of every audit record after ``after``, in order: what each sink must get."""
    with db.snapshot() as connection:
        found = [(r.id, r.event) for r in iterate(connection, AuditQuery(), limit=100_000) if r.id > after]
    return sorted(found)


def deduplicated(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in records:
        seen.setdefault(item["id"], item)
    return list(seen.values())


def check_sink(name: str, records: list[dict[str, Any]], expected: list[tuple[int, str]], after: int) -> None:
    """Every expected record at least once, none missing; duplicates removed, in commit order; a record sent again
    is the same record (its id names one record only)."""
    by_id: dict[str, dict[str, Any]] = {}
    for item in records:
        assert by_id.setdefault(item["id"], item) == item, f"{name}: one id, two different records"
    unique = [item for item in deduplicated(records) if item["sequence"] > after]
    assert [(item["sequence"], item["event"]) for item in unique] == expected, name


def file_records(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def make_changes(client: TestClient, headers: dict[str, str], prefix: str, count: int) -> None:
    for n in range(count):
        response = client.post("/api/roles", json={"name": f"{prefix}-{n}"}, headers=headers)
        assert response.status_code == 201, response.text


def independent_signature_check(raw: list[tuple[dict[str, str], bytes]]) -> int:
    """Each call's ``X-Gatehouse-Signature`` is ``v1=`` HMAC-SHA256(key, timestamp + "." + body), computed here;
    the event id header is the body's ``id``; a changed body or timestamp would not verify. How many calls."""
    for headers, body in raw:
        stamp = headers["x-gatehouse-timestamp"]
        assert stamp.isdigit() and abs(time.time() - int(stamp)) < 300
        expected = "v1=" + hmac.new(HOOK_KEY.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-gatehouse-signature"], expected)
        assert headers["x-gatehouse-event-id"] == orjson.loads(body)["id"]
        assert headers["content-type"] == "application/json"
        forged = "v1=" + hmac.new(HOOK_KEY.encode(), f"{stamp}.".encode() + body + b" ", hashlib.sha256).hexdigest()
        assert forged != headers["x-gatehouse-signature"]
    return len(raw)


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[tuple[HttpsReceiver, Rsyslog]]:
    certificate = make_certificate(tmp_path)
    hook = HttpsReceiver(certificate, HOOK_KEY)
    syslog = Rsyslog(tmp_path / "rsyslog", certificate)
    syslog.directory.mkdir()
    hook.start()
    syslog.start()
    try:
        yield hook, syslog
    finally:
        hook.stop()
        syslog.stop()


def test_three_sinks_down_for_a_while_and_a_restart_lose_nothing(
    db_url: str, db: Database, tmp_path: Path, receivers: tuple[HttpsReceiver, Rsyslog]
) -> None:
    hook, syslog = receivers
    settings = settings_for(db_url, tmp_path)
    admin = key(seed(db).admin_token)
    jsonl = tmp_path / "audit" / "audit.jsonl"
    pem = hook.certificate.pem

    with gatehouse(settings, db) as client:
        made = [
            client.post("/api/audit-sinks", json=body, headers=admin)
            for body in (
                {"name": "SIEM", "kind": "webhook", "settings": {"url": hook.url, "ca_bundle": pem, "timeout": 2},
                 "secret": HOOK_KEY},
                {"name": "rsyslog", "kind": "syslog", "settings": {"host": "127.0.0.1", "port": syslog.port,
                 "tls": True, "ca_bundle": pem, "timeout": 2}},
                {"name": "file", "kind": "file", "settings": {"file": "audit.jsonl"}},
            )
        ]  # fmt: skip
        assert [response.status_code for response in made] == [201, 201, 201], [r.text for r in made]
        with db.snapshot() as connection:
            after = max(
                r.id for r in iterate(connection, AuditQuery(), limit=100_000)
            )  # the file sink's creation: all three exist

        make_changes(client, admin, "before", 5)
        wait_for("the first records everywhere", lambda: len(audit_sequences(db, after)) == 5 and all(
            len({r["id"] for r in got if r["sequence"] > after}) == 5
            for got in (hook.received, syslog.records(), file_records(jsonl))
        ))  # fmt: skip

        hook.stop()  # both receivers down for a while
        syslog.stop()
        make_changes(client, admin, "while-down", 8)

        def failing() -> bool:
            status = {s["name"]: s["status"] for s in client.get("/api/audit-sinks", headers=admin).json()}
            return status["SIEM"]["failures"] >= 2 and status["rsyslog"]["failures"] >= 2

        wait_for("both sinks failing, and retrying", failing)
        status = {s["name"]: s["status"] for s in client.get("/api/audit-sinks", headers=admin).json()}
        assert status["SIEM"]["waiting"] >= 8 and status["SIEM"]["last_error"]
        assert status["rsyslog"]["waiting"] >= 8 and status["rsyslog"]["last_error"]
        wait_for("the file sink keeps up meanwhile: a sink that is down holds back no other", lambda: len(
            {r["id"] for r in file_records(jsonl) if r["sequence"] > after}
        ) == 13)  # fmt: skip

    # Gatehouse stopped: records written meanwhile (as the CLI would) wait in the outbox
    with db.transaction() as connection:
        for n in range(3):
            record(connection, Origin("cli", "operator (CLI)"), Change("test:WhileStopped", "thing", str(n)))
    hook.start()  # the receivers back, on the same ports
    syslog.start()
    hook.refuse = 2  # and the webhook errors twice more before it takes anything

    with gatehouse(settings, db) as client:
        make_changes(client, admin, "after", 4)
        expected = audit_sequences(db, after)
        assert len(expected) == 5 + 8 + 3 + 4

        def everywhere() -> bool:
            want = {sequence for sequence, _ in expected}
            return all(
                want <= {r["sequence"] for r in got} for got in (hook.received, syslog.records(), file_records(jsonl))
            )

        wait_for("every record at every sink", everywhere)
        wait_for("nothing waiting", lambda: all(
            s["status"]["waiting"] == 0 for s in client.get("/api/audit-sinks", headers=admin).json()
        ))  # fmt: skip

    sinks = {"webhook": hook.received, "rsyslog": syslog.records(), "file": file_records(jsonl)}
    for name, got in sinks.items():
        check_sink(name, got, expected, after)
    ids = {name: {r["sequence"]: r["id"] for r in got if r["sequence"] > after} for name, got in sinks.items()}
    assert ids["webhook"] == ids["rsyslog"] == ids["file"]  # one id per record, whichever sink
    assert hook.bad == 0 and hook.refuse == 0 and independent_signature_check(hook.raw) >= len(expected) + 2
    assert hook.event_ids == [r["id"] for r in hook.received]
    assert stat.S_IMODE(os.stat(jsonl).st_mode) == 0o640


def test_a_crash_between_sending_and_recording_sends_again_with_the_same_ids(
    db: Database, tmp_path: Path, receivers: tuple[HttpsReceiver, Rsyslog]
) -> None:
    """A process that sent records and died before removing them from the outbox: the next one sends them again
    (at least once), with the same ids, in order — after the dead one's lease has run out."""
    hook, _ = receivers
    box = LazySecretBox(tmp_path / "secret.key")
    data = {"url": hook.url, "ca_bundle": hook.certificate.pem}
    with db.transaction() as connection:
        audit_sinks.create_sink(
            connection, ROOT, audit_sinks.sink_input("SIEM", "webhook", True, data, HOOK_KEY), box()
        )
    with db.transaction() as connection:
        for n in range(6):
            record(connection, Origin("cli", "tester"), Change("test:Streamed", "thing", str(n), {"n": n}))

    dying = Deliverer(db, box, tmp_path, max_backoff=0.05)
    killed = mock.patch.object(deliverer_module.outbox, "remove_delivered", side_effect=RuntimeError("killed"))
    with killed, pytest.raises(RuntimeError, match="killed"):
        run_apart(dying.run_once())  # sent all six, then died before recording it
    sent_once = [r["summary"]["n"] for r in hook.received]
    assert sent_once == list(range(6))

    successor = Deliverer(db, box, tmp_path, max_backoff=0.05)
    assert run_apart(successor.run_once()) == 0  # the dead process's lease still holds the sink
    with db.transaction() as connection:  # … until it runs out (as it would 30 s later)
        sink_store.claim_due(connection, dying.owner, utcnow() - timedelta(seconds=5), lease=1)
    assert run_apart(successor.run_once()) == 6
    again = hook.received[6:]
    assert [r["summary"]["n"] for r in again] == list(range(6))
    assert [r["id"] for r in again] == [r["id"] for r in hook.received[:6]]  # the same ids: receivers de-duplicate
    assert run_apart(successor.run_once()) == 0


def test_a_json_lines_file_sink(db: Database, tmp_path: Path) -> None:
    with db.transaction() as connection:
        audit_sinks.create_sink(connection, ROOT, audit_sinks.sink_input("file", "file", True, {"file": "a.jsonl"}),
                                None)  # fmt: skip
    with db.transaction() as connection:
        for n in range(3):
            record(connection, Origin("api", "ana"), Change("test:Streamed", "thing", str(n), {"n": n, "text": "é\n"}))
    directory = tmp_path / "not-yet-made"
    assert run_apart(Deliverer(db, LazySecretBox(tmp_path / "k"), directory).run_once()) == 3
    lines = (directory / "a.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4  # one object a line, each ending in a newline
    parsed = [orjson.loads(line) for line in lines[:3]]
    assert [p["summary"]["n"] for p in parsed] == [0, 1, 2] and parsed[0]["summary"]["text"] == "é\n"
    assert all(set(p) >= {"id", "sequence", "occurred_at", "event", "actor", "outcome", "source"} for p in parsed)
    assert [p["sequence"] for p in parsed] == sorted(p["sequence"] for p in parsed)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o750
    with db.transaction() as connection:  # appended to, never rewritten
        record(connection, Origin("api", "ana"), Change("test:Streamed", "thing", "3", {"n": 3}))
    run_apart(Deliverer(db, LazySecretBox(tmp_path / "k"), directory).run_once())
    assert [orjson.loads(line)["summary"]["n"] for line in (directory / "a.jsonl").read_text().splitlines()] == [
        0, 1, 2, 3
    ]  # fmt: skip
