"""Organization → Access requests over HTTP, on both databases: an approver (``iam:ApproveAccessRequest``) sees the
requests waiting for them, approves one — the role is the requester's until the time asked for (or less) and
counts at once — or denies it with a note; nobody answers their own request, whatever they hold; an answered or
expired request cannot be answered again; bad durations are refused and change nothing; which roles may be
requested is set from the same page. Every answer ends in a redirect to the queue (Post/Redirect/Get), every
form needs its CSRF token, every step is in the audit log."""

from __future__ import annotations

import html
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.store.database import Database
from gatehouse.store.governance_tables import access_requests as request_table
from gatehouse.store.records import utcnow
from support.dashboard import browser
from support.governance import (
    SINKS_READ,
    ask,
    close_to,
    custom_role,
    local_user,
    make_requestable,
    may,
    records,
    roles_held,
    stored_request,
)
from support.web import csrf_of

QUEUE = "/organization/access-requests"


def text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def post(client: TestClient, url: str, /, **data: str) -> httpx.Response:
    token = csrf_of(client.get("/account/access").text)
    response: httpx.Response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    return response


class Org:
    """A requestable role Sink readers, the requester ``ana``, the approver ``abe`` (both signed in)."""

    def __init__(self, console: TestClient, db: Database) -> None:
        self.role_id = custom_role(db, "Sink readers", [SINKS_READ])
        make_requestable(db, self.role_id)
        self.approver_role = custom_role(db, "Approvers", ["iam:ApproveAccessRequest"])
        self.ana_id = local_user(db, "ana")
        self.abe_id = local_user(db, "abe", self.approver_role)
        self.ana, self.abe = browser(console, "ana"), browser(console, "abe")


@pytest.fixture
def org(console: TestClient, db: Database) -> Org:
    return Org(console, db)


def test_approving_grants_the_role_until_the_time_asked_for(org: Org, db: Database) -> None:
    request = ask(db, org.ana_id, org.role_id, minutes=90, reason="release 4.2")
    queue = text(org.abe.get(QUEUE))
    assert "ana</strong> asks for <strong>Sink readers</strong> for 90 minutes." in queue and "“release 4.2”" in queue
    assert not may(db, org.ana_id)

    response = post(org.abe, f"{QUEUE}/{request.id}/approve", note="go ahead")
    assert response.status_code == 303 and response.headers["location"] == QUEUE
    shown = text(org.abe.get(QUEUE))
    assert "Approved: ana holds Sink readers until" in shown and "Nothing waits for your answer." in shown
    assert "Approved: ana" not in text(org.abe.get(QUEUE))  # a reload keeps the page, not the message
    done = stored_request(db, request.id)
    assert done.status == "approved" and done.decided_by == "abe" and done.note == "go ahead"
    assert close_to(done.granted_until, utcnow() + timedelta(minutes=90))
    assert may(db, org.ana_id)  # at once
    [held] = roles_held(db, org.ana_id)
    assert held.origins[0].kind == "request" and held.origins[0].until == done.granted_until
    [recorded] = records(db, "iam:ApproveAccessRequest")
    assert recorded.actor == "abe" and recorded.resource_id == request.id and recorded.summary["user"] == "ana"
    assert (
        recorded.summary["role"] == "Sink readers"
        and recorded.summary["granted_until"] == done.granted_until.isoformat()
    )
    assert "Sink readers" in text(org.ana.get("/account/access"))
    until = done.granted_until
    cell = (
        f'<time datetime="{until.isoformat()}"><span class="nowrap">{until:%Y-%m-%d}</span> '
        f'<span class="nowrap">{until:%H:%M} UTC</span></time>'
    )
    assert f"until {cell}" in shown  # Recent answers: a narrow table breaks it between day and time, nowhere else
    assert cell in text(org.ana.get("/account/access"))


def test_approving_for_less_time(org: Org, db: Database) -> None:
    request = ask(db, org.ana_id, org.role_id, minutes=240)
    assert post(org.abe, f"{QUEUE}/{request.id}/approve", amount="30", unit="minutes").status_code == 303
    assert close_to(stored_request(db, request.id).granted_until, utcnow() + timedelta(minutes=30))


@pytest.mark.parametrize(
    ("amount", "unit", "status", "error"),
    [
        ("-5", "minutes", 400, "How long: a whole number of minutes, hours or days."),
        ("0", "minutes", 400, "How long: a whole number of minutes, hours or days."),
        ("ten", "minutes", 400, "How long: a whole number of minutes, hours or days."),
        ("3", "fortnights", 400, "How long: a whole number of minutes, hours or days."),
        ("2", "hours", 400, "minutes: from 1 to the 60 minutes asked for."),
        ("9999999999", "days", 400, "minutes: from 1 to the 60 minutes asked for."),
    ],
    ids=["negative", "zero", "word", "unit", "longer-than-asked", "huge"],
)
def test_a_bad_duration_is_refused_and_changes_nothing(
    org: Org, db: Database, amount: str, unit: str, status: int, error: str
) -> None:
    request = ask(db, org.ana_id, org.role_id, minutes=60)
    response = post(org.abe, f"{QUEUE}/{request.id}/approve", amount=amount, unit=unit)
    assert response.status_code == status and error in text(response) and "Nothing was changed." in text(response)
    assert stored_request(db, request.id).status == "pending" and not may(db, org.ana_id)


