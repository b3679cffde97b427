"""Fresh targets of the governance routes for the permission matrix (:mod:`permission_world`'s world): a
requestable role, pending requests (someone else's, or the principal's own), a role held for a while by request,
a role assigned to a fresh user, an audit sink. Each is made through the store or the use cases, before the call."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gatehouse.iam import access_requests, audit_sinks
from gatehouse.store import access_requests as request_store
from gatehouse.store import grants as grant_store
from gatehouse.store import roles as role_store
from gatehouse.store.records import utcnow
from support.permission_world import World

Params = dict[str, str]


def requestable_role(world: World) -> str:
    role_id = world.new_role()
    with world.db.transaction() as connection:
        access_requests.set_requestable(connection, world.admin(connection), role_id, 8 * 60, 24 * 60)
    return role_id


def pending_request(world: World, user_id: str | None = None) -> str:
    """A pending request for a fresh requestable role, by ``user_id`` (default: a fresh user); its id."""
    role_id, requester = requestable_role(world), user_id or world.new_user()
    request_id, now = str(uuid.uuid4()), utcnow()
    with world.db.transaction() as connection:
        request_store.insert(connection, request_id, requester, role_id, "matrix", 30, now, now + timedelta(days=1))
    return request_id


def requestable(world: World, who: str) -> Params:
    return {"role_id": requestable_role(world)}


def others_request(world: World, who: str) -> Params:
    return {"request_id": pending_request(world)}


def own_request(world: World, who: str) -> Params:
    return {"request_id": pending_request(world, world.actors[who].user_id)}


def held_for_a_while(world: World, who: str) -> Params:
    """A role the principal holds until tomorrow by an approved request."""
    role_id, now = world.new_role(), utcnow()
    with world.db.transaction() as connection:
        user_id = world.actors[who].user_id
        grant_store.grant_role(connection, user_id, role_id, "request", "matrix", now, now + timedelta(days=1))
    return {"role_id": role_id}


def user_with_role(world: World, who: str) -> Params:
    user_id, role_id = world.new_user(), world.new_role()
    with world.db.transaction() as connection:
        role_store.assign(connection, user_id, role_id, role_store.MANUAL, "matrix", utcnow())
    return {"user_id": user_id, "role_id": role_id}


def audit_sink(world: World, who: str) -> Params:
    """A disabled JSON-lines sink (disabled: the matrix's records are not queued for it)."""
    data = audit_sinks.sink_input(world.unique("sink"), "file", False, {"file": "matrix.jsonl"})
    with world.db.transaction() as connection:
        return {"sink_id": audit_sinks.create_sink(connection, world.admin(connection), data, None).sink.id}


def tomorrow() -> str:
    return (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
