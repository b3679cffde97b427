"""Organization → Audit streaming over HTTP, on both databases: sinks are added (a webhook, syslog, a JSON-lines
file), changed and deleted through forms that end in a redirect (Post/Redirect/Get); a webhook's HMAC key is
write-only — never on a page, never in the audit log; bad settings (an http URL, a path for a file, a port or a
timeout out of range or not a number, a short key) show the form again with why and change nothing; each sink's
waiting records, lag and last error are on the page; changes need ``iam:UpdateAuditSink`` and the CSRF token."""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from gatehouse.iam import audit_sinks
from gatehouse.secrets_box import LazySecretBox
from gatehouse.store import audit_outbox
from gatehouse.store import audit_sinks as sink_store
from gatehouse.store.audit_sinks import Sink
from gatehouse.store.database import Database
from gatehouse.streaming.deliverer import Deliverer
from support.api import ROOT, raw_audit_text
from support.coroutines import run_apart
from support.dashboard import browser
from support.governance import custom_role, local_user, records
from support.pem import BROKEN_PEM
from support.servers import free_port
from support.web import csrf_of

BASE = "/organization/audit-streaming"
KEY = "the webhook's HMAC key, write-only"


def text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def post(client: TestClient, url: str, /, **data: str) -> httpx.Response:
    token = csrf_of(client.get("/account/access").text)
    response: httpx.Response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    return response


def sinks(db: Database) -> list[Sink]:
    with db.snapshot() as connection:
        return sink_store.list_all(connection)


WEBHOOK = {"kind": "webhook", "name": "SIEM", "enabled": "on", "url": "https://siem.example.com/in",
           "secret_mode": "stored", "secret": KEY, "timeout": "5"}  # fmt: skip
SYSLOG = {"kind": "syslog", "name": "Syslog", "enabled": "on", "host": "127.0.0.1", "port": "", "tls": "on",
          "facility": "16", "hostname": "gh-1"}  # fmt: skip
FILE = {"kind": "file", "name": "Local file", "enabled": "on", "file": "audit.jsonl"}


def test_adding_a_sink_of_each_kind_ends_on_the_list(console: TestClient, db: Database) -> None:
    assert "No sink yet: audit records stay in Gatehouse only." in text(console.get(BASE))
    for form, where in ((WEBHOOK, "https://siem.example.com/in"), (SYSLOG, "127.0.0.1:6514 (TLS)"),
                        (FILE, "/audit.jsonl")):  # fmt: skip
        response = post(console, f"{BASE}/new", **form)
        assert response.status_code == 303 and response.headers["location"] == BASE
        page = text(console.get(BASE))
        assert f"Sink {form['name']} added: it receives every record from now on." in page and where in page
        assert f"Sink {form['name']} added" not in text(console.get(BASE))  # a reload keeps the page only
    found = {sink.name: sink for sink in sinks(db)}
    assert found["SIEM"].settings == {"url": "https://siem.example.com/in", "ca_bundle": "", "timeout": 5.0}
    assert found["SIEM"].secret_encrypted and KEY not in found["SIEM"].secret_encrypted
    assert found["Syslog"].settings["port"] == 6514 and found["Syslog"].settings["facility"] == 16
    assert found["Local file"].settings == {"file": "audit.jsonl"}
    assert len(records(db, "iam:UpdateAuditSink")) == 3


