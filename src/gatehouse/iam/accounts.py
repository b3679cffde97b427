"""Local accounts created by an administrator or the CLI (not by SCIM), and what every signed-in user may
do with their own account: change their password, and land on the page their rights open."""

from __future__ import annotations

import uuid

from gatehouse.errors import Conflict, InvalidInput, Unauthorized, existing
from gatehouse.iam.authorizer import Principal, allowed
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.passwords import hash_password, verify_password
from gatehouse.resources.schemas import USER_SCHEMA
from gatehouse.store import sessions, users
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import StoredUser, utcnow

MIN_PASSWORD_LENGTH = 12


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")


def create_super_admin(
    connection: Connection, user_name: str, password: str, *, must_change_password: bool = False
) -> StoredUser:
    """Create a local Super Admin account (invisible to SCIM, which can never touch it)."""
    name = user_name.strip()
    if not name:
        raise InvalidInput("A username is required.")
    check_password_strength(password)
    if users.get_by_user_name(connection, name) is not None:
        raise Conflict(f"A user named '{name}' already exists.")
    write = users.UserWrite(
        id=str(uuid.uuid4()),
        doc={"schemas": [USER_SCHEMA], "userName": name, "active": True},
        source="local",
        super_admin=True,
        password_hash=hash_password(password),
    )
    stored = users.insert(connection, write, utcnow())
    if must_change_password:
        users.require_password_change(connection, stored.id, True)
    return stored


def reset_password(connection: Connection, user_name: str, password: str, *, temporary: bool) -> StoredUser:
    """Set a local account's password (break-glass path); a temporary one must be changed at sign-in.
    Every session of the user ends."""
    check_password_strength(password)
    stored = existing(users.get_by_user_name(connection, user_name), f"No user is named '{user_name}'.")
    users.set_password(connection, stored.id, hash_password(password), must_change=temporary)
    sessions.end_for_user(connection, stored.id)
    return stored


# ------------------------------------------------------------------------------------------ one's own account


def _own_id(principal: Principal) -> str:
    if principal.user_id is None:
        raise Unauthorized("Sign in to change your password.")
    return principal.user_id


def new_own_password(db: Database, principal: Principal, current: str, new: str, again: str) -> str:
    """Check a signed-in user's change of their own password (the current one, typed again, and the new one
    twice); the new password's hash, or :class:`InvalidInput` saying what is wrong.

    Argon2 runs twice here: call it off the event loop. Nothing is changed (:func:`set_own_password` does).
    """
    user_id = _own_id(principal)
    with db.snapshot() as connection:
        stored = users.get(connection, user_id)
    if stored is None or not verify_password(stored.password_hash, current):
        raise InvalidInput("The current password is not correct.")
    if new != again:
        raise InvalidInput("The two new passwords differ.")
    if new == current:
        raise InvalidInput("Choose a password different from the current one.")
    check_password_strength(new)
    return hash_password(new)


def set_own_password(connection: Connection, principal: Principal, password_hash: str) -> None:
    """Set the signed-in user's new password (from :func:`new_own_password`): no change is required of them
    any more, and every session of theirs ends (they sign in again)."""
    user_id = _own_id(principal)
    users.set_password(connection, user_id, password_hash, must_change=False)
    sessions.end_for_user(connection, user_id)


def lands_on_directory(principal: Principal) -> bool:
    """Whether a signed-in user starts at the user directory (they may list users, ``iam:GetUser`` on
    ``user/*``) rather than at their own profile."""
    return allowed(principal, "iam:GetUser", resource_name("user", ANY_ID))
