"""POST/PUT bodies into canonical documents: the exact bodies IdPs send, and every way to get one wrong."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from gatehouse.errors import GatehouseError, InvalidInput, InvalidSyntax
from gatehouse.resources.documents import validate_group_doc, validate_user_doc
from gatehouse.scim.payload import (
    GroupInput,
    UserInput,
    parse_group,
    parse_user,
    with_manager_ref,
)

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis is a dev dependency; without it the property tests skip
    HAVE_HYPOTHESIS = False
else:
    HAVE_HYPOTHESIS = True

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

OKTA_CREATE = {
    "schemas": [USER],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}
"""Okta's documented POST /Users body (idp-wire.md A2)."""

ENTRA_CREATE = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
}
"""Entra ID's documented POST /Users body (idp-wire.md B)."""

OKTA_PUT = {
    "schemas": [USER],
    "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
    "userName": "test.user@okta.local",
    "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}],
    "active": True,
    "groups": [],
    "meta": {"resourceType": "User", "created": "04-12-2018 00:00:00", "lastModified": "04-12-2018 00:00:00"},
}
"""Okta's documented PUT body, with the non-ISO ``meta.created`` of its old docs (idp-wire.md A3)."""


# --- users: what IdPs send -------------------------------------------------------------------------


def test_okta_create_body() -> None:
    parsed = parse_user(OKTA_CREATE)
    assert parsed == UserInput(
        doc={
            "schemas": [USER],
            "externalId": "00ujl29u0le5T6Aj10h7",
            "userName": "test.user@okta.local",
            "name": {"familyName": "User", "givenName": "Test"},
            "displayName": "Test User",
            "locale": "en-US",
            "active": True,
            "emails": [{"value": "test.user@okta.local", "type": "work", "primary": True}],
        },
        password="1mz050nq",
        present=frozenset({"active", "externalId", "password"}),
    )


def test_entra_create_body() -> None:
    parsed = parse_user(ENTRA_CREATE)
    assert parsed.doc == {
        "schemas": [USER],  # no enterprise block was sent, so its URN is not listed
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "active": True,
        "emails": [{"value": "Test_User_11bb11bb@testuser.com", "type": "work", "primary": True}],
    }
    assert parsed.password is None
    assert parsed.present == {"active", "externalId"}


def test_entra_create_with_nulls_mistyped_urn_and_manager() -> None:
    body = {
        **ENTRA_CREATE,
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "addresses": None,
        "phoneNumbers": None,
        "manager": None,
        ENTERPRISE: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "26118915"},
        },
    }
    doc = parse_user(body).doc
    assert doc["schemas"] == [USER, ENTERPRISE]
    assert doc[ENTERPRISE] == {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": "26118915"},
    }
    assert "addresses" not in doc
    assert "phoneNumbers" not in doc
    assert "manager" not in doc


def test_okta_put_with_id_meta_and_groups_is_accepted_and_they_are_ignored() -> None:
    parsed = parse_user(OKTA_PUT)
    assert "id" not in parsed.doc
    assert "meta" not in parsed.doc
    assert "groups" not in parsed.doc
    assert parsed.doc["name"] == {"familyName": "User", "givenName": "Another", "middleName": "Excited"}
    assert parsed.present == {"active"}


def test_a_put_without_active_says_so() -> None:
    body = {key: value for key, value in OKTA_PUT.items() if key != "active"}
    parsed = parse_user(body)
    assert "active" not in parsed.doc
    assert parsed.present == frozenset()


def test_entra_validator_roles_with_string_primary_are_coerced() -> None:
    body = {
        "userName": "u",
        "roles": [
            {
                "primary": "True",
                "display": "Admin",
                "value": "admin",
                "type": "WindowsAzureActiveDirectoryRole",
            }
        ],
    }
    assert parse_user(body).doc["roles"] == [
        {"value": "admin", "display": "Admin", "type": "WindowsAzureActiveDirectoryRole", "primary": True}
    ]


@pytest.mark.parametrize(("sent", "expected"), [("False", False), ("true", True), ("TRUE", True)])
def test_string_active_is_coerced(sent: str, expected: bool) -> None:
    assert parse_user({"userName": "u", "active": sent}).doc["active"] is expected


