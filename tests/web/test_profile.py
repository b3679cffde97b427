"""The user page's profile facts (:func:`gatehouse.web.profile.profile_facts`): every attribute an IdP sent is
shown as text a person reads (RFC 7643 §4.1), whatever its JSON type; nothing is hidden."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gatehouse.store.directory import ENTERPRISE, UserProfile
from gatehouse.web.profile import Fact, profile_facts

AT = datetime(2026, 12, 1, tzinfo=UTC)


def profile(doc: dict[str, Any]) -> UserProfile:
    return UserProfile(
        id="u1", user_name="bjensen", display_name=None, source="scim", active=True, super_admin=False,
        must_change_password=False, external_id=None, created=AT, last_modified=AT, last_login_at=None,
        version=1, doc=doc,
    )  # fmt: skip


def facts(doc: dict[str, Any]) -> dict[str, list[str]]:
    person, contact, enterprise = profile_facts(profile(doc))
    return {fact.label: fact.lines for fact in (*person, *contact, *enterprise)}


def test_name_parts_and_single_values_in_order_empty_ones_left_out() -> None:
    person, _, _ = profile_facts(
        profile(
            {
                "name": {"familyName": "Jensen", "givenName": "Barbara", "middleName": "", "honorificSuffix": None},
                "nickName": "Babs",
                "title": "",
                "locale": "en-US",
            }
        )
    )
    assert person == [
        Fact("Username", ["bjensen"]),
        Fact("Given name", ["Barbara"]),
        Fact("Family name", ["Jensen"]),
        Fact("Nickname", ["Babs"]),
        Fact("Locale", ["en-US"]),
    ]


def test_multi_valued_entries_read_as_a_value_then_its_notes() -> None:
    shown = facts(
        {
            "emails": [{"value": "b@example.com", "type": "work", "primary": True}, {"type": "home"}],
            "addresses": [
                {"formatted": "1 Main St\nSpringfield", "streetAddress": "ignored when formatted is given"},
                {"locality": "Springfield", "country": "US", "type": "home"},
            ],
            "x509Certificates": [{"value": "MIIB" + "A" * 96, "display": "laptop"}],
            "ims": ["babs-chat", 42],
        }
    )
    assert shown["Emails"] == ["b@example.com (work, primary)", "— (home)"]
    assert shown["Addresses"] == ["1 Main St\nSpringfield", "Springfield, US (home)"]
    assert shown["X.509 certificates"] == ["certificate (100 characters) (laptop)"]  # never the certificate itself
    assert shown["Instant messaging"] == ["babs-chat", "42"]


def test_attributes_the_page_does_not_know_are_shown_as_text_whatever_their_type() -> None:
    shown = facts(
        {
            "schemas": ["x"],
            "userName": "bjensen",
            "active": True,
            "urn:example:ext": {"badge": 7, "tags": ["a", "b"]},
            "vip": False,
            "score": 1.5,
            "roles": [],
            ENTERPRISE: {"department": "Ops", "costCenter": "", "manager": {"value": "m1"}},
        }
    )
    assert shown["urn:example:ext"] == ['{"badge":7,"tags":["a","b"]}']
    assert shown["vip"] == ["No"] and shown["score"] == ["1.5"]
    assert shown["Department"] == ["Ops"] and "Cost center" not in shown
    for elsewhere in ("schemas", "active", ENTERPRISE, "Roles (from the identity provider)"):
        assert elsewhere not in shown, elsewhere  # shown elsewhere on the page, or empty


def test_a_name_that_is_not_an_object_is_left_out_rather_than_failing() -> None:
    person, contact, enterprise = profile_facts(profile({"name": "Barbara Jensen", ENTERPRISE: "nope"}))
    assert person == [Fact("Username", ["bjensen"])] and contact == [] and enterprise == []
