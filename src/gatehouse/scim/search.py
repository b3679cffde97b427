"""``POST /.search`` at the service root (RFC 7644 §3.4.3): one result list across resource types.

Users come first, then Groups, each in its own stable order; a filter attribute that one type does
not know evaluates to false for that type (RFC 7644 §3.4.2.1), and fails only if no type knows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from gatehouse.errors import InvalidFilter
from gatehouse.resources.schemas import GROUP_SCHEMA, USER_SCHEMA
from gatehouse.scim.filter import compile_filter
from gatehouse.scim.listing import ListQuery
from gatehouse.scim.projection import Projection
from gatehouse.scim.render import list_response
from gatehouse.store.database import Connection

_TYPES = (("Users", "User", USER_SCHEMA), ("Groups", "Group", GROUP_SCHEMA))


def search_all(connection: Connection, query: ListQuery, services: Mapping[str, Any]) -> bytes:
    """Search every resource type and page over the concatenated results."""
    usable = []
    errors: list[InvalidFilter] = []
    for collection, resource, schema in _TYPES:
        if query.filter:
            try:
                compile_filter(query.filter, resource, connection.dialect.name)  # type: ignore[arg-type]
            except InvalidFilter as exc:
                errors.append(exc)
                continue
        usable.append((collection, schema))
    if not usable:
        raise errors[0]
    total = 0
    resources: list[bytes] = []
    skip = query.start_index - 1
    wanted = query.count
    for collection, schema in usable:
        projection = Projection(schema, query.attributes, query.excluded_attributes)
        service = services[collection]
        head = orjson.loads(service.search(connection, replace(query, start_index=1, count=0), projection))
        found = int(head["totalResults"])
        total += found
        if wanted > 0 and skip < found:
            page = orjson.loads(
                service.search(connection, replace(query, start_index=skip + 1, count=wanted), projection)
            )
            for item in page["Resources"]:
                resources.append(orjson.dumps(item))
            wanted -= len(page["Resources"])
        skip = max(0, skip - found)
    return list_response(total, query.start_index, resources)
