"""OIDC sign-in end to end against a real OpenID provider (Canaille via pytest-iam, on localhost), on SQLite
and PostgreSQL: the user is provisioned by SCIM, signs in at the provider, lands in Gatehouse with the roles
the rules give, and the roles follow the provider's groups at the next sign-in. Every refusal shows a page,
leaves an audit record and signs nobody in.

The browser's part at the provider is played by :meth:`Provider.authorize` (``tests/browser`` has the
same journey in Chromium); every call from Gatehouse to the provider is real HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from pytest_iam import Server
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.iam.authorizer import held_roles
from gatehouse.login.urls import post_logout_uri, redirect_uri
from gatehouse.secrets_box import SecretBox
from gatehouse.store import audit, roles, sso_links, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import sessions, sso_login_states
from gatehouse.store.tables import users as users_table
from support.api import token_for
from support.oidc_provider import Provider, add_option, count, path_of
from support.redirects import HOSTILE
from support.scim import PUBLIC_URL, USER, patch
from support.web import ADMIN_PASSWORD, csrf_of, make_admin

pytestmark = pytest.mark.slow


@dataclass
class World:
    gatehouse: TestClient
    provider: Provider
    db: Database
    option_id: str
    client_id: str
    roles: dict[str, str]
    scim_token: str

    def login_url(self, next_path: str | None = None) -> str:
        query = f"?{urlencode({'next': next_path})}" if next_path else ""
        return f"/sso/oidc/{self.option_id}/login{query}"

    def start(self, next_path: str | None = None) -> str:
        """GET the login route: the provider's authorization URL it redirects to."""
        response = self.gatehouse.get(self.login_url(next_path), follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    def callback_for(self, user: Any, next_path: str | None = None) -> str:
        """A full trip to the provider and back: the callback path (with code and state) to send Gatehouse."""
        back = self.provider.authorize(self.start(next_path), user)
        assert back.startswith(redirect_uri(PUBLIC_URL, self.option_id) + "?"), back
        return path_of(back)

    def provision(self, user_name: str, external_id: str, active: bool = True) -> str:
        """The user as Okta would push it by SCIM; returns the Gatehouse id."""
        body = {"schemas": [USER], "userName": user_name, "externalId": external_id, "active": active,
                "emails": [{"value": user_name, "primary": True, "type": "work"}]}  # fmt: skip
        response = self.gatehouse.post(
            "/scim/v2/Users", json=body, headers={"Authorization": f"Bearer {self.scim_token}"}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def held(self, user_id: str) -> dict[str, set[str]]:
        """Role name → how it is held."""
        with self.db.snapshot() as connection:
            return {role.name: {o.kind for o in role.origins} for role in held_roles(connection, user_id)}

    def sign_in_events(self) -> list[Any]:
        with self.db.snapshot() as connection:
            page = audit.search(connection, audit.AuditQuery(event="auth:SignIn"), limit=50)
        return list(page.records)


@pytest.fixture
def provider(iam_server: Server) -> Provider:
    return Provider(iam_server)


@pytest.fixture
def world(provider: Provider, settings: Settings, db: Database) -> Iterator[World]:
    option_id = str(uuid.uuid4())
    client_id, secret = provider.register_client(redirect_uri(PUBLIC_URL, option_id))
    now = utcnow()
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
        role_ids = {}
        for name in ("Operators", "Developers", "Auditors"):
            role_ids[name] = str(uuid.uuid4())
            roles.insert(connection, role_ids[name], roles.RoleWrite(name), now)
    rules = [
        {"kind": "role", "target_id": role_ids["Operators"], "attribute": "$.groups[*]",
         "operation": "exact_match", "value": "ops"},
        {"kind": "role", "target_id": role_ids["Developers"], "attribute": "$.groups",
         "operation": "exact_match_in_array", "value": "dev"},
    ]  # fmt: skip
    box = SecretBox.from_config(settings.secret_key_path)
    add_option(db, provider, client_id, secret, box, rules=rules, option_id=option_id)
    with TestClient(create_app(settings, db), base_url=PUBLIC_URL) as client:
        yield World(client, provider, db, option_id, client_id, role_ids, token)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------------------------ the journey


def test_a_provisioned_user_signs_in_with_the_mapped_roles_and_they_follow_the_provider(world: World) -> None:
    name = unique("alice")
    at_idp = world.provider.user(name, email=f"{name}@example.org", groups=("ops",))
    user_id = world.provision(f"{name}@example.org", external_id=name)  # Okta's externalId is the subject

    # The sign-in page offers the option.
    page = world.gatehouse.get("/login")
    assert f'href="/sso/oidc/{world.option_id}/login"' in page.text and "Sign in with Canaille" in page.text

    callback = world.callback_for(at_idp, next_path="/organization/users")
    query = parse_qs(urlsplit(callback).query)
    assert set(query) >= {"code", "state"}
    landed = world.gatehouse.get(callback, follow_redirects=False)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/organization/users"
    assert world.gatehouse.cookies.get("gatehouse_session")
    assert world.held(user_id) == {"Operators": {"sso"}}
    me = world.gatehouse.get(f"/organization/users/{user_id}")
    assert me.status_code == 200 and f"{name}@example.org" in me.text

    # An administrator grants Auditors by hand; the provider moves the user from ops to dev.
    with world.db.transaction() as connection:
        roles.assign(connection, user_id, world.roles["Auditors"], roles.MANUAL, None, utcnow())
    world.provider.set_groups(at_idp, ("dev",))
    world.gatehouse.cookies.clear()
    again = world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert world.held(user_id) == {"Developers": {"sso"}, "Auditors": {"direct"}}

    # No group matches any more: mapped roles go, the hand-granted one stays.
    world.provider.set_groups(at_idp, ())
    world.gatehouse.cookies.clear()
    assert world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False).status_code == 303
    assert world.held(user_id) == {"Auditors": {"direct"}}

    with world.db.snapshot() as connection:
        links = sso_links.links_of_user(connection, user_id)
        assert [(link.subject, link.option_id) for link in links] == [(name, world.option_id)]
        assert users.get(connection, user_id).source == "scim"  # type: ignore[union-attr]
    events = [e for e in world.sign_in_events() if e.resource_id == user_id]
    assert len(events) == 3 and all(e.outcome == "success" and e.source == "sso" for e in events)
    first = events[-1]
    assert first.summary["roles_granted"] == [world.roles["Operators"]]
    assert first.summary["linked_by"] == "external_id"


def test_the_state_and_nonce_are_single_use_a_replayed_callback_signs_nobody_in(world: World) -> None:
    name = unique("bob")
    at_idp = world.provider.user(name, groups=("ops",))
    world.provision(f"{name}@example.org", external_id=name)
    callback = world.callback_for(at_idp)
    assert world.gatehouse.get(callback, follow_redirects=False).status_code == 303
    sessions_before = count(world.db, sessions)

    world.gatehouse.cookies.clear()
    replay = world.gatehouse.get(callback, follow_redirects=False)
    assert replay.status_code == 400
    assert "expired or has been used already" in replay.text and "state_invalid" in replay.text
    assert "gatehouse_session" not in replay.headers.get("set-cookie", "")
    assert count(world.db, sessions) == sessions_before
    refused = world.sign_in_events()[0]
    assert refused.outcome == "failed" and refused.summary["reason"] == "state_invalid" and refused.status == 400


def test_a_tampered_state_is_refused_and_burns_nothing_else(world: World) -> None:
    name = unique("carol")
    at_idp = world.provider.user(name)
    world.provision(f"{name}@example.org", external_id=name)
    callback = world.callback_for(at_idp)
    query = parse_qs(urlsplit(callback).query)
    forged = {"code": query["code"][0], "state": query["state"][0][:-2] + "xx"}
    response = world.gatehouse.get(f"/sso/oidc/{world.option_id}/callback?{urlencode(forged)}", follow_redirects=False)
    assert response.status_code == 400 and "state_invalid" in response.text
    assert count(world.db, sessions) == 0
    assert world.sign_in_events()[0].summary["reason"] == "state_invalid"

    # The state of another option is no good either.
    other = world.gatehouse.get(f"/sso/oidc/{uuid.uuid4()}/callback?{urlencode(query, doseq=True)}")
    assert other.status_code == 400 and count(world.db, sessions) == 0
    # The genuine state was taken by that attempt: the real callback is now refused too.
    assert world.gatehouse.get(callback, follow_redirects=False).status_code == 400
    assert count(world.db, sso_login_states) == 0
    # No state at all.
    bare = world.gatehouse.get(f"/sso/oidc/{world.option_id}/callback?code=abc")
    assert bare.status_code == 400 and "state_missing" in bare.text


def test_a_user_not_provisioned_by_scim_is_refused(world: World) -> None:
    name = unique("dave")
    at_idp = world.provider.user(name, groups=("ops",))
    users_before = count(world.db, users_table)
    response = world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False)
    assert response.status_code == 403
    assert "Only users provisioned by SCIM may sign in" in response.text and "not_provisioned" in response.text
    assert count(world.db, users_table) == users_before and count(world.db, sessions) == 0
    refused = world.sign_in_events()[0]
    assert (refused.outcome, refused.actor, refused.summary["reason"]) == ("refused", name, "not_provisioned")


