"""Account → My access over HTTP, on both databases: a user asks for a requestable role with a reason and a
duration (Post/Redirect/Get: the page a reload keeps), sees it waiting, withdraws it, gives up a role held by
request early after a confirmation; bad input (negative, zero, not a number, huge, an empty reason, an unknown
unit) shows the form again, as typed, with why — and changes nothing; every form needs its CSRF token."""

from __future__ import annotations

import html
from datetime import timedelta

import httpx
import pytest
from starlette.testclient import TestClient

from gatehouse.store.database import Database
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
    requests_of,
    roles_held,
)
from support.web import csrf_of

PAGE = "/account/access"


def text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def post(client: TestClient, url: str, /, **data: str) -> httpx.Response:
    """Post a form as the browser does: with the CSRF token of the page (redirects not followed)."""
    token = csrf_of(client.get(PAGE).text)
    response: httpx.Response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    return response


@pytest.fixture
def setup(console: TestClient, db: Database) -> tuple[TestClient, str, str]:
    """``ana`` (no role) signed in, and the requestable role Sink readers (8 hours at most)."""
    role_id = custom_role(db, "Sink readers", [SINKS_READ])
    make_requestable(db, role_id)
    user_id = local_user(db, "ana")
    return browser(console, "ana"), user_id, role_id


def test_the_page_needs_a_session(app_client: TestClient) -> None:
    response = app_client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={PAGE}"


def test_asking_redirects_to_the_page_a_reload_keeps(setup: tuple[TestClient, str, str], db: Database) -> None:
    ana, user_id, role_id = setup
    page = ana.get(PAGE)
    assert page.status_code == 200 and "Sink readers (at most 8 hours)" in text(page)

    response = post(ana, f"{PAGE}/requests", role_id=role_id, amount="2", unit="hours", reason="deploy INC-1")
    assert response.status_code == 303 and response.headers["location"] == PAGE
    shown = text(ana.get(PAGE))
    assert "Requested Sink readers: an approver will answer by" in shown
    assert "deploy INC-1" in shown and "2 hours" in shown and "Withdraw" in shown
    again = text(ana.get(PAGE))  # a reload: the same page, the message gone, nothing sent again
    assert "Requested Sink readers" not in again and "deploy INC-1" in again
    [request] = requests_of(db, user_id)
    assert (request.status, request.minutes, request.reason, request.role_id) == (
        "pending",
        120,
        "deploy INC-1",
        role_id,
    )
    assert not may(db, user_id)  # asking grants nothing
    [recorded] = records(db, "iam:RequestAccess")
    assert recorded.resource_id == request.id and recorded.actor == "ana" and recorded.summary["role"] == "Sink readers"


@pytest.mark.parametrize(
    ("amount", "unit", "reason", "error"),
    [
        ("-1", "hours", "a reason", "How long: a whole number of minutes, hours or days."),
        ("0", "hours", "a reason", "How long: a whole number of minutes, hours or days."),
        ("abc", "hours", "a reason", "How long: a whole number of minutes, hours or days."),
        ("1.5", "hours", "a reason", "How long: a whole number of minutes, hours or days."),
        ("", "hours", "a reason", "How long: a whole number of minutes, hours or days."),
        ("2", "weeks", "a reason", "How long: a whole number of minutes, hours or days."),
        ("9", "hours", "a reason", "minutes: Sink readers may be granted for 1 to 480 minutes."),
        ("99999999999999999999", "days", "a reason", "minutes: Sink readers may be granted for 1 to 480 minutes."),
        ("1", "hours", "", "reason: say why you need it (3 to 1000 characters)."),
        ("1", "hours", "   ", "reason: say why you need it (3 to 1000 characters)."),
    ],
    ids=["negative", "zero", "word", "fraction", "empty", "unit", "over-the-maximum", "huge", "no-reason", "blank"],
)
def test_bad_input_shows_the_form_again_with_why_and_changes_nothing(
    setup: tuple[TestClient, str, str], db: Database, amount: str, unit: str, reason: str, error: str
) -> None:
    ana, user_id, role_id = setup
    response = post(ana, f"{PAGE}/requests", role_id=role_id, amount=amount, unit=unit, reason=reason)
    assert response.status_code == 400
    shown = text(response)
    assert f'role="alert" id="form-error">{error}</div>' in shown
    assert f">{reason}</textarea>" in shown  # as typed
    assert requests_of(db, user_id) == []
    [refused] = records(db, "iam:RequestAccess")
    assert refused.outcome != "success" and refused.status == 400


def test_a_role_that_is_not_requestable_or_asked_twice_is_refused(
    setup: tuple[TestClient, str, str], db: Database
) -> None:
    ana, user_id, role_id = setup
    other = custom_role(db, "Not offered", [SINKS_READ])
    refused = post(ana, f"{PAGE}/requests", role_id=other, amount="1", unit="hours", reason="please")
    assert refused.status_code == 404 and "This role cannot be requested" in text(refused)
    assert post(ana, f"{PAGE}/requests", role_id=role_id, amount="1", unit="hours", reason="first").status_code == 303
    twice = post(ana, f"{PAGE}/requests", role_id=role_id, amount="1", unit="hours", reason="second")
    assert twice.status_code == 409 and "still waiting for an answer" in text(twice)
    assert [r.reason for r in requests_of(db, user_id)] == ["first"]


