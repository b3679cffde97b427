"""User provisioning use cases (RFC 7644 §3.3, §3.4.1, §3.5, §3.6): no HTTP, no commit.

Each function runs inside the request's transaction and raises :mod:`gatehouse.errors`. SCIM sees
and changes only users whose source is SCIM; a local account (such as a Super Admin) is invisible.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from gatehouse.errors import Conflict, NotFound, existing
from gatehouse.iam import access, scim_control, scim_guard
from gatehouse.passwords import hash_password
from gatehouse.scim.auth import ScimClient
from gatehouse.scim.item_write import ItemWrite
from gatehouse.scim.listing import ListQuery
from gatehouse.scim.paging import search_page
from gatehouse.scim.patch import patch_user
from gatehouse.scim.payload import parse_user, with_manager_ref
from gatehouse.scim.preconditions import Precondition
from gatehouse.scim.projection import Projection
from gatehouse.scim.render import Renderer, list_response
from gatehouse.store import lookups, user_events
from gatehouse.store import users as store
from gatehouse.store.database import Connection
from gatehouse.store.records import Reference, StoredUser, utcnow
from gatehouse.store.user_events import UserEventKind

SCIM_SOURCE = "scim"
ACTOR = "SCIM"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered resource and its entity tag."""

    id: str
    body: bytes
    etag: str
    location: str


