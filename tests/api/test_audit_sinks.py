"""Audit streaming sinks through the admin API, on both databases: created, read, replaced and deleted with
``iam:UpdateAuditSink`` (the Organization Admin has only ``iam:GetAuditSink``); the HMAC key is write-only (never
returned, never in the audit log); bad settings are 400/422 in the error envelope naming the field and change
nothing; each sink's status (records waiting, lag, last delivery, last error, next attempt) is in the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.secrets_box import LazySecretBox
from gatehouse.store.database import Database
from gatehouse.streaming.deliverer import Deliverer
from support.api import World, assert_error, key, raw_audit_text
from support.coroutines import run_apart
from support.governance import records
from support.servers import free_port

A = "/api/audit-sinks"
KEY = "an HMAC key the API never returns"
WEBHOOK = {"name": "SIEM", "kind": "webhook", "settings": {"url": "https://siem.example.com/in"}, "secret": KEY}
SYSLOG = {"name": "Syslog", "kind": "syslog", "settings": {"host": "127.0.0.1", "port": 514, "facility": 16}}
FILE = {"name": "File", "kind": "file", "settings": {"file": "audit.jsonl"}}


def test_create_read_replace_delete(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    made = client.post(A, json=WEBHOOK, headers=admin)
    assert made.status_code == 201, made.text
    sink = made.json()
    assert (sink["name"], sink["kind"], sink["enabled"], sink["version"]) == ("SIEM", "webhook", True, 1)
    assert sink["settings"] == {"url": "https://siem.example.com/in", "ca_bundle": "", "timeout": 10.0}
    assert sink["hmac_key"] == "stored encrypted" and KEY not in made.text
    assert sink["status"]["waiting"] == 0 and sink["status"]["lag_seconds"] == 0 and sink["status"]["failures"] == 0
    assert client.get(f"{A}/{sink['id']}", headers=admin).json()["id"] == sink["id"]
    assert [s["name"] for s in client.get(A, headers=admin).json()] == ["SIEM"]

    replaced = client.put(f"{A}/{sink['id']}", json={**WEBHOOK, "name": "SIEM prod", "secret": None, "enabled": False},
                          headers=admin)  # fmt: skip
    assert replaced.status_code == 200
    assert (replaced.json()["name"], replaced.json()["enabled"], replaced.json()["version"]) == ("SIEM prod", False, 2)
    assert replaced.json()["hmac_key"] == "stored encrypted"  # kept
    moved = client.put(f"{A}/{sink['id']}", json={**WEBHOOK, "secret": None, "secret_env": "SIEM_KEY"}, headers=admin)
    assert moved.json()["hmac_key"] == "environment variable SIEM_KEY"
    assert_error(client.put(f"{A}/{sink['id']}", json={**FILE, "name": "SIEM"}, headers=admin), 400)  # kind stays

    assert client.delete(f"{A}/{sink['id']}", headers=admin).status_code == 204
    assert_error(client.get(f"{A}/{sink['id']}", headers=admin), 404)
    assert_error(client.delete(f"{A}/{sink['id']}", headers=admin), 404)
    assert KEY not in raw_audit_text(db)
    first = records(db, "iam:UpdateAuditSink", outcome="success")[-1]
    assert first.summary["hmac_key"] == "stored" and first.summary["settings"]["url"] == "https://siem.example.com/in"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**WEBHOOK, "settings": {"url": "http://siem.example.com/in"}}, 400, "settings.url"),
        ({**WEBHOOK, "settings": {"url": "https://siem.example.com", "timeout": 0}}, 400, "settings.timeout"),
        ({**WEBHOOK, "settings": {"url": "https://siem.example.com", "timeout": "slow"}}, 400, "settings.timeout"),
        ({**WEBHOOK, "secret": "short"}, 400, "secret"),
        ({**WEBHOOK, "secret": None}, 400, "secret"),
        ({**WEBHOOK, "secret": "k" * 5000}, 422, "secret"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "port": 0}}, 400, "settings.port"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "port": -1}}, 400, "settings.port"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "port": 10**20}}, 400, "settings.port"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "port": "x"}}, 400, "settings.port"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "port": True}}, 400, "settings.port"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "facility": 99}}, 400, "settings.facility"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "facility": "²"}}, 400, "settings.facility"),
        ({**SYSLOG, "settings": {"host": "127.0.0.1", "facility": True}}, 400, "settings.facility"),
        ({**SYSLOG, "settings": {"host": ["a"]}}, 400, "settings.host"),
        ({**SYSLOG, "secret": KEY}, 400, "secret"),
        ({**FILE, "settings": {"file": "../audit.jsonl"}}, 400, "settings.file"),
        ({**FILE, "settings": {"file": "/var/log/audit.jsonl"}}, 400, "settings.file"),
        ({**FILE, "name": ""}, 422, "name"),
        ({**FILE, "name": "İ" * 100}, 400, "in lower case too"),
        ({**FILE, "kind": "email"}, 422, "kind"),
        ({**FILE, "settings": "audit.jsonl"}, 422, "settings"),
    ],
    ids=[
        "http",
        "timeout-zero",
        "timeout-text",
        "short-key",
        "no-key",
        "huge-key",
        "port-zero",
        "port-negative",
        "port-huge",
        "port-text",
        "port-boolean",
        "facility",
        "facility-superscript",
        "facility-boolean",
        "host-list",
        "key-for-syslog",
        "file-dots",
        "file-path",
        "no-name",
        "name-longer-lower-cased",
        "kind",
        "settings-text",
    ],
)
def test_bad_sinks_are_refused_and_change_nothing(
    client: TestClient, db: Database, admin: dict[str, str], body: dict[str, Any], status: int, field: str
) -> None:
    error = assert_error(client.post(A, json=body, headers=admin), status)
    assert field in str(error)
    assert client.get(A, headers=admin).json() == []


def test_a_number_json_reads_as_infinite_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    body = '{"name": "S", "kind": "syslog", "settings": {"host": "127.0.0.1", "port": 1e999}}'
    sent = client.post(A, content=body, headers={**admin, "Content-Type": "application/json"})
    assert "settings.port" in str(assert_error(sent, 400))
    assert client.get(A, headers=admin).json() == []


def test_names_are_unique_in_any_case(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post(A, json=FILE, headers=admin).status_code == 201
    assert_error(client.post(A, json={**FILE, "name": "FILE"}, headers=admin), 409, "conflict")


def test_who_may(client: TestClient, world: World, admin: dict[str, str], viewer: dict[str, str]) -> None:
    olga = key(world.org_admin_token)
    assert_error(client.post(A, json=FILE, headers=olga), 403)  # where the trail leaves the box: not Org Admin's
    made = client.post(A, json=FILE, headers=admin).json()
    assert client.get(A, headers=olga).status_code == 200 and client.get(A, headers=viewer).status_code == 200
    assert_error(client.put(f"{A}/{made['id']}", json=FILE, headers=olga), 403)
    assert_error(client.delete(f"{A}/{made['id']}", headers=viewer), 403)
    assert_error(client.get(A), 401)


def test_the_status_shows_waiting_records_and_the_last_error(
    client: TestClient, db: Database, admin: dict[str, str], tmp_path: Path
) -> None:
    body = {**SYSLOG, "settings": {"host": "127.0.0.1", "port": free_port(), "timeout": 1}}  # nothing listens
    sink_id = client.post(A, json=body, headers=admin).json()["id"]
    client.post(A, json={**FILE, "enabled": False}, headers=admin)  # one more record, queued for the syslog sink
    deliverer = Deliverer(db, LazySecretBox(tmp_path / "key"), tmp_path, max_backoff=60)
    assert run_apart(deliverer.run_once()) == 0
    status = client.get(f"{A}/{sink_id}", headers=admin).json()["status"]
    assert status["waiting"] >= 1 and status["oldest_waiting"] is not None and status["lag_seconds"] >= 0
    assert status["failures"] == 1 and "ConnectionRefusedError" in status["last_error"]
    assert status["next_attempt_at"] is not None and status["delivered_total"] == 0
    assert status["last_delivered_at"] is None
