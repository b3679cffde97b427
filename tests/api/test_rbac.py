"""Roles, permission policies, SCIM groups and their role bindings, the action catalog and the policy
simulator through the admin API, on both databases: happy paths, refusals (403 for a Viewer, built-in
objects), 404, 409 (taken names, objects in use), 400 and 422, and the audit records."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from gatehouse.iam.catalog import ACTIONS
from gatehouse.store.database import Database
from support.api import (
    ORG_ADMIN,
    VIEWER,
    World,
    add_group,
    add_user,
    assert_error,
    audit,
    role_id,
)

READ_USERS: dict[str, Any] = {
    "statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["arn:gatehouse:iam:user/*"]}]
}


ROLE_EVENTS = frozenset({"iam:CreateRole", "iam:UpdateRole", "iam:DeleteRole"})


def role_events(db: Database) -> list[Any]:
    return [record for record in audit(db, "iam:*") if record.event in ROLE_EVENTS]


def new_policy(client: TestClient, headers: dict[str, str], name: str = "read users", **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/permission-policies", headers=headers, json={"name": name, "document": READ_USERS, **extra}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


# ------------------------------------------------------------------------------------------ roles


def test_role_lifecycle(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    policy = new_policy(client, admin)
    body = {"name": "Auditor", "description": "reads", "labels": {"team": "sre"}, "policy_ids": [policy["id"]]}
    created = client.post("/api/roles", headers=admin, json=body)
    assert created.status_code == 201, created.text
    role = created.json()
    assert (role["name"], role["labels"], role["built_in"]) == ("Auditor", {"team": "sre"}, False)
    assert role["policies"] == [{"id": policy["id"], "name": "read users"}]
    assert client.get(f"/api/roles/{role['id']}", headers=admin).json()["description"] == "reads"
    listed = client.get("/api/roles?q=aud", headers=admin).json()
    assert [r["name"] for r in listed["items"]] == ["Auditor"] and listed["paging"]["total"] == 1
    everything = client.get("/api/roles?per_page=2&page=2", headers=admin).json()
    assert everything["paging"] == {"page": 2, "per_page": 2, "total": 4, "pages": 2}
    renamed = client.put(f"/api/roles/{role['id']}", headers=admin, json={"name": "Auditors", "description": ""})
    assert renamed.json()["name"] == "Auditors" and renamed.json()["policies"] == role["policies"]  # kept
    emptied = client.put(f"/api/roles/{role['id']}/policies", headers=admin, json={"policy_ids": []})
    assert emptied.json()["policies"] == []
    again = client.put(f"/api/roles/{role['id']}/policies", headers=admin, json={"policy_ids": [policy["id"]]})
    assert [p["id"] for p in again.json()["policies"]] == [policy["id"]]
    assert client.delete(f"/api/roles/{role['id']}", headers=admin).status_code == 204
    assert_error(client.get(f"/api/roles/{role['id']}", headers=admin), 404)
    events = [(r.event, r.outcome) for r in role_events(db)]
    assert events == [
        ("iam:DeleteRole", "success"),
        ("iam:UpdateRole", "success"),
        ("iam:UpdateRole", "success"),
        ("iam:UpdateRole", "success"),
        ("iam:CreateRole", "success"),
    ]
    assert audit(db, "iam:CreateRole")[0].resource_id == role["id"]


def test_role_conflicts(client: TestClient, db: Database, admin: dict[str, str], world: World) -> None:
    assert_error(client.post("/api/roles", headers=admin, json={"name": "viewer"}), 409, "conflict")
    held = role_id(db, VIEWER)
    error = assert_error(client.delete(f"/api/roles/{held}", headers=admin), 409)
    assert "vera" in error["detail"]
    ops = add_group(db, "Ops")
    spare = client.post("/api/roles", headers=admin, json={"name": "Spare"}).json()
    client.put(f"/api/groups/{ops}/roles", headers=admin, json={"role_ids": [spare["id"]]})
    assert "Ops" in assert_error(client.delete(f"/api/roles/{spare['id']}", headers=admin), 409)["detail"]
    other = client.post("/api/roles", headers=admin, json={"name": "Other"}).json()
    assert_error(client.put(f"/api/roles/{other['id']}", headers=admin, json={"name": "SPARE"}), 409)
    assert [r.outcome for r in audit(db, "iam:DeleteRole")] == ["failed", "failed"]
    assert [r.status for r in audit(db, "iam:DeleteRole")] == [409, 409]


def test_role_refusals(client: TestClient, db: Database, admin: dict[str, str], viewer: dict[str, str]) -> None:
    assert_error(client.post("/api/roles", headers=viewer, json={"name": "Mine"}), 403)
    viewer_role = role_id(db, VIEWER)
    assert_error(client.put(f"/api/roles/{viewer_role}", headers=viewer, json={"name": "x"}), 403)
    assert_error(client.delete(f"/api/roles/{viewer_role}", headers=viewer), 403)
    super_role = next(r for r in client.get("/api/roles", headers=admin).json()["items"] if r["built_in"])
    assert_error(client.put(f"/api/roles/{super_role['id']}", headers=admin, json={"name": "Boss"}), 403)
    assert_error(client.delete(f"/api/roles/{super_role['id']}", headers=admin), 403)
    assert_error(client.post("/api/roles", headers=admin, json={"name": "Bad", "labels": {"no spaces": "x"}}), 400)
    assert_error(client.post("/api/roles", headers=admin, json={"name": "Bad", "policy_ids": ["nope"]}), 404)
    assert_error(client.post("/api/roles", headers=admin, json={"name": ""}), 422)
    folded = assert_error(client.post("/api/roles", headers=admin, json={"name": "İ" * 100}), 400)  # 200 lower-cased
    assert "in lower case too" in folded["detail"]
    assert_error(client.post("/api/roles", headers=admin, json={"name": "x", "labels": {"a": 1}}), 422)
    assert_error(client.get("/api/roles/missing", headers=admin), 404)
    assert_error(client.put("/api/roles/missing/policies", headers=admin, json={"policy_ids": []}), 404)
    refused = [r for r in role_events(db) if r.outcome == "refused"]
    assert len(refused) == 5 and {r.actor for r in refused} >= {"vera (token ci)", "admin (token ci)"}
    mine = [r for r in audit(db, "iam:CreateRole") if r.actor == "vera (token ci)"]
    assert [(r.outcome, r.status, r.summary["name"]) for r in mine] == [("refused", 403, "Mine")]


def test_a_viewer_reads_roles_and_policies(client: TestClient, viewer: dict[str, str]) -> None:
    roles = client.get("/api/roles", headers=viewer).json()["items"]
    assert {r["name"] for r in roles} == {"Super Admin", ORG_ADMIN, VIEWER}
    policies = client.get("/api/permission-policies", headers=viewer).json()["items"]
    assert len(policies) == 3 and all(isinstance(p["document"]["statement"], list) for p in policies)


# ------------------------------------------------------------------------------------------ policies


def test_policy_lifecycle(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    policy = new_policy(client, admin, labels={"env": "prod"}, description="who can read users")
    assert policy["document"]["statement"][0]["actions"] == ["iam:GetUser"]
    detail = client.get(f"/api/permission-policies/{policy['id']}", headers=admin).json()
    assert detail["used_by"] == {"roles": [], "boundary_users": 0, "boundary_user_names": []}
    role = client.post("/api/roles", headers=admin, json={"name": "R", "policy_ids": [policy["id"]]}).json()
    used = client.get(f"/api/permission-policies/{policy['id']}", headers=admin).json()["used_by"]
    assert used["roles"] == [{"id": role["id"], "name": "R"}]
    assert_error(client.delete(f"/api/permission-policies/{policy['id']}", headers=admin), 409)
    changed_doc = {"statement": [{"effect": "deny", "actions": ["iam:DeleteUser"], "resources": ["*"]}]}
    updated = client.put(
        f"/api/permission-policies/{policy['id']}", headers=admin, json={"name": "no deletes", "document": changed_doc}
    ).json()
    assert (updated["name"], updated["version"]) == ("no deletes", policy["version"] + 1)
    assert updated["document"]["statement"][0]["effect"] == "deny"
    client.delete(f"/api/roles/{role['id']}", headers=admin)
    assert client.delete(f"/api/permission-policies/{policy['id']}", headers=admin).status_code == 204
    assert_error(client.get(f"/api/permission-policies/{policy['id']}", headers=admin), 404)
    listed = client.get("/api/permission-policies?q=super", headers=admin).json()["items"]
    assert [p["name"] for p in listed] == ["super-admin-permission-policy"]
    created = audit(db, "iam:CreatePermissionPolicy")[0]
    assert created.resource_id == policy["id"] and created.summary["document"]["statement"][0]["effect"] == "allow"
    assert [r.outcome for r in audit(db, "iam:DeletePermissionPolicy")] == ["success", "failed"]


def test_policy_refusals(client: TestClient, db: Database, admin: dict[str, str], viewer: dict[str, str]) -> None:
    bad = {
        "name": "bad",
        "document": {"statement": [{"effect": "allow", "actions": ["iam:Nothing"], "resources": ["*"]}]},
    }
    error = assert_error(client.post("/api/permission-policies", headers=admin, json=bad), 400, "invalid_input")
    assert "statement[0].actions[0]" in error["detail"]
    assert_error(client.post("/api/permission-policies", headers=admin, json={"name": "x", "document": "{}"}), 422)
    new_policy(client, admin, "taken")
    assert_error(
        client.post("/api/permission-policies", headers=admin, json={"name": "TAKEN", "document": READ_USERS}), 409
    )
    assert_error(
        client.post("/api/permission-policies", headers=viewer, json={"name": "v", "document": READ_USERS}), 403
    )
    built_in = next(p for p in client.get("/api/permission-policies", headers=admin).json()["items"] if p["built_in"])
    assert_error(
        client.put(
            f"/api/permission-policies/{built_in['id']}", headers=admin, json={"name": "x", "document": READ_USERS}
        ),
        403,
    )
    assert_error(client.delete(f"/api/permission-policies/{built_in['id']}", headers=admin), 403)
    assert_error(client.delete("/api/permission-policies/missing", headers=admin), 404)
    assert sorted(r.outcome for r in audit(db, "iam:CreatePermissionPolicy")) == [
        "failed",
        "failed",
        "refused",
        "success",
    ]


# ------------------------------------------------------------------------------------------ groups


def test_groups_list_search_and_page(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    sam = add_user(db, "sam", source="scim")
    for name in ("Ops", "Operators", "Dev_Team", "dev%"):
        add_group(db, name, (sam,) if name == "Ops" else ())
    page = client.get("/api/groups?per_page=3", headers=admin).json()
    assert [g["display_name"] for g in page["items"]] == ["dev%", "Dev_Team", "Operators"]
    assert page["paging"] == {
        "page": 1,
        "per_page": 3,
        "total": 4,
        "pages": 2,
        "total_exact": True,
        "next_cursor": None,
        "prev_cursor": None,
    }
    ops = client.get("/api/groups?q=OPS", headers=admin).json()["items"]
    assert [(g["display_name"], g["members"]) for g in ops] == [("Ops", 1)]
    assert [g["display_name"] for g in client.get("/api/groups?q=op", headers=admin).json()["items"]] == [
        "Operators",
        "Ops",
    ]
    assert [g["display_name"] for g in client.get("/api/groups?q=dev%25", headers=admin).json()["items"]] == ["dev%"]
    assert [g["display_name"] for g in client.get("/api/groups?q=dev_", headers=admin).json()["items"]] == ["Dev_Team"]
    assert client.get("/api/groups?q=zzz", headers=admin).json() == {
        "items": [],
        "paging": {
            "page": 1,
            "per_page": 50,
            "total": 0,
            "pages": 1,
            "total_exact": True,
            "next_cursor": None,
            "prev_cursor": None,
        },
    }
    # Any part of the name, by relevance: the name itself, then a name starting with it, then inside a word.
    assert [g["display_name"] for g in client.get("/api/groups?q=ops", headers=admin).json()["items"]] == ["Ops"]
    add_group(db, "DevOps")
    assert [g["display_name"] for g in client.get("/api/groups?q=OPS", headers=admin).json()["items"]] == [
        "Ops",
        "DevOps",
    ]
    assert client.get("/api/groups?q=ops&page=2", headers=admin).status_code == 400


def test_group_role_bindings(client: TestClient, db: Database, admin: dict[str, str], viewer: dict[str, str]) -> None:
    sam = add_user(db, "sam", source="scim")
    ops = add_group(db, "Ops", (sam,))
    org = role_id(db, ORG_ADMIN)
    assert client.get(f"/api/groups/{ops}/roles", headers=admin).json() == {"group_id": ops, "roles": []}
    bound = client.put(f"/api/groups/{ops}/roles", headers=admin, json={"role_ids": [org]}).json()
    assert (bound["added"], [r["name"] for r in bound["roles"]]) == ([org], [ORG_ADMIN])
    assert client.get(f"/api/roles/{org}/groups", headers=admin).json() == {
        "role_id": org,
        "groups": [{"id": ops, "name": "Ops"}],
    }
    assert [r["name"] for r in client.get(f"/api/groups/{ops}/roles", headers=viewer).json()["roles"]] == [ORG_ADMIN]
    assert_error(client.put(f"/api/groups/{ops}/roles", headers=viewer, json={"role_ids": []}), 403)
    super_role = next(r["id"] for r in client.get("/api/roles", headers=admin).json()["items"] if r["built_in"])
    assert_error(client.put(f"/api/groups/{ops}/roles", headers=admin, json={"role_ids": [super_role]}), 403)
    assert_error(client.put("/api/groups/missing/roles", headers=admin, json={"role_ids": []}), 404)
    assert_error(client.get("/api/groups/missing/roles", headers=admin), 404)
    unbound = client.put(f"/api/groups/{ops}/roles", headers=admin, json={"role_ids": []}).json()
    assert unbound["removed"] == [org] and unbound["roles"] == []
    assert [(r.outcome, r.resource_id) for r in audit(db, "iam:UpdateGroupBinding")] == [
        ("success", ops),
        ("failed", "missing"),
        ("refused", ops),
        ("refused", ops),
        ("success", ops),
    ]


# ------------------------------------------------------------------------------------------ catalog and simulator


def test_catalog(client: TestClient, viewer: dict[str, str]) -> None:
    catalog = client.get("/api/catalog", headers=viewer).json()
    assert [a["name"] for a in catalog["actions"]] == [a.name for a in ACTIONS]
    patterns = {p["kind"]: p["pattern"] for p in catalog["resource_patterns"]}
    assert patterns["user"] == "arn:gatehouse:iam:user/{id}"
    assert patterns["organization"] == "arn:gatehouse:iam:organization/*"
    assert catalog["groups"]["audit"] == "Audit log"


def test_policy_simulation(client: TestClient, world: World, admin: dict[str, str], viewer: dict[str, str]) -> None:
    def simulate(headers: dict[str, str], **body: Any) -> Any:
        return client.post("/api/policy-simulations", headers=headers, json=body)

    target = f"arn:gatehouse:iam:user/{world.admin_id}"
    allowed = simulate(admin, user_id=world.viewer_id, action="iam:GetUser", resource=target).json()
    assert (allowed["allowed"], allowed["outcome"], allowed["user_name"]) == (True, "allowed", "vera")
    assert allowed["statement"]["role_name"] == VIEWER
    denied = simulate(admin, user_id=world.viewer_id, action="iam:DeleteUser", resource=target).json()
    assert (denied["allowed"], denied["outcome"], denied["statement"]) == (False, "not_allowed", None)
    assert simulate(viewer, user_id=world.org_admin_id, action="iam:GetUser", resource=target).status_code == 200
    assert_error(simulate(admin, user_id=world.viewer_id, action="iam:Nope", resource=target), 400)
    assert_error(simulate(admin, user_id=world.viewer_id, action="iam:GetUser", resource="user/1"), 400)
    assert_error(simulate(admin, user_id="missing", action="iam:GetUser", resource=target), 404)
    assert_error(simulate(admin, user_id=world.viewer_id, action="iam:GetUser"), 422)
