"""The user repository's functions for the rules above it (store/users.py), on SQLite and PostgreSQL: the
row lock of an administrator's action, handing an account over, sign-ins, what the authorizer and the
password sign-in read of a user, and the SCIM search page."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import roles
from gatehouse.store import users as store
from gatehouse.store.database import Database
from gatehouse.store.tables import user_roles, users

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def add_user(
    connection: Connection,
    user_name: str,
    *,
    email: str | None = None,
    source: str = "scim",
    active: bool = True,
    super_admin: bool = False,
    password_hash: str | None = None,
) -> str:
    doc: dict[str, Any] = {"schemas": [USER], "userName": user_name, "active": active}
    if email:
        doc["emails"] = [{"value": email, "primary": True}]
    write = store.UserWrite(
        id=str(uuid.uuid4()), doc=doc, source=source, super_admin=super_admin, password_hash=password_hash
    )
    return store.insert(connection, write, T0).id


def column(db: Database, user_id: str, name: str) -> Any:
    with db.snapshot() as connection:
        return connection.execute(sa.select(users.c[name]).where(users.c.id == user_id)).scalar_one()


# ------------------------------------------------------------------------------------------ lock


def test_lock_says_whether_the_user_exists(db: Database) -> None:
    with db.transaction() as connection:
        user_id = add_user(connection, "ann")
        assert store.lock(connection, user_id) is True
        assert store.lock(connection, "no-such-user") is False


def test_a_locked_user_waits_for_the_locking_transaction(db: Database) -> None:
    """A second writer's lock returns only once the first transaction has ended (PostgreSQL: the row lock;
    SQLite: the write transaction holds the only write lock)."""
    with db.transaction() as connection:
        user_id = add_user(connection, "bea")
    events: list[str] = []
    locked = threading.Event()

    def second() -> None:
        locked.wait(5)
        with db.transaction() as connection:
            assert store.lock(connection, user_id)
            events.append("second locked")

    thread = threading.Thread(target=second)
    thread.start()
    with db.transaction() as connection:
        assert store.lock(connection, user_id)
        locked.set()
        time.sleep(0.3)
        events.append("first ends")
    thread.join(10)
    assert events == ["first ends", "second locked"]


# ------------------------------------------------------------------------------------------ writes


def test_set_source_hands_the_user_over_and_moves_the_version(db: Database) -> None:
    later = T0 + timedelta(hours=1)
    with db.transaction() as connection:
        user_id = add_user(connection, "cal", source="local")
        before = store.get(connection, user_id)
        store.set_source(connection, user_id, "scim", later)
        after = store.get(connection, user_id)
    assert before is not None and after is not None
    assert (after.source, after.version, after.last_modified) == ("scim", 2, later)
    assert after.data == before.data and after.created == before.created


def test_record_sign_in_sets_the_last_login_of_that_user_only(db: Database) -> None:
    at = T0 + timedelta(days=3)
    with db.transaction() as connection:
        signed_in, other = add_user(connection, "dan"), add_user(connection, "eve")
        store.record_sign_in(connection, signed_in, at)
    stored = column(db, signed_in, "last_login_at")
    assert (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) == at
    assert column(db, other, "last_login_at") is None
    assert column(db, signed_in, "version") == 1  # not a change of the resource


def test_a_password_hash_is_replaced_only_while_it_is_the_one_read(db: Database) -> None:
    with db.transaction() as connection:
        user_id = add_user(connection, "fay", password_hash="old-hash")
        other = add_user(connection, "gus", password_hash="old-hash")
        assert store.replace_password_hash(connection, user_id, "old-hash", "stronger-hash")
    assert column(db, user_id, "password_hash") == "stronger-hash"
    assert column(db, other, "password_hash") == "old-hash"  # the same hash text elsewhere: another user's
    with db.transaction() as connection:  # the password changed meanwhile: the newer hash stays
        store.set_password(connection, user_id, "new-password-hash", must_change=True)
        assert not store.replace_password_hash(connection, user_id, "stronger-hash", "rehash-of-the-old")
    assert column(db, user_id, "password_hash") == "new-password-hash"
    assert column(db, user_id, "must_change_password") in (True, 1)


# ------------------------------------------------------------------------------------------ reads


def test_any_super_admin(db: Database) -> None:
    with db.snapshot() as connection:
        assert store.any_super_admin(connection) is False
    with db.transaction() as connection:
        add_user(connection, "plain", source="local")
        assert store.any_super_admin(connection) is False
        add_user(connection, "root", source="local", super_admin=True)
        assert store.any_super_admin(connection) is True


def test_standing_reads_name_status_and_super_admin(db: Database) -> None:
    with db.transaction() as connection:
        inactive = add_user(connection, "Fay", active=False)
        root = add_user(connection, "root", source="local", super_admin=True)
    with db.snapshot() as connection:
        assert store.standing(connection, inactive) == store.Standing("Fay", False, False)
        assert store.standing(connection, root) == store.Standing("root", True, True)
        assert store.standing(connection, "no-such-user") is None


def test_sign_in_account_by_user_name_in_any_case_then_by_a_unique_email(db: Database) -> None:
    with db.transaction() as connection:
        gus = add_user(connection, "Gus", email="gus@example.com", source="local", password_hash="h1")
        store.require_password_change(connection, gus, True)
        hal = add_user(connection, "hal", email="Hal@Example.com", active=False)
        add_user(connection, "ida", email="shared@example.com")
        add_user(connection, "jo", email="shared@example.com")
        add_user(connection, "kim@example.com", email="kim@example.com")
        add_user(connection, "lee", email="kim@example.com")
    with db.snapshot() as connection:
        assert store.sign_in_account(connection, "  GUS ") == store.SignInAccount(gus, "h1", True, True, "Gus")
        by_email = store.sign_in_account(connection, "hal@example.COM")
        assert by_email is not None and (by_email.id, by_email.active, by_email.user_name) == (hal, False, "hal")
        assert store.sign_in_account(connection, "shared@example.com") is None  # two accounts have it
        kim = store.sign_in_account(connection, "kim@example.com")  # a username wins over an e-mail
        assert kim is not None and kim.user_name == "kim@example.com"
        assert store.sign_in_account(connection, "nobody") is None
        assert store.sign_in_account(connection, "nobody@example.com") is None


# ------------------------------------------------------------------------------------------ SCIM search


@pytest.fixture
def directory(db: Database) -> dict[str, str]:
    """Five SCIM users and one local one, by user name."""
    with db.transaction() as connection:
        found = {name: add_user(connection, name) for name in ("cy", "Ava", "bo", "dee", "eli")}
        found["local"] = add_user(connection, "local", source="local")
    return found


def search(db: Database, **options: Any) -> tuple[int, list[str]]:
    arguments: dict[str, Any] = {"condition": None, "order": None, "descending": False, "offset": 0, "limit": 10}
    arguments.update(options)
    with db.snapshot() as connection:
        return store.search_ids(connection, "scim", **arguments)


def test_search_ids_sees_one_source_and_meets_the_condition(db: Database, directory: dict[str, str]) -> None:
    total, ids = search(db)
    assert total == 5 and set(ids) == {directory[n] for n in ("cy", "Ava", "bo", "dee", "eli")}
    assert ids == sorted(ids)  # without an order: by id
    total, ids = search(db, condition=users.c.user_name_lower < "c")
    assert (total, set(ids)) == (2, {directory["Ava"], directory["bo"]})


def test_search_ids_orders_pages_and_counts_every_match(db: Database, directory: dict[str, str]) -> None:
    by_name = users.c.user_name_lower
    assert search(db, order=by_name, offset=1, limit=3) == (5, [directory[n] for n in ("bo", "cy", "dee")])
    assert search(db, order=by_name, descending=True, limit=2) == (5, [directory["eli"], directory["dee"]])
    assert search(db, order=by_name, limit=0) == (5, [])
    assert search(db, order=by_name, offset=5) == (5, [])


def test_named_in_counts_each_user_once_and_names_the_first_by_user_name(db: Database) -> None:
    """Who holds a role (``user_roles`` rows of two sources count one user once), the first ``limit`` by name."""
    with db.transaction() as connection:
        ids = {name: add_user(connection, name) for name in ("zed", "Amy", "bob", "cat")}
        role = roles.insert(connection, str(uuid.uuid4()), roles.RoleWrite("R"), T0)
        other = roles.insert(connection, str(uuid.uuid4()), roles.RoleWrite("Other"), T0)
        for name in ("zed", "Amy", "bob"):
            roles.assign(connection, ids[name], role.id, roles.MANUAL, None, T0)
        roles.assign(connection, ids["zed"], role.id, roles.SSO, None, T0)
        roles.assign(connection, ids["cat"], other.id, roles.MANUAL, None, T0)
    held = user_roles.c.role_id == role.id
    with db.snapshot() as connection:
        assert store.named_in(connection, user_roles.c.user_id, held, 2) == (3, ["Amy", "bob"])
        assert store.named_in(connection, user_roles.c.user_id, user_roles.c.role_id == "none", 5) == (0, [])
