"""Every SCIM change leaves one audit record (RFC 7644 §3.3–§3.6 writes): successes in the change's own
transaction, refusals and failures in a transaction of their own; reads leave none."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from gatehouse.store.database import Database
from support.scim import SCIM, okta_user, patch


def audit_rows(db: Database) -> list[tuple[Any, ...]]:
    with db.snapshot() as connection:
        rows = connection.exec_driver_sql(
            "SELECT source, event, resource_type, resource_id, actor, outcome, status FROM audit_events ORDER BY id"
        ).all()
    return [tuple(row) for row in rows]


def test_scim_changes_are_audited_with_their_outcome(scim: TestClient, db: Database) -> None:
    created = scim.post(f"{SCIM}/Users", json=okta_user("ann@example.com", "ext-ann"))
    assert created.status_code == 201
    user_id = created.json()["id"]
    assert scim.get(f"{SCIM}/Users/{user_id}").status_code == 200  # a read: no record
    off = patch({"op": "replace", "value": {"active": False}})
    assert scim.patch(f"{SCIM}/Users/{user_id}", json=off).status_code == 200
    duplicate = scim.post(f"{SCIM}/Users", json=okta_user("ANN@example.com", "ext-other"))
    assert duplicate.status_code == 409
    group = scim.post(
        f"{SCIM}/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"}
    )
    assert group.status_code == 201
    assert scim.delete(f"{SCIM}/Groups/{group.json()['id']}").status_code == 204
    rows = audit_rows(db)
    actor = rows[0][4]
    assert actor.startswith("SCIM token ")
    assert rows == [
        ("scim", "scim:CreateUser", "user", user_id, actor, "success", 201),
        ("scim", "scim:PatchUser", "user", user_id, actor, "success", 200),
        ("scim", "scim:CreateUser", "user", None, actor, "failed", 409),
        ("scim", "scim:CreateGroup", "group", group.json()["id"], actor, "success", 201),
        ("scim", "scim:DeleteGroup", "group", group.json()["id"], actor, "success", 204),
    ]
    with db.snapshot() as connection:
        users = connection.exec_driver_sql("SELECT count(*) FROM users WHERE source = 'scim'").scalar()
    assert users == 1  # the refused duplicate left nothing behind


def test_a_change_with_a_bad_token_is_recorded_as_refused(app_client: TestClient, db: Database) -> None:
    response = app_client.post(f"{SCIM}/Users", json=okta_user(), headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert audit_rows(db) == [("scim", "scim:CreateUser", "user", None, "unauthenticated SCIM client", "refused", 401)]
