"""Users through the admin API on both databases: the directory, a user's page (roles with their origins,
boundaries), inviting, editing, deleting, password resets, status changes, hand-over, roles and
boundaries; each with its refusals, and its audit records for successes and refusals alike."""

from __future__ import annotations

from starlette.testclient import TestClient

from gatehouse.store.database import Database
from support.api import (
    ORG_ADMIN,
    PASSWORD,
    VIEWER,
    World,
    add_group,
    add_user,
    assert_error,
    audit,
    key,
    raw_audit_text,
    role_id,
    roleless,
    sign_in_api,
)

# ------------------------------------------------------------------------------------------ the directory


def test_list_search_filter_sort_and_page(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    for name in ("amy", "bob", "bea"):
        add_user(db, name, email=f"{name}@example.com")
    add_user(db, "sam", source="scim")
    page = client.get("/api/users?per_page=2&sort=username", headers=admin).json()
    assert [u["user_name"] for u in page["items"]] == ["admin", "amy"]
    assert page["paging"] == {
        "page": 1,
        "per_page": 2,
        "total": 7,
        "pages": 4,
        "total_exact": True,
        "next_cursor": None,
        "prev_cursor": None,
    }
    last = client.get("/api/users?per_page=2&page=99", headers=admin).json()
    assert last["paging"]["page"] == 4 and [u["user_name"] for u in last["items"]] == ["vera"]
    found = client.get("/api/users?q=B", headers=admin).json()
    assert [u["user_name"] for u in found["items"]] == ["bea", "bob"]
    assert found["items"][0]["email"] == "bea@example.com"
    scim = client.get("/api/users?source=scim", headers=admin).json()
    assert [(u["user_name"], u["source"]) for u in scim["items"]] == [("sam", "scim")]
    backwards = client.get("/api/users?sort=username&order=desc&per_page=1", headers=admin).json()
    assert backwards["items"][0]["user_name"] == "vera"


def test_q_finds_any_part_by_relevance_and_pages_with_a_cursor(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    """The same search as the Users page (one use case): any part of a username, name, e-mail or externalId, by
    relevance, paged by cursor; a search's `page` is refused."""
    for number in range(5):
        add_user(db, f"journey.58162{number}", email=f"journey.58162{number}.0@example.com")
    add_user(db, "urney", email="someone@example.com")
    first = client.get("/api/users?q=URNEY&per_page=4", headers=admin).json()
    assert [u["user_name"] for u in first["items"]] == ["urney", "journey.581620", "journey.581621", "journey.581622"]
    paging = first["paging"]
    assert paging["total"] == 6 and paging["total_exact"] and paging["prev_cursor"] is None and paging["next_cursor"]
    second = client.get(
        "/api/users", params={"q": "urney", "per_page": 4, "cursor": paging["next_cursor"]}, headers=admin
    )
    assert [u["user_name"] for u in second.json()["items"]] == ["journey.581623", "journey.581624"]
    assert second.json()["paging"]["next_cursor"] is None and second.json()["paging"]["prev_cursor"]
    assert [u["user_name"] for u in client.get("/api/users?q=581624.0@", headers=admin).json()["items"]] == [
        "journey.581624"
    ]
    refused = client.get("/api/users?q=urney&page=2", headers=admin)
    assert refused.status_code == 400 and "cursor" in refused.json()["error"]["detail"]


def test_a_viewer_lists_and_a_user_without_a_role_may_not(client: TestClient, db: Database, viewer: dict) -> None:
    assert client.get("/api/users", headers=viewer).status_code == 200
    _, token = roleless(db, "nobody")
    assert_error(client.get("/api/users", headers=key(token)), 403, "forbidden")


def test_a_users_page_shows_roles_with_their_origins(
    client: TestClient, db: Database, world: World, admin: dict[str, str]
) -> None:
    sam = add_user(db, "sam", source="scim", role=VIEWER)
    ops = add_group(db, "Ops", (sam,))
    bound = client.put(f"/api/groups/{ops}/roles", headers=admin, json={"role_ids": [role_id(db, ORG_ADMIN)]})
    assert bound.status_code == 200, bound.text
    page = client.get(f"/api/users/{sam}", headers=admin).json()
    origins = {role["name"]: [o["description"] for o in role["origins"]] for role in page["roles"]}
    assert origins == {ORG_ADMIN: ["via group Ops"], VIEWER: ["direct"]}
    assert page["groups"] == [{"id": ops, "name": "Ops"}]
    assert page["source"] == "scim" and page["attributes"]["userName"] == "sam"
    assert client.get(f"/api/users/{world.admin_id}", headers=admin).json()["roles"][0]["origins"][0]["kind"] == (
        "super_admin"
    )


def test_own_page_needs_no_role_and_others_need_get_user(client: TestClient, db: Database, world: World) -> None:
    nobody, token = roleless(db, "nobody")
    mine = key(token)
    assert client.get(f"/api/users/{nobody}", headers=mine).json()["user_name"] == "nobody"
    assert client.get("/api/me", headers=mine).json()["allowed_actions"] == []
    assert_error(client.get(f"/api/users/{world.viewer_id}", headers=mine), 403)
    assert_error(client.get("/api/users/no-such-user", headers=key(world.admin_token)), 404, "not_found")


# ------------------------------------------------------------------------------------------ invite


def test_invite_with_a_generated_one_time_password(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    response = client.post("/api/users", headers=admin, json={"user_name": "nina", "email": "nina@example.com"})
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["one_time_password"]
    assert len(secret) >= 20
    assert created["user"]["must_change_password"] is True and created["user"]["email"] == "nina@example.com"
    assert sign_in_api(client, "nina", secret).json()["must_change_password"] is True
    [record] = audit(db, "iam:InviteUser")
    assert (record.outcome, record.status, record.resource_id) == ("success", 201, created["id"])
    assert secret not in raw_audit_text(db)


def test_invite_with_a_chosen_password(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post("/api/users", headers=admin, json={"user_name": "omar", "password": PASSWORD}).json()
    assert created["one_time_password"] is None
    assert sign_in_api(client, "omar", PASSWORD).status_code == 200


def test_invite_refusals(client: TestClient, db: Database, admin: dict[str, str], viewer: dict[str, str]) -> None:
    assert_error(client.post("/api/users", headers=admin, json={"user_name": "VERA"}), 409, "conflict")
    assert_error(client.post("/api/users", headers=admin, json={"user_name": "short", "password": "Weak#pw!"}), 400)
    assert_error(client.post("/api/users", headers=admin, json={"user_name": "has space"}), 400, "invalid_input")
    assert_error(client.post("/api/users", headers=admin, json={"user_name": "x", "email": "nope"}), 400)
    assert_error(client.post("/api/users", headers=viewer, json={"user_name": "sneaky"}), 403)
    assert_error(client.post("/api/users", headers=admin, json={"username": "typo"}), 422)
    outcomes = sorted((r.outcome, r.status) for r in audit(db, "iam:InviteUser"))
    assert outcomes == [("failed", 400), ("failed", 400), ("failed", 400), ("failed", 409), ("refused", 403)]
    [refused] = [r for r in audit(db, "iam:InviteUser") if r.outcome == "refused"]
    assert refused.actor == "vera (token ci)" and "InviteUser" in (refused.error or "")
    assert "Weak#pw!" not in raw_audit_text(db)  # the refused password is nowhere


# ------------------------------------------------------------------------------------------ edit and delete


def test_edit_a_local_user(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    pia = add_user(db, "pia", email="old@example.com")
    response = client.patch(f"/api/users/{pia}", headers=admin, json={"name": "Pia Park", "email": "pia@example.com"})
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert (user["display_name"], user["email"]) == ("Pia Park", "pia@example.com")
    assert client.get("/api/users?q=pia%20p", headers=admin).json()["items"][0]["id"] == pia  # indexed name
    cleared = client.patch(f"/api/users/{pia}", headers=admin, json={"email": None}).json()["user"]
    assert (cleared["display_name"], cleared["email"]) == ("Pia Park", None)
    [first, *_] = audit(db, "iam:UpdateUser")
    assert first.summary == {"email": ""} and first.resource_id == pia


def test_edit_refusals(client: TestClient, db: Database, admin: dict[str, str], viewer: dict[str, str]) -> None:
    sam = add_user(db, "sam", source="scim")
    assert_error(client.patch(f"/api/users/{sam}", headers=admin, json={"name": "Sam"}), 403)
    pia = add_user(db, "pia")
    assert_error(client.patch(f"/api/users/{pia}", headers=viewer, json={"name": "Pia"}), 403)
    assert_error(client.patch(f"/api/users/{pia}", headers=admin, json={"email": "not an address"}), 400)
    assert_error(client.patch("/api/users/missing", headers=admin, json={"name": "x"}), 404)
    assert_error(client.patch(f"/api/users/{pia}", headers=admin, json={"user_name": "renamed"}), 422)
    assert [r.outcome for r in audit(db, "iam:UpdateUser")].count("refused") == 2


def test_delete(client: TestClient, db: Database, world: World, admin: dict[str, str]) -> None:
    pia = add_user(db, "pia")
    assert_error(client.delete(f"/api/users/{pia}", headers=key(world.viewer_token)), 403)
    assert client.delete(f"/api/users/{pia}", headers=admin).status_code == 204
    assert_error(client.get(f"/api/users/{pia}", headers=admin), 404)
    assert_error(client.delete(f"/api/users/{pia}", headers=admin), 404)
    assert_error(client.delete(f"/api/users/{world.admin_id}", headers=key(world.org_admin_token)), 403)
    assert_error(client.delete(f"/api/users/{world.admin_id}", headers=admin), 403)  # oneself, protected
    sam = add_user(db, "sam", source="scim")
    assert_error(client.delete(f"/api/users/{sam}", headers=admin), 403)
    records = audit(db, "iam:DeleteUser")
    assert [(r.outcome, r.status) for r in records].count(("success", 200)) == 1
    assert {r.summary.get("user_name") for r in records if r.outcome == "success"} == {"pia"}


# ------------------------------------------------------------------------------------------ password and status


def test_reset_a_password(client: TestClient, db: Database, world: World, admin: dict[str, str]) -> None:
    pia = add_user(db, "pia", password=PASSWORD)
    sign_in_api(client, "pia", PASSWORD)
    client.cookies.clear()
    reset = client.post(f"/api/users/{pia}/password", headers=admin, json={})
    assert reset.status_code == 200, reset.text
    secret = reset.json()["one_time_password"]
    assert_error(sign_in_api(client, "pia", PASSWORD), 401)
    assert sign_in_api(client, "pia", secret).json()["must_change_password"] is True
    chosen = client.post(f"/api/users/{pia}/password", headers=admin, json={"password": "another long password"})
    assert chosen.json() == {"user_id": pia, "one_time_password": None}
    assert_error(client.post(f"/api/users/{pia}/password", headers=admin, json={"password": "short"}), 400)
    assert_error(client.post(f"/api/users/{world.admin_id}/password", headers=admin, json={}), 403)  # oneself
    assert_error(client.post("/api/users/missing/password", headers=admin, json={}), 404)
    text = raw_audit_text(db)
    assert secret not in text and "another long password" not in text
    assert sorted(r.outcome for r in audit(db, "iam:ResetPassword")) == [
        "failed",
        "failed",
        "refused",
        "success",
        "success",
    ]


def test_deactivate_and_reactivate(client: TestClient, db: Database, world: World, admin: dict[str, str]) -> None:
    pia = add_user(db, "pia", password=PASSWORD, role=VIEWER)
    sign_in_api(client, "pia", PASSWORD)
    off = client.post(f"/api/users/{pia}/deactivate", headers=admin).json()
    assert (off["changed"], off["sessions_ended"], off["user"]["active"]) == (True, 1, False)
    assert_error(client.get("/api/me"), 401)  # pia's session is gone
    again = client.post(f"/api/users/{pia}/deactivate", headers=admin).json()
    assert (again["changed"], again["sessions_ended"]) == (False, 0)
    back = client.post(f"/api/users/{pia}/reactivate", headers=admin).json()
    assert (back["changed"], back["user"]["active"]) == (True, True)
    assert_error(client.post(f"/api/users/{world.admin_id}/deactivate", headers=key(world.org_admin_token)), 403)
    assert_error(client.post(f"/api/users/{pia}/deactivate", headers=key(world.viewer_token)), 403)
    assert_error(client.post("/api/users/missing/reactivate", headers=admin), 404)
    records = audit(db, "iam:UpdateUserStatus")
    assert [(r.outcome, r.summary.get("active")) for r in records][-3:] == [
        ("success", True),
        ("success", False),
        ("success", False),
    ]
    assert sum(r.outcome == "refused" for r in records) == 2


def test_hand_over(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    pia = add_user(db, "pia")
    user = client.post(f"/api/users/{pia}/hand-over", headers=admin).json()["user"]
    assert user["source"] == "scim"
    assert_error(client.post(f"/api/users/{pia}/hand-over", headers=admin), 403)


# ------------------------------------------------------------------------------------------ roles and boundaries


def test_set_roles(client: TestClient, db: Database, world: World, admin: dict[str, str]) -> None:
    viewer_role, org_role = role_id(db, VIEWER), role_id(db, ORG_ADMIN)
    pia = add_user(db, "pia", role=VIEWER)
    changed = client.put(f"/api/users/{pia}/roles", headers=admin, json={"role_ids": [org_role]}).json()
    assert (changed["added"], changed["removed"]) == ([org_role], [viewer_role])
    assert [r["name"] for r in changed["user"]["roles"]] == [ORG_ADMIN]
    assert_error(client.put(f"/api/users/{pia}/roles", headers=admin, json={"role_ids": ["missing"]}), 404)
    super_role = client.get(f"/api/users/{world.admin_id}", headers=admin).json()["roles"][0]["id"]
    assert_error(client.put(f"/api/users/{pia}/roles", headers=admin, json={"role_ids": [super_role]}), 403)
    assert_error(client.put(f"/api/users/{world.admin_id}/roles", headers=admin, json={"role_ids": []}), 403)
    assert_error(client.put(f"/api/users/{pia}/roles", headers=key(world.viewer_token), json={"role_ids": []}), 403)
    assert_error(client.put(f"/api/users/{pia}/roles", headers=admin, json={"role_ids": "x"}), 422)
    assert_error(client.put(f"/api/users/{pia}/roles", headers=admin, json={"role_ids": [""]}), 422)
    [success] = [r for r in audit(db, "iam:UpdateUserRole") if r.outcome == "success"]
    assert success.summary["added"] == [org_role] and success.resource_id == pia


def test_set_boundaries_limits_the_user(client: TestClient, db: Database, world: World, admin: dict[str, str]) -> None:
    only_roles = {
        "name": "roles only",
        "document": {"statement": [{"effect": "allow", "actions": ["iam:GetRole"], "resources": ["*"]}]},
    }
    policy = client.post("/api/permission-policies", headers=admin, json=only_roles).json()
    olga = key(world.org_admin_token)
    assert client.get("/api/users", headers=olga).status_code == 200
    bounded = client.put(
        f"/api/users/{world.org_admin_id}/boundaries", headers=admin, json={"policy_ids": [policy["id"]]}
    )
    assert bounded.status_code == 200, bounded.text
    assert bounded.json()["user"]["boundaries"] == [{"id": policy["id"], "name": "roles only"}]
    assert_error(client.get("/api/users", headers=olga), 403)
    assert client.get("/api/roles", headers=olga).status_code == 200
    assert_error(client.delete(f"/api/permission-policies/{policy['id']}", headers=admin), 409)  # used as a boundary
    cleared = client.put(f"/api/users/{world.org_admin_id}/boundaries", headers=admin, json={"policy_ids": []})
    assert cleared.json()["removed"] == [policy["id"]]
    assert client.get("/api/users", headers=olga).status_code == 200
    assert_error(
        client.put(f"/api/users/{world.admin_id}/boundaries", headers=admin, json={"policy_ids": [policy["id"]]}), 403
    )
    assert [r.outcome for r in audit(db, "iam:UpdateUserBoundary")] == ["refused", "success", "success"]
