"""Organization → Audit Logs over HTTP, on both databases: who may see and export it, the filters, keyset
paging, record details, CSV and JSON exports (content and headers), and refused attempts in the log."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.iam.audit import Change, Origin, record
from gatehouse.passwords import hash_password
from gatehouse.store import audit as audit_store
from gatehouse.store import users as user_store
from gatehouse.store.audit import AuditQuery, AuditRecord
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.roles import MANUAL, assign, get_by_name
from support.web import ADMIN_PASSWORD, csrf_of, make_admin, sign_in

PAGE = "/organization/audit-logs"
EXPORT = f"{PAGE}/export"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
DAY = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)
ALICE = Origin("dashboard", "alice", "id-alice", "203.0.113.7", "Firefox/130")
CI = Origin("api", "bob (token ci)", "id-bob", "198.51.100.2", "curl/8.5")
OKTA = Origin("scim", "SCIM token okta", None, "192.0.2.9", "Okta SCIM Client 1.0")


def member(db: Database, name: str, role: str | None = None) -> str:
    """A local user who signs in with ``ADMIN_PASSWORD`` and holds ``role`` (by name), or no role."""
    with db.transaction() as connection:
        write = user_store.UserWrite(
            id=str(uuid.uuid4()),
            doc={"schemas": [USER_SCHEMA], "userName": name, "active": True},
            source="local",
            password_hash=hash_password(ADMIN_PASSWORD),
        )
        user_id = user_store.insert(connection, write, utcnow()).id
        if role is not None:
            found = get_by_name(connection, role)
            assert found is not None, role
            assign(connection, user_id, found.id, MANUAL, "test", utcnow())
    return user_id


def browser(app_client: TestClient, user: str) -> TestClient:
    client = TestClient(app_client.app, base_url="https://testserver")
    assert sign_in(client, user).status_code == 303  # type: ignore[attr-defined]
    return client


def add(
    db: Database, origin: Origin, change: Change, when: datetime, status: int = 200, error: str | None = None
) -> None:
    with db.transaction() as connection:
        record(connection, origin, change, status=status, error=error, now=when)


def rows(html: str) -> list[str]:
    """The events of the table's rows, top to bottom."""
    return re.findall(r'title="Only this event"><code>([^<]+)</code>', html)


