"""Organization → Users over HTTP with a signed-in Super Admin, on both databases: the list, the user
page, and every admin action with its refusals."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.iam import users as admin
from gatehouse.iam.authorizer import load_principal
from gatehouse.resources.documents import validate_user_doc
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store import search
from gatehouse.store import users as store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.scim import ENTERPRISE, USER, entra_user, okta_user, patch
from support.web import csrf_of, make_admin, sign_in

SCIM = "/scim/v2"
USERS = "/organization/users"
ONE_TIME = "one time password 42"


def provision(scim: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = scim.post(f"{SCIM}/Users", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def invite(db: Database, user_name: str, **fields: str) -> str:
    """A local user, invited by ``admin`` through the use case the page calls."""
    with db.transaction() as connection:
        new = admin.new_local_user(user_name, fields.get("email", ""), fields.get("name", ""))
        acting = store.get_by_user_name(connection, "admin")
        assert acting is not None
        principal = load_principal(connection, acting.id)
        return admin.create_local_user(connection, principal, new, admin.OneTimePassword.choose(ONE_TIME)).id


def post_form(client: TestClient, url: str, **data: str) -> httpx.Response:
    """Post a form with the session's CSRF token (taken from the page, as a browser would)."""
    token = csrf_of(client.get(USERS).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def other_client(client: TestClient) -> TestClient:
    """A second browser on the same app (its own cookies)."""
    return TestClient(client.app, base_url="https://testserver")


def stored(db: Database, user_id: str) -> Any:
    with db.snapshot() as connection:
        return store.get(connection, user_id)


def table_user_names(html: str) -> list[str]:
    """The usernames of the table, as read (a search's highlights, ``<mark>``, left out)."""
    found = re.findall(r'<a class="truncate" href="/organization/users/[^"]+" title="[^"]*">(.*?)</a>', html)
    return [re.sub(r"</?mark>", "", name) for name in found]


# --------------------------------------------------------------------------------------- the list


def test_list_shows_provisioned_users_with_their_status_after_a_scim_deactivation(
    scim: TestClient, db: Database
) -> None:
    """SCIM-created users appear with source SCIM; a SCIM deactivation shows as Deactivated."""
    make_admin(db)
    sign_in(scim)
    alice = provision(scim, okta_user("alice@example.com", "ext-alice"))
    provision(scim, okta_user("bob@example.com", "ext-bob"))
    scim.patch(f"{SCIM}/Users/{alice['id']}", json=patch({"op": "replace", "value": {"active": False}}))
    page = scim.get(USERS)
    assert page.status_code == 200 and "<title>Users · Gatehouse</title>" in page.text
    assert 'aria-current="page">Users</a>' in page.text
    assert table_user_names(page.text) == ["admin", "alice@example.com", "bob@example.com"]
    assert "Showing 1–3 of 3" in page.text
    rows = page.text.split("<tr>")[2:]
    assert "Deactivated" in rows[1] and "SCIM" in rows[1] and "Test User" in rows[1]
    assert "badge-active" in rows[2] and "SCIM" in rows[2]
    assert "Local" in rows[0] and "Super Admin" in rows[0]
    assert "via group" in page.text  # the Roles column explains where roles come from
    deactivated = scim.get(USERS, params={"status": "deactivated"})
    assert table_user_names(deactivated.text) == ["alice@example.com"]


def test_search_filter_sort_and_paging_through_query_parameters(console: TestClient, db: Database) -> None:
    """q, status, source, sort/order and page are plain GET parameters; headers carry aria-sort."""
    with db.transaction() as connection:
        for i in range(55):
            doc = {"schemas": [USER], "userName": f"user{i:02d}", "displayName": f"Person {i:02d}"}
            store.insert(connection, store.UserWrite(id=str(uuid.uuid4()), doc=doc), utcnow())
    first = console.get(USERS)
    assert "Showing 1–50 of 56" in first.text and 'rel="next" href="/organization/users?page=2"' in first.text
    second = console.get(USERS, params={"page": "2"})
    assert "Showing 51–56 of 56" in second.text
    assert table_user_names(second.text) == [f"user{i}" for i in range(49, 55)]
    assert table_user_names(console.get(USERS, params={"q": "USER1"}).text) == [f"user1{i}" for i in range(10)]
    assert table_user_names(console.get(USERS, params={"q": "person 0"}).text)[:2] == ["user00", "user01"]
    assert table_user_names(console.get(USERS, params={"source": "local"}).text) == ["admin"]
    newest = console.get(USERS, params={"sort": "created"})  # dates sort newest first
    assert '<th scope="col" aria-sort="descending">' in newest.text and "admin" not in table_user_names(newest.text)
    oldest = console.get(USERS, params={"sort": "created", "order": "asc"})
    assert table_user_names(oldest.text)[0] == "admin" and '<th scope="col" aria-sort="ascending">' in oldest.text
    by_name = console.get(USERS, params={"sort": "name", "order": "desc"})
    assert table_user_names(by_name.text)[:2] == ["user54", "user53"]
    assert '<a href="/organization/users?sort=name">Name' in by_name.text  # next click: ascending
    assert console.get(USERS, params={"page": "x", "sort": "evil", "status": "?"}).status_code == 200


def test_a_search_finds_any_part_by_relevance_highlights_it_safely_and_pages_by_cursor(
    console: TestClient, db: Database
) -> None:
    """'urney' finds it inside a username, a family name or an e-mail; the order is relevance (said on the page,
    headers do not sort); matches are marked in escaped text; Next and Previous carry a cursor."""
    with db.transaction() as connection:
        for i in range(52):
            doc = {"schemas": [USER], "userName": f"journey.{i:02d}", "name": {"familyName": "Doe"}}
            store.insert(connection, store.UserWrite(id=str(uuid.uuid4()), doc=doc), utcnow())
        doc = {"schemas": [USER], "userName": "mallory", "displayName": "<b>Mal</b> Urney & co"}
        store.insert(connection, store.UserWrite(id=str(uuid.uuid4()), doc=doc), utcnow())
    page = console.get(USERS, params={"q": "URNEY", "sort": "created"})
    assert table_user_names(page.text)[:2] == ["mallory", "journey.00"]  # a word of the name, then inside a word
    assert "Showing 1–50 of 53" in page.text and "Sorted by relevance" in page.text
    assert "&lt;b&gt;Mal&lt;/b&gt; <mark>Urney</mark> &amp; co" in page.text and "<b>Mal" not in page.text
    assert '<a href="/organization/users/' in page.text and "jo<mark>urney</mark>.00" in page.text
    assert '<th scope="col">Username <span class="muted">/</span> Email</th>' in page.text
    assert "aria-sort" not in page.text
    following = re.search(r'rel="next" href="([^"]+)"', page.text)
    assert following and "cursor=" in following.group(1) and "sort=created" in following.group(1)
    second = console.get(following.group(1).replace("&amp;", "&"))
    assert "Showing 51–53 of 53" in second.text and table_user_names(second.text)[-1] == "journey.51"
    previous = re.search(r'rel="prev" href="([^"]+)"', second.text)
    assert previous and table_user_names(console.get(previous.group(1).replace("&amp;", "&")).text) == (
        table_user_names(page.text)
    )
    short = console.get(USERS, params={"q": "ma"})  # a prefix: marked at the beginning only
    assert table_user_names(short.text) == ["mallory"] and "<mark>ma</mark>llory" in short.text


def test_a_search_total_past_the_cap_shows_a_plus(
    console: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted with LIMIT CAP + 1: past the cap the page says "CAP+" (here 3+), and offers no Last page."""
    monkeypatch.setattr(search, "CAP", 3)
    with db.transaction() as connection:
        for i in range(5):
            doc = {"schemas": [USER], "userName": f"urney.{i}"}
            store.insert(connection, store.UserWrite(id=str(uuid.uuid4()), doc=doc), utcnow())
    page = console.get(USERS, params={"q": "urney"})
    assert "Showing 1–5 of 3+" in page.text and "Page 1 of 1+" in page.text and ">Last<" not in page.text


def test_empty_states_say_what_to_do_next(console: TestClient) -> None:
    """Alone: enable SCIM or invite; no match: say so and offer to clear the search."""
    alone = console.get(USERS).text
    assert "No users yet besides you" in alone
    assert "Enable SCIM Provisioning in" in alone and 'href="/organization/settings"' in alone
    assert 'href="/organization/users/new">invite a local user' in alone
    none = console.get(USERS, params={"q": "nobody", "status": "deactivated"}).text
    assert "No users match “nobody” among deactivated users" in none
    assert '<a href="/organization/users">Clear the search</a>' in none


# --------------------------------------------------------------------------------------- the user page


def test_user_page_shows_every_scim_attribute_groups_manager_history_and_sessions(
    scim: TestClient, db: Database
) -> None:
    """A SCIM user's page: attributes read-only with the IdP note, manager link, groups, history."""
    make_admin(db)
    sign_in(scim)
    boss = provision(scim, okta_user("boss@example.com", "ext-boss"))
    body = entra_user("Test_User_7")
    body[ENTERPRISE] = {"employeeNumber": "E-77", "department": "Ops", "manager": {"value": boss["id"]}}
    body["schemas"] = [USER, ENTERPRISE]
    body["phoneNumbers"] = [{"value": "+1 555 0100", "type": "mobile"}]
    body["addresses"] = [{"streetAddress": "1 Main St", "locality": "Springfield", "type": "work"}]
    body["title"] = "Engineer"
    worker = provision(scim, body)
    group = scim.post(
        f"{SCIM}/Groups",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Operators"}
        | {"members": [{"value": worker["id"]}]},
    )
    assert group.status_code == 201
    page = scim.get(f"{USERS}/{worker['id']}").text
    assert "Managed by your identity provider: change these attributes there." in page
    for shown in ("Test_User_7", "test_user_7@testuser.com (work, primary)", "+1 555 0100 (mobile)",
                  "1 Main St, Springfield (work)", "Engineer", "givenName", "familyName", "E-77", "Ops",
                  "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "Operators", "SCIM"):  # fmt: skip
        assert shown in page, shown
    assert f'<a href="/organization/users/{boss["id"]}">Test User</a>' in page  # the manager's page
    assert f'<a href="/organization/groups/{group.json()["id"]}">Operators</a>' in page  # the group's page
    assert "<td>Created</td>" in page and "<td>SCIM</td>" in page  # history: event and actor
    assert "Delete" not in page and "Reset password" not in page and "Hand to the IdP" not in page
    assert "may change the status back" in page  # the status can still change, with a warning
    own = scim.get(f"{USERS}/{(stored_by_name(db, 'admin')).id}").text
    assert "testclient" in own or "<td>—</td>" in own  # the admin's own live session is listed
    assert "Active sessions" in own and "No active dashboard sessions" not in own


def stored_by_name(db: Database, user_name: str) -> Any:
    with db.snapshot() as connection:
        return store.get_by_user_name(connection, user_name)


def test_unknown_user_is_a_404_page(console: TestClient) -> None:
    """An id that is no user renders the dashboard's 404 page."""
    response = console.get(f"{USERS}/{uuid.uuid4()}")
    assert response.status_code == 404 and "Page not found" in response.text and "no user with this id" in response.text
    assert post_form(console, f"{USERS}/{uuid.uuid4()}/deactivate").status_code == 404


# --------------------------------------------------------------------------------------- invite


def test_invite_a_local_user_who_must_change_the_password_at_first_sign_in(console: TestClient, db: Database) -> None:
    """The form creates a local user with a valid SCIM document; the first sign-in forces a change."""
    form = console.get(f"{USERS}/new")
    created = console.post(
        f"{USERS}/new",
        data={
            "csrf_token": csrf_of(form.text),
            "user_name": "jane",
            "email": "Jane@Example.com",
            "name": "Jane Doe",
            "password": ONE_TIME,
            "confirm_password": ONE_TIME,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    page = console.get(created.headers["location"])
    assert "Local user jane created" in page.text and "Jane Doe" in page.text
    jane = stored_by_name(db, "jane")
    doc = orjson.loads(jane.data)
    doc.pop("id")
    assert jane.source == "local" and validate_user_doc(doc) == doc
    assert doc["emails"] == [{"value": "Jane@Example.com", "type": "work", "primary": True}]
    assert "<td>Created</td>" in page.text and "<td>admin</td>" in page.text
    browser = other_client(console)
    first = sign_in(browser, "jane@example.com", ONE_TIME)
    assert first.headers["location"] == "/account/password"


REFUSED_INVITES = [
    ({"user_name": "ADMIN"}, 409, "already taken"),
    ({"user_name": "new", "password": "short", "confirm_password": "short"}, 400, "at least 12"),
    ({"user_name": "new", "confirm_password": "something else entirely"}, 400, "differ"),
    ({"user_name": "two words"}, 400, "without spaces"),
    ({"user_name": "new", "email": "not-an-email"}, 400, "not an e-mail address"),
]


def test_invite_refuses_bad_input_and_keeps_the_form(console: TestClient, db: Database) -> None:
    """A taken username (any case) is 409; a weak or mistyped password or a bad field is 400."""
    for fields, status, message in REFUSED_INVITES:
        response = post_form(console, f"{USERS}/new", **{"password": ONE_TIME, "confirm_password": ONE_TIME, **fields})
        assert response.status_code == status and message in response.text, fields
        assert f'value="{fields["user_name"]}"' in response.text
    assert stored_by_name(db, "new") is None


# --------------------------------------------------------------------------------------- actions


def test_deactivation_ends_the_users_session_and_is_recorded(console: TestClient, db: Database) -> None:
    """Confirm page (no JS), then POST: the user's next request is signed out; history names the admin."""
    user_id = invite(db, "ops")
    browser = other_client(console)
    sign_in(browser, "ops", ONE_TIME)
    assert browser.get("/account/password").status_code == 200
    confirm = console.get(f"{USERS}/{user_id}/deactivate")
    assert confirm.status_code == 200 and "Deactivate ops?" in confirm.text
    assert f'action="{USERS}/{user_id}/deactivate"' in confirm.text and "may change the status back" not in confirm.text
    done = post_form(console, f"{USERS}/{user_id}/deactivate")
    assert done.status_code == 303 and done.headers["location"] == f"{USERS}/{user_id}"
    page = console.get(done.headers["location"]).text
    assert "ops is deactivated and cannot sign in. 1 session(s) ended." in page
    assert "<td>Deactivated</td>" in page and "<td>admin</td>" in page and "Reactivate" in page
    gone = browser.get("/account/password", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    assert sign_in(browser, "ops", ONE_TIME).status_code == 403
    back = post_form(console, f"{USERS}/{user_id}/reactivate")
    assert back.status_code == 303 and stored(db, user_id).active
    assert "ops is active again" in console.get(back.headers["location"]).text


def test_reset_password_forces_a_change_and_ends_sessions(console: TestClient, db: Database) -> None:
    """A new one-time password: the user is signed out, the old password fails, the new one forces a change."""
    user_id = invite(db, "ops")
    browser = other_client(console)
    sign_in(browser, "ops", ONE_TIME)
    form = console.get(f"{USERS}/{user_id}/password")
    assert "signed out everywhere" in form.text
    weak = post_form(console, f"{USERS}/{user_id}/password", password="short", confirm_password="short")
    assert weak.status_code == 400 and "at least 12" in weak.text
    fresh = "another one time pw"
    reset = post_form(console, f"{USERS}/{user_id}/password", password=fresh, confirm_password=fresh)
    assert reset.status_code == 303
    assert browser.get("/account/password", follow_redirects=False).status_code == 303
    assert sign_in(browser, "ops", ONE_TIME).status_code == 401
    again = sign_in(browser, "ops", fresh)
    assert again.headers["location"] == "/account/password"
    assert "Password reset" in console.get(f"{USERS}/{user_id}").text


def test_delete_a_local_user(console: TestClient, db: Database) -> None:
    """Delete goes through a confirmation page, then the user is gone and the list says so."""
    user_id = invite(db, "temp")
    assert "Delete temp?" in console.get(f"{USERS}/{user_id}/delete").text
    done = post_form(console, f"{USERS}/{user_id}/delete")
    assert done.status_code == 303 and done.headers["location"] == USERS
    assert "temp is deleted." in console.get(USERS).text
    assert stored(db, user_id) is None
    assert console.get(f"{USERS}/{user_id}").status_code == 404


def test_the_super_admin_cannot_be_deactivated_deleted_or_handed_over(console: TestClient, db: Database) -> None:
    """Refused server-side with a clear message, and the buttons are not offered."""
    other = make_admin(db, "root")
    page = console.get(f"{USERS}/{other}").text
    assert "protected Super Admin" in page
    assert f"{other}/deactivate" not in page and f"{other}/delete" not in page and f"{other}/hand-over" not in page
    for action, message in (
        ("deactivate", "cannot be deactivated"),
        ("delete", "cannot be deleted"),
        ("hand-over", "cannot be handed"),
    ):
        refused = post_form(console, f"{USERS}/{other}/{action}")
        assert refused.status_code == 403 and message in refused.text
    me = stored_by_name(db, "admin").id
    assert post_form(console, f"{USERS}/{me}/deactivate").status_code == 403
    assert stored(db, other).active and stored(db, other).source == "local"


def test_scim_users_can_be_deactivated_in_an_emergency_but_not_deleted(scim: TestClient, db: Database) -> None:
    """The page warns that the IdP may revert the status; delete and password reset are refused."""
    make_admin(db)
    sign_in(scim)
    user = provision(scim, okta_user("idp.user@example.com"))
    confirm = scim.get(f"{USERS}/{user['id']}/deactivate").text
    assert "may change the status back" in confirm
    assert post_form(scim, f"{USERS}/{user['id']}/deactivate").status_code == 303
    assert scim.get(f"{SCIM}/Users/{user['id']}").json()["active"] is False  # the IdP sees it
    refused = post_form(scim, f"{USERS}/{user['id']}/delete")
    assert refused.status_code == 403 and "managed by your identity provider" in refused.text
    reset = post_form(scim, f"{USERS}/{user['id']}/password", password=ONE_TIME, confirm_password=ONE_TIME)
    assert reset.status_code == 403
    assert stored(db, user["id"]) is not None


def test_actions_need_the_csrf_token(console: TestClient, db: Database) -> None:
    """A forged form (no or wrong token) is refused with 403 and changes nothing."""
    user_id = invite(db, "ops")
    for data in ({}, {"csrf_token": "forged"}):
        assert console.post(f"{USERS}/{user_id}/deactivate", data=data).status_code == 403
        assert console.post(f"{USERS}/{user_id}/delete", data=data).status_code == 403
    assert stored(db, user_id).active


def test_a_user_with_no_role_sees_only_their_own_profile(console: TestClient, db: Database) -> None:
    """A signed-in user who holds no role is sent to their own profile, is refused anyone else's, and
    cannot change anyone (the page offers nothing; the server refuses a forged form anyway)."""
    target = invite(db, "target")
    helper = invite(db, "helper")
    with db.transaction() as connection:
        store.require_password_change(connection, helper, False)
    browser = other_client(console)
    sign_in(browser, "helper", ONE_TIME)
    listing = browser.get(USERS, follow_redirects=False)
    assert listing.status_code == 303 and listing.headers["location"] == f"{USERS}/{helper}"
    own = browser.get(f"{USERS}/{helper}").text
    assert "No roles" in own and "This is you" in own and 'href="/organization/users"' not in own
    other = browser.get(f"{USERS}/{target}")
    assert other.status_code == 403 and "iam:GetUser" in other.text
    token = csrf_of(own)
    refused = browser.post(f"{USERS}/{target}/deactivate", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403 and "iam:UpdateUserStatus" in refused.text
    assert stored(db, target).active


def test_a_viewer_sees_users_but_cannot_change_them(console: TestClient, db: Database) -> None:
    """The starter Viewer role reads every user but is offered no action, and a forged form is refused."""
    target = invite(db, "target")
    viewer = invite(db, "viewer")
    with db.transaction() as connection:
        store.require_password_change(connection, viewer, False)
        role = role_store.get_by_name(connection, "Viewer")
        assert role is not None
        role_store.assign(connection, viewer, role.id, role_store.MANUAL, "test", utcnow())
    browser = other_client(console)
    sign_in(browser, "viewer", ONE_TIME)
    assert table_user_names(browser.get(USERS).text) == ["admin", "target", "viewer"]
    page = browser.get(f"{USERS}/{target}").text
    assert "You may not change this user" in page and f"{target}/deactivate" not in page
    assert 'action="/organization/users/' + target + '/roles"' not in page
    refused = browser.post(f"{USERS}/{target}/deactivate", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert refused.status_code == 403 and "iam:UpdateUserStatus" in refused.text
    assert stored(db, target).active


def test_roles_and_boundaries_are_assigned_on_the_user_page_and_audited(console: TestClient, db: Database) -> None:
    """An admin assigns roles and a boundary from the user's page; both show, and each change is audited."""
    target = invite(db, "target")
    with db.snapshot() as connection:
        viewer = role_store.get_by_name(connection, "Viewer")
        assert viewer is not None
        policy = next(p for p in policy_store.list_all(connection) if "viewer" in p.name.lower())
    page = console.get(f"{USERS}/{target}").text
    assert f'value="{viewer.id}"' in page and "No roles" in page
    done = post_form(console, f"{USERS}/{target}/roles", role_id=viewer.id)
    assert done.status_code == 303
    after = console.get(done.headers["location"]).text
    assert "1 role(s) added" in after and "Viewer" in after and "(direct)" in after
    bounded = post_form(console, f"{USERS}/{target}/boundaries", policy_id=policy.id)
    assert bounded.status_code == 303
    assert policy.name in console.get(f"{USERS}/{target}").text
    listing = console.get(USERS).text
    row = next(r for r in listing.split("<tr>") if f"{USERS}/{target}" in r)
    assert "Viewer" in row
    with db.snapshot() as connection:
        events = connection.exec_driver_sql(
            "SELECT event, resource_id, outcome, actor FROM audit_events ORDER BY id"
        ).all()
    assert [tuple(e) for e in events][-2:] == [
        ("iam:UpdateUserRole", target, "success", "admin"),
        ("iam:UpdateUserBoundary", target, "success", "admin"),
    ]


def test_hand_over_makes_the_account_visible_to_scim(scim: TestClient, db: Database) -> None:
    """After hand-over, SCIM finds the account by userName and by id and can update it."""
    make_admin(db)
    sign_in(scim)
    user_id = invite(db, "legacy.user", email="legacy@example.com")
    hidden = scim.get(f"{SCIM}/Users", params={"filter": 'userName eq "legacy.user"'}).json()
    assert hidden["totalResults"] == 0
    taken = scim.post(f"{SCIM}/Users", json=okta_user("legacy.user"))
    assert taken.status_code == 409 and "Hand to the IdP" in taken.json()["detail"]
    assert "Hand legacy.user to the identity provider?" in scim.get(f"{USERS}/{user_id}/hand-over").text
    done = post_form(scim, f"{USERS}/{user_id}/hand-over")
    assert done.status_code == 303
    page = scim.get(done.headers["location"]).text
    assert "now managed by your identity provider" in page and "Handed to the identity provider" in page
    found = scim.get(f"{SCIM}/Users", params={"filter": 'userName eq "LEGACY.USER"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user_id
    updated = scim.patch(
        f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"externalId": "00u-legacy"}})
    )
    assert updated.status_code == 200 and updated.json()["externalId"] == "00u-legacy"
    assert post_form(scim, f"{USERS}/{user_id}/hand-over").status_code == 403  # already handed over
    assert post_form(scim, f"{USERS}/{user_id}/delete").status_code == 403  # the IdP owns it now