def test_the_hmac_key_is_write_only(console: TestClient, db: Database) -> None:
    assert post(console, f"{BASE}/new", **WEBHOOK).status_code == 303
    [sink] = sinks(db)
    for page in (console.get(BASE), console.get(f"{BASE}/{sink.id}"), console.get(f"{BASE}/{sink.id}/delete")):
        assert page.status_code == 200 and KEY not in text(page)
    assert KEY not in raw_audit_text(db)
    [recorded] = records(db, "iam:UpdateAuditSink")
    assert recorded.summary["hmac_key"] == "stored encrypted" and recorded.resource_id == sink.id
    assert recorded.summary["settings"] == {"url": "https://siem.example.com/in", "timeout": 5.0}
    # saved again without a key: the stored one is kept
    edit = {**WEBHOOK, "secret": "", "name": "SIEM prod"}
    assert post(console, f"{BASE}/{sink.id}", **edit).status_code == 303
    [kept] = sinks(db)
    assert kept.name == "SIEM prod" and kept.secret_encrypted == sink.secret_encrypted and kept.version == 2
    # from an environment variable instead
    env = {**WEBHOOK, "secret": "", "secret_mode": "env", "secret_env": "GATEHOUSE_SIEM_KEY"}
    assert post(console, f"{BASE}/{sink.id}", **env).status_code == 303
    [moved] = sinks(db)
    assert moved.secret_env == "GATEHOUSE_SIEM_KEY" and moved.secret_encrypted is None
    edit_page = console.get(f"{BASE}/{sink.id}").text
    assert 'value="env" checked' in edit_page and 'value="GATEHOUSE_SIEM_KEY"' in edit_page


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({**WEBHOOK, "url": "http://siem.example.com/in"}, "settings.url: an https:// URL"),
        ({**WEBHOOK, "url": "ftp://siem.example.com/in"}, "url"),
        ({**WEBHOOK, "secret": "short"}, "secret: an HMAC key of 16 to 4096 characters."),
        ({**WEBHOOK, "secret": ""}, "secret: a webhook needs an HMAC key"),
        ({**WEBHOOK, "secret_mode": "env", "secret_env": "lower-case"}, "secret_env: an environment variable's name"),
        ({**WEBHOOK, "timeout": "0"}, "settings.timeout: seconds, 1 to 60."),
        ({**WEBHOOK, "timeout": "-5"}, "settings.timeout: seconds, 1 to 60."),
        ({**WEBHOOK, "timeout": "abc"}, "settings.timeout: seconds, 1 to 60."),
        ({**WEBHOOK, "timeout": "1e309"}, "settings.timeout: seconds, 1 to 60."),
        ({**WEBHOOK, "timeout": "nan"}, "settings.timeout: seconds, 1 to 60."),
        ({**SYSLOG, "port": "0"}, "settings.port: a TCP port, 1 to 65535."),
        ({**SYSLOG, "port": "-514"}, "settings.port: a TCP port, 1 to 65535."),
        ({**SYSLOG, "port": "99999999999999"}, "settings.port: a TCP port, 1 to 65535."),
        ({**SYSLOG, "port": "five"}, "settings.port: a TCP port, 1 to 65535."),
        ({**SYSLOG, "facility": "24"}, "settings.facility: a syslog facility, 0 to 23"),
        ({**SYSLOG, "facility": "-1"}, "settings.facility: a syslog facility, 0 to 23"),
        ({**SYSLOG, "host": "evil host;rm"}, "settings.host: the syslog receiver's host name or address."),
        ({**SYSLOG, "hostname": "two words"}, "settings.hostname: printable ASCII without spaces."),
        ({**SYSLOG, "ca_bundle": "not a certificate"}, "settings.ca_bundle: readable PEM certificates"),
        ({**SYSLOG, "ca_bundle": BROKEN_PEM}, "settings.ca_bundle: readable PEM certificates"),
        ({**FILE, "file": "../../etc/passwd"}, "settings.file: a file name"),
        ({**FILE, "file": "/tmp/audit.jsonl"}, "settings.file: a file name"),
        ({**FILE, "file": ".."}, "settings.file: a file name"),
        ({**FILE, "name": "   "}, "name: 1 to 100 characters."),
        ({**FILE, "kind": "email"}, "kind: one of webhook, syslog, file."),
    ],
    ids=lambda value: "" if isinstance(value, dict) else value.split(":")[0],
)
def test_bad_settings_show_the_form_again_and_change_nothing(
    console: TestClient, db: Database, form: dict[str, str], error: str
) -> None:
    response = post(console, f"{BASE}/new", **form)
    assert response.status_code == 400, response.text
    shown = text(response)
    assert 'role="alert" id="form-error">' in shown and error in shown
    assert f'value="{form["name"]}"' in response.text  # as typed
    assert sinks(db) == []
    [refused] = records(db, "iam:UpdateAuditSink")
    assert refused.status == 400 and refused.outcome != "success"


def test_a_name_is_taken_in_any_case(console: TestClient, db: Database) -> None:
    assert post(console, f"{BASE}/new", **FILE).status_code == 303
    again = post(console, f"{BASE}/new", **{**FILE, "name": "LOCAL FILE"})
    assert again.status_code == 409 and "A sink named 'LOCAL FILE' already exists" in text(again)
    assert len(sinks(db)) == 1


def test_lag_and_last_error_are_on_the_page(console: TestClient, db: Database, tmp_path: Path) -> None:
    down = {**SYSLOG, "tls": "", "port": str(free_port()), "timeout": "1"}  # nothing listens there
    assert post(console, f"{BASE}/new", **down).status_code == 303
    [sink] = sinks(db)
    deliverer = Deliverer(db, LazySecretBox(tmp_path / "key"), tmp_path, max_backoff=60)
    assert run_apart(deliverer.run_once()) == 0
    page = text(console.get(BASE))
    row = page[page.index(">Syslog<") :]
    assert "ConnectionRefusedError" in row and "1 failure(s) in a row, next attempt" in row
    waiting = sinks_waiting(db, sink.id)
    assert waiting >= 1 and f'<td class="nowrap">{waiting:,}</td>' in page


def sinks_waiting(db: Database, sink_id: str) -> int:
    with db.snapshot() as connection:
        found = audit_outbox.backlogs(connection).get(sink_id)
    return found.waiting if found else 0


def test_deleting_a_sink_after_a_confirmation(console: TestClient, db: Database) -> None:
    assert post(console, f"{BASE}/new", **FILE).status_code == 303
    [sink] = sinks(db)
    question = console.get(f"{BASE}/{sink.id}/delete")
    assert question.status_code == 200 and "Delete the sink Local file?" in text(question)
    assert len(sinks(db)) == 1
    forged = console.post(f"{BASE}/{sink.id}/delete", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and len(sinks(db)) == 1
    response = post(console, f"{BASE}/{sink.id}/delete")
    assert response.status_code == 303 and response.headers["location"] == BASE
    assert "Sink Local file deleted." in text(console.get(BASE)) and sinks(db) == []
    gone = console.get(f"{BASE}/{sink.id}")
    assert gone.status_code == 404


def test_changes_need_the_permission_and_the_csrf_token(console: TestClient, db: Database) -> None:
    reader = custom_role(db, "Sink watchers", ["iam:GetAuditSink"])
    local_user(db, "wat", reader)
    watcher = browser(console, "wat")
    page = watcher.get(BASE)
    assert page.status_code == 200 and "Add sink" not in page.text
    assert watcher.get(f"{BASE}/new").status_code == 403
    assert post(watcher, f"{BASE}/new", **FILE).status_code == 403
    forged = console.post(f"{BASE}/new", data={**FILE, "csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert sinks(db) == []
    local_user(db, "nobody")
    assert browser(console, "nobody").get(BASE).status_code == 403
    with db.transaction() as connection:  # a disabled sink: shown as such, and gets nothing
        data = audit_sinks.sink_input("Off", "file", False, {"file": "off.jsonl"})
        audit_sinks.create_sink(connection, ROOT, data, None)
    assert "Disabled" in text(watcher.get(BASE))
