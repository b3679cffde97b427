"""``POST /.search`` at the service root (RFC 7644 §3.4.3) with a filter, on SQLite and PostgreSQL: one list
across Users and Groups, Users first; an attribute one type does not know is false for that type (§3.4.2.1)
and only an attribute no type knows is ``invalidFilter``; paging runs over the joined list."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from support.scim import GROUP, LIST, SCIM, USER, assert_scim_error, okta_user

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def search(scim: TestClient, **body: Any) -> dict[str, Any]:
    response = scim.post(f"{SCIM}/.search", json={"schemas": [SEARCH], **body})
    assert response.status_code == 200, response.text
    found = dict(response.json())
    assert found["schemas"] == [LIST]
    return found


def names(found: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["schemas"][0], item.get("userName") or item.get("displayName")) for item in found["Resources"]]


def seed(scim: TestClient) -> None:
    for user_name in ("ada@example.org", "alan@example.org", "grace@example.org"):
        assert scim.post(f"{SCIM}/Users", json=okta_user(user_name, f"ext-{user_name}")).status_code == 201
    for display_name in ("admins", "auditors"):
        group = {"schemas": [GROUP], "displayName": display_name}
        assert scim.post(f"{SCIM}/Groups", json=group).status_code == 201


def test_a_user_attribute_finds_users_only(scim: TestClient) -> None:
    seed(scim)
    found = search(scim, filter='userName sw "a"')
    assert found["totalResults"] == 2
    assert sorted(names(found)) == [(USER, "ada@example.org"), (USER, "alan@example.org")]  # each type by id


def test_a_group_attribute_finds_groups_only(scim: TestClient) -> None:
    seed(scim)
    found = search(scim, filter='displayName sw "a" and members pr or displayName eq "admins"')
    assert names(found) == [(GROUP, "admins")]


def test_an_attribute_both_types_know_finds_both_users_first(scim: TestClient) -> None:
    seed(scim)
    found = search(scim, filter='externalId pr or displayName sw "a"')
    assert found["totalResults"] == 5
    assert [schema for schema, _ in names(found)] == [USER, USER, USER, GROUP, GROUP]


def test_paging_runs_over_the_joined_list(scim: TestClient) -> None:
    seed(scim)
    everything = names(search(scim, filter='externalId pr or displayName sw "a"'))
    page = search(scim, filter='externalId pr or displayName sw "a"', startIndex=3, count=2)
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 3, 2)
    assert names(page) == everything[2:4]  # the last user, then the first group
    assert names(search(scim, filter='externalId pr or displayName sw "a"', startIndex=5)) == everything[4:]
    assert search(scim, filter="externalId pr", count=0)["Resources"] == []


def test_an_attribute_no_type_knows_is_an_invalid_filter(scim: TestClient) -> None:
    seed(scim)
    response = scim.post(f"{SCIM}/.search", json={"schemas": [SEARCH], "filter": 'shoeSize gt "42"'})
    assert_scim_error(response, 400, "invalidFilter")
    broken = scim.post(f"{SCIM}/.search", json={"schemas": [SEARCH], "filter": 'userName eq "a" and'})
    assert_scim_error(broken, 400, "invalidFilter")
