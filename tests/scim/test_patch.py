"""PATCH (RFC 7644 §3.5.2): every form idp-wire.md records, the RFC semantics, and the errors."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson
import pytest

from gatehouse.errors import (
    GatehouseError,
    InvalidFilter,
    InvalidInput,
    InvalidPath,
    InvalidSyntax,
    Mutability,
    NoTarget,
)
from gatehouse.scim.patch import MemberOp, PatchedGroup, PatchedUser, patch_group, patch_user
from gatehouse.scim.payload import parse_group, parse_user

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
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MANAGER = f"{ENTERPRISE}:manager"

BASE_USER = parse_user(
    {
        "userName": "bjensen@example.com",
        "externalId": "00u1",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": True,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
    }
).doc

BASE_GROUP = parse_group({"displayName": "Tour Guides", "externalId": "e1"}).doc


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user(*operations: dict[str, Any], doc: dict[str, Any] | None = None) -> PatchedUser:
    return patch_user(copy.deepcopy(BASE_USER if doc is None else doc), body(*operations))


def group(*operations: dict[str, Any], doc: dict[str, Any] | None = None) -> PatchedGroup:
    return patch_group(copy.deepcopy(BASE_GROUP if doc is None else doc), body(*operations))


def changed(patched: dict[str, Any], base: dict[str, Any] = BASE_USER) -> dict[str, Any]:
    """The top-level keys whose value differs from the base (None for removed ones)."""
    keys = set(patched) | set(base)
    return {key: patched.get(key) for key in sorted(keys) if patched.get(key) != base.get(key)}


# --- Okta ------------------------------------------------------------------------------------------


def test_okta_deactivate() -> None:
    patched = user({"op": "replace", "value": {"active": False}})
    assert changed(patched.doc) == {"active": False}
    assert patched.password is None


def test_okta_reactivate() -> None:
    inactive = user({"op": "replace", "value": {"active": False}}).doc
    assert user({"op": "replace", "value": {"active": True}}, doc=inactive).doc == BASE_USER


def test_okta_password_sync_goes_apart_from_the_doc() -> None:
    patched = user({"op": "replace", "value": {"password": "n3w-Secret"}})
    assert patched.password == "n3w-Secret"
    assert patched.doc == BASE_USER


def test_okta_group_rename_carries_the_id_which_is_dropped() -> None:
    patched = group({"op": "replace", "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "New"}})
    assert patched == PatchedGroup({"schemas": [GROUP], "externalId": "e1", "displayName": "New"}, ())


def test_okta_membership_change() -> None:
    patched = group(
        {"op": "remove", "path": 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]'},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "23a35c27-23d3", "display": "test.user@okta.local"}],
        },
    )
    assert patched.doc == BASE_GROUP
    assert patched.member_ops == (
        MemberOp("remove", ("89bb1940-b905-4575-9e7f-6f887cfb368e",)),
        MemberOp("add", ("23a35c27-23d3",), {"23a35c27-23d3": "test.user@okta.local"}),
    )


def test_okta_rename_resent_with_a_membership_update() -> None:
    patched = group(
        {"op": "replace", "value": {"id": "gid", "displayName": "Tour Guides"}},
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
    )
    assert patched.doc == BASE_GROUP
    assert patched.member_ops == (MemberOp("add", ("u1",)),)


def test_okta_full_push_replaces_members() -> None:
    patched = group({"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}, {"value": "a"}]})
    assert patched.member_ops == (MemberOp("replace", ("a", "b")),)


# --- Entra ID --------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["Replace", "replace", "Add", "add", "REPLACE"])
@pytest.mark.parametrize("value", ["False", "false", False])
def test_entra_disable(op: str, value: object) -> None:
    """Entra ID's disable, also as ``Add`` (rancher/rancher#54025): an add on a single value replaces it."""
    assert changed(user({"op": op, "path": "active", "value": value}).doc) == {"active": False}


