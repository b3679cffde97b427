"""Organization → Roles over HTTP, on both databases: the list, a role's page, create, edit, attach and
detach policies, bind and unbind groups, delete; validation errors, refusals for a Viewer (403 and nothing
changed) and the audit record of every attempt.

The helpers (signed-in browsers, users with a starter role, groups, audit rows) are in
``support/dashboard.py``, shared with ``test_policies.py`` and ``test_groups.py``.
"""

from __future__ import annotations

import re
import uuid

from starlette.testclient import TestClient

from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, load_principal
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.dashboard import (
    GROUPS,
    POLICIES,
    ROLES,
    add_group,
    add_policy,
    add_role,
    add_user,
    audit,
    browser,
    find_role,
    post_form,
    role_named,
)

# ------------------------------------------------------------------------------------------ the list


def test_the_list_shows_every_role_with_counts_and_the_built_in_badge(console: TestClient, db: Database) -> None:
    add_user(db, "vera", "Viewer")
    readers = add_group(db, "Readers")
    with db.transaction() as connection:
        role_store.bind(connection, readers, role_named(connection, "Viewer").id, "admin", utcnow())
    page = console.get(ROLES)
    assert page.status_code == 200 and "<title>Roles · Gatehouse</title>" in page.text
    assert 'aria-current="page">Roles</a>' in page.text
    rows = page.text.split("<tr>")[2:]
    names = [re.findall(r'<a href="/organization/roles/[^"]+">([^<]+)</a>', row)[0] for row in rows]
    assert names == ["Organization Admin", "Super Admin", "Viewer"]
    assert "Built-in" in rows[1] and "Super Admin accounts" in rows[1]
    viewer_cells = rows[2].split("<td>")
    assert [cell[:2] for cell in viewer_cells[3:6]] == ["1<", "1<", "1<"]  # 1 policy, 1 user, 1 group
    assert 'href="/organization/roles/new"' in page.text


def test_a_user_without_roles_may_not_see_roles(console: TestClient, db: Database) -> None:
    add_user(db, "nora")
    nora = browser(console, "nora")
    page = nora.get(ROLES)
    assert page.status_code == 403 and "iam:GetRole" in page.text
    assert 'href="/organization/roles"' not in page.text  # not in the navigation either


# ------------------------------------------------------------------------------------------ create


def test_create_a_role_with_labels_and_a_policy(console: TestClient, db: Database) -> None:
    policy_id = add_policy(db, "read-users")
    form = console.get(f"{ROLES}/new")
    assert form.status_code == 200 and 'name="policy_id"' in form.text and "read-users" in form.text
    response = post_form(
        console,
        f"{ROLES}/new",
        {
            "name": "  Support  desk ",
            "description": "Helps users",
            "labels": "team=support\n\nenv = prod",
            "policy_id": [policy_id],
        },
    )
    assert response.status_code == 303, response.text
    role = find_role(db, "support desk")
    assert role is not None and role.name == "Support desk" and dict(role.labels) == {"team": "support", "env": "prod"}
    assert response.headers["location"] == f"{ROLES}/{role.id}"
    page = console.get(response.headers["location"])
    assert "Role Support desk created." in page.text
    assert "team=support" in page.text and "read-users" in page.text and "Helps users" in page.text
    [record] = audit(db, "iam:CreateRole")
    assert record["outcome"] == "success" and record["resource_type"] == "role" and record["resource_id"] == role.id
    assert (
        record["actor"] == "admin" and record["source"] == "dashboard" and record["summary"]["policies"] == [policy_id]
    )


def test_create_refuses_invalid_input_and_a_taken_name_showing_the_form_again(
    console: TestClient, db: Database
) -> None:
    empty = post_form(console, f"{ROLES}/new", {"name": "  ", "description": "kept"})
    assert empty.status_code == 400 and "a role needs a name" in empty.text and ">kept</textarea>" in empty.text
    bad_labels = post_form(console, f"{ROLES}/new", {"name": "Ops", "labels": "team"})
    assert bad_labels.status_code == 400 and "labels, line 1: write one label per line as key=value" in bad_labels.text
    bad_key = post_form(console, f"{ROLES}/new", {"name": "Ops", "labels": "-bad=1"})
    assert bad_key.status_code == 400 and "labels.-bad: a label key" in bad_key.text
    taken = post_form(console, f"{ROLES}/new", {"name": "VIEWER"})
    assert taken.status_code == 409 and "A role named &#39;VIEWER&#39; already exists" in taken.text
    missing_policy = post_form(console, f"{ROLES}/new", {"name": "Ops", "policy_id": ["nope"]})
    assert missing_policy.status_code == 404 and "nope" in missing_policy.text
    assert find_role(db, "Ops") is None
    assert [(r["outcome"], r["status"]) for r in audit(db, "iam:CreateRole")] == [
        ("failed", 400),
        ("failed", 400),
        ("failed", 400),
        ("failed", 409),
        ("failed", 404),
    ]


