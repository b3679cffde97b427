"""First run: make sure a Super Admin exists, so that somebody can sign in, and that RBAC has its roles.

RBAC seeding (:func:`ensure_rbac`), safe when several processes start together:

- the built-in Super Admin policy and role have fixed ids and are ensured on every start
  (``INSERT … ON CONFLICT DO NOTHING``);
- the two editable starter roles, "Organization Admin" and "Viewer", each with its starter policy, are
  created once: the first process to insert the ``rbac.seeded`` marker creates them, in the same
  transaction, and a process that finds the marker (or loses the race for it) does nothing. Names are
  unique in the database, and a conflict on one is tolerated, so a starter role an administrator later
  deletes or renames is not created again.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gatehouse.iam.accounts import create_super_admin
from gatehouse.iam.authorizer import (
    SUPER_ADMIN_POLICY_ID,
    SUPER_ADMIN_POLICY_NAME,
    SUPER_ADMIN_ROLE_ID,
    SUPER_ADMIN_ROLE_NAME,
)
from gatehouse.iam.catalog import STARTER_ROLES, SUPER_ADMIN_POLICY
from gatehouse.iam.policy import parse_policy
from gatehouse.store.records import utcnow
from gatehouse.store.roles import dump_labels
from gatehouse.store.tables import app_settings, permission_policies, role_policies, roles, users

BOOTSTRAP_USER = "admin"
RBAC_SEEDED = "rbac.seeded"
"""The ``app_settings`` key whose row says the starter roles were created (once, ever)."""

STARTER_DESCRIPTIONS: Mapping[str, str] = {
    "Organization Admin": "Every action except changing SCIM provisioning and login options. Editable.",
    "Viewer": "Views everything except other users' API tokens. Editable.",
}


def has_super_admin(connection: Connection) -> bool:
    """Whether any Super Admin account exists."""
    return connection.execute(sa.select(users.c.id).where(users.c.super_admin.is_(True)).limit(1)).first() is not None


def ensure_super_admin(connection: Connection, password: str | None) -> str | None:
    """Seed RBAC (:func:`ensure_rbac`) and create ``admin`` when no Super Admin exists. Returns the generated
    password (to be shown once) when none was configured; ``None`` when nothing was created or the
    password was configured."""
    ensure_rbac(connection)
    if has_super_admin(connection):
        return None
    generated = None if password else secrets.token_urlsafe(15)
    create_super_admin(
        connection, BOOTSTRAP_USER, password or generated or "", must_change_password=generated is not None
    )
    return generated


def ensure_rbac(connection: Connection) -> bool:
    """Ensure the built-in Super Admin role and policy; create the starter roles if this database never had
    them. Returns whether the starter roles were created now."""
    now = utcnow()
    _insert_ignoring_conflicts(
        connection,
        permission_policies,
        _policy_row(
            SUPER_ADMIN_POLICY_ID,
            SUPER_ADMIN_POLICY_NAME,
            "Every action on every resource. Built in: cannot be edited or deleted.",
            SUPER_ADMIN_POLICY,
            now,
            built_in=True,
        ),
    )
    _insert_ignoring_conflicts(
        connection,
        roles,
        _role_row(
            SUPER_ADMIN_ROLE_ID,
            SUPER_ADMIN_ROLE_NAME,
            "Every permission. Held by Super Admin accounts only; cannot be edited or deleted.",
            now,
            built_in=True,
        ),
    )
    _insert_ignoring_conflicts(
        connection, role_policies, {"role_id": SUPER_ADMIN_ROLE_ID, "policy_id": SUPER_ADMIN_POLICY_ID}
    )
    marker = {"key": RBAC_SEEDED, "value": orjson.dumps(True).decode(), "updated": now}
    if not _insert_ignoring_conflicts(connection, app_settings, marker):
        return False
    for name, document in STARTER_ROLES.items():
        policy_name = f"{name.lower().replace(' ', '-')}-permission-policy"
        description = STARTER_DESCRIPTIONS.get(name, "")
        policy_id, role_id = str(uuid.uuid4()), str(uuid.uuid4())
        if not _insert_ignoring_conflicts(
            connection, permission_policies, _policy_row(policy_id, policy_name, description, document, now)
        ):
            continue
        if not _insert_ignoring_conflicts(connection, roles, _role_row(role_id, name, description, now)):
            continue
        _insert_ignoring_conflicts(connection, role_policies, {"role_id": role_id, "policy_id": policy_id})
    return True


def _policy_row(
    policy_id: str,
    name: str,
    description: str,
    document: Mapping[str, object],
    now: datetime,
    *,
    built_in: bool = False,
) -> dict[str, Any]:
    return {
        "id": policy_id,
        "name": name,
        "name_lower": name.lower(),
        "description": description,
        "labels": dump_labels({}),
        "document": orjson.dumps(parse_policy(document).as_dict()).decode(),
        "built_in": built_in,
        "created": now,
        "updated": now,
        "version": 1,
    }


def _role_row(role_id: str, name: str, description: str, now: datetime, *, built_in: bool = False) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "name_lower": name.lower(),
        "description": description,
        "labels": dump_labels({}),
        "built_in": built_in,
        "created": now,
        "updated": now,
        "version": 1,
    }


def _insert_ignoring_conflicts(connection: Connection, table: sa.Table, row: Mapping[str, Any]) -> bool:
    """Insert one row unless it conflicts with any unique key (another process got there first)."""
    insert_fn = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert_fn(table).values(dict(row)).on_conflict_do_nothing()
    result = connection.execute(statement.execution_options(preserve_rowcount=True))
    return bool(result.rowcount)