def test_entra_pathless_replace_with_dotted_and_urn_keys() -> None:
    patched = user(
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "kkom@example.com"},
    )
    assert changed(patched.doc) == {
        "displayName": "Bjfe",
        "name": {"givenName": "Kkom", "familyName": "Unua"},
        ENTERPRISE: {"employeeNumber": "Aklq", "manager": {"value": "26118915"}},
        "emails": [
            {"value": "kkom@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
    }


def test_entra_dotted_key_keeps_the_other_sub_attributes() -> None:
    patched = user({"op": "replace", "value": {"name.middleName": "J"}})
    assert patched.doc["name"] == {"familyName": "Jensen", "givenName": "Barbara", "middleName": "J"}


def test_entra_replace_attributes_verbose() -> None:
    """The Entra SCIM validator's "Patch User - Replace Attributes Verbose": ~36 pathed replaces."""
    work = '[type eq "work"]'
    operations = [
        {"op": "Replace", "path": "userName", "value": "Zmvx@example.com"},
        {"op": "Replace", "path": "active", "value": "True"},
        {"op": "Replace", "path": "displayName", "value": "XBQYJCNWAACE"},
        {"op": "Replace", "path": "title", "value": "YQFNUTQNQMRN"},
        {"op": "Replace", "path": f"emails{work}.value", "value": "kfolr@example.com"},
        {"op": "Replace", "path": "preferredLanguage", "value": "ga-IE"},
        {"op": "Replace", "path": "name.givenName", "value": "Lonnie"},
        {"op": "Replace", "path": "name.familyName", "value": "Ruben"},
        {"op": "Replace", "path": "name.formatted", "value": "Lonnie Ruben"},
        {"op": "Replace", "path": "name.middleName", "value": "Q"},
        {"op": "Replace", "path": "name.honorificPrefix", "value": "Dr"},
        {"op": "Replace", "path": "name.honorificSuffix", "value": "III"},
        {"op": "Replace", "path": "nickName", "value": "LR"},
        {"op": "Replace", "path": f"addresses{work}.formatted", "value": "1 Main St, Springfield"},
        {"op": "Replace", "path": f"addresses{work}.streetAddress", "value": "1 Main St"},
        {"op": "Replace", "path": f"addresses{work}.locality", "value": "Springfield"},
        {"op": "Replace", "path": f"addresses{work}.region", "value": "IL"},
        {"op": "Replace", "path": f"addresses{work}.postalCode", "value": "62701"},
        {"op": "Replace", "path": f"addresses{work}.country", "value": "US"},
        {"op": "Replace", "path": f"phoneNumbers{work}.value", "value": "+1 555 0100"},
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0101"},
        {"op": "Replace", "path": 'phoneNumbers[type eq "fax"].value', "value": "+1 555 0102"},
        {"op": "Replace", "path": "externalId", "value": "ext-1"},
        {"op": "Replace", "path": "userType", "value": "Employee"},
        {"op": "Replace", "path": "locale", "value": "en-US"},
        {"op": "Replace", "path": "timezone", "value": "Pacific/Fiji"},
        {"op": "Replace", "path": "profileUrl", "value": "https://example.com/lr"},
        {"op": "Replace", "path": 'roles[type eq "work"].value', "value": "Admin"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "42"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Tour Operations"},
        {"op": "Replace", "path": f"{ENTERPRISE}:costCenter", "value": "CC-1"},
        {"op": "Replace", "path": f"{ENTERPRISE}:organization", "value": "Universal Studios"},
        {"op": "Replace", "path": f"{ENTERPRISE}:division", "value": "Theme Park"},
        {"op": "Replace", "path": MANAGER, "value": {"value": "boss-2"}},
        {"op": "Replace", "path": 'ims[type eq "skype"].value', "value": "lr.skype"},
        {"op": "Replace", "path": 'entitlements[type eq "licence"].value', "value": "E5"},
    ]
    assert len(operations) == 36
    doc = user(*operations).doc
    assert doc == {
        "schemas": [USER, ENTERPRISE],
        "externalId": "ext-1",
        "userName": "Zmvx@example.com",
        "name": {
            "formatted": "Lonnie Ruben",
            "familyName": "Ruben",
            "givenName": "Lonnie",
            "middleName": "Q",
            "honorificPrefix": "Dr",
            "honorificSuffix": "III",
        },
        "displayName": "XBQYJCNWAACE",
        "nickName": "LR",
        "profileUrl": "https://example.com/lr",
        "title": "YQFNUTQNQMRN",
        "userType": "Employee",
        "preferredLanguage": "ga-IE",
        "locale": "en-US",
        "timezone": "Pacific/Fiji",
        "active": True,
        "emails": [
            {"value": "kfolr@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "phoneNumbers": [
            {"value": "+1 555 0100", "type": "work"},
            {"value": "+1 555 0101", "type": "mobile"},
            {"value": "+1 555 0102", "type": "fax"},
        ],
        "ims": [{"value": "lr.skype", "type": "skype"}],
        "addresses": [
            {
                "formatted": "1 Main St, Springfield",
                "streetAddress": "1 Main St",
                "locality": "Springfield",
                "region": "IL",
                "postalCode": "62701",
                "country": "US",
                "type": "work",
            }
        ],
        "entitlements": [{"value": "E5", "type": "licence"}],
        "roles": [{"value": "Admin", "type": "work"}],
        ENTERPRISE: {
            "employeeNumber": "42",
            "costCenter": "CC-1",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {"value": "boss-2"},
        },
    }


def test_entra_update_user_name_pathless() -> None:
    assert changed(user({"op": "replace", "value": {"userName": "new@example.com"}}).doc) == {
        "userName": "new@example.com"
    }


def test_entra_add_on_urn_department() -> None:
    patched = user({"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Sales"})
    assert patched.doc[ENTERPRISE] == {
        "employeeNumber": "701984",
        "department": "Sales",
        "manager": {"value": "26118915"},
    }


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": MANAGER, "value": {"value": "boss-2"}},  # Entra validator, add
        {"op": "replace", "path": MANAGER, "value": {"value": "boss-2"}},  # Entra validator, replace
        {
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": "https://x/Users/boss-2", "value": "boss-2"}],
        },  # old tutorial
        {"op": "replace", "path": f"{MANAGER}.value", "value": "boss-2"},
        {"op": "replace", "value": {ENTERPRISE: {"manager": {"value": "boss-2"}}}},
        {"op": "replace", "value": {f"{MANAGER}.value": "boss-2"}},
        {"op": "replace", "path": ENTERPRISE, "value": {"manager": {"value": "boss-2"}}},
    ],
)
def test_entra_manager_set(operation: dict[str, Any]) -> None:
    assert user(operation).doc[ENTERPRISE] == {"employeeNumber": "701984", "manager": {"value": "boss-2"}}


def test_manager_added_to_a_user_without_the_extension() -> None:
    doc = parse_user({"userName": "u"}).doc
    patched = user({"op": "add", "path": MANAGER, "value": {"value": "boss"}}, doc=doc)
    assert patched.doc == {
        "schemas": [USER, ENTERPRISE],
        "userName": "u",
        ENTERPRISE: {"manager": {"value": "boss"}},
    }


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": MANAGER},
        {"op": "Remove", "path": "manager"},
        {"op": "replace", "path": MANAGER, "value": {"value": ""}},  # Entra validator
        {"op": "replace", "path": MANAGER, "value": None},
        {"op": "remove", "path": 'manager[value eq "26118915"]'},  # scim-patch#453
        {"op": "remove", "path": f'{MANAGER}[value eq "26118915"]'},
        {"op": "remove", "path": MANAGER, "value": {"value": "26118915"}},
        {"op": "remove", "path": f"{MANAGER}.value"},
        {"op": "replace", "path": f"{MANAGER}.value", "value": ""},
        {"op": "replace", "value": {ENTERPRISE: {"manager": None}}},
    ],
)
def test_entra_manager_removal(operation: dict[str, Any]) -> None:
    assert user(operation).doc[ENTERPRISE] == {"employeeNumber": "701984"}


