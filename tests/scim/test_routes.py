"""The /scim/v2 routes given what hostile and sloppy clients send, on SQLite and PostgreSQL: numbers beyond
64 bits at every numeric parameter, resource paths in any case, NUL characters, deep nesting, long values,
value filters in ``attributes``. Every answer is a SCIM answer, never a 5xx."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from support.scim import ENTERPRISE, LIST, PATCH_OP, PUBLIC_URL, SCIM, assert_scim_error, okta_user, patch

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BEYOND_64_BITS = ["99999999999999999999", "18446744073709551616", "18446744073709551615", "9223372036854775808"]


def create(scim: TestClient, user_name: str = "bjensen@example.com") -> dict[str, Any]:
    response = scim.post(f"{SCIM}/Users", json=okta_user(user_name, f"ext-{user_name}"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def post_raw(scim: TestClient, path: str, text: str, method: str = "POST") -> Any:
    return scim.request(method, f"{SCIM}{path}", content=text, headers={"Content-Type": "application/scim+json"})


# -- numbers beyond 64 bits, at every numeric parameter ------------------------------------------------------


@pytest.mark.parametrize("collection", ["Users", "Groups", "users"])
def test_paging_numbers_beyond_64_bits_are_clamped(scim: TestClient, collection: str) -> None:
    """The issue's ``GET /Users?startIndex=99999999999999999999`` answered 500 ("Integer exceeds 64-bit range")."""
    create(scim)
    for number in BEYOND_64_BITS:
        far = scim.get(f"{SCIM}/{collection}", params={"startIndex": number})
        assert far.status_code == 200, far.text
        page = far.json()
        assert (page["schemas"], page["startIndex"], page["itemsPerPage"], page["Resources"]) == (
            [LIST],
            2**53 - 1,
            0,
            [],
        )
        many = scim.get(f"{SCIM}/{collection}", params={"count": number, "startIndex": f"-{number}"})
        assert many.status_code == 200 and many.json()["startIndex"] == 1
        none = scim.get(f"{SCIM}/{collection}", params={"count": f"-{number}"})
        assert none.status_code == 200 and none.json()["itemsPerPage"] == 0


def test_paging_numbers_that_are_no_integers_are_invalid_value(scim: TestClient) -> None:
    for number in ("1e400", "-1e400", "1.5", "NaN", "²", "0x10"):
        for name in ("startIndex", "count"):
            assert_scim_error(scim.get(f"{SCIM}/Users", params={name: number}), 400, "invalidValue")


@pytest.mark.parametrize("path", ["/.search", "/Users/.search", "/Groups/.search", "/users/.search"])
def test_search_request_numbers_beyond_64_bits_are_clamped(scim: TestClient, path: str) -> None:
    create(scim)
    for number in [*BEYOND_64_BITS, "1e20", "-0", "-99999999999999999999"]:
        text = f'{{"schemas": ["{SEARCH}"], "startIndex": {number}, "count": {number}}}'
        response = post_raw(scim, path, text)
        assert response.status_code == 200, response.text
        assert response.json()["startIndex"] in (1, 2**53 - 1)
    for number in ("1e400", "-1e400", "NaN", "1.5"):
        assert_scim_error(post_raw(scim, path, f'{{"schemas": ["{SEARCH}"], "count": {number}}}'), 400)


EXPRESSIONS = [
    "userName eq 99999999999999999999",
    "externalId eq 18446744073709551616",
    "userName eq -0",
    "userName eq 1e400",
    "emails.value eq 99999999999999999999",
    'emails[value eq 99999999999999999999 or type eq "work"]',
    "meta.created gt 99999999999999999999",
    "meta.lastModified lt 1e400",
    "active eq 99999999999999999999",
    f"{ENTERPRISE}:employeeNumber eq 99999999999999999999",
    f"{ENTERPRISE}:manager.value eq 18446744073709551616",
    "title sw 1e400",
    "groups.value eq 99999999999999999999",
    "members.value eq 99999999999999999999",
]


