"""Personal API tokens on SQLite and PostgreSQL: shown once and stored hashed, expiry, revocation, names,
refusal for deactivated and deleted users (for good), permissions, headers and last-use coalescing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.testclient import TestClient

from gatehouse.credentials import LastUseRecorder, hash_token
from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound
from gatehouse.iam import api_tokens as tokens
from gatehouse.iam import policies as policy_use
from gatehouse.iam import roles as use
from gatehouse.iam.authorizer import Principal, allowed, load_principal, super_admin_role
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.catalog import resource_name
from gatehouse.store import users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import api_tokens
from support.scim import SCIM, okta_user, patch

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ROOT = Principal("root-id", "root", True, True, (super_admin_role(),))


def add_user(
    connection: Connection, name: str, *, role: str | None = "Organization Admin", source: str = "local"
) -> str:
    write = users.UserWrite(
        id=str(uuid.uuid4()), doc={"schemas": [USER], "userName": name, "active": True}, source=source
    )
    user_id = users.insert(connection, write, utcnow()).id
    if role is not None:
        role_id = next(r.id for r in use.list_roles(connection, ROOT) if r.name == role)
        use.assign_role(connection, ROOT, user_id, role_id)
    return user_id


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as connection:
        ensure_rbac(connection)
    return db


def principal(db: Database, user_id: str) -> Principal:
    with db.reader() as connection:
        return load_principal(connection, user_id)


def create(db: Database, user_id: str, name: str = "ci", expiry: int | date = 30) -> tokens.NewToken:
    with db.transaction() as connection:
        return tokens.create_token(connection, load_principal(connection, user_id), name, expiry)


def authenticate(db: Database, token: str) -> tokens.TokenCaller:
    with db.reader() as connection:
        return tokens.authenticate(connection, token)


def refused(db: Database, token: str) -> bool:
    try:
        authenticate(db, token)
    except tokens.TokenUnauthorized:
        return True
    return False


def all_columns(db: Database) -> list[Any]:
    with db.reader() as connection:
        return [value for row in connection.execute(sa.select(api_tokens)) for value in row]


# ------------------------------------------------------------------------------------------ creation


def test_a_token_is_shown_once_and_stored_as_its_digest(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "ana")
    new = create(seeded, user_id, "  deploy   bot ")
    assert new.token.startswith("gha_") and len(new.token) == 4 + 43
    assert new.info.name == "deploy bot" and new.info.hint == "…" + new.token[-4:]
    assert new.info.expires_at - new.info.created == timedelta(days=30)
    stored = all_columns(seeded)
    assert hash_token(new.token) in stored
    assert not [value for value in stored if isinstance(value, str) and new.token[4:20] in value]
    with seeded.reader() as connection:
        listed = tokens.list_tokens(connection, principal(seeded, user_id))
    assert [t.id for t in listed] == [new.info.id] and not hasattr(listed[0], "token")
    caller = authenticate(seeded, new.token)
    assert (caller.user_id, caller.token_name, caller.user_name) == (user_id, "deploy bot", "ana")


def test_a_token_carries_its_users_current_permissions(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "ben")
    new = create(seeded, user_id)
    caller = authenticate(seeded, new.token)
    with seeded.reader() as connection:
        acting = load_principal(connection, caller.user_id, token_name=caller.token_name)
    assert acting.actor == "ben (token ci)"
    assert allowed(acting, "iam:GetUser", resource_name("user", user_id))
    assert not allowed(acting, "iam:UpdateSCIMProvisioning", resource_name("organization", "*"))
    with seeded.transaction() as connection:
        use.set_user_roles(connection, ROOT, user_id, [])
    assert not allowed(principal(seeded, caller.user_id), "iam:GetUser", resource_name("user", user_id))


@pytest.mark.parametrize("expiry", [0, 1, 14, 400, -7, True])
def test_expiry_days_come_from_the_list(expiry: int) -> None:
    with pytest.raises(InvalidInput, match="expiry: choose 7, 30, 60, 90, 180, 365 days, or a date"):
        tokens.expires_at(expiry, utcnow())


def test_an_expiry_date_means_through_that_day_utc() -> None:
    now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert tokens.expires_at(date(2026, 3, 10), now) == datetime(2026, 3, 11, tzinfo=UTC)
    assert tokens.expires_at(date(2027, 3, 10), now) == datetime(2027, 3, 11, tzinfo=UTC)
    assert tokens.expires_at(7, now) == now + timedelta(days=7)
    with pytest.raises(InvalidInput, match="in the past"):
        tokens.expires_at(date(2026, 3, 9), now)
    with pytest.raises(InvalidInput, match="at most 366 days"):
        tokens.expires_at(date(2027, 3, 11), now)
    with pytest.raises(InvalidInput, match="at most 366 days"):  # its day after is past what a date holds
        tokens.expires_at(date.max, now)
    five_east = timezone(timedelta(hours=5))
    with pytest.raises(InvalidInput, match="between the years 1 and 9999"):  # before year 1 in UTC
        tokens.expires_at(datetime(1, 1, 1, tzinfo=five_east), now)
    assert tokens.expires_at(datetime(2026, 3, 11, 2, tzinfo=five_east), now) == datetime(2026, 3, 11, tzinfo=UTC)


def test_names_are_checked_and_unique_among_a_users_live_tokens(seeded: Database) -> None:
    with seeded.transaction() as connection:
        ana, ben = add_user(connection, "ana"), add_user(connection, "ben")
    for bad in ("", "   ", "x" * 101, "bell\x07"):
        with pytest.raises(InvalidInput, match="name"):
            create(seeded, ana, bad)
    first = create(seeded, ana, "ci")
    with pytest.raises(Conflict, match="already have a token named 'ci'"):
        create(seeded, ana, "ci")
    create(seeded, ben, "ci")  # another user's name is theirs
    with seeded.transaction() as connection:
        tokens.revoke_token(connection, principal(seeded, ana), first.info.id)
    create(seeded, ana, "ci")  # a revoked token gives its name up


# ------------------------------------------------------------------------------------------ refusals


def test_an_expired_token_is_refused_and_gives_its_name_up(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "cleo")
    old = create(seeded, user_id, "nightly")
    with seeded.transaction() as connection:
        connection.execute(
            api_tokens.update().where(api_tokens.c.id == old.info.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert refused(seeded, old.token)
    renewed = create(seeded, user_id, "nightly")
    assert not refused(seeded, renewed.token)
    with seeded.reader() as connection:
        listed = {t.id: t.status(utcnow()) for t in tokens.list_tokens(connection, principal(seeded, user_id))}
    assert listed == {old.info.id: "expired", renewed.info.id: "active"}


def test_a_revoked_token_is_refused_at_once(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "dan")
    new = create(seeded, user_id)
    with seeded.transaction() as connection:
        revoked = tokens.revoke_token(connection, principal(seeded, user_id), new.info.id)
        assert revoked.status(utcnow()) == "revoked"
        again = tokens.revoke_token(connection, principal(seeded, user_id), new.info.id)
        assert again.revoked_at == revoked.revoked_at
    assert refused(seeded, new.token)


def test_deactivation_refuses_tokens_and_revokes_them_for_good(scim: TestClient, seeded: Database) -> None:
    """A deactivated user's tokens are refused even before they are revoked; once the deactivation path
    revokes them, reactivation does not bring them back."""
    user_id = scim.post(f"{SCIM}/Users", json=okta_user("eve@example.com")).json()["id"]
    with seeded.transaction() as connection:
        use.assign_role(
            connection,
            ROOT,
            user_id,
            next(r.id for r in use.list_roles(connection, ROOT) if r.name == "Organization Admin"),
        )
    first, second = create(seeded, user_id, "a"), create(seeded, user_id, "b")
    assert (
        scim.patch(f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": False}})).status_code
        == 200
    )
    assert refused(seeded, first.token) and refused(seeded, second.token)
    with seeded.transaction() as connection:  # the SCIM deactivation has revoked both already
        assert tokens.revoke_all_for_user(connection, user_id) == 0
    assert (
        scim.patch(f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": True}})).status_code
        == 200
    )
    assert refused(seeded, first.token) and refused(seeded, second.token)
    assert not refused(seeded, create(seeded, user_id, "a").token)


def test_a_deleted_users_tokens_are_gone(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "fay")
    new = create(seeded, user_id)
    with seeded.transaction() as connection:
        users.delete(connection, user_id)
    assert refused(seeded, new.token)
    assert all_columns(seeded) == []


@pytest.mark.parametrize("presented", ["", "ghs_scimtoken", "gha_unknown", "gha_" + "x" * 300, "Bearer gha_x"])
def test_unknown_and_malformed_tokens_are_refused(seeded: Database, presented: str) -> None:
    assert refused(seeded, presented)


def test_a_user_without_the_permission_cannot_create_a_token(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "gus", role=None)
    with pytest.raises(Forbidden, match="iam:CreateToken"):
        create(seeded, user_id)


def test_other_users_tokens_need_the_any_token_actions(seeded: Database) -> None:
    """A Viewer sees no one else's tokens but keeps their own (the starter Viewer policy grants creating
    and revoking one's own tokens); an Organization Admin may see and revoke anyone's."""
    with seeded.transaction() as connection:
        owner = add_user(connection, "hal")
        viewer = add_user(connection, "ida", role="Viewer")
        org_admin = add_user(connection, "joe", role="Organization Admin")
    new = create(seeded, owner)
    with seeded.transaction() as connection:
        as_viewer = load_principal(connection, viewer)
        assert tokens.list_tokens(connection, as_viewer, owner) == []
        mine = tokens.create_token(connection, as_viewer, "mine", 7)
        assert [t.id for t in tokens.list_tokens(connection, as_viewer)] == [mine.info.id]
        with pytest.raises(NotFound):
            tokens.get_token(connection, as_viewer, new.info.id)
        with pytest.raises(NotFound):
            tokens.revoke_token(connection, as_viewer, new.info.id)
        as_admin = load_principal(connection, org_admin)
        assert [t.id for t in tokens.list_tokens(connection, as_admin, owner)] == [new.info.id]
        tokens.revoke_token(connection, as_admin, new.info.id)
        with pytest.raises(NotFound):
            tokens.revoke_token(connection, as_admin, "no-such-token")
    assert refused(seeded, new.token)


def test_own_token_revocation_can_be_withheld_by_a_deny(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "kim")
        no_revoke = policy_use.create_policy(
            connection,
            ROOT,
            use.policy_input(
                "no-revoke", {"statement": [{"effect": "deny", "actions": ["iam:DeleteToken"], "resources": ["*"]}]}
            ),
        )
        role = use.create_role(connection, ROOT, use.role_input("No revoke"), [no_revoke.id]).role.id
        use.assign_role(connection, ROOT, user_id, role)
    new = create(seeded, user_id)
    with (
        pytest.raises(Forbidden, match="denied by statement 0 of policy 'no-revoke'"),
        seeded.transaction() as connection,
    ):
        tokens.revoke_token(connection, principal(seeded, user_id), new.info.id)


# ------------------------------------------------------------------------------------------ requests


def test_the_token_comes_from_x_api_key_or_a_bearer_header() -> None:
    assert tokens.presented_token(" gha_a ", None) == "gha_a"
    assert tokens.presented_token(None, "bearer  gha_b") == "gha_b"
    assert tokens.presented_token("gha_a", "Bearer gha_b") == "gha_a"
    for authorization in ("Basic dXNlcjpwYXNz", "Bearer", "gha_c"):
        with pytest.raises(tokens.TokenUnauthorized, match="X-API-KEY"):
            tokens.presented_token(None, authorization)
    with pytest.raises(tokens.TokenUnauthorized):
        tokens.presented_token("  ", None)


def test_last_use_is_written_at_most_once_a_minute(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "lea")
    new = create(seeded, user_id)
    clock = [1000.0]
    recorder = LastUseRecorder(clock=lambda: clock[0])

    caller = authenticate(seeded, new.token)
    assert caller.last_used_at is None
    assert _due(recorder, caller)
    with seeded.transaction() as connection:
        tokens.record_use(connection, caller, "203.0.113.9", "curl/8" + "x" * 300)
    clock[0] += 30
    assert not _due(recorder, authenticate(seeded, new.token))
    clock[0] += 31
    assert not _due(recorder, authenticate(seeded, new.token))  # the stored use is under a minute old
    with seeded.reader() as connection:
        info = tokens.get_token(connection, principal(seeded, user_id), new.info.id)
    assert info.last_used_ip == "203.0.113.9" and info.last_used_user_agent is not None
    assert len(info.last_used_user_agent) == 255 and info.last_used_at is not None

    # Another process's recorder also sees the stored time; once it is a minute old, a write is due again.
    with seeded.transaction() as connection:
        connection.execute(
            api_tokens.update()
            .where(api_tokens.c.id == new.info.id)
            .values(last_used_at=utcnow() - timedelta(minutes=2))
        )
    assert _due(LastUseRecorder(), authenticate(seeded, new.token))
    clock[0] += 61
    assert _due(recorder, authenticate(seeded, new.token))


def _due(recorder: LastUseRecorder, caller: tokens.TokenCaller) -> bool:
    return recorder.due(caller.token_id, caller.last_used_at)
