"""Microsoft Entra ID's (and JumpCloud's) documented SCIM requests, end to end over HTTP (idp-wire.md §B, §C).

Entra's provisioning tutorial, its known-issues page, the SCIM Validator's test list and the
``aadOptscim062020`` flag: each test replays their bodies as sent, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.testclient import TestClient

from support.scim import ENTERPRISE, GROUP, LIST, SCIM, USER, assert_scim_error, entra_user, patch

ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MANAGER_PATH = f"{ENTERPRISE}:manager"
ENTRA_HEADERS = {"Content-Type": "application/scim+json", "User-Agent": "Microsoft.AAD.Provisioning"}


def create_user(scim: TestClient, user_name: str, **extra: Any) -> dict[str, Any]:
    body = entra_user(user_name, str(uuid.uuid4()))
    body.update(extra)
    response = scim.post(f"{SCIM}/Users", json=body, headers=ENTRA_HEADERS)
    assert response.status_code == 201, response.text
    return dict(response.json())


def get_user(scim: TestClient, user_id: str) -> dict[str, Any]:
    response = scim.get(f"{SCIM}/Users/{user_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def patch_user(scim: TestClient, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    response = scim.patch(f"{SCIM}/Users/{user_id}", json=patch(*operations), headers=ENTRA_HEADERS)
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body == get_user(scim, user_id)
    return body


def create_group(scim: TestClient, display_name: str, external_id: str | None = None) -> dict[str, Any]:
    body = {
        "schemas": [GROUP, ADSCIM_GROUP],
        "externalId": external_id or str(uuid.uuid4()),
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    }
    response = scim.post(f"{SCIM}/Groups", json=body, headers=ENTRA_HEADERS)
    assert response.status_code == 201, response.text
    return dict(response.json())


def patch_group(scim: TestClient, group_id: str, *operations: dict[str, Any]) -> None:
    response = scim.patch(f"{SCIM}/Groups/{group_id}", json=patch(*operations), headers=ENTRA_HEADERS)
    assert response.status_code == 204, response.text
    assert response.content == b""


def member_ids(scim: TestClient, group_id: str) -> list[str]:
    response = scim.get(f"{SCIM}/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return sorted(member["value"] for member in response.json().get("members") or [])


def users_matching(scim: TestClient, filter_: str) -> list[str]:
    response = scim.get(f"{SCIM}/Users", params={"filter": filter_})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == [LIST] and body["totalResults"] == len(body["Resources"])
    return [resource["id"] for resource in body["Resources"]]


def enterprise(user: dict[str, Any]) -> dict[str, Any]:
    return dict(user.get(ENTERPRISE) or {})


# -- Test Connection and matching queries ----------------------------------------------------------


def test_test_connection_random_guid_is_an_empty_list(scim: TestClient) -> None:
    """Entra's Test Connection filters on a random GUID and needs 200 with an empty ListResponse."""
    create_user(scim, "Existing_User")
    guid = str(uuid.uuid4())
    for collection, attribute in (("Users", "userName"), ("Users", "externalId"), ("Groups", "displayName")):
        response = scim.get(f"{SCIM}/{collection}", params={"filter": f'{attribute} eq "{guid}"'})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/scim+json")
        assert response.json() == {
            "schemas": [LIST],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": [],
        }


def test_unquoted_external_id_filter_from_the_tutorial(scim: TestClient) -> None:
    """``filter=externalId eq jyoung`` (unquoted, as in the tutorial) matches like the quoted form."""
    created = create_user(scim, "Jeff_Young", externalId="jyoung")
    create_user(scim, "Other_User", externalId="jyoung2")
    assert users_matching(scim, "externalId eq jyoung") == [created["id"]]
    assert users_matching(scim, 'externalId eq "jyoung"') == [created["id"]]


def test_matching_by_user_name_in_another_case_and_by_work_email(scim: TestClient) -> None:
    """The validator's different-case filter, and ``emails[type eq "work"].value eq`` matching."""
    created = create_user(scim, "Test_User_Case")
    create_user(scim, "Someone_Else")
    assert users_matching(scim, 'userName eq "TEST_USER_CASE"') == [created["id"]]
    assert users_matching(scim, 'userName eq "test_user_case" and active eq true') == [created["id"]]
    work = 'emails[type eq "work"].value eq "test_user_case@testuser.com"'
    assert users_matching(scim, work) == [created["id"]]
    assert users_matching(scim, 'emails[type eq "home"].value eq "test_user_case@testuser.com"') == []


