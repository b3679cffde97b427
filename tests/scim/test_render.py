"""The rendering of a stored resource: its stored JSON served as it is, ``meta`` spliced on (RFC 7643 §3.1)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from gatehouse.resources.schemas import USER_SCHEMA
from gatehouse.scim.projection import Projection
from gatehouse.scim.render import Renderer
from gatehouse.store.records import Reference, StoredResource


def test_meta_times_are_rfc3339_in_utc_with_a_fraction_only_when_there_is_one() -> None:
    """``created`` and ``lastModified`` as RFC 3339 ``dateTime`` with ``Z`` (what ``isoformat`` gives, ``+00:00``
    written ``Z``); the location and the weak ETag from the version; the stored members untouched."""
    created = datetime(2026, 12, 7, 15, 0, 0, tzinfo=UTC)
    changed = datetime(2026, 12, 7, 15, 0, 1, 120000, tzinfo=UTC)
    stored = StoredResource("u1", '{"userName":"ann","active":true}', 3, created, changed)
    group = Reference("g1", "Ops")
    body = orjson.loads(Renderer("https://gh.example/scim/v2/").user(stored, [group], Projection(USER_SCHEMA)))
    assert body["userName"] == "ann" and body["active"] is True
    assert body["meta"] == {
        "resourceType": "User",
        "created": "2026-12-07T15:00:00Z",
        "lastModified": "2026-12-07T15:00:01.120000Z",
        "location": "https://gh.example/scim/v2/Users/u1",
        "version": 'W/"3"',
    }
    assert body["meta"]["lastModified"] == changed.isoformat().replace("+00:00", "Z")
    assert body["groups"] == [
        {"value": "g1", "$ref": "https://gh.example/scim/v2/Groups/g1", "display": "Ops", "type": "direct"}
    ]
