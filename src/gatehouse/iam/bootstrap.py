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

import orjson

from gatehouse.iam.accounts import create_super_admin
from gatehouse.iam.authorizer import (
    SUPER_ADMIN_POLICY_ID,
    SUPER_ADMIN_POLICY_NAME,
    SUPER_ADMIN_ROLE_ID,
    SUPER_ADMIN_ROLE_NAME,
)
from gatehouse.iam.catalog import STARTER_ROLES, SUPER_ADMIN_POLICY
from gatehouse.iam.policy import parse_policy
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store import settings
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection
from gatehouse.store.policies import PolicyWrite
from gatehouse.store.records import utcnow
from gatehouse.store.roles import RoleWrite

BOOTSTRAP_USER = "admin"
RBAC_SEEDED = "rbac.seeded"
"""The ``app_settings`` key whose row says the starter roles were created (once, ever)."""

STARTER_DESCRIPTIONS: Mapping[str, str] = {
    "Organization Admin": "Every action except changing SCIM provisioning, login options and audit streaming. "
    "Editable.",
    "Viewer": "Views everything except other users' API tokens. Editable.",
}


def has_super_admin(connection: Connection) -> bool:
    """Whether any Super Admin account exists."""
    return user_store.any_super_admin(connection)


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
    policy_store.insert_if_new(
        connection,
        SUPER_ADMIN_POLICY_ID,
        _policy(
            SUPER_ADMIN_POLICY_NAME,
            "Every action on every resource. Built in: cannot be edited or deleted.",
            SUPER_ADMIN_POLICY,
        ),
        now,
        built_in=True,
    )
    role_store.insert_if_new(
        connection,
        SUPER_ADMIN_ROLE_ID,
        RoleWrite(
            SUPER_ADMIN_ROLE_NAME, "Every permission. Held by Super Admin accounts only; cannot be edited or deleted."
        ),
        now,
        built_in=True,
    )
    role_store.attach(connection, SUPER_ADMIN_ROLE_ID, [SUPER_ADMIN_POLICY_ID])
    if not settings.put_if_absent(connection, RBAC_SEEDED, True, now):
        return False
    for name, document in STARTER_ROLES.items():
        policy_name = f"{name.lower().replace(' ', '-')}-permission-policy"
        description = STARTER_DESCRIPTIONS.get(name, "")
        policy_id, role_id = str(uuid.uuid4()), str(uuid.uuid4())
        if not policy_store.insert_if_new(connection, policy_id, _policy(policy_name, description, document), now):
            continue
        if not role_store.insert_if_new(connection, role_id, RoleWrite(name, description), now):
            continue
        role_store.attach(connection, role_id, [policy_id])
    return True


def _policy(name: str, description: str, document: Mapping[str, object]) -> PolicyWrite:
    """A seeded policy: ``document`` checked and stored canonical, no labels."""
    return PolicyWrite(name, orjson.dumps(parse_policy(document).as_dict()).decode(), description)
