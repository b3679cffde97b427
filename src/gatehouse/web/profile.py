"""A user's profile as the user page shows it: SCIM attributes (RFC 7643 §4.1) as labelled facts (pure view
helpers of :mod:`gatehouse.web.routes.users`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gatehouse.store import directory
from gatehouse.store.directory import UserProfile


@dataclass(frozen=True, slots=True)
class Fact:
    """One attribute as shown: a label and one line per value."""

    label: str
    lines: list[str]


_NAME_PARTS = (
    ("formatted", "Full name"),
    ("honorificPrefix", "Honorific prefix"),
    ("givenName", "Given name"),
    ("middleName", "Middle name"),
    ("familyName", "Family name"),
    ("honorificSuffix", "Honorific suffix"),
)
_SINGLE = (
    ("displayName", "Display name"),
    ("nickName", "Nickname"),
    ("title", "Title"),
    ("userType", "User type"),
    ("preferredLanguage", "Preferred language"),
    ("locale", "Locale"),
    ("timezone", "Time zone"),
    ("profileUrl", "Profile URL"),
)
_MULTI = (
    ("emails", "Emails"),
    ("phoneNumbers", "Phone numbers"),
    ("addresses", "Addresses"),
    ("ims", "Instant messaging"),
    ("photos", "Photos"),
    ("entitlements", "Entitlements"),
    ("roles", "Roles (from the identity provider)"),
    ("x509Certificates", "X.509 certificates"),
)
_ENTERPRISE = (
    ("employeeNumber", "Employee number"),
    ("costCenter", "Cost center"),
    ("organization", "Organization"),
    ("division", "Division"),
    ("department", "Department"),
)
_SHOWN_ELSEWHERE = {"schemas", "userName", "active", "externalId", "name", "groups", directory.ENTERPRISE}
_ADDRESS_PARTS = ("streetAddress", "locality", "region", "postalCode", "country")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _multi_value(attribute: str, entry: Any) -> str:
    """One value of a multi-valued attribute: its value, then type, display and primary."""
    if not isinstance(entry, dict):
        return _text(entry)
    if attribute == "addresses":
        main = entry.get("formatted") or ", ".join(str(entry[k]) for k in _ADDRESS_PARTS if entry.get(k))
    elif attribute == "x509Certificates":
        main = f"certificate ({len(str(entry.get('value', '')))} characters)"
    else:
        main = entry.get("value")
    notes = [str(entry[k]) for k in ("type", "display") if entry.get(k)]
    if entry.get("primary"):
        notes.append("primary")
    line = _text(main) if main not in (None, "") else "—"
    return f"{line} ({', '.join(notes)})" if notes else line


def profile_facts(profile: UserProfile) -> tuple[list[Fact], list[Fact], list[Fact]]:
    """The profile's attributes in three groups: person, contact and access, enterprise. Attributes
    this page does not know (other extensions) are listed too, as JSON, so nothing is hidden."""
    doc = profile.doc
    person = [Fact("Username", [profile.user_name])]
    raw_name = doc.get("name")
    name: dict[str, Any] = raw_name if isinstance(raw_name, dict) else {}
    person += [Fact(label, [_text(name[key])]) for key, label in _NAME_PARTS if name.get(key) not in (None, "")]
    person += [Fact(label, [_text(doc[key])]) for key, label in _SINGLE if doc.get(key) not in (None, "")]
    contact = []
    for key, label in _MULTI:
        values = doc.get(key)
        if isinstance(values, list) and values:
            contact.append(Fact(label, [_multi_value(key, v) for v in values]))
    known = _SHOWN_ELSEWHERE | {k for k, _ in _SINGLE} | {k for k, _ in _MULTI}
    contact += [Fact(key, [_text(value)]) for key, value in doc.items() if key not in known]
    block = profile.enterprise
    enterprise = [Fact(label, [_text(block[key])]) for key, label in _ENTERPRISE if block.get(key) not in (None, "")]
    return person, contact, enterprise