def test_filter_literals_beyond_64_bits_never_reach_the_database(scim: TestClient) -> None:
    create(scim)
    for expression in EXPRESSIONS:
        for collection in ("Users", "Groups"):
            response = scim.get(f"{SCIM}/{collection}", params={"filter": expression})
            assert response.status_code in (200, 400), response.text
            if response.status_code == 400:
                assert_scim_error(response, 400, "invalidFilter")


PATCH_VALUES = [
    ("displayName", "{n}"),
    ("active", "{n}"),
    ("name.givenName", "{n}"),
    ('emails[type eq \\"work\\"].value', "{n}"),
    ("emails", '[{{"value": {n}, "type": "work"}}]'),
    (f"{ENTERPRISE}:employeeNumber", "{n}"),
    (f"{ENTERPRISE}:manager", '{{"value": {n}}}'),
    ("x509Certificates", '[{{"value": {n}}}]'),
    (None, '{{"displayName": {n}, "nickName": {n}}}'),
]


def test_patch_values_beyond_64_bits_are_refused_or_stored_as_sent(scim: TestClient) -> None:
    user = create(scim)
    for path, value in PATCH_VALUES:
        target = "" if path is None else f'"path": "{path}", '
        for number in [*BEYOND_64_BITS, "1e20", "-0", "1e-400", "1e400"]:
            operation = f'{{"op": "replace", {target}"value": {value.format(n=number)}}}'
            text = f'{{"schemas": ["{PATCH_OP}"], "Operations": [{operation}]}}'
            response = post_raw(scim, f"/Users/{user['id']}", text, method="PATCH")
            assert response.status_code in (200, 400), response.text
            if response.status_code == 400:
                assert_scim_error(response, 400)
    assert scim.get(f"{SCIM}/Users/{user['id']}").status_code == 200


BODIES = [
    ("Users", '{{"userName": {n}}}'),
    ("Users", '{{"userName": "a@example.com", "externalId": {n}}}'),
    ("Users", '{{"userName": "a@example.com", "active": {n}}}'),
    ("Users", '{{"userName": "a@example.com", "emails": [{{"value": {n}}}]}}'),
    ("Users", '{{"userName": "a@example.com", "phoneNumbers": [{{"value": "1", "primary": {n}}}]}}'),
    ("Users", '{{"userName": "a@example.com", "name": {{"givenName": {n}}}}}'),
    ("Users", '{{"userName": "a@example.com", "unknownAttribute": {n}, "urn:x:ext": {{"a": {n}}}}}'),
    ("Groups", '{{"displayName": {n}, "members": [{{"value": {n}}}]}}'),
    ("Groups", '{{"displayName": "G", "members": [{{"value": {n}}}]}}'),
]


def test_bodies_with_numbers_beyond_64_bits_get_an_answer(scim: TestClient) -> None:
    for collection, template in BODIES:
        for number in [*BEYOND_64_BITS, "1e400", "-0", "-0.0"]:
            response = post_raw(scim, f"/{collection}", template.format(n=number))
            assert response.status_code in (201, 400), response.text
            if response.status_code == 400:
                assert_scim_error(response, 400)
            else:  # unknown attributes are ignored: the resource is stored without them
                assert "unknownAttribute" not in response.json()
                assert scim.delete(response.headers["location"]).status_code == 204


def test_entity_tags_beyond_64_bits_are_no_version(scim: TestClient) -> None:
    user = create(scim)
    for header in (b'W/"99999999999999999999"', b'"18446744073709551616"', b'"\xb2"', b'W/"1e400"', b"-0"):
        assert_scim_error(scim.delete(f"{SCIM}/Users/{user['id']}", headers={"If-Match": header}), 412)
        assert scim.get(f"{SCIM}/Users/{user['id']}", headers={"If-None-Match": header}).status_code == 200


# -- paths in any case ---------------------------------------------------------------------------------------


