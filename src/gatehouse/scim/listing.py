"""List and search parameters (RFC 7644 §3.4.2 and §3.4.3), parsed into one value, free of I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import InvalidInput, InvalidSyntax

SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list or ``.search`` request asks for, clamped as RFC 7644 §3.4.2.4 says."""

    filter: str | None = None
    start_index: int = 1
    count: int = 100
    sort_by: str | None = None
    descending: bool = False
    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()


MAX_START_INDEX = 2**53 - 1
"""The largest ``startIndex`` used: beyond it a page would be empty anyway, and it is the largest integer every
JSON parser reads exactly (RFC 8259 §6), so the ``startIndex`` echoed in a ListResponse stays readable."""

_INTEGER = re.compile(r"\s*([+-]?)0*([0-9]+)\s*", re.ASCII)
_HUGE = 10**40


def _integer(name: str, raw: Any) -> int | None:
    """An integer parameter: ASCII digits in a URL, a JSON integer (or integral number) in a SearchRequest.

    Values of any size are read (a number of more than 40 digits as 10**40), so that the clamps of
    :func:`build` apply to them instead of a 64-bit overflow in the database or the JSON encoder.
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise InvalidInput(f"'{name}' must be an integer.")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():  # 1e20 in a JSON body; never inf or NaN
        return int(raw)
    match = _INTEGER.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:40] + "…"
        raise InvalidInput(f"'{name}' must be an integer, not {shown}.")
    sign, digits = match.groups()
    value = int(digits) if len(digits) < 40 else _HUGE
    return -value if sign == "-" else value


def _names(raw: Any) -> tuple[str, ...]:
    """``attributes`` and ``excludedAttributes``: comma-separated in a URL, a list in a SearchRequest.

    A comma inside a value filter (``emails[value ew ",x"]``) does not separate names.
    """
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else _split_names(str(raw))
    return tuple(str(item).strip() for item in items if str(item).strip())


def _split_names(text: str) -> list[str]:
    """Split on the commas outside brackets and quoted strings."""
    if "[" not in text:
        return text.split(",")
    names: list[str] = []
    start = depth = 0
    quoted = escaped = False
    for index, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            names.append(text[start:index])
            start = index + 1
    names.append(text[start:])
    return names


def build(
    values: Mapping[str, Any],
    *,
    default_count: int,
    max_results: int,
) -> ListQuery:
    """Build a query from parameters whose names are matched case-insensitively.

    ``startIndex`` below 1 is read as 1, and one above :data:`MAX_START_INDEX` as that; a negative
    ``count`` as 0; a ``count`` above ``filter.maxResults`` is clamped to it (RFC 7644 §3.4.2.4).
    ``sortOrder`` is case-insensitive and defaults to ascending (§3.4.2.3).
    """
    lowered = {str(key).lower(): value for key, value in values.items()}
    start = _integer("startIndex", lowered.get("startindex"))
    count = _integer("count", lowered.get("count"))
    order = lowered.get("sortorder")
    if order is not None and str(order).lower() not in ("ascending", "descending", ""):
        raise InvalidInput("'sortOrder' must be 'ascending' or 'descending'.")
    raw_filter = lowered.get("filter")
    if raw_filter is not None and not isinstance(raw_filter, str):
        raise InvalidInput("'filter' must be a string.")
    sort_by = lowered.get("sortby")
    return ListQuery(
        filter=raw_filter if raw_filter and raw_filter.strip() else None,
        start_index=min(max(1, start if start is not None else 1), MAX_START_INDEX),
        count=min(max(0, count if count is not None else default_count), max_results),
        sort_by=str(sort_by) if sort_by else None,
        descending=str(order or "").lower() == "descending",
        attributes=_names(lowered.get("attributes")),
        excluded_attributes=_names(lowered.get("excludedattributes")),
    )


def from_search_request(body: Any, *, default_count: int, max_results: int) -> ListQuery:
    """A ``POST .search`` body (RFC 7644 §3.4.3); every member is optional."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The body of a search must be a SearchRequest object.")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise InvalidSyntax(f"A SearchRequest must list the schema '{SEARCH_REQUEST}'.")
    params = {key: value for key, value in body.items() if key != "schemas"}
    return build(params, default_count=default_count, max_results=max_results)
