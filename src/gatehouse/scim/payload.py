"""Request bodies of POST and PUT (RFC 7644 §3.3, §3.5.1) into canonical resource documents.

A *document* ("doc") is the canonical SCIM JSON of a resource as a plain dict, without ``id``,
``meta``, ``password`` and the derived ``groups`` (users) / ``members`` (groups): what the store
keeps and serves. It is produced by validating the body with scim2-models (``gatehouse.scim.models``)
and dumping the model, so keys carry their RFC camelCase names whatever case the client used
(RFC 7643 §2.1), and unassigned values (null, ``""``, ``[]``, ``{}``; RFC 7643 §2.5) are left out.
``schemas`` lists the core schema, then the enterprise extension when its block is present
(RFC 7643 §3).

The quirk normalisations of ``gatehouse.scim.quirks`` run first; every failure is raised as a
``gatehouse.errors`` class naming the offending attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, SCIMException, ScimPolicy

from gatehouse.errors import InvalidInput, InvalidSyntax
from gatehouse.scim import quirks
from gatehouse.scim.models import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, GroupResource, UserResource

USER_PRESENCE_KEYS = ("active", "externalId", "password")
"""The attributes whose presence in a PUT body the server needs to know (``UserInput.present``)."""

USER_READ_ONLY = ("id", "meta", "groups")
"""User attributes a client may send but never sets (RFC 7643 §3.1, §4.1.2)."""

GROUP_READ_ONLY = ("id", "meta")
"""Group attributes a client may send but never sets (RFC 7643 §3.1)."""

_POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
_EMPTY: tuple[Any, ...] = (None, "", [], {})


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


@dataclass(frozen=True)
class Problem:
    """Why a document is invalid: the top-level attribute at fault (when known) and a detail."""

    attribute: str | None
    detail: str


def parse_user(body: object) -> UserInput:
    """Validate a POST or PUT /Users body (RFC 7644 §3.3, §3.5.1; RFC 7643 §4.1, §4.3)."""
    fields = _prepared(body, USER_READ_ONLY)
    present = frozenset(name for name in USER_PRESENCE_KEYS if _find_key(fields, name) is not None)
    password = _pop_password(fields)
    return UserInput(_validated(check_user_doc(fields)), password, present)


def parse_group(body: object) -> GroupInput:
    """Validate a POST or PUT /Groups body (RFC 7644 §3.3, §3.5.1; RFC 7643 §4.2)."""
    fields = _prepared(body, GROUP_READ_ONLY)
    members_key = _find_key(fields, "members")
    members = None if members_key is None else fields.pop(members_key)
    member_ids = None if members is None else member_ids_of(members, "members")
    displays = {} if members is None else member_displays_of(members)
    return GroupInput(_validated(check_group_doc(fields)), member_ids, displays)


def validate_user_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """Re-validate and canonicalise a user document, e.g. after PATCH (RFC 7644 §3.5.2)."""
    return _validated(check_user_doc(_prepared(doc, (*USER_READ_ONLY, "password"))))


def validate_group_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """Re-validate and canonicalise a group document, e.g. after PATCH (RFC 7644 §3.5.2)."""
    return _validated(check_group_doc(_prepared(doc, (*GROUP_READ_ONLY, "members"))))


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


def check_user_doc(fields: Mapping[str, Any]) -> dict[str, Any] | Problem:
    """The canonical user document of already-normalised ``fields``, or the first problem found."""
    problem = _check_booleans(fields) or _check_required(fields, "userName")
    if problem is not None:
        return problem
    return _canonical(UserResource, fields, USER_SCHEMA, "password")


def check_group_doc(fields: Mapping[str, Any]) -> dict[str, Any] | Problem:
    """The canonical group document of already-normalised ``fields``, or the first problem found."""
    problem = _check_required(fields, "displayName")
    if problem is not None:
        return problem
    return _canonical(GroupResource, fields, GROUP_SCHEMA, "members")


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
        member_id = entry.get(_find_key(entry, "value") or "value")
        display = entry.get(_find_key(entry, "display") or "display")
        if isinstance(member_id, str) and isinstance(display, str) and display.strip():
            displays[member_id] = display[:255]
    return displays


def _member_id(entry: object, where: str) -> str:
    if not isinstance(entry, dict):
        raise InvalidInput(f'\'{where}\' must be an object such as {{"value": "<id>"}}.')
    key = _find_key(entry, "value")
    member_id = None if key is None else entry[key]
    if not isinstance(member_id, str) or not member_id.strip():
        raise InvalidInput(f"'{where}.value' must be a non-empty string: the id of a user or group.")
    return member_id


def _prepared(body: object, read_only: tuple[str, ...]) -> dict[str, Any]:
    """Apply the body quirks: nulls, string booleans, ``schemas`` and read-only attributes."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object holding the resource's attributes.")
    fields = quirks.coerce_boolean_strings(quirks.drop_nulls(body))
    return quirks.drop_read_only(quirks.drop_schemas(fields), read_only)


