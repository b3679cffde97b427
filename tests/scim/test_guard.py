"""The mass-deprovisioning guard (gatehouse.iam.scim_guard): the threshold; a burst of deactivations and
deletions past it held with 429, Retry-After and a SCIM error naming the guard, creates still flowing; Allow
lets the IdP's retries through, Keep blocking keeps them out; the audit log has the trip (once a burst); the
settings checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.errors import Forbidden
from gatehouse.iam import scim_control, scim_guard
from gatehouse.iam.authorizer import Principal, super_admin_role
from gatehouse.iam.scim_guard import Policy, threshold
from gatehouse.store.database import Database
from gatehouse.store.tables import audit_events
from support.api import audit, key, seed
from support.scim import ERROR, okta_user, patch

USERS = "/scim/v2/Users"
ADMIN = Principal("admin-id", "admin", True, True, (super_admin_role(),))
DEACTIVATE = patch({"op": "replace", "value": {"active": False}})


def test_the_threshold_is_a_share_of_active_users_and_at_least_the_minimum() -> None:
    policy = Policy(percent=10, min_users=25)
    assert threshold(0, policy) == 25
    assert threshold(60, policy) == 25
    assert threshold(250, policy) == 25
    assert threshold(251, policy) == 26  # 25.1 rounds up
    assert threshold(1000, policy) == 100
    assert threshold(1000, Policy(percent=100, min_users=1)) == 1000
    assert threshold(3, Policy(percent=0.5, min_users=1)) == 1


def test_the_policy_comes_from_the_settings() -> None:
    settings = Settings(
        database_url="sqlite://",
        scim_guard_enabled=False,
        scim_guard_window_minutes=5,
        scim_guard_percent=2.5,
        scim_guard_min_users=7,
    )
    assert Policy.of(settings) == Policy(False, 5, 2.5, 7)
    assert Policy.of(Settings(database_url="sqlite://")) == Policy(True, 10, 10.0, 25)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("scim_guard_window_minutes", "0"),
        ("scim_guard_window_minutes", "-1"),
        ("scim_guard_window_minutes", "ten"),
        ("scim_guard_window_minutes", "1441"),
        ("scim_guard_percent", "0"),
        ("scim_guard_percent", "-10"),
        ("scim_guard_percent", "lots"),
        ("scim_guard_percent", "101"),
        ("scim_guard_percent", "1e400"),
        ("scim_guard_min_users", "0"),
        ("scim_guard_min_users", "-25"),
        ("scim_guard_min_users", "many"),
        ("scim_guard_min_users", "99999999999999999999999"),
        ("scim_guard_enabled", "perhaps"),
    ],
)
def test_bad_guard_settings_are_refused_with_their_name(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url="sqlite://", **{name: value})  # type: ignore[arg-type]
    assert name in str(refused.value)


@pytest.fixture
def guarded(settings: Settings, db: Database) -> Iterator[TestClient]:
    """The app with the default guard (25 users at least, 10%), SCIM on and an ``Okta`` token."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    fast = settings.model_copy(update={"scim_rate_per_second": 1_000_000, "scim_burst": 1_000_000})
    with TestClient(create_app(fast, db), base_url="https://testserver") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _create(client: TestClient, count: int, prefix: str = "u") -> list[str]:
    ids = []
    for n in range(count):
        response = client.post(USERS, json=okta_user(f"{prefix}{n}@example.com", f"ext-{prefix}{n}"))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _events(db: Database, event: str) -> list[Any]:
    with db.transaction() as connection:
        query = sa.select(audit_events).where(audit_events.c.event == event).order_by(audit_events.c.id)
        return list(connection.execute(query))


