"""Kept principals, tokens and labels (iam/principal_cache.py) on SQLite and PostgreSQL: what is kept serves
only requests that read the same security epoch, so every change is seen on the next request, from this
process or another (a second engine stands for another process); a time-bound grant and a token end on
time without a write; nothing is kept for what does not exist, except a gateway resource's lack of labels."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Connection

from gatehouse.credentials import generate_token, hash_token, token_hint
from gatehouse.iam.api_tokens import API_TOKEN_PREFIX, TokenUnauthorized
from gatehouse.iam.principal_cache import PrincipalCache
from gatehouse.store import api_tokens, gateway_labels, roles, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.roles import RoleWrite

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
DEV = "arn:api7:gateway:gatewaygroup/dev"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow().timestamp()

    def __call__(self) -> float:
        return self.now


def add_user(connection: Connection, name: str) -> str:
    write = users.UserWrite(id=str(uuid.uuid4()), doc={"schemas": [USER], "userName": name, "active": True})
    return users.insert(connection, write, utcnow()).id


@pytest.fixture
def other(db: Database) -> Database:
    """The same database through another engine, as another process sees it."""
    return Database.from_url(str(db.engine.url.render_as_string(hide_password=False)), pool_size=1)


def test_a_principal_is_kept_until_anything_it_derives_from_changes(db: Database, other: Database) -> None:
    cache = PrincipalCache()
    with db.transaction() as connection:
        ann = add_user(connection, "ann")
        role = roles.insert(connection, str(uuid.uuid4()), RoleWrite("Editor"), utcnow()).id
    with db.snapshot() as connection:
        first = cache.view(connection).principal(ann)
        assert first is not None and first.roles == () and first.active
        assert cache.view(connection).principal(ann) is first  # kept
    with other.transaction() as connection:  # another process assigns a role
        roles.assign(connection, ann, role, roles.MANUAL, None, utcnow())
    with db.snapshot() as connection:
        second = cache.view(connection).principal(ann)
    assert second is not first and second is not None and [held.name for held in second.roles] == ["Editor"]
    with other.transaction() as connection:
        users.set_active(connection, ann, False, utcnow())
    with db.snapshot() as connection:
        third = cache.view(connection).principal(ann)
    assert third is not None and not third.active


def test_a_time_bound_grant_ends_on_time_without_a_write(db: Database) -> None:
    clock = Clock()
    cache = PrincipalCache(clock=clock)
    until = utcnow() + timedelta(seconds=30)
    with db.transaction() as connection:
        ann = add_user(connection, "ann")
        role = roles.insert(connection, str(uuid.uuid4()), RoleWrite("Oncall"), utcnow()).id
        roles.assign(connection, ann, role, roles.MANUAL, None, utcnow())
        connection.execute(roles.user_roles.update().where(roles.user_roles.c.user_id == ann).values(expires_at=until))
    with db.snapshot() as connection:
        held = cache.view(connection).principal(ann)
        assert held is not None and [r.name for r in held.roles] == ["Oncall"]
        clock.now = until.timestamp() - 1
        assert cache.view(connection).principal(ann) is held
        clock.now = until.timestamp() + 1  # the grant has ended: read again (the row is filtered out by time)
        again = cache.view(connection).principal(ann)
    assert again is not held and again is not None


def test_nothing_is_kept_for_a_user_or_token_that_does_not_exist(db: Database) -> None:
    cache = PrincipalCache()
    missing = str(uuid.uuid4())
    token = generate_token(API_TOKEN_PREFIX)
    with db.snapshot() as connection:
        assert cache.view(connection).principal(missing) is None
        with pytest.raises(TokenUnauthorized):
            cache.view(connection).token(token)
    with db.transaction() as connection:  # created without moving the epoch: found at once all the same
        users.insert(connection, users.UserWrite(id=missing, doc={"schemas": [USER], "userName": "new"}), utcnow())
        api_tokens.create(connection, missing, "ci", hash_token(token), token_hint(token), utcnow(),
                          utcnow() + timedelta(days=1))  # fmt: skip
    with db.snapshot() as connection:
        view = cache.view(connection)
        found = view.principal(missing)
        caller = view.token(token)
    assert found is not None and found.user_name == "new" and caller.user_id == missing
    assert len(cache.principals) == 1 and len(cache.tokens) == 1


def test_a_token_is_kept_until_it_is_revoked_or_expires(db: Database, other: Database) -> None:
    clock = Clock()
    cache = PrincipalCache(clock=clock)
    token = generate_token(API_TOKEN_PREFIX)
    expires = utcnow() + timedelta(hours=1)
    with db.transaction() as connection:
        ann = add_user(connection, "ann")
        stored = api_tokens.create(connection, ann, "ci", hash_token(token), token_hint(token), utcnow(), expires)
    with db.snapshot() as connection:
        caller = cache.view(connection).token(token)
        assert cache.view(connection).token(token) is caller
        principal = cache.view(connection).token_principal(caller)
    assert principal.actor == "ann (token ci)"
    with db.snapshot() as connection:
        clock.now = expires.timestamp() + 1  # past its expiry: read again (the store's look-up refuses it then)
        assert cache.view(connection).token(token) is not caller
    clock.now = utcnow().timestamp()
    with other.transaction() as connection:
        api_tokens.revoke(connection, stored.id, utcnow())
    with db.snapshot() as connection, pytest.raises(TokenUnauthorized):
        cache.view(connection).token(token)


def test_a_tokens_principal_is_kept_no_longer_than_its_users_grants(db: Database, other: Database) -> None:
    """The principal named after its token is kept as one entry; it ends with the user's time-bound grant, as
    the user's own entry does."""
    clock = Clock()
    cache = PrincipalCache(clock=clock)
    token, until = generate_token(API_TOKEN_PREFIX), utcnow() + timedelta(seconds=30)
    with db.transaction() as connection:
        ann = add_user(connection, "ann")
        role = roles.insert(connection, str(uuid.uuid4()), RoleWrite("Oncall"), utcnow()).id
        roles.assign(connection, ann, role, roles.MANUAL, None, utcnow())
        connection.execute(roles.user_roles.update().where(roles.user_roles.c.user_id == ann).values(expires_at=until))
        api_tokens.create(
            connection, ann, "ci", hash_token(token), token_hint(token), utcnow(), until + timedelta(days=1)
        )
    with db.snapshot() as connection:
        view = cache.view(connection)
        first = view.token_principal(view.token(token))
        assert view.token_principal(view.token(token)) is first and first.actor == "ann (token ci)"
        clock.now = until.timestamp() + 1  # the grant has ended: neither entry serves (both are read again)
        view = cache.view(connection)
        after = view.token_principal(view.token(token))
        assert after is not first and after.token_name == "ci"
    with other.transaction() as connection:
        users.set_active(connection, ann, False, utcnow())
    with db.snapshot() as connection, pytest.raises(TokenUnauthorized):  # the user is deactivated: so is the token
        cache.view(connection).token(token)


