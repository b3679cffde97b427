"""Normalisations of what real identity providers send, applied before validation and PATCH.

Each function undoes one documented deviation from RFC 7643/7644 (sources in ``idp-wire.md``), so the
validation in ``payload`` and the engine in ``patch`` can stay RFC-shaped. They are pure: they never
mutate their input and return new containers where they change something.

Two tolerances need no function, as the RFC-shaped code already has them:

- an ``add`` on ``active`` (Entra ID, rancher/rancher#54025) is a replace, since RFC 7644 §3.5.2.1
  makes an add on a single-valued attribute replace its value;
- unknown extension blocks and unknown attributes (Okta's ``urn:okta:custom:group:1.0``) are ignored
  by validation (scim2-models' ``ScimPolicy.Unknown.ignore``) and by pathless PATCH values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

OPERATIONS = frozenset({"add", "remove", "replace"})
"""The PATCH operations of RFC 7644 §3.5.2."""

BOOLEAN_ATTRIBUTES = frozenset({"active", "primary"})
"""The boolean attributes of the User and Group schemas (RFC 7643 §4.1.1 ``active``, §2.4 ``primary``)."""

_BOOLEAN_STRINGS = {"true": True, "false": False}
_FILTERS = re.compile(r"\[[^\]]*\]")
_MANAGER_PATH = re.compile(r"(?:.*:)?manager", re.IGNORECASE)
_ATTRIBUTE_NAME = re.compile(r"\$?[A-Za-z][A-Za-z0-9$_-]*")


def normalize_op_name(op: object) -> str | None:
    """Return the RFC 7644 §3.5.2 name of a PATCH ``op`` given in any case, or None if it is none.

    Entra ID sends ``Add``, ``Replace`` and ``Remove`` capitalised, and Microsoft's own guidance is
    "don't require a case-sensitive match"; zitadel#9282 and others broke on it.
    """
    if not isinstance(op, str):
        return None
    name = op.strip().lower()
    return name if name in OPERATIONS else None


def _as_boolean(value: Any) -> Any:
    """``"True"``/``"false"`` (any case) as a bool; anything else unchanged."""
    if isinstance(value, str):
        return _BOOLEAN_STRINGS.get(value.strip().lower(), value)
    return value


def coerce_boolean_strings(value: Any) -> Any:
    """Turn string booleans into booleans for ``active`` and ``primary``, at any depth.

    Entra ID without the ``aadOptscim062020`` flag sends ``"active": "False"``; scimmyjs#86 saw
    ``"false"``; the Entra SCIM validator posts ``"roles": [{"primary": "True", ...}]`` and fails a
    server that echoes the string back. RFC 7643 §2.3.2 makes them JSON booleans.
    """
    if isinstance(value, dict):
        return {
            key: _as_boolean(item) if key.lower() in BOOLEAN_ATTRIBUTES else coerce_boolean_strings(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [coerce_boolean_strings(item) for item in value]
    return value


def last_attribute_name(path: str) -> str:
    """The lower-cased name of the attribute a path ends on: ``emails[type eq "w"].primary`` → primary."""
    unfiltered = _FILTERS.sub("", path)
    return re.split(r"[:.]", unfiltered)[-1].strip().lower()


def coerce_boolean_at_path(path: str | None, value: Any) -> Any:
    """Coerce a PATCH value: a bare string for a path ending on ``active``/``primary``, else nested keys.

    Entra ID disables a user with ``{"op": "Replace", "path": "active", "value": "False"}``.
    """
    if path is not None and last_attribute_name(path) in BOOLEAN_ATTRIBUTES:
        return _as_boolean(value)
    return coerce_boolean_strings(value)


def drop_nulls(value: Any) -> Any:
    """Remove null members of objects and null entries of arrays, at any depth.

    Entra ID's documented create body carries ``"addresses": null``, ``"phoneNumbers": null`` and
    ``"manager": null``; its member add carries ``"$ref": null``. RFC 7643 §2.5 makes null the same as
    unassigned, so leaving the key out says the same thing.
    """
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value if item is not None]
    return value


def drop_schemas(body: Mapping[str, Any]) -> dict[str, Any]:
    """Leave out the ``schemas`` a client sent: the server rebuilds it from the attributes present.

    OneLogin's "Core Schema" template sends ``urn:scim:schemas:core:1.0`` to a 2.0 endpoint, Entra ID
    has been seen sending the mistyped ``...:enterprise:2.0User``, and Entra ID creates groups with
    Microsoft's ``http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group``. RFC 7643
    §3 defines ``schemas`` as describing what the representation holds, which the server knows.
    """
    return {key: item for key, item in body.items() if key.lower() != "schemas"}


def drop_read_only(body: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Leave out read-only attributes (compared case-insensitively), which input must not set.

    Okta's PUT sends back ``id``, ``meta`` (old docs show ``meta.created`` as the non-ISO
    ``"04-12-2018 00:00:00"``) and ``groups: []``; its create body also sends ``groups: []``; its
    group rename PATCH carries ``id`` inside the value. RFC 7644 §3.5.1: readOnly values provided
    "SHALL be ignored".
    """
    dropped = {name.lower() for name in names}
    return {key: item for key, item in body.items() if key.lower() not in dropped}


