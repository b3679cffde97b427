"""Okta's documented SCIM 2.0 sequences, end to end over HTTP (idp-wire.md §A), on SQLite and PostgreSQL.

Each test replays what Okta sends (its headers, bodies and request order) and asserts what Okta's
test suites and provisioning engine need back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.testclient import TestClient

from support.scim import ERROR, GROUP, LIST, SCIM, USER, assert_scim_error, okta_user, patch

OKTA_HEADERS = {
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "User-Agent": "OKTA SCIM Integration",
}
OKTA_WRITE_HEADERS = {
    "Accept": "application/scim+json",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0",
}
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RANDOM_USERNAME = "runscope300hfluaklab151@example.com"
RANDOM_USERNAME_CAPS = "RUNSCOPE300HFLUAKLAB151@example.com"
USER_ID_THAT_DOES_NOT_EXIST = "010101001010101011001010101011"


def create_user(scim: TestClient, user_name: str, external_id: str | None = None) -> dict[str, Any]:
    body = okta_user(user_name, external_id or f"ext-{user_name}")
    response = scim.post(f"{SCIM}/Users", json=body, headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_group(scim: TestClient, display_name: str, members: list[dict[str, Any]] | None = None) -> str:
    body = {"schemas": [GROUP], "displayName": display_name, "members": members or []}
    response = scim.post(f"{SCIM}/Groups", json=body, headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def member_ids(scim: TestClient, group_id: str) -> list[str]:
    response = scim.get(f"{SCIM}/Groups/{group_id}", headers=OKTA_HEADERS)
    assert response.status_code == 200, response.text
    return sorted(member["value"] for member in response.json().get("members") or [])


def list_users(scim: TestClient, **params: Any) -> dict[str, Any]:
    response = scim.get(f"{SCIM}/Users", params=params, headers=OKTA_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    return dict(response.json())


def assert_list_counters(body: dict[str, Any]) -> None:
    assert body["schemas"] == [LIST]
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        assert type(body[key]) is int, (key, body)
    assert isinstance(body["Resources"], list)


# -- "Test API Credentials" (§A1) ------------------------------------------------------------------


def test_test_api_credentials_lists_two_users_with_integer_counters(scim: TestClient) -> None:
    """Okta's button sends GET /Users?count=2&startIndex=1 and needs a ListResponse with integers."""
    for i in range(3):
        create_user(scim, f"cred{i}@okta.local")
    response = scim.get(f"{SCIM}/Users?count=2&startIndex=1", headers=OKTA_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert_list_counters(body)
    assert body["totalResults"] == 3 and body["startIndex"] == 1 and body["itemsPerPage"] == 2
    assert len(body["Resources"]) == 2 and all(r["id"] and r["userName"] for r in body["Resources"])


def test_test_api_credentials_on_an_empty_directory(scim: TestClient) -> None:
    """Before anything is provisioned the same probe is a 200 with an empty list, never a 404."""
    body = list_users(scim, count=2, startIndex=1)
    assert body == {"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}


# -- SPEC test (§A7) -------------------------------------------------------------------------------


def test_spec_step_1_service_provider_config_has_every_asserted_field(scim: TestClient) -> None:
    """Step 1: /ServiceProviderConfig is 200 and carries every field the SPEC test asserts not_empty."""
    response = scim.get(f"{SCIM}/ServiceProviderConfig", headers=OKTA_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert SPC in body["schemas"]
    for key in ("patch", "bulk", "filter", "changePassword", "sort", "etag", "authenticationSchemes"):
        assert body.get(key), key
    scheme = body["authenticationSchemes"][0]
    assert scheme["type"] and scheme["description"]
    for block, key in [
        ("etag", "supported"),
        ("sort", "supported"),
        ("changePassword", "supported"),
        ("filter", "maxResults"),
        ("filter", "supported"),
        ("bulk", "supported"),
        ("bulk", "maxOperations"),
        ("bulk", "maxPayloadSize"),
        ("patch", "supported"),
    ]:
        assert body[block].get(key) is not None, (block, key)
    assert body["patch"]["supported"] is True and body["filter"]["supported"] is True
    assert type(body["filter"]["maxResults"]) is int and body["filter"]["maxResults"] >= 100


def test_spec_steps_3_and_5_resource_types_and_schemas(scim: TestClient) -> None:
    """Steps 3 and 5: /ResourceTypes and /Schemas are non-empty ListResponses with the asserted fields."""
    types = scim.get(f"{SCIM}/ResourceTypes", headers=OKTA_HEADERS)
    assert types.status_code == 200, types.text
    body = types.json()
    assert body["schemas"] == [LIST] and body["Resources"]
    first = body["Resources"][0]
    assert first["name"] and first["endpoint"] and first["schema"]
    schemas = scim.get(f"{SCIM}/Schemas", headers=OKTA_HEADERS)
    assert schemas.status_code == 200, schemas.text
    body = schemas.json()
    assert body["schemas"] == [LIST] and body["Resources"]
    assert body["Resources"][0]["id"] and body["Resources"][0]["attributes"]


def test_spec_steps_2_4_6_post_to_discovery_is_405(scim: TestClient) -> None:
    """Steps 2, 4 and 6: POST to a discovery endpoint (body ``test``) is a SCIM 405."""
    for endpoint in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
        response = scim.post(f"{SCIM}/{endpoint}", content=b"test", headers=OKTA_HEADERS)
        assert_scim_error(response, 405)


def test_spec_steps_7_and_8_seeded_list_and_get_by_id(scim: TestClient) -> None:
    """Steps 7-8: the first page holds a full user; GET by its id returns the same user."""
    seeded = create_user(scim, "seed.user@okta.local")
    body = list_users(scim, count=1, startIndex=1)
    assert_list_counters(body)
    assert body["totalResults"] == 1 and body["itemsPerPage"] == 1
    first = body["Resources"][0]
    assert first["id"] == seeded["id"] and first["userName"] == "seed.user@okta.local"
    assert first["name"]["familyName"] == "User" and first["name"]["givenName"] == "Test"
    assert first["active"] is True and first["emails"][0]["value"] == "seed.user@okta.local"
    response = scim.get(f"{SCIM}/Users/{seeded['id']}", headers=OKTA_HEADERS)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["id"] == seeded["id"] and got["userName"] == "seed.user@okta.local"
    assert got["name"]["familyName"] and got["name"]["givenName"] and got["active"] is True
    assert got["emails"][0]["value"] == "seed.user@okta.local"


def test_spec_steps_9_and_11_filter_misses_are_empty_lists(scim: TestClient) -> None:
    """Steps 9 and 11: a userName filter that matches nobody is 200 with totalResults 0."""
    create_user(scim, "someone@okta.local")
    for email in ("invalid-user-email@example.com", RANDOM_USERNAME):
        body = list_users(scim, filter=f'userName eq "{email}"')
        assert_list_counters(body)
        assert body["totalResults"] == 0 and body["Resources"] == []


def test_spec_step_10_unknown_ids_are_404_with_detail(scim: TestClient) -> None:
    """Step 10 and the current suite's "Check status 404": SCIM Error, string status "404"."""
    for unknown in (USER_ID_THAT_DOES_NOT_EXIST, "00919288221112222"):
        response = scim.get(f"{SCIM}/Users/{unknown}", headers=OKTA_HEADERS)
        body = assert_scim_error(response, 404)
        assert body["status"] == "404" and body["schemas"] == [ERROR]


def test_spec_steps_12_to_14_create_get_and_duplicate(scim: TestClient) -> None:
    """Steps 12-14: POST is 201 with the values sent, GET agrees, the same POST again is 409."""
    body = {
        "schemas": [USER],
        "userName": RANDOM_USERNAME,
        "name": {"givenName": "Runscope", "familyName": "Tester"},
        "emails": [{"primary": True, "value": RANDOM_USERNAME, "type": "work"}],
        "displayName": "Runscope Tester",
        "active": True,
    }
    created = scim.post(f"{SCIM}/Users", json=body, headers={"Accept": "application/scim+json"})
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["active"] is True and user["id"] and USER in user["schemas"]
    assert user["userName"] == RANDOM_USERNAME
    assert user["name"] == {"givenName": "Runscope", "familyName": "Tester"}
    got = scim.get(f"{SCIM}/Users/{user['id']}", headers=OKTA_HEADERS).json()
    assert got["userName"] == RANDOM_USERNAME and got["name"] == user["name"]
    again = scim.post(f"{SCIM}/Users", json=body, headers={"Accept": "application/scim+json"})
    assert_scim_error(again, 409, "uniqueness")
    assert list_users(scim)["totalResults"] == 1


def test_spec_step_14_conflict_comes_from_user_name_not_email(scim: TestClient) -> None:
    """The ports reuse the userName as emails[0].value: a shared e-mail alone is no conflict."""
    create_user(scim, RANDOM_USERNAME)
    other = okta_user("another.name@example.com", "ext-other")
    other["emails"] = [{"primary": True, "value": RANDOM_USERNAME, "type": "work"}]
    response = scim.post(f"{SCIM}/Users", json=other, headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 201, response.text
    taken = okta_user(RANDOM_USERNAME_CAPS, "ext-caps")
    taken["emails"] = [{"primary": True, "value": "unrelated@example.com", "type": "work"}]
    assert_scim_error(scim.post(f"{SCIM}/Users", json=taken, headers=OKTA_WRITE_HEADERS), 409, "uniqueness")


def test_spec_step_15_old_bare_value_filter_is_400(scim: TestClient) -> None:
    """Old step 15: ``filter=<randomUsernameCaps>`` is malformed, so 400 invalidFilter."""
    create_user(scim, RANDOM_USERNAME)
    response = scim.get(f"{SCIM}/Users", params={"filter": RANDOM_USERNAME_CAPS}, headers=OKTA_HEADERS)
    assert_scim_error(response, 400, "invalidFilter")


def test_spec_step_15_current_user_name_in_capitals_matches(scim: TestClient) -> None:
    """Current step 15: ``userName eq "<CAPS>"`` is 200 and finds the lower-case user."""
    created = create_user(scim, RANDOM_USERNAME)
    body = list_users(scim, filter=f'userName eq "{RANDOM_USERNAME_CAPS}"')
    assert body["totalResults"] == 1 and body["Resources"][0]["id"] == created["id"]


def test_spec_check_status_401(app_client: TestClient, scim_token: str) -> None:
    """ "Check status 401": ``Authorization: non-token`` is a SCIM 401 with a WWW-Authenticate challenge."""
    response = app_client.get(
        f"{SCIM}/Users",
        params={"filter": f'userName eq "{RANDOM_USERNAME}"'},
        headers={**OKTA_HEADERS, "Authorization": "non-token"},
    )
    body = assert_scim_error(response, 401)
    assert body["status"] == "401" and body["schemas"] == [ERROR] and body["detail"]
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    wrong = app_client.get(f"{SCIM}/Users", headers={"Authorization": "Bearer not-the-token"})
    assert_scim_error(wrong, 401)
    assert "www-authenticate" in wrong.headers


def test_spec_step_16_groups_list(scim: TestClient) -> None:
    """Step 16: /Groups is 200 with an array of Resources and totalResults >= 1."""
    create_group(scim, "Spec Group")
    response = scim.get(f"{SCIM}/Groups", headers=OKTA_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_list_counters(body)
    assert body["totalResults"] >= 1 and body["Resources"][0]["displayName"] == "Spec Group"


# -- Create, update, deactivate (§A2-§A4) ---------------------------------------------------------


def test_create_flow_existence_check_then_exact_post_body(scim: TestClient) -> None:
    """Okta filters for the user (exact URL), gets an empty list, POSTs its exact body, then finds it."""
    check = f"{SCIM}/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
    miss = scim.get(check, headers=OKTA_HEADERS)
    assert miss.status_code == 200
    assert miss.json() == {
        "schemas": [LIST],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
    response = scim.post(f"{SCIM}/Users", json=okta_user(), headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] and created["meta"]["resourceType"] == "User"
    assert created["userName"] == "test.user@okta.local" and created["active"] is True
    assert created["locale"] == "en-US" and created["displayName"] == "Test User"
    assert created["emails"] == [{"primary": True, "value": "test.user@okta.local", "type": "work"}]
    assert "password" not in created
    found = scim.get(check, headers=OKTA_HEADERS).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == created["id"]
    by_external = list_users(scim, filter='externalId eq "00ujl29u0le5T6Aj10h7"')
    assert by_external["totalResults"] == 1


def test_get_then_put_update_keeps_user_active(scim: TestClient) -> None:
    """GET then PUT with id, meta (non-ISO created), groups and no active: 200, user stays active."""
    created = create_user(scim, "test.user@okta.local", "00ujl29u0le5T6Aj10h7")
    current = scim.get(f"{SCIM}/Users/{created['id']}", headers=OKTA_HEADERS).json()
    put = {
        "schemas": [USER],
        "id": current["id"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [
            {
                "primary": True,
                "value": "test.user@okta.local",
                "type": "work",
                "display": "test.user@okta.local",
            }
        ],
        "groups": [],
        "password": "n3wRandomPass",
        "meta": {"resourceType": "User", "created": "04-12-2018 00:00:00"},
    }
    response = scim.put(f"{SCIM}/Users/{created['id']}", json=put, headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == created["id"] and body["active"] is True
    assert body["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert body["meta"]["created"] == created["meta"]["created"] and "password" not in body
    got = scim.get(f"{SCIM}/Users/{created['id']}", headers=OKTA_HEADERS).json()
    assert got["active"] is True and got["name"]["givenName"] == "Another"


def test_put_with_active_false_then_true_for_aiw_apps(scim: TestClient) -> None:
    """AIW apps deactivate and reactivate with a full PUT carrying ``active``."""
    created = create_user(scim, "aiw.user@okta.local")
    body = {key: value for key, value in created.items() if key != "meta"}
    body["active"] = False
    off = scim.put(f"{SCIM}/Users/{created['id']}", json=body, headers=OKTA_WRITE_HEADERS)
    assert off.status_code == 200 and off.json()["active"] is False
    body["active"] = True
    on = scim.put(f"{SCIM}/Users/{created['id']}", json=body, headers=OKTA_WRITE_HEADERS)
    assert on.status_code == 200 and on.json()["active"] is True


def test_patch_deactivate_reactivate_and_stay_findable(scim: TestClient) -> None:
    """Okta's pathless ``{"active": false}``: 200 with active false; GET and the filter still find them."""
    created = create_user(scim, "leaver@okta.local")
    url = f"{SCIM}/Users/{created['id']}"
    off = scim.patch(url, json=patch({"op": "replace", "value": {"active": False}}), headers=OKTA_WRITE_HEADERS)
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False and off.json()["id"] == created["id"]
    got = scim.get(url, headers=OKTA_HEADERS)
    assert got.status_code == 200 and got.json()["active"] is False
    found = list_users(scim, filter='userName eq "leaver@okta.local"')
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False
    on = scim.patch(url, json=patch({"op": "replace", "value": {"active": True}}), headers=OKTA_WRITE_HEADERS)
    assert on.status_code == 200 and on.json()["active"] is True
    assert scim.get(url, headers=OKTA_HEADERS).json()["active"] is True


def test_patch_password_sync_is_accepted_and_never_returned(scim: TestClient) -> None:
    """The inferred password-sync PATCH (pathless ``{"password": ...}``) succeeds and echoes no password."""
    created = create_user(scim, "pw.user@okta.local")
    response = scim.patch(
        f"{SCIM}/Users/{created['id']}",
        json=patch({"op": "replace", "value": {"password": "s3cret-Value"}}),
        headers=OKTA_WRITE_HEADERS,
    )
    assert response.status_code in (200, 204), response.text
    got = scim.get(f"{SCIM}/Users/{created['id']}", headers=OKTA_HEADERS).json()
    assert "password" not in got and got["active"] is True


# -- Group Push (§A5) ------------------------------------------------------------------------------


def test_group_push_existence_check_create_and_rename(scim: TestClient) -> None:
    """``displayName eq`` misses, POST is 201, then a rename with ``id`` in the value answers 204."""
    name_filter = quote('displayName eq "Test SCIMv2"')
    check = f"{SCIM}/Groups?filter={name_filter}&startIndex=1&count=100"
    miss = scim.get(check, headers=OKTA_HEADERS)
    assert miss.status_code == 200 and miss.json()["totalResults"] == 0
    response = scim.post(
        f"{SCIM}/Groups",
        json={"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []},
        headers=OKTA_WRITE_HEADERS,
    )
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["id"] and group["displayName"] == "Test SCIMv2"
    assert group["meta"]["resourceType"] == "Group" and not group.get("members")
    found = scim.get(check, headers=OKTA_HEADERS).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == group["id"]
    rename = patch({"op": "replace", "value": {"id": group["id"], "displayName": "New Name"}})
    renamed = scim.patch(f"{SCIM}/Groups/{group['id']}", json=rename, headers=OKTA_WRITE_HEADERS)
    assert renamed.status_code == 204, renamed.text
    assert renamed.content == b""
    got = scim.get(f"{SCIM}/Groups/{group['id']}", headers=OKTA_HEADERS).json()
    assert got["id"] == group["id"] and got["displayName"] == "New Name"


def test_group_rename_takes_the_id_from_the_url(scim: TestClient) -> None:
    """Okta will drop ``id`` from the rename body; whatever id it holds, the URL's id is the group."""
    group_id = create_group(scim, "Before")
    for value in ({"displayName": "Without Id"}, {"id": "stale-or-other", "displayName": "Other Id"}):
        response = scim.patch(f"{SCIM}/Groups/{group_id}", json=patch({"op": "replace", "value": value}))
        assert response.status_code == 204, response.text
        got = scim.get(f"{SCIM}/Groups/{group_id}").json()
        assert got["id"] == group_id and got["displayName"] == value["displayName"]
    assert scim.get(f"{SCIM}/Groups").json()["totalResults"] == 1


def test_group_push_membership_patch_and_idempotent_add(scim: TestClient) -> None:
    """Remove ``members[value eq]`` plus add a list in one PATCH (with the rename Okta re-sends)."""
    u1, u2, u3 = (create_user(scim, f"member{i}@okta.local")["id"] for i in (1, 2, 3))
    group_id = create_group(scim, "Engineering", [{"value": u1}, {"value": u2}])
    assert member_ids(scim, group_id) == sorted([u1, u2])
    body = patch(
        {"op": "replace", "value": {"id": group_id, "displayName": "Engineering"}},
        {"op": "remove", "path": f'members[value eq "{u1}"]'},
        {"op": "add", "path": "members", "value": [{"value": u3, "display": "member3@okta.local"}]},
    )
    response = scim.patch(f"{SCIM}/Groups/{group_id}", json=body, headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 204, response.text
    assert member_ids(scim, group_id) == sorted([u2, u3])
    repeat = patch({"op": "add", "path": "members", "value": [{"value": u3, "display": "member3@okta.local"}]})
    for _ in range(2):
        again = scim.patch(f"{SCIM}/Groups/{group_id}", json=repeat, headers=OKTA_WRITE_HEADERS)
        assert again.status_code == 204, again.text
    assert member_ids(scim, group_id) == sorted([u2, u3])
    groups_of_u3 = scim.get(f"{SCIM}/Users/{u3}").json()["groups"]
    assert [g["value"] for g in groups_of_u3] == [group_id]
    assert not scim.get(f"{SCIM}/Users/{u1}").json().get("groups")


def test_group_push_full_replace_get_and_delete(scim: TestClient) -> None:
    """``replace members`` sets the exact list; GET shows it; DELETE is 204, then 404 (users remain)."""
    u1, u2, u3 = (create_user(scim, f"push{i}@okta.local")["id"] for i in (1, 2, 3))
    group_id = create_group(scim, "Pushed", [{"value": u1}, {"value": u2}])
    body = patch({"op": "replace", "path": "members", "value": [{"value": u2}, {"value": u3}]})
    response = scim.patch(f"{SCIM}/Groups/{group_id}", json=body, headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 204, response.text
    got = scim.get(f"{SCIM}/Groups/{group_id}", headers=OKTA_HEADERS)
    assert got.status_code == 200
    group = got.json()
    assert group["displayName"] == "Pushed" and group["schemas"] == [GROUP]
    assert sorted(m["value"] for m in group["members"]) == sorted([u2, u3])
    assert all(m.get("display") for m in group["members"])
    listed = scim.get(f"{SCIM}/Groups?startIndex=1&count=100", headers=OKTA_HEADERS).json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == group_id
    assert scim.delete(f"{SCIM}/Groups/{group_id}", headers=OKTA_HEADERS).status_code == 204
    assert_scim_error(scim.get(f"{SCIM}/Groups/{group_id}", headers=OKTA_HEADERS), 404)
    assert_scim_error(scim.delete(f"{SCIM}/Groups/{group_id}", headers=OKTA_HEADERS), 404)
    remaining = scim.get(f"{SCIM}/Users/{u2}", headers=OKTA_HEADERS)
    assert remaining.status_code == 200 and not remaining.json().get("groups")


def test_group_push_tolerates_okta_custom_group_extension(scim: TestClient) -> None:
    """A group body carrying Okta's ``urn:okta:custom:group:1.0`` block is accepted."""
    body = {
        "schemas": [GROUP, "urn:okta:custom:group:1.0"],
        "displayName": "Custom Ext",
        "members": [],
        "urn:okta:custom:group:1.0": {"description": "Pushed from Okta"},
    }
    response = scim.post(f"{SCIM}/Groups", json=body, headers=OKTA_WRITE_HEADERS)
    assert response.status_code == 201, response.text
    assert response.json()["displayName"] == "Custom Ext"


# -- Paging (§A6) ----------------------------------------------------------------------------------


def test_paging_by_100_over_250_users_covers_each_once(scim: TestClient) -> None:
    """Okta pages with count=100, adding 100 to startIndex: 250 users come back exactly once each."""
    created = {create_user(scim, f"page{i:03d}@okta.local", f"p{i}")["id"] for i in range(250)}
    seen: list[str] = []
    for start, size in ((1, 100), (101, 100), (201, 50)):
        page = list_users(scim, startIndex=start, count=100)
        assert_list_counters(page)
        assert page["totalResults"] == 250 and page["startIndex"] == start
        assert page["itemsPerPage"] == size == len(page["Resources"])
        seen += [resource["id"] for resource in page["Resources"]]
    assert len(seen) == 250 and set(seen) == created
    beyond = list_users(scim, startIndex=301, count=100)
    assert beyond["totalResults"] == 250 and beyond["Resources"] == [] and beyond["itemsPerPage"] == 0