def older_link(html: str) -> str | None:
    found = re.search(r'<a class="button" rel="next" href="([^"]+)">Older</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def audit_records(db: Database, **filters: Any) -> list[AuditRecord]:
    with db.reader() as connection:
        return audit_store.search(connection, AuditQuery(**filters), limit=500).records


@pytest.fixture
def seeded(console: TestClient, db: Database) -> TestClient:
    """Five records over three days, three surfaces and three outcomes (besides the admin's own)."""
    add(db, ALICE, Change("iam:CreateRole", "role", "role-1", {"name": "ops"}), DAY - timedelta(days=2))
    add(db, CI, Change("iam:UpdateUserStatus", "user", "user-9", {"active": False}), DAY - timedelta(days=1))
    add(db, OKTA, Change("scim:CreateUser", "user", "user-9", {"userName": "x"}), DAY)
    add(
        db,
        ALICE,
        Change("iam:DeleteAnyToken", "token", "tok-2", {"name": "ci"}),
        DAY + timedelta(hours=1),
        403,
        "You are not allowed to perform iam:DeleteAnyToken",
    )
    add(db, OKTA, Change("scim:CreateGroup", "group", "grp-1"), DAY + timedelta(hours=2), 409, "already exists")
    return console


# ---------------------------------------------------------------------------------------- who may


def test_a_user_without_iam_get_audit_gets_a_clear_403(
    app_client: TestClient, console: TestClient, db: Database
) -> None:
    member(db, "nora")
    nora = browser(app_client, "nora")
    page = nora.get(PAGE)
    assert page.status_code == 403 and "Viewing the audit log needs the iam:GetAudit permission" in page.text
    assert 'href="/organization/audit-logs"' not in page.text  # not in the navigation either
    assert nora.get(PAGE, params={"since": "garbage"}).status_code == 403  # refused before the filters
    export = nora.get(EXPORT, params={"format": "csv"})
    assert export.status_code == 403 and "text/html" in export.headers["content-type"]
    [attempt] = audit_records(db, event="iam:ExportAudits")
    assert (attempt.actor, attempt.outcome, attempt.status) == ("nora", "refused", 403)


def test_a_viewer_reads_but_may_not_export(app_client: TestClient, seeded: TestClient, db: Database) -> None:
    member(db, "vera", "Viewer")
    vera = browser(app_client, "vera")
    page = vera.get(PAGE)
    assert page.status_code == 200 and 'href="/organization/audit-logs" aria-current="page"' in page.text
    assert "scim:CreateGroup" in rows(page.text) and "Export CSV" not in page.text
    export = vera.get(EXPORT, params={"format": "json"})
    assert export.status_code == 403 and "needs the iam:ExportAudits permission" in export.text
    [attempt] = audit_records(db, event="iam:ExportAudits")
    assert (attempt.actor, attempt.outcome) == ("vera", "refused")
    assert attempt.summary == {"format": "json"}


def test_the_page_anonymous_is_sent_to_sign_in(app_client: TestClient) -> None:
    for url in (PAGE, EXPORT):
        response = app_client.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


# ---------------------------------------------------------------------------------------- the table


def test_the_table_newest_first_with_details_and_retention(seeded: TestClient) -> None:
    page = seeded.get(PAGE)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert rows(page.text)[-5:] == [  # after the sign-in records of today
        "scim:CreateGroup",
        "iam:DeleteAnyToken",
        "scim:CreateUser",
        "iam:UpdateUserStatus",
        "iam:CreateRole",
    ]
    assert "Records are kept for <strong>60 days</strong>, then deleted." in page.text
    assert '<time datetime="2026-02-10T11:30:00+00:00">2026-02-10 11:30:00</time>' in page.text
    assert "badge-outcome-refused" in page.text and "badge-outcome-failed" in page.text
    assert "token/tok-2" in page.text and "203.0.113.7" in page.text
    assert '<details class="audit-detail">' in page.text and "Okta SCIM Client 1.0" in page.text
    assert "You are not allowed to perform iam:DeleteAnyToken" in page.text
    assert "&#34;name&#34;: &#34;ops&#34;" in page.text  # the summary, as indented JSON
    assert 'href="/organization/audit-logs/export?format=csv"' in page.text
    assert 'href="/organization/audit-logs/export?format=json"' in page.text
    assert older_link(page.text) is None and "Newest" not in page.text


def test_retention_shown_is_the_configured_one(db: Database, settings: Any) -> None:
    from gatehouse.app import create_app

    make_admin(db)
    custom = settings.model_copy(update={"audit_retention_days": 7})
    with TestClient(create_app(custom, db), base_url="https://testserver") as client:
        sign_in(client)
        assert "Records are kept for <strong>7 days</strong>" in client.get(PAGE).text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"event": "scim:CreateUser"}, ["scim:CreateUser"]),
        ({"event": "scim:*"}, ["scim:CreateGroup", "scim:CreateUser"]),
        ({"event": "iam:*", "actor": "alice"}, ["iam:DeleteAnyToken", "iam:CreateRole"]),
        ({"actor": "id-bob"}, ["iam:UpdateUserStatus"]),
        ({"resource": "user-9"}, ["scim:CreateUser", "iam:UpdateUserStatus"]),
        ({"source": "scim"}, ["scim:CreateGroup", "scim:CreateUser"]),
        ({"outcome": "refused"}, ["iam:DeleteAnyToken"]),
        ({"outcome": "failed", "source": "scim"}, ["scim:CreateGroup"]),
        ({"since": "2026-02-09", "until": "2026-02-09"}, ["iam:UpdateUserStatus"]),
        ({"since": "2026-02-10", "until": "2026-02-10"}, ["scim:CreateGroup", "iam:DeleteAnyToken", "scim:CreateUser"]),
        ({"until": "2026-02-08"}, ["iam:CreateRole"]),
        (
            {"since": "2026-02-10", "until": "9999-12-31"},
            ["auth:SignIn", "scim:CreateGroup", "iam:DeleteAnyToken", "scim:CreateUser"],
        ),
        ({"source": "cli"}, []),
    ],
)
def test_filters(seeded: TestClient, params: dict[str, str], expected: list[str]) -> None:
    page = seeded.get(PAGE, params=params)
    assert page.status_code == 200
    assert rows(page.text) == expected
    for name, value in params.items():  # the form shows the filters in use
        assert f'value="{value}"' in page.text, name
    if not expected:
        assert "No records match these filters" in page.text


def test_the_event_select_offers_known_events_and_prefixes(seeded: TestClient) -> None:
    page = seeded.get(PAGE, params={"event": "custom:Thing"}).text
    assert '<option value="iam:*"' in page and '<option value="scim:*"' in page
    assert '<option value="iam:CreateToken"' in page and '<option value="iam:ExportAudits"' in page
    assert '<option value="custom:Thing" selected>' in page  # an event asked for in the URL stays chosen


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since: a day as YYYY-MM-DD."),
        ({"since": "2026-02-10", "until": "2026-02-01"}, "until: must be later than since."),
        ({"source": "email"}, "source: one of"),
        ({"outcome": "maybe"}, "outcome: one of success, refused, failed."),
        ({"event": "iam:*Token"}, "event: an exact event name, or a prefix ending in"),
        ({"cursor": "not-a-cursor"}, "The page cursor is not valid"),
    ],
)
def test_bad_filters_say_what_is_wrong(seeded: TestClient, params: dict[str, str], message: str) -> None:
    page = seeded.get(PAGE, params=params)
    assert page.status_code == 400 and message in page.text and rows(page.text) == []
    assert 'role="alert" id="filter-error"' in page.text


