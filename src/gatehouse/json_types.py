"""How error messages name the type of a value parsed from JSON (foundation: imports nothing of Gatehouse)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def json_type(value: object) -> str:
    """``null``, ``a boolean``, ``a number``, ``a string``, ``an array`` or ``an object``, as in "must be a
    string, not a number"; a value JSON cannot hold is named by its Python type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "an array"
    return type(value).__name__
