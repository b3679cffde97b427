"""The security epoch (migration 0016, store/security_epoch.py) on SQLite and PostgreSQL: the database moves
it in the transaction of every change that a principal, an API token or a gateway label derives from, and
leaves it alone for the writes that change none of them (a SCIM update of a name, a token's last use, a new
user), so that a process may keep what it derived while it stays."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.engine import Connection

from gatehouse.store import (
    api_tokens,
    authz_rules,
    gateway_labels,
    groups,
    policies,
    roles,
    security_epoch,
    users,
)
from gatehouse.store.database import Database
from gatehouse.store.policies import PolicyWrite
from gatehouse.store.records import utcnow
from gatehouse.store.roles import RoleWrite

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "arn:api7:gateway:gatewaygroup"
RULE = authz_rules.RuleWrite(("GET",), "/api/gateway_groups/{gg}", "gateway:GetGatewayGroup", f"{GROUP}/{{gg}}", {}, {})


def add_user(connection: Connection, name: str) -> str:
    write = users.UserWrite(id=str(uuid.uuid4()), doc={"schemas": [USER], "userName": name, "active": True})
    return users.insert(connection, write, utcnow()).id


def epoch(db: Database) -> int:
    with db.snapshot() as connection:
        return security_epoch.current(connection)


class World:
    def __init__(self, db: Database) -> None:
        now = utcnow()
        with db.transaction() as connection:
            self.user = add_user(connection, "ann")
            self.role = roles.insert(connection, str(uuid.uuid4()), RoleWrite("Editor"), now).id
            self.policy = policies.insert(connection, str(uuid.uuid4()), PolicyWrite("Read", '{"statement":[]}'), now)
            self.group = str(uuid.uuid4())
            groups.insert(connection, groups.GroupWrite(self.group, {"schemas": [], "displayName": "Ops"}), now)
            self.token = api_tokens.create(
                connection, self.user, "ci", "0" * 64, "gha_x", now, now + timedelta(days=30)
            ).id


def _rename_user(connection: Connection, world: World) -> None:
    stored = users.get(connection, world.user)
    assert stored is not None
    doc = {"schemas": [USER], "userName": "ann.new", "active": True}
    users.update(connection, users.UserWrite(id=world.user, doc=doc), stored.version, utcnow())


def _scim_update_of_a_name(connection: Connection, world: World) -> None:
    stored = users.get(connection, world.user)
    assert stored is not None
    doc = {"schemas": [USER], "userName": "ann", "active": True, "displayName": "Ann Other"}
    users.update(connection, users.UserWrite(id=world.user, doc=doc), stored.version, utcnow())


MOVES: dict[str, Callable[[Connection, World], object]] = {
    "deactivate a user": lambda c, w: users.set_active(c, w.user, False, utcnow()),
    "rename a user": _rename_user,
    "delete a user": lambda c, w: users.delete(c, w.user),
    "assign a role": lambda c, w: roles.assign(c, w.user, w.role, roles.MANUAL, None, utcnow()),
    "add a group member": lambda c, w: groups.add_members(c, w.group, [w.user]),
    "bind a role to a group": lambda c, w: roles.bind(c, w.group, w.role, None, utcnow()),
    "delete a group": lambda c, w: groups.delete(c, w.group),
    "attach a policy": lambda c, w: roles.attach(c, w.role, [w.policy.id]),
    "set a boundary": lambda c, w: policies.set_boundaries(c, w.user, [w.policy.id], roles.MANUAL, None, utcnow()),
    "revoke a token": lambda c, w: api_tokens.revoke(c, w.token, utcnow()),
    "keep labels": lambda c, w: gateway_labels.put(
        c, "arn:api7:gateway:gatewaygroup/dev", {"env": "dev"}, None, utcnow()
    ),
}
STAYS: dict[str, Callable[[Connection, World], object]] = {
    "a SCIM update of a display name": _scim_update_of_a_name,
    "a token's last use": lambda c, w: api_tokens.record_use(c, w.token, utcnow(), "127.0.0.1", "curl"),
    "a new user": lambda c, w: add_user(c, "bob"),
    "a new group": lambda c, w: groups.insert(
        c, groups.GroupWrite(str(uuid.uuid4()), {"schemas": [], "displayName": "Dev"}), utcnow()
    ),
}


@pytest.mark.parametrize("change", list(MOVES), ids=list(MOVES))
def test_every_change_a_principal_derives_from_moves_the_epoch(db: Database, change: str) -> None:
    world = World(db)
    before = epoch(db)
    assert before >= 0
    with db.transaction() as connection:
        MOVES[change](connection, world)
    assert epoch(db) > before  # with the change (PostgreSQL moves it as the transaction commits)


@pytest.mark.parametrize("change", list(STAYS), ids=list(STAYS))
def test_writes_that_change_no_permission_leave_it(db: Database, change: str) -> None:
    world = World(db)
    before = epoch(db)
    with db.transaction() as connection:
        STAYS[change](connection, world)
    assert epoch(db) == before


def test_a_change_rolled_back_leaves_it(db: Database) -> None:
    world = World(db)
    before = epoch(db)
    with pytest.raises(RuntimeError), db.transaction() as connection:
        users.set_active(connection, world.user, False, utcnow())
        raise RuntimeError("rolled back")
    assert epoch(db) == before