def test_keyset_paging_older_and_newest(seeded: TestClient, db: Database) -> None:
    """120 records, several on the same instant: "Older" walks 50, 50, 20 with the filters kept, every
    record once; "Newest" goes back to the first page."""
    for i in range(120):
        add(db, CI, Change(f"iam:Seed{i:03d}", "user", f"u{i}"), DAY + timedelta(days=1, seconds=i // 7))
    first = seeded.get(PAGE, params={"event": "iam:Seed*"}).text
    seen = rows(first)
    assert len(seen) == 50 and seen[0] == "iam:Seed119" and "Newest" not in first
    url = older_link(first)
    pages = 1
    while url:
        assert "event=iam%3ASeed%2A" in url and "cursor=" in url
        page = seeded.get(url).text
        pages += 1
        seen += rows(page)
        assert '<a class="button" href="/organization/audit-logs?event=iam%3ASeed%2A">Newest</a>' in page
        url = older_link(page)
    assert pages == 3 and len(seen) == 120 and len(set(seen)) == 120
    assert seen == [f"iam:Seed{i:03d}" for i in range(119, -1, -1)]


# ---------------------------------------------------------------------------------------- export


def export(client: TestClient, **params: str) -> httpx.Response:
    response: httpx.Response = client.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    return response


def test_csv_export_streams_the_filtered_records_as_an_attachment(seeded: TestClient, db: Database) -> None:
    response = export(seeded, format="csv", source="scim")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="gatehouse-audit-\d{8}T\d{6}Z\.csv"', disposition)
    assert response.headers["cache-control"] == "no-store"
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["event"] for row in table] == ["scim:CreateGroup", "scim:CreateUser"]
    group = table[0]
    assert (group["outcome"], group["status"], group["error"]) == ("failed", "409", "already exists")
    assert (group["actor"], group["ip"], group["user_agent"]) == (
        "SCIM token okta",
        "192.0.2.9",
        "Okta SCIM Client 1.0",
    )
    assert orjson.loads(table[1]["summary"]) == {"userName": "x"}
    assert table[1]["occurred_at"] == DAY.isoformat()
    assert response.text.startswith("id,occurred_at,source,event,actor")
    [exported] = audit_records(db, event="iam:ExportAudits")
    assert (exported.actor, exported.outcome) == ("admin", "success")
    assert exported.summary == {"format": "csv", "source": "scim"}


def test_json_export_holds_every_field(seeded: TestClient) -> None:
    response = export(seeded, format="json", outcome="refused")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].endswith('.json"')
    [only] = orjson.loads(response.content)
    assert only["event"] == "iam:DeleteAnyToken" and only["status"] == 403 and only["outcome"] == "refused"
    assert only["summary"] == {"name": "ci"} and only["resource_type"] == "token" and only["actor_id"] == "id-alice"
    empty = export(seeded, format="json", source="cli")
    assert orjson.loads(empty.content) == []


def test_an_export_with_no_filter_includes_the_whole_log_newest_first(seeded: TestClient) -> None:
    everything = orjson.loads(export(seeded, format="json").content)
    seeded_events = {
        "scim:CreateGroup",
        "iam:DeleteAnyToken",
        "scim:CreateUser",
        "iam:UpdateUserStatus",
        "iam:CreateRole",
    }
    events = [item["event"] for item in everything if item["event"] in seeded_events]
    assert events == [
        "scim:CreateGroup",
        "iam:DeleteAnyToken",
        "scim:CreateUser",
        "iam:UpdateUserStatus",
        "iam:CreateRole",
    ]
    stamps = [item["occurred_at"] for item in everything]
    assert stamps == sorted(stamps, reverse=True)


def test_bad_export_requests(seeded: TestClient) -> None:
    assert seeded.get(EXPORT, params={"format": "xml"}).status_code == 400
    bad = seeded.get(EXPORT, params={"format": "csv", "since": "soon"})
    assert bad.status_code == 400 and "since: a day as YYYY-MM-DD." in bad.text


# ---------------------------------------------------------------------------------------- refusals


def test_refused_attempts_are_in_the_log(app_client: TestClient, console: TestClient, db: Database) -> None:
    """A Viewer's forged form (here: creating a token through a role that cannot) is refused, and the
    administrator finds the attempt in the audit log with who, from where and why."""
    member(db, "nora")
    nora = browser(app_client, "nora")
    token = csrf_of(nora.get("/organization/tokens").text)
    refused = nora.post(
        "/organization/tokens",
        data={"csrf_token": token, "name": "sneaky", "expiry": "30"},
        headers={"User-Agent": "NoraBrowser/1.0"},
    )
    assert refused.status_code == 403
    page = console.get(PAGE, params={"outcome": "refused", "actor": "nora"}).text
    assert rows(page) == ["iam:CreateToken"]
    assert "NoraBrowser/1.0" in page and "iam:CreateToken on arn:gatehouse:iam:token/*" in page
    assert "&#34;name&#34;: &#34;sneaky&#34;" in page
