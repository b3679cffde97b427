"""SCIM provisioning settings and tokens, and personal API tokens, through the admin API on both
databases: secrets shown once and never again (nor stored, nor logged), permissions, 404/409/422, and the
audit records of successes and refusals."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import World, assert_error, audit, bearer, key, raw_audit_text, roleless
from support.scim import PUBLIC_URL

# ------------------------------------------------------------------------------------------ SCIM


def test_scim_settings(client: TestClient, db: Database, world: World, admin: dict[str, str]) -> None:
    state = client.get("/api/scim", headers=admin).json()
    assert state == {
        "enabled": False,
        "password_sign_in": False,
        "endpoint_url": f"{PUBLIC_URL}/scim/v2",
        "tokens": [],
    }
    assert_error(client.post("/api/scim/tokens", headers=admin, json={"name": "okta"}), 409)  # not enabled yet
    on = client.put("/api/scim", headers=admin, json={"enabled": True}).json()
    assert (on["enabled"], on["password_sign_in"]) == (True, False)
    both = client.put("/api/scim", headers=admin, json={"password_sign_in": True}).json()
    assert (both["enabled"], both["password_sign_in"]) == (True, True)
    assert client.get("/api/scim", headers=key(world.viewer_token)).status_code == 200  # Viewers read it
    assert_error(client.put("/api/scim", headers=key(world.org_admin_token), json={"enabled": False}), 403)
    assert_error(client.put("/api/scim", headers=admin, json={"enabled": "maybe"}), 422)
    records = audit(db, "iam:UpdateSCIMProvisioning")
    assert [(r.outcome, r.summary) for r in records] == [
        ("refused", {"enabled": False}),
        ("success", {"local_sign_in": True}),
        ("success", {"enabled": True}),
        ("failed", {"operation": "create_token", "token_name": "okta"}),
    ]


def test_scim_tokens_are_shown_once(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    client.put("/api/scim", headers=admin, json={"enabled": True})
    issued = client.post("/api/scim/tokens", headers=admin, json={"name": "okta"})
    assert issued.status_code == 201, issued.text
    secret, info = issued.json()["token"], issued.json()["info"]
    assert info["name"] == "okta" and secret.endswith(info["hint"].lstrip("…"))
    listed = client.get("/api/scim", headers=admin)
    assert secret not in listed.text and [t["id"] for t in listed.json()["tokens"]] == [info["id"]]
    assert client.get("/scim/v2/Users", headers=bearer(secret)).status_code == 200  # it works
    assert_error(client.post("/api/scim/tokens", headers=admin, json={"name": "okta"}), 409)
    fresh = client.post(f"/api/scim/tokens/{info['id']}/regenerate", headers=admin)
    assert fresh.status_code == 201
    replacement = fresh.json()
    assert replacement["info"]["name"] == "okta" and replacement["token"] != secret
    assert client.get("/scim/v2/Users", headers=bearer(secret)).status_code == 401  # the old one stopped
    assert_error(client.post(f"/api/scim/tokens/{info['id']}/regenerate", headers=admin), 404)
    assert client.delete(f"/api/scim/tokens/{replacement['info']['id']}", headers=admin).status_code == 204
    assert client.get("/scim/v2/Users", headers=bearer(replacement["token"])).status_code == 401
    assert_error(client.delete(f"/api/scim/tokens/{replacement['info']['id']}", headers=admin), 404)
    text = raw_audit_text(db)
    assert secret not in text and replacement["token"] not in text
    operations = [r.summary.get("operation") for r in audit(db, "iam:UpdateSCIMProvisioning") if r.outcome == "success"]
    assert operations == ["revoke_token", "regenerate_token", "create_token", None]


def test_scim_tokens_need_update_permission(client: TestClient, world: World, admin: dict[str, str]) -> None:
    client.put("/api/scim", headers=admin, json={"enabled": True})
    info = client.post("/api/scim/tokens", headers=admin, json={}).json()["info"]
    assert info["name"]  # dated default name
    olga = key(world.org_admin_token)
    assert_error(client.post("/api/scim/tokens", headers=olga, json={}), 403)
    assert_error(client.delete(f"/api/scim/tokens/{info['id']}", headers=olga), 403)
    assert_error(client.post(f"/api/scim/tokens/{info['id']}/regenerate", headers=olga), 403)


# ------------------------------------------------------------------------------------------ API tokens


def test_an_api_token_is_shown_once(client: TestClient, db: Database, world: World) -> None:
    olga = key(world.org_admin_token)
    created = client.post("/api/tokens", headers=olga, json={"name": "deploy", "expires_in_days": 7})
    assert created.status_code == 201, created.text
    secret, info = created.json()["token"], created.json()["info"]
    assert secret.startswith("gha_") and info["status"] == "active" and info["user_id"] == world.org_admin_id
    expires = info["expires_at"]
    assert expires.startswith((utcnow() + timedelta(days=7)).date().isoformat())
    listing = client.get("/api/tokens", headers=olga)
    assert secret not in listing.text
    assert [t["name"] for t in listing.json()["items"]] == ["deploy", "ci"]
    one = client.get(f"/api/tokens/{info['id']}", headers=olga)
    assert secret not in one.text and one.json()["id"] == info["id"]
    assert client.get("/api/me", headers=key(secret)).json()["token_name"] == "deploy"
    assert secret not in raw_audit_text(db)
    [record] = audit(db, "iam:CreateToken")
    assert record.resource_id == info["id"] and record.summary["token_name"] == "deploy"


def test_token_expiry_choices(client: TestClient, world: World) -> None:
    olga = key(world.org_admin_token)
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    dated = client.post("/api/tokens", headers=olga, json={"name": "dated", "expires_at": tomorrow}).json()
    assert dated["info"]["expires_at"].startswith((utcnow() + timedelta(days=2)).date().isoformat())
    default = client.post("/api/tokens", headers=olga, json={"name": "default"}).json()
    assert default["info"]["expires_at"].startswith((utcnow() + timedelta(days=30)).date().isoformat())
    assert_error(client.post("/api/tokens", headers=olga, json={"name": "x", "expires_in_days": 5}), 422)
    both = {"name": "x", "expires_in_days": 7, "expires_at": tomorrow}
    assert_error(client.post("/api/tokens", headers=olga, json=both), 422)
    assert_error(client.post("/api/tokens", headers=olga, json={"name": "x", "expires_at": "2000-01-01"}), 400)
    far = (utcnow() + timedelta(days=400)).date().isoformat()
    assert_error(client.post("/api/tokens", headers=olga, json={"name": "x", "expires_at": far}), 400)
    assert_error(client.post("/api/tokens", headers=olga, json={"name": "ci"}), 409)  # a live token's name


def test_tokens_of_others(client: TestClient, db: Database, world: World) -> None:
    admin, vera = key(world.admin_token), key(world.viewer_token)
    others = client.get(f"/api/tokens?user_id={world.org_admin_id}", headers=admin).json()["items"]
    assert [t["user_id"] for t in others] == [world.org_admin_id]
    assert client.get(f"/api/tokens?user_id={world.org_admin_id}", headers=vera).json()["items"] == []  # not GetAny
    assert_error(client.get(f"/api/tokens/{others[0]['id']}", headers=vera), 404)
    assert_error(client.delete(f"/api/tokens/{others[0]['id']}", headers=vera), 404)
    assert_error(client.get("/api/tokens/missing", headers=admin), 404)
    assert client.delete(f"/api/tokens/{others[0]['id']}", headers=admin).status_code == 204
    assert_error(client.get("/api/me", headers=key(world.org_admin_token)), 401)
    revoked = client.get(f"/api/tokens/{others[0]['id']}", headers=admin).json()
    assert revoked["status"] == "revoked" and revoked["revoked_at"] is not None
    events = [(r.event, r.outcome) for r in audit(db, "iam:Delete*")]
    assert events == [("iam:DeleteAnyToken", "success"), ("iam:DeleteToken", "failed")]


def test_a_viewer_keeps_their_own_tokens(client: TestClient, world: World) -> None:
    vera = key(world.viewer_token)
    created = client.post("/api/tokens", headers=vera, json={"name": "read-only"}).json()
    assert client.delete(f"/api/tokens/{created['info']['id']}", headers=vera).status_code == 204
    assert_error(client.get("/api/me", headers=key(created["token"])), 401)


def test_a_user_without_a_role_may_not_read_tokens(client: TestClient, db: Database) -> None:
    _, token = roleless(db, "nobody")
    assert_error(client.get("/api/tokens", headers=key(token)), 403)
    assert_error(client.post("/api/tokens", headers=key(token), json={"name": "more"}), 403)
    assert client.get("/api/me", headers=key(token)).status_code == 200  # the token itself still works
