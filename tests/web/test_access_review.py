"""Organization → Access review over HTTP, on both databases: the report shows every role of every user and how
it is held (direct, group, access request until …), boundaries, last sign-in and API tokens; its filters narrow
the scope and a bad filter says why; the CSV and JSON exports hold the same scope (and are audited); a grant is
revoked from the report after a confirmation (Post/Redirect/Get); a review of the scope is recorded and listed;
"who may?" answers over every user. Forms need their CSRF token; a reviewer without a permission is refused."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.credentials import generate_token, hash_token, token_hint
from gatehouse.iam import roles as rbac
from gatehouse.iam import timed_grants
from gatehouse.store import api_tokens as token_store
from gatehouse.store.access_review import ReviewRecord
from gatehouse.store.access_review import reviews as stored_reviews
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import ROOT, add_group
from support.dashboard import browser
from support.governance import SINKS_READ, SINKS_RESOURCE, custom_role, local_user, may, records, roles_held
from support.web import csrf_of

BASE = "/organization/access-review"


def text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def post(client: TestClient, url: str, /, **data: str) -> httpx.Response:
    token = csrf_of(client.get("/account/access").text)
    response: httpx.Response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    return response


class Org:
    """Sink readers held by ``ed`` directly, by ``gus`` through the group Ops, by ``tim`` until tomorrow by an
    approved request; ``nil`` holds nothing and has an API token; ``rev`` may read the review but not change
    roles."""

    def __init__(self, db: Database) -> None:
        self.role_id = custom_role(db, "Sink readers", [SINKS_READ])
        reviewer = custom_role(db, "Reviewers", ["iam:GetAccessReview", "iam:CreateAccessReview", "iam:GetUser"])
        self.ed, self.gus, self.tim, self.nil = (local_user(db, n) for n in ("ed", "gus", "tim", "nil"))
        self.rev = local_user(db, "rev", reviewer)
        self.ops = add_group(db, "Ops", (self.gus,))
        self.until = (utcnow() + timedelta(days=1)).replace(microsecond=0)
        with db.transaction() as connection:
            rbac.assign_role(connection, ROOT, self.ed, self.role_id)
            rbac.bind_group_role(connection, ROOT, self.ops, self.role_id)
            timed_grants.grant_role_until(connection, ROOT, self.tim, self.role_id, self.until)
        secret, made = generate_token("gha_"), utcnow() - timedelta(days=3)
        with db.transaction() as connection:
            token_store.create(
                connection, self.nil, "nightly", hash_token(secret), token_hint(secret), made, made + timedelta(days=30)
            )


@pytest.fixture
def org(console: TestClient, db: Database) -> Org:
    return Org(db)


def usernames(response: httpx.Response) -> list[str]:
    return re.findall(r'<td><a href="/organization/users/[^"]+">([^<]+)</a>', response.text)


def test_the_report_shows_every_role_and_how_it_is_held(org: Org, console: TestClient) -> None:
    page = console.get(BASE)
    assert page.status_code == 200
    assert usernames(page) == ["admin", "ed", "gus", "nil", "rev", "tim"]  # by username
    shown = text(page)
    assert 'Sink readers</strong> <span class="origin origin-direct">direct</span>' in shown
    assert 'Sink readers</strong> <span class="origin origin-group">group Ops</span>' in shown
    assert f"direct, until {org.until:%Y-%m-%d %H:%M} UTC" in shown
    assert 'nightly <span class="hint">last used never</span>' in shown
    assert "Super Admin account" in shown


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"origin": "group"}, {"gus"}),
        ({"origin": "timebound"}, {"tim"}),
        ({"origin": "direct"}, {"ed", "tim", "rev"}),
        ({"origin": "super_admin"}, {"admin"}),
        ({"token_unused_days": "2"}, {"nil"}),
    ],
    ids=["group", "time-bound", "direct", "super-admin", "token"],
)
def test_the_filters_narrow_the_scope(org: Org, console: TestClient, query: dict[str, str], expected: set[str]) -> None:
    response = console.get(BASE, params=query)
    assert response.status_code == 200 and set(usernames(response)) == expected
    count = len(expected)
    assert f"{count} user{'' if count == 1 else 's'} in this scope." in text(response)


def test_the_role_filter(org: Org, console: TestClient) -> None:
    assert set(usernames(console.get(BASE, params={"role_id": org.role_id}))) == {"ed", "gus", "tim"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("not_signed_in_days", "-1"),
        ("not_signed_in_days", "abc"),
        ("not_signed_in_days", "99999"),
        ("not_signed_in_days", "1.5"),
        ("token_unused_days", "-30"),
        ("token_unused_days", "1e3"),
        ("origin", "everything"),
    ],
)
def test_a_bad_filter_says_why(org: Org, console: TestClient, name: str, value: str) -> None:
    response = console.get(BASE, params={name: value})
    assert response.status_code == 400
    expected = (
        "origin: one of direct, request, sso, group, timebound, super_admin."
        if name == "origin"
        else f"{name}: a number of days, 0 to 36500."
    )
    assert f'role="alert">{expected}</div>' in text(response)
    export = console.get(f"{BASE}/export", params={name: value, "format": "csv"})
    assert export.status_code == 400 and expected in text(export)


def test_csv_and_json_exports_of_the_scope(org: Org, console: TestClient, db: Database) -> None:
    page = text(console.get(BASE, params={"role_id": org.role_id}))
    scope = urlencode({"role_id": org.role_id})
    assert f'href="{BASE}/export?{scope}&amp;format=csv"' in console.get(BASE, params={"role_id": org.role_id}).text
    assert "Export JSON" in page

    exported = console.get(f"{BASE}/export", params={"role_id": org.role_id, "format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == 'attachment; filename="gatehouse-access-review.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    found = {(row["username"], row["role"], row["origin"]) for row in rows}
    assert found == {
        ("ed", "Sink readers", "direct"),
        ("gus", "Sink readers", "group Ops"),
        ("tim", "Sink readers", f"direct, until {org.until:%Y-%m-%d %H:%M} UTC"),
    }
    tim = next(row for row in rows if row["username"] == "tim")
    assert tim["expires_at"] == org.until.isoformat() and tim["granted_by"] == "root"

    as_json = console.get(f"{BASE}/export", params={"role_id": org.role_id, "format": "json"})
    assert as_json.headers["content-type"] == "application/json"
    entries = {entry["username"]: entry for entry in orjson.loads(as_json.content)}
    assert set(entries) == {"ed", "gus", "tim"}
    assert entries["gus"]["roles"] == [
        {"role_id": org.role_id, "role": "Sink readers", "origin": "group", "group_id": org.ops, "group": "Ops",
         "granted_at": entries["gus"]["roles"][0]["granted_at"], "granted_by": "root", "expires_at": None}
    ]  # fmt: skip
    exports = records(db, "iam:GetAccessReview")
    assert [r.summary["export"] for r in exports] == ["json", "csv"]
    assert exports[0].summary["scope"]["role_id"] == org.role_id and exports[0].actor == "admin"


def test_revoking_from_the_report_after_a_confirmation(org: Org, console: TestClient, db: Database) -> None:
    page = console.get(BASE, params={"role_id": org.role_id})
    links = re.findall(r'class="revoke" href="([^"]+)"', page.text)
    direct = next(html.unescape(link) for link in links if f"user_id={org.ed}" in link)
    question = console.get(direct)
    assert question.status_code == 200 and "Take Sink readers (assigned directly) away from ed?" in text(question)
    assert may(db, org.ed)  # the question changes nothing
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', question.text))
    response = console.post(direct.split("?")[0], data={k: html.unescape(v) for k, v in fields.items()},
                            follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == BASE
    assert "The role was taken away." in text(console.get(BASE))
    assert not may(db, org.ed) and roles_held(db, org.ed) == ()
    [recorded] = [r for r in records(db, "iam:UpdateUserRole") if r.summary.get("via") == "access review"]
    assert recorded.resource_id == org.ed and recorded.actor == "admin"

    # through a group: unbinding it, for every member, after a warning
    group = next(html.unescape(link) for link in links if "origin=group" in link)
    question = console.get(group)
    assert "Unbind Sink readers from the group Ops? Every member of the group loses it." in text(question)
    assert post(console, f"{BASE}/revoke", user_id=org.gus, role_id=org.role_id, origin="group",
                group_id=org.ops).status_code == 303  # fmt: skip
    assert not may(db, org.gus)
    assert set(usernames(console.get(BASE, params={"role_id": org.role_id}))) == {"tim"}


def test_revoking_needs_the_permission_and_the_csrf_token(org: Org, console: TestClient, db: Database) -> None:
    rev = browser(console, "rev")
    assert rev.get(BASE).status_code == 200  # may read the review
    form = {"user_id": org.ed, "role_id": org.role_id, "origin": "direct"}
    question = rev.get(f"{BASE}/revoke", params={**form, "user": "ed", "role": "Sink readers"})
    assert question.status_code == 403
    assert post(rev, f"{BASE}/revoke", **form).status_code == 403
    forged = console.post(f"{BASE}/revoke", data={**form, "csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert may(db, org.ed)
    gone = post(console, f"{BASE}/revoke", **{**form, "user_id": org.nil})
    assert gone.status_code == 404 and "no longer holds that role that way" in text(gone)


def test_recording_a_review_of_the_scope(org: Org, console: TestClient, db: Database) -> None:
    rev = browser(console, "rev")
    response = post(rev, f"{BASE}/reviews", role_id=org.role_id, origin="", not_signed_in_days="",
                    token_unused_days="", note="Q3 review, ticket SEC-9")  # fmt: skip
    assert (
        response.status_code == 303 and response.headers["location"] == f"{BASE}?{urlencode({'role_id': org.role_id})}"
    )
    shown = text(rev.get(response.headers["location"]))
    assert "Review recorded: the scope shown, by you, now." in shown
    assert f"<code>role_id={org.role_id}</code>" in shown and "Q3 review, ticket SEC-9" in shown
    with db.snapshot() as connection:
        [found] = stored_reviews(connection)
    assert isinstance(found, ReviewRecord)
    assert (found.reviewer, found.reviewer_id, found.users_in_scope) == ("rev", org.rev, 3)
    assert found.scope["role_id"] == org.role_id and found.note == "Q3 review, ticket SEC-9"
    [recorded] = records(db, "iam:CreateAccessReview")
    assert recorded.actor == "rev" and recorded.outcome == "success"

    bad = post(rev, f"{BASE}/reviews", not_signed_in_days="-3", note="bad")
    assert bad.status_code == 400 and "not_signed_in_days: a number of days, 0 to 36500." in text(bad)
    forged = rev.post(f"{BASE}/reviews", data={"note": "forged", "csrf_token": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    nobody = browser(console, "nil")
    assert post(nobody, f"{BASE}/reviews", note="not mine").status_code == 403
    with db.snapshot() as connection:
        assert len(stored_reviews(connection)) == 1


def test_who_may_answers_over_every_user(org: Org, console: TestClient) -> None:
    asked = {"action": SINKS_READ, "resource": SINKS_RESOURCE}
    response = console.get(f"{BASE}/who-may", params=asked)
    assert response.status_code == 200
    names = re.findall(r'<li><a href="/organization/users/[^"]+">([^<]+)</a>', response.text)
    assert names == ["admin", "ed", "gus", "tim"]
    assert "4 users may do <code>iam:GetAuditSink</code>" in text(response)
    bad = console.get(f"{BASE}/who-may", params={**asked, "labels": "{not json"})
    assert bad.status_code == 400 and "labels: JSON by condition key" in text(bad)
    wrong = console.get(f"{BASE}/who-may", params={**asked, "resource": "arn:gatehouse:iam:organization"})
    assert wrong.status_code == 400
    assert "resource: 'arn:gatehouse:iam:organization' is not a resource name" in text(wrong)
    unknown = console.get(f"{BASE}/who-may", params={**asked, "action": "iam:Nothing"})
    assert unknown.status_code == 400 and "action: " in text(unknown) and "checks[0]" not in unknown.text
    assert browser(console, "nil").get(f"{BASE}/who-may", params=asked).status_code == 403
