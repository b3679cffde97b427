"""Admin API authentication on both databases: API tokens (both headers; refused at once when unknown,
expired, revoked, or their user deactivated or deleted; carrying the user's current permissions; last
use recorded), the session cookie (sign-in, CSRF, sign-out, forced password change), and the one error
envelope (401, 404, 405, 422, 500)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from gatehouse.api.app import MAX_BODY_BYTES
from gatehouse.api.routes import policies as policy_routes
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import api_tokens
from support.api import (
    PASSWORD,
    VIEWER,
    World,
    add_user,
    assert_error,
    audit,
    bearer,
    key,
    role_id,
    sign_in_api,
    token_for,
)
from support.web import ADMIN_PASSWORD

# ------------------------------------------------------------------------------------------ no credentials


def test_no_credentials_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    for method, url in (("GET", "/api/me"), ("GET", "/api/users"), ("POST", "/api/roles"), ("GET", "/api/scim")):
        error = assert_error(client.request(method, url, json={}), 401, "unauthorized")
        assert "X-API-KEY" in error["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-KEY": "gha_not-a-token"},
        {"X-API-KEY": "ghs_a-scim-token-is-not-an-api-token"},
        {"Authorization": "Bearer gha_unknown"},
        {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="},
        {"X-API-KEY": "gha_" + "x" * 500},
    ],
)
def test_a_token_that_is_not_one_is_401(client: TestClient, headers: dict[str, str]) -> None:
    assert_error(client.get("/api/me", headers=headers), 401, "unauthorized")


def test_both_headers_carry_a_token(client: TestClient, world: World) -> None:
    for headers in (key(world.viewer_token), bearer(world.viewer_token)):
        response = client.get("/api/me", headers=headers)
        assert response.status_code == 200, response.text
        me = response.json()
        assert me["user"]["user_name"] == "vera"
        assert me["authenticated_by"] == "token"
        assert me["token_name"] == "ci"
        assert me["csrf_token"] is None


# ------------------------------------------------------------------------------------------ token lifecycle


def test_an_expired_token_is_401_at_once(client: TestClient, db: Database, world: World) -> None:
    assert client.get("/api/me", headers=key(world.viewer_token)).status_code == 200
    with db.transaction() as connection:
        connection.execute(
            api_tokens.update().where(api_tokens.c.user_id == world.viewer_id).values(expires_at=utcnow())
        )
    assert_error(client.get("/api/me", headers=key(world.viewer_token)), 401)


def test_a_revoked_token_is_401_at_once(client: TestClient, world: World) -> None:
    mine = client.get("/api/tokens", headers=key(world.viewer_token)).json()["items"]
    assert [t["name"] for t in mine] == ["ci"]
    assert client.delete(f"/api/tokens/{mine[0]['id']}", headers=key(world.viewer_token)).status_code == 204
    assert_error(client.get("/api/me", headers=key(world.viewer_token)), 401)
    assert_error(client.get("/api/me", headers=bearer(world.viewer_token)), 401)


def test_a_deactivated_users_token_is_401_and_stays_revoked(client: TestClient, world: World) -> None:
    admin = key(world.admin_token)
    assert client.post(f"/api/users/{world.viewer_id}/deactivate", headers=admin).status_code == 200
    assert_error(client.get("/api/me", headers=key(world.viewer_token)), 401)
    assert client.post(f"/api/users/{world.viewer_id}/reactivate", headers=admin).status_code == 200
    assert_error(client.get("/api/me", headers=key(world.viewer_token)), 401)  # revoked for good


def test_a_deleted_users_token_is_401(client: TestClient, world: World) -> None:
    assert client.delete(f"/api/users/{world.viewer_id}", headers=key(world.admin_token)).status_code == 204
    assert_error(client.get("/api/me", headers=key(world.viewer_token)), 401)


def test_a_token_carries_its_users_current_permissions(client: TestClient, db: Database, world: World) -> None:
    vera = key(world.viewer_token)
    assert client.get("/api/users", headers=vera).status_code == 200
    invite = {"user_name": "newcomer", "password": PASSWORD}
    assert_error(client.post("/api/users", headers=vera, json=invite), 403, "forbidden")
    admin_role = role_id(db, "Organization Admin")
    granted = client.put(
        f"/api/users/{world.viewer_id}/roles", headers=key(world.admin_token), json={"role_ids": [admin_role]}
    )
    assert granted.status_code == 200, granted.text
    assert client.post("/api/users", headers=vera, json=invite).status_code == 201  # the same token, now allowed
    client.put(f"/api/users/{world.viewer_id}/roles", headers=key(world.admin_token), json={"role_ids": []})
    assert_error(client.post("/api/users", headers=vera, json={**invite, "user_name": "other"}), 403)
    assert client.get("/api/users", headers=vera).status_code == 403  # no role at all any more
    assert client.get(f"/api/users/{world.viewer_id}", headers=vera).status_code == 200  # but their own page


def test_the_audit_log_names_the_token(client: TestClient, db: Database, world: World) -> None:
    client.post("/api/users", headers=key(world.org_admin_token), json={"user_name": "tok", "password": PASSWORD})
    [record] = audit(db, "iam:InviteUser")
    assert record.actor == "olga (token ci)"
    assert record.actor_id == world.org_admin_id
    assert record.source == "api"


def test_a_tokens_use_is_recorded_at_most_once_a_minute(client: TestClient, world: World) -> None:
    vera = key(world.viewer_token)
    token_id = client.get("/api/tokens", headers={**vera, "User-Agent": "ci-bot/1.0"}).json()["items"][0]["id"]
    seen = client.get(f"/api/tokens/{token_id}", headers=key(world.admin_token)).json()
    assert seen["last_used_at"] is not None
    assert seen["last_used_user_agent"] == "ci-bot/1.0"
    client.get("/api/me", headers={**vera, "User-Agent": "other/2.0"})  # coalesced: not written
    again = client.get(f"/api/tokens/{token_id}", headers=key(world.admin_token)).json()
    assert (again["last_used_at"], again["last_used_user_agent"]) == (seen["last_used_at"], "ci-bot/1.0")


# ------------------------------------------------------------------------------------------ sessions


def test_sign_in_opens_a_session_with_a_csrf_token(client: TestClient, db: Database, world: World) -> None:
    response = sign_in_api(client)
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["authenticated_by"] == "session"
    assert me["user"]["id"] == world.admin_id
    assert me["user"]["roles"][0]["name"] == "Super Admin"
    assert "iam:DeleteUser" in me["allowed_actions"]
    assert "HttpOnly" in response.headers["set-cookie"]
    assert client.get("/api/me").json()["csrf_token"] == me["csrf_token"]
    [record] = audit(db, "auth:SignIn")
    assert (record.outcome, record.actor, record.actor_id) == ("success", "admin", world.admin_id)


def test_a_session_changes_nothing_without_its_csrf_token(client: TestClient, db: Database, world: World) -> None:
    csrf = sign_in_api(client).json()["csrf_token"]
    body = {"user_name": "by-session", "password": PASSWORD}
    assert_error(client.post("/api/users", json=body), 403, "forbidden")
    assert_error(client.post("/api/users", json=body, headers={"X-CSRF-Token": "wrong"}), 403)
    assert audit(db, "iam:InviteUser") == []
    created = client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert audit(db, "iam:InviteUser")[0].actor == "admin"


def test_sign_out_ends_the_session(client: TestClient, db: Database) -> None:
    csrf = sign_in_api(client).json()["csrf_token"]
    assert_error(client.post("/api/auth/sign-out"), 403)  # CSRF applies
    response = client.post("/api/auth/sign-out", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert_error(client.get("/api/me"), 401)
    assert [r.outcome for r in audit(db, "auth:SignOut")] == ["success"]


def test_sign_out_with_a_token_is_refused(client: TestClient, world: World) -> None:
    assert_error(client.post("/api/auth/sign-out", headers=key(world.admin_token)), 400)


def test_a_token_wins_over_the_session_cookie(client: TestClient, world: World) -> None:
    sign_in_api(client)
    me = client.get("/api/me", headers=key(world.viewer_token)).json()
    assert me["user"]["user_name"] == "vera"


def test_failed_sign_ins_are_recorded_and_throttled(client: TestClient, db: Database) -> None:
    error = assert_error(sign_in_api(client, password="wrong password"), 401)
    assert error["detail"] == "Invalid username or password."
    [record] = audit(db, "auth:SignIn")
    assert (record.outcome, record.status, record.actor) == ("refused", 401, "admin")
    assert ADMIN_PASSWORD not in repr(record) and "wrong password" not in repr(record)
    for _ in range(10):
        last = sign_in_api(client, password="wrong password")
    assert_error(last, 429, "too_many_requests")


def test_a_deactivated_user_cannot_sign_in(client: TestClient, db: Database, world: World) -> None:
    add_user(db, "dora", role=VIEWER, password=PASSWORD)
    dora = sign_in_api(client, "dora", PASSWORD)
    assert dora.status_code == 200
    client.cookies.clear()
    with db.transaction() as connection:
        stored = user_store.get_by_user_name(connection, "dora")
        assert stored is not None
        user_store.set_active(connection, stored.id, False, utcnow())
    assert_error(sign_in_api(client, "dora", PASSWORD), 403)


def test_sign_in_needs_a_json_body(client: TestClient) -> None:
    form = client.post("/api/auth/sign-in", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert_error(form, 422, "validation_failed")
    plain = client.post(
        "/api/auth/sign-in",
        content=f'{{"username": "admin", "password": "{ADMIN_PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert_error(plain, 422)


def test_a_one_time_password_session_may_only_read_me(client: TestClient, db: Database, world: World) -> None:
    created = client.post("/api/users", headers=key(world.admin_token), json={"user_name": "otto"}).json()
    client.put(
        f"/api/users/{created['id']}/roles", headers=key(world.admin_token), json={"role_ids": [role_id(db, VIEWER)]}
    )
    me = sign_in_api(client, "otto", created["one_time_password"]).json()
    assert me["must_change_password"] is True
    assert client.get("/api/me").status_code == 200
    assert_error(client.get("/api/users"), 403)


def test_an_idle_session_is_401(client: TestClient, db: Database, world: World) -> None:
    sign_in_api(client)
    with db.transaction() as connection:
        from gatehouse.store.tables import sessions

        connection.execute(sessions.update().values(last_seen=utcnow() - timedelta(days=1)))
    assert_error(client.get("/api/me"), 401)


# ------------------------------------------------------------------------------------------ the envelope


def test_unknown_paths_and_methods_answer_the_envelope(client: TestClient, world: World) -> None:
    admin = key(world.admin_token)
    assert_error(client.get("/api/nowhere", headers=admin), 404, "not_found")
    assert_error(client.patch("/api/catalog", headers=admin), 405, "method_not_allowed")


def test_validation_errors_list_their_fields(client: TestClient, world: World) -> None:
    response = client.post("/api/users", headers=key(world.admin_token), json={"user_name": "", "extra": 1})
    error = assert_error(response, 422, "validation_failed")
    locations = [field["loc"] for field in error["fields"]]
    assert ["body", "user_name"] in locations and ["body", "extra"] in locations
    bad_query = client.get("/api/users?per_page=0&status=maybe", headers=key(world.admin_token))
    assert {tuple(f["loc"]) for f in assert_error(bad_query, 422)["fields"]} == {
        ("query", "per_page"),
        ("query", "status"),
    }
    broken = client.post(
        "/api/users", headers={**key(world.admin_token), "Content-Type": "application/json"}, content=b"{"
    )
    assert_error(broken, 422)


def test_a_body_over_the_limit_is_413(client: TestClient, world: World) -> None:
    big = {"name": "big", "description": "x" * (MAX_BODY_BYTES + 1)}
    assert_error(client.post("/api/roles", headers=key(world.admin_token), json=big), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it is read
        yield b'{"name": "big", "description": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    streamed = client.post(
        "/api/roles", headers={**key(world.admin_token), "Content-Type": "application/json"}, content=chunks()
    )
    assert_error(streamed, 413, "payload_too_large")


def test_a_crash_is_a_500_without_a_traceback(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(policy_routes, "simulate", explode)
    body = {"user_id": world.viewer_id, "action": "iam:GetUser", "resource": "arn:gatehouse:iam:user/x"}
    response = client.post("/api/policy-simulations", headers=key(world.admin_token), json=body)
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text  # logged, with its traceback
    assert error["detail"]


def test_token_for_another_user_acts_for_that_user(client: TestClient, db: Database, world: World) -> None:
    second = token_for(db, world.org_admin_id, "deploy")
    me = client.get("/api/me", headers=key(second)).json()
    assert (me["user"]["user_name"], me["token_name"]) == ("olga", "deploy")
