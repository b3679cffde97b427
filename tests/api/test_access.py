"""Time-bound access and access requests through the admin API, on both databases: which roles may be requested
(``iam:UpdateRole``), a request made, read, approved (the role until the time asked for, at once), denied,
withdrawn or given up early; nobody answers their own; time-bound grants and group bindings by administrators.
Bad input is 422 (the schema) or 400 (the rules) in the error envelope, naming the field, and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.roles import get_by_name
from support.api import World, add_group, assert_error, key, roleless
from support.governance import SINKS_READ, close_to, custom_role, make_requestable, may, records, roles_held

A = "/api"


class Org:
    """The requestable role Sink readers (8 hours at most), the requester ``ana`` and another user ``bob`` (no
    role, a token each); ``olga`` (Organization Admin) approves."""

    def __init__(self, db: Database, world: World) -> None:
        self.role_id = custom_role(db, "Sink readers", [SINKS_READ])
        make_requestable(db, self.role_id)
        self.ana_id, ana_token = roleless(db, "ana")
        self.bob_id, bob_token = roleless(db, "bob")
        self.ana, self.bob = key(ana_token), key(bob_token)
        self.olga, self.admin, self.vera = key(world.org_admin_token), key(world.admin_token), key(world.viewer_token)


@pytest.fixture
def org(client: TestClient, db: Database, world: World) -> Org:
    return Org(db, world)


def ask(client: TestClient, org: Org, minutes: int = 60, reason: str = "incident INC-9") -> dict[str, Any]:
    response = client.post(
        f"{A}/access-requests", json={"role_id": org.role_id, "reason": reason, "minutes": minutes}, headers=org.ana
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ------------------------------------------------------------------------------------------ requestable roles


def test_making_a_role_requestable(client: TestClient, db: Database, org: Org) -> None:
    role_id = custom_role(db, "Deployers", [SINKS_READ])
    response = client.put(
        f"{A}/roles/{role_id}/requestable", json={"max_minutes": 120, "answer_within_minutes": 60}, headers=org.olga
    )
    assert response.status_code == 200
    assert response.json() == {"role_id": role_id, "role": "Deployers", "description": "", "max_minutes": 120,
                               "answer_within_minutes": 60}  # fmt: skip
    listed = client.get(f"{A}/access/requestable-roles", headers=org.ana)
    assert [r["role"] for r in listed.json()] == ["Deployers", "Sink readers"]
    assert client.delete(f"{A}/roles/{role_id}/requestable", headers=org.olga).status_code == 204
    assert [r["role"] for r in client.get(f"{A}/access/requestable-roles", headers=org.ana).json()] == ["Sink readers"]
    changes = [r for r in records(db, "iam:UpdateRole") if r.resource_id == role_id]
    assert [r.summary["requestable"] for r in changes] == [False, {"max_minutes": 120, "answer_within_minutes": 60}]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"max_minutes": 0}, 422, "max_minutes"),
        ({"max_minutes": -60}, 422, "max_minutes"),
        ({"max_minutes": "eight hours"}, 422, "max_minutes"),
        ({"max_minutes": 1.5}, 422, "max_minutes"),
        ({"max_minutes": 10**30}, 422, "max_minutes"),
        ({"max_minutes": 90 * 24 * 60 + 1}, 422, "max_minutes"),
        ({"max_minutes": 60, "answer_within_minutes": 0}, 422, "answer_within_minutes"),
        ({"max_minutes": 60, "answer_within_minutes": 30 * 24 * 60 + 1}, 422, "answer_within_minutes"),
        ({}, 422, "max_minutes"),
    ],
    ids=["zero", "negative", "text", "fraction", "huge", "over-90-days", "answer-zero", "answer-too-long", "missing"],
)
def test_bad_limits_are_refused(
    client: TestClient, db: Database, org: Org, body: dict[str, Any], status: int, field: str
) -> None:
    role_id = custom_role(db, "Deployers", [SINKS_READ])
    error = assert_error(client.put(f"{A}/roles/{role_id}/requestable", json=body, headers=org.olga), status)
    assert field in str(error)
    assert [r["role"] for r in client.get(f"{A}/access/requestable-roles", headers=org.ana).json()] == ["Sink readers"]


def test_who_may_make_a_role_requestable(client: TestClient, db: Database, org: Org, world: World) -> None:
    role_id = custom_role(db, "Deployers", [SINKS_READ])
    body = {"max_minutes": 60}
    assert_error(client.put(f"{A}/roles/{role_id}/requestable", json=body, headers=org.vera), 403, "forbidden")
    assert_error(client.put(f"{A}/roles/{role_id}/requestable", json=body), 401)
    assert_error(client.put(f"{A}/roles/no-such-role/requestable", json=body, headers=org.admin), 404)
    with db.snapshot() as connection:
        super_admin = get_by_name(connection, "Super Admin")
    assert super_admin is not None
    error = assert_error(client.put(f"{A}/roles/{super_admin.id}/requestable", json=body, headers=org.admin), 403)
    assert "cannot be requested" in error["detail"]


# ------------------------------------------------------------------------------------------ requests


def test_request_then_approve_grants_the_role_until_the_time_asked_for(
    client: TestClient, db: Database, org: Org
) -> None:
    made = ask(client, org, minutes=90)
    assert made["status"] == "pending" and made["username"] == "ana" and made["role"] == "Sink readers"
    assert made["minutes"] == 90 and made["granted_until"] is None
    assert close_to(moment(made["answer_by"]), utcnow() + timedelta(days=1))
    assert not may(db, org.ana_id)

    pending = client.get(f"{A}/access-requests", params={"status": "pending"}, headers=org.olga).json()
    assert [r["id"] for r in pending] == [made["id"]]
    assert client.get(f"{A}/access-requests/{made['id']}", headers=org.ana).json()["status"] == "pending"
    assert_error(client.get(f"{A}/access-requests/{made['id']}", headers=org.bob), 403)  # not bob's to read
    assert client.get(f"{A}/access-requests", headers=org.bob).json() == []

    response = client.post(f"{A}/access-requests/{made['id']}/approve", json={"note": "ok"}, headers=org.olga)
    assert response.status_code == 200
    done = response.json()
    assert (done["status"], done["decided_by"], done["note"]) == ("approved", "olga (token ci)", "ok")
    assert close_to(moment(done["granted_until"]), utcnow() + timedelta(minutes=90))
    assert may(db, org.ana_id)
    [held] = roles_held(db, org.ana_id)
    assert held.origins[0].kind == "request" and held.origins[0].until == moment(done["granted_until"])
    mine = client.get(f"{A}/me/access", headers=org.ana).json()
    assert [g["role"] for g in mine["active"]] == ["Sink readers"] and mine["pending"] == []
    assert mine["active"][0]["until"] == done["granted_until"] and mine["active"][0]["granted_by"] == "olga (token ci)"
    [recorded] = records(db, "iam:ApproveAccessRequest")
    assert recorded.summary["user"] == "ana" and moment(recorded.summary["granted_until"]) == moment(
        done["granted_until"]
    )
    assert_error(client.post(f"{A}/access-requests/{made['id']}/deny", json={}, headers=org.olga), 409, "conflict")


def test_approving_for_less_and_the_limits_of_an_answer(client: TestClient, db: Database, org: Org) -> None:
    made = ask(client, org, minutes=120)
    url = f"{A}/access-requests/{made['id']}/approve"
    for minutes, status in ((0, 422), (-1, 422), ("soon", 422), (10**20, 422), (121, 400)):
        error = assert_error(client.post(url, json={"minutes": minutes}, headers=org.olga), status)
        assert "minutes" in str(error)
    assert not may(db, org.ana_id)
    done = client.post(url, json={"minutes": 15}, headers=org.olga).json()
    assert close_to(moment(done["granted_until"]), utcnow() + timedelta(minutes=15))


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"minutes": 0}, 422, "minutes"),
        ({"minutes": -30}, 422, "minutes"),
        ({"minutes": "1h"}, 422, "minutes"),
        ({"minutes": 10**30}, 422, "minutes"),
        ({"minutes": 481}, 400, "minutes"),
        ({"reason": ""}, 422, "reason"),
        ({"reason": "  "}, 400, "reason"),
        ({"reason": "x" * 1001}, 422, "reason"),
        ({"role_id": ""}, 422, "role_id"),
    ],
    ids=["zero", "negative", "text", "huge", "over-the-maximum", "empty-reason", "blank-reason", "long-reason", "role"],
)
def test_bad_requests_are_refused_and_change_nothing(
    client: TestClient, db: Database, org: Org, body: dict[str, Any], status: int, field: str
) -> None:
    full = {"role_id": org.role_id, "reason": "a good reason", "minutes": 30, **body}
    error = assert_error(client.post(f"{A}/access-requests", json=full, headers=org.ana), status)
    assert field in str(error)
    assert client.get(f"{A}/me/access", headers=org.ana).json()["pending"] == []


def test_one_pending_request_per_role_and_only_requestable_roles(client: TestClient, db: Database, org: Org) -> None:
    ask(client, org)
    body = {"role_id": org.role_id, "reason": "again", "minutes": 30}
    assert_error(client.post(f"{A}/access-requests", json=body, headers=org.ana), 409, "conflict")
    other = custom_role(db, "Not offered", [SINKS_READ])
    assert_error(client.post(f"{A}/access-requests", json={**body, "role_id": other}, headers=org.ana), 404)
    assert_error(client.post(f"{A}/access-requests", json=body), 401)


def test_nobody_answers_their_own_request(client: TestClient, db: Database, org: Org, world: World) -> None:
    own = client.post(
        f"{A}/access-requests", json={"role_id": org.role_id, "reason": "me too", "minutes": 30}, headers=org.olga
    )
    assert own.status_code == 201
    for verb in ("approve", "deny"):
        error = assert_error(
            client.post(f"{A}/access-requests/{own.json()['id']}/{verb}", json={}, headers=org.olga), 403
        )
        assert "Nobody approves or denies their own request" in error["detail"]
    assert not may(db, world.org_admin_id, "iam:UpdateAuditSink")
    theirs = ask(client, org)
    assert_error(client.post(f"{A}/access-requests/{theirs['id']}/approve", json={}, headers=org.bob), 403)
    assert_error(client.post(f"{A}/access-requests/{theirs['id']}/approve", json={}, headers=org.vera), 403)
    assert client.get(f"{A}/access-requests/{theirs['id']}", headers=org.ana).json()["status"] == "pending"


def test_deny_withdraw_and_give_up(client: TestClient, db: Database, org: Org) -> None:
    first = ask(client, org)
    denied = client.post(f"{A}/access-requests/{first['id']}/deny", json={"note": "no"}, headers=org.olga)
    assert denied.status_code == 200 and denied.json()["status"] == "denied" and not may(db, org.ana_id)

    second = ask(client, org)
    assert_error(client.post(f"{A}/access-requests/{second['id']}/cancel", headers=org.bob), 403)
    cancelled = client.post(f"{A}/access-requests/{second['id']}/cancel", headers=org.ana)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_error(client.post(f"{A}/access-requests/{second['id']}/cancel", headers=org.ana), 409)

    third = ask(client, org)
    client.post(f"{A}/access-requests/{third['id']}/approve", json={}, headers=org.olga)
    assert may(db, org.ana_id)
    assert client.delete(f"{A}/me/access/{org.role_id}", headers=org.ana).status_code == 204
    assert not may(db, org.ana_id)
    assert_error(client.delete(f"{A}/me/access/{org.role_id}", headers=org.ana), 404)
    history = client.get(f"{A}/me/access", headers=org.ana).json()["history"]
    assert sorted(r["status"] for r in history) == ["approved", "cancelled", "denied"]
    [gave_up] = records(db, "iam:GiveUpAccess", outcome="success")
    assert gave_up.resource_id == org.ana_id and gave_up.actor.startswith("ana")


# ------------------------------------------------------------------------------------------ time-bound grants


def test_a_time_bound_grant_and_binding_by_an_administrator(client: TestClient, db: Database, org: Org) -> None:
    until = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    response = client.put(
        f"{A}/users/{org.bob_id}/roles/{org.role_id}", json={"expires_at": until.isoformat()}, headers=org.olga
    )
    assert response.status_code == 200
    assert response.json() == {"user_id": org.bob_id, "role_id": org.role_id, "role": "Sink readers",
                               "expires_at": until.isoformat()}  # fmt: skip
    [held] = roles_held(db, org.bob_id)
    assert held.origins[0].until == until and may(db, org.bob_id)
    assert client.delete(f"{A}/users/{org.bob_id}/roles/{org.role_id}", headers=org.olga).status_code == 204
    assert not may(db, org.bob_id)

    group_id = add_group(db, "On call", (org.ana_id,))
    bound = client.put(
        f"{A}/groups/{group_id}/roles/{org.role_id}", json={"expires_at": until.isoformat()}, headers=org.olga
    )
    assert bound.status_code == 200 and may(db, org.ana_id)
    [held] = roles_held(db, org.ana_id)
    assert held.origins[0].kind == "group" and held.origins[0].until == until
    assert client.delete(f"{A}/groups/{group_id}/roles/{org.role_id}", headers=org.olga).status_code == 204
    assert not may(db, org.ana_id)


@pytest.mark.parametrize(
    ("expires_at", "status", "detail"),
    [
        ("2001-01-01T00:00:00Z", 400, "expires_at: a moment in the future."),
        ("2999-01-01T00:00:00Z", 400, "expires_at: at most ten years from now."),
        ("2030-01-01T00:00:00", 400, "expires_at: give a time zone"),
        ("next week", 422, "expires_at"),
        ("2030-02-30T00:00:00Z", 422, "expires_at"),
    ],
    ids=["past", "too-far", "no-time-zone", "words", "impossible-date"],
)
def test_a_bad_expiry_is_refused(
    client: TestClient, db: Database, org: Org, expires_at: str, status: int, detail: str
) -> None:
    group_id = add_group(db, "On call", (org.ana_id,))
    for url in (f"{A}/users/{org.bob_id}/roles/{org.role_id}", f"{A}/groups/{group_id}/roles/{org.role_id}"):
        error = assert_error(client.put(url, json={"expires_at": expires_at}, headers=org.olga), status)
        assert detail in str(error)
    assert not may(db, org.bob_id) and not may(db, org.ana_id)
    assert_error(
        client.put(f"{A}/users/{org.bob_id}/roles/{org.role_id}", json={"expires_at": None}, headers=org.vera), 403
    )