def test_a_stored_manager_ref_is_tolerated_and_left_for_the_store_to_derive() -> None:
    stored = copy.deepcopy(BASE_USER)
    stored[ENTERPRISE]["manager"]["$ref"] = "https://h/scim/v2/Users/26118915"
    patched = user({"op": "replace", "path": "title", "value": "T"}, doc=stored)
    assert patched.doc[ENTERPRISE] == BASE_USER[ENTERPRISE]


def test_removing_the_last_extension_attribute_drops_the_extension() -> None:
    patched = user({"op": "remove", "path": MANAGER}, {"op": "remove", "path": f"{ENTERPRISE}:employeeNumber"})
    assert ENTERPRISE not in patched.doc
    assert patched.doc["schemas"] == [USER]


def test_removing_the_extension_block() -> None:
    patched = user({"op": "remove", "path": ENTERPRISE})
    assert ENTERPRISE not in patched.doc
    assert patched.doc["schemas"] == [USER]


def test_removing_a_manager_that_is_another_is_no_target() -> None:
    with pytest.raises(NoTarget, match=r"Operations\[0\]"):
        user({"op": "remove", "path": 'manager[value eq "someone-else"]'})


def test_entra_member_remove_with_a_value_list() -> None:
    patched = group({"op": "Remove", "path": "members", "value": [{"value": "u1091"}, {"value": "u1092"}]})
    assert patched.member_ops == (MemberOp("remove", ("u1091", "u1092")),)


def test_entra_member_add_with_null_ref() -> None:
    patched = group({"op": "Add", "path": "members", "value": [{"$ref": None, "value": "f648f8d5"}]})
    assert patched.member_ops == (MemberOp("add", ("f648f8d5",)),)


def test_entra_validator_add_member_sent_as_replace() -> None:
    patched = group({"op": "replace", "path": "members", "value": [{"value": "u1"}]})
    assert patched.member_ops == (MemberOp("replace", ("u1",)),)


def test_entra_member_remove_with_a_filter() -> None:
    patched = group({"op": "remove", "path": 'members[value eq "7f4b"]'})
    assert patched.member_ops == (MemberOp("remove", ("7f4b",)),)


def test_adding_an_existing_member_is_still_an_add_for_the_store_to_make_idempotent() -> None:
    patched = group(
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
    )
    assert patched.member_ops == (MemberOp("add", ("u1",)), MemberOp("add", ("u1",)))


