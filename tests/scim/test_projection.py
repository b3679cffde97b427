"""``attributes`` and ``excludedAttributes`` (``gatehouse.scim.projection``, RFC 7644 §3.4.2.5), value filters
included: ``emails[type eq "work"]`` returns just the matching e-mails, never only ``id``; a filter that
cannot be honoured is 400 ``invalidFilter``."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.errors import InvalidFilter
from gatehouse.resources.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from gatehouse.scim.listing import _names
from gatehouse.scim.projection import Projection

WORK = {"value": "x@example.com", "type": "work", "primary": True}
HOME = {"value": "y@example.org", "type": "home"}
USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
    "id": "u1",
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [WORK, HOME],
    ENTERPRISE_SCHEMA: {"employeeNumber": "7", "manager": {"value": "m1", "$ref": "https://x/Users/m1"}},
    "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z"},
}
ALWAYS = {"schemas": USER["schemas"], "id": "u1"}


def select(attributes: str) -> dict[str, Any]:
    return Projection(USER_SCHEMA, _names(attributes)).apply(USER)


def exclude(attributes: str) -> dict[str, Any]:
    return Projection(USER_SCHEMA, (), _names(attributes)).apply(USER)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ('emails[type eq "work"]', {"emails": [WORK]}),
        ('EMAILS[TYPE EQ "WORK"]', {"emails": [WORK]}),
        ('emails[value eq "x@example.com"]', {"emails": [WORK]}),
        ('emails[value eq "X@EXAMPLE.COM"]', {"emails": [WORK]}),  # emails.value is caseExact false
        ('emails[type eq "work"].value', {"emails": [{"value": "x@example.com"}]}),
        ('emails[type eq "other"]', {}),
        ('emails[type eq "work" or type eq "home"].type', {"emails": [{"type": "work"}, {"type": "home"}]}),
        ('emails[type eq "work"],emails[type eq "home"].value', {"emails": [WORK, {"value": "y@example.org"}]}),
        ('emails[type eq "work"],emails', {"emails": [WORK, HOME]}),
        ("emails[primary pr]", {"emails": [WORK]}),
        ('emails[not (type eq "work")]', {"emails": [HOME]}),
        ('emails[value ew ",x"]', {}),
        ("emails.value", {"emails": [{"value": "x@example.com"}, {"value": "y@example.org"}]}),
        ("name.givenName", {"name": {"givenName": "Barbara"}}),
        ("name.givenName,NAME.familyName", {"name": USER["name"]}),
        ("emails.value,emails", {"emails": [WORK, HOME]}),
        (
            'emails[type eq "work"].value,emails.type',
            {"emails": [{"value": "x@example.com", "type": "work"}, {"type": "home"}]},
        ),
        (" , name.givenName", {"name": {"givenName": "Barbara"}}),
        ("manager", {ENTERPRISE_SCHEMA: {"manager": USER[ENTERPRISE_SCHEMA]["manager"]}}),
        (f"{ENTERPRISE_SCHEMA}:manager.value", {ENTERPRISE_SCHEMA: {"manager": {"value": "m1"}}}),
        (ENTERPRISE_SCHEMA, {ENTERPRISE_SCHEMA: USER[ENTERPRISE_SCHEMA]}),
        (f"{USER_SCHEMA}:userName", {"userName": "bjensen"}),
        ("meta.created", {"meta": {"created": "2026-01-01T00:00:00Z"}}),
        ("bogus,name.bogus,urn:bogus:x", {}),  # unknown names are ignored (RFC 7644 §3.4.2.5)
        ('bogus[type eq "x"]', {}),
        ("emails[" + "(" * 300 + 'type eq "work"' + ")" * 300 + "]", {"emails": [WORK]}),
    ],
)
def test_attributes_return_what_they_name_and_id_and_schemas(attributes: str, expected: dict[str, Any]) -> None:
    assert select(attributes) == {**ALWAYS, **expected}


@pytest.mark.parametrize(
    ("attributes", "changed"),
    [
        ('emails[type eq "work"]', {"emails": [HOME]}),
        ('emails[type eq "work"].value', {"emails": [{"type": "work", "primary": True}, HOME]}),
        ('emails[type eq "work" or type eq "home"]', {"emails": None}),
        ("name.givenName", {"name": {"familyName": "Jensen"}}),
        ("manager", {ENTERPRISE_SCHEMA: {"employeeNumber": "7"}}),
        (ENTERPRISE_SCHEMA, {ENTERPRISE_SCHEMA: None}),
        ("id,schemas", {}),  # returned always: never excluded
    ],
)
def test_excluded_attributes_remove_what_they_name(attributes: str, changed: dict[str, Any]) -> None:
    expected = {**USER, **changed}
    assert exclude(attributes) == {key: value for key, value in expected.items() if value is not None}


@pytest.mark.parametrize(
    "attributes",
    [
        "emails[type eq]",
        "emails[",
        'emails[type eq "work"',
        'userName[value eq "x"]',  # userName has no sub-attributes
        'emails[bogus eq "x"]',  # not a sub-attribute of emails
        'emails[type eq "work"].bogus[value eq "x"]',
        'emails[type eq "work"] or x',
    ],
)
def test_a_value_filter_that_cannot_be_honoured_is_invalid_filter(attributes: str) -> None:
    for build in (
        lambda: Projection(USER_SCHEMA, (attributes,)),
        lambda: Projection(USER_SCHEMA, (), (attributes,)),
    ):
        with pytest.raises(InvalidFilter) as refused:
            build()
        assert refused.value.scim_type == "invalidFilter"


def test_group_members_are_selected_by_value_filter() -> None:
    group = {
        "schemas": [GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Ops",
        "members": [{"value": "u1", "display": "Ann"}, {"value": "u2", "display": "Bob"}],
    }
    projection = Projection(GROUP_SCHEMA, ('members[value eq "u2"].display',))
    assert projection.includes("members")
    assert projection.apply(group) == {"schemas": [GROUP_SCHEMA], "id": "g1", "members": [{"display": "Bob"}]}
    assert not Projection(GROUP_SCHEMA, (), ("members",)).includes("members")
    assert Projection(GROUP_SCHEMA, (), ('members[value eq "u2"]',)).includes("members")