# ------------------------------------------------------------------------------------------ edit


def test_edit_a_role_and_refuse_a_stale_form(console: TestClient, db: Database) -> None:
    role_id = add_role(db, "Ops", labels={"team": "sre"})
    form = console.get(f"{ROLES}/{role_id}/edit")
    assert form.status_code == 200 and "team=sre</textarea>" in form.text and 'name="version" value="1"' in form.text
    saved = post_form(
        console, f"{ROLES}/{role_id}/edit", {"name": "Operations", "description": "24/7", "labels": "", "version": "1"}
    )
    assert saved.status_code == 303
    role = find_role(db, "Operations")
    assert role is not None and role.description == "24/7" and dict(role.labels) == {} and role.version == 2
    stale = post_form(console, f"{ROLES}/{role_id}/edit", {"name": "Ops again", "version": "1"})
    assert stale.status_code == 412 and "changed since you loaded it" in stale.text
    assert find_role(db, "Ops again") is None
    taken = post_form(console, f"{ROLES}/{role_id}/edit", {"name": "viewer", "version": "2"})
    assert taken.status_code == 409 and "already exists" in taken.text
    assert [(r["outcome"], r["status"], r["resource_id"]) for r in audit(db, "iam:UpdateRole")] == [
        ("success", 200, role_id),
        ("failed", 412, role_id),
        ("failed", 409, role_id),
    ]


def test_the_super_admin_role_is_shown_as_not_editable(console: TestClient, db: Database) -> None:
    page = console.get(f"{ROLES}/{SUPER_ADMIN_ROLE_ID}")
    assert page.status_code == 200 and "cannot be edited or deleted" in page.text
    assert "held by every Super Admin account" in page.text
    assert f"{SUPER_ADMIN_ROLE_ID}/edit" not in page.text and f"{SUPER_ADMIN_ROLE_ID}/delete" not in page.text
    assert "/policies/detach" not in page.text and "/groups/bind" not in page.text
    assert console.get(f"{ROLES}/{SUPER_ADMIN_ROLE_ID}/edit").status_code == 403
    refused = post_form(console, f"{ROLES}/{SUPER_ADMIN_ROLE_ID}/edit", {"name": "Root"})
    assert refused.status_code == 403 and "Not allowed" in refused.text and "Nothing was changed" in refused.text
    deleted = post_form(console, f"{ROLES}/{SUPER_ADMIN_ROLE_ID}/delete")
    assert deleted.status_code == 403 and find_role(db, "Super Admin") is not None
    assert [r["outcome"] for r in audit(db, "iam:UpdateRole")] == ["refused"]
    assert [r["outcome"] for r in audit(db, "iam:DeleteRole")] == ["refused"]


# ------------------------------------------------------------------------------------------ policies and groups


def test_attach_and_detach_policies(console: TestClient, db: Database) -> None:
    role_id = add_role(db, "Ops")
    policy_id = add_policy(db, "read-users")
    page = console.get(f"{ROLES}/{role_id}")
    assert "No policies attached" in page.text and f'<option value="{policy_id}">read-users</option>' in page.text
    attached = post_form(console, f"{ROLES}/{role_id}/policies/attach", {"policy_id": policy_id})
    assert attached.status_code == 303
    page = console.get(f"{ROLES}/{role_id}")
    assert "Policy attached." in page.text and f'href="{POLICIES}/{policy_id}">read-users</a>' in page.text
    nothing = post_form(console, f"{ROLES}/{role_id}/policies/attach")
    assert nothing.status_code == 400 and "Choose a permission policy" in nothing.text
    detached = post_form(console, f"{ROLES}/{role_id}/policies/detach", {"policy_id": policy_id})
    assert detached.status_code == 303
    with db.snapshot() as connection:
        assert role_store.policy_ids_of(connection, [role_id])[role_id] == []
    summaries = [(r["outcome"], r["summary"]) for r in audit(db, "iam:UpdateRole")]
    assert summaries == [  # with the names of the moment (the audit log's sentences use them)
        ("success", {"attach_policies": [policy_id], "name": "Ops", "policy_names": ["read-users"]}),
        ("failed", {"attach_policies": []}),
        ("success", {"detach_policies": [policy_id], "name": "Ops", "policy_names": ["read-users"]}),
    ]


