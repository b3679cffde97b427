"""Group provisioning use cases (RFC 7644 §3.3–§3.6 for Groups): no HTTP, no commit.

Memberships are rows: a PATCH that adds or removes members touches those rows only, and answers 204
unless the request asks for the resource (a 100k-member group is not sent back on every change).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import orjson

from gatehouse.errors import InvalidInput, existing
from gatehouse.scim.item_write import ItemWrite
from gatehouse.scim.listing import ListQuery
from gatehouse.scim.paging import search_page
from gatehouse.scim.patch import MemberOp, patch_group
from gatehouse.scim.payload import parse_group
from gatehouse.scim.preconditions import Precondition
from gatehouse.scim.projection import Projection
from gatehouse.scim.render import Renderer, list_response
from gatehouse.scim.users import SCIM_SOURCE, Rendered
from gatehouse.store import groups as store
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection
from gatehouse.store.records import StoredResource, utcnow


class GroupService:
    """The Group endpoint's operations, for one renderer (public URL)."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def _render(self, connection: Connection, stored: StoredResource, projection: Projection) -> Rendered:
        members = store.members_of(connection, [stored.id])[stored.id] if projection.includes("members") else None
        body = self.renderer.group(stored, members, projection)
        return Rendered(stored.id, body, f'W/"{stored.version}"', self.renderer.group_location(stored.id))

    def _load(self, connection: Connection, group_id: str) -> StoredResource:
        return existing(store.get(connection, group_id), f"Group {group_id} not found.")

    def version_of(self, connection: Connection, group_id: str) -> int:
        """The current version of a group (for ``If-None-Match``)."""
        return self._load(connection, group_id).version

    def get(self, connection: Connection, group_id: str, projection: Projection) -> Rendered:
        """GET /Groups/{id} (RFC 7644 §3.4.1); Entra asks ``excludedAttributes=members``."""
        return self._render(connection, self._load(connection, group_id), projection)

    def search(self, connection: Connection, query: ListQuery, projection: Projection) -> bytes:
        """GET /Groups and POST /Groups/.search (RFC 7644 §3.4.2, §3.4.3), entirely in SQL."""
        total, stored = search_page(store.search, connection, query, "Group")
        members = store.members_of(connection, [g.id for g in stored]) if projection.includes("members") else {}
        bodies = [self.renderer.group(g, members.get(g.id), projection) for g in stored]
        return list_response(total, query.start_index, bodies)

    def create(self, connection: Connection, body: object, projection: Projection) -> Rendered:
        """POST /Groups (RFC 7644 §3.3): members, if any, must be provisioned users."""
        parsed = parse_group(body)
        group_id = str(uuid.uuid4())
        now = utcnow()
        stored = store.insert(connection, store.GroupWrite(group_id, parsed.doc), now)
        if parsed.member_ids:
            store.add_members(
                connection, group_id, self._checked(connection, parsed.member_ids), parsed.member_displays
            )
        return self._render(connection, stored, projection)

    def replace(self, connection: Connection, write: ItemWrite) -> Rendered:
        """PUT /Groups/{id} (RFC 7644 §3.5.1): the member list becomes the one given (none if absent)."""
        group_id = write.resource_id
        stored, expected = write.locked(connection, store.lock, self._load)
        parsed = parse_group(write.body)
        doc = dict(parsed.doc)
        current = orjson.loads(stored.data)
        if "externalId" not in doc and "externalId" in current:
            doc["externalId"] = current["externalId"]
        updated = store.update(connection, store.GroupWrite(group_id, doc), expected, utcnow())
        store.replace_members(
            connection, group_id, self._checked(connection, parsed.member_ids or []), parsed.member_displays
        )
        return self._render(connection, updated, write.projection)

    def patch(self, connection: Connection, write: ItemWrite) -> Rendered | None:
        """PATCH /Groups/{id} (RFC 7644 §3.5.2). Returns the resource only when ``write.answer``. Entra ID
        sends membership changes of one group in parallel: they queue on the group's row lock."""
        group_id = write.resource_id
        stored, expected = write.locked(connection, store.lock, self._load)
        doc = orjson.loads(stored.data)
        doc.pop("id", None)
        patched = patch_group(doc, write.body)
        now = utcnow()
        if patched.doc != doc:
            stored = store.update(connection, store.GroupWrite(group_id, patched.doc), expected, now)
        elif patched.member_ops:
            store.touch(connection, group_id, expected, now)
        for op in patched.member_ops:
            self._apply(connection, group_id, op)
        if not write.answer:
            return None
        return self._render(connection, self._load(connection, group_id), write.projection)

    def _apply(self, connection: Connection, group_id: str, op: MemberOp) -> None:
        if op.kind == "add":
            store.add_members(connection, group_id, self._checked(connection, op.ids), op.displays)
        elif op.kind == "remove":
            store.remove_members(connection, group_id, op.ids)
        elif op.kind == "replace":
            store.replace_members(connection, group_id, self._checked(connection, op.ids), op.displays)
        else:
            store.clear_members(connection, group_id)

    def delete(
        self, connection: Connection, group_id: str, precondition: Precondition | None, *, caller: object = None
    ) -> None:
        """DELETE /Groups/{id} (RFC 7644 §3.6)."""
        stored = self._load(connection, group_id)
        expected = precondition.check(stored.version) if precondition else None
        store.delete(connection, group_id, expected)

    @staticmethod
    def _checked(connection: Connection, member_ids: Sequence[str]) -> list[str]:
        """Member ids, each of which must be a provisioned user."""
        ids = list(dict.fromkeys(member_ids))
        found = user_store.existing_ids(connection, ids, source=SCIM_SOURCE)
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise InvalidInput(f"Group members must be provisioned users; unknown member id(s): {shown}.")
        return ids