def _pop_password(fields: dict[str, Any]) -> str | None:
    key = _find_key(fields, "password")
    if key is None:
        return None
    password = fields.pop(key)
    if not isinstance(password, str) or not password:
        raise InvalidInput("'password' must be a non-empty string.")
    return password


def _validated(result: dict[str, Any] | Problem) -> dict[str, Any]:
    if isinstance(result, Problem):
        raise InvalidInput(result.detail)
    return result


def _find_key(fields: Mapping[str, Any], name: str) -> str | None:
    """The key of ``fields`` naming attribute ``name`` in any case (RFC 7643 §2.1)."""
    lowered = name.lower()
    return next((key for key in fields if key.lower() == lowered), None)


def _check_required(fields: Mapping[str, Any], name: str) -> Problem | None:
    """A required string attribute must be present and not blank (RFC 7643 §2.2 ``required``)."""
    key = _find_key(fields, name)
    value = None if key is None else fields[key]
    if value is None or (isinstance(value, str) and not value.strip()):
        return Problem(name, f"'{name}' is required and must not be empty.")
    return None


def _check_booleans(fields: Mapping[str, Any]) -> Problem | None:
    """``active`` and the ``primary`` of multi-valued entries must be JSON booleans (RFC 7643 §2.3.2).

    pydantic would read ``"yes"`` or ``1`` as true; the string forms IdPs really send were already
    coerced by ``quirks.coerce_boolean_strings``, so anything else left is a client error.
    """
    for key, value in fields.items():
        if key.lower() == "active" and not isinstance(value, bool):
            return Problem(key, f"'{key}' must be a boolean (true or false).")
        if isinstance(value, list):
            for index, entry in enumerate(value):
                primary = _find_key(entry, "primary") if isinstance(entry, dict) else None
                if primary is not None and not isinstance(entry[primary], bool):
                    return Problem(key, f"'{key}[{index}].{primary}' must be a boolean (true or false).")
    return None


def _canonical(
    model: type[UserResource] | type[GroupResource],
    fields: Mapping[str, Any],
    core_schema: str,
    left_out: str,
) -> dict[str, Any] | Problem:
    """Validate ``fields`` with ``model`` and dump the canonical document (RFC 7644 §3.3 semantics).

    Read-only attributes were already removed; ``left_out`` (``password`` for users, ``members`` for
    groups) is dropped from the dump, which the store keeps apart.
    """
    context = Context.RESOURCE_REPLACEMENT_REQUEST
    try:
        resource = model.model_validate(_pruned(fields), scim_ctx=context, scim_policy=_POLICY)
        dumped = resource.model_dump(scim_ctx=context, scim_policy=_POLICY)
    except ValidationError as exc:
        return _problem(exc)
    except SCIMException as exc:
        return Problem(None, exc.detail)
    dumped.pop(left_out, None)
    dumped.pop("schemas", None)
    doc: dict[str, Any] = _pruned(dumped)
    schemas = [core_schema, ENTERPRISE_SCHEMA] if ENTERPRISE_SCHEMA in doc else [core_schema]
    return {"schemas": schemas, **doc}


def _pruned(value: Any) -> Any:
    """Leave out unassigned values at any depth: null, ``""``, ``[]`` and ``{}`` (RFC 7643 §2.5)."""
    if isinstance(value, dict):
        pruned = {}
        for key, item in value.items():
            if isinstance(item, dict | list):
                item = _pruned(item)
            if item is not None and item != "" and item != [] and item != {}:
                pruned[key] = item
        return pruned
    if isinstance(value, list):
        items = (_pruned(item) if isinstance(item, dict | list) else item for item in value)
        return [item for item in items if item is not None and item != "" and item != [] and item != {}]
    return value


_TYPE_ERRORS = {
    "string_type": "must be a string",
    "bool_type": "must be a boolean",
    "int_type": "must be an integer",
    "list_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}
"""pydantic's type errors, said in JSON terms (RFC 7643 §2.3)."""


def _problem(exc: ValidationError) -> Problem:
    """Describe the first error of a pydantic validation, located as a SCIM attribute path."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return Problem(None, "The resource is not valid.")
    first = errors[0]
    location = _location(first["loc"])
    message = _TYPE_ERRORS.get(first["type"]) or str(first["msg"]).removeprefix("Value error, ")
    if location:
        separator = " " if first["type"] in _TYPE_ERRORS else ": "
        detail = f"'{location}'{separator}{message}."
    else:
        detail = f"{message}."
    if len(errors) > 1:
        detail += f" ({len(errors) - 1} more error(s) not shown.)"
    attribute = first["loc"][0] if first["loc"] and isinstance(first["loc"][0], str) else None
    return Problem(attribute, detail)


def _location(loc: tuple[int | str, ...]) -> str:
    """``("emails", 0, "value")`` → ``emails[0].value``; an extension URN is joined with ``:``."""
    text = ""
    for position, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif not text:
            text = part
        elif position == 1 and text.lower().startswith("urn:"):
            text += f":{part}"
        else:
            text += f".{part}"
    return text