def test_onelogin_scim_1_schema_is_ignored() -> None:
    parsed = parse_user({"schemas": ["urn:scim:schemas:core:1.0"], "userName": "u"})
    assert parsed.doc == {"schemas": [USER], "userName": "u"}


def test_unknown_extension_blocks_and_attributes_are_ignored() -> None:
    body = {
        "userName": "u",
        "urn:okta:custom:user:1.0": {"favouriteColour": "blue"},
        "nonStandard": 1,
        "name": {"givenName": "G", "nickname2": "x"},
        ENTERPRISE: {"department": "D", "unknownEnterpriseAttribute": True},
    }
    assert parse_user(body).doc == {
        "schemas": [USER, ENTERPRISE],
        "userName": "u",
        "name": {"givenName": "G"},
        ENTERPRISE: {"department": "D"},
    }


def test_attribute_names_are_case_insensitive_and_canonicalised() -> None:
    body = {
        "USERNAME": "u",
        "Name": {"GIVENNAME": "G"},
        "eMails": [{"VALUE": "a@x", "Type": "Work"}],
        ENTERPRISE.upper(): {"EmployeeNumber": "7"},
    }
    assert parse_user(body).doc == {
        "schemas": [USER, ENTERPRISE],
        "userName": "u",
        "name": {"givenName": "G"},
        "emails": [{"value": "a@x", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "7"},
    }


@pytest.mark.parametrize(
    "manager",
    [
        {"value": ""},  # Entra's "no manager"
        {},
        {"$ref": None},
    ],
)
def test_an_empty_manager_is_no_manager(manager: dict[str, Any]) -> None:
    doc = parse_user({"userName": "u", ENTERPRISE: {"manager": manager}}).doc
    assert doc == {"schemas": [USER], "userName": "u"}


def test_a_manager_without_value_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="manager': Field 'value' is required"):
        parse_user({"userName": "u", ENTERPRISE: {"manager": {"displayName": "Boss"}}})


def test_manager_ref_and_display_name_are_not_stored() -> None:
    body = {
        "userName": "u",
        ENTERPRISE: {"manager": {"value": "m", "$ref": "../Users/m", "displayName": "Boss"}},
    }
    assert parse_user(body).doc[ENTERPRISE] == {"manager": {"value": "m"}}


def test_with_manager_ref_adds_the_managers_location_and_a_reparse_drops_it() -> None:
    doc = parse_user({"userName": "u", ENTERPRISE: {"employeeNumber": "1", "manager": {"value": "m1"}}}).doc
    located = with_manager_ref(doc, lambda user_id: f"https://h/scim/v2/Users/{user_id}")
    assert located[ENTERPRISE] == {
        "employeeNumber": "1",
        "manager": {"value": "m1", "$ref": "https://h/scim/v2/Users/m1"},
    }
    assert doc[ENTERPRISE] == {"employeeNumber": "1", "manager": {"value": "m1"}}
    assert validate_user_doc(located) == doc
    plain = parse_user({"userName": "u"}).doc
    assert with_manager_ref(plain, str) is plain


def test_empty_values_are_omitted() -> None:
    body = {
        "userName": "u",
        "displayName": "",
        "emails": [],
        "name": {},
        "phoneNumbers": [{"value": ""}],
        "title": None,
    }
    assert parse_user(body).doc == {"schemas": [USER], "userName": "u"}


def test_unusual_but_valid_email_values_are_kept_as_sent() -> None:
    body = {"userName": "u", "emails": [{"value": "First.Last@Corp.LOCAL"}, {"value": "not-an-address"}]}
    assert parse_user(body).doc["emails"] == [{"value": "First.Last@Corp.LOCAL"}, {"value": "not-an-address"}]


def test_the_doc_is_json_serialisable_and_deterministic() -> None:
    first = parse_user(copy.deepcopy(ENTRA_CREATE) | {ENTERPRISE: {"manager": {"value": "m"}}}).doc
    second = parse_user(copy.deepcopy(ENTRA_CREATE) | {ENTERPRISE: {"manager": {"value": "m"}}}).doc
    assert first == second
    assert orjson.dumps(first) == orjson.dumps(second)
    assert orjson.loads(orjson.dumps(first)) == first