def test_bind_and_unbind_a_group_from_the_role_page(console: TestClient, db: Database) -> None:
    role_id = add_role(db, "Ops")
    group_id = add_group(db, "Engineering")
    bound = post_form(console, f"{ROLES}/{role_id}/groups/bind", {"group": "  engineering "})
    assert bound.status_code == 303
    page = console.get(f"{ROLES}/{role_id}")
    assert "Members of Engineering now hold this role." in page.text
    assert f'href="{GROUPS}/{group_id}">Engineering</a>' in page.text
    unknown = post_form(console, f"{ROLES}/{role_id}/groups/bind", {"group": "Nobody"})
    assert unknown.status_code == 404 and "There is no group named &#39;Nobody&#39;" in unknown.text
    unbound = post_form(console, f"{ROLES}/{role_id}/groups/unbind", {"group_id": group_id})
    assert unbound.status_code == 303
    with db.snapshot() as connection:
        assert role_store.groups_bound_to(connection, role_id) == []
    records = audit(db, "iam:UpdateGroupBinding")
    assert [(r["outcome"], r["resource_type"], r["resource_id"]) for r in records] == [
        ("success", "group", group_id),
        ("failed", "group", None),
        ("success", "group", group_id),
    ]


# ------------------------------------------------------------------------------------------ delete


