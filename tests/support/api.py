"""Helpers shared by the admin API tests (``tests/api/``): seeding users with roles and tokens,
reading the audit log, checking the error envelope. No tests here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.iam import api_tokens
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import Principal, load_principal, super_admin_role
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.passwords import hash_password
from gatehouse.resources.schemas import USER_SCHEMA
from gatehouse.store import groups as group_store
from gatehouse.store import users as user_store
from gatehouse.store.audit import AuditQuery, AuditRecord
from gatehouse.store.audit import search as audit_search
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import audit_events
from support.web import ADMIN_PASSWORD, make_admin

ROOT = Principal("root-id", "root", True, True, (super_admin_role(),))
ORG_ADMIN = "Organization Admin"
VIEWER = "Viewer"
PASSWORD = "a long enough password"


@dataclass(frozen=True, slots=True)
class World:
    """A seeded organization: the Super Admin ``admin``, an Organization Admin ``olga`` and a Viewer
    ``vera``, each with a personal API token."""

    admin_id: str
    admin_token: str
    org_admin_id: str
    org_admin_token: str
    viewer_id: str
    viewer_token: str


def role_id(db: Database, name: str) -> str:
    with db.reader() as connection:
        return next(role.id for role in rbac.list_roles(connection, ROOT) if role.name == name)


def add_user(
    db: Database,
    user_name: str,
    *,
    role: str | None = None,
    source: str = "local",
    password: str | None = None,
    email: str | None = None,
) -> str:
    """A user (local by default) holding ``role`` directly."""
    doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True}
    if email:
        doc["emails"] = [{"value": email, "type": "work", "primary": True}]
    write = user_store.UserWrite(
        id=str(uuid.uuid4()),
        doc=doc,
        source=source,
        password_hash=hash_password(password) if password else None,
    )
    with db.transaction() as connection:
        user_id = user_store.insert(connection, write, utcnow()).id
        if role is not None:
            wanted = next(r.id for r in rbac.list_roles(connection, ROOT) if r.name == role)
            rbac.assign_role(connection, ROOT, user_id, wanted)
    return user_id


def token_for(db: Database, user_id: str, name: str = "ci", expiry: int = 30) -> str:
    """A new personal API token of ``user_id`` (through the use case)."""
    with db.transaction() as connection:
        return api_tokens.create_token(connection, load_principal(connection, user_id), name, expiry).token


def seed(db: Database) -> World:
    """The starter roles, the Super Admin ``admin``, ``olga`` (Organization Admin), ``vera`` (Viewer)."""
    with db.transaction() as connection:
        ensure_rbac(connection)
    admin_id = make_admin(db)
    olga = add_user(db, "olga", role=ORG_ADMIN)
    vera = add_user(db, "vera", role=VIEWER)
    return World(admin_id, token_for(db, admin_id), olga, token_for(db, olga), vera, token_for(db, vera))


def key(token: str) -> dict[str, str]:
    """The headers that authenticate with ``token``."""
    return {"X-API-KEY": token}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the API's error envelope with ``status`` (and ``code``); returns its ``error``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["status"] == status
    assert isinstance(error["detail"], str) and error["detail"]
    assert isinstance(error["code"], str) and error["code"]
    if code is not None:
        assert error["code"] == code
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    return error


def audit(db: Database, event: str = "", **filters: Any) -> list[AuditRecord]:
    """The audit records matching, newest first."""
    with db.reader() as connection:
        return audit_search(connection, AuditQuery(event=event, **filters), limit=500).records


def audit_count(db: Database) -> int:
    with db.reader() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


def raw_audit_text(db: Database) -> str:
    """Every stored audit row as text (to prove a secret never reached it)."""
    with db.reader() as connection:
        rows = connection.execute(sa.select(audit_events)).all()
    return orjson.dumps([[str(value) for value in row] for row in rows]).decode()


def sign_in_api(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> httpx.Response:
    """``POST /api/auth/sign-in``."""
    return client.post("/api/auth/sign-in", json={"username": username, "password": password})


GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def add_group(db: Database, name: str, members: tuple[str, ...] = (), external_id: str | None = None) -> str:
    """A SCIM group (as an IdP would provision it) with these members."""
    doc: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": name}
    if external_id:
        doc["externalId"] = external_id
    with db.transaction() as connection:
        group = group_store.insert(connection, group_store.GroupWrite(str(uuid.uuid4()), doc), utcnow())
        if members:
            group_store.add_members(connection, group.id, list(members))
    return group.id


def roleless(db: Database, user_name: str) -> tuple[str, str]:
    """A user with no role at all and an API token (made while they were a Viewer)."""
    user_id = add_user(db, user_name, role=VIEWER)
    token = token_for(db, user_id)
    with db.transaction() as connection:
        rbac.set_user_roles(connection, ROOT, user_id, [])
    return user_id, token
