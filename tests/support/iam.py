"""Helpers of the use-case tests (``tests/iam``): users and groups made through the store, and the
principals a test acts as."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.engine import Connection

from gatehouse.iam.authorizer import Principal, load_principal
from gatehouse.store import groups, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow

T = TypeVar("T")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def add_user(connection: Connection, name: str, *, super_admin: bool = False) -> str:
    write = users.UserWrite(
        id=str(uuid.uuid4()),
        doc={"schemas": [USER], "userName": name, "active": True},
        source="local" if super_admin else "scim",
        super_admin=super_admin,
    )
    return users.insert(connection, write, utcnow()).id


def add_group(connection: Connection, name: str, member_ids: tuple[str, ...] = ()) -> str:
    group_id = str(uuid.uuid4())
    groups.insert(connection, groups.GroupWrite(group_id, {"schemas": [], "displayName": name}), utcnow())
    groups.add_members(connection, group_id, list(member_ids))
    return group_id


@dataclass(frozen=True)
class People:
    """The principals of a use-case test."""

    db: Database
    root: Principal
    viewer: Principal
    nobody: Principal
    viewer_id: str

    def run(self, work: Callable[[Connection], T]) -> T:
        with self.db.transaction() as connection:
            return work(connection)

    def again(self, principal: Principal) -> Principal:
        """The principal read again (after a change of its roles)."""
        with self.db.snapshot() as connection:
            return load_principal(connection, principal.user_id)