def targets_manager(path: str | None) -> bool:
    """Whether a PATCH path is the enterprise ``manager`` itself, qualified by its URN or not."""
    return path is not None and _MANAGER_PATH.fullmatch(path.strip()) is not None


def unwrap_manager_list(path: str | None, value: Any) -> Any:
    """Take the single entry of an array sent for the single-valued ``manager``.

    Entra ID's older tutorial: ``{"op": "Add", "path": "manager", "value": [{"$ref": "…/Users/ID",
    "value": "ID"}]}``. RFC 7643 §4.3 defines ``manager`` as a single complex value.
    """
    if targets_manager(path) and isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def is_manager_removal(path: str | None, value: Any) -> bool:
    """Whether an add/replace on ``manager`` carries an empty value, meaning "no manager".

    The Entra SCIM validator removes a manager with ``{"op": "replace", "path":
    "urn:...:enterprise:2.0:User:manager", "value": {"value": ""}}`` (pranems/SCIMServer captures).
    """
    if not targets_manager(path):
        return False
    if value is None or value == "":
        return True
    if isinstance(value, dict):
        ids = [item for key, item in value.items() if key.lower() == "value"]
        return all(item in (None, "") for item in ids)
    return False


def _split_urn(key: str, core_urn: str, extension_urns: Sequence[str]) -> tuple[str | None, str]:
    """Split ``<schema URN>:<rest>`` into the canonical extension URN (None for core) and the rest."""
    lowered = key.lower()
    for urn in (core_urn, *extension_urns):
        prefix = urn.lower()
        if lowered == prefix or lowered.startswith(prefix + ":"):
            return (None if urn == core_urn else urn), key[len(urn) + 1 :]
    return None, key


def _put(target: dict[str, Any], segments: Sequence[str], value: Any) -> None:
    """Set ``value`` at the nested ``segments`` of ``target``, merging objects that meet."""
    head, *tail = segments
    if not tail:
        existing = target.get(head)
        if isinstance(existing, dict) and isinstance(value, dict):
            target[head] = {**existing, **value}
        else:
            target[head] = value
        return
    child = target.get(head)
    child = dict(child) if isinstance(child, dict) else {}
    _put(child, tail, value)
    target[head] = child


def expand_pathless_keys(value: Mapping[str, Any], core_urn: str, extension_urns: Sequence[str]) -> dict[str, Any]:
    """Nest the attribute-path keys of a pathless PATCH value into the object shape of RFC 7644 §3.5.2.

    With ``aadOptscim062020``, Entra ID folds its replaces into one pathless replace whose keys are
    paths: ``{"name.givenName": "K", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:
    employeeNumber": "A"}`` (SCIM-SDK broke on it, scim-for-keycloak#26). They become ``{"name":
    {"givenName": "K"}, "urn:...:enterprise:2.0:User": {"employeeNumber": "A"}}``, so a replace of
    ``name`` keeps its other sub-attributes (RFC 7644 §3.5.2.3). Keys holding a value filter (``[``)
    are left as they are: they are not attribute names, and are ignored like other unknown keys.
    """
    result: dict[str, Any] = {}
    for key, item in value.items():
        if "[" in key:
            result[key] = item
            continue
        urn, rest = _split_urn(key, core_urn, extension_urns)
        segments = [urn] if urn is not None else []
        if rest:
            segments.extend(rest.split(".", 1))
        if not segments:  # the core schema URN alone: its object holds core attributes
            if isinstance(item, dict):
                for inner_key, inner in item.items():
                    _put(result, [inner_key], inner)
            continue
        _put(result, segments, item)
    return result


def _selector(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The sub-attributes selecting an entry: its ``value`` if it has one (RFC 7643 §2.4), else all."""
    values = {key: sub for key, sub in item.items() if key.lower() == "value" and sub is not None}
    chosen = values or {key: sub for key, sub in item.items() if sub is not None}
    if not chosen:
        return None
    for key, sub in chosen.items():
        if not _ATTRIBUTE_NAME.fullmatch(key) or not isinstance(sub, str | int | float | bool):
            return None
    return chosen


def _clause(selector: Mapping[str, Any], parenthesised: bool) -> str:
    text = " and ".join(f"{key} eq {json.dumps(sub, ensure_ascii=False)}" for key, sub in selector.items())
    return f"({text})" if parenthesised and len(selector) > 1 else text


def remove_value_as_filter(path: str | None, value: Any) -> str | None:
    """Rewrite a ``remove`` that lists the values to remove into the equivalent filtered path.

    Entra ID without ``aadOptscim062020`` (and JumpCloud) remove members with ``{"op": "Remove",
    "path": "members", "value": [{"value": "u1"}]}``; RFC 7644 §3.5.2.2 gives a remove no value, and
    reading it as "remove all members" wiped groups (simpleidserver#244). The rule (vouch#1415):
    remove + path + value removes the listed entries, so it becomes ``members[value eq "u1"]``.
    Returns None when the operation is not of that form (a filtered path, no or an empty list, or
    entries that cannot be expressed as a filter).
    """
    if path is None or "[" in path:
        return None
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        return None
    selectors = [_selector(item) if isinstance(item, dict) else None for item in items]
    if any(selector is None for selector in selectors):
        return None
    clauses = [_clause(selector, len(selectors) > 1) for selector in selectors if selector is not None]
    return f"{path.strip()}[{' or '.join(clauses)}]"