def test_entra_group_pathless_external_id_and_display_name() -> None:
    patched = group(
        {"op": "replace", "value": {"externalId": "e2"}},
        {"op": "Replace", "value": {"displayName": "Renamed"}},
    )
    assert patched == PatchedGroup({"schemas": [GROUP], "externalId": "e2", "displayName": "Renamed"}, ())


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ({"op": "remove", "path": "members"}, (MemberOp("clear", ()),)),
        ({"op": "remove", "path": "members", "value": None}, (MemberOp("clear", ()),)),
        ({"op": "remove", "path": "members", "value": []}, ()),
        (
            {"op": "remove", "path": 'members[value eq "a" or value eq "b"]'},
            (MemberOp("remove", ("a", "b")),),
        ),
        (
            {"op": "remove", "path": 'Members[VALUE EQ "a" or (value eq "b" or value eq "a")]'},
            (MemberOp("remove", ("a", "b")),),
        ),
        ({"op": "add", "path": "members", "value": []}, ()),
        ({"op": "add", "path": "members", "value": {"value": "a"}}, (MemberOp("add", ("a",)),)),
        ({"op": "add", "path": "members", "value": None}, ()),
        ({"op": "replace", "path": "members", "value": []}, (MemberOp("replace", ()),)),
        ({"op": "replace", "path": "members", "value": None}, (MemberOp("clear", ()),)),
        ({"op": "replace", "value": {"members": [{"value": "a"}]}}, (MemberOp("replace", ("a",)),)),
        (
            {"op": "add", "value": {"members": [{"value": "a"}], "displayName": "Tour Guides"}},
            (MemberOp("add", ("a",)),),
        ),
        ({"op": "replace", "value": {"members": None}}, (MemberOp("clear", ()),)),
    ],
)
def test_member_operations(operation: dict[str, Any], expected: tuple[MemberOp, ...]) -> None:
    patched = group(operation)
    assert patched.member_ops == expected
    assert patched.doc == BASE_GROUP


def test_member_operations_keep_request_order() -> None:
    patched = group(
        {"op": "replace", "path": "members", "value": [{"value": "a"}]},
        {"op": "replace", "value": {"displayName": "X"}},
        {"op": "remove", "path": "members", "value": [{"value": "a"}]},
        {"op": "add", "value": {"members": [{"value": "b"}]}},
        {"op": "remove", "path": "members"},
    )
    assert [op.kind for op in patched.member_ops] == ["replace", "remove", "add", "clear"]
    assert patched.doc["displayName"] == "X"


# --- RFC 7644 §3.5.2 semantics ---------------------------------------------------------------------


def test_add_to_a_multi_valued_attribute_appends_without_duplicates() -> None:
    patched = user(
        {
            "op": "add",
            "path": "emails",
            "value": [
                {"value": "babs@jensen.org", "type": "home"},
                {"value": "b@other.org", "type": "other"},
            ],
        }
    )
    assert patched.doc["emails"] == [*BASE_USER["emails"], {"value": "b@other.org", "type": "other"}]


def test_add_of_a_single_entry_object_to_a_multi_valued_attribute() -> None:
    patched = user({"op": "add", "path": "phoneNumbers", "value": {"value": "555", "type": "work"}})
    assert patched.doc["phoneNumbers"] == [{"value": "555", "type": "work"}]


def test_replace_of_a_multi_valued_attribute_replaces_all_entries() -> None:
    patched = user({"op": "replace", "path": "emails", "value": [{"value": "only@x.org", "type": "work"}]})
    assert patched.doc["emails"] == [{"value": "only@x.org", "type": "work"}]


def test_replace_of_a_missing_attribute_adds_it() -> None:
    assert changed(user({"op": "replace", "path": "title", "value": "Tour Guide"}).doc) == {"title": "Tour Guide"}


def test_add_on_a_single_valued_attribute_replaces_it() -> None:
    assert changed(user({"op": "add", "path": "displayName", "value": "B"}).doc) == {"displayName": "B"}


@pytest.mark.parametrize("op", ["add", "replace"])
def test_a_complex_value_merges_its_sub_attributes(op: str) -> None:
    patched = user({"op": op, "path": "name", "value": {"givenName": "Babs", "honorificPrefix": "Ms."}})
    assert patched.doc["name"] == {"familyName": "Jensen", "givenName": "Babs", "honorificPrefix": "Ms."}


def test_a_null_sub_attribute_in_a_complex_value_unassigns_it() -> None:
    patched = user({"op": "replace", "path": "name", "value": {"givenName": None}})
    assert patched.doc["name"] == {"familyName": "Jensen"}


def test_a_filter_matching_nothing_creates_the_described_entry() -> None:
    patched = user(
        {
            "op": "add",
            "path": 'addresses[type eq "work" and country eq "US"].locality',
            "value": "Springfield",
        }
    )
    assert patched.doc["addresses"] == [{"locality": "Springfield", "country": "US", "type": "work"}]


def test_a_filter_matching_nothing_creates_the_entry_with_a_value_object() -> None:
    patched = user({"op": "replace", "path": 'phoneNumbers[type eq "work"]', "value": {"value": "555"}})
    assert patched.doc["phoneNumbers"] == [{"value": "555", "type": "work"}]


def test_an_unmatched_eq_filter_on_a_list_with_entries_appends_the_entry() -> None:
    patched = user({"op": "replace", "path": 'emails[type eq "other"].value', "value": "x@y"})
    assert patched.doc["emails"] == [*BASE_USER["emails"], {"value": "x@y", "type": "other"}]


