"""Organization → Tokens over HTTP, on both databases: a token's secret is shown once and works, the expiry
choices, revocation with its confirm page, everyone's tokens for those who may see them, refusals for
those who may not, and an audit record for every attempt."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.credentials import hash_token
from gatehouse.iam import api_tokens, policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import Principal, super_admin_role
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.passwords import hash_password
from gatehouse.store import audit as audit_store
from gatehouse.store import users as user_store
from gatehouse.store.audit import AuditQuery, AuditRecord
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.roles import MANUAL, assign, get_by_name
from gatehouse.store.tables import api_tokens as token_table
from support.scim import PUBLIC_URL
from support.web import ADMIN_PASSWORD, csrf_of, sign_in

PAGE = "/organization/tokens"
SECRET = re.compile(r"gha_[A-Za-z0-9_-]{43}")
ROOT = Principal("root-id", "root", True, True, (super_admin_role(),))
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


# ---------------------------------------------------------------------------------------- helpers


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


def custom_role(db: Database, name: str, actions: list[str]) -> None:
    """A role whose one policy allows ``actions`` on everything."""
    document = {"statement": [{"effect": "allow", "actions": actions, "resources": ["*"]}]}
    with db.transaction() as connection:
        policy = policies.create_policy(connection, ROOT, policy_input(f"{name}-policy", document))
        rbac.create_role(connection, ROOT, role_input(name), [policy.id])


def browser(app_client: TestClient, user: str) -> TestClient:
    """Another browser on the same app, signed in as ``user``."""
    client = TestClient(app_client.app, base_url="https://testserver")
    assert sign_in(client, user).status_code == 303  # type: ignore[attr-defined]
    return client


def post(client: TestClient, url: str, **data: str) -> httpx.Response:
    """Post a form the way the browser does, with the CSRF token of the tokens page."""
    token = csrf_of(client.get(PAGE).text)
    response: httpx.Response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    return response


def create(client: TestClient, name: str = "ci", expiry: str = "30", expires_on: str = "") -> httpx.Response:
    """Post the form; a token made is shown by the page the redirect leads to (Post/Redirect/Get), never in the
    redirect itself."""
    response = post(client, PAGE, name=name, expiry=expiry, expires_on=expires_on)
    if response.status_code != 303:
        return response
    assert response.headers["location"] == PAGE and not SECRET.search(str(response.headers) + response.text)
    shown: httpx.Response = client.get(PAGE)
    return shown


def secret_of(response: httpx.Response) -> str:
    found: set[str] = set(SECRET.findall(response.text))
    assert len(found) == 1, found
    return found.pop()


def token_ids(html: str) -> list[str]:
    return re.findall(r'href="/organization/tokens/([0-9a-f-]{36})/revoke', html)


def stored_tokens(db: Database) -> list[Any]:
    with db.reader() as connection:
        return list(connection.execute(sa.select(token_table).order_by(token_table.c.created)))


def audit_records(db: Database, **filters: Any) -> list[AuditRecord]:
    with db.reader() as connection:
        return audit_store.search(connection, AuditQuery(**filters), limit=500).records


# ---------------------------------------------------------------------------------------- creating


def test_the_page_needs_a_session(app_client: TestClient) -> None:
    response = app_client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={PAGE}"
    forged = app_client.post(PAGE, data={"name": "x", "expiry": "30"}, follow_redirects=False)
    assert forged.status_code == 303 and forged.headers["location"].startswith("/login")


def test_a_new_token_is_shown_once_and_only_its_digest_is_stored(console: TestClient, db: Database) -> None:
    empty = console.get(PAGE)
    assert empty.status_code == 200 and 'aria-current="page">Tokens</a>' in empty.text
    assert "You have no API tokens yet" in empty.text and "Create token" in empty.text
    created = create(console, "  deploy   bot ", "90")
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = secret_of(created)
    assert "Copy it now: it is shown only this once." in created.text
    assert f'<code id="new-token-page-value" class="secret">{secret}</code>' in created.text
    assert f'<code id="new-token-dialog-value" class="secret">{secret}</code>' in created.text  # one way, as SCIM's
    assert f'curl -H "X-API-KEY: {secret}" {PUBLIC_URL}/api/me' in created.text
    assert 'data-copy="#new-token-page-value"' in created.text
    [row] = stored_tokens(db)
    assert row.token_hash == hash_token(secret) and row.name == "deploy bot" and row.hint == "…" + secret[-4:]
    assert not [value for value in row if isinstance(value, str) and secret[4:24] in value]
    later = console.get(PAGE)
    assert secret not in later.text and secret[4:24] not in later.text
    assert "deploy bot" in later.text and "…" + secret[-4:] in later.text and "badge-token-active" in later.text
    assert "Never" in later.text  # not used yet
    with db.reader() as connection:
        caller = api_tokens.authenticate(connection, secret)
    assert (caller.user_name, caller.token_name) == ("admin", "deploy bot")
    api = TestClient(console.app, base_url="https://testserver")  # no session cookie: the token alone
    me = api.get("/api/me", headers={"X-API-KEY": secret})
    if me.status_code != 404:  # the JSON API is mounted
        assert me.status_code == 200, me.text
        assert me.json()["authenticated_by"] == "token" and me.json()["token_name"] == "deploy bot"
        assert api.get("/api/me", headers={"X-API-KEY": secret[:-1] + "x"}).status_code == 401
    [record] = audit_records(db, event="iam:CreateToken")
    assert (record.outcome, record.resource_type, record.resource_id) == ("success", "token", row.id)
    assert record.summary["name"] == "deploy bot" and record.summary["expires_at"].startswith(
        (row.created + timedelta(days=90)).date().isoformat()
    )
    assert secret not in str(record.as_dict()) and record.source == "dashboard" and record.actor == "admin"


@pytest.mark.parametrize("days", ["7", "30", "90", "365"])
def test_each_offered_expiry(console: TestClient, db: Database, days: str) -> None:
    assert create(console, f"in {days}", days).status_code == 200
    [row] = stored_tokens(db)
    assert row.expires_at - row.created == timedelta(days=int(days))


def test_an_expiry_date_lasts_through_that_day_utc(console: TestClient, db: Database) -> None:
    day = utcnow().date() + timedelta(days=10)
    page = console.get(PAGE).text
    assert '<option value="date"' in page and 'type="date" name="expires_on"' in page
    assert create(console, "dated", "date", day.isoformat()).status_code == 200
    [row] = stored_tokens(db)
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    assert expires == datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expiry", "expires_on", "message"),
    [
        ("ci", "14", "", "expiry: choose 7, 30, 90, 365 days, or a date."),
        ("ci", "forever", "", "expiry: choose"),
        ("ci", "³⁰", "", "expiry: choose"),  # digits to str.isdigit, not to int()
        ("ci", "date", "", "expiry: choose the day the token expires"),
        ("ci", "date", "next tuesday", "expiry: choose the day the token expires"),
        ("ci", "date", (date.today() - timedelta(days=2)).isoformat(), "is in the past"),
        ("ci", "date", (date.today() + timedelta(days=400)).isoformat(), "at most 366 days ahead"),
        ("ci", "date", "9999-12-31", "at most 366 days ahead"),
        ("   ", "30", "", "name: a token name is 1 to 100 printable characters."),
    ],
)
def test_bad_input_keeps_the_form_and_is_recorded(
    console: TestClient, db: Database, name: str, expiry: str, expires_on: str, message: str
) -> None:
    response = create(console, name, expiry, expires_on)
    assert response.status_code == 400 and message in response.text
    assert 'aria-invalid="true"' in response.text and not SECRET.search(response.text)
    if expires_on:
        assert f'value="{expires_on}"' in response.text  # the form keeps what was typed
    assert stored_tokens(db) == []
    [record] = audit_records(db, event="iam:CreateToken")
    assert (record.outcome, record.status) == ("failed", 400) and message.rstrip(".") in (record.error or "")


def test_a_taken_name_is_a_conflict(console: TestClient, db: Database) -> None:
    create(console, "ci")
    again = create(console, "ci")
    assert again.status_code == 409 and "You already have a token named &#39;ci&#39;" in again.text
    assert len(stored_tokens(db)) == 1
    outcomes = [(r.outcome, r.status) for r in audit_records(db, event="iam:CreateToken")]
    assert outcomes == [("failed", 409), ("success", 200)]


def test_forms_need_the_csrf_token(console: TestClient, db: Database) -> None:
    forged = console.post(PAGE, data={"name": "x", "expiry": "30"}, follow_redirects=False)
    assert forged.status_code == 403 and stored_tokens(db) == []


# ---------------------------------------------------------------------------------------- revoking


def test_revoke_asks_first_then_the_token_stops_working(console: TestClient, db: Database) -> None:
    secret = secret_of(create(console, "ci"))
    [token_id] = token_ids(console.get(PAGE).text)
    confirm = console.get(f"{PAGE}/{token_id}/revoke")
    assert confirm.status_code == 200 and "Revoke your API token “ci”" in confirm.text
    assert f'action="/organization/tokens/{token_id}/revoke"' in confirm.text and "refused at once" in confirm.text
    assert 'href="/organization/tokens">Cancel' in confirm.text
    assert stored_tokens(db)[0].revoked_at is None  # nothing happens on GET
    done = console.post(f"{PAGE}/{token_id}/revoke", data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == PAGE
    listed = console.get(PAGE).text
    assert "The API token “ci” is revoked: it no longer works." in listed
    assert "badge-token-revoked" in listed and token_ids(listed) == []  # no Revoke button any more
    with db.reader() as connection, pytest.raises(api_tokens.TokenUnauthorized):
        api_tokens.authenticate(connection, secret)
    again = console.get(f"{PAGE}/{token_id}/revoke", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == PAGE
    [record] = audit_records(db, event="iam:DeleteToken")
    assert (record.outcome, record.resource_id, record.summary) == ("success", token_id, {"name": "ci"})


def test_an_unknown_token_is_not_found(console: TestClient, db: Database) -> None:
    missing = str(uuid.uuid4())
    assert console.get(f"{PAGE}/{missing}/revoke").status_code == 404
    response = post(console, f"{PAGE}/{missing}/revoke")
    assert response.status_code == 404 and "There is no such token." in response.text
    [record] = audit_records(db, event="iam:DeleteToken")
    assert (record.outcome, record.status, record.resource_id) == ("failed", 404, missing)


def test_an_expired_token_shows_as_expired(console: TestClient, db: Database) -> None:
    create(console, "old")
    with db.transaction() as connection:
        connection.execute(token_table.update().values(expires_at=utcnow() - timedelta(minutes=1)))
    listed = console.get(PAGE).text
    assert "badge-token-expired" in listed and "Expired" in listed and token_ids(listed) == []


# ---------------------------------------------------------------------------------------- other users


def test_an_admin_sees_and_revokes_everyones_tokens(app_client: TestClient, console: TestClient, db: Database) -> None:
    member(db, "vera", "Viewer")
    vera = browser(app_client, "vera")
    vera_secret = secret_of(create(vera, "vera-ci"))
    create(console, "admin-ci")
    own = console.get(PAGE).text
    assert "vera-ci" not in own and "admin-ci" in own and "All users' tokens" in own
    everyone = console.get(PAGE, params={"user": "all"}).text
    assert "vera-ci" in everyone and "admin-ci" in everyone and ">vera</a>" in everyone
    assert len(token_ids(everyone)) == 2
    only_vera = console.get(PAGE, params={"user": "VERA"}).text
    assert "Tokens of vera" in only_vera and "vera-ci" in only_vera and "admin-ci" not in only_vera
    assert "no such user" in console.get(PAGE, params={"user": "nobody"}).text
    [vera_token] = token_ids(only_vera)
    confirm = console.get(f"{PAGE}/{vera_token}/revoke", params={"user": "all"}).text
    assert (
        "Revoke the API token “vera-ci” (…" in confirm
        and ") of vera?" in confirm
        and 'name="user" value="all"' in confirm
    )
    done = post(console, f"{PAGE}/{vera_token}/revoke", user="all")
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}?user=all"
    with db.reader() as connection, pytest.raises(api_tokens.TokenUnauthorized):
        api_tokens.authenticate(connection, vera_secret)
    [record] = audit_records(db, event="iam:DeleteAnyToken")
    assert (record.outcome, record.actor, record.resource_id) == ("success", "admin", vera_token)
    assert record.summary["name"] == "vera-ci"


def test_a_viewer_keeps_their_own_tokens_and_is_refused_anyone_elses(
    app_client: TestClient, console: TestClient, db: Database
) -> None:
    """The starter Viewer creates and revokes their own tokens; another user's stays out of sight and out
    of reach, and the forged attempt is recorded."""
    admin_secret = secret_of(create(console, "admin-ci"))
    [admin_token] = token_ids(console.get(PAGE).text)
    member(db, "vera", "Viewer")
    vera = browser(app_client, "vera")
    page = vera.get(PAGE).text
    assert "Create token" in page and "All users' tokens" not in page
    assert "admin-ci" not in vera.get(PAGE, params={"user": "all"}).text  # the view is not offered
    assert "admin-ci" not in vera.get(PAGE, params={"user": "admin"}).text
    assert vera.get(f"{PAGE}/{admin_token}/revoke").status_code == 404
    forged = post(vera, f"{PAGE}/{admin_token}/revoke")
    assert forged.status_code == 404 and "There is no such token." in forged.text
    with db.reader() as connection:
        assert api_tokens.authenticate(connection, admin_secret).user_name == "admin"
    [attempt] = audit_records(db, event="iam:DeleteAnyToken")
    assert (attempt.actor, attempt.outcome, attempt.status, attempt.resource_id) == ("vera", "failed", 404, admin_token)
    secret_of(create(vera, "mine"))
    [own] = token_ids(vera.get(PAGE).text)
    assert post(vera, f"{PAGE}/{own}/revoke").status_code == 303


def test_seeing_everyones_tokens_does_not_allow_revoking_them(
    app_client: TestClient, console: TestClient, db: Database
) -> None:
    """A role with iam:GetAnyToken but not iam:DeleteAnyToken lists every token, is offered no Revoke on
    others' tokens, and a forged revoke is refused (403) and recorded as refused."""
    create(console, "admin-ci")
    custom_role(db, "Token auditor", ["iam:GetToken", "iam:GetAnyToken", "iam:CreateToken", "iam:DeleteToken"])
    member(db, "tara", "Token auditor")
    tara = browser(app_client, "tara")
    everyone = tara.get(PAGE, params={"user": "all"}).text
    assert "admin-ci" in everyone and token_ids(everyone) == []
    with db.reader() as connection:
        [admin_token] = [row.id for row in connection.execute(sa.select(token_table.c.id))]
    refused = post(tara, f"{PAGE}/{admin_token}/revoke", user="all")
    assert refused.status_code == 403 and "iam:DeleteAnyToken" in refused.text
    assert 'href="/organization/tokens?user=all">Back to the tokens' in refused.text
    assert stored_tokens(db)[0].revoked_at is None
    [attempt] = audit_records(db, event="iam:DeleteAnyToken")
    assert (attempt.actor, attempt.outcome, attempt.status) == ("tara", "refused", 403)


def test_a_user_with_no_role_is_offered_nothing_and_refused(
    app_client: TestClient, console: TestClient, db: Database
) -> None:
    member(db, "nora")
    nora = browser(app_client, "nora")
    page = nora.get(PAGE)
    assert page.status_code == 403 and "iam:GetToken" in page.text and "Create token" not in page.text
    assert 'href="/organization/tokens"' not in nora.get("/account/password").text  # not in the menu
    refused = post(nora, PAGE, name="sneaky", expiry="30")
    assert refused.status_code == 403 and "iam:CreateToken" in refused.text and not SECRET.search(refused.text)
    assert stored_tokens(db) == []
    [attempt] = audit_records(db, event="iam:CreateToken")
    assert (attempt.actor, attempt.outcome, attempt.summary) == (
        "nora",
        "refused",
        {"name": "sneaky", "expiry": "30 days"},
    )