class UserService:
    """The User endpoint's operations, for one renderer (public URL)."""

    def __init__(self, renderer: Renderer, guard: scim_guard.Policy | None = None) -> None:
        self.renderer = renderer
        self.guard = guard or scim_guard.Policy(enabled=False)
        """The mass-deprovisioning guard's settings (:mod:`gatehouse.iam.scim_guard`)."""

    def _render(
        self,
        connection: Connection,
        stored: StoredUser,
        projection: Projection,
        groups: list[Reference] | None = None,
    ) -> Rendered:
        if groups is None:
            groups = lookups.groups_of_user(connection, stored.id) if projection.includes("groups") else []
        body = self.renderer.user(stored, groups, projection)
        return Rendered(stored.id, body, f'W/"{stored.version}"', self.renderer.user_location(stored.id))

    def _load(self, connection: Connection, user_id: str) -> StoredUser:
        stored = store.get(connection, user_id)
        if stored is None or stored.source != SCIM_SOURCE or stored.super_admin:
            raise NotFound(f"User {user_id} not found.")
        return stored

    def version_of(self, connection: Connection, user_id: str) -> int:
        """The current version of a visible user (for ``If-None-Match``)."""
        return self._load(connection, user_id).version

    def get(self, connection: Connection, user_id: str, projection: Projection) -> Rendered:
        """GET /Users/{id} (RFC 7644 §3.4.1): one indexed statement, the stored JSON served as is."""
        return self.found(lookups.user_by_id(connection, user_id), user_id, projection)

    def found(self, found: lookups.UserFound | None, user_id: str, projection: Projection) -> Rendered:
        """GET /Users/{id} of a user already read (with the token: :func:`gatehouse.scim.auth.authenticate_reading`)."""
        stored, groups = existing(found, f"User {user_id} not found.")
        body = self.renderer.user(stored, groups, projection)
        return Rendered(stored.id, body, f'W/"{stored.version}"', self.renderer.user_location(stored.id))

    def search(self, connection: Connection, query: ListQuery, projection: Projection) -> bytes:
        """GET /Users and POST /Users/.search (RFC 7644 §3.4.2, §3.4.3), entirely in SQL."""
        user_name = user_name_filtered(query.filter)
        if user_name is not None:
            return self._search_user_name(connection, user_name, query, projection)
        total, ids = search_page(partial(store.search_ids, source=SCIM_SOURCE), connection, query, "User")
        return list_response(total, query.start_index, self._render_many(connection, ids, projection) if ids else [])

    def _search_user_name(
        self, connection: Connection, user_name: str, query: ListQuery, projection: Projection
    ) -> bytes:
        """``userName eq "x"``, the existence check every IdP sends: at most one user (unique index)."""
        return self.named(lookups.user_by_name(connection, user_name), query, projection)

    def named(self, found: lookups.UserFound | None, query: ListQuery, projection: Projection) -> bytes:
        """The ListResponse of a ``userName eq`` filter (:func:`user_name_filtered`) whose user was already read."""
        total = 0 if found is None else 1
        if found is None or query.count == 0 or query.start_index > 1:
            return list_response(total, query.start_index, [])
        stored, groups = found
        return list_response(1, 1, [self.renderer.user(stored, groups, projection)])

    def _render_many(self, connection: Connection, ids: list[str], projection: Projection) -> list[bytes]:
        found = lookups.users_by_ids(connection, ids)
        return [self.renderer.user(found[i][0], found[i][1], projection) for i in ids if i in found]

    def create(self, connection: Connection, body: object, projection: Projection) -> Rendered:
        """POST /Users (RFC 7644 §3.3): 201 with the resource, or 409 ``uniqueness``."""
        parsed = parse_user(body)
        hashing = parsed.password is not None and scim_control.password_sign_in(connection)
        if hashing:  # a password hash costs tens of milliseconds: never for a userName already taken
            existing = store.get_by_user_name(connection, str(parsed.doc["userName"]))
            if existing is not None:
                raise _taken(existing)
        write = store.UserWrite(
            id=str(uuid.uuid4()),
            doc=with_manager_ref(parsed.doc, self.renderer.user_location),
            source=SCIM_SOURCE,
            password_hash=hash_password(parsed.password) if hashing and parsed.password else None,
        )
        now = utcnow()
        created, made = store.insert_unless_taken(connection, write, now)  # the unique index decides
        if not made:
            raise _taken(created)
        user_events.record(connection, created.id, UserEventKind.CREATED, ACTOR, now)
        return self._render(connection, created, projection, groups=[])

    def replace(self, connection: Connection, write: ItemWrite) -> Rendered:
        """PUT /Users/{id} (RFC 7644 §3.5.1). ``active``, ``externalId`` and a stored password are
        kept when the body omits them (Okta's PUT leaves them out)."""
        stored, expected = write.locked(connection, store.lock, self._load)
        parsed = parse_user(write.body)
        doc = dict(parsed.doc)
        current = orjson.loads(stored.data)
        for key in ("active", "externalId"):
            if key not in parsed.present and key in current:
                doc[key] = current[key]
        return self._write(connection, stored, doc, parsed.password, expected, write)

    def patch(self, connection: Connection, write: ItemWrite) -> Rendered:
        """PATCH /Users/{id} (RFC 7644 §3.5.2): lock, load, apply, validate, write at the loaded version (a
        concurrent PATCH waits for this one rather than failing with 412 when the client sent no ``If-Match``)."""
        stored, expected = write.locked(connection, store.lock, self._load)
        doc = orjson.loads(stored.data)
        doc.pop("id", None)
        patched = patch_user(doc, write.body)
        return self._write(connection, stored, patched.doc, patched.password, expected, write)

    def _write(
        self,
        connection: Connection,
        stored: StoredUser,
        doc: dict[str, Any],
        password: str | None,
        expected: int,
        write: ItemWrite,
    ) -> Rendered:
        """Write ``doc`` over the stored user at the ``expected`` version (PUT and PATCH); the stored password
        stays unless one was sent."""
        self._check_rename(connection, stored, str(doc["userName"]))
        password_hash = self._password_hash(connection, password)
        user_write = store.UserWrite(
            id=stored.id,
            doc=with_manager_ref(doc, self.renderer.user_location),
            source=SCIM_SOURCE,
            password_hash=password_hash,
            keep_password=password_hash is None,
        )
        updated = self._update(connection, stored, user_write, expected, write.caller)
        return self._render(connection, updated, write.projection)

    def _update(
        self,
        connection: Connection,
        before: StoredUser,
        write: store.UserWrite,
        expected: int,
        caller: ScimClient | None,
    ) -> StoredUser:
        """Write at the expected version; a change of ``active`` is recorded, and a deactivation ends the
        user's dashboard sessions (they are refused anyway from the next request on). A deactivation passes
        the mass-deprovisioning guard first (which may hold it: 429, and the transaction rolls back)."""
        now = utcnow()
        after = store.update(connection, write, expected, now)
        event = user_events.status_change(before.active, after.active)
        if event is not None and not after.active:
            self._guard(connection, before, scim_guard.DEACTIVATE, caller)
        if event is not None:
            user_events.record(connection, after.id, event, ACTOR, now)
            if not after.active:
                access.withdraw(connection, after.id)
        return after

    def delete(
        self,
        connection: Connection,
        user_id: str,
        precondition: Precondition | None,
        *,
        caller: ScimClient | None = None,
    ) -> None:
        """DELETE /Users/{id} (RFC 7644 §3.6): the user and its memberships go; then 404. The deletion passes
        the mass-deprovisioning guard first."""
        stored = self._load(connection, user_id)
        expected = precondition.check(stored.version) if precondition else None
        self._guard(connection, stored, scim_guard.DELETE, caller)
        store.delete(connection, user_id, expected)

    def _guard(self, connection: Connection, user: StoredUser, kind: str, caller: ScimClient | None) -> None:
        scim_guard.check(
            connection,
            self.guard,
            token_id=caller.token_id if caller else None,
            token_name=caller.token_name if caller else None,
            user_id=user.id,
            user_name=user.user_name,
            kind=kind,
        )

    def _check_rename(self, connection: Connection, stored: StoredUser, user_name: str) -> None:
        if user_name.lower() == stored.user_name.lower():
            return
        existing = store.get_by_user_name(connection, user_name)
        if existing is not None and existing.id != stored.id:
            raise _taken(existing)

    @staticmethod
    def _password_hash(connection: Connection, password: str | None) -> str | None:
        """Provisioned passwords are kept (hashed) only when that sign-in option is on."""
        if password is None or not scim_control.password_sign_in(connection):
            return None
        return hash_password(password)


_USER_NAME_EQ = re.compile(r'\s*username\s+eq\s+("(?:[^"\\]|\\.)*")\s*', re.IGNORECASE)


def user_name_filtered(expression: str | None) -> str | None:
    """The value of a filter that is exactly ``userName eq "<value>"`` (RFC 7644 §3.4.2.2), else None."""
    if not expression:
        return None
    match = _USER_NAME_EQ.fullmatch(expression)
    if match is None:
        return None
    try:
        value = orjson.loads(match.group(1))
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


def _taken(existing: StoredUser) -> Conflict:
    if existing.super_admin:
        return Conflict(f"userName '{existing.user_name}' is reserved by a protected administrator account.")
    if existing.source != SCIM_SOURCE:
        return Conflict(
            f"userName '{existing.user_name}' belongs to a local Gatehouse account. An administrator can "
            "hand that account to the identity provider (Organization → Users → Hand to the IdP), "
            "after which it can be linked."
        )
    return Conflict(f"userName '{existing.user_name}' is already in use.")
