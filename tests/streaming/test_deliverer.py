"""Audit streaming end to end, on SQLite and PostgreSQL, against real receivers started by the tests: the outbox is
written with each record, for the enabled sinks only; a JSON-lines file, an HTTPS webhook (signed) and rsyslog
(RFC 5424 over TCP, and over TLS) each get every record at least once, in order, with a stable id — across a
receiver that is down for a while, concurrent writers, and two deliverers racing for one sink."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from gatehouse.iam import audit_sinks
from gatehouse.iam.audit import Change, Origin, record
from gatehouse.iam.authorizer import Principal, super_admin_role
from gatehouse.secrets_box import LazySecretBox
from gatehouse.store import audit_outbox
from gatehouse.store import audit_sinks as sink_store
from gatehouse.store.database import Database
from gatehouse.streaming.deliverer import Deliverer
from gatehouse.streaming.transports import syslog_message
from support.coroutines import run_apart
from support.receivers import HttpsReceiver, Rsyslog, make_certificate

OPERATOR = Principal(None, "operator (CLI)", True, True, (super_admin_role(),))
WHO = Origin("cli", "tester")
HOOK_KEY = "a webhook key of some length"


def write(db: Database, first: int, count: int) -> None:
    for n in range(first, first + count):
        with db.transaction() as connection:
            record(connection, WHO, Change("test:Streamed", "thing", str(n), {"n": n}))


def add_sink(db: Database, kind: str, settings: dict[str, Any], box: LazySecretBox | None = None, **extra: Any) -> str:
    data = audit_sinks.sink_input(f"{kind}-sink", kind, True, settings, **extra)
    with db.transaction() as connection:
        return audit_sinks.create_sink(connection, OPERATOR, data, box() if box and data.secret else None).sink.id


def waiting(db: Database, sink_id: str) -> int:
    with db.snapshot() as connection:
        found = audit_outbox.backlogs(connection).get(sink_id)
    return found.waiting if found else 0


def drain(deliverer: Deliverer, db: Database, sink_id: str, seconds: float = 20) -> None:
    """Turn the deliverer until nothing waits for the sink (retrying failures as their backoff allows)."""
    deadline = time.monotonic() + seconds
    while waiting(db, sink_id):
        run_apart(deliverer.run_once())
        assert time.monotonic() < deadline, f"{waiting(db, sink_id)} record(s) still waiting"
        time.sleep(0.02)


def sink(db: Database, sink_id: str) -> sink_store.Sink:
    with db.snapshot() as connection:
        found = sink_store.get(connection, sink_id)
    assert found is not None
    return found


def check_all_once_in_order(records: list[dict[str, Any]], expected: range) -> None:
    """Every expected record arrived (at least once), and, duplicates removed, in order."""
    seen: dict[str, dict[str, Any]] = {}
    for item in records:
        seen.setdefault(item["id"], item)
    numbers = [item["summary"]["n"] for item in seen.values() if item["event"] == "test:Streamed"]
    assert numbers == list(expected)
    sequences = [item["sequence"] for item in seen.values()]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)


@pytest.fixture
def box(tmp_path: Path) -> LazySecretBox:
    return LazySecretBox(tmp_path / "secret.key")


def deliverer(db: Database, box: LazySecretBox, tmp_path: Path, **extra: Any) -> Deliverer:
    return Deliverer(db, box, tmp_path / "audit", max_backoff=0.05, environ={"HOOK_KEY": HOOK_KEY}, **extra)


def test_the_outbox_is_written_with_the_record_for_enabled_sinks(db: Database, tmp_path: Path) -> None:
    write(db, 0, 1)
    with db.snapshot() as connection:
        assert audit_outbox.backlogs(connection) == {}  # no sink: nothing queued
    first = add_sink(db, "file", {"file": "a.jsonl"})
    off = audit_sinks.sink_input("off", "file", False, {"file": "b.jsonl"})
    with db.transaction() as connection:
        audit_sinks.create_sink(connection, OPERATOR, off, None)
    write(db, 1, 2)
    with db.snapshot() as connection:
        backlog = audit_outbox.backlogs(connection)
        queued = audit_outbox.pending(connection, first, 10)
    assert set(backlog) == {first}  # the disabled sink gets nothing
    payloads = [orjson.loads(q.payload) for q in queued]
    # the sink's own creation (an audited change) was written after it: it is queued too, first
    assert [p["event"] for p in payloads] == ["iam:UpdateAuditSink", "test:Streamed", "test:Streamed"] or [
        p["event"] for p in payloads
    ] == ["test:Streamed", "test:Streamed"]
    assert all(len(p["id"]) == 36 and p["sequence"] == q.sequence for p, q in zip(payloads, queued, strict=True))


def test_a_file_sink_gets_every_record_in_commit_order_from_concurrent_writers(
    db: Database, box: LazySecretBox, tmp_path: Path
) -> None:
    sink_id = add_sink(db, "file", {"file": "audit.jsonl"})
    threads = [threading.Thread(target=write, args=(db, start, 15)) for start in range(0, 60, 15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(deliverer(db, box, tmp_path), db, sink_id)
    lines = (tmp_path / "audit" / "audit.jsonl").read_text().splitlines()
    records = [orjson.loads(line) for line in lines]
    streamed = sorted(r["summary"]["n"] for r in records if r["event"] == "test:Streamed")
    assert streamed == list(range(60))
    sequences = [r["sequence"] for r in records]
    assert sequences == sorted(sequences), "delivered out of commit order"
    state = sink(db, sink_id)
    assert state.delivered_total == len(records) and state.last_delivered_sequence == sequences[-1]


def test_a_webhook_down_for_a_while_then_back_gets_everything_once_in_order(
    db: Database, box: LazySecretBox, tmp_path: Path
) -> None:
    certificate = make_certificate(tmp_path)
    receiver = HttpsReceiver(certificate, HOOK_KEY)
    receiver.start()
    sink_id = add_sink(db, "webhook", {"url": receiver.url, "ca_bundle": certificate.pem}, box, secret=HOOK_KEY)
    streaming = deliverer(db, box, tmp_path)
    write(db, 0, 10)
    drain(streaming, db, sink_id)
    receiver.stop()  # down
    write(db, 10, 15)
    for _ in range(3):
        run_apart(streaming.run_once())
        time.sleep(0.1)
    state = sink(db, sink_id)
    assert state.failures >= 1 and state.last_error and waiting(db, sink_id) == 15
    receiver.start()  # back, on the same port
    write(db, 25, 5)
    drain(streaming, db, sink_id)
    assert receiver.bad == 0
    check_all_once_in_order(receiver.received, range(30))
    assert receiver.event_ids == [item["id"] for item in receiver.received]
    assert sink(db, sink_id).failures == 0
    receiver.stop()


def test_a_webhook_key_from_the_environment_and_a_wrong_key_refused(
    db: Database, box: LazySecretBox, tmp_path: Path
) -> None:
    certificate = make_certificate(tmp_path)
    receiver = HttpsReceiver(certificate, "the receiver expects another key")
    receiver.start()
    sink_id = add_sink(db, "webhook", {"url": receiver.url, "ca_bundle": certificate.pem}, secret_env="HOOK_KEY")
    write(db, 0, 2)
    run_apart(deliverer(db, box, tmp_path).run_once())
    state = sink(db, sink_id)
    assert receiver.bad == 1 and receiver.received == [] and state.last_error == "the webhook answered 401"
    receiver.stop()


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_rsyslog_down_for_a_while_then_back_gets_everything_once_in_order(
    db: Database, box: LazySecretBox, tmp_path: Path, tls: bool
) -> None:
    certificate = make_certificate(tmp_path) if tls else None
    syslog = Rsyslog(tmp_path / "rsyslog", certificate)
    syslog.directory.mkdir()
    syslog.start()
    try:
        settings = {
            "host": "127.0.0.1",
            "port": syslog.port,
            "tls": tls,
            "ca_bundle": certificate.pem if certificate else "",
        }
        sink_id = add_sink(db, "syslog", settings)
        streaming = deliverer(db, box, tmp_path)
        write(db, 0, 10)
        drain(streaming, db, sink_id)
        syslog.stop()  # down
        write(db, 10, 15)
        for _ in range(3):
            run_apart(streaming.run_once())
            time.sleep(0.1)
        assert sink(db, sink_id).failures >= 1 and waiting(db, sink_id) == 15
        syslog.start()  # back
        write(db, 25, 5)
        drain(streaming, db, sink_id)
        deadline = time.monotonic() + 10
        while len({r["id"] for r in syslog.records()}) < 30 + 1 and time.monotonic() < deadline:
            time.sleep(0.1)  # rsyslog writes its file a moment after it has the message
        check_all_once_in_order(syslog.records(), range(30))
        assert any(line.startswith("test:Streamed [gatehouse@32473 id=") for line in syslog.lines())
    finally:
        syslog.stop()


def test_two_deliverers_never_deliver_one_sink_at_once(db: Database, box: LazySecretBox, tmp_path: Path) -> None:
    add_sink(db, "file", {"file": "race.jsonl"})
    write(db, 0, 3)
    first, second = deliverer(db, box, tmp_path), deliverer(db, box, tmp_path)
    with db.transaction() as connection:
        taken = sink_store.claim_due(connection, first.owner, audit_sinks.utcnow())
    with db.transaction() as connection:
        assert sink_store.claim_due(connection, second.owner, audit_sinks.utcnow()) == []
    assert len(taken) == 1


def test_a_syslog_message_is_rfc_5424() -> None:
    payload = orjson.dumps(
        {"id": "i-1", "sequence": 7, "occurred_at": "2026-12-01T10:00:00.123456+00:00", "event": "iam:UpdateRole",
         "outcome": "refused", "source": "api", "summary": {"quote": 'a "b" ]'}}
    ).decode()  # fmt: skip
    message = syslog_message(audit_outbox.Queued(1, 7, payload, audit_sinks.utcnow()), 13, "gh")
    text = message.decode()
    assert text.startswith(
        '<108>1 2026-12-01T10:00:00.123456Z gh gatehouse - iam:UpdateRole [gatehouse@32473 id="i-1" '
    )
    assert 'sequence="7" outcome="refused" source="api"] \ufeff{' in text


def test_what_cannot_be_delivered_waits_with_the_reason_on_the_sink(
    db: Database, box: LazySecretBox, tmp_path: Path
) -> None:
    """A webhook whose key's variable is unset, a webhook to a private address while those are refused, and a
    file sink whose directory cannot be made: nothing is sent, the records wait, the sink says why."""
    receiver = HttpsReceiver(make_certificate(tmp_path), HOOK_KEY)
    receiver.start()
    no_key = add_sink(db, "webhook", {"url": receiver.url}, secret_env="UNSET_HOOK_KEY")
    write(db, 0, 2)
    run_apart(deliverer(db, box, tmp_path).run_once())
    assert receiver.received == [] and waiting(db, no_key) == 2
    assert sink(db, no_key).last_error == "the webhook's HMAC key is not available (is its environment variable set?)"
    with db.transaction() as connection:
        audit_sinks.delete_sink(connection, OPERATOR, no_key)

    private = add_sink(db, "webhook", {"url": receiver.url}, secret_env="HOOK_KEY")
    write(db, 2, 1)
    run_apart(deliverer(db, box, tmp_path, deny_private=True).run_once())
    assert receiver.received == [] and waiting(db, private) == 1
    assert "an address Gatehouse does not call while GATEHOUSE_OUTBOUND_DENY_PRIVATE is on" in str(
        sink(db, private).last_error
    )
    receiver.stop()

    (tmp_path / "blocked").write_text("a file where the directory should be")
    filed = add_sink(db, "file", {"file": "a.jsonl"})
    write(db, 3, 1)
    run_apart(Deliverer(db, box, tmp_path / "blocked" / "audit", max_backoff=0.05).run_once())
    assert waiting(db, filed) == 1 and str(sink(db, filed).last_error).startswith("NotADirectoryError: ")