@pytest.mark.parametrize(
    "path",
    [
        'emails[value co "nobody"].type',
        'emails[type eq "a" or type eq "b"].value',
        "emails[not (type pr)].display",
        'emails[type ne "work" and type ne "home"].display',
    ],
)
def test_a_filter_matching_nothing_that_describes_no_entry_is_no_target(path: str) -> None:
    with pytest.raises(NoTarget, match=r"Operations\[0\] \(replace"):
        user({"op": "replace", "path": path, "value": "x"})


def test_replace_with_a_filter_replaces_each_matching_entry() -> None:
    patched = user(
        {
            "op": "replace",
            "path": 'emails[type eq "home"]',
            "value": {"value": "new@jensen.org", "type": "home"},
        }
    )
    assert patched.doc["emails"][1] == {"value": "new@jensen.org", "type": "home"}


def test_add_with_a_filter_merges_into_each_matching_entry() -> None:
    patched = user({"op": "add", "path": 'emails[type eq "home"]', "value": {"display": "Home"}})
    assert patched.doc["emails"][1] == {"value": "babs@jensen.org", "display": "Home", "type": "home"}


def test_filter_string_comparisons_fold_case() -> None:
    patched = user({"op": "replace", "path": 'emails[type eq "HOME"].display', "value": "Home"})
    assert patched.doc["emails"][1]["display"] == "Home"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ('emails[value sw "babs"]', ["bjensen@example.com"]),
        ('emails[value ew "example.com"]', ["babs@jensen.org"]),
        ('emails[value co "jensen.o"]', ["bjensen@example.com"]),
        ("emails[primary eq true]", ["babs@jensen.org"]),
        ("emails[primary pr]", ["babs@jensen.org"]),
        ('emails[type ne "work"]', ["bjensen@example.com"]),
        ('emails[type eq "work" or type eq "home"]', []),
        ('emails[not (type eq "work")]', ["bjensen@example.com"]),
        ('emails[value gt "bb"]', ["babs@jensen.org"]),
        ('emails[value lt "bb"]', ["bjensen@example.com"]),
        ('emails[value ge "bjensen@example.com"]', ["babs@jensen.org"]),
        ('emails[value le "babs@jensen.org"]', ["bjensen@example.com"]),
    ],
)
def test_remove_with_filter_operators(path: str, expected: list[str]) -> None:
    patched = user({"op": "remove", "path": path})
    assert [email["value"] for email in patched.doc.get("emails", [])] == expected


def test_remove_of_a_filter_sub_attribute() -> None:
    patched = user({"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert patched.doc["emails"][0] == {"value": "bjensen@example.com", "type": "work"}


def test_remove_of_a_multi_valued_attribute_and_of_absent_attributes() -> None:
    patched = user(
        {"op": "remove", "path": "emails"},
        {"op": "remove", "path": "title"},
        {"op": "remove", "path": "name.middleName"},
    )
    assert changed(patched.doc) == {"emails": None}


def test_remove_of_a_sub_attribute_of_every_entry() -> None:
    patched = user({"op": "remove", "path": "emails.type"})
    assert patched.doc["emails"] == [
        {"value": "bjensen@example.com", "primary": True},
        {"value": "babs@jensen.org"},
    ]


def test_replace_of_a_sub_attribute_of_a_multi_valued_attribute_without_filter() -> None:
    patched = user({"op": "replace", "path": "emails.display", "value": "E"})
    assert [email["display"] for email in patched.doc["emails"]] == ["E", "E"]
    created = user({"op": "replace", "path": "phoneNumbers.value", "value": "555"})
    assert created.doc["phoneNumbers"] == [{"value": "555"}]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "emails", "value": [{"value": "new@x.org", "type": "other", "primary": True}]},
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"},
        {"op": "add", "path": 'emails[type eq "home"]', "value": {"primary": True}},
    ],
)
def test_a_new_primary_clears_the_others(operation: dict[str, Any]) -> None:
    emails = user(operation).doc["emails"]
    assert [email.get("primary") for email in emails].count(True) == 1
    assert emails[0]["primary"] is False


def test_multiple_operations_on_the_same_attribute_apply_in_order() -> None:
    patched = user(
        {"op": "replace", "path": "displayName", "value": "One"},
        {"op": "replace", "path": "displayName", "value": "Two"},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "type": "work"}]},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "2"},
        {"op": "remove", "path": "title"},
        {"op": "add", "path": "title", "value": "T"},
    )
    assert changed(patched.doc) == {
        "displayName": "Two",
        "phoneNumbers": [{"value": "2", "type": "work"}],
        "title": "T",
    }


