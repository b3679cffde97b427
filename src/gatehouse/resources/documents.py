"""Canonical resource documents: what the store keeps and serves of a user or a group (RFC 7643 §4).

A *document* ("doc") is the canonical SCIM JSON of a resource as a plain dict, without ``id``,
``meta``, ``password`` and the derived ``groups`` (users) / ``members`` (groups). It is produced by
validating attributes with scim2-models (:mod:`gatehouse.resources.models`) and dumping the model, so
keys carry their RFC camelCase names whatever case the client used (RFC 7643 §2.1), and unassigned
values (null, ``""``, ``[]``, ``{}``; RFC 7643 §2.5) are left out. ``schemas`` lists the core schema,
then the enterprise extension when its block is present (RFC 7643 §3).

Every surface that writes a user or a group (SCIM, the dashboard, the admin API, SSO sign-in) makes its
document here, so there is one idea of a valid resource. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, SCIMException, ScimPolicy

from gatehouse.errors import InvalidInput, InvalidSyntax
from gatehouse.names import fits_folded
from gatehouse.resources import quirks
from gatehouse.resources.models import GroupResource, UserResource
from gatehouse.resources.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from gatehouse.resources.shapes import canonical_by_shape

USER_READ_ONLY = ("id", "meta", "groups")
"""User attributes a client may send but never sets (RFC 7643 §3.1, §4.1.2)."""

GROUP_READ_ONLY = ("id", "meta")
"""Group attributes a client may send but never sets (RFC 7643 §3.1)."""

_POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
_EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass(frozen=True)
class Problem:
    """Why a document is invalid: the top-level attribute at fault (when known) and a detail."""

    attribute: str | None
    detail: str


USER_LIMITS: Mapping[str, int] = {"userName": 255, "externalId": 255}
"""The longest value of attributes that the store keeps in columns of their own (``users`` table)."""

GROUP_LIMITS: Mapping[str, int] = {"displayName": 255, "externalId": 255}
"""Likewise for groups (``groups`` table)."""

EMAIL_TYPE_LIMIT = 64
"""The longest ``emails.type`` (kept in a column of its own, for ``emails[type eq "work"]``)."""


def check_user_doc(fields: Mapping[str, Any]) -> dict[str, Any] | Problem:
    """The canonical user document of already-normalised ``fields``, or the first problem found."""
    problem = _check_text(fields) or _check_booleans(fields) or _check_required(fields, "userName")
    if problem is not None:
        return problem
    doc = canonical_by_shape(fields, _canonical_user)
    if isinstance(doc, Problem):
        return doc
    return _check_lengths(doc, USER_LIMITS) or _check_email_types(doc) or doc


def _canonical_user(fields: Mapping[str, Any]) -> dict[str, Any] | Problem:
    return _canonical(UserResource, fields, USER_SCHEMA, "password")


def check_group_doc(fields: Mapping[str, Any]) -> dict[str, Any] | Problem:
    """The canonical group document of already-normalised ``fields``, or the first problem found."""
    problem = _check_text(fields) or _check_required(fields, "displayName")
    if problem is not None:
        return problem
    doc = _canonical(GroupResource, fields, GROUP_SCHEMA, "members")
    if isinstance(doc, Problem):
        return doc
    return _check_lengths(doc, GROUP_LIMITS) or doc


def _check_text(fields: Mapping[str, Any]) -> Problem | None:
    """No string, key or value, may hold the NUL character: PostgreSQL cannot store it in text, and no
    identity provider sends it (JSON allows ``\\u0000``, so it is refused here, the same on every database)."""
    for key, value in fields.items():
        if "\x00" in key or _holds_nul(value):
            return Problem(key, f"'{key.replace(chr(0), '')}' must not contain the NUL character (U+0000).")
    return None


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


CASE_FOLDED = frozenset({"userName", "displayName"})
"""Attributes kept lower-cased too (the unique, case-insensitive key): the lower-cased value must fit as well,
and lower-casing can lengthen text (``"İ".lower()`` is two characters)."""


def _check_lengths(doc: Mapping[str, Any], limits: Mapping[str, int]) -> Problem | None:
    for name, limit in limits.items():
        value = doc.get(name)
        if not isinstance(value, str):
            continue
        if len(value) > limit:
            return Problem(name, f"'{name}' must be at most {limit} characters long (it has {len(value)}).")
        if name in CASE_FOLDED and not fits_folded(value, limit):
            return Problem(
                name,
                f"'{name}' must be at most {limit} characters long in lower case, as it is compared "
                f"(it has {len(value.lower())}).",
            )
    return None


def _check_email_types(doc: Mapping[str, Any]) -> Problem | None:
    for index, entry in enumerate(doc.get("emails") or ()):
        kind = entry.get("type") if isinstance(entry, dict) else None
        if isinstance(kind, str) and len(kind) > EMAIL_TYPE_LIMIT:
            return Problem("emails", f"'emails[{index}].type' must be at most {EMAIL_TYPE_LIMIT} characters long.")
    return None


def validate_user_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """Re-validate and canonicalise a user document, e.g. after PATCH (RFC 7644 §3.5.2)."""
    return validated(check_user_doc(prepared(doc, (*USER_READ_ONLY, "password"))))


def validate_group_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """Re-validate and canonicalise a group document, e.g. after PATCH (RFC 7644 §3.5.2)."""
    return validated(check_group_doc(prepared(doc, (*GROUP_READ_ONLY, "members"))))


def validated(result: dict[str, Any] | Problem) -> dict[str, Any]:
    if isinstance(result, Problem):
        raise InvalidInput(result.detail)
    return result


def prepared(body: object, read_only: tuple[str, ...]) -> dict[str, Any]:
    """Apply the body quirks (:mod:`gatehouse.resources.quirks`): nulls, string booleans, ``schemas`` and
    read-only attributes, which input "SHALL" not set (RFC 7644 §3.5.1)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object holding the resource's attributes.")
    fields = quirks.coerce_boolean_strings(quirks.drop_nulls(body))
    return quirks.drop_read_only(quirks.drop_schemas(fields), read_only)


def find_key(fields: Mapping[str, Any], name: str) -> str | None:
    """The key of ``fields`` naming attribute ``name`` in any case (RFC 7643 §2.1)."""
    lowered = name.lower()
    return next((key for key in fields if key.lower() == lowered), None)


def _check_required(fields: Mapping[str, Any], name: str) -> Problem | None:
    """A required string attribute must be present and not blank (RFC 7643 §2.2 ``required``)."""
    key = find_key(fields, name)
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
                primary = find_key(entry, "primary") if isinstance(entry, dict) else None
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
