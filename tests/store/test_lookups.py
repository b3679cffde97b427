"""The SCIM hot path's look-ups (``gatehouse.store.lookups``) on SQLite and PostgreSQL: the token read together
with a user (``GET /Users/{id}`` and the ``userName eq`` filter in one statement) answers exactly what the
token look-up and the user look-up answer apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.credentials import hash_token
from gatehouse.iam import scim_control
from gatehouse.store import groups, lookups, scim_tokens
from gatehouse.store import users as store
from gatehouse.store.database import Database
from gatehouse.store.tables import group_members
from support.coroutines import run_apart

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _user(connection: Connection, user_name: str, source: str = "scim", super_admin: bool = False) -> str:
    doc = {"schemas": [USER], "userName": user_name, "active": True}
    write = store.UserWrite(id=str(uuid.uuid4()), doc=doc, source=source, super_admin=super_admin)
    return store.insert(connection, write, T0).id


def _member_of(connection: Connection, user_id: str, *names: str) -> None:
    for name in names:
        group = groups.insert(
            connection, groups.GroupWrite(str(uuid.uuid4()), {"schemas": [GROUP], "displayName": name}), T0
        )
        connection.execute(group_members.insert().values(group_id=group.id, user_id=user_id, display=None))


def _with_user(db: Database, digest: str, key: lookups.UserKey) -> tuple[object, object]:
    return run_apart(lookups.token_with_user(db, digest, key))


def test_the_token_read_with_a_user_is_both_look_ups_in_one(db: Database) -> None:
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
        ann = _user(connection, "Ann.Lee@example.com")
        _member_of(connection, ann, "Engineering", "admins")
        bob = _user(connection, "bob@example.com")
        local = _user(connection, "admin", source="local", super_admin=True)
    digest = hash_token(token)
    with db.reader() as connection:
        alone = lookups.token(connection, digest)
        assert alone is not None and alone.scim_enabled
        for key, expected in [
            (lookups.UserKey("id", ann), lookups.user_by_id(connection, ann)),
            (lookups.UserKey("id", bob), lookups.user_by_id(connection, bob)),
            (lookups.UserKey("name", "ann.lee@EXAMPLE.com"), lookups.user_by_name(connection, "ann.lee@example.com")),
            (lookups.UserKey("id", local), None),  # not provisioned: not SCIM's to show
            (lookups.UserKey("name", "admin"), None),
            (lookups.UserKey("id", "no-such-user"), None),
        ]:
            assert _with_user(db, digest, key) == (alone, expected)
    found = _with_user(db, digest, lookups.UserKey("id", ann))[1]
    assert found is not None and [g.display for g in found[1]] == ["admins", "Engineering"]
    assert _with_user(db, hash_token("ghs_wrong"), lookups.UserKey("id", ann)) == (None, None)


def test_a_revoked_token_or_scim_turned_off_reads_as_the_token_look_up_does(db: Database) -> None:
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
        ann = _user(connection, "ann@example.com")
        scim_control.disable(connection)
    digest, key = hash_token(token), lookups.UserKey("id", ann)
    check, found = _with_user(db, digest, key)
    with db.reader() as connection:
        assert check == lookups.token(connection, digest) and check is not None and not check.scim_enabled
    assert found is not None
    with db.transaction() as connection:
        scim_tokens.revoke(connection, "Okta")
    with db.reader() as connection:
        assert lookups.token(connection, digest) is None
    assert _with_user(db, digest, key) == (None, None)
    with db.snapshot() as connection:  # the user is still there: only the token is gone
        assert connection.execute(sa.text("SELECT count(*) FROM users WHERE id = :id"), {"id": ann}).scalar_one() == 1
