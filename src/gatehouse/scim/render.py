"""Rendering of SCIM responses as bytes (RFC 7644 §3.4.2 ListResponse, RFC 7643 §3.1 ``meta``).

The stored canonical JSON of a resource is served as it is: only what derives from other rows
(``groups`` or ``members``) and ``meta`` (whose ``location`` comes from the configured public URL) are
spliced onto it. The document is parsed only when a projection asks for a subset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from gatehouse.scim.projection import Projection
from gatehouse.store.records import Reference, StoredResource

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def etag(version: int) -> str:
    """The weak entity tag of a resource version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


def meta(resource_type: str, stored: StoredResource, location: str) -> dict[str, object]:
    """The ``meta`` complex attribute (RFC 7643 §3.1); its times stay ``datetime`` objects, which :func:`_splice`
    writes as RFC 3339 ``dateTime`` in UTC (``2026-12-07T15:00:00.123456Z``, the fraction only when there is
    one): orjson's own formatting, a fifth of ``isoformat`` and a ``replace``, twice a resource."""
    return {
        "resourceType": resource_type,
        "created": stored.created,
        "lastModified": stored.last_modified,
        "location": location,
        "version": etag(stored.version),
    }


def _splice(data: str, tail: dict[str, Any]) -> bytes:
    """Append ``tail``'s members to the stored JSON object text without parsing it."""
    return data.encode()[:-1] + b"," + orjson.dumps(tail, option=orjson.OPT_UTC_Z)[1:]


def _project(body: bytes, projection: Projection) -> bytes:
    if projection.is_identity:
        return body
    return orjson.dumps(projection.apply(orjson.loads(body)))


class Renderer:
    """Renders resources for one public base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def user_location(self, user_id: str) -> str:
        return f"{self.base_url}/Users/{user_id}"

    def group_location(self, group_id: str) -> str:
        return f"{self.base_url}/Groups/{group_id}"

    def user(self, stored: StoredResource, groups: Sequence[Reference], projection: Projection) -> bytes:
        """A User with its computed ``groups`` (RFC 7643 §4.1.2)."""
        tail: dict[str, Any] = {}
        if groups:
            tail["groups"] = [
                {"value": g.id, "$ref": self.group_location(g.id), "display": g.display, "type": "direct"}
                for g in groups
            ]
        tail["meta"] = meta("User", stored, self.user_location(stored.id))
        return _project(_splice(stored.data, tail), projection)

    def group(self, stored: StoredResource, members: Sequence[Reference] | None, projection: Projection) -> bytes:
        """A Group; ``members`` is ``None`` when the projection leaves it out (never queried)."""
        tail: dict[str, Any] = {}
        if members:
            tail["members"] = [
                {"value": m.id, "$ref": self.user_location(m.id), "display": m.display, "type": "User"} for m in members
            ]
        tail["meta"] = meta("Group", stored, self.group_location(stored.id))
        return _project(_splice(stored.data, tail), projection)


def list_response(total: int, start_index: int, resources: Sequence[bytes]) -> bytes:
    """A ListResponse (RFC 7644 §3.4.2) around already rendered resources."""
    head = orjson.dumps(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": len(resources),
        }
    )
    return head[:-1] + b',"Resources":[' + b",".join(resources) + b"]}"


def error(status: int, detail: str, scim_type: str | None = None) -> bytes:
    """An Error message (RFC 7644 §3.12): ``status`` is a string."""
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return orjson.dumps(body)
