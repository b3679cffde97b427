"""Local accounts created by an administrator or the CLI (not by SCIM)."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, InvalidInput
from gatehouse.passwords import hash_password
from gatehouse.scim.render import USER_SCHEMA
from gatehouse.store import users
from gatehouse.store.records import StoredUser, utcnow

MIN_PASSWORD_LENGTH = 12


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")


def create_super_admin(connection: Connection, user_name: str, password: str) -> StoredUser:
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
    return users.insert(connection, write, utcnow())