def test_paths_are_case_insensitive_and_may_be_urn_qualified() -> None:
    patched = user(
        {"op": "replace", "path": "NAME.GIVENNAME", "value": "G"},
        {"op": "replace", "path": f"{USER}:displayName", "value": "D"},
        {"op": "replace", "path": 'Emails[TYPE eq "work"].VALUE', "value": "w@x.org"},
        {"op": "replace", "path": f"{ENTERPRISE.upper()}:EMPLOYEENUMBER", "value": "9"},
    )
    assert patched.doc["name"]["givenName"] == "G"
    assert patched.doc["displayName"] == "D"
    assert patched.doc["emails"][0]["value"] == "w@x.org"
    assert patched.doc[ENTERPRISE]["employeeNumber"] == "9"


def test_unknown_keys_in_a_pathless_value_are_ignored() -> None:
    patched = user(
        {
            "op": "replace",
            "value": {
                "displayName": "D",
                "favouriteColour": "blue",
                "urn:okta:custom:user:1.0": {"x": 1},
                "name": {"givenName": "G", "unknownSub": 1},
                "id": "ignored",
                "meta": {"created": "04-12-2018 00:00:00"},
                "schemas": ["whatever"],
                "groups": [],
                ENTERPRISE: {"unknownEnterprise": 1},
            },
        }
    )
    assert changed(patched.doc) == {"displayName": "D", "name": {"givenName": "G", "familyName": "Jensen"}}


def test_the_input_doc_is_not_mutated() -> None:
    doc = copy.deepcopy(BASE_USER)
    patch_user(
        doc,
        body(
            {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
            {"op": "remove", "path": MANAGER},
            {"op": "replace", "path": "name.givenName", "value": "X"},
        ),
    )
    assert doc == BASE_USER
    group_doc = copy.deepcopy(BASE_GROUP)
    patch_group(group_doc, body({"op": "replace", "value": {"displayName": "X"}}))
    assert group_doc == BASE_GROUP


def test_a_no_op_patch_returns_the_same_canonical_doc() -> None:
    patched = user({"op": "replace", "value": {"displayName": "Babs Jensen"}})
    assert patched.doc == BASE_USER
    assert orjson.loads(orjson.dumps(patched.doc)) == BASE_USER


def test_password_by_path() -> None:
    patched = user(
        {"op": "replace", "path": "password", "value": "s3cret"},
        {"op": "add", "path": "Password", "value": "s3cret2"},
    )
    assert patched.password == "s3cret2"
    assert "password" not in patched.doc


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch_body", "detail"),
    [
        (None, "must be a JSON object"),
        ([{"op": "add"}], "must be a JSON object"),
        ("Operations", "must be a JSON object"),
        ({"schemas": [PATCH_OP]}, "no 'Operations'"),
        ({"schemas": [USER], "userName": "u"}, "no 'Operations'"),
        ({"Operations": {"op": "add"}}, "must be an array"),
        ({"Operations": []}, "at least one operation"),
        ({"Operations": ["add"]}, r"Operations\[0\] must be an object"),
        ({"Operations": [{"path": "title", "value": "x"}]}, r"Operations\[0\]\.op must be"),
        ({"Operations": [{"op": "move", "path": "title", "value": "x"}]}, r"Operations\[0\]\.op must be"),
        (
            {"Operations": [{"op": "replace", "path": 5, "value": "x"}]},
            r"Operations\[0\]\.path must be a string",
        ),
        ({"Operations": [{"op": "add", "path": "title"}]}, r"Operations\[0\] \(add 'title'\) has no 'value'"),
        ({"Operations": [{"op": "replace"}]}, "needs a 'value' object"),
        ({"Operations": [{"op": "add", "value": "x"}]}, "needs a 'value' object"),
        ({"Operations": [{"op": "add", "value": [{"title": "x"}]}]}, "needs a 'value' object"),
        (
            {"Operations": [{"op": "replace", "path": "title", "value": "x"}, {"op": "bogus"}]},
            r"Operations\[1\]\.op must be",
        ),
    ],
)
def test_malformed_patch_bodies_are_invalid_syntax(patch_body: object, detail: str) -> None:
    for apply, doc in ((patch_user, BASE_USER), (patch_group, BASE_GROUP)):
        with pytest.raises(InvalidSyntax, match=detail):
            apply(copy.deepcopy(doc), patch_body)


def test_operations_key_is_case_insensitive_and_schemas_optional() -> None:
    patched = patch_user(copy.deepcopy(BASE_USER), {"operations": [{"OP": "Replace", "PATH": "title", "VALUE": "T"}]})
    assert patched.doc["title"] == "T"