# -- Users ----------------------------------------------------------------------------------------


def test_create_with_nulls_meta_and_enterprise_schema(scim: TestClient) -> None:
    """Entra's body (null attributes, meta, roles [], enterprise and a mistyped schema URN) gives 201."""
    manager = create_user(scim, "The_Manager")
    body = entra_user("Test_User_Entra", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
    body["schemas"] = [USER, ENTERPRISE, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"]
    body["manager"] = None
    body[ENTERPRISE] = {"employeeNumber": "701984", "department": "Tour Operations"}
    response = scim.post(f"{SCIM}/Users", json=body, headers=ENTRA_HEADERS)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["userName"] == "Test_User_Entra" and created["active"] is True
    assert created["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert created["name"]["formatted"] == "givenName familyName"
    assert created["emails"][0]["value"] == "test_user_entra@testuser.com"
    for absent in ("addresses", "phoneNumbers", "manager", "password"):
        assert created.get(absent) is None, absent
    assert enterprise(created) == {"employeeNumber": "701984", "department": "Tour Operations"}
    assert ENTERPRISE in created["schemas"] and USER in created["schemas"]
    with_manager = entra_user("Reports_To", "ext-reports-to")
    with_manager[ENTERPRISE] = {"manager": {"value": manager["id"]}}
    reported = scim.post(f"{SCIM}/Users", json=with_manager, headers=ENTRA_HEADERS)
    assert reported.status_code == 201, reported.text
    assert enterprise(reported.json())["manager"]["value"] == manager["id"]


def test_validator_roles_primary_string_is_a_boolean(scim: TestClient) -> None:
    """The validator posts ``roles[].primary`` as ``"True"``; it must come back as JSON true."""
    created = create_user(
        scim,
        "Role_User",
        roles=[{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
    )
    assert created["roles"][0]["primary"] is True
    assert get_user(scim, created["id"])["roles"][0]["primary"] is True


def test_duplicate_user_is_409_uniqueness(scim: TestClient) -> None:
    """The validator's duplicate create (same userName, any case) is a 409 uniqueness."""
    create_user(scim, "Dup_User")
    again = scim.post(f"{SCIM}/Users", json=entra_user("DUP_user", "ext-dup"), headers=ENTRA_HEADERS)
    assert_scim_error(again, 409, "uniqueness")


def test_replace_active_with_string_false_and_add_true(scim: TestClient) -> None:
    """``Replace`` with ``"False"`` (and ``"false"``) disables; ``Add`` on active re-enables."""
    created = create_user(scim, "Disable_Me")
    off = patch_user(scim, created["id"], {"op": "Replace", "path": "active", "value": "False"})
    assert off["active"] is False
    on = patch_user(scim, created["id"], {"op": "Add", "path": "active", "value": "True"})
    assert on["active"] is True
    off_again = patch_user(scim, created["id"], {"op": "replace", "path": "active", "value": "false"})
    assert off_again["active"] is False
    on_again = patch_user(scim, created["id"], {"op": "Add", "path": "active", "value": True})
    assert on_again["active"] is True
    assert users_matching(scim, 'userName eq "Disable_Me"') == [created["id"]]


def test_pathless_replace_with_dotted_and_urn_keys(scim: TestClient) -> None:
    """aadOptscim062020: one pathless replace keyed by dotted paths and URNs, plus a pathed email op."""
    created = create_user(scim, "Flag_User")
    body = patch_user(
        scim,
        created["id"],
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "updatedemail@microsoft.com"},
    )
    assert body["displayName"] == "Bjfe"
    assert body["name"] == {"formatted": "givenName familyName", "givenName": "Kkom", "familyName": "Unua"}
    assert enterprise(body)["employeeNumber"] == "Aklq"
    assert body["emails"] == [{"primary": True, "type": "work", "value": "updatedemail@microsoft.com"}]
    assert "name.givenName" not in body and f"{ENTERPRISE}:employeeNumber" not in body
    assert users_matching(scim, 'emails[type eq "work"].value eq "updatedemail@microsoft.com"') == [created["id"]]


def test_path_updates_of_names_enterprise_emails_phones_and_addresses(scim: TestClient) -> None:
    """The validator's verbose replace: sub-attribute, enterprise URN and value-filter paths."""
    created = create_user(
        scim,
        "Verbose_User",
        phoneNumbers=[{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0199"}],
        addresses=[{"type": "work", "streetAddress": "1 Old Street", "locality": "Redmond", "primary": True}],
    )
    body = patch_user(
        scim,
        created["id"],
        {"op": "Replace", "path": "name.familyName", "value": "Newfamily"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "E-42"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Retail"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "verbose.new@testuser.com"},
        {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0142"},
        {"op": "Replace", "path": 'addresses[type eq "work"].streetAddress', "value": "2 New Street"},
    )
    assert body["name"]["familyName"] == "Newfamily" and body["name"]["givenName"] == "givenName"
    assert enterprise(body) == {"employeeNumber": "E-42", "department": "Retail"}
    assert body["emails"][0]["value"] == "verbose.new@testuser.com" and body["emails"][0]["primary"] is True
    phones = {phone["type"]: phone["value"] for phone in body["phoneNumbers"]}
    assert phones == {"work": "+1 555 0142", "mobile": "+1 555 0199"}
    assert body["addresses"] == [
        {"type": "work", "streetAddress": "2 New Street", "locality": "Redmond", "primary": True}
    ]


def test_manager_add_replace_and_remove_in_every_form(scim: TestClient) -> None:
    """Manager: old tutorial list form, validator URN add/replace, and the three removal forms."""
    boss, other = create_user(scim, "Boss_One")["id"], create_user(scim, "Boss_Two")["id"]
    user = create_user(scim, "Report_User")["id"]
    body = patch_user(
        scim, user, {"op": "Add", "path": "manager", "value": [{"$ref": f"../Users/{boss}", "value": boss}]}
    )
    assert enterprise(body)["manager"]["value"] == boss
    body = patch_user(scim, user, {"op": "replace", "path": MANAGER_PATH, "value": {"value": other}})
    assert enterprise(body)["manager"]["value"] == other
    removals = [
        {"op": "remove", "path": MANAGER_PATH},
        {"op": "replace", "path": MANAGER_PATH, "value": {"value": ""}},
        {"op": "remove", "path": f'manager[value eq "{boss}"]'},
    ]
    for removal in removals:
        body = patch_user(scim, user, {"op": "add", "path": MANAGER_PATH, "value": {"value": boss}})
        assert enterprise(body)["manager"]["value"] == boss
        body = patch_user(scim, user, removal)
        assert "manager" not in enterprise(body), removal


def test_validator_user_name_update_is_pathless(scim: TestClient) -> None:
    """``{"op": "replace", "value": {"userName": ...}}`` renames; the new name filters, the old does not."""
    created = create_user(scim, "Old_Name")
    taken = create_user(scim, "Taken_Name")
    body = patch_user(scim, created["id"], {"op": "replace", "value": {"userName": "New_Name"}})
    assert body["userName"] == "New_Name"
    assert users_matching(scim, 'userName eq "new_name"') == [created["id"]]
    assert users_matching(scim, 'userName eq "Old_Name"') == []
    clash = scim.patch(
        f"{SCIM}/Users/{created['id']}", json=patch({"op": "replace", "value": {"userName": "TAKEN_NAME"}})
    )
    assert_scim_error(clash, 409, "uniqueness")
    assert get_user(scim, created["id"])["userName"] == "New_Name"
    assert get_user(scim, taken["id"])["userName"] == "Taken_Name"


def test_multiple_operations_in_one_patch(scim: TestClient) -> None:
    """Preview tests: several ops on different attributes, and on the same attribute, apply in order."""
    created = create_user(scim, "Multi_Op")
    body = patch_user(
        scim,
        created["id"],
        {"op": "Replace", "path": "displayName", "value": "First"},
        {"op": "Replace", "path": "title", "value": "Engineer"},
        {"op": "Replace", "path": "displayName", "value": "Second"},
        {"op": "Add", "path": "nickName", "value": "Nick"},
        {"op": "Remove", "path": "nickName"},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": "active", "value": "True"},
    )
    assert body["displayName"] == "Second" and body["title"] == "Engineer"
    assert "nickName" not in body and body["active"] is True


def test_delete_user_then_404_and_twice_404(scim: TestClient) -> None:
    """Hard delete: 204, then GET 404, a second DELETE 404; an unknown id is 404 too."""
    created = create_user(scim, "Delete_Me")
    group = create_group(scim, "Has Deleted Member")
    patch_group(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": created["id"]}]})
    assert scim.delete(f"{SCIM}/Users/{created['id']}").status_code == 204
    assert_scim_error(scim.get(f"{SCIM}/Users/{created['id']}"), 404)
    assert_scim_error(scim.delete(f"{SCIM}/Users/{created['id']}"), 404)
    assert_scim_error(scim.delete(f"{SCIM}/Users/{uuid.uuid4()}"), 404)
    assert member_ids(scim, group["id"]) == []
    assert users_matching(scim, 'userName eq "Delete_Me"') == []


# -- Groups ---------------------------------------------------------------------------------------


def test_group_create_with_adscim_urn_and_reads_without_members(scim: TestClient) -> None:
    """POST with Microsoft's ADSCIM URN is 201; ``excludedAttributes=members`` drops members everywhere."""
    user = create_user(scim, "Group_Member")["id"]
    group = create_group(scim, "Entra Group", "ext-group-1")
    assert group["displayName"] == "Entra Group" and group["externalId"] == "ext-group-1"
    assert group["meta"]["resourceType"] == "Group" and GROUP in group["schemas"]
    patch_group(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": user}]})
    assert member_ids(scim, group["id"]) == [user]
    single = scim.get(f"{SCIM}/Groups/{group['id']}", params={"excludedAttributes": "members"})
    assert single.status_code == 200, single.text
    assert "members" not in single.json() and single.json()["displayName"] == "Entra Group"
    listed = scim.get(
        f"{SCIM}/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "Entra Group"'}
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["totalResults"] == 1 and body["Resources"][0]["id"] == group["id"]
    assert "members" not in body["Resources"][0]
    with_members = scim.get(f"{SCIM}/Groups", params={"filter": 'displayName eq "Entra Group"'}).json()
    assert [m["value"] for m in with_members["Resources"][0]["members"]] == [user]


def test_group_filters_different_case_and_missing(scim: TestClient) -> None:
    """displayName matching ignores case; a group that does not exist is an empty list."""
    group = create_group(scim, "Sales Team")
    for name in ("Sales Team", "SALES TEAM", "sales team"):
        response = scim.get(f"{SCIM}/Groups", params={"filter": f'displayName eq "{name}"'})
        assert response.status_code == 200 and response.json()["totalResults"] == 1, name
        assert response.json()["Resources"][0]["id"] == group["id"]
    miss = scim.get(f"{SCIM}/Groups", params={"filter": 'displayName eq "No Such Group"'})
    assert miss.status_code == 200 and miss.json()["totalResults"] == 0


def test_duplicate_group_is_409_uniqueness(scim: TestClient) -> None:
    """Groups need a unique displayName: a duplicate create (in any case) is 409 uniqueness."""
    create_group(scim, "Unique Group")
    for name in ("Unique Group", "UNIQUE group"):
        body = {"schemas": [GROUP, ADSCIM_GROUP], "externalId": str(uuid.uuid4()), "displayName": name}
        assert_scim_error(scim.post(f"{SCIM}/Groups", json=body, headers=ENTRA_HEADERS), 409, "uniqueness")


def test_group_pathless_external_id_and_display_name_replace(scim: TestClient) -> None:
    """Validator: pathless replace of ``externalId``, then of ``displayName``, each answering 204."""
    group = create_group(scim, "Rename Me", "ext-before")
    patch_group(scim, group["id"], {"op": "Replace", "value": {"externalId": "ext-after"}})
    got = scim.get(f"{SCIM}/Groups/{group['id']}").json()
    assert got["externalId"] == "ext-after" and got["displayName"] == "Rename Me"
    patch_group(scim, group["id"], {"op": "Replace", "value": {"displayName": "Renamed"}})
    got = scim.get(f"{SCIM}/Groups/{group['id']}").json()
    assert got["displayName"] == "Renamed" and got["externalId"] == "ext-after"


def test_group_membership_in_every_entra_form(scim: TestClient) -> None:
    """Add as ``replace members``, add with ``$ref: null``, remove by value list, remove by filter."""
    u1, u2, u3, u4 = (create_user(scim, f"Member_{i}")["id"] for i in range(1, 5))
    group = create_group(scim, "Membership")["id"]
    patch_group(scim, group, {"op": "replace", "path": "members", "value": [{"value": u1}]})
    assert member_ids(scim, group) == [u1]
    patch_group(
        scim,
        group,
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u2}, {"$ref": None, "value": u3}]},
    )
    assert member_ids(scim, group) == sorted([u1, u2, u3])
    patch_group(scim, group, {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u4}]})
    patch_group(scim, group, {"op": "Remove", "path": "members", "value": [{"value": u1}, {"value": u3}]})
    assert member_ids(scim, group) == sorted([u2, u4])
    patch_group(scim, group, {"op": "remove", "path": f'members[value eq "{u2}"]'})
    assert member_ids(scim, group) == [u4]


def test_group_patch_returns_the_resource_when_attributes_are_asked(scim: TestClient) -> None:
    """Group PATCH answers 204; with ``?attributes=displayName,members`` it is 200 with those attributes."""
    user = create_user(scim, "Shown_Member")["id"]
    group = create_group(scim, "Shown Group")["id"]
    response = scim.patch(
        f"{SCIM}/Groups/{group}",
        params={"attributes": "displayName,members"},
        json=patch({"op": "Add", "path": "members", "value": [{"value": user}]}),
        headers=ENTRA_HEADERS,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == group and body["displayName"] == "Shown Group"
    assert [m["value"] for m in body["members"]] == [user]
    assert "externalId" not in body and "meta" not in body


def test_group_multiple_operations_on_members_in_one_patch(scim: TestClient) -> None:
    """Several member ops in one PATCH apply in order (add then remove the same member)."""
    u1, u2 = create_user(scim, "Order_One")["id"], create_user(scim, "Order_Two")["id"]
    group = create_group(scim, "Ordered")["id"]
    patch_group(
        scim,
        group,
        {"op": "Add", "path": "members", "value": [{"value": u1}, {"value": u2}]},
        {"op": "Remove", "path": "members", "value": [{"value": u1}]},
        {"op": "Replace", "path": "displayName", "value": "Ordered Renamed"},
    )
    assert member_ids(scim, group) == [u2]
    assert scim.get(f"{SCIM}/Groups/{group}").json()["displayName"] == "Ordered Renamed"


def test_delete_group_then_404_and_twice_404(scim: TestClient) -> None:
    """Group delete: 204, GET 404, second DELETE 404; its members stay provisioned."""
    user = create_user(scim, "Survivor")["id"]
    group = create_group(scim, "Short Lived")["id"]
    patch_group(scim, group, {"op": "Add", "path": "members", "value": [{"value": user}]})
    assert scim.delete(f"{SCIM}/Groups/{group}").status_code == 204
    assert_scim_error(scim.get(f"{SCIM}/Groups/{group}"), 404)
    assert_scim_error(scim.delete(f"{SCIM}/Groups/{group}"), 404)
    assert_scim_error(scim.delete(f"{SCIM}/Groups/{uuid.uuid4()}"), 404)
    assert not get_user(scim, user).get("groups")


# -- JumpCloud (§C) -------------------------------------------------------------------------------


def test_jumpcloud_test_connection_creates_and_deletes_a_user_and_a_group(scim: TestClient) -> None:
    """JumpCloud's Test Connection: create a test user and a test group, then DELETE both."""
    user = scim.post(
        f"{SCIM}/Users",
        json={
            "schemas": [USER],
            "userName": "jctest@example.com",
            "name": {"givenName": "JumpCloud", "familyName": "Test"},
            "emails": [{"value": "jctest@example.com", "type": "work", "primary": True}],
            "active": True,
        },
    )
    assert user.status_code == 201, user.text
    group = scim.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "JumpCloud Test Group"})
    assert group.status_code == 201, group.text
    user_id, group_id = user.json()["id"], group.json()["id"]
    repeated = patch({"op": "add", "path": "members", "value": [{"value": user_id}]})
    for _ in range(2):
        assert scim.patch(f"{SCIM}/Groups/{group_id}", json=repeated).status_code == 204
    assert member_ids(scim, group_id) == [user_id]
    assert scim.delete(f"{SCIM}/Users/{user_id}").status_code == 204
    assert scim.delete(f"{SCIM}/Groups/{group_id}").status_code == 204
    assert_scim_error(scim.get(f"{SCIM}/Users/{user_id}"), 404)
    assert_scim_error(scim.get(f"{SCIM}/Groups/{group_id}"), 404)
    assert scim.get(f"{SCIM}/Users").json()["totalResults"] == 0
    assert scim.get(f"{SCIM}/Groups").json()["totalResults"] == 0