def test_without_scim_only_the_user_is_created_on_first_sign_in(world: World) -> None:
    with world.db.transaction() as connection:
        scim_control.disable(connection)  # "on by default when SCIM is enabled": off now
    name = unique("erin")
    at_idp = world.provider.user(name, email=f"{name}@example.org", groups=("dev",))
    assert world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False).status_code == 303
    with world.db.snapshot() as connection:
        created = users.get_by_user_name(connection, name)
    assert created is not None and created.source == "sso" and created.active
    assert world.held(created.id) == {"Developers": {"sso"}}
    # The second sign-in finds the link: no second user.
    world.gatehouse.cookies.clear()
    assert world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False).status_code == 303
    with world.db.snapshot() as connection:
        total = connection.execute(
            sa.select(sa.func.count()).select_from(users_table).where(users_table.c.user_name_lower == name)
        ).scalar_one()
    assert total == 1


def test_a_deactivated_user_is_refused_and_their_session_ends(world: World) -> None:
    name = unique("frank")
    at_idp = world.provider.user(name)
    user_id = world.provision(f"{name}@example.org", external_id=name)
    assert world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False).status_code == 303
    assert world.gatehouse.get("/account/password").status_code == 200

    deactivate = patch({"op": "replace", "value": {"active": False}})
    scim = {"Authorization": f"Bearer {world.scim_token}"}
    assert world.gatehouse.patch(f"/scim/v2/Users/{user_id}", json=deactivate, headers=scim).status_code == 200
    assert world.gatehouse.get("/account/password", follow_redirects=False).status_code == 303  # signed out

    world.gatehouse.cookies.clear()
    response = world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False)
    assert response.status_code == 403 and "deactivated" in response.text
    assert count(world.db, sessions) == 0
    refused = world.sign_in_events()[0]
    assert (refused.outcome, refused.resource_id, refused.summary["reason"]) == ("refused", user_id, "deactivated")


