"""Helpers of the dashboard's RBAC page tests (roles, permission policies, groups): users holding a
starter role, groups, policies and roles made through the use cases, signed-in browsers, audit rows."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.iam import policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.passwords import hash_password
from gatehouse.store import groups as group_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.roles import StoredRole
from gatehouse.store.tables import audit_events
from support.scim import GROUP
from support.web import ADMIN_PASSWORD, csrf_of, sign_in

ROLES = "/organization/roles"
POLICIES = "/organization/permission-policies"
GROUPS = "/organization/groups"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
READ_ONLY = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}


def add_user(db: Database, name: str, role: str | None = None) -> str:
    """A local user who signs in with the admin's password, holding ``role`` (given by ``admin``)."""
    with db.transaction() as connection:
        write = user_store.UserWrite(
            id=str(uuid.uuid4()),
            doc={"schemas": [USER_SCHEMA], "userName": name, "active": True},
            source="local",
            password_hash=hash_password(ADMIN_PASSWORD),
        )
        user_id = user_store.insert(connection, write, utcnow()).id
        if role is not None:
            admin = user_store.get_by_user_name(connection, "admin")
            assert admin is not None
            rbac.assign_role(connection, load_principal(connection, admin.id), user_id, role_named(connection, role).id)
    return user_id


def role_named(connection: sa.Connection, name: str) -> StoredRole:
    found = role_store.get_by_name(connection, name)
    assert found is not None, name
    return found


def find_role(db: Database, name: str) -> StoredRole | None:
    with db.snapshot() as connection:
        return role_store.get_by_name(connection, name)


def browser(client: TestClient, user_name: str) -> TestClient:
    """Another browser on the same app, signed in as ``user_name``."""
    other = TestClient(client.app, base_url="https://testserver")
    assert sign_in(other, user_name).status_code == 303
    return other


def post_form(client: TestClient, url: str, data: Mapping[str, Any] | None = None) -> httpx.Response:
    """Post a form with the session's CSRF token, as a browser would (redirects not followed)."""
    token = csrf_of(client.get(ROLES).text)
    return client.post(url, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def add_group(db: Database, name: str, member_ids: tuple[str, ...] = ()) -> str:
    with db.transaction() as connection:
        group_id = str(uuid.uuid4())
        group_store.insert(
            connection, group_store.GroupWrite(group_id, {"schemas": [GROUP], "displayName": name}), utcnow()
        )
        group_store.add_members(connection, group_id, list(member_ids))
    return group_id


def add_policy(db: Database, name: str, document: object = READ_ONLY) -> str:
    with db.transaction() as connection:
        admin = user_store.get_by_user_name(connection, "admin")
        assert admin is not None
        return policies.create_policy(connection, load_principal(connection, admin.id), policy_input(name, document)).id


def add_role(db: Database, name: str, policy_ids: tuple[str, ...] = (), labels: object = None) -> str:
    with db.transaction() as connection:
        admin = user_store.get_by_user_name(connection, "admin")
        assert admin is not None
        principal = load_principal(connection, admin.id)
        return rbac.create_role(connection, principal, role_input(name, "", labels), list(policy_ids)).role.id


def audit(db: Database, event: str) -> list[dict[str, Any]]:
    """The audit records of ``event``, oldest first, with their summary parsed."""
    with db.snapshot() as connection:
        rows = connection.execute(
            sa.select(audit_events).where(audit_events.c.event == event).order_by(audit_events.c.id)
        ).mappings()
        return [{**row, "summary": orjson.loads(row["summary"])} for row in rows]
