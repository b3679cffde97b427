"""What the provisioning log keeps of a failed SCIM request's bodies: redacted, then capped.

Run at flush time, off the request (:mod:`gatehouse.scim.activity`). A JSON body is parsed and every member whose
name looks secret (``password``, ``secret``, ``token``, ``client_secret``, ``authorization``, ``bearer``, an API key,
a credential…; case-insensitive, at any depth) has its value replaced by ``"[redacted]"``, as has the ``value`` of a
SCIM PATCH operation whose ``path`` names such an attribute, and any string that starts with ``Bearer``. A body that
is not JSON, or was cut because it was larger than the middleware keeps, is redacted with patterns for the same
names instead (``"password": "…"``, ``password=…``, ``Bearer …``), the value cut short included. The result is
capped at :data:`MAX_BODY` characters, marked when truncated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

MAX_BODY: Final = 4096
"""Characters of a body stored (after redaction); a longer one is cut and marked."""

CAPTURE_LIMIT: Final = 16 * 1024
"""Bytes of each body the middleware keeps in memory to redact from."""

REDACTED: Final = "[redacted]"

_NAMES = r"pass(?:word|wd|phrase)|secret|token|authori[sz]ation|bearer|api[-_ ]?key|credential|private[-_ ]?key|cookie"
SECRET_NAME: Final = re.compile(_NAMES, re.IGNORECASE)
"""A JSON member (or SCIM attribute path) whose value is never stored."""

_STRING = r'"(?:[^"\\]|\\.)*"?'  # a JSON string, perhaps cut short
_SCALAR = r"[^\s,}\]]*"
_JSON_MEMBER = re.compile(rf'("[^"\\]*(?:{_NAMES})[^"\\]*"\s*:\s*)({_STRING}|{_SCALAR})', re.IGNORECASE)
_PATCH_VALUE = re.compile(
    rf'("path"\s*:\s*"[^"]*(?:{_NAMES})[^"]*"\s*,\s*"value"\s*:\s*)({_STRING}|{_SCALAR})', re.IGNORECASE
)
_PATCH_VALUE_FIRST = re.compile(
    rf'("value"\s*:\s*)({_STRING}|{_SCALAR})(\s*,\s*"path"\s*:\s*"[^"]*(?:{_NAMES})[^"]*")', re.IGNORECASE
)
_FORM_FIELD = re.compile(rf"((?:^|[?&;\s])[\w.-]*(?:{_NAMES})[\w.-]*=)[^&;\s]*", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[^\s\"',}]+", re.IGNORECASE)


def stored_body(chunks: Sequence[bytes], size: int) -> str | None:
    """The text kept of a body received or sent in ``chunks`` (at most :data:`CAPTURE_LIMIT` bytes of it) whose
    whole length was ``size`` bytes; ``None`` for an empty body."""
    if not size:
        return None
    raw = b"".join(chunks)
    complete = len(raw) >= size
    text = raw.decode("utf-8", "replace")
    shown = _redacted_json(text) if complete else None
    if shown is None:
        shown = redact_text(text)
    if len(shown) <= MAX_BODY and complete:
        return shown
    return shown[:MAX_BODY] + f"\n… [truncated: {size} bytes in all]"


def _redacted_json(text: str) -> str | None:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.dumps(redact(json.loads(stripped)), ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        return None


def redact(value: Any) -> Any:
    """``value`` (parsed JSON) with every secret replaced by :data:`REDACTED` (see the module)."""
    if isinstance(value, dict):
        shown = {key: REDACTED if SECRET_NAME.search(key) else redact(item) for key, item in value.items()}
        path = value.get("path")
        if isinstance(path, str) and SECRET_NAME.search(path) and "value" in shown:
            shown["value"] = REDACTED  # a SCIM PATCH operation on a password
        return shown
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and value[:7].lower() == "bearer ":
        return REDACTED
    return value


def redact_text(text: str) -> str:
    """A body that is not (whole) JSON with the same secrets replaced, by patterns."""
    quoted = f'"{REDACTED}"'
    text = _PATCH_VALUE.sub(lambda m: m.group(1) + quoted, text)
    text = _PATCH_VALUE_FIRST.sub(lambda m: m.group(1) + quoted + m.group(3), text)
    text = _JSON_MEMBER.sub(lambda m: m.group(1) + quoted, text)
    text = _FORM_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