def test_an_id_token_for_another_audience_is_refused(world: World) -> None:
    # The provider issues this client's ID tokens for another client (a misconfigured or hostile provider).
    other_id, _ = world.provider.register_client("https://elsewhere.test/callback")
    client = world.provider.client(world.client_id)
    other = world.provider.client(other_id)
    with world.provider.server.app.app_context():
        client.audience = [other]
        world.provider.server.backend.save(client)
    name = unique("gina")
    at_idp = world.provider.user(name)
    world.provision(f"{name}@example.org", external_id=name)
    response = world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False)
    assert response.status_code == 401 and "not issued for this client" in response.text
    assert count(world.db, sessions) == 0
    assert world.sign_in_events()[0].summary["reason"] == "audience_mismatch"


def test_the_providers_refusal_and_a_wrong_secret_are_clear_pages(world: World, settings: Settings) -> None:
    url = urlsplit(world.start())
    state = parse_qs(url.query)["state"][0]
    denied = world.gatehouse.get(
        f"/sso/oidc/{world.option_id}/callback?{urlencode({'state': state, 'error': 'access_denied'})}"
    )
    assert denied.status_code == 400 and "access_denied" in denied.text
    assert count(world.db, sso_login_states) == 0  # the state is spent all the same

    box = SecretBox.from_config(settings.secret_key_path)
    with world.db.transaction() as connection:
        connection.execute(
            sa.text("UPDATE login_options SET client_secret_encrypted = :s WHERE id = :i"),
            {"s": box.encrypt("not-the-secret", world.option_id), "i": world.option_id},
        )
    name = unique("hank")
    at_idp = world.provider.user(name)
    world.provision(f"{name}@example.org", external_id=name)
    response = world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False)
    assert response.status_code == 502 and "invalid_client" in response.text and "client ID and secret" in response.text
    assert "not-the-secret" not in response.text
    assert world.sign_in_events()[0].summary["reason"] == "token_refused"