def test_resource_paths_are_accepted_in_any_case_and_answered_in_the_canonical_one(scim: TestClient) -> None:
    created = scim.post(f"{SCIM}/users", json=okta_user())
    assert created.status_code == 201, created.text
    user = created.json()
    location = f"{PUBLIC_URL}/scim/v2/Users/{user['id']}"
    assert created.headers["location"] == user["meta"]["location"] == location
    for path in (f"/users/{user['id']}", f"/USERS/{user['id']}", f"/uSeRs/{user['id']}"):
        got = scim.get(f"{SCIM}{path}")
        assert got.status_code == 200 and got.json()["meta"]["location"] == location
    group = scim.post(f"{SCIM}/groups", json={"displayName": "Ops", "members": [{"value": user["id"]}]})
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    assert group.json()["meta"]["location"] == f"{PUBLIC_URL}/scim/v2/Groups/{group_id}"
    renamed = scim.patch(
        f"{SCIM}/groups/{group_id}", json=patch({"op": "replace", "path": "displayName", "value": "X"})
    )
    assert renamed.status_code in (200, 204)
    assert scim.get(f"{SCIM}/GROUPS/{group_id}").json()["displayName"] == "X"
    assert (
        scim.post(f"{SCIM}/users/.search", json={"filter": 'userName eq "test.user@okta.local"'}).json()["totalResults"]
        == 1
    )
    for discovery in ("/serviceproviderconfig", "/SERVICEPROVIDERCONFIG", "/resourcetypes", "/resourcetypes/user"):
        assert scim.get(f"{SCIM}{discovery}").status_code == 200, discovery
    assert scim.delete(f"{SCIM}/groups/{group_id}").status_code == 204
    assert scim.delete(f"{SCIM}/users/{user['id']}").status_code == 204
    assert_scim_error(scim.get(f"{SCIM}/userz"), 404)
    assert_scim_error(scim.get(f"{SCIM}/me"), 501)


def test_a_newline_in_a_path_stays_a_scim_request(scim: TestClient) -> None:
    for path in ("/Users/a%0Ab", "/Users/%0D%0A", "/Schemas/urn%0Ax"):
        assert_scim_error(scim.get(f"{SCIM}{path}"), 404)


# -- NUL, nesting, lengths ------------------------------------------------------------------------------------


def test_nul_characters_are_refused_the_same_on_every_database(scim: TestClient) -> None:
    user = create(scim)
    assert_scim_error(scim.get(f"{SCIM}/Users/a%00b"), 400, "invalidValue")
    assert_scim_error(scim.get(f"{SCIM}/Groups/%00"), 400, "invalidValue")
    assert_scim_error(scim.get(f"{SCIM}/Users", params={"filter": 'userName eq "a\\u0000b"'}), 400, "invalidValue")
    assert_scim_error(scim.get(f"{SCIM}/Users", params={"filter": 'displayName co "\\u0000"'}), 400, "invalidValue")
    body = okta_user("nul@example.com")
    body["displayName"] = "a\u0000b"
    assert_scim_error(scim.post(f"{SCIM}/Users", json=body), 400, "invalidValue")
    refused = scim.patch(
        f"{SCIM}/Users/{user['id']}", json=patch({"op": "replace", "path": "title", "value": "\u0000"})
    )
    assert_scim_error(refused, 400, "invalidValue")
    members = patch({"op": "add", "path": "members", "value": [{"value": "a\u0000b"}]})
    group = scim.post(f"{SCIM}/Groups", json={"displayName": "G"}).json()
    assert_scim_error(scim.patch(f"{SCIM}/Groups/{group['id']}", json=members), 400, "invalidValue")


def test_deep_nesting_is_invalid_syntax(scim: TestClient) -> None:
    deep = '{"userName": "a@example.com", "name": ' + '{"a":' * 40 + "1" + "}" * 40 + "}"
    assert_scim_error(post_raw(scim, "/Users", deep), 400, "invalidSyntax")
    deeper = '{"userName": ' + "[" * 900 + "]" * 900 + "}"
    assert_scim_error(post_raw(scim, "/Users", deeper), 400, "invalidSyntax")