def test_labels_and_their_absence_are_kept_until_labels_change(db: Database, other: Database) -> None:
    cache = PrincipalCache()
    with db.snapshot() as connection:
        view = cache.view(connection)
        assert view.labels_of(connection, [DEV]) == {}
    assert len(cache.labels) == 1  # kept: this resource has no labels
    with other.transaction() as connection:
        gateway_labels.put(connection, DEV, {"env": "dev"}, None, utcnow())
    with db.snapshot() as connection:
        view = cache.view(connection)
        assert view.labels_of(connection, [DEV, f"{DEV}x"]) == {DEV: {"env": "dev"}}
        assert view.labels_of(connection, [DEV]) == {DEV: {"env": "dev"}}


def test_an_entry_of_an_older_epoch_never_serves_and_the_table_is_bounded(db: Database) -> None:
    cache = PrincipalCache(max_entries=2)
    with db.transaction() as connection:
        ids = [add_user(connection, name) for name in ("a", "b", "c")]
    with db.snapshot() as connection:
        view = cache.view(connection)
        for user_id in ids:
            view.principal(user_id)
        assert len(cache.principals) == 1  # full at the third: started again
        stale = view.epoch - 1
        assert cache.principals.get(ids[2], stale, view.now) is None
        assert cache.principals.get(ids[2], view.epoch, view.now) is not None
        assert cache.principals.get(ids[2], view.epoch, view.now + cache.max_age) is None  # at most max_age


def test_a_whole_table_is_kept_until_the_epoch_moves(db: Database, other: Database) -> None:
    cache = PrincipalCache()
    reads: list[int] = []

    def load(connection: Connection) -> int:
        reads.append(1)
        return len(reads)

    with db.snapshot() as connection:
        assert cache.view(connection).whole("rules", load) == 1
        assert cache.view(connection).whole("rules", load) == 1
    with other.transaction() as connection:
        gateway_labels.put(connection, DEV, {"env": "dev"}, None, utcnow())
    with db.snapshot() as connection:
        assert cache.view(connection).whole("rules", load) == 2
