"""Time-bound grants by administrators: a role given to a user until a moment, a role bound to a group until a
moment, and a grant taken away whatever gave it. Use cases, no HTTP, no commit.

The permissions are those of the untimed changes: ``iam:UpdateUserRole`` on the user, ``iam:UpdateGroupBinding``
on the group. The Super Admin role is never granted or bound (Super Admin accounts hold it), and Super Admin
accounts take no roles. A grant given again replaces the earlier one from the same source: an expiry can be
moved, or removed (``until`` ``None``: until taken away). The moment must be in the future, within ten years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from gatehouse.errors import InvalidInput, Protected, existing
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, Principal, require
from gatehouse.iam.catalog import resource_name
from gatehouse.iam.grant_expiry import settle
from gatehouse.store import grants as grant_store
from gatehouse.store import groups as group_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.store.roles import MANUAL, StoredRole

LONGEST: Final = timedelta(days=3653)
SOURCES: Final = ("manual", "request", "sso")


def check_until(until: datetime | None, now: datetime) -> datetime | None:
    """A grant's end: in the future, within ten years (``None``: no end)."""
    if until is None:
        return None
    if until.tzinfo is None:
        raise InvalidInput("expires_at: give a time zone (e.g. 2026-12-31T18:00:00Z).")
    if until <= now:
        raise InvalidInput("expires_at: a moment in the future.")
    if until - now > LONGEST:
        raise InvalidInput("expires_at: at most ten years from now.")
    return until


def _role(connection: Connection, role_id: str) -> StoredRole:
    role = role_store.existing(connection, role_id)
    if role.id == SUPER_ADMIN_ROLE_ID:
        raise Protected("The Super Admin role is held by Super Admin accounts only: it cannot be granted.")
    return role


def grant_role_until(
    connection: Connection, principal: Principal, user_id: str, role_id: str, until: datetime | None
) -> StoredRole:
    """Give a user a role directly, until ``until`` (see the module)."""
    user = existing(user_store.get(connection, user_id), "There is no such user. They may have been deleted.")
    require(principal, "iam:UpdateUserRole", resource_name("user", user.id))
    if user.super_admin:
        raise Protected(f"{user.user_name} is a Super Admin account: roles do not apply to it.")
    role, now, ends = _giving(connection, role_id, until)
    grant_store.grant_role(connection, user.id, role.id, MANUAL, principal.actor, now, ends)
    return role


def bind_group_role_until(
    connection: Connection, principal: Principal, group_id: str, role_id: str, until: datetime | None
) -> StoredRole:
    """Bind a role to a group until ``until``: its members hold it while they are members, until then."""
    group = existing(
        group_store.get(connection, group_id),
        "There is no such group. It may have been deleted by the identity provider.",
    )
    require(principal, "iam:UpdateGroupBinding", resource_name("group", group.id))
    role, now, ends = _giving(connection, role_id, until)
    grant_store.bind_role(connection, group.id, role.id, principal.actor, now, ends)
    return role


def _giving(
    connection: Connection, role_id: str, until: datetime | None
) -> tuple[StoredRole, datetime, datetime | None]:
    """Before a role is given until ``until``: the role (never Super Admin), now, and the end checked; an earlier
    grant or binding that has ended is recorded as ended, before the new one replaces it."""
    role = _role(connection, role_id)
    now = utcnow()
    ends = check_until(until, now)
    settle(connection, now)
    return role, now, ends


def revoke_grant(connection: Connection, principal: Principal, user_id: str, role_id: str, source: str) -> bool:
    """Take away the user's grant of a role from ``source`` (``manual``, ``request``, ``sso``); ``False`` if
    there was none. A role mapped at SSO sign-in comes back at the next sign-in unless the rules change."""
    if source not in SOURCES:
        raise InvalidInput(f"source: one of {', '.join(SOURCES)}.")
    user = existing(user_store.get(connection, user_id), "There is no such user. They may have been deleted.")
    require(principal, "iam:UpdateUserRole", resource_name("user", user.id))
    return role_store.unassign(connection, user.id, role_id, source)


@dataclass(frozen=True)
class Holder:
    """Who an administrator gives a role until a moment: a user (a direct grant) or a group (a binding)."""

    kind: Literal["user", "group"]
    action: str
    """The action that gives the role and takes it away, on the user or the group (the audit record's event)."""
    gives: str
    takes: str
    """How an audit record's details name giving and taking the role away."""
    give_until: Callable[[Connection, Principal, str, str, datetime | None], StoredRole]

    def require(self, principal: Principal, holder_id: str) -> None:
        """Refused (403) unless the principal may change the holder's roles: before showing the form."""
        require(principal, self.action, resource_name(self.kind, holder_id))


USER: Final = Holder("user", "iam:UpdateUserRole", "grant_role", "revoke_role", grant_role_until)
GROUP: Final = Holder("group", "iam:UpdateGroupBinding", "bind_role", "unbind_role", bind_group_role_until)
