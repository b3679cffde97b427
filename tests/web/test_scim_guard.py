"""The mass-deprovisioning guard in the dashboard: the banner on Settings → SCIM and on the Users page while
requests are held, the review page (user, time, token, kind), Allow and Keep blocking asked first, audited,
Post/Redirect/Get, CSRF-checked."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from gatehouse.iam import scim_control
from gatehouse.store.database import Database
from gatehouse.web.audit_sentences import sentence
from support.api import audit
from support.scim import okta_user
from support.web import csrf_of

USERS = "/scim/v2/Users"
SCIM_PAGE = "/organization/settings/scim"
REVIEW = "/organization/settings/scim/guard"
BANNER = re.compile(
    r"(\d+) deprovisioning requests? held since (\d\d:\d\d) UTC — "
    r'<a href="/organization/settings/scim/guard">Review</a>'
)


@pytest.fixture
def idp(console: TestClient, db: Database) -> dict[str, str]:
    """SCIM on, an ``Okta`` token; its headers."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        return {"Authorization": f"Bearer {scim_control.issue_token(connection, 'Okta').token}"}


def _burst(console: TestClient, idp: dict[str, str], users: int = 28) -> list[str]:
    """``users`` SCIM users; all deleted: the 26th on are held (the default threshold is 25)."""
    ids = []
    for n in range(users):
        created = console.post(USERS, json=okta_user(f"u{n}@example.com", f"e{n}"), headers=idp)
        assert created.status_code == 201
        ids.append(created.json()["id"])
    answers = [console.delete(f"{USERS}/{user_id}", headers=idp).status_code for user_id in ids]
    assert answers == [204] * 25 + [429] * (users - 25)
    return ids


def test_no_banner_while_nothing_is_held(console: TestClient, idp: dict[str, str]) -> None:
    assert "deprovisioning requests held" not in console.get(SCIM_PAGE).text
    assert "guard-banner" not in console.get("/organization/users").text
    review = console.get(REVIEW)
    assert review.status_code == 200 and "No deprovisioning requests are held." in review.text


def test_the_banner_the_review_page_and_allow(console: TestClient, idp: dict[str, str], db: Database) -> None:
    ids = _burst(console, idp)
    for path in (SCIM_PAGE, "/organization/users"):
        banner = BANNER.search(console.get(path).text)
        assert banner is not None, path
        assert banner.group(1) == "3"

    review = console.get(REVIEW).text
    assert "3 held requests" in review
    for n in (25, 26, 27):
        assert f'<a href="/organization/users/{ids[n]}">u{n}@example.com</a>' in review
    assert review.count("<td>Okta</td>") == 3 and review.count("<td>Delete</td>") == 3
    assert 'href="/organization/settings/scim/guard/allow"' in review

    confirm = console.get(f"{REVIEW}/allow")
    assert confirm.status_code == 200 and "Allow 3 held deprovisioning requests?" in confirm.text
    forged = console.post(f"{REVIEW}/allow", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code in (400, 403)
    done = console.post(f"{REVIEW}/allow", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == REVIEW  # Post/Redirect/Get
    after = console.get(REVIEW).text
    assert "the guard is open for 10 minutes" in after and "Allowed until" in after
    assert BANNER.search(console.get(SCIM_PAGE).text) is None

    assert [console.delete(f"{USERS}/{ids[n]}", headers=idp).status_code for n in (25, 26, 27)] == [204] * 3
    allowed = [r for r in audit(db, "iam:UpdateSCIMProvisioning") if r.summary.get("operation")]
    assert [(r.summary["operation"], r.source, r.outcome) for r in allowed] == [
        ("allow_deprovisioning", "dashboard", "success")
    ]


def test_keep_blocking(console: TestClient, idp: dict[str, str], db: Database) -> None:
    ids = _burst(console, idp, users=27)
    confirm = console.get(f"{REVIEW}/block")
    assert confirm.status_code == 200 and "Forget 2 held deprovisioning requests?" in confirm.text
    done = console.post(f"{REVIEW}/block", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == REVIEW
    assert "Kept blocking: 2 held requests cleared" in console.get(REVIEW).text
    assert BANNER.search(console.get("/organization/users").text) is None
    assert console.get(f"{REVIEW}/block", follow_redirects=False).status_code == 303  # nothing left to block
    assert console.delete(f"{USERS}/{ids[26]}", headers=idp).status_code == 429  # still closed
    assert BANNER.search(console.get(SCIM_PAGE).text).group(1) == "1"  # type: ignore[union-attr]
    assert len(audit(db, "scim:GuardTripped")) == 1


def test_the_audit_log_says_it_in_words(console: TestClient, idp: dict[str, str], db: Database) -> None:
    _burst(console, idp, users=26)
    confirm = console.get(f"{REVIEW}/allow")
    console.post(f"{REVIEW}/allow", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    (tripped,) = audit(db, "scim:GuardTripped")
    assert sentence(tripped) == (
        "SCIM token Okta tried to deprovision more than 25 users within 10 minutes: "
        "the mass-deprovisioning guard holds the rest"
    )
    (allowed,) = [r for r in audit(db, "iam:UpdateSCIMProvisioning") if r.summary.get("operation")]
    assert sentence(allowed) == "admin allowed the deprovisioning held by the guard"
