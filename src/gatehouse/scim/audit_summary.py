"""What the audit log keeps of a SCIM change: the request (method, path), the resource's name as it was then
(``userName`` / ``displayName`` of the answer), and for a PATCH which attributes it changed and, for ``active``,
the new value (so a deactivation reads as one). Never another value: a PATCH may carry a password."""

from __future__ import annotations

from typing import Any

import orjson

_FALSE = ("false", "False", "FALSE")
_TRUE = ("true", "True", "TRUE")


def _active(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _FALSE + _TRUE:
        return value in _TRUE
    return None


def patch_changes(body: object) -> dict[str, Any]:
    """The attributes a PATCH body touches (paths, or the keys of a pathless value) and ``active`` if set."""
    operations = body.get("Operations") if isinstance(body, dict) else None
    changed: list[str] = []
    found: dict[str, Any] = {}
    for operation in operations if isinstance(operations, list) else []:
        if not isinstance(operation, dict):
            continue
        path, value = operation.get("path"), operation.get("value")
        if isinstance(path, str) and path:
            changed.append(path[:100])
            if path.lower() == "active" and _active(value) is not None:
                found["active"] = _active(value)
        elif isinstance(value, dict):
            changed.extend(str(key)[:100] for key in value)
            for key, inner in value.items():
                if str(key).lower() == "active" and _active(inner) is not None:
                    found["active"] = _active(inner)
    if changed:
        found["changed"] = sorted(set(changed))[:50]
    return found


def summary(method: str, path: str, body: object, result: object) -> dict[str, Any]:
    """The audit summary of a SCIM change (see the module)."""
    found: dict[str, Any] = {"method": method, "path": path}
    raw = getattr(result, "body", None)
    if isinstance(raw, bytes | str) and raw:
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            name = document.get("userName") or document.get("displayName")
            if isinstance(name, str):
                found["name"] = name[:255]
    if method == "PATCH":
        found.update(patch_changes(body))
    return found
