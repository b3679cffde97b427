"""Request bodies of POST and PUT (RFC 7644 §3.3, §3.5.1) into canonical resource documents
(:mod:`gatehouse.resources.documents`), with the password and group members taken apart.

The quirk normalisations of :mod:`gatehouse.resources.quirks` run first; every failure is raised as a
``gatehouse.errors`` class naming the offending attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatehouse.errors import InvalidInput
from gatehouse.resources.documents import (
    GROUP_READ_ONLY,
    USER_READ_ONLY,
    check_group_doc,
    check_user_doc,
    find_key,
    prepared,
    validated,
)
from gatehouse.resources.schemas import ENTERPRISE_SCHEMA

USER_PRESENCE_KEYS = ("active", "externalId", "password")
"""The attributes whose presence in a PUT body the server needs to know (``UserInput.present``)."""


@dataclass(frozen=True)
class UserInput:
    """A validated POST/PUT /Users body.

    ``present`` tells which of ``active``, ``externalId`` and ``password`` the body carried with a
    value, so that a PUT leaving ``active`` out does not deactivate the user.
    """

    doc: dict[str, Any]
    password: str | None
    present: frozenset[str]


@dataclass(frozen=True)
class GroupInput:
    """A validated POST/PUT /Groups body; ``member_ids`` is None when the body had no ``members``."""

    doc: dict[str, Any]
    member_ids: list[str] | None
    member_displays: dict[str, str] = field(default_factory=dict)


def parse_user(body: object) -> UserInput:
    """Validate a POST or PUT /Users body (RFC 7644 §3.3, §3.5.1; RFC 7643 §4.1, §4.3)."""
    fields = prepared(body, USER_READ_ONLY)
    present = frozenset(name for name in USER_PRESENCE_KEYS if find_key(fields, name) is not None)
    password = _pop_password(fields)
    return UserInput(validated(check_user_doc(fields)), password, present)


def parse_group(body: object) -> GroupInput:
    """Validate a POST or PUT /Groups body (RFC 7644 §3.3, §3.5.1; RFC 7643 §4.2)."""
    fields = prepared(body, GROUP_READ_ONLY)
    members_key = find_key(fields, "members")
    members = None if members_key is None else fields.pop(members_key)
    member_ids = None if members is None else member_ids_of(members, "members")
    displays = {} if members is None else member_displays_of(members)
    return GroupInput(validated(check_group_doc(fields)), member_ids, displays)


def with_manager_ref(doc: dict[str, Any], user_location: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a user document whose enterprise ``manager`` carries its ``$ref`` (RFC 7643 §4.3).

    Documents keep only ``manager.value``, the manager's ``id``; its ``$ref`` derives from that id and
    the server's base URL, which this layer does not know. A store that serves documents as they are
    written calls this before writing, so the ``$ref`` is always the manager's current location.
    """
    block = doc.get(ENTERPRISE_SCHEMA)
    if not isinstance(block, dict):
        return doc
    manager = block.get("manager")
    if not isinstance(manager, dict) or not isinstance(manager.get("value"), str):
        return doc
    located = {**manager, "$ref": user_location(manager["value"])}
    return {**doc, ENTERPRISE_SCHEMA: {**block, "manager": located}}


def member_ids_of(value: object, where: str) -> list[str]:
    """The member ids of a ``members`` value: ``[{"value": "<id>"}, ...]``, order kept, duplicates removed.

    RFC 7643 §4.2: ``value`` is the member's ``id``; ``$ref`` and ``type`` are derived by the server,
    ``display`` is read by :func:`member_displays_of`. A single object is taken as a one-entry list.
    """
    entries = [value] if isinstance(value, dict) else value
    if not isinstance(entries, list):
        raise InvalidInput(f'\'{where}\' must be an array of {{"value": "<id>"}} objects.')
    ids: dict[str, None] = {}
    for index, entry in enumerate(entries):
        ids[_member_id(entry, f"{where}[{index}]")] = None
    return list(ids)


def member_displays_of(value: object) -> dict[str, str]:
    """The ``display`` an IdP sent with each member id, kept as sent (RFC 7643 §4.2 ``members``).

    Call after :func:`member_ids_of` has validated ``value``; members sent without a display are
    shown with their user's name instead.
    """
    entries = [value] if isinstance(value, dict) else value
    displays: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        member_id = entry.get(find_key(entry, "value") or "value")
        display = entry.get(find_key(entry, "display") or "display")
        if isinstance(member_id, str) and isinstance(display, str) and display.strip():
            displays[member_id] = display[:255]
    return displays


def _member_id(entry: object, where: str) -> str:
    if not isinstance(entry, dict):
        raise InvalidInput(f'\'{where}\' must be an object such as {{"value": "<id>"}}.')
    key = find_key(entry, "value")
    member_id = None if key is None else entry[key]
    if not isinstance(member_id, str) or not member_id.strip():
        raise InvalidInput(f"'{where}.value' must be a non-empty string: the id of a user or group.")
    return member_id


def _pop_password(fields: dict[str, Any]) -> str | None:
    key = find_key(fields, "password")
    if key is None:
        return None
    password = fields.pop(key)
    if not isinstance(password, str) or not password:
        raise InvalidInput("'password' must be a non-empty string.")
    return password