@pytest.mark.parametrize(
    ("operation", "error", "detail"),
    [
        ({"op": "remove"}, NoTarget, r"Operations\[0\] is a 'remove' without 'path'"),
        ({"op": "remove", "path": ""}, NoTarget, "without 'path'"),
        ({"op": "remove", "path": 'emails[type eq "other"]'}, NoTarget, "No value of 'emails' matches"),
        ({"op": "remove", "path": 'phoneNumbers[type eq "work"]'}, NoTarget, "No value of 'phoneNumbers'"),
        (
            {"op": "replace", "path": 'manager[value eq "x"].value', "value": "y"},
            NoTarget,
            "No value of 'manager'",
        ),
        ({"op": "replace", "path": "id", "value": "x"}, Mutability, "'id' is read-only"),
        ({"op": "remove", "path": "meta"}, Mutability, "'meta' is read-only"),
        (
            {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
            Mutability,
            "'meta.created' is read-only",
        ),
        ({"op": "add", "path": "groups", "value": [{"value": "g"}]}, Mutability, "'groups' is read-only"),
        ({"op": "replace", "path": "schemas", "value": [USER]}, Mutability, "'schemas' is read-only"),
        ({"op": "remove", "path": "userName"}, Mutability, "'userName' is required"),
        ({"op": "replace", "path": "userName", "value": None}, Mutability, "'userName' is required"),
        ({"op": "remove", "path": "password"}, Mutability, "'password' can be set but not removed"),
        ({"op": "replace", "path": "nonexistent", "value": "x"}, InvalidPath, "'nonexistent' is unknown"),
        (
            {"op": "replace", "path": "name.nickname", "value": "x"},
            InvalidPath,
            "no sub-attribute 'nickname'",
        ),
        ({"op": "replace", "path": "displayName.first", "value": "x"}, InvalidPath, "has no sub-attributes"),
        (
            {"op": "replace", "path": "urn:example:schema:1.0:Foo:bar", "value": "x"},
            InvalidPath,
            "names a schema",
        ),
        ({"op": "replace", "path": USER, "value": {"title": "x"}}, InvalidPath, "names the core schema"),
        (
            {"op": "replace", "path": 'displayName[value eq "x"]', "value": "x"},
            InvalidPath,
            "no sub-attributes",
        ),
        ({"op": "replace", "path": "name..givenName", "value": "x"}, InvalidPath, "is not valid"),
        (
            {"op": "replace", "path": 'emails.type eq "work"', "value": "x"},
            InvalidPath,
            "not an attribute path",
        ),
        ({"op": "replace", "path": "a b", "value": "x"}, InvalidPath, "is not valid"),
        (
            {"op": "replace", "path": "emails[type eq work].value", "value": "x"},
            InvalidFilter,
            "value filter",
        ),
        ({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}, InvalidFilter, "value filter"),
        ({"op": "replace", "path": 'emails[kind eq "work"].value', "value": "x"}, InvalidFilter, "'kind'"),
        (
            {"op": "replace", "path": 'emails[name.givenName eq "w"]', "value": "x"},
            InvalidFilter,
            "not a sub-attribute",
        ),
        (
            {"op": "replace", "path": "name.givenName", "value": 5},
            InvalidInput,
            "'name.givenName' must be a string, not a number",
        ),
        (
            {"op": "replace", "path": "active", "value": "maybe"},
            InvalidInput,
            "'active' must be a boolean, not a string",
        ),
        (
            {"op": "replace", "path": "emails", "value": ["a@x"]},
            InvalidInput,
            r"'emails\[0\]' must be an object",
        ),
        ({"op": "replace", "path": "name", "value": "Barbara"}, InvalidInput, "'name' must be an object"),
        (
            {"op": "replace", "path": ENTERPRISE, "value": "x"},
            InvalidInput,
            "must be an object of its attributes",
        ),
        ({"op": "replace", "value": {"password": 5}}, InvalidInput, "'password' must be a non-empty string"),
        (
            {"op": "replace", "path": "userName", "value": ""},
            InvalidInput,
            r"Operations\[0\]\): 'userName' is required",
        ),
        ({"op": "replace", "path": "profileUrl", "value": "not a uri"}, InvalidInput, "Invalid URI"),
        ({"op": "remove", "path": "emails", "value": "x"}, InvalidInput, "takes no value"),
    ],
)
def test_user_patch_errors(operation: dict[str, Any], error: type[GatehouseError], detail: str) -> None:
    with pytest.raises(error) as caught:
        user(operation)
    assert type(caught.value) is error
    assert caught.value.detail.startswith("Operations[0]") or "last changed by Operations[0]" in caught.value.detail
    assert re.search(detail, caught.value.detail), caught.value.detail


def test_revalidation_errors_name_the_operation_that_caused_them() -> None:
    with pytest.raises(InvalidInput) as caught:
        user(
            {"op": "replace", "path": "title", "value": "T"},
            {"op": "add", "path": "photos", "value": [{"value": "not a uri"}]},
        )
    assert caught.value.detail == (
        "The patched resource is not valid (last changed by Operations[1]): 'photos[0].value': Invalid URI: not a uri."
    )


def test_an_error_in_a_later_operation_names_its_index() -> None:
    with pytest.raises(InvalidPath, match=r"^Operations\[2\] \(replace 'bogus'\): "):
        user(
            {"op": "replace", "path": "title", "value": "T"},
            {"op": "replace", "path": "title", "value": "U"},
            {"op": "replace", "path": "bogus", "value": "x"},
        )


@pytest.mark.parametrize(
    ("operation", "error", "detail"),
    [
        ({"op": "remove", "path": "displayName"}, Mutability, "'displayName' is required"),
        ({"op": "replace", "path": "id", "value": "x"}, Mutability, "read-only"),
        ({"op": "remove", "path": 'members[display eq "A"]'}, InvalidFilter, "only 'value eq"),
        ({"op": "remove", "path": 'members[value sw "a"]'}, InvalidFilter, "only 'value eq"),
        ({"op": "remove", "path": 'members[value eq "a" and value eq "b"]'}, InvalidFilter, "only 'value eq"),
        ({"op": "remove", "path": 'members[not (value eq "a")]'}, InvalidFilter, "only 'value eq"),
        ({"op": "remove", "path": "members[value pr]"}, InvalidFilter, "only 'value eq"),
        ({"op": "remove", "path": 'members[value eq ""]'}, InvalidInput, "non-empty string"),
        ({"op": "remove", "path": "members[value eq 5]"}, InvalidInput, "non-empty string"),
        (
            {"op": "remove", "path": 'members[value eq "a"].display'},
            InvalidPath,
            "sub-attributes cannot be patched",
        ),
        (
            {"op": "replace", "path": "members.value", "value": "a"},
            InvalidPath,
            "sub-attributes cannot be patched",
        ),
        (
            {"op": "add", "path": 'members[value eq "a"]', "value": [{"value": "b"}]},
            InvalidPath,
            "only selects members to remove",
        ),
        ({"op": "remove", "path": "members", "value": "u1"}, InvalidInput, "takes no value"),
        ({"op": "add", "path": "members", "value": "u1"}, InvalidInput, "'value' must be an array"),
        ({"op": "add", "path": "members", "value": ["u1"]}, InvalidInput, r"'value\[0\]' must be an object"),
        (
            {"op": "add", "path": "members", "value": [{"value": ""}]},
            InvalidInput,
            r"'value\[0\]\.value' must be a non-empty",
        ),
        ({"op": "add", "path": "members", "value": [{"display": "x"}]}, InvalidInput, "must be a non-empty"),
        ({"op": "replace", "value": {"members": [{"value": 3}]}}, InvalidInput, r"'members\[0\]\.value'"),
        ({"op": "replace", "path": "displayName", "value": ""}, InvalidInput, "'displayName' is required"),
        ({"op": "replace", "path": "userName", "value": "x"}, InvalidPath, "'userName' is unknown"),
        ({"op": "replace", "path": 'members[value eq "a"', "value": []}, InvalidFilter, "value filter"),
    ],
)
def test_group_patch_errors(operation: dict[str, Any], error: type[GatehouseError], detail: str) -> None:
    with pytest.raises(error, match=detail) as caught:
        group(operation)
    assert type(caught.value) is error
    assert "Operations[0]" in caught.value.detail


# --- property: random operations give a result or a gatehouse error, nothing else -----------------

if HAVE_HYPOTHESIS:
    _PATHS = st.sampled_from(
        [
            "active",
            "userName",
            "displayName",
            "name",
            "name.givenName",
            "emails",
            'emails[type eq "work"].value',
            'emails[type eq "work"]',
            "emails[primary eq true].primary",
            "emails.value",
            'addresses[type eq "work"].streetAddress',
            "members",
            'members[value eq "a"]',
            'members[value eq "a" or value eq "b"]',
            MANAGER,
            f"{MANAGER}.value",
            'manager[value eq "26118915"]',
            ENTERPRISE,
            f"{ENTERPRISE}:employeeNumber",
            "password",
            "meta.created",
            "id",
            "urn:x:y:z",
            "emails[",
            "",
        ]
    ) | st.text(max_size=15)
    _SCALARS = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.sampled_from(["", "True", "False", "a", "x@y"])
        | st.text(max_size=6)
    )
    _KEYS = st.sampled_from(
        [
            "value",
            "type",
            "primary",
            "display",
            "givenName",
            "active",
            "displayName",
            "members",
            "id",
            "$ref",
            "name.givenName",
            f"{ENTERPRISE}:manager",
        ]
    ) | st.text(max_size=6)
    _VALUES = st.recursive(
        _SCALARS,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=4),
        max_leaves=12,
    )
    _OPERATION = st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "Replace", "remove", "REMOVE", "bogus"])},
        optional={"path": _PATHS, "value": _VALUES},
    )
    _BODIES = st.fixed_dictionaries({"Operations": st.lists(_OPERATION | _VALUES, max_size=4)}) | _VALUES

    @settings(max_examples=500, deadline=None, database=None)
    @given(patch_body=_BODIES)
    def test_random_patches_give_a_result_or_a_gatehouse_error(patch_body: object) -> None:
        for apply, doc in ((patch_user, BASE_USER), (patch_group, BASE_GROUP)):
            original = copy.deepcopy(doc)
            try:
                result = apply(original, copy.deepcopy(patch_body))
            except GatehouseError:
                pass
            else:
                orjson.dumps(result.doc)
            assert original == doc

else:

    def test_random_patches_give_a_result_or_a_gatehouse_error() -> None:
        pytest.skip("hypothesis is not installed")