@pytest.mark.parametrize(
    ("collection", "body"),
    [
        ("Users", {"userName": "u" * 256}),
        ("Users", {"userName": "a@example.com", "externalId": "e" * 256}),
        ("Users", {"userName": "a@example.com", "emails": [{"value": "a@example.com", "type": "t" * 65}]}),
        ("Groups", {"displayName": "g" * 256}),
        ("Groups", {"displayName": "G", "externalId": "e" * 256}),
        ("Users", {"userName": "İ" * 200}),  # 200 characters, 400 lower-cased: the unique key's column holds 255
        ("Groups", {"displayName": "İ" * 200}),
    ],
)
def test_values_longer_than_their_columns_are_invalid_value(
    scim: TestClient, collection: str, body: dict[str, Any]
) -> None:
    """PostgreSQL refused them with a 500 (value too long for type character varying(255))."""
    assert_scim_error(scim.post(f"{SCIM}/{collection}", json=body), 400, "invalidValue")


# -- attributes with value filters ----------------------------------------------------------------------------


def test_attributes_with_a_value_filter_return_the_matching_values(scim: TestClient) -> None:
    body = okta_user("multi@example.com")
    body["emails"] = [
        {"value": "multi@example.com", "type": "work", "primary": True},
        {"value": "x@example.com", "type": "home"},
    ]
    user = scim.post(f"{SCIM}/Users", json=body).json()
    work = scim.get(f"{SCIM}/Users/{user['id']}", params={"attributes": 'emails[type eq "work"]'}).json()
    assert work["emails"] == [body["emails"][0]] and set(work) == {"schemas", "id", "emails"}
    by_value = scim.get(f"{SCIM}/Users", params={"attributes": 'emails[value eq "x@example.com"]'}).json()
    assert by_value["Resources"][0]["emails"] == [body["emails"][1]]
    values = scim.get(f"{SCIM}/Users/{user['id']}", params={"attributes": 'emails[type eq "work"].value'}).json()
    assert values["emails"] == [{"value": "multi@example.com"}]
    without = scim.get(f"{SCIM}/Users/{user['id']}", params={"excludedAttributes": 'emails[type eq "work"]'}).json()
    assert without["emails"] == [body["emails"][1]] and without["userName"] == "multi@example.com"
    searched = scim.post(f"{SCIM}/Users/.search", json={"attributes": ['emails[type eq "home"].value']}).json()
    assert searched["Resources"][0]["emails"] == [{"value": "x@example.com"}]
    for bad in ("emails[type eq]", 'userName[value eq "x"]', 'emails[bogus eq "x"]'):
        assert_scim_error(scim.get(f"{SCIM}/Users", params={"attributes": bad}), 400, "invalidFilter")
        assert_scim_error(scim.get(f"{SCIM}/Users/{user['id']}", params={"excludedAttributes": bad}), 400)


def test_projection_parameters_are_read_in_any_case(scim: TestClient) -> None:
    """``Attributes`` or ``EXCLUDEDATTRIBUTES`` as a client spells them: the same projection as the RFC's
    spelling (attribute names are case-insensitive, RFC 7643 §2.1; query names are read the same way)."""
    user = create(scim, "cased@example.com")
    path = f"{SCIM}/Users/{user['id']}"
    only = scim.get(path, params={"Attributes": "USERNAME"}).json()
    assert set(only) == {"schemas", "id", "userName"}
    assert only == scim.get(path, params={"attributes": "userName"}).json()
    without = scim.get(path, params={"EXCLUDEDATTRIBUTES": "emails,name"}).json()
    assert "emails" not in without and "name" not in without and without["userName"] == "cased@example.com"
    listed = scim.get(f"{SCIM}/Users", params={"aTTributes": "externalId"}).json()["Resources"]
    assert listed == [{"schemas": user["schemas"], "id": user["id"], "externalId": "ext-cased@example.com"}]


def test_a_refused_request_is_logged_with_its_reason(scim: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gatehouse.scim"):
        scim.get(f"{SCIM}/Users", params={"filter": "userName eq"})
    lines = [r.getMessage() for r in caplog.records if r.name == "gatehouse.scim"]
    assert any("Refused GET /scim/v2/Users: 400 invalidFilter: Invalid filter" in line for line in lines), lines
    assert not any(r.exc_info for r in caplog.records)
