"""Time-bound grants by administrators, on SQLite and PostgreSQL: a role given to a user, or bound to a group,
with an ``expires_at`` counts until that instant and not after — decided by the authorizer's own read of the
grants, with no job run — and its end is recorded in the audit log exactly once, however many processes settle
at once. A bad expiry (past, now, beyond ten years, without a time zone, not a time at all) is refused with an
error that names the field, and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from unittest import mock

import pytest
from starlette.testclient import TestClient

from gatehouse.errors import Forbidden, InvalidInput, NotFound, Protected
from gatehouse.iam import grant_expiry, policies, timed_grants
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, allowed, load_principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import audit
from gatehouse.store import grants as grant_store
from gatehouse.store.audit import AuditQuery
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow
from support.api import assert_error, key, seed
from support.coroutines import run_apart
from support.iam import People, add_group, add_user

READ_USERS = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}
ACTION, RESOURCE = "iam:GetUser", "arn:gatehouse:iam:user/anyone"
CLOCK = "gatehouse.store.holdings.utcnow"
"""The clock of the authorizer's grants read: patched, it is the instant the decision is made at."""


def make_role(people: People, name: str = "User readers") -> str:
    def work(connection: Connection) -> str:
        policy = policies.create_policy(connection, people.root, policy_input(f"{name} policy", READ_USERS))
        return rbac.create_role(connection, people.root, role_input(name), [policy.id]).role.id

    return people.run(work)


def may_read(people: People, user_id: str, at: datetime | None = None) -> bool:
    """The authorizer's decision for the user, their grants read at ``at`` (now by default)."""
    with people.db.snapshot() as connection:
        if at is None:
            return allowed(load_principal(connection, user_id), ACTION, RESOURCE)
        with mock.patch(CLOCK, return_value=at):
            return allowed(load_principal(connection, user_id), ACTION, RESOURCE)


def expiries(db: Database) -> list[audit.AuditRecord]:
    with db.snapshot() as connection:
        return audit.search(connection, AuditQuery(event=grant_expiry.GRANT_EXPIRED), limit=100).records


def settle_all_at(db: Database, at: datetime, times: int = 1) -> list[int]:
    """``grant_expiry.settle_all`` as of ``at``, ``times`` at once (as many processes would)."""

    async def run() -> list[int]:
        return list(await asyncio.gather(*(grant_expiry.settle_all(db) for _ in range(times))))

    with mock.patch("gatehouse.iam.grant_expiry.utcnow", return_value=at):
        return run_apart(run())


# ------------------------------------------------------------------------------------------ the instant


def test_a_direct_grant_counts_until_its_instant_and_not_after(people: People) -> None:
    role_id, user_id = make_role(people), people.run(lambda c: add_user(c, "tess"))
    until = utcnow() + timedelta(minutes=10)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, until))

    assert may_read(people, user_id)
    assert may_read(people, user_id, until - timedelta(microseconds=1))
    assert not may_read(people, user_id, until)  # at the instant: no longer
    assert not may_read(people, user_id, until + timedelta(seconds=1))
    # nothing ran in between: the row is still there, only the read left it out
    with people.db.snapshot() as connection:
        assert grant_store.grant_of(connection, user_id, role_id, "manual", until - timedelta(seconds=1)) is not None
    assert expiries(people.db) == []


def test_a_group_binding_counts_until_its_instant_for_every_member(people: People) -> None:
    role_id = make_role(people)
    members = [people.run(lambda c, n=n: add_user(c, n)) for n in ("gil", "gus")]  # type: ignore[misc]
    group_id = people.run(lambda c: add_group(c, "On call", tuple(members)))
    until = utcnow() + timedelta(hours=2)
    people.run(lambda c: timed_grants.bind_group_role_until(c, people.root, group_id, role_id, until))

    for user_id in members:
        assert may_read(people, user_id, until - timedelta(microseconds=1))
        assert not may_read(people, user_id, until)
    with people.db.snapshot() as connection, mock.patch(CLOCK, return_value=until - timedelta(seconds=1)):
        [held] = load_principal(connection, members[0]).roles
    assert held.origins[0].kind == "group" and held.origins[0].until == until


