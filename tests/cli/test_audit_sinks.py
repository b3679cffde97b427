"""``gatehouse audit-sinks list`` on both databases: every sink with its delivery status, as text and with
``--json`` (the API's shape: records waiting, lag, last delivery, last error; never the HMAC key); refused to a
token without ``iam:GetAuditSink``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatehouse.errors import Forbidden
from gatehouse.iam import audit_sinks
from gatehouse.iam.audit import Change, Origin, record
from gatehouse.secrets_box import LazySecretBox
from gatehouse.store.database import Database
from gatehouse.streaming.deliverer import Deliverer
from support.api import ROOT, roleless
from support.cli import as_json, run
from support.coroutines import run_apart
from support.servers import free_port

KEY = "a key the CLI never prints"


def add(db: Database, name: str, kind: str, settings: dict[str, object], box: LazySecretBox, **extra: str) -> str:
    data = audit_sinks.sink_input(name, kind, True, settings, **extra)  # type: ignore[arg-type]
    with db.transaction() as connection:
        return audit_sinks.create_sink(connection, ROOT, data, box() if data.secret else None).sink.id


def test_no_sink(cli_db: Database) -> None:
    assert run("audit-sinks", "list") == "No audit sink: records stay in Gatehouse's audit log only.\n"
    assert as_json("audit-sinks", "list") == []


def test_every_sink_with_its_status(cli_db: Database, tmp_path: Path) -> None:
    box = LazySecretBox(tmp_path / "secret.key")
    add(cli_db, "SIEM", "webhook", {"url": f"https://127.0.0.1:{free_port()}/in", "timeout": 1}, box, secret=KEY)
    down = add(cli_db, "Syslog", "syslog", {"host": "127.0.0.1", "port": free_port(), "timeout": 1}, box)
    with cli_db.transaction() as connection:  # a record to deliver
        record(connection, Origin("cli", "tester"), Change("test:Streamed", "thing", "1"))
    deliverer = Deliverer(cli_db, box, tmp_path / "audit", max_backoff=60, environ={})
    run_apart(deliverer.run_once())  # nothing listens on either port

    listed = as_json("audit-sinks", "list")
    assert [s["name"] for s in listed] == ["SIEM", "Syslog"] and KEY not in json.dumps(listed)
    hook, syslog = listed
    assert hook["hmac_key"] == "stored encrypted" and syslog["hmac_key"] is None
    assert hook["status"]["failures"] == 1 and "ConnectError" in hook["status"]["last_error"]
    assert syslog["id"] == down and syslog["settings"]["port"] > 0
    status = syslog["status"]
    assert status["waiting"] == 1 and status["failures"] == 1
    assert "ConnectionRefusedError" in status["last_error"]
    assert set(status) == {
        "waiting", "lag_seconds", "oldest_waiting", "delivered_total", "last_delivered_sequence", "last_delivered_at",
        "failures", "last_error", "last_error_at", "next_attempt_at",
    }  # fmt: skip

    text = run("audit-sinks", "list").splitlines()
    assert text[0].startswith("SIEM\twebhook\tenabled\twaiting ")
    assert text[1].startswith("Syslog\tsyslog\tenabled\twaiting ") and "last error: ConnectionRefusedError" in text[1]
    assert KEY not in "\n".join(text)


def test_a_token_without_the_permission_is_refused(cli_db: Database) -> None:
    _, token = roleless(cli_db, "nora")
    with pytest.raises(Forbidden, match="iam:GetAuditSink"):
        run("--token", token, "audit-sinks", "list", "--json")
