"""The /Users endpoint over HTTP (RFC 7644 §3), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.iam import scim_control
from gatehouse.passwords import verify_password
from gatehouse.scim import users as scim_users
from gatehouse.store.database import Database
from support.scim import ENTERPRISE, LIST, PUBLIC_URL, SCIM, USER, assert_scim_error, entra_user, okta_user, patch


def create(scim: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = scim.post(f"{SCIM}/Users", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_okta_create_returns_the_full_resource_without_password(scim: TestClient) -> None:
    """Okta's exact create body gives 201 with id, meta and Location, and never the password."""
    response = scim.post(f"{SCIM}/Users", json=okta_user())
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/scim+json"
    body = response.json()
    assert body["id"] and body["userName"] == "test.user@okta.local"
    assert body["active"] is True and body["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert body["name"] == {"givenName": "Test", "familyName": "User"}
    assert "password" not in body and "groups" not in body
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"] == f"{PUBLIC_URL}/scim/v2/Users/{body['id']}"
    assert response.headers["location"] == body["meta"]["location"]
    assert response.headers["etag"] == body["meta"]["version"] == 'W/"1"'


def test_entra_create_with_nulls_and_enterprise_schema(scim: TestClient) -> None:
    """Entra's body, with null attributes and a meta block, is accepted."""
    body = create(scim, entra_user())
    assert body["userName"] == "Test_User_1"
    assert ENTERPRISE in body["schemas"] or body["schemas"] == [USER]
    assert "addresses" not in body


def test_duplicate_user_name_is_a_case_insensitive_conflict(scim: TestClient) -> None:
    """A second POST of the same userName in another case gets 409 uniqueness."""
    create(scim, okta_user("jane@example.com"))
    response = scim.post(f"{SCIM}/Users", json=okta_user("JANE@example.com", "other"))
    assert_scim_error(response, 409, "uniqueness")


@pytest.mark.parametrize("password_sign_in", [False, True])
def test_a_taken_user_name_is_409_with_the_same_detail_whether_a_password_would_be_kept(
    scim: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch, password_sign_in: bool
) -> None:
    """The database's unique index decides a taken userName (in any case), and the detail names it as the holder
    has it; with password sign-in on, the name is checked before the password is hashed (never hashed for a 409)."""
    create(scim, okta_user("jane@example.com"))
    with db.transaction() as connection:
        scim_control.set_password_sign_in(connection, password_sign_in)
    hashed: list[str] = []
    monkeypatch.setattr(scim_users, "hash_password", lambda password: hashed.append(password) or "hash")
    response = scim.post(f"{SCIM}/Users", json=okta_user("JANE@example.com", "other"))
    body = assert_scim_error(response, 409, "uniqueness")
    assert body["detail"] == "userName 'jane@example.com' is already in use."
    assert hashed == []
    with db.snapshot() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1
        assert connection.exec_driver_sql("SELECT count(*) FROM user_events").scalar() == 1


def test_get_by_id_and_unknown_id(scim: TestClient) -> None:
    """GET by id returns the resource; an unknown id is a SCIM 404 with a detail."""
    created = create(scim, okta_user())
    got = scim.get(f"{SCIM}/Users/{created['id']}")
    assert got.status_code == 200 and got.json() == created
    assert_scim_error(scim.get(f"{SCIM}/Users/010101001010101011001010101011"), 404)


def test_filter_user_name_eq_is_case_insensitive_and_a_miss_is_an_empty_list(scim: TestClient) -> None:
    """Okta's and Entra's existence checks: 200 with a ListResponse, never 404."""
    created = create(scim, okta_user("test.user@okta.local"))
    found = scim.get(
        f"{SCIM}/Users",
        params={"filter": 'userName eq "TEST.user@okta.local"', "startIndex": 1, "count": 100},
    )
    assert found.status_code == 200
    body = found.json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 1 and body["itemsPerPage"] == 1 and body["startIndex"] == 1
    assert body["Resources"][0]["id"] == created["id"]
    miss = scim.get(f"{SCIM}/Users", params={"filter": 'userName eq "nobody@x"'}).json()
    assert miss == {"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}


def test_invalid_filter_is_400_invalid_filter(scim: TestClient) -> None:
    """A bare value is not a filter (Okta SPEC step 15)."""
    response = scim.get(f"{SCIM}/Users", params={"filter": "RUNSCOPE300HFLUAKLAB151@example.com"})
    assert_scim_error(response, 400, "invalidFilter")


def test_paging_is_stable_and_clamped(scim: TestClient) -> None:
    """startIndex/count per RFC 7644 §3.4.2.4: pages are disjoint and cover everything once."""
    ids = {create(scim, okta_user(f"user{i}@x.test", f"ext{i}"))["id"] for i in range(7)}
    seen: list[str] = []
    for start in (1, 4, 7):
        page = scim.get(f"{SCIM}/Users", params={"startIndex": start, "count": 3}).json()
        assert page["totalResults"] == 7 and page["startIndex"] == start
        seen += [r["id"] for r in page["Resources"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    only_total = scim.get(f"{SCIM}/Users", params={"count": 0}).json()
    assert only_total["totalResults"] == 7 and only_total["Resources"] == [] and only_total["itemsPerPage"] == 0
    clamped = scim.get(f"{SCIM}/Users", params={"startIndex": -5, "count": -1}).json()
    assert clamped["startIndex"] == 1 and clamped["itemsPerPage"] == 0
    assert_scim_error(scim.get(f"{SCIM}/Users", params={"count": "many"}), 400, "invalidValue")


def test_sort_by_user_name_descending_and_unknown_sort_is_ignored(scim: TestClient) -> None:
    """sortBy/sortOrder (RFC 7644 §3.4.2.3); an unknown sortBy is ignored."""
    for name in ("bravo", "alpha", "charlie"):
        create(scim, okta_user(f"{name}@x.test", name))
    page = scim.get(f"{SCIM}/Users", params={"sortBy": "userName", "sortOrder": "Descending"}).json()
    assert [r["userName"] for r in page["Resources"]] == ["charlie@x.test", "bravo@x.test", "alpha@x.test"]
    unknown = scim.get(f"{SCIM}/Users", params={"sortBy": "favouriteColour"})
    assert unknown.status_code == 200 and unknown.json()["totalResults"] == 3


def test_attributes_and_excluded_attributes(scim: TestClient) -> None:
    """attributes keeps id and schemas; excludedAttributes drops only what it names."""
    created = create(scim, okta_user())
    only = scim.get(f"{SCIM}/Users/{created['id']}", params={"attributes": "userName,name.givenName"}).json()
    assert only == {
        "schemas": created["schemas"],
        "id": created["id"],
        "userName": created["userName"],
        "name": {"givenName": "Test"},
    }
    without = scim.get(f"{SCIM}/Users/{created['id']}", params={"excludedAttributes": "emails,meta"}).json()
    assert "emails" not in without and "meta" not in without and without["userName"] == created["userName"]


def test_put_keeps_active_and_external_id_when_omitted(scim: TestClient) -> None:
    """Okta's GET-then-PUT omits active/externalId and sends id/meta/groups: they are ignored or kept."""
    created = create(scim, okta_user())
    put = {
        "schemas": [USER],
        "id": "someone-else",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [
            {
                "primary": True,
                "value": "test.user@okta.local",
                "type": "work",
                "display": "test.user@okta.local",
            }
        ],
        "groups": [],
        "meta": {"resourceType": "User", "created": "04-12-2018 00:00:00"},
    }
    response = scim.put(f"{SCIM}/Users/{created['id']}", json=put)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == created["id"]
    assert body["active"] is True and body["externalId"] == created["externalId"]
    assert body["name"]["givenName"] == "Another" and body["name"]["middleName"] == "Excited"
    assert body["meta"]["version"] == 'W/"2"'


def test_patch_deactivate_and_reactivate_keep_user_readable(scim: TestClient) -> None:
    """Okta's pathless replace of active: 200 with the full resource; deactivated users stay findable."""
    created = create(scim, okta_user())
    off = scim.patch(f"{SCIM}/Users/{created['id']}", json=patch({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["userName"] == created["userName"]
    assert scim.get(f"{SCIM}/Users/{created['id']}").json()["active"] is False
    found = scim.get(f"{SCIM}/Users", params={"filter": f'userName eq "{created["userName"]}"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False
    on = scim.patch(f"{SCIM}/Users/{created['id']}", json=patch({"op": "Replace", "path": "active", "value": "True"}))
    assert on.status_code == 200 and on.json()["active"] is True


def test_delete_then_404(scim: TestClient) -> None:
    """DELETE answers 204, then the user is gone; a second DELETE is 404."""
    created = create(scim, okta_user())
    assert scim.delete(f"{SCIM}/Users/{created['id']}").status_code == 204
    assert_scim_error(scim.get(f"{SCIM}/Users/{created['id']}"), 404)
    assert_scim_error(scim.delete(f"{SCIM}/Users/{created['id']}"), 404)


def test_etags_if_match_and_if_none_match(scim: TestClient) -> None:
    """RFC 7644 §3.14: 412 on a stale If-Match, 304 on a current If-None-Match."""
    created = create(scim, okta_user())
    url = f"{SCIM}/Users/{created['id']}"
    assert scim.get(url, headers={"If-None-Match": 'W/"1"'}).status_code == 304
    assert scim.get(url, headers={"If-None-Match": 'W/"9"'}).status_code == 200
    body = patch({"op": "replace", "path": "displayName", "value": "New"})
    assert_scim_error(scim.patch(url, json=body, headers={"If-Match": 'W/"7"'}), 412)
    assert scim.get(url).json()["displayName"] == "Test User"
    ok = scim.patch(url, json=body, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    assert_scim_error(scim.delete(url, headers={"If-Match": 'W/"1"'}), 412)
    assert scim.delete(url, headers={"If-Match": "*"}).status_code == 204


def test_content_types_accepted(scim: TestClient) -> None:
    """application/scim+json, application/json and no content type are all accepted."""
    import json

    for i, content_type in enumerate(["application/scim+json; charset=utf-8", "application/json", None]):
        headers = {"Content-Type": content_type} if content_type else {}
        response = scim.post(f"{SCIM}/Users", content=json.dumps(okta_user(f"ct{i}@x", f"ct{i}")), headers=headers)
        assert response.status_code == 201, (content_type, response.text)


def test_malformed_bodies_are_clear_errors_and_change_nothing(scim: TestClient) -> None:
    """Invalid JSON, a non-object body or a missing userName: 400, never a 500."""
    assert_scim_error(
        scim.post(f"{SCIM}/Users", content=b"{not json", headers={"Content-Type": "application/scim+json"}),
        400,
        "invalidSyntax",
    )
    assert scim.post(f"{SCIM}/Users", json=[1, 2]).status_code == 400
    assert_scim_error(scim.post(f"{SCIM}/Users", json={"schemas": [USER], "name": {"givenName": "x"}}), 400)
    assert scim.get(f"{SCIM}/Users").json()["totalResults"] == 0


def test_password_is_never_returned_and_stored_only_when_allowed(scim: TestClient, db: Database) -> None:
    """Okta's password is discarded by default; with password sign-in on it is kept as an Argon2 hash."""
    first = create(scim, okta_user("nopass@x.test", "np"))
    with db.transaction() as connection:
        scim_control.set_password_sign_in(connection, True)
    second = create(scim, okta_user("withpass@x.test", "wp"))
    assert "password" not in second
    with db.snapshot() as connection:
        hashes = dict(connection.exec_driver_sql("SELECT id, password_hash FROM users").all())
    assert hashes[first["id"]] is None
    assert hashes[second["id"]].startswith("$argon2id$") and "1mz050nq" not in hashes[second["id"]]
    assert verify_password(hashes[second["id"]], "1mz050nq")
    put = {k: v for k, v in okta_user("withpass@x.test", "wp").items() if k != "password"}
    scim.put(f"{SCIM}/Users/{second['id']}", json=put)
    with db.snapshot() as connection:
        kept = connection.exec_driver_sql(f"SELECT password_hash FROM users WHERE id = '{second['id']}'").scalar()
    assert kept == hashes[second["id"]]
    change = patch({"op": "replace", "value": {"password": "another secret"}})
    assert "password" not in scim.patch(f"{SCIM}/Users/{second['id']}", json=change).json()
    with db.snapshot() as connection:
        changed = connection.exec_driver_sql(f"SELECT password_hash FROM users WHERE id = '{second['id']}'").scalar()
    assert verify_password(changed, "another secret")


def test_status_changes_are_recorded_and_deactivation_ends_sessions(scim: TestClient, db: Database) -> None:
    """Create, deactivate and reactivate by SCIM each leave a history entry; deactivation drops sessions."""
    from datetime import timedelta

    from gatehouse.store import sessions, user_events
    from gatehouse.store.records import utcnow

    created = create(scim, okta_user())
    with db.transaction() as connection:
        sessions.create(connection, created["id"], utcnow(), timedelta(hours=1), "127.0.0.1", "test")
    scim.patch(f"{SCIM}/Users/{created['id']}", json=patch({"op": "replace", "value": {"active": False}}))
    with db.snapshot() as connection:
        assert sessions.of_user(connection, created["id"]) == []
    scim.patch(f"{SCIM}/Users/{created['id']}", json=patch({"op": "replace", "value": {"active": True}}))
    scim.patch(f"{SCIM}/Users/{created['id']}", json=patch({"op": "replace", "value": {"displayName": "X"}}))
    with db.snapshot() as connection:
        events = [e.event for e in user_events.history(connection, created["id"])]
    assert events == ["reactivated", "deactivated", "created"]


def test_a_scim_deactivation_revokes_api_tokens_for_good(scim: TestClient, db: Database) -> None:
    """A deactivated user's API tokens stop at once and stay revoked after reactivation."""
    from gatehouse.errors import Unauthorized
    from gatehouse.iam import api_tokens
    from gatehouse.iam.authorizer import load_principal
    from gatehouse.iam.bootstrap import ensure_rbac
    from gatehouse.store import roles
    from gatehouse.store.records import utcnow

    created = create(scim, okta_user())
    with db.transaction() as connection:
        ensure_rbac(connection)
        admin_role = roles.get_by_name(connection, "Organization Admin")
        assert admin_role is not None
        roles.assign(connection, created["id"], admin_role.id, "manual", "test", utcnow())
        issued = api_tokens.create_token(connection, load_principal(connection, created["id"]), "ci", 30)
    with db.snapshot() as connection:
        assert api_tokens.authenticate(connection, issued.token).user_id == created["id"]
    scim.patch(f"{SCIM}/Users/{created['id']}", json=patch({"op": "replace", "value": {"active": False}}))
    scim.patch(f"{SCIM}/Users/{created['id']}", json=patch({"op": "replace", "value": {"active": True}}))
    with db.snapshot() as connection, pytest.raises(Unauthorized):
        api_tokens.authenticate(connection, issued.token)