def test_delete_asks_first_and_refuses_a_role_still_assigned(console: TestClient, db: Database) -> None:
    role_id = add_role(db, "Ops")
    user_id = add_user(db, "olga", "Ops")
    confirm = console.get(f"{ROLES}/{role_id}/delete")
    assert confirm.status_code == 200 and "Delete the role Ops?" in confirm.text
    assert "assigned to 1 user" in confirm.text
    refused = post_form(console, f"{ROLES}/{role_id}/delete")
    assert refused.status_code == 409 and "assigned to 1 user (olga)" in refused.text
    assert find_role(db, "Ops") is not None
    with db.transaction() as connection:
        admin = user_store.get_by_user_name(connection, "admin")
        assert admin is not None
        rbac.unassign_role(connection, load_principal(connection, admin.id), user_id, role_id)
    gone = post_form(console, f"{ROLES}/{role_id}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == ROLES
    assert find_role(db, "Ops") is None
    assert "Role Ops deleted." in console.get(ROLES).text
    records = audit(db, "iam:DeleteRole")
    assert [(r["outcome"], r["status"], r["resource_id"]) for r in records] == [
        ("failed", 409, role_id),
        ("success", 200, role_id),
    ]
    assert records[1]["summary"] == {"name": "Ops"}


# ------------------------------------------------------------------------------------------ a Viewer


def test_a_viewer_sees_roles_without_buttons_and_is_refused_every_change(console: TestClient, db: Database) -> None:
    role_id = add_role(db, "Ops")
    policy_id = add_policy(db, "read-users")
    group_id = add_group(db, "Engineering")
    add_user(db, "vera", "Viewer")
    vera = browser(console, "vera")
    listing = vera.get(ROLES)
    assert listing.status_code == 200 and "Ops" in listing.text and f"{ROLES}/new" not in listing.text
    page = vera.get(f"{ROLES}/{role_id}")
    assert page.status_code == 200
    for hidden in ("/edit", "/delete", "/policies/attach", "/groups/bind"):
        assert f"{role_id}{hidden}" not in page.text
    for url in (f"{ROLES}/new", f"{ROLES}/{role_id}/edit", f"{ROLES}/{role_id}/delete"):
        assert vera.get(url).status_code == 403, url
    attempts = [
        (f"{ROLES}/new", {"name": "Mine"}),
        (f"{ROLES}/{role_id}/edit", {"name": "Renamed"}),
        (f"{ROLES}/{role_id}/policies/attach", {"policy_id": policy_id}),
        (f"{ROLES}/{role_id}/groups/bind", {"group": "Engineering"}),
        (f"{ROLES}/{role_id}/delete", {}),
    ]
    for url, data in attempts:
        response = post_form(vera, url, data)
        assert response.status_code == 403, url
        assert "Not allowed" in response.text and "Nothing was changed" in response.text
    role = find_role(db, "Ops")
    assert role is not None and role.version == 1 and find_role(db, "Mine") is None
    with db.snapshot() as connection:
        assert role_store.policy_ids_of(connection, [role_id])[role_id] == []
        assert role_store.bindings_of(connection, [group_id])[group_id] == []
    for event in ("iam:CreateRole", "iam:DeleteRole", "iam:UpdateGroupBinding"):
        assert [(r["outcome"], r["status"], r["actor"]) for r in audit(db, event)] == [("refused", 403, "vera")]
    assert [r["outcome"] for r in audit(db, "iam:UpdateRole")] == ["refused", "refused"]


def test_every_form_needs_its_csrf_token(console: TestClient, db: Database) -> None:
    role_id = add_role(db, "Ops")
    response = console.post(f"{ROLES}/{role_id}/delete", data={"csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403 and find_role(db, "Ops") is not None
    assert console.post(f"{ROLES}/new", data={"name": "X"}, follow_redirects=False).status_code == 403
    assert find_role(db, "X") is None


def test_unknown_roles_are_not_found(console: TestClient) -> None:
    assert console.get(f"{ROLES}/{uuid.uuid4()}").status_code == 404
    assert post_form(console, f"{ROLES}/{uuid.uuid4()}/delete").status_code == 404


def test_with_no_group_to_bind_the_role_page_says_so_instead_of_an_empty_form(
    console: TestClient, db: Database
) -> None:
    role_id = add_role(db, "Readers")
    page = console.get(f"{ROLES}/{role_id}")
    assert "No groups yet: your identity provider sends them by SCIM." in page.text
    assert f'action="{ROLES}/{role_id}/groups/bind"' not in page.text and 'id="bind-group"' not in page.text
    add_group(db, "Platform")
    page = console.get(f"{ROLES}/{role_id}")
    assert f'action="{ROLES}/{role_id}/groups/bind"' in page.text and "No groups yet" not in page.text


def test_the_role_page_has_no_dangerous_defaults(console: TestClient, db: Database) -> None:
    """ "Attach a policy" starts on "Choose a policy…"; a policy that grants everything is attached only after a
    confirmation that says so; a group is chosen among those that exist; a role that cannot be deleted says why
    instead of offering Delete."""
    role_id = add_role(db, "SRE")
    group_id = add_group(db, "Platform")
    page = console.get(f"{ROLES}/{role_id}")
    assert '<option value="" selected disabled>Choose a policy…</option>' in page.text
    assert '<option value="" selected disabled>Choose a group…</option>' in page.text
    assert f'<option value="{group_id}">Platform</option>' in page.text and 'name="group"' not in page.text
    with db.snapshot() as connection:
        everything = policy_store.get_by_name(connection, "super-admin-permission-policy")
    assert everything is not None
    asked = post_form(console, f"{ROLES}/{role_id}/policies/attach", {"policy_id": everything.id})
    assert asked.status_code == 303 and asked.headers["location"].startswith(f"{ROLES}/{role_id}/policies/attach?")
    confirm = console.get(asked.headers["location"])
    assert confirm.status_code == 200 and "grants every IAM action on every resource" in confirm.text
    assert "Attach and grant everything" in confirm.text and 'name="confirmed" value="yes"' in confirm.text
    with db.snapshot() as connection:
        assert role_store.policy_ids_of(connection, [role_id])[role_id] == []  # asking attached nothing
    done = post_form(console, f"{ROLES}/{role_id}/policies/attach", {"policy_id": everything.id, "confirmed": "yes"})
    assert done.status_code == 303
    with db.snapshot() as connection:
        assert role_store.policy_ids_of(connection, [role_id])[role_id] == [everything.id]

    bound = post_form(console, f"{ROLES}/{role_id}/groups/bind", {"group_id": group_id})
    assert bound.status_code == 303
    page = console.get(f"{ROLES}/{role_id}")
    assert "Members of Platform now hold this role." in page.text
    assert "Every group is bound to this role already." in page.text
    assert f'href="{ROLES}/{role_id}/delete"' not in page.text
    assert "It cannot be deleted while 1 group is bound to it: remove them first." in page.text