def test_denying_with_a_note(org: Org, db: Database) -> None:
    request = ask(db, org.ana_id, org.role_id)
    response = post(org.abe, f"{QUEUE}/{request.id}/deny", note="use the runbook")
    assert response.status_code == 303 and response.headers["location"] == QUEUE
    assert "Denied ana's request for Sink readers." in text(org.abe.get(QUEUE))
    done = stored_request(db, request.id)
    assert (done.status, done.note, done.granted_until) == ("denied", "use the runbook", None)
    assert not may(db, org.ana_id)
    assert "use the runbook" in text(org.ana.get("/account/access"))  # the requester reads why
    again = post(org.abe, f"{QUEUE}/{request.id}/approve")
    assert again.status_code == 409 and "This request is denied already." in text(again)
    assert not may(db, org.ana_id)
    assert [r.summary.get("note") for r in records(db, "iam:DenyAccessRequest")] == ["use the runbook"]


def test_nobody_approves_their_own_request(org: Org, db: Database, console: TestClient) -> None:
    other = custom_role(db, "Other", [SINKS_READ])
    make_requestable(db, other)
    own = ask(db, org.abe_id, other)
    assert "Nothing waits for your answer." in text(org.abe.get(QUEUE))
    assert "Your own requests (Other) wait for another approver" in text(org.abe.get(QUEUE))
    for verb in ("approve", "deny"):
        refused = post(org.abe, f"{QUEUE}/{own.id}/{verb}")
        assert refused.status_code == 403 and "Nobody approves or denies their own request" in text(refused)
    assert stored_request(db, own.id).status == "pending" and not may(db, org.abe_id)
    # a Super Admin's own request: the same
    admin_own = ask(db, console_user_id(db), other)
    refused = post(console, f"{QUEUE}/{admin_own.id}/approve")
    assert refused.status_code == 403 and stored_request(db, admin_own.id).status == "pending"
    # and someone without iam:ApproveAccessRequest may not answer anyone's
    request = ask(db, org.ana_id, org.role_id)
    local_user(db, "vic")
    viewer = browser(console, "vic")
    assert post(viewer, f"{QUEUE}/{request.id}/approve").status_code == 403
    assert stored_request(db, request.id).status == "pending"
    assert all(r.status == 403 for r in records(db, "iam:ApproveAccessRequest"))


def console_user_id(db: Database) -> str:
    with db.snapshot() as connection:
        return str(connection.execute(sa.text("SELECT id FROM users WHERE user_name = 'admin'")).scalar_one())


def test_an_expired_request_cannot_be_approved(org: Org, db: Database) -> None:
    request = ask(db, org.ana_id, org.role_id)
    with db.transaction() as connection:  # the time to answer ran out
        connection.execute(
            request_table.update()
            .where(request_table.c.id == request.id)
            .values(answer_by=utcnow() - timedelta(seconds=1))
        )
    assert "Nothing waits for your answer." in text(org.abe.get(QUEUE))
    response = post(org.abe, f"{QUEUE}/{request.id}/approve")
    assert response.status_code == 409 and "waited too long for an answer and has expired" in text(response)
    assert not may(db, org.ana_id)


def test_every_answer_needs_its_csrf_token(org: Org, db: Database) -> None:
    request = ask(db, org.ana_id, org.role_id)
    for verb in ("approve", "deny"):
        forged = org.abe.post(f"{QUEUE}/{request.id}/{verb}", data={"csrf_token": "forged"}, follow_redirects=False)
        assert forged.status_code == 403
    assert stored_request(db, request.id).status == "pending" and not may(db, org.ana_id)


def test_making_a_role_requestable_from_the_page(org: Org, db: Database, console: TestClient) -> None:
    role_id = custom_role(db, "Deployers", [SINKS_READ])
    form = {"role_id": role_id, "max_amount": "2", "max_unit": "days", "answer_amount": "4", "answer_unit": "hours"}
    response = post(console, f"{QUEUE}/requestable", **form)
    assert response.status_code == 303 and response.headers["location"] == QUEUE
    shown = text(console.get(QUEUE))
    assert "Deployers may be requested." in shown
    assert "<td>Deployers</td>" in shown and "2 days" in shown and "4 hours" in shown
    assert "Deployers (at most 2 days)" in text(org.ana.get("/account/access"))

    for field, value, error in (
        ("max_amount", "0", "Longest grant: a whole number of minutes, hours or days."),
        ("max_amount", "-3", "Longest grant: a whole number of minutes, hours or days."),
        ("max_amount", "x", "Longest grant: a whole number of minutes, hours or days."),
        ("max_amount", "91", "max_minutes: from 1 minute to 90 days (129600 minutes)."),
        ("answer_amount", "", "Time to answer: a whole number of minutes, hours or days."),
        ("answer_amount", "31", "answer_within_minutes: from 1 minute to 30 days (43200 minutes)."),
    ):
        refused = post(console, f"{QUEUE}/requestable", **{**form, field: value, "max_unit": "days",
                                                              "answer_unit": "days"})  # fmt: skip
        assert refused.status_code == 400 and error in text(refused), (field, value)
    assert "Deployers (at most 2 days)" in text(org.ana.get("/account/access"))  # unchanged

    # a viewer may not; the built-in roles never
    refused = post(org.ana, f"{QUEUE}/requestable", **form)
    assert refused.status_code == 403
    removed = post(console, f"{QUEUE}/requestable/{role_id}/remove")
    assert removed.status_code == 303
    assert "Deployers" not in text(org.ana.get("/account/access"))
    statuses = sorted(r.status for r in records(db, "iam:UpdateRole") if r.resource_id == role_id)
    assert statuses.count(400) == 6 and statuses.count(403) == 1 and len(statuses) == 9  # two made, all recorded
