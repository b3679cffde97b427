"""Time-bound access and access requests, on SQLite and PostgreSQL: a grant stops counting the moment it expires
(in the one grants read of the authorizer), its expiry is recorded once, requests go pending → approved (the
role until the time asked for) / denied / cancelled / expired, nobody answers their own, two approvers race."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest

from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound, Protected
from gatehouse.iam import access_requests as access
from gatehouse.iam import grant_expiry, policies, timed_grants
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, Principal, allowed, load_principal
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import access_requests as request_store
from gatehouse.store import audit
from gatehouse.store import grants as grant_store
from gatehouse.store.audit import AuditQuery
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from support.iam import People, add_group, add_user

READ_ROLES = {"statement": [{"effect": "allow", "actions": ["iam:GetRole"], "resources": ["*"]}]}
APPROVER = {"statement": [{"effect": "allow", "actions": ["iam:ApproveAccessRequest"], "resources": ["*"]}]}


def make_role(people: People, name: str, document: dict[str, object]) -> str:
    def work(connection: Connection) -> str:
        policy = policies.create_policy(connection, people.root, policy_input(f"{name}-policy", document))
        return rbac.create_role(connection, people.root, role_input(name), [policy.id]).role.id

    return people.run(work)


def principal(people: People, user_id: str) -> Principal:
    with people.db.snapshot() as connection:
        return load_principal(connection, user_id)


def records(people: People, event: str) -> list[audit.AuditRecord]:
    with people.db.snapshot() as connection:
        return audit.search(connection, AuditQuery(event=event), limit=100).records


def test_a_time_bound_grant_stops_counting_when_it_expires(people: People) -> None:
    role_id = make_role(people, "Readers", READ_ROLES)
    user_id = people.run(lambda c: add_user(c, "tess"))
    soon = utcnow() + timedelta(minutes=5)
    people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, soon))
    assert allowed(principal(people, user_id), "iam:GetRole", "arn:gatehouse:iam:role/x")
    [held] = principal(people, user_id).roles
    assert held.origins[0].until == soon and "until" in held.origins[0].describe()

    later = soon + timedelta(seconds=1)
    with mock.patch("gatehouse.store.holdings.utcnow", return_value=later):  # the clock passes the expiry
        assert not allowed(principal(people, user_id), "iam:GetRole", "arn:gatehouse:iam:role/x")
        assert principal(people, user_id).roles == ()
    assert records(people, "iam:GrantExpired") == []  # not settled yet: nothing recorded, nothing lost

    settled = people.run(lambda c: grant_expiry.settle(c, later))
    again = people.run(lambda c: grant_expiry.settle(c, later))
    assert [g.role_id for g in settled.grants] == [role_id] and len(again) == 0
    [expired] = records(people, "iam:GrantExpired")
    assert expired.resource_id == user_id and expired.summary["role"] == "Readers"
    assert expired.occurred_at == soon and expired.actor == "Gatehouse" and expired.source == "system"


def test_a_group_binding_can_be_time_bound(people: People) -> None:
    role_id = make_role(people, "Group readers", READ_ROLES)
    user_id = people.run(lambda c: add_user(c, "gil"))
    group_id = people.run(lambda c: add_group(c, "Oncall", (user_id,)))
    until = utcnow() + timedelta(hours=1)
    people.run(lambda c: timed_grants.bind_group_role_until(c, people.root, group_id, role_id, until))
    [held] = principal(people, user_id).roles
    assert held.origins[0].kind == "group" and held.origins[0].until == until
    later = until + timedelta(seconds=1)
    settled = people.run(lambda c: grant_expiry.settle(c, later))
    assert [b.group_id for b in settled.bindings] == [group_id]
    assert principal(people, user_id).roles == ()
    [expired] = records(people, "iam:GrantExpired")
    assert expired.resource_type == "group" and expired.summary["group"] == "Oncall"


def test_time_bound_grants_are_checked(people: People) -> None:
    role_id = make_role(people, "Checked", READ_ROLES)
    user_id = people.run(lambda c: add_user(c, "cal"))
    with pytest.raises(InvalidInput, match="future"):
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, role_id, utcnow()))
    with pytest.raises(Protected):
        people.run(lambda c: timed_grants.grant_role_until(c, people.root, user_id, SUPER_ADMIN_ROLE_ID, None))
    with pytest.raises(Forbidden):
        people.run(lambda c: timed_grants.grant_role_until(c, people.viewer, user_id, role_id, None))


def setup_request(people: People) -> tuple[str, str, Principal, Principal]:
    """A requestable role (8 hours at most, 1 day to answer), a requester and an approver."""
    role_id = make_role(people, "Deployers", READ_ROLES)
    approver_role = make_role(people, "Approvers", APPROVER)
    asker_id = people.run(lambda c: add_user(c, "asker"))
    approver_id = people.run(lambda c: add_user(c, "approver"))
    people.run(lambda c: rbac.assign_role(c, people.root, approver_id, approver_role))
    people.run(lambda c: access.set_requestable(c, people.root, role_id, 8 * 60, 24 * 60))
    return role_id, asker_id, principal(people, asker_id), principal(people, approver_id)


def test_request_approve_then_expire(people: People) -> None:
    role_id, asker_id, asker, approver = setup_request(people)
    request = people.run(lambda c: access.request_access(c, asker, role_id, "incident INC-42", 60))
    assert request.status == "pending" and request.minutes == 60
    assert not allowed(principal(people, asker_id), "iam:GetRole", "arn:gatehouse:iam:role/x")
    with pytest.raises(Conflict, match="already"):
        people.run(lambda c: access.request_access(c, asker, role_id, "again", 60))

    queue = people.run(lambda c: access.queue(c, approver))
    assert [r.id for r in queue.pending] == [request.id]
    assert people.run(lambda c: access.queue(c, asker)).pending == []  # the asker may not answer it

    done = people.run(lambda c: access.approve(c, approver, request.id, "ok"))
    assert done.status == "approved" and done.decided_by == "approver" and done.granted_until is not None
    now = principal(people, asker_id)
    assert allowed(now, "iam:GetRole", "arn:gatehouse:iam:role/x")
    [held] = now.roles
    assert held.origins[0].kind == "request" and held.origins[0].until == done.granted_until
    with pytest.raises(Conflict, match="approved already"):
        people.run(lambda c: access.deny(c, approver, request.id))

    after = done.granted_until + timedelta(seconds=1)
    with mock.patch("gatehouse.store.holdings.utcnow", return_value=after):
        assert not allowed(principal(people, asker_id), "iam:GetRole", "arn:gatehouse:iam:role/x")
    people.run(lambda c: grant_expiry.settle(c, after))
    [expired] = records(people, "iam:GrantExpired")
    assert expired.summary["source"] == "request" and expired.summary["granted_by"] == "approver"


def test_nobody_answers_their_own_request(people: People) -> None:
    role_id, asker_id, _, approver = setup_request(people)
    own = people.run(lambda c: access.request_access(c, approver, role_id, "me too", 30))
    with pytest.raises(Forbidden, match="own request"):
        people.run(lambda c: access.approve(c, approver, own.id))
    with pytest.raises(Forbidden, match="own request"):
        people.run(lambda c: access.deny(c, approver, own.id))
    root_request = people.run(lambda c: access.request_access(c, principal(people, asker_id), role_id, "x y z", 5))
    with pytest.raises(Forbidden):  # a viewer may not approve
        people.run(lambda c: access.approve(c, people.viewer, root_request.id))


def test_deny_cancel_and_give_up(people: People) -> None:
    role_id, asker_id, asker, approver = setup_request(people)
    first = people.run(lambda c: access.request_access(c, asker, role_id, "first try", 30))
    denied = people.run(lambda c: access.deny(c, approver, first.id, "not now"))
    assert denied.status == "denied" and denied.note == "not now"
    second = people.run(lambda c: access.request_access(c, asker, role_id, "second try", 30))
    with pytest.raises(Forbidden):
        people.run(lambda c: access.cancel(c, approver, second.id))
    assert people.run(lambda c: access.cancel(c, asker, second.id)).status == "cancelled"
    third = people.run(lambda c: access.request_access(c, asker, role_id, "third try", 30))
    people.run(lambda c: access.approve(c, approver, third.id, minutes=10))
    mine = people.run(lambda c: access.my_access(c, principal(people, asker_id)))
    assert [g.role_id for g in mine.active] == [role_id] and mine.pending == []
    assert {r.status for r in mine.history} == {"approved", "denied", "cancelled"}
    people.run(lambda c: access.give_up(c, asker, role_id))
    assert principal(people, asker_id).roles == ()
    with pytest.raises(NotFound):
        people.run(lambda c: access.give_up(c, asker, role_id))


def test_limits_of_a_request(people: People) -> None:
    role_id, _, asker, _ = setup_request(people)
    with pytest.raises(InvalidInput, match="minutes"):
        people.run(lambda c: access.request_access(c, asker, role_id, "too long", 8 * 60 + 1))
    with pytest.raises(InvalidInput, match="reason"):
        people.run(lambda c: access.request_access(c, asker, role_id, " ", 5))
    other = make_role(people, "Not requestable", READ_ROLES)
    with pytest.raises(NotFound):
        people.run(lambda c: access.request_access(c, asker, other, "please", 5))
    with pytest.raises(Protected):
        people.run(lambda c: access.set_requestable(c, people.root, SUPER_ADMIN_ROLE_ID, 60, 60))
    with pytest.raises(Forbidden):
        people.run(lambda c: access.set_requestable(c, people.viewer, role_id, 60, 60))


def test_an_unanswered_request_expires_once(people: People) -> None:
    role_id, _, asker, approver = setup_request(people)
    request = people.run(lambda c: access.request_access(c, asker, role_id, "waiting", 30))
    later = request.answer_by + timedelta(seconds=1)
    with (
        mock.patch("gatehouse.iam.access_requests.utcnow", return_value=later),
        pytest.raises(Conflict, match="expired"),
    ):
        people.run(lambda c: access.approve(c, approver, request.id))
    first = people.run(lambda c: grant_expiry.settle(c, later))
    second = people.run(lambda c: grant_expiry.settle(c, later))
    assert [r.id for r in first.requests] == [request.id] and len(second) == 0
    [record] = records(people, "iam:AccessRequestExpired")
    assert record.resource_id == request.id and record.occurred_at == request.answer_by
    with people.db.snapshot() as connection:
        stored = request_store.get(connection, request.id)
    assert stored is not None and stored.status == "expired"


def test_two_approvers_at_once_one_wins(people: People) -> None:
    role_id, _, asker, approver = setup_request(people)
    request = people.run(lambda c: access.request_access(c, asker, role_id, "race", 30))
    assert people.run(lambda c: request_store.transition(c, request.id, "denied", utcnow(), by="other"))
    with pytest.raises(Conflict):
        people.run(lambda c: access.approve(c, approver, request.id))
    assert people.run(lambda c: grant_store.grant_of(c, request.user_id, role_id, "request", utcnow())) is None
