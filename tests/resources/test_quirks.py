"""Each IdP quirk normalisation on its own (sources in shared/reference/idp-wire.md)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gatehouse.resources import quirks

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER = f"{ENTERPRISE}:manager"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("add", "add"),
        ("Add", "add"),  # Entra ID without aadOptscim062020
        ("Replace", "replace"),
        ("REMOVE", "remove"),
        (" remove ", "remove"),
        ("move", None),
        ("", None),
        (None, None),
        (3, None),
        (["add"], None),
    ],
)
def test_normalize_op_name_accepts_any_case_of_the_three_operations(sent: object, expected: str | None) -> None:
    assert quirks.normalize_op_name(sent) == expected


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"active": "True"}, {"active": True}),
        ({"active": "False"}, {"active": False}),  # Entra ID's disable
        ({"active": "false"}, {"active": False}),  # scimmyjs#86
        ({"active": "true"}, {"active": True}),
        ({"ACTIVE": "FALSE"}, {"ACTIVE": False}),
        ({"active": "yes"}, {"active": "yes"}),  # not a boolean string: left for validation to refuse
        ({"active": 1}, {"active": 1}),
        ({"roles": [{"primary": "True", "value": "r"}]}, {"roles": [{"primary": True, "value": "r"}]}),
        (
            {"emails": [{"Primary": "false", "value": "True"}]},
            {"emails": [{"Primary": False, "value": "True"}]},
        ),
        ({"displayName": "True"}, {"displayName": "True"}),  # only boolean attributes are touched
        ({ENTERPRISE: {"manager": {"value": "false"}}}, {ENTERPRISE: {"manager": {"value": "false"}}}),
        ([{"active": "False"}], [{"active": False}]),
        ("False", "False"),
    ],
)
def test_coerce_boolean_strings_only_touches_active_and_primary(sent: Any, expected: Any) -> None:
    assert quirks.coerce_boolean_strings(sent) == expected


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("active", "False", False),  # {"op":"Replace","path":"active","value":"False"}
        ("Active", "true", True),
        (f"{USER}:active", "false", False),
        ('emails[type eq "work"].primary', "True", True),
        ("emails.primary", "false", False),
        ("displayName", "False", "False"),
        ("roles", [{"primary": "True"}], [{"primary": True}]),
        (None, {"active": "False"}, {"active": False}),
        ("active", "nope", "nope"),
    ],
)
def test_coerce_boolean_at_path(path: str | None, value: Any, expected: Any) -> None:
    assert quirks.coerce_boolean_at_path(path, value) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("active", "active"),
        ('emails[type eq "work"].primary', "primary"),
        ('emails[value eq "a.b:c"].value', "value"),
        (f"{ENTERPRISE}:manager.value", "value"),
        (MANAGER, "manager"),
        ("name.givenName", "givenname"),
    ],
)
def test_last_attribute_name(path: str, expected: str) -> None:
    assert quirks.last_attribute_name(path) == expected


def test_drop_nulls_removes_entra_null_attributes_at_any_depth() -> None:
    body = {
        "userName": "u",
        "addresses": None,
        "phoneNumbers": None,
        "manager": None,
        "emails": [None, {"value": "a@x", "display": None}],
        ENTERPRISE: {"manager": None, "department": "D"},
    }
    assert quirks.drop_nulls(body) == {
        "userName": "u",
        "emails": [{"value": "a@x"}],
        ENTERPRISE: {"department": "D"},
    }


def test_drop_nulls_drops_a_null_member_ref() -> None:
    assert quirks.drop_nulls([{"$ref": None, "value": "f648"}]) == [{"value": "f648"}]


@pytest.mark.parametrize(
    "schemas",
    [
        ["urn:scim:schemas:core:1.0"],  # OneLogin's "Core Schema" template
        [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],  # Entra ID, mistyped
        [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "not even a list",
    ],
)
def test_drop_schemas_ignores_whatever_schemas_a_client_lists(schemas: object) -> None:
    assert quirks.drop_schemas({"schemas": schemas, "userName": "u"}) == {"userName": "u"}
    assert quirks.drop_schemas({"Schemas": schemas}) == {}


def test_drop_read_only_ignores_okta_put_id_meta_and_groups() -> None:
    body = {
        "id": "23a35c27",
        "Meta": {"created": "04-12-2018 00:00:00", "resourceType": "User"},
        "groups": [],
        "userName": "u",
    }
    assert quirks.drop_read_only(body, ("id", "meta", "groups")) == {"userName": "u"}


def test_drop_read_only_drops_the_id_of_okta_group_rename() -> None:
    value = {"id": "gid", "displayName": "New Name"}
    assert quirks.drop_read_only(value, ("id", "meta")) == {"displayName": "New Name"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("manager", True),
        ("Manager", True),
        (MANAGER, True),
        (MANAGER.upper(), True),
        (f"{MANAGER}.value", False),
        ('manager[value eq "x"]', False),
        ("managers", False),
        (None, False),
    ],
)
def test_targets_manager(path: str | None, expected: bool) -> None:
    assert quirks.targets_manager(path) is expected


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("manager", [{"$ref": "../Users/ID", "value": "ID"}], {"$ref": "../Users/ID", "value": "ID"}),
        (MANAGER, [{"value": "ID"}], {"value": "ID"}),
        (MANAGER, {"value": "ID"}, {"value": "ID"}),
        (MANAGER, [{"value": "A"}, {"value": "B"}], [{"value": "A"}, {"value": "B"}]),
        ("emails", [{"value": "a@x"}], [{"value": "a@x"}]),
    ],
)
def test_unwrap_manager_list_from_entra_old_tutorial(path: str, value: Any, expected: Any) -> None:
    assert quirks.unwrap_manager_list(path, value) == expected


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (MANAGER, {"value": ""}, True),  # Entra SCIM validator
        (MANAGER, {"Value": None}, True),
        (MANAGER, "", True),
        (MANAGER, None, True),
        (MANAGER, {}, True),
        ("manager", {"value": ""}, True),
        (MANAGER, {"value": "ID"}, False),
        (f"{MANAGER}.value", "", False),
        ("displayName", {"value": ""}, False),
    ],
)
def test_is_manager_removal(path: str, value: Any, expected: bool) -> None:
    assert quirks.is_manager_removal(path, value) is expected


def test_expand_pathless_keys_nests_entra_dotted_and_urn_keys() -> None:
    value = {
        "displayName": "Bjfe",
        "name.givenName": "Kkom",
        "name.familyName": "Unua",
        f"{ENTERPRISE}:employeeNumber": "Aklq",
    }
    assert quirks.expand_pathless_keys(value, USER, [ENTERPRISE]) == {
        "displayName": "Bjfe",
        "name": {"givenName": "Kkom", "familyName": "Unua"},
        ENTERPRISE: {"employeeNumber": "Aklq"},
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({f"{USER}:userName": "u"}, {"userName": "u"}),
        ({f"{USER.upper()}:name.givenName": "G"}, {"name": {"givenName": "G"}}),
        ({f"{ENTERPRISE.lower()}:manager.value": "M"}, {ENTERPRISE: {"manager": {"value": "M"}}}),
        (
            {ENTERPRISE: {"department": "D"}, f"{ENTERPRISE}:employeeNumber": "1"},
            {ENTERPRISE: {"department": "D", "employeeNumber": "1"}},
        ),
        (
            {"name": {"familyName": "F"}, "name.givenName": "G"},
            {"name": {"familyName": "F", "givenName": "G"}},
        ),
        ({USER: {"userName": "u"}}, {"userName": "u"}),
        ({'emails[type eq "work"].value': "a@x"}, {'emails[type eq "work"].value': "a@x"}),
        ({"urn:unknown:schema:x:attr": 1}, {"urn:unknown:schema:x:attr": 1}),
        ({"active": False}, {"active": False}),
    ],
)
def test_expand_pathless_keys_cases(value: dict[str, Any], expected: dict[str, Any]) -> None:
    assert quirks.expand_pathless_keys(value, USER, [ENTERPRISE]) == expected


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("members", [{"value": "u1091"}], 'members[value eq "u1091"]'),  # Entra ID without the flag
        ("members", [{"$ref": None, "value": "u1"}], 'members[value eq "u1"]'),
        (
            "members",
            [{"value": "a", "display": "A"}, {"value": "b"}],
            'members[value eq "a" or value eq "b"]',
        ),
        ("members", {"value": "a"}, 'members[value eq "a"]'),
        ("members", [{"value": 'quo"te'}], 'members[value eq "quo\\"te"]'),
        ("emails", [{"type": "work", "primary": True}], 'emails[type eq "work" and primary eq true]'),
        (
            "emails",
            [{"type": "work", "display": "W"}, {"type": "home"}],
            'emails[(type eq "work" and display eq "W") or type eq "home"]',
        ),
        ("members", [], None),
        ("members", None, None),
        ("members", "u1", None),
        ("members", ["u1"], None),
        ("members", [{}], None),
        ("members", [{"value": {"nested": 1}}], None),
        ('members[value eq "a"]', [{"value": "b"}], None),
        (None, [{"value": "b"}], None),
    ],
)
def test_remove_value_as_filter(path: str | None, value: Any, expected: str | None) -> None:
    assert quirks.remove_value_as_filter(path, value) == expected


def test_quirks_never_mutate_their_input() -> None:
    body = {
        "schemas": [USER],
        "id": "x",
        "active": "False",
        "addresses": None,
        "roles": [{"primary": "True"}],
        "name.givenName": "G",
    }
    before = copy.deepcopy(body)
    quirks.coerce_boolean_strings(body)
    quirks.drop_nulls(body)
    quirks.drop_schemas(body)
    quirks.drop_read_only(body, ("id",))
    quirks.expand_pathless_keys(body, USER, [ENTERPRISE])
    assert body == before
