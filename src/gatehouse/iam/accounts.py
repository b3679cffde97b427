"""Local accounts created by an administrator or the CLI (not by SCIM)."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, InvalidInput, NotFound
from gatehouse.passwords import hash_password
from gatehouse.resources.schemas import USER_SCHEMA
from gatehouse.store import sessions, users
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
    stored = users.get_by_user_name(connection, user_name)
    if stored is None:
        raise NotFound(f"No user is named '{user_name}'.")
    users.set_password(connection, stored.id, hash_password(password), must_change=temporary)
    sessions.end_for_user(connection, stored.id)
    return stored
