"""Administrators' actions on users (Organization → Users): use cases, no HTTP, no commit.

Each function runs in the caller's transaction, takes the acting :class:`~gatehouse.iam.authorizer.Principal`,
checks the action's permission on the concrete user (:mod:`gatehouse.iam.catalog`) and raises
:mod:`gatehouse.errors`.

Who owns what:
- local users (created in the dashboard or the CLI) can have their password reset, be deactivated,
  reactivated, deleted, or handed to the identity provider;
- SCIM users belong to the IdP: only their status may be changed here, in an emergency (the IdP may
  change it back at its next sync), and they cannot be deleted from the dashboard;
- the protected Super Admin can be neither deactivated, deleted nor handed over.

Every change of ``active`` goes through :func:`set_status`, which records the event and, on
deactivation, ends the user's sessions.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from gatehouse.errors import Conflict, Forbidden, InvalidInput, existing
from gatehouse.iam import access
from gatehouse.iam.accounts import check_password_strength
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, HeldRole, Principal, allowed, held_roles, require
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.passwords import hash_password
from gatehouse.resources.schemas import USER_SCHEMA
from gatehouse.store import directory, holdings, sessions, sso_links, user_events
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as store
from gatehouse.store.database import Connection
from gatehouse.store.holdings import Holding
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.records import StoredUser, utcnow
from gatehouse.store.roles import StoredRole
from gatehouse.store.sso_links import SsoLink
from gatehouse.store.user_events import UserEventKind

LOCAL = "local"
SCIM = "scim"

MAX_USER_NAME = 255
MAX_SEARCH = directory.MAX_SEARCH
"""The longest search the user list takes."""
PAGE_SIZE = directory.PAGE_SIZE
"""Users per page, unless asked otherwise."""
MAX_NAME = 255
MAX_EMAIL = 320
NO_SUCH_USER = "There is no user with this id. They may have been deleted."
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Refused(Forbidden):
    """An action this user cannot undergo (protected account, owned by the IdP, one's own account)."""


@dataclass(frozen=True, slots=True)
class OneTimePassword:
    """A password an administrator chose for someone else: strong enough, hashed, and to be changed
    at the first sign-in. Build it with :meth:`choose` (hashing is slow: do it before the transaction)."""

    password_hash: str

    @classmethod
    def choose(cls, password: str) -> OneTimePassword:
        """Check the strength of ``password`` and hash it (Argon2id)."""
        check_password_strength(password)
        return cls(hash_password(password))


@dataclass(frozen=True, slots=True)
class NewLocalUser:
    """The invitation form, checked: see :func:`new_local_user`."""

    user_name: str
    email: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What :func:`set_status` did."""

    user: StoredUser
    changed: bool
    sessions_ended: int


def new_local_user(user_name: str, email: str = "", name: str = "") -> NewLocalUser:
    """Check and tidy the fields of a new local user (cheap: call it before hashing a password)."""
    clean_name = user_name.strip()
    if not clean_name:
        raise InvalidInput("A username is required.")
    if len(clean_name) > MAX_USER_NAME or any(c.isspace() or not c.isprintable() for c in clean_name):
        raise InvalidInput(f"A username is 1 to {MAX_USER_NAME} characters, without spaces.")
    clean_email = email.strip() or None
    if clean_email is not None and (len(clean_email) > MAX_EMAIL or not _EMAIL.fullmatch(clean_email)):
        raise InvalidInput(f"'{clean_email}' is not an e-mail address.")
    full_name = " ".join(name.split()) or None
    if full_name is not None and len(full_name) > MAX_NAME:
        raise InvalidInput(f"A name is at most {MAX_NAME} characters.")
    return NewLocalUser(clean_name, clean_email, full_name)


def _validated(doc: dict[str, Any]) -> dict[str, Any]:
    """The document checked as any SCIM body is (:func:`gatehouse.resources.documents.validate_user_doc`).

    Imported when first needed: scim2-models builds its pydantic models as it is imported, about 0.9 s, which
    every CLI command would otherwise spend starting (the server imports it anyway)."""
    from gatehouse.resources.documents import validate_user_doc

    return validate_user_doc(doc)


def local_user_document(new: NewLocalUser) -> dict[str, Any]:
    """The canonical SCIM document of a new local user (validated like any SCIM body)."""
    doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": new.user_name, "active": True}
    if new.name:
        doc["name"] = {"formatted": new.name}
        doc["displayName"] = new.name
    if new.email:
        doc["emails"] = [{"value": new.email, "type": "work", "primary": True}]
    return _validated(doc)


# ------------------------------------------------------------------------------------------ actions


def create_local_user(
    connection: Connection, principal: Principal, new: NewLocalUser, password: OneTimePassword
) -> StoredUser:
    """Invite a local user, who must change the one-time password at first sign-in.

    A taken username (in any case, whatever its source) is a :class:`Conflict`.
    """
    require(principal, "iam:InviteUser", resource_name("user", "*"))
    if store.get_by_user_name(connection, new.user_name) is not None:
        raise Conflict(f"The username '{new.user_name}' is already taken (usernames ignore case).")
    write = store.UserWrite(
        id=str(uuid.uuid4()), doc=local_user_document(new), source=LOCAL, password_hash=password.password_hash
    )
    now = utcnow()
    try:
        created = store.insert(connection, write, now)
    except Conflict as exc:
        raise Conflict(f"The username '{new.user_name}' is already taken (usernames ignore case).") from exc
    store.require_password_change(connection, created.id, True)
    user_events.record(connection, created.id, UserEventKind.CREATED, principal.actor, now)
    return created


def reset_password(connection: Connection, principal: Principal, user_id: str, password: OneTimePassword) -> StoredUser:
    """Give a local user a one-time password (to be changed at the next sign-in); their sessions end."""
    user = _load(connection, principal, "iam:ResetPassword", user_id)
    if user.source != LOCAL:
        raise Refused(f"{user.user_name}'s password is managed by the identity provider, not by Gatehouse.")
    if user.id == principal.user_id:
        raise Refused("Change your own password under your account (Change password), not here.")
    store.set_password(connection, user.id, password.password_hash, must_change=True)
    sessions.end_for_user(connection, user.id)
    user_events.record(connection, user.id, UserEventKind.PASSWORD_RESET, principal.actor, utcnow())
    return user


def set_status(connection: Connection, principal: Principal, user_id: str, active: bool) -> StatusChange:
    """Activate or deactivate a user: the one place an administrator changes ``active``.

    Writes the status event; a deactivation ends every session of the user. A SCIM user's status may
    be changed (an emergency: the IdP may set it back); the Super Admin and one's own account cannot
    be deactivated. Setting the status a user already has changes nothing.
    """
    user = _load(connection, principal, "iam:UpdateUserStatus", user_id)
    if user.active == active:
        return StatusChange(user, False, 0)
    if not active:
        if user.super_admin:
            raise Refused("The protected Super Admin cannot be deactivated.")
        if user.id == principal.user_id:
            raise Refused("You cannot deactivate your own account.")
    now = utcnow()
    store.set_active(connection, user.id, active, now)
    event = UserEventKind.REACTIVATED if active else UserEventKind.DEACTIVATED
    user_events.record(connection, user.id, event, principal.actor, now)
    ended = 0 if active else access.withdraw(connection, user.id).sessions
    changed = store.get(connection, user.id)
    assert changed is not None
    return StatusChange(changed, True, ended)


def delete_user(connection: Connection, principal: Principal, user_id: str) -> StoredUser:
    """Delete a local user, with their sessions, e-mails, memberships and history."""
    user = _load(connection, principal, "iam:DeleteUser", user_id)
    if user.super_admin:
        raise Refused("The protected Super Admin cannot be deleted.")
    if user.source != LOCAL:
        raise Refused(
            f"{user.user_name} is managed by your identity provider: remove or unassign them there. "
            "In an emergency, deactivate them here."
        )
    if user.id == principal.user_id:
        raise Refused("You cannot delete your own account.")
    access.withdraw(connection, user.id)
    store.delete(connection, user.id)
    return user


def hand_to_idp(connection: Connection, principal: Principal, user_id: str) -> StoredUser:
    """Hand a local account to the identity provider: its source becomes SCIM, so the IdP sees it
    (``userName eq`` finds it), can update, deactivate and delete it, and links it instead of failing
    with 409 when it provisions the same userName."""
    user = _load(connection, principal, "iam:HandOverUser", user_id)
    if user.super_admin:
        raise Refused("The protected Super Admin cannot be handed to the identity provider.")
    if user.source != LOCAL:
        raise Refused(f"{user.user_name} is already managed by the identity provider.")
    now = utcnow()
    store.set_source(connection, user.id, SCIM, now)
    user_events.record(connection, user.id, UserEventKind.HANDED_TO_IDP, principal.actor, now)
    handed = store.get(connection, user.id)
    assert handed is not None
    return handed


# ------------------------------------------------------------------------------------------ helpers


def _load(connection: Connection, principal: Principal, action: str, user_id: str) -> StoredUser:
    """The user, once ``action`` on them is allowed, locked until the transaction ends on PostgreSQL
    (SQLite's write lock already is). The permission is checked first, so that a refused caller learns
    nothing about whether the user exists."""
    require(principal, action, resource_name("user", user_id))
    return existing(
        store.get(connection, user_id) if store.lock(connection, user_id) else None,
        "There is no such user. They may have been deleted.",
    )


# ------------------------------------------------------------------------------------------ reading and editing
# (used by the admin API: GET /api/users, GET /api/users/{id}, PATCH /api/users/{id})


@dataclass(frozen=True, slots=True)
class UserView:
    """A user's page: the profile, the roles held (each with where it comes from) and the boundaries."""

    profile: directory.UserProfile
    roles: tuple[HeldRole, ...]
    boundaries: tuple[StoredPolicy, ...]


def list_users(
    connection: Connection, principal: Principal, query: directory.DirectoryQuery
) -> directory.DirectoryPage:
    """A page of the user directory (Organization → Users): ``iam:GetUser`` on every user (``user/*``)."""
    require(principal, "iam:GetUser", resource_name("user", "*"))
    return directory.search_users(connection, query)


def view_user(connection: Connection, principal: Principal, user_id: str, *, idle: timedelta | None = None) -> UserView:
    """A user's profile, roles (direct, via SSO, via group X, Super Admin account) and permission
    boundaries: ``iam:GetUser`` on the user, except that a signed-in user may always read their own."""
    if user_id != principal.user_id:
        require(principal, "iam:GetUser", resource_name("user", user_id))
    found = existing(directory.profile(connection, user_id, idle=idle), NO_SUCH_USER)
    boundary_ids = [b.policy_id for b in policy_store.boundaries_of(connection, [user_id])[user_id]]
    policies = policy_store.get_many(connection, boundary_ids)
    boundaries = tuple(policies[pid] for pid in dict.fromkeys(boundary_ids) if pid in policies)
    return UserView(found, held_roles(connection, user_id), boundaries)


def update_local_user(
    connection: Connection,
    principal: Principal,
    user_id: str,
    *,
    name: str | None = None,
    email: str | None = None,
) -> StoredUser:
    """Edit a local user's name and primary e-mail (``iam:UpdateUser``). ``None`` leaves a field as it is,
    ``""`` clears it. The identity provider owns a SCIM or SSO user's attributes (:class:`Refused`)."""
    user = _load(connection, principal, "iam:UpdateUser", user_id)
    if user.source != LOCAL:
        raise Refused(f"{user.user_name}'s attributes are managed by the identity provider, not by Gatehouse.")
    doc = orjson.loads(user.data)
    doc.pop("id", None)
    checked = new_local_user(user.user_name, email or "", name or "")
    if name is not None:
        doc.pop("name", None)
        doc.pop("displayName", None)
        if checked.name:
            doc["name"] = {"formatted": checked.name}
            doc["displayName"] = checked.name
    if email is not None:
        others = [e for e in doc.get("emails") or [] if isinstance(e, dict) and not e.get("primary")]
        doc.pop("emails", None)
        if checked.email:
            kept = [e for e in others if str(e.get("value", "")).lower() != checked.email.lower()]
            doc["emails"] = [{"value": checked.email, "type": "work", "primary": True}, *kept]
    write = store.UserWrite(id=user.id, doc=_validated(doc), source=LOCAL, keep_password=True)
    return store.update(connection, write, user.version, utcnow())


# ------------------------------------------------------------------------------------------ before a change
# (the checks and the slow password hash that run before a change's transaction, on every surface)


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation, checked, with its one-time password hashed: :func:`create_local_user` creates it."""

    user: NewLocalUser
    password: OneTimePassword


def require_invite(principal: Principal) -> None:
    """Raise :class:`Forbidden` unless the principal may invite users (``iam:InviteUser`` on ``user/*``): the
    invitation form is refused before it is shown."""
    require(principal, "iam:InviteUser", resource_name("user", ANY_ID))


def invitation(principal: Principal, user_name: str, password: str, email: str = "", name: str = "") -> Invitation:
    """Check an invitation before its transaction: ``iam:InviteUser`` first (a refused caller costs no hash),
    the fields (:func:`new_local_user`), then the password's strength and its hash (slow: run it off the
    event loop). A taken username is :func:`create_local_user`'s to find, in its transaction."""
    require_invite(principal)
    return Invitation(new_local_user(user_name, email, name), OneTimePassword.choose(password))


def password_reset(principal: Principal, user_id: str, password: str) -> OneTimePassword:
    """Check a password reset before its transaction: ``iam:ResetPassword`` on the user first (a refused
    caller costs no hash), then the password's strength and its hash; :func:`reset_password` applies it."""
    require(principal, "iam:ResetPassword", resource_name("user", user_id))
    return OneTimePassword.choose(password)


def user_to_change(connection: Connection, principal: Principal, action: str, user_id: str) -> StoredUser:
    """The user a form or a confirmation page of ``action`` is about (reset the password, deactivate, delete,
    hand over): the permission first, so that a refused caller learns nothing of the user, then the user."""
    require(principal, action, resource_name("user", user_id))
    return existing(store.get(connection, user_id), NO_SUCH_USER)


# ------------------------------------------------------------------------------------------ pages
# (what the dashboard's Users pages show; a user's page is :func:`view_user`, the API's, and more)


@dataclass(frozen=True, slots=True)
class UserLines:
    """A page of the Users list: the directory's page, the roles of each user on it (by user id), and
    whether the principal may invite users."""

    result: directory.DirectoryPage
    held: dict[str, list[Holding]]
    may_invite: bool


def user_lines(connection: Connection, principal: Principal, query: directory.DirectoryQuery) -> UserLines:
    """:func:`list_users` (``iam:GetUser`` on ``user/*``) with the roles each listed user holds."""
    found = list_users(connection, principal, query)
    held = holdings.roles_of_users(connection, [row.id for row in found.rows])
    return UserLines(found, held, allowed(principal, "iam:InviteUser", resource_name("user", ANY_ID)))


@dataclass(frozen=True, slots=True)
class UserAbilities:
    """Which actions the principal may take on the user shown (the use cases check again)."""

    manage: bool
    """Any of the account's actions: reset the password, deactivate, reactivate, delete, hand over."""
    reset_password: bool
    deactivate: bool
    reactivate: bool
    delete: bool
    hand_over: bool
    assign_roles: bool
    set_boundary: bool
    is_self: bool


def user_abilities(principal: Principal, profile: directory.UserProfile) -> UserAbilities:
    """What the principal may do on ``profile``: their permissions on that very user, then what the account
    allows (a SCIM user's password is the IdP's; nobody deactivates or deletes themselves; the Super Admin
    is neither deactivated, deleted, handed over nor given roles or boundaries)."""

    def may(action: str) -> bool:
        return allowed(principal, action, resource_name("user", profile.id))

    local, is_self, protected = profile.source == LOCAL, principal.user_id == profile.id, profile.super_admin
    reset = may("iam:ResetPassword") and local and not is_self
    deactivate = may("iam:UpdateUserStatus") and profile.active and not protected and not is_self
    reactivate = may("iam:UpdateUserStatus") and not profile.active
    delete = may("iam:DeleteUser") and local and not protected and not is_self
    hand_over = may("iam:HandOverUser") and local and not protected
    return UserAbilities(
        manage=any((reset, deactivate, reactivate, delete, hand_over)),
        reset_password=reset,
        deactivate=deactivate,
        reactivate=reactivate,
        delete=delete,
        hand_over=hand_over,
        assign_roles=may("iam:UpdateUserRole") and not protected,
        set_boundary=may("iam:UpdateUserBoundary") and not protected,
        is_self=is_self,
    )


@dataclass(frozen=True, slots=True)
class UserPage:
    """A user's page: :func:`view_user`, what the principal may do, the roles and boundaries apart by where
    they come from (by hand or through groups; mapped at the last SSO sign-in, which the next one
    recomputes), the SSO links, and the choices of the roles and boundaries forms (empty unless offered)."""

    view: UserView
    may: UserAbilities
    held: list[HeldRole]
    """Roles held directly, through a group, or as a Super Admin account."""
    mapped: list[HeldRole]
    """Roles mapped at SSO sign-in."""
    boundaries: list[StoredPolicy]
    """Boundaries set by hand."""
    mapped_boundaries: list[StoredPolicy]
    sso_links: list[SsoLink]
    direct: set[str]
    """The ids of the roles assigned by hand (the roles form's checked boxes)."""
    all_roles: list[StoredRole]
    all_policies: list[StoredPolicy]

    @property
    def profile(self) -> directory.UserProfile:
        return self.view.profile


def user_page(connection: Connection, principal: Principal, user_id: str, *, idle: timedelta | None = None) -> UserPage:
    """A user's page: :func:`view_user` (``iam:GetUser``, except on oneself) and what :class:`UserPage` adds."""
    view = view_user(connection, principal, user_id, idle=idle)
    may = user_abilities(principal, view.profile)
    granted = policy_store.boundaries_of(connection, [user_id])[user_id]
    by_id = {policy.id: policy for policy in view.boundaries}

    def bounds(mapped: bool) -> list[StoredPolicy]:
        ids = dict.fromkeys(b.policy_id for b in granted if (b.source == role_store.SSO) is mapped)
        return [by_id[policy_id] for policy_id in ids if policy_id in by_id]

    assigned = role_store.assignments_of(connection, [user_id])[user_id]
    roles = role_store.list_all(connection) if may.assign_roles else []
    return UserPage(
        view=view,
        may=may,
        held=[role for role in view.roles if any(origin.kind != "sso" for origin in role.origins)],
        mapped=[role for role in view.roles if any(origin.kind == "sso" for origin in role.origins)],
        boundaries=bounds(False),
        mapped_boundaries=bounds(True),
        sso_links=sso_links.links_of_user(connection, user_id),
        direct={a.role_id for a in assigned if a.source == role_store.MANUAL},
        all_roles=[role for role in roles if role.id != SUPER_ADMIN_ROLE_ID],
        all_policies=policy_store.list_all(connection) if may.set_boundary else [],
    )
