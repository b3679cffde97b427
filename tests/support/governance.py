"""Helpers of the governance tests over HTTP and the CLI (time-bound access, access requests, the access review):
custom roles made through the use cases, a requestable role, local users who sign in with the test password,
requests made and answered, what a user holds and may do now, the audit records of an event. No tests here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from gatehouse.iam import access_requests, policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import HeldRole, allowed, load_principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.passwords import hash_password
from gatehouse.resources.schemas import USER_SCHEMA
from gatehouse.store import access_requests as request_store
from gatehouse.store import users as user_store
from gatehouse.store.access_requests import AccessRequest
from gatehouse.store.audit import AuditQuery, AuditRecord
from gatehouse.store.audit import search as audit_search
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import ROOT
from support.web import ADMIN_PASSWORD

SINKS_READ = "iam:GetAuditSink"
"""What the requestable role of these tests allows: an action nobody else holds, checked before and after."""
SINKS_RESOURCE = "arn:gatehouse:iam:organization/*"


def custom_role(db: Database, name: str, actions: Sequence[str], labels: dict[str, str] | None = None) -> str:
    """A custom role whose one policy allows ``actions`` on everything; its id."""
    document = {"statement": [{"effect": "allow", "actions": list(actions), "resources": ["*"]}]}
    with db.transaction() as connection:
        policy = policies.create_policy(
            connection, ROOT, policy_input(f"{name} policy {uuid.uuid4().hex[:6]}", document)
        )
        return rbac.create_role(connection, ROOT, role_input(name, "", labels), [policy.id]).role.id


def make_requestable(db: Database, role_id: str, max_minutes: int = 8 * 60, answer_within: int = 24 * 60) -> None:
    with db.transaction() as connection:
        access_requests.set_requestable(connection, ROOT, role_id, max_minutes, answer_within)


def local_user(db: Database, name: str, *role_ids: str) -> str:
    """A local user who signs in with the test password (``support.web.ADMIN_PASSWORD``), holding these roles."""
    write = user_store.UserWrite(
        id=str(uuid.uuid4()),
        doc={"schemas": [USER_SCHEMA], "userName": name, "active": True},
        source="local",
        password_hash=hash_password(ADMIN_PASSWORD),
    )
    with db.transaction() as connection:
        user_id = user_store.insert(connection, write, utcnow()).id
        for role_id in role_ids:
            rbac.assign_role(connection, ROOT, user_id, role_id)
    return user_id


def ask(db: Database, user_id: str, role_id: str, minutes: int = 60, reason: str = "incident INC-7") -> AccessRequest:
    """A pending request made by ``user_id`` through the use case."""
    with db.transaction() as connection:
        return access_requests.request_access(connection, load_principal(connection, user_id), role_id, reason, minutes)


def stored_request(db: Database, request_id: str) -> AccessRequest:
    with db.snapshot() as connection:
        found = request_store.get(connection, request_id)
    assert found is not None
    return found


def requests_of(db: Database, user_id: str) -> list[AccessRequest]:
    with db.snapshot() as connection:
        return request_store.of_user(connection, user_id)


def roles_held(db: Database, user_id: str) -> tuple[HeldRole, ...]:
    with db.snapshot() as connection:
        return load_principal(connection, user_id).roles


def may(db: Database, user_id: str, action: str = SINKS_READ, resource: str = SINKS_RESOURCE) -> bool:
    """Whether the user may do ``action`` on ``resource`` now (the authorizer, grants read afresh)."""
    with db.snapshot() as connection:
        return allowed(load_principal(connection, user_id), action, resource)


def records(db: Database, event: str, **filters: Any) -> list[AuditRecord]:
    """The audit records of ``event``, newest first."""
    with db.snapshot() as connection:
        return audit_search(connection, AuditQuery(event=event, **filters), limit=500).records


def close_to(moment: datetime | None, expected: datetime, slack: timedelta = timedelta(seconds=30)) -> bool:
    """Whether ``moment`` is within ``slack`` of ``expected`` (a grant's end computed from "now" at the call)."""
    return moment is not None and abs(moment - expected) <= slack
