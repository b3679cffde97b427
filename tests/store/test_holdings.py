"""Which roles users hold and how (store/holdings.py), on SQLite and PostgreSQL: everything one user holds,
as the authorizer reads it on every request, and the plan of that one statement."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import groups, holdings, policies, roles, users
from gatehouse.store.database import Database
from gatehouse.store.policies import PolicyVersion, PolicyWrite
from gatehouse.store.records import utcnow
from gatehouse.store.roles import RoleWrite

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
DOCUMENT = '{"statement":[]}'


def add_user(connection: Connection, name: str) -> str:
    write = users.UserWrite(id=str(uuid.uuid4()), doc={"schemas": [USER], "userName": name, "active": True})
    return users.insert(connection, write, utcnow()).id


def add_role(connection: Connection, name: str, *policy_ids: str) -> str:
    role = roles.insert(connection, str(uuid.uuid4()), RoleWrite(name), utcnow())
    roles.attach(connection, role.id, policy_ids)
    return role.id


def add_policy(connection: Connection, name: str) -> PolicyVersion:
    policy = policies.insert(connection, str(uuid.uuid4()), PolicyWrite(name, DOCUMENT), utcnow())
    return PolicyVersion(policy.id, policy.name, policy.version)


def test_grants_of_reads_roles_held_every_way_with_their_policies_and_the_boundaries(db: Database) -> None:
    now = utcnow()
    with db.transaction() as connection:
        user_id, other_id = add_user(connection, "ann"), add_user(connection, "bob")
        read, write, bound = (add_policy(connection, name) for name in ("read", "write", "bound"))
        editor, bare = add_role(connection, "Editor", read.id, write.id), add_role(connection, "Bare")
        group_id = str(uuid.uuid4())
        groups.insert(connection, groups.GroupWrite(group_id, {"schemas": [], "displayName": "Ops"}), now)
        groups.add_members(connection, group_id, [user_id, other_id])
        roles.assign(connection, user_id, editor, roles.SSO, None, now)
        roles.assign(connection, user_id, bare, roles.MANUAL, "root", now)
        roles.bind(connection, group_id, editor, None, now)
        policies.set_boundaries(connection, user_id, [bound.id], roles.MANUAL, None, now)
    with db.snapshot() as connection:
        grants = holdings.grants_of(connection, user_id)
        others = holdings.grants_of(connection, other_id)
        nobody = holdings.grants_of(connection, "no-such-user")

    def key(grant: holdings.RoleGrant) -> tuple[str, str, str]:
        return grant.role_name, grant.origin, grant.policy.name if grant.policy else ""

    assert sorted(grants.roles, key=key) == [
        holdings.RoleGrant(bare, "Bare", "manual", None, None, None),
        holdings.RoleGrant(editor, "Editor", "group", group_id, "Ops", read),
        holdings.RoleGrant(editor, "Editor", "group", group_id, "Ops", write),
        holdings.RoleGrant(editor, "Editor", "sso", None, None, read),
        holdings.RoleGrant(editor, "Editor", "sso", None, None, write),
    ]
    assert grants.boundaries == [bound]
    assert sorted(others.roles, key=key) == [
        holdings.RoleGrant(editor, "Editor", "group", group_id, "Ops", read),
        holdings.RoleGrant(editor, "Editor", "group", group_id, "Ops", write),
    ]
    assert others.boundaries == []
    assert nobody == holdings.Grants([], [])


def test_grants_of_sees_a_policy_version_move(db: Database) -> None:
    with db.transaction() as connection:
        user_id = add_user(connection, "cy")
        policy = add_policy(connection, "p")
        roles.assign(connection, user_id, add_role(connection, "R", policy.id), roles.MANUAL, None, utcnow())
        policies.update(connection, policy.id, PolicyWrite("p", DOCUMENT, "edited"), utcnow())
    with db.snapshot() as connection:
        [grant] = holdings.grants_of(connection, user_id).roles
    assert grant.policy == PolicyVersion(policy.id, "p", 2)


def test_the_grants_statement_reads_every_table_through_an_index(db: Database) -> None:
    """The plan of :func:`grants_of`'s statement: index look-ups only (PostgreSQL is told to avoid sequential
    scans, which it would otherwise pick for these tiny tables)."""
    with db.snapshot() as connection:
        compiled = holdings.grants_statement("u").compile(connection, compile_kwargs={"literal_binds": True})
        if db.dialect == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = [row[0] for row in connection.execute(sa.text(f"EXPLAIN {compiled}"))]
            assert not [line for line in plan if "Seq Scan" in line], plan
        else:
            plan = [row[3] for row in connection.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))]
            scans = [line for line in plan if line.startswith(("SEARCH", "SCAN"))]
            assert len(scans) == 12 and all(line.startswith("SEARCH") for line in scans), plan