def test_withdrawing_a_pending_request(setup: tuple[TestClient, str, str], db: Database, console: TestClient) -> None:
    ana, user_id, role_id = setup
    request = ask(db, user_id, role_id)
    response = post(ana, f"{PAGE}/requests/{request.id}/cancel")
    assert response.status_code == 303 and response.headers["location"] == PAGE
    assert "Request withdrawn." in text(ana.get(PAGE))
    assert requests_of(db, user_id)[0].status == "cancelled"
    twice = post(ana, f"{PAGE}/requests/{request.id}/cancel")
    assert twice.status_code == 409 and "This request is cancelled already." in text(twice)
    # only the person who asked may withdraw it
    mine = ask(db, user_id, role_id)
    refused = post(console, f"{PAGE}/requests/{mine.id}/cancel")
    assert refused.status_code == 403 and requests_of(db, user_id)[0].status == "pending"


def test_giving_up_a_role_early_after_a_confirmation(setup: tuple[TestClient, str, str], db: Database) -> None:
    ana, user_id, role_id = setup
    approver = local_user(db, "abe", custom_role(db, "Approvers", ["iam:ApproveAccessRequest"]))
    request = ask(db, user_id, role_id, minutes=120)
    abe = browser(ana, "abe")
    approved = abe.post(
        f"/organization/access-requests/{request.id}/approve",
        data={"csrf_token": csrf_of(abe.get("/organization/access-requests").text)},
        follow_redirects=False,
    )
    assert approved.status_code == 303 and may(db, user_id) and approver
    shown = text(ana.get(PAGE))
    assert "Held for a while" in shown and f'href="/account/access/roles/{role_id}/give-up"' in shown
    [held] = roles_held(db, user_id)
    assert close_to(held.origins[0].until, utcnow() + timedelta(hours=2))

    question = ana.get(f"{PAGE}/roles/{role_id}/give-up")
    assert question.status_code == 200 and "Give up Sink readers now?" in text(question)
    assert may(db, user_id)  # asking changed nothing
    forged = ana.post(f"{PAGE}/roles/{role_id}/give-up", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and may(db, user_id)
    response = post(ana, f"{PAGE}/roles/{role_id}/give-up")
    assert response.status_code == 303 and response.headers["location"] == PAGE
    assert "You gave up Sink readers." in text(ana.get(PAGE))
    assert not may(db, user_id) and roles_held(db, user_id) == ()
    [recorded] = records(db, "iam:GiveUpAccess")
    assert recorded.resource_id == user_id and recorded.summary["role"] == "Sink readers"
    again = ana.get(f"{PAGE}/roles/{role_id}/give-up")
    assert again.status_code == 400 and "You do not hold this role through an access request" in text(again)


def test_every_form_needs_its_csrf_token(setup: tuple[TestClient, str, str], db: Database) -> None:
    ana, user_id, role_id = setup
    forged = ana.post(
        f"{PAGE}/requests",
        data={"role_id": role_id, "amount": "1", "unit": "hours", "reason": "forged", "csrf_token": "x"},
        follow_redirects=False,
    )
    missing = ana.post(
        f"{PAGE}/requests", data={"role_id": role_id, "amount": "1", "unit": "hours", "reason": "forged"},
        follow_redirects=False,
    )  # fmt: skip
    assert forged.status_code == missing.status_code == 403
    assert requests_of(db, user_id) == []
    request = ask(db, user_id, role_id)
    cancelled = ana.post(f"{PAGE}/requests/{request.id}/cancel", data={}, follow_redirects=False)
    assert cancelled.status_code == 403 and requests_of(db, user_id)[0].status == "pending"


def test_what_is_offered_and_what_is_held_otherwise(setup: tuple[TestClient, str, str], db: Database) -> None:
    ana, _, role_id = setup
    second = custom_role(db, "Second", [SINKS_READ])
    make_requestable(db, second, max_minutes=90)
    held = local_user(db, "hal", role_id)
    hal = browser(ana, "hal")
    shown = text(hal.get(PAGE))
    assert "Already yours otherwise: Sink readers." in shown and "Second (at most 90 minutes)" in shown
    assert 'option value="' + role_id not in shown  # not offered to someone who holds it
    refused = post(hal, f"{PAGE}/requests", role_id=role_id, amount="1", unit="hours", reason="more")
    assert refused.status_code == 409 and "You hold Sink readers already (direct)" in text(refused)
    assert requests_of(db, held) == []


def test_a_user_without_organization_pages_sees_no_empty_organization_heading(
    setup: tuple[TestClient, str, str], console: TestClient
) -> None:
    ana, _, _ = setup
    menu = text(ana.get(PAGE)).split('aria-label="Main"')[1].split("</nav>")[0]
    assert "Organization</p>" not in menu and "My access" in menu
    admin_menu = text(console.get(PAGE)).split('aria-label="Main"')[1].split("</nav>")[0]
    assert admin_menu.index("Organization</p>") < admin_menu.index("Users") < admin_menu.index("Account</p>")