def test_a_grant_given_again_moves_its_end_or_removes_it(people: People) -> None:
    role_id, user_id = make_role(people), people.run(lambda c: add_user(c, "mo"))
    first = utcnow() + timedelta(hours=1)
    later = first + timedelta(days=1)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, first))
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, later))
    assert may_read(people, user_id, first + timedelta(seconds=1))
    assert not may_read(people, user_id, later)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, None))
    assert may_read(people, user_id, utcnow() + timedelta(days=3650))
    assert settle_all_at(people.db, later + timedelta(days=1)) == [0]  # no end: nothing to record


# ------------------------------------------------------------------------------------------ recorded once


def test_the_end_of_a_grant_and_of_a_binding_is_recorded_once(people: People) -> None:
    role_id = make_role(people)
    user_id = people.run(lambda c: add_user(c, "una"))
    member = people.run(lambda c: add_user(c, "max"))
    group_id = people.run(lambda c: add_group(c, "Release", (member,)))
    ends = utcnow() + timedelta(minutes=5)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, ends))
    people.run(lambda c: timed_grants.bind_group_role_until(c, people.root, group_id, role_id, ends))

    after = ends + timedelta(minutes=1)
    assert sum(settle_all_at(people.db, after, times=3)) == 2  # three "processes" at once: each end once
    assert settle_all_at(people.db, after + timedelta(hours=1)) == [0]  # and never again
    found = {record.resource_type: record for record in expiries(people.db)}
    assert set(found) == {"user", "group"} and len(expiries(people.db)) == 2
    direct, bound = found["user"], found["group"]
    assert direct.resource_id == user_id and bound.resource_id == group_id
    assert direct.summary["role"] == bound.summary["role"] == "User readers"
    assert direct.summary["user"] == "una" and direct.summary["source"] == "manual"
    assert bound.summary["group"] == "Release" and direct.summary["granted_by"] == "root"
    assert direct.occurred_at == bound.occurred_at == ends  # the moment it ended, not when it was settled
    assert direct.actor == "Gatehouse" and direct.source == "system" and direct.outcome == "success"
    assert not may_read(people, user_id, after) and not may_read(people, member, after)


def test_settling_in_the_background_records_an_end_shortly_after_it(people: People) -> None:
    role_id, user_id = make_role(people), people.run(lambda c: add_user(c, "bea"))
    ends = utcnow() + timedelta(seconds=1)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, ends))

    async def watch() -> list[audit.AuditRecord]:
        async with grant_expiry.settling(people.db, interval=30):  # waits for the next expiry, not 30 s
            deadline = asyncio.get_running_loop().time() + 15
            while not (found := expiries(people.db)):
                assert asyncio.get_running_loop().time() < deadline, "the expiry was not recorded in 15 s"
                await asyncio.sleep(0.05)
            return found

    [record] = run_apart(watch())
    assert record.resource_id == user_id and record.occurred_at == ends
    assert not may_read(people, user_id)


def test_a_grant_renewed_after_its_end_still_has_that_end_recorded(people: People) -> None:
    """Renewed (or assigned again) after it ended but before the end was settled, the grant counts again — and
    the gap is in the audit log: the first end is recorded before the new grant is written."""
    role_id, user_id = make_role(people), people.run(lambda c: add_user(c, "ray"))
    ends = utcnow() + timedelta(seconds=30)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, ends))
    after = ends + timedelta(seconds=5)
    with mock.patch("gatehouse.iam.timed_grants.utcnow", return_value=after):
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, after + timedelta(days=1)))
    [record] = expiries(people.db)
    assert record.occurred_at == ends and record.resource_id == user_id
    assert may_read(people, user_id, after + timedelta(hours=1))

    # assigned for good after a time-bound grant ended unsettled: the assignment takes
    other = people.run(lambda c: add_user(c, "rik"))
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, other, role_id, ends))
    with mock.patch("gatehouse.iam.roles.utcnow", return_value=after), mock.patch(CLOCK, return_value=after):
        assert people.run(lambda c: rbac.assign_role(c, people.root, other, role_id)) is True
    assert may_read(people, other, after + timedelta(days=3650))
    assert len(expiries(people.db)) == 2


