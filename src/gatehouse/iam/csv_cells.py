"""Cells of the CSV exports (the audit log, the access review), RFC 4180 by :mod:`csv`, made safe to open in a
spreadsheet: text that would start a formula there (``=``, ``+``, ``-``, ``@``, a tab, a carriage return) is
prefixed with ``'`` (OWASP, CSV injection). A userName or a role name is whatever an IdP or an administrator typed,
and an export is opened by someone else. One rule for every export, so a fix reaches all of them."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import orjson

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as a cell: empty for ``None``, JSON for an object or a list, ISO 8601 for a time, else its text;
    prefixed with ``'`` when a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    elif isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
