"""SCIM sees and changes only users whose source is SCIM; a Super Admin is out of its reach."""

from __future__ import annotations

from starlette.testclient import TestClient

from gatehouse.iam.accounts import create_super_admin
from gatehouse.store.database import Database
from support.scim import SCIM, assert_scim_error, okta_user, patch


def test_local_accounts_are_invisible_and_their_user_name_is_a_conflict(scim: TestClient, db: Database) -> None:
    """A local Super Admin never appears in SCIM lists or filters, cannot be read, patched or
    deleted by id, and a POST of its userName gets 409 uniqueness with a clear detail."""
    with db.transaction() as connection:
        admin = create_super_admin(connection, "admin@example.com", "correct horse battery")
    listing = scim.get(f"{SCIM}/Users").json()
    assert listing["totalResults"] == 0
    found = scim.get(f"{SCIM}/Users", params={"filter": 'userName eq "admin@example.com"'}).json()
    assert found["totalResults"] == 0
    assert_scim_error(scim.get(f"{SCIM}/Users/{admin.id}"), 404)
    assert_scim_error(
        scim.patch(f"{SCIM}/Users/{admin.id}", json=patch({"op": "replace", "value": {"active": False}})), 404
    )
    assert_scim_error(scim.put(f"{SCIM}/Users/{admin.id}", json=okta_user("admin@example.com")), 404)
    assert_scim_error(scim.delete(f"{SCIM}/Users/{admin.id}"), 404)
    body = assert_scim_error(scim.post(f"{SCIM}/Users", json=okta_user("ADMIN@example.com")), 409, "uniqueness")
    assert "administrator" in body["detail"]


def test_local_account_cannot_be_added_to_a_group_nor_renamed_into(scim: TestClient, db: Database) -> None:
    """Group members must be provisioned users; a SCIM user cannot take a local account's userName."""
    with db.transaction() as connection:
        admin = create_super_admin(connection, "root", "correct horse battery")
    group = scim.post(f"{SCIM}/Groups", json={"displayName": "Ops", "members": []}).json()
    add = patch({"op": "add", "path": "members", "value": [{"value": admin.id}]})
    assert_scim_error(scim.patch(f"{SCIM}/Groups/{group['id']}", json=add), 400)
    user = scim.post(f"{SCIM}/Users", json=okta_user("someone@x")).json()
    rename = patch({"op": "replace", "value": {"userName": "Root"}})
    assert_scim_error(scim.patch(f"{SCIM}/Users/{user['id']}", json=rename), 409, "uniqueness")