# ------------------------------------------------------------------------------------------ refused


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (lambda now: now - timedelta(days=1), "expires_at: a moment in the future."),
        (lambda now: now - timedelta(seconds=1), "expires_at: a moment in the future."),
        (lambda now: now + timedelta(days=3654), "expires_at: at most ten years from now."),
        (lambda now: (now + timedelta(days=1)).replace(tzinfo=None), "expires_at: give a time zone"),
    ],
    ids=["yesterday", "a-second-ago", "beyond-ten-years", "no-time-zone"],
)
def test_a_bad_expiry_is_refused_and_changes_nothing(people: People, until: object, message: str) -> None:
    role_id, user_id = make_role(people), people.run(lambda c: add_user(c, "ivy"))
    group_id = people.run(lambda c: add_group(c, "Ivy league", (user_id,)))
    moment = until(utcnow())  # type: ignore[operator]
    with pytest.raises(InvalidInput) as direct:
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, moment))
    with pytest.raises(InvalidInput) as bound:
        people.run(lambda c: timed_grants.bind_group_role_until(c, people.root, group_id, role_id, moment))
    assert direct.value.detail.startswith(message) and bound.value.detail.startswith(message)
    assert not may_read(people, user_id)
    with people.db.snapshot() as connection:
        assert load_principal(connection, user_id).roles == ()


def test_ten_years_is_the_limit(people: People) -> None:
    role_id, user_id = make_role(people), people.run(lambda c: add_user(c, "ten"))
    almost = utcnow() + timed_grants.LONGEST - timedelta(minutes=1)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, almost))
    assert may_read(people, user_id, almost - timedelta(seconds=1)) and not may_read(people, user_id, almost)


def test_who_and_what_may_be_granted(people: People) -> None:
    role_id, user_id = make_role(people), people.run(lambda c: add_user(c, "wes"))
    group_id = people.run(lambda c: add_group(c, "Wes group"))
    root_id = people.root.user_id
    assert root_id is not None
    tomorrow = utcnow() + timedelta(days=1)
    with pytest.raises(Forbidden):
        people.run(lambda c: timed_grants.grant_role_until(c, people.viewer, user_id, role_id, tomorrow))
    with pytest.raises(Forbidden):
        people.run(lambda c: timed_grants.bind_group_role_until(c, people.viewer, group_id, role_id, tomorrow))
    with pytest.raises(Protected, match="Super Admin"):
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, SUPER_ADMIN_ROLE_ID, tomorrow))
    with pytest.raises(Protected, match="Super Admin account"):
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, root_id, role_id, tomorrow))
    with pytest.raises(NotFound, match="no such role"):
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, "no-such-role", tomorrow))
    with pytest.raises(NotFound, match="no such user"):
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, "no-such-user", role_id, tomorrow))
    with pytest.raises(InvalidInput, match="source: one of manual, request, sso"):
        people.run(lambda c: timed_grants.revoke_grant(c, people.root, user_id, role_id, "group"))
    assert not may_read(people, user_id)


@pytest.mark.parametrize(
    ("garbage", "status"),
    [
        ("tomorrow", 422),
        ("2026-13-45T25:61:00Z", 422),
        ("", 422),
        ("1e309", 422),
        ([], 422),
        (12, 400),  # a number is Unix seconds: 1970, in the past
        ("0001-01-01T00:00:00Z", 400),
        ("9999-12-31T23:59:59Z", 400),
    ],
    ids=["word", "impossible-date", "empty", "huge-float", "list", "number", "year-1", "year-9999"],
)
def test_garbage_expiries_through_the_api_are_refused_with_the_field_named(
    app_client: TestClient, db: Database, garbage: object, status: int
) -> None:
    world = seed(db)
    with db.transaction() as connection:
        user_id = add_user(connection, "gary")
    role = app_client.post("/api/roles", json={"name": "Timed"}, headers=key(world.admin_token))
    assert role.status_code == 201, role.text
    url = f"/api/users/{user_id}/roles/{role.json()['id']}"
    error = assert_error(app_client.put(url, json={"expires_at": garbage}, headers=key(world.admin_token)), status)
    assert "expires_at" in error["detail"]
    with db.snapshot() as connection:
        assert load_principal(connection, user_id).roles == ()