def test_parse_user_does_not_mutate_the_body() -> None:
    body = copy.deepcopy(OKTA_PUT) | {"roles": [{"primary": "True", "value": "r"}], "addresses": None}
    before = copy.deepcopy(body)
    parse_user(body)
    assert body == before


# --- users: errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [], [OKTA_CREATE], "userName", 3, True])
def test_a_body_that_is_not_an_object_is_invalid_syntax(body: object) -> None:
    with pytest.raises(InvalidSyntax, match="JSON object"):
        parse_user(body)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "'userName' is required"),
        ({"userName": ""}, "'userName' is required"),
        ({"userName": "   "}, "'userName' is required"),
        ({"userName": None}, "'userName' is required"),
        ({"userName": 42}, "'userName' must be a string"),
        ({"userName": "u", "active": "yes"}, "'active' must be a boolean"),
        ({"userName": "u", "active": 1}, "'active' must be a boolean"),
        ({"userName": "u", "emails": "a@x"}, "'emails' must be an array"),
        ({"userName": "u", "emails": ["a@x"]}, "'emails[0]' must be an object"),
        ({"userName": "u", "emails": [{"value": 5}]}, "'emails[0].value' must be a string"),
        (
            {"userName": "u", "emails": [{"value": "a", "primary": "maybe"}]},
            "'emails[0].primary' must be a boolean",
        ),
        (
            {"userName": "u", "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": True}]},
            "2 items marked as primary",
        ),
        ({"userName": "u", "name": "Given Family"}, "'name' must be an object"),
        ({"userName": "u", "name": {"givenName": ["G"]}}, "'name.givenName' must be a string"),
        ({"userName": "u", "externalId": 12}, "'externalId' must be a string"),
        ({"userName": "u", "photos": [{"value": "not a uri"}]}, "'photos[0].value': Invalid URI"),
        ({"userName": "u", "password": ""}, "'password' must be a non-empty string"),
        ({"userName": "u", "password": 1234}, "'password' must be a non-empty string"),
        ({"userName": "u", ENTERPRISE: "x"}, f"'{ENTERPRISE}' must be an object"),
        (
            {"userName": "u", ENTERPRISE: {"manager": {"value": 5}}},
            f"'{ENTERPRISE}:manager.value' must be a string",
        ),
        ({"userName": "u", ENTERPRISE: {"manager": "boss"}}, f"'{ENTERPRISE}:manager' must be an object"),
    ],
)
def test_invalid_user_values_are_invalid_input_naming_the_attribute(body: dict[str, Any], detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_user(body)
    assert type(caught.value) is InvalidInput
    assert caught.value.scim_type == "invalidValue"
    assert detail in caught.value.detail


# --- validate_user_doc -----------------------------------------------------------------------------


def test_validate_user_doc_is_idempotent_on_a_canonical_doc() -> None:
    doc = parse_user(OKTA_CREATE | {ENTERPRISE: {"manager": {"value": "m"}, "costCenter": "C"}}).doc
    assert validate_user_doc(doc) == doc


def test_validate_user_doc_drops_what_a_doc_never_holds() -> None:
    doc = {
        "userName": "u",
        "id": "x",
        "meta": {"created": "bad"},
        "password": "p",
        "groups": [{"value": "g"}],
    }
    assert validate_user_doc(doc) == {"schemas": [USER], "userName": "u"}


def test_validate_user_doc_canonicalises() -> None:
    doc = {
        "schemas": ["junk"],
        "username": "u",
        "emails": [{"value": "a@x", "primary": "true", "type": "WORK"}],
    }
    assert validate_user_doc(doc) == {
        "schemas": [USER],
        "userName": "u",
        "emails": [{"value": "a@x", "type": "work", "primary": True}],
    }


@pytest.mark.parametrize(
    ("doc", "detail"), [({}, "'userName' is required"), ({"userName": "u", "active": 0}, "'active'")]
)
def test_validate_user_doc_errors(doc: dict[str, Any], detail: str) -> None:
    with pytest.raises(InvalidInput, match=detail):
        validate_user_doc(doc)


# --- groups ----------------------------------------------------------------------------------------


def test_okta_group_push_create() -> None:
    parsed = parse_group({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    assert parsed == GroupInput(doc={"schemas": [GROUP], "displayName": "Test SCIMv2"}, member_ids=[])


def test_entra_group_create_with_the_adscim_urn() -> None:
    body = {
        "schemas": [GROUP, ADSCIM_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    assert parse_group(body) == GroupInput(
        doc={
            "schemas": [GROUP],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
        },
        member_ids=None,
    )


def test_group_members_keep_order_and_lose_duplicates_and_derived_sub_attributes() -> None:
    body = {
        "displayName": "G",
        "members": [
            {"value": "b", "display": "B", "$ref": "https://x/Users/b", "type": "User"},
            {"value": "a"},
            {"Value": "b"},
            {"value": "c", "$ref": None},
        ],
    }
    assert parse_group(body).member_ids == ["b", "a", "c"]


def test_group_put_with_id_meta_and_unknown_extension() -> None:
    body = {
        "id": "g1",
        "meta": {"created": "04-12-2018 00:00:00"},
        "displayName": "G",
        "urn:okta:custom:group:1.0": {"description": "Okta 1.1 group description"},
        "members": None,
    }
    assert parse_group(body) == GroupInput(doc={"schemas": [GROUP], "displayName": "G"}, member_ids=None)


@pytest.mark.parametrize(
    ("body", "error", "detail"),
    [
        ([], InvalidSyntax, "JSON object"),
        ({}, InvalidInput, "'displayName' is required"),
        ({"displayName": ""}, InvalidInput, "'displayName' is required"),
        ({"displayName": " "}, InvalidInput, "'displayName' is required"),
        ({"displayName": 5}, InvalidInput, "'displayName' must be a string"),
        ({"displayName": "G", "externalId": ["e"]}, InvalidInput, "'externalId' must be a string"),
        ({"displayName": "G", "members": "a"}, InvalidInput, "'members' must be an array"),
        ({"displayName": "G", "members": ["a"]}, InvalidInput, "'members[0]' must be an object"),
        (
            {"displayName": "G", "members": [{"display": "A"}]},
            InvalidInput,
            "'members[0].value' must be a non-empty",
        ),
        (
            {"displayName": "G", "members": [{"value": ""}]},
            InvalidInput,
            "'members[0].value' must be a non-empty",
        ),
        (
            {"displayName": "G", "members": [{"value": 7}]},
            InvalidInput,
            "'members[0].value' must be a non-empty",
        ),
    ],
)
def test_invalid_groups(body: object, error: type[GatehouseError], detail: str) -> None:
    with pytest.raises(error) as caught:
        parse_group(body)
    assert type(caught.value) is error
    assert detail in caught.value.detail


def test_validate_group_doc() -> None:
    assert validate_group_doc({"displayName": "G", "members": [{"value": "a"}], "id": "x"}) == {
        "schemas": [GROUP],
        "displayName": "G",
    }
    with pytest.raises(InvalidInput, match="'displayName' is required"):
        validate_group_doc({"externalId": "e"})


# --- property: random bodies give a result or a gatehouse error, nothing else ----------------------

if HAVE_HYPOTHESIS:
    _KEYS = st.sampled_from(
        [
            "userName",
            "displayName",
            "name",
            "givenName",
            "emails",
            "value",
            "type",
            "primary",
            "active",
            "password",
            "externalId",
            "members",
            "photos",
            "x509Certificates",
            "profileUrl",
            "roles",
            "schemas",
            "meta",
            "id",
            "manager",
            "$ref",
            ENTERPRISE,
        ]
    ) | st.text(max_size=8)
    _SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
    JSON = st.recursive(
        _SCALARS,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=6),
        max_leaves=25,
    )
    BODIES = JSON | st.dictionaries(_KEYS, JSON, max_size=8)

    @settings(max_examples=400, deadline=None, database=None)
    @given(body=BODIES)
    def test_random_bodies_give_a_result_or_a_gatehouse_error(body: object) -> None:
        for parse in (parse_user, parse_group):
            try:
                parsed = parse(body)
            except GatehouseError:
                continue
            orjson.dumps(parsed.doc)

else:

    def test_random_bodies_give_a_result_or_a_gatehouse_error() -> None:
        pytest.skip("hypothesis is not installed")
