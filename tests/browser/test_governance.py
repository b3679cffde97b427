"""Governance in a real browser, on a server of its own: Ana asks for a role on My access; Abe, who holds
``iam:ApproveAccessRequest``, approves it on Access requests; the role works for Ana at once (the Audit streaming
page opens); its time runs out (``expires_at`` moved into the past in the database, as the clock would) and the
role stops at her next request, its end recorded in the audit log by the server's own settling. Then the admin
filters the access review, exports it as CSV, and adds a JSON-lines sink. The pictures go to the docs
(``my-access``, ``access-requests``, ``access-review``, ``audit-sinks`` with ``GATEHOUSE_UPDATE_SCREENSHOTS=1``)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import Page, expect

from gatehouse.iam import roles as rbac
from gatehouse.iam import timed_grants
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import user_roles
from support import servers
from support.api import ROOT, add_group
from support.browser import ADMIN_PASSWORD, ContextFactory, LiveServer, screenshot, sign_in
from support.governance import SINKS_READ, custom_role, local_user, make_requestable, records
from support.web import ADMIN_PASSWORD as USER_PASSWORD

pytestmark = pytest.mark.browser

MY_ACCESS = "/account/access"
QUEUE = "/organization/access-requests"
REVIEW = "/organization/access-review"
SINKS = "/organization/audit-streaming"


@pytest.fixture(scope="module")
def governance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Database]]:
    """``gatehouse serve`` on a fresh SQLite database, settling expired grants every second; and that database,
    with the roles and people of the story."""
    directory = tmp_path_factory.mktemp("governance-server")
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    env = servers.cli_env(f"sqlite:///{directory / 'gatehouse.db'}", public_url=base)
    env.pop("GATEHOUSE_TRUSTED_PROXIES", None)
    audit_dir = Path(tempfile.mkdtemp(prefix="gatehouse-audit-"))  # a short path, as the sinks page shows it
    env.update(GATEHOUSE_ADMIN_PASSWORD=ADMIN_PASSWORD, GATEHOUSE_GRANT_EXPIRY_CHECK_SECONDS="1",
               GATEHOUSE_AUDIT_FILE_DIR=str(audit_dir))  # fmt: skip
    log = directory / "serve.log"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, audit_dir, True)
        with mock.patch.object(servers, "free_port", return_value=port):
            assert stack.enter_context(servers.running_server(env, output=log)) == base
        db = Database.from_url(env["GATEHOUSE_DATABASE_URL"])
        stack.callback(db.dispose)
        sink_readers = custom_role(db, "Sink readers", [SINKS_READ])
        make_requestable(db, sink_readers, max_minutes=8 * 60)
        local_user(db, "ana")
        local_user(db, "abe", custom_role(db, "Approvers", ["iam:ApproveAccessRequest", "iam:GetRole"]))
        ed, gus, tim = (local_user(db, name) for name in ("ed", "gus", "tim"))
        ops = add_group(db, "Ops", (gus,))
        with db.transaction() as connection:
            rbac.assign_role(connection, ROOT, ed, sink_readers)
            rbac.bind_group_role(connection, ROOT, ops, sink_readers)
            timed_grants.grant_role_until(connection, ROOT, tim, sink_readers, utcnow() + timedelta(days=2))
        yield LiveServer(base, env, log), db


def signed_in(new_context: ContextFactory, server: LiveServer, user: str, password: str = USER_PASSWORD) -> Page:
    page = new_context(server).new_page()
    sign_in(page, user, password, expect_path=None)
    page.wait_for_url(re.compile(r"/organization/users"))
    return page


def sinks_page_opens(page: Page) -> bool:
    response = page.goto(SINKS)
    assert response is not None
    return response.status == 200


def test_request_approve_use_expire(
    governance_server: tuple[LiveServer, Database], new_context: ContextFactory
) -> None:
    server, db = governance_server
    ana = signed_in(new_context, server, "ana")
    assert not sinks_page_opens(ana)
    expect(ana.get_by_role("heading", name="Not allowed")).to_be_visible()

    # 1. Ana asks, on My access
    ana.get_by_role("navigation").get_by_role("link", name="My access").click()
    ana.wait_for_url(f"**{MY_ACCESS}")
    ana.get_by_label("Role", exact=True).select_option(label="Sink readers (at most 8 hours)")
    ana.get_by_label("For how long: amount").fill("2")
    ana.get_by_label("For how long: unit").select_option("hours")
    ana.get_by_label(re.compile(r"^Why you need it")).fill("INC-2041: the SIEM stopped receiving events")
    ana.get_by_role("button", name="Request access").click()
    ana.wait_for_url(f"**{MY_ACCESS}")
    expect(ana.get_by_role("status")).to_contain_text("Requested Sink readers: an approver will answer by")
    expect(ana.locator("#pending-requests")).to_contain_text("INC-2041")
    screenshot(ana, "my-access")
    ana.reload()  # Post/Redirect/Get: a reload shows the page, sends nothing again
    expect(ana.get_by_role("status")).to_have_count(0)
    assert len(records(db, "iam:RequestAccess", outcome="success")) == 1

    # 2. Abe approves, on Access requests
    abe = signed_in(new_context, server, "abe")
    abe.get_by_role("navigation").get_by_role("link", name="Access requests").click()
    abe.wait_for_url(f"**{QUEUE}")
    card = abe.get_by_role("listitem", name="Request by ana for Sink readers")
    expect(card).to_contain_text("INC-2041: the SIEM stopped receiving events")
    card.get_by_label(re.compile(r"^Note")).fill("OK for the incident")
    screenshot(abe, "access-requests")
    card.get_by_role("button", name="Approve").click()
    abe.wait_for_url(f"**{QUEUE}")
    expect(abe.get_by_role("status")).to_contain_text("Approved: ana holds Sink readers until")
    expect(abe.get_by_text("Nothing waits for your answer.")).to_be_visible()
    expect(abe.locator("#decided")).to_contain_text("OK for the incident")
    for width, height in ((1280, 800), (1024, 768)):  # the recent answers' outcome cell, at both widths
        abe.set_viewport_size({"width": width, "height": height})
        screenshot(abe, f"access-requests-answered-{width}", docs=False)

    # 3. The role works for Ana at once
    assert sinks_page_opens(ana)
    expect(ana.get_by_role("heading", name="Audit streaming", level=1)).to_be_visible()
    ana.goto(MY_ACCESS)
    expect(ana.locator("#active-grants")).to_contain_text("Sink readers")
    expect(ana.locator("#active-grants")).to_contain_text("abe")
    for width, height in ((1280, 800), (1024, 768)):  # her past requests' outcome cell, at both widths
        ana.set_viewport_size({"width": width, "height": height})
        screenshot(ana, f"my-access-answered-{width}", docs=False)

    # 4. Its time runs out: the role stops at her next request, and the end is recorded by the server
    with db.transaction() as connection:
        connection.execute(
            user_roles.update()
            .where(user_roles.c.source == "request", user_roles.c.expires_at.is_not(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert not sinks_page_opens(ana)
    ana.goto(MY_ACCESS)
    expect(ana.get_by_text("You hold no role for a while.")).to_be_visible()
    deadline = time.monotonic() + 30
    while not records(db, "iam:GrantExpired"):
        assert time.monotonic() < deadline, "the server did not record the end of the grant"
        time.sleep(0.2)
    [ended] = records(db, "iam:GrantExpired")
    assert ended.summary["user"] == "ana" and ended.summary["source"] == "request" and ended.actor == "Gatehouse"
    admin = signed_in(new_context, server, "admin", ADMIN_PASSWORD)
    admin.goto("/organization/audit-logs")
    expect(admin.get_by_role("link", name="iam:GrantExpired", exact=True).first).to_be_visible()


def test_the_review_report_with_a_filter_and_an_export(
    governance_server: tuple[LiveServer, Database], new_context: ContextFactory
) -> None:
    server, _ = governance_server
    admin = signed_in(new_context, server, "admin", ADMIN_PASSWORD)
    admin.get_by_role("navigation").get_by_role("link", name="Access review").click()
    admin.wait_for_url(f"**{REVIEW}")
    admin.get_by_label(re.compile(r"^Role")).select_option(label="Sink readers")
    admin.get_by_role("button", name="Apply").click()
    admin.wait_for_url(re.compile(r"role_id="))
    review = admin.locator("#review")
    expect(review.get_by_role("link", name="ed", exact=True)).to_be_visible()
    expect(review).to_contain_text("group Ops")
    expect(review).to_contain_text(re.compile(r"direct, until \d{4}-\d\d-\d\d \d\d:\d\d UTC"))
    expect(admin.get_by_role("status").filter(has_text="in this scope")).to_contain_text("3 users in this scope.")
    screenshot(admin, "access-review")

    admin.get_by_label(re.compile(r"^Held")).select_option(label="Time-bound (any way)")
    admin.get_by_role("button", name="Apply").click()
    admin.wait_for_url(re.compile(r"origin=timebound"))
    expect(admin.get_by_role("status").filter(has_text="in this scope")).to_contain_text("1 user in this scope.")
    with admin.expect_download() as started:
        admin.get_by_role("link", name="Export CSV").click()
    download = started.value
    assert download.suggested_filename == "gatehouse-access-review.csv"
    path = download.path()
    assert path is not None
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [(row["username"], row["role"]) for row in rows] == [("tim", "Sink readers")]
    assert rows[0]["origin"].startswith("direct, until ")

    # record the review of this scope
    admin.get_by_label(re.compile(r"^Note")).fill("Quarterly review of time-bound access")
    admin.get_by_role("button", name="Record review of this scope").click()
    admin.wait_for_url(re.compile(r"origin=timebound"))
    expect(admin.get_by_role("status").first).to_contain_text("Review recorded")
    expect(admin.locator("#reviews")).to_contain_text("Quarterly review of time-bound access")


def test_adding_a_json_lines_sink(governance_server: tuple[LiveServer, Database], new_context: ContextFactory) -> None:
    server, _ = governance_server
    admin = signed_in(new_context, server, "admin", ADMIN_PASSWORD)
    admin.goto(SINKS)
    admin.get_by_role("link", name="Add sink").click()
    admin.get_by_role("link", name="JSON-lines file").click()
    admin.get_by_label("Name", exact=True).fill("Local archive")
    admin.get_by_label(re.compile(r"^File name")).fill("../escape.jsonl")
    admin.get_by_role("button", name="Add sink").click()
    expect(admin.get_by_role("alert")).to_contain_text("settings.file: a file name")
    admin.get_by_label(re.compile(r"^File name")).fill("audit.jsonl")
    admin.get_by_role("button", name="Add sink").click()
    admin.wait_for_url(f"**{SINKS}")
    expect(admin.get_by_role("status")).to_contain_text("Sink Local archive added")
    row = admin.locator("#sinks").get_by_role("row").filter(has_text="Local archive")
    expect(row).to_contain_text("audit.jsonl")
    # a syslog receiver that is down: its records wait, and the page says why
    admin.get_by_role("link", name="Add sink").click()
    admin.get_by_role("link", name="Syslog").click()
    admin.get_by_label("Name", exact=True).fill("SOC syslog")
    admin.get_by_label("Host", exact=True).fill("127.0.0.1")
    admin.get_by_label(re.compile(r"^Port")).fill(str(servers.free_port()))  # nothing listens there
    admin.get_by_label("Timeout (seconds)").fill("2")
    admin.get_by_role("button", name="Add sink").click()
    admin.wait_for_url(f"**{SINKS}")
    down = admin.locator("#sinks").get_by_role("row").filter(has_text="SOC syslog")
    deadline = time.monotonic() + 30  # the server delivers in the background: each sink's own creation first
    while "Never" in row.inner_text() or "failure(s) in a row" not in down.inner_text():
        assert time.monotonic() < deadline, f"delivery state not shown: {row.inner_text()!r} {down.inner_text()!r}"
        time.sleep(0.3)
        admin.reload()
    expect(row.locator(".sink-error")).to_have_text("—")
    expect(down.locator(".sink-error")).to_contain_text("ConnectionRefusedError")
    expect(down.locator(".lag")).not_to_have_text("—")
    screenshot(admin, "audit-sinks")
