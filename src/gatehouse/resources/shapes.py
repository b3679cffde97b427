"""Canonical user documents by shape: one scim2-models validation for every body of one shape.

An identity provider creates its users with one body shape (Okta: ``userName``, ``name``, ``emails``,
``displayName``, ``locale``, ``externalId``, ``active``), and only free text differs from user to user. Validating
and dumping a user with scim2-models (RFC 7643 §4.1) costs a fifth of a SCIM create's CPU, and for the
attributes in :data:`FREE_TEXT` neither depends on their value: they are plain strings to the models (no
validator, no serializer, kept as sent; the policy's default comparison key checks none of them).

So a body's *shape* is the body with each non-empty free-text string replaced by a placeholder holding
NUL (which no value can hold: :func:`gatehouse.resources.documents.check_user_doc` refuses it before). The
first body of a shape is validated as it is, and its shape too; the shape's document is kept only when filling
its placeholders with the body's values gives exactly the body's own document. A later body of that shape gets
the kept document with its own values filled in: the document its own validation would give. Everything else
(keys and their case, booleans, numbers, every other string such as ``emails.type`` or ``locale``) is part of
the shape, compared exactly. An invalid body is never kept and always validated as it is. Pure: no I/O; a
bounded map of at most :data:`MAX_SHAPES` shapes per process, of validation results only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import orjson

from gatehouse.resources.schemas import ENTERPRISE_SCHEMA

R = TypeVar("R")

_NAME = ("formatted", "familyname", "givenname", "middlename", "honorificprefix", "honorificsuffix")
_ENTERPRISE = ("employeenumber", "costcenter", "organization", "division", "department")
FREE_TEXT: Final = frozenset(
    {
        ("username",),
        ("externalid",),
        ("displayname",),
        ("nickname",),
        ("title",),
        ("emails", "value"),
        ("emails", "display"),
        *(("name", part) for part in _NAME),
        *((ENTERPRISE_SCHEMA.lower(), part) for part in _ENTERPRISE),
    }
)
"""The attributes (lower-cased paths, list entries transparent) whose string values the User models take as
they are: ``str`` fields without validator or serializer (checked by ``tests/resources/test_shapes.py``)."""

MAX_SHAPES: Final = 256
"""Shapes kept at most; past it the map starts afresh."""

_MARK = "\x00"
_kept: dict[bytes, Any] = {}
_lock = threading.Lock()


def canonical_by_shape(fields: Mapping[str, Any], canonical: Callable[[Mapping[str, Any]], R]) -> R:
    """``canonical(fields)`` (a NUL-free, pruned user body to its document or its problem), from the kept
    document of the body's shape when there is one (see the module)."""
    values: list[str] = []
    shape = _shaped(fields, (), values)
    if not values:
        return canonical(fields)
    try:
        key = orjson.dumps(shape)
    except orjson.JSONEncodeError:  # a value JSON cannot hold (an integer past 64 bits): validated as it is
        return canonical(fields)
    kept = _kept.get(key)
    if kept is not None:
        return _filled(kept, values)  # type: ignore[no-any-return]
    result = canonical(fields)
    if isinstance(result, dict):
        document = canonical(shape)
        if isinstance(document, dict) and orjson.dumps(_filled(document, values)) == orjson.dumps(result):
            with _lock:
                if len(_kept) >= MAX_SHAPES:
                    _kept.clear()
                _kept[key] = document
    return result


def _shaped(value: Any, path: tuple[str, ...], values: list[str]) -> Any:
    """``value`` with each non-empty free-text string replaced by the placeholder of its index in ``values``."""
    if isinstance(value, dict):
        return {key: _shaped(item, (*path, key.lower()), values) for key, item in value.items()}
    if isinstance(value, list):
        return [_shaped(item, path, values) for item in value]
    if isinstance(value, str) and value and path in FREE_TEXT:
        values.append(value)
        return f"{_MARK}{len(values) - 1}"
    return value


def _filled(value: Any, values: list[str]) -> Any:
    """A copy of a shape's document with each placeholder replaced by its value."""
    if isinstance(value, dict):
        return {key: _filled(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, values) for item in value]
    if isinstance(value, str) and value.startswith(_MARK):
        return values[int(value[1:])]
    return value