def _assert_held(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "60"
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "429"
    assert "Mass-deprovisioning guard" in body["detail"]


def test_a_burst_past_the_threshold_is_held_until_an_administrator_allows_it(guarded: TestClient, db: Database) -> None:
    ids = _create(guarded, 60)
    answers = [guarded.patch(f"{USERS}/{user_id}", json=DEACTIVATE) for user_id in ids[:40]]
    assert [a.status_code for a in answers[:25]] == [200] * 25
    for answer in answers[25:]:
        _assert_held(answer)
    assert guarded.get(f"{USERS}/{ids[30]}").json()["active"] is True  # held: not applied
    _assert_held(guarded.delete(f"{USERS}/{ids[50]}"))  # deletions are held too
    assert guarded.get(f"{USERS}/{ids[50]}").status_code == 200

    # creates and other updates keep flowing
    assert _create(guarded, 1, "new")
    rename = guarded.patch(f"{USERS}/{ids[45]}", json=patch({"op": "replace", "path": "displayName", "value": "X"}))
    assert rename.status_code == 200

    with db.transaction() as connection:
        status = scim_guard.status(connection, ADMIN, Policy())
    assert status.held_count == 16 and status.applied_in_window == 25 and status.threshold == 25
    assert {(h.user_name, h.kind, h.token_name) for h in status.held} >= {
        ("u30@example.com", "deactivate", "Okta"),
        ("u50@example.com", "delete", "Okta"),
    }
    tripped = _events(db, "scim:GuardTripped")
    assert len(tripped) == 1  # once a burst, not once a request
    assert tripped[0].actor == "SCIM token Okta" and tripped[0].status == 429

    with db.transaction() as connection:
        assert scim_guard.allow(connection, ADMIN, Policy()) == 16
    retried = [guarded.patch(f"{USERS}/{user_id}", json=DEACTIVATE) for user_id in ids[25:40]]
    assert [r.status_code for r in retried] == [200] * 15
    assert guarded.delete(f"{USERS}/{ids[50]}").status_code == 204
    with db.transaction() as connection:
        assert scim_guard.status(connection, ADMIN, Policy()).held_count == 0


def test_keep_blocking_clears_the_held_list_and_keeps_the_guard_closed(guarded: TestClient, db: Database) -> None:
    ids = _create(guarded, 30)
    for user_id in ids[:25]:
        assert guarded.delete(f"{USERS}/{user_id}").status_code == 204
    _assert_held(guarded.delete(f"{USERS}/{ids[25]}"))
    _assert_held(guarded.patch(f"{USERS}/{ids[26]}", json=DEACTIVATE))
    with db.transaction() as connection:
        assert scim_guard.block(connection, ADMIN) == 2
        assert scim_guard.status(connection, ADMIN, Policy()).held_count == 0
    _assert_held(guarded.delete(f"{USERS}/{ids[25]}"))  # the retry is held again
    put = okta_user("u27@example.com", "ext-u27") | {"active": False}
    _assert_held(guarded.put(f"{USERS}/{ids[27]}", json=put))  # a PUT with active false too
    assert len(_events(db, "scim:GuardTripped")) == 1  # the same burst
    with db.transaction() as connection:
        assert scim_guard.status(connection, ADMIN, Policy()).held_count == 2


def test_a_deactivated_user_patched_again_is_no_deactivation(guarded: TestClient) -> None:
    ids = _create(guarded, 27)
    for user_id in ids[:25]:
        assert guarded.patch(f"{USERS}/{user_id}", json=DEACTIVATE).status_code == 200
    assert guarded.patch(f"{USERS}/{ids[0]}", json=DEACTIVATE).status_code == 200  # already inactive
    reactivate = patch({"op": "replace", "value": {"active": True}})
    assert guarded.patch(f"{USERS}/{ids[1]}", json=reactivate).status_code == 200
    _assert_held(guarded.patch(f"{USERS}/{ids[26]}", json=DEACTIVATE))


def test_a_guard_turned_off_holds_nothing(settings: Settings, db: Database) -> None:
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    off = settings.model_copy(update={"scim_guard_enabled": False, "scim_rate_per_second": 0})
    with TestClient(create_app(off, db), base_url="https://testserver") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        ids = _create(client, 30)
        assert all(client.delete(f"{USERS}/{user_id}").status_code == 204 for user_id in ids)


def test_allow_and_block_need_the_update_permission(db: Database) -> None:
    reader = Principal("r", "reader", True, False)
    with db.transaction() as connection, pytest.raises(Forbidden):
        scim_guard.allow(connection, reader, Policy())
    with db.transaction() as connection, pytest.raises(Forbidden):
        scim_guard.block(connection, reader)
    with db.transaction() as connection, pytest.raises(Forbidden):
        scim_guard.status(connection, reader, Policy())


def test_the_admin_api_shows_allows_and_blocks_with_audit(guarded: TestClient, db: Database) -> None:
    world = seed(db)
    scim_auth = guarded.headers.pop("Authorization")
    admin, viewer = key(world.admin_token), key(world.viewer_token)
    empty = guarded.get("/api/scim/guard", headers=admin).json()
    assert empty["enabled"] is True and empty["threshold"] == 25 and empty["held"] == []

    guarded.headers["Authorization"] = scim_auth
    ids = _create(guarded, 27)
    for user_id in ids[:25]:
        assert guarded.delete(f"{USERS}/{user_id}").status_code == 204
    _assert_held(guarded.delete(f"{USERS}/{ids[25]}"))
    guarded.headers.pop("Authorization")

    status = guarded.get("/api/scim/guard", headers=viewer)
    assert status.status_code == 200, status.text  # a Viewer may read it…
    body = status.json()
    assert body["held_count"] == 1 and body["applied_in_window"] == 25 and body["tripped_at"] is not None
    assert [(h["user_name"], h["kind"], h["token_name"]) for h in body["held"]] == [
        ("u25@example.com", "delete", "Okta")
    ]
    assert guarded.post("/api/scim/guard/allow", headers=viewer).status_code == 403  # …not decide
    assert guarded.post("/api/scim/guard/allow", headers=admin).json() == {"allowed": True, "held": 1}
    assert guarded.get("/api/scim/guard", headers=admin).json()["allowed_until"] is not None
    assert guarded.post("/api/scim/guard/block", headers=admin).json() == {"allowed": False, "held": 0}
    assert guarded.get("/api/scim/guard", headers=admin).json()["allowed_until"] is None

    decided = [r for r in audit(db, "iam:UpdateSCIMProvisioning") if r.outcome == "success"]
    assert sorted(r.summary["operation"] for r in decided) == ["allow_deprovisioning", "block_deprovisioning"]
    assert {r.actor for r in decided} == {"admin (token ci)"}
    refused = [r for r in audit(db, "iam:UpdateSCIMProvisioning") if r.outcome == "refused"]
    assert len(refused) == 1 and refused[0].status == 403
    assert len(audit(db, "scim:GuardTripped")) == 1
