"""The access review through the admin API, on both databases: effective access user by user with each role's
origin (direct, group, access request, time-bound until …), boundaries, last sign-in and API tokens; the filters
and paging; CSV and JSON exports (audited); "who may?" over every user, agreeing with the authorizer; revoking
from the review; reviews recorded and listed. Bad filters are 422 naming the parameter; the permissions are
``iam:GetAccessReview``, ``iam:CreateAccessReview`` and the revocation's own."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.iam import roles as rbac
from gatehouse.iam import timed_grants
from gatehouse.iam.authorizer import allowed, load_principal
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import ROOT, World, add_group, assert_error, key, roleless
from support.governance import SINKS_READ, SINKS_RESOURCE, custom_role, may, records

A = "/api"


class Org:
    """Sink readers held by ``ed`` directly, ``gus`` through Ops, ``tim`` until tomorrow; ``nil`` nothing."""

    def __init__(self, db: Database) -> None:
        self.role_id = custom_role(db, "Sink readers", [SINKS_READ])
        (self.ed, _), (self.gus, _), (self.tim, _), (self.nil, _) = (
            roleless(db, n) for n in ("ed", "gus", "tim", "nil")
        )
        self.ops = add_group(db, "Ops", (self.gus,))
        self.until = (utcnow() + timedelta(days=1)).replace(microsecond=0)
        with db.transaction() as connection:
            rbac.assign_role(connection, ROOT, self.ed, self.role_id)
            rbac.bind_group_role(connection, ROOT, self.ops, self.role_id)
            timed_grants.grant_role_until(connection, ROOT, self.tim, self.role_id, self.until)


@pytest.fixture
def org(client: TestClient, db: Database) -> Org:
    return Org(db)


def users(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, dict[str, Any]]:
    response = client.get(f"{A}/access-review/users", params={"limit": 1000, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return {entry["username"]: entry for entry in response.json()["users"]}


def test_every_user_with_every_role_and_how(client: TestClient, org: Org, admin: dict[str, str]) -> None:
    found = users(client, admin)
    assert set(found) == {"admin", "olga", "vera", "ed", "gus", "tim", "nil"}
    [ed] = found["ed"]["roles"]
    assert (ed["role"], ed["origin"], ed["expires_at"], ed["granted_by"]) == ("Sink readers", "direct", None, "root")
    [gus] = found["gus"]["roles"]
    assert (gus["origin"], gus["group_id"], gus["group"]) == ("group", org.ops, "Ops")
    [tim] = found["tim"]["roles"]
    assert tim["origin"] == "direct" and tim["expires_at"] == org.until.isoformat()
    assert found["admin"]["super_admin"] is True and found["admin"]["roles"] == []
    assert [t["name"] for t in found["nil"]["api_tokens"]] == ["ci"] and found["nil"]["last_sign_in"] is None
    assert found["nil"]["api_tokens"][0]["last_used_at"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"origin": "group"}, {"gus"}),
        ({"origin": "timebound"}, {"tim"}),
        ({"origin": "super_admin"}, {"admin"}),
        ({"not_signed_in_days": 0}, {"admin", "olga", "vera", "ed", "gus", "tim", "nil"}),
    ],
    ids=["group", "time-bound", "super-admin", "never-signed-in"],
)
def test_filters(
    client: TestClient, org: Org, admin: dict[str, str], params: dict[str, Any], expected: set[str]
) -> None:
    assert set(users(client, admin, **params)) == expected


def test_the_role_filter_and_paging(client: TestClient, org: Org, admin: dict[str, str]) -> None:
    assert set(users(client, admin, role_id=org.role_id)) == {"ed", "gus", "tim"}
    assert set(users(client, admin, role_id=org.role_id, origin="direct")) == {"ed", "tim"}
    first = client.get(f"{A}/access-review/users", params={"limit": 3}, headers=admin).json()
    rest = client.get(f"{A}/access-review/users", params={"cursor": first["next_cursor"]}, headers=admin).json()
    names = [u["username"] for u in first["users"] + rest["users"]]
    assert first["total"] == 7 and len(first["users"]) == 3 and rest["next_cursor"] is None
    assert names == sorted(names) and len(set(names)) == 7


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"not_signed_in_days": -1}, "not_signed_in_days"),
        ({"not_signed_in_days": "ten"}, "not_signed_in_days"),
        ({"not_signed_in_days": 36_501}, "not_signed_in_days"),
        ({"token_unused_days": "1.5"}, "token_unused_days"),
        ({"token_unused_days": "99999999999999999999"}, "token_unused_days"),
        ({"origin": "everything"}, "origin"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
    ],
)
def test_bad_filters_are_422_naming_the_parameter(
    client: TestClient, org: Org, admin: dict[str, str], params: dict[str, Any], field: str
) -> None:
    error = assert_error(client.get(f"{A}/access-review/users", params=params, headers=admin), 422)
    assert field in str(error)
    export = {k: v for k, v in params.items() if k != "limit"}
    if export:
        assert_error(client.get(f"{A}/access-review/export", params=export, headers=admin), 422)


def test_csv_and_json_exports(client: TestClient, db: Database, org: Org, admin: dict[str, str]) -> None:
    exported = client.get(f"{A}/access-review/export", params={"role_id": org.role_id}, headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"].startswith('attachment; filename="gatehouse-access-')
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted((r["username"], r["origin"]) for r in rows) == [
        ("ed", "direct"), ("gus", "group Ops"), ("tim", f"direct, until {org.until:%Y-%m-%d %H:%M} UTC"),
    ]  # fmt: skip
    as_json = client.get(f"{A}/access-review/export", params={"format": "json", "origin": "group"}, headers=admin)
    assert as_json.headers["content-type"] == "application/json"
    assert [entry["username"] for entry in orjson.loads(as_json.content)] == ["gus"]
    assert_error(client.get(f"{A}/access-review/export", params={"format": "xlsx"}, headers=admin), 422)
    exports = records(db, "iam:GetAccessReview")
    assert [(r.summary["export"], r.summary["scope"]["origin"]) for r in exports] == [("json", "group"), ("csv", None)]


def test_who_may_agrees_with_the_authorizer(client: TestClient, db: Database, org: Org, admin: dict[str, str]) -> None:
    body = {"action": SINKS_READ, "resource": SINKS_RESOURCE, "limit": 1000}
    response = client.post(f"{A}/access-review/who-may", json=body, headers=admin)
    assert response.status_code == 200
    answer = response.json()
    with db.snapshot() as connection:
        expected = set()
        for user_id in (org.ed, org.gus, org.tim, org.nil):
            principal = load_principal(connection, user_id)
            if allowed(principal, SINKS_READ, SINKS_RESOURCE):
                expected.add(principal.user_name)
    names = {u["username"] for u in answer["users"]}
    # olga (Organization Admin) and vera (Viewer) view everything; admin is a Super Admin account
    assert names == expected | {"admin", "olga", "vera"} and expected == {"ed", "gus", "tim"}
    assert answer["total"] == 6 and answer["super_admins"] == 1 and answer["evaluated_grant_sets"] >= 3
    assert any(s["roles"] == ["Sink readers"] and s["users"] == 3 for s in answer["grant_sets"])
    first = client.post(f"{A}/access-review/who-may", json={**body, "limit": 2}, headers=admin).json()
    rest = client.post(f"{A}/access-review/who-may", json={**body, "cursor": first["next_cursor"]}, headers=admin)
    assert [u["username"] for u in first["users"] + rest.json()["users"]] == sorted(names)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"action": "", "resource": SINKS_RESOURCE}, 422, "action"),
        ({"action": "iam:NoSuchThing", "resource": SINKS_RESOURCE}, 400, "action"),
        ({"action": SINKS_READ, "resource": "not-a-name"}, 400, "resource"),
        ({"action": SINKS_READ, "resource": SINKS_RESOURCE, "labels": {"role_label": "x"}}, 422, "labels"),
        ({"action": SINKS_READ, "resource": SINKS_RESOURCE, "limit": 0}, 422, "limit"),
    ],
    ids=["no-action", "unknown-action", "bad-resource", "bad-labels", "limit"],
)
def test_bad_questions(client: TestClient, org: Org, admin: dict[str, str], body: dict[str, Any], status: int,
                       field: str) -> None:  # fmt: skip
    error = assert_error(client.post(f"{A}/access-review/who-may", json=body, headers=admin), status)
    assert field in str(error) and "checks[0]" not in str(error)


def test_revoking_from_the_review(client: TestClient, db: Database, org: Org, world: World) -> None:
    olga = key(world.org_admin_token)
    url = f"{A}/access-review/revocations"
    done = client.post(url, json={"user_id": org.ed, "role_id": org.role_id, "origin": "direct"}, headers=olga)
    assert done.status_code == 200 and done.json() == {"done": "The role was taken away."}
    assert not may(db, org.ed)
    unbound = client.post(url, json={"role_id": org.role_id, "origin": "group", "group_id": org.ops}, headers=olga)
    assert unbound.status_code == 200 and "unbound from the group" in unbound.json()["done"]
    assert not may(db, org.gus)
    again = client.post(url, json={"user_id": org.ed, "role_id": org.role_id, "origin": "direct"}, headers=olga)
    assert_error(again, 404)
    viewer = client.post(url, json={"user_id": org.tim, "role_id": org.role_id, "origin": "direct"},
                         headers=key(world.viewer_token))  # fmt: skip
    assert_error(viewer, 403)
    assert_error(
        client.post(url, json={"user_id": org.tim, "role_id": org.role_id, "origin": "magic"}, headers=olga), 422
    )
    assert may(db, org.tim)
    revocations = [r for r in records(db, "iam:UpdateUserRole") if r.summary.get("via") == "access review"]
    assert sorted(r.status for r in revocations) == [200, 403, 404]  # the group's is iam:UpdateGroupBinding


def test_recording_and_listing_reviews(client: TestClient, db: Database, org: Org, world: World) -> None:
    admin, viewer = key(world.admin_token), key(world.viewer_token)
    body = {"role_id": org.role_id, "note": "quarterly SOC 2 review"}
    response = client.post(f"{A}/access-reviews", json=body, headers=admin)
    assert response.status_code == 201
    made = response.json()
    assert (
        made["users_in_scope"] == 3 and made["reviewer"] == "admin (token ci)" and made["reviewer_id"] == world.admin_id
    )
    assert made["scope"]["role_id"] == org.role_id and made["note"] == "quarterly SOC 2 review"
    listed = client.get(f"{A}/access-reviews", headers=viewer)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [made["id"]]
    assert_error(client.post(f"{A}/access-reviews", json=body, headers=viewer), 403)
    assert_error(client.post(f"{A}/access-reviews", json={"not_signed_in_days": -1}, headers=admin), 422)
    assert_error(client.post(f"{A}/access-reviews", json={"note": "x" * 2001}, headers=admin), 422)
    assert [r["id"] for r in client.get(f"{A}/access-reviews", headers=admin).json()] == [made["id"]]
    [recorded] = records(db, "iam:CreateAccessReview", outcome="success")
    assert recorded.resource_id == made["id"] and recorded.summary["users_in_scope"] == 3
    nobody = key(roleless(db, "nora")[1])
    assert_error(client.get(f"{A}/access-review/users", headers=nobody), 403)
    assert_error(client.get(f"{A}/access-review/users"), 401)