def test_password_sign_in_is_refused_while_the_password_option_is_off(world: World) -> None:
    make_admin(world.db)
    with world.db.transaction() as connection:
        from gatehouse.store import login_options

        login_options.set_password_login(connection, False)
    page = world.gatehouse.get("/login")
    assert 'id="password-form"' not in page.text and "Sign in with Canaille" in page.text
    token = world.gatehouse.cookies["gatehouse_login_csrf"]  # the form is gone; a scripted POST still fails
    refused = world.gatehouse.post(
        "/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 403 and "Password sign-in is turned off" in refused.text
    api = world.gatehouse.post("/api/auth/sign-in", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert api.status_code == 403 and "Password sign-in is turned off" in api.json()["error"]["detail"]
    assert count(world.db, sessions) == 0


def test_a_disabled_or_unknown_option_is_a_clear_page(world: World) -> None:
    assert world.gatehouse.get(f"/sso/oidc/{uuid.uuid4()}/login").status_code == 404
    with world.db.transaction() as connection:
        connection.execute(sa.text("UPDATE login_options SET enabled = false WHERE id = :i"), {"i": world.option_id})
    response = world.gatehouse.get(world.login_url())
    assert response.status_code == 404 and "turned off" in response.text
    assert "Sign in with Canaille" not in world.gatehouse.get("/login").text


def test_third_party_initiated_login_and_next_paths(world: World) -> None:
    url = world.gatehouse.get(
        f"/sso/oidc/{world.option_id}/login?iss={world.provider.issuer}", follow_redirects=False
    ).headers["location"]
    assert url.startswith(world.provider.issuer + "/oauth/authorize?")
    params = parse_qs(urlsplit(url).query)
    assert params["code_challenge_method"] == ["S256"] and params["response_type"] == ["code"]
    assert params["redirect_uri"] == [redirect_uri(PUBLIC_URL, world.option_id)]
    assert {"state", "nonce", "code_challenge"} <= set(params) and "openid" in params["scope"][0].split()
    wrong = world.gatehouse.get(f"/sso/oidc/{world.option_id}/login?iss=https://evil.example")
    assert wrong.status_code == 400
    # An absolute next is never followed: the sign-in lands on "/".
    name = unique("ivy")
    at_idp = world.provider.user(name)
    world.provision(f"{name}@example.org", external_id=name)
    landed = world.gatehouse.get(world.callback_for(at_idp, next_path="//evil.example/x"), follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/"
    # Every other form a browser would follow away is kept as "/" when the sign-in starts.
    for target in HOSTILE:
        world.start(target)
    with world.db.snapshot() as connection:
        stored = connection.execute(sa.select(sso_login_states.c.next_path)).scalars().all()
    assert len(stored) > len(HOSTILE) and set(stored) == {"/"}  # and the third-party login's, at the start


def test_sign_out_ends_the_providers_session_too_when_the_option_asks(world: World) -> None:
    name = unique("jude")
    at_idp = world.provider.user(name)
    world.provision(f"{name}@example.org", external_id=name)
    with world.db.transaction() as connection:
        connection.execute(sa.text("UPDATE login_options SET end_session = true WHERE id = :i"), {"i": world.option_id})
    client = world.provider.client(world.client_id)
    with world.provider.server.app.app_context():
        client.post_logout_redirect_uris = [post_logout_uri(PUBLIC_URL)]
        world.provider.server.backend.save(client)

    assert world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False).status_code == 303
    token = csrf_of(world.gatehouse.get("/account/password").text)
    out = world.gatehouse.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    target = urlsplit(out.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == world.provider.issuer and target.path == "/oauth/end_session"
    assert parse_qs(target.query) == {
        "client_id": [world.client_id],
        "post_logout_redirect_uri": [f"{PUBLIC_URL}/login"],
    }
    assert count(world.db, sessions) == 0  # the local session ended before the trip to the provider
    assert world.gatehouse.get("/account/password", follow_redirects=False).status_code == 303

    # A password session signs out locally only.
    make_admin(world.db)
    page = world.gatehouse.get("/login")
    world.gatehouse.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    token = csrf_of(world.gatehouse.get("/account/password").text)
    local = world.gatehouse.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert local.status_code == 303 and local.headers["location"] == "/login"


def test_another_subject_claim_matches_the_scim_external_id(world: World) -> None:
    # As with Entra ID's oid: the option names the claim whose value SCIM sent as externalId.
    with world.db.transaction() as connection:
        connection.execute(
            sa.text("UPDATE login_options SET subject_claim = 'email' WHERE id = :i"), {"i": world.option_id}
        )
    name = unique("kim")
    at_idp = world.provider.user(name, email=f"{name}@corp.example", groups=("ops",))
    user_id = world.provision(f"{name}.login@example.org", external_id=f"{name}@corp.example")
    assert world.gatehouse.get(world.callback_for(at_idp), follow_redirects=False).status_code == 303
    assert world.held(user_id) == {"Operators": {"sso"}}
    with world.db.snapshot() as connection:
        assert [link.subject for link in sso_links.links_of_user(connection, user_id)] == [f"{name}@corp.example"]


def test_an_administrator_checks_the_provider_from_the_dashboard_and_the_api(world: World) -> None:
    make_admin(world.db)
    page = world.gatehouse.get("/login")
    world.gatehouse.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    setup = world.gatehouse.get(f"/organization/settings/login-options/{world.option_id}")
    checked = world.gatehouse.post(
        f"/organization/settings/login-options/{world.option_id}/check", data={"csrf_token": csrf_of(setup.text)}
    )
    assert checked.status_code == 200
    assert "The provider answered: discovery and 1 signing key found." in checked.text
    assert f"<code>{world.provider.issuer}/oauth/token</code> (client_secret_basic)" in checked.text

    token = world.gatehouse.post(
        "/api/tokens", json={"name": "checker", "expires_in_days": 7}, headers={"X-CSRF-Token": csrf_of(setup.text)}
    )
    assert token.status_code == 201, token.text
    key = {"X-API-KEY": token.json()["token"]}
    found = world.gatehouse.post(f"/api/login_options/{world.option_id}/check", headers=key).json()
    assert found["ok"] is True and found["signing_keys"] == 1 and found["end_session_endpoint"].endswith("/end_session")
    assert found["userinfo_endpoint"] == f"{world.provider.issuer}/oauth/userinfo" and found["warnings"] == []

    # The provider goes away: the check says so, and changes nothing.
    with world.db.transaction() as connection:
        connection.execute(
            sa.text("UPDATE login_options SET issuer = 'http://127.0.0.1:9' WHERE id = :i"), {"i": world.option_id}
        )
    down = world.gatehouse.post(f"/api/login_options/{world.option_id}/check", headers=key).json()
    assert down["ok"] is False and down["reason"] == "unreachable" and "could not be reached" in down["detail"]


def test_with_private_addresses_denied_a_provider_on_loopback_is_not_called(world: World, settings: Settings) -> None:
    """GATEHOUSE_OUTBOUND_DENY_PRIVATE on: the provider check (and so any sign-in) refuses the provider, which
    sits on loopback here, before calling it."""
    admin_id = make_admin(world.db)
    strict = settings.model_copy(update={"outbound_deny_private": True})
    with TestClient(create_app(strict, world.db), base_url="https://testserver") as gatehouse:
        key = {"X-API-KEY": token_for(world.db, admin_id)}
        refused = gatehouse.post(f"/api/login_options/{world.option_id}/check", headers=key).json()
    assert refused["ok"] is False and refused["reason"] == "refused"
    assert "GATEHOUSE_OUTBOUND_DENY_PRIVATE" in refused["detail"]


def test_an_answer_naming_another_issuer_is_refused(world: World) -> None:
    # RFC 9207: the provider names itself in the callback; an answer from another provider is a mix-up.
    name = unique("lea")
    at_idp = world.provider.user(name)
    world.provision(f"{name}@example.org", external_id=name)
    callback = world.callback_for(at_idp)
    query = {key: values[0] for key, values in parse_qs(urlsplit(callback).query).items()}
    assert query["iss"] == world.provider.issuer
    mixed = world.gatehouse.get(
        f"/sso/oidc/{world.option_id}/callback?{urlencode({**query, 'iss': 'https://evil.example'})}",
        follow_redirects=False,
    )
    assert mixed.status_code == 400 and "another identity provider" in mixed.text
    assert count(world.db, sessions) == 0
    assert world.sign_in_events()[0].summary["reason"] == "issuer_mismatch"
