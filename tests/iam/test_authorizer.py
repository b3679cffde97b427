"""The authorizer on SQLite and PostgreSQL: who may do what, decided per request from what is stored now.

Super Admin may do everything, a Viewer only reads, a custom deny wins, a boundary limits, no role means
nothing; roles bound to a group come and go with SCIM membership changes on the next call (read through
a second engine, as another process would); an inactive or missing user is denied everything; the
principal costs two queries once the parsed documents are cached, and a broken stored document denies.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from starlette.testclient import TestClient

from gatehouse.errors import Forbidden
from gatehouse.iam import policies as policy_use
from gatehouse.iam import roles as use
from gatehouse.iam.authorizer import (
    SUPER_ADMIN_ROLE_ID,
    Principal,
    allowed,
    authorize,
    documents_cache,
    held_roles,
    load_principal,
    require,
    super_admin_role,
)
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.catalog import ACTIONS, ANY_ID, ORGANIZATION_ADMIN_EXCLUDED, Action, resource_name
from gatehouse.store import groups, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import permission_policies
from support.scim import SCIM, okta_user, patch

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def add_user(connection: Connection, name: str, *, super_admin: bool = False) -> str:
    write = users.UserWrite(
        id=str(uuid.uuid4()),
        doc={"schemas": [USER], "userName": name, "active": True},
        source="local" if super_admin else "scim",
        super_admin=super_admin,
    )
    return users.insert(connection, write, utcnow()).id


def resource_of(action: Action) -> str:
    """A concrete resource for an action: an object's name, or the collection for create actions."""
    if action.resource.endswith("/*"):
        return resource_name(action.kind, ANY_ID)
    own = "0b9c4d36-0000-4000-8000-000000000001"
    return resource_name(action.kind, f"dev/{own}" if action.kind in ("publishedservice", "consumer") else own)


def decisions(principal: Principal) -> dict[str, bool]:
    return {action.name: allowed(principal, action.name, resource_of(action)) for action in ACTIONS}


ROOT = Principal("root-id", "root", True, True, (super_admin_role(),))
"""A Super Admin acting in the use cases (no row needed: the authorizer's decisions are pure)."""


def role_id(connection: Connection, name: str) -> str:
    found = [role.id for role in use.list_roles(connection, ROOT) if role.name == name]
    assert found, name
    return found[0]


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as connection:
        ensure_rbac(connection)
    return db


@pytest.fixture
def other_process(db_url: str) -> Iterator[Database]:
    """A second engine on the same database: what another Gatehouse process sees."""
    database = Database.from_url(db_url, pool_size=1)
    yield database
    database.dispose()


def principal_of(database: Database, user_id: str) -> Principal:
    with database.reader() as connection:
        return load_principal(connection, user_id)


def custom_policy(connection: Connection, name: str, *statements: dict[str, Any]) -> str:
    return policy_use.create_policy(connection, ROOT, use.policy_input(name, {"statement": list(statements)})).id


# ------------------------------------------------------------------------------------------ matrix


def test_super_admin_may_do_everything_without_any_stored_role(db: Database) -> None:
    """The Super Admin role is computed from the account: even an unseeded database grants it."""
    with db.transaction() as connection:
        admin = add_user(connection, "root", super_admin=True)
        principal = load_principal(connection, admin)
    assert all(decisions(principal).values())
    assert [(r.id, [o.describe() for o in r.origins]) for r in principal.roles] == [
        (SUPER_ADMIN_ROLE_ID, ["Super Admin account"])
    ]
    assert principal.boundaries == ()
    decision = authorize(principal, "iam:DeleteRole", resource_name("role", "r1"))
    assert decision.reason == "allowed by statement 0 of policy 'super-admin-permission-policy' in role 'Super Admin'"


def test_viewer_may_only_read(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "viewer")
        use.assign_role(connection, ROOT, user_id, role_id(connection, "Viewer"))
    principal = principal_of(seeded, user_id)
    own_tokens = {"iam:CreateToken", "iam:DeleteToken"}
    expected = {
        a.name: (a.name.startswith("iam:Get") and a.name != "iam:GetAnyToken") or a.name in own_tokens for a in ACTIONS
    }
    assert decisions(principal) == expected
    with pytest.raises(Forbidden, match=r"iam:InviteUser on arn:gatehouse:iam:user/\*: no statement allows"):
        require(principal, "iam:InviteUser", resource_name("user", ANY_ID))


def test_organization_admin_may_do_everything_but_scim_and_login_options(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "orgadmin")
        use.assign_role(connection, ROOT, user_id, role_id(connection, "Organization Admin"))
    refused = {name for name, ok in decisions(principal_of(seeded, user_id)).items() if not ok}
    gateway = {action.name for action in ACTIONS if not action.name.startswith("iam:")}
    assert gateway and refused == set(ORGANIZATION_ADMIN_EXCLUDED) | gateway  # the gateway's, granted apart


def test_a_deny_statement_wins_over_every_allow(seeded: Database) -> None:
    """Organization Admin plus a custom role that denies deleting users: deleting is refused, and the reason
    names the denying statement, policy and role."""
    with seeded.transaction() as connection:
        user_id = add_user(connection, "careful")
        no_delete = custom_policy(
            connection,
            "no-user-deletion",
            {"effect": "allow", "actions": ["iam:GetUser"], "resources": ["arn:gatehouse:iam:user/*"]},
            {"effect": "deny", "actions": ["iam:DeleteUser", "iam:Reset<.*>"], "resources": ["*"]},
        )
        careful = use.create_role(connection, ROOT, use.role_input("Careful"), [no_delete]).role.id
        use.set_user_roles(connection, ROOT, user_id, [careful, role_id(connection, "Organization Admin")])
    principal = principal_of(seeded, user_id)
    result = decisions(principal)
    assert not result["iam:DeleteUser"] and not result["iam:ResetPassword"]
    assert result["iam:UpdateUser"] and result["iam:CreateRole"]
    decision = authorize(principal, "iam:DeleteUser", resource_name("user", user_id))
    assert decision.outcome == "denied"
    assert decision.reason == "denied by statement 1 of policy 'no-user-deletion' in role 'Careful'"
    with pytest.raises(Forbidden, match="denied by statement 1 of policy 'no-user-deletion'"):
        require(principal, "iam:DeleteUser", resource_name("user", user_id))


def test_a_permission_boundary_limits_what_roles_allow(seeded: Database) -> None:
    """Organization Admin under a read-only boundary may read, not write; the reason names the boundary."""
    with seeded.transaction() as connection:
        user_id = add_user(connection, "bounded")
        read_only = custom_policy(
            connection, "read-only-boundary", {"effect": "allow", "actions": ["iam:Get<.*>"], "resources": ["*"]}
        )
        use.assign_role(connection, ROOT, user_id, role_id(connection, "Organization Admin"))
        use.set_boundaries(connection, ROOT, user_id, [read_only])
    principal = principal_of(seeded, user_id)
    assert [b.name for b in principal.boundaries] == ["read-only-boundary"]
    expected = {a.name: a.name.startswith("iam:Get") and a.name not in ORGANIZATION_ADMIN_EXCLUDED for a in ACTIONS}
    assert decisions(principal) == expected
    decision = authorize(principal, "iam:UpdateUser", resource_name("user", user_id))
    assert decision.outcome == "outside_boundary" and decision.boundary_name == "read-only-boundary"
    # a boundary alone grants nothing
    with seeded.transaction() as connection:
        use.set_user_roles(connection, ROOT, user_id, [])
    assert not any(decisions(principal_of(seeded, user_id)).values())


def test_a_user_without_roles_may_do_nothing(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "nobody")
    principal = principal_of(seeded, user_id)
    assert principal.active and principal.roles == ()
    assert not any(decisions(principal).values())
    assert authorize(principal, "iam:GetUser", resource_name("user", user_id)).outcome == "not_allowed"


def test_labels_reach_the_conditions(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "sre")
        sre = custom_policy(
            connection,
            "sre-roles",
            {
                "effect": "allow",
                "actions": ["iam:GetRole"],
                "resources": ["*"],
                "conditions": {
                    "role_label": {
                        "type": "MatchLabel",
                        "options": {"key": "team", "operator": "exact_match", "value": "sre"},
                    }
                },
            },
        )
        role = use.create_role(connection, ROOT, use.role_input("SRE reader"), [sre]).role.id
        use.assign_role(connection, ROOT, user_id, role)
    principal = principal_of(seeded, user_id)
    target = resource_name("role", "r1")
    assert allowed(principal, "iam:GetRole", target, {"role_label": {"team": "sre"}})
    assert not allowed(principal, "iam:GetRole", target, {"role_label": {"team": "web"}})
    assert not allowed(principal, "iam:GetRole", target)


# ------------------------------------------------------------------------------------------ per request


def test_group_roles_follow_scim_membership_on_the_next_call(
    scim: TestClient, seeded: Database, other_process: Database
) -> None:
    """Bind Viewer to a group; a member added by SCIM holds it (via the group), removed loses it, and the
    group's deletion by SCIM removes the binding — each seen at once by another engine."""
    user = scim.post(f"{SCIM}/Users", json=okta_user("grace@example.com")).json()
    group = scim.post(f"{SCIM}/Groups", json={"displayName": "Engineering", "members": []}).json()
    with seeded.transaction() as connection:
        viewer = role_id(connection, "Viewer")
        use.bind_group_role(connection, ROOT, group["id"], viewer)
    target = resource_name("user", user["id"])
    assert not allowed(principal_of(other_process, user["id"]), "iam:GetUser", target)

    add = patch({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    assert scim.patch(f"{SCIM}/Groups/{group['id']}", json=add).status_code in (200, 204)
    principal = principal_of(other_process, user["id"])
    assert allowed(principal, "iam:GetUser", target)
    assert [(r.name, [o.describe() for o in r.origins]) for r in principal.roles] == [
        ("Viewer", ["via group Engineering"])
    ]

    with seeded.transaction() as connection:  # held directly as well: both origins are shown
        use.assign_role(connection, ROOT, user["id"], viewer)
    assert [o.describe() for o in principal_of(other_process, user["id"]).roles[0].origins] == [
        "direct",
        "via group Engineering",
    ]
    with seeded.transaction() as connection:
        use.unassign_role(connection, ROOT, user["id"], viewer)

    remove = patch({"op": "remove", "path": f'members[value eq "{user["id"]}"]'})
    assert scim.patch(f"{SCIM}/Groups/{group['id']}", json=remove).status_code in (200, 204)
    principal = principal_of(other_process, user["id"])
    assert principal.roles == () and not allowed(principal, "iam:GetUser", target)

    assert scim.patch(f"{SCIM}/Groups/{group['id']}", json=add).status_code in (200, 204)
    assert allowed(principal_of(other_process, user["id"]), "iam:GetUser", target)
    assert scim.delete(f"{SCIM}/Groups/{group['id']}").status_code == 204
    assert principal_of(other_process, user["id"]).roles == ()


def test_an_inactive_or_missing_user_is_denied_everything(
    scim: TestClient, seeded: Database, other_process: Database
) -> None:
    """A SCIM deactivation denies at once; reactivation restores the (manual) roles; a missing user is nobody."""
    user = scim.post(f"{SCIM}/Users", json=okta_user("henry@example.com")).json()
    with seeded.transaction() as connection:
        use.assign_role(connection, ROOT, user["id"], role_id(connection, "Viewer"))
    assert decisions(principal_of(other_process, user["id"]))["iam:GetUser"]

    deactivate = patch({"op": "replace", "value": {"active": False}})
    assert scim.patch(f"{SCIM}/Users/{user['id']}", json=deactivate).status_code == 200
    principal = principal_of(other_process, user["id"])
    assert not principal.active and not any(decisions(principal).values())
    decision = authorize(principal, "iam:GetUser", resource_name("user", user["id"]))
    assert decision.reason == "the user is inactive or does not exist"
    with other_process.reader() as connection:  # the user's page still shows what they hold
        assert [r.name for r in held_roles(connection, user["id"])] == ["Viewer"]

    reactivate = patch({"op": "replace", "value": {"active": True}})
    assert scim.patch(f"{SCIM}/Users/{user['id']}", json=reactivate).status_code == 200
    assert decisions(principal_of(other_process, user["id"]))["iam:GetUser"]

    for missing in ("no-such-user", ""):
        nobody = principal_of(other_process, missing)
        assert not nobody.active and not any(decisions(nobody).values())
    with other_process.reader() as connection:
        assert held_roles(connection, "no-such-user") == ()


# ------------------------------------------------------------------------------------------ cost and cache


def _count_statements(database: Database) -> list[str]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", before)
    return statements


def test_a_principal_costs_two_queries_once_documents_are_cached(seeded: Database, other_process: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "measured")
        admin_id = add_user(connection, "root", super_admin=True)
        group_id = str(uuid.uuid4())
        groups.insert(connection, groups.GroupWrite(group_id, {"schemas": [], "displayName": "G"}), utcnow())
        groups.add_members(connection, group_id, [user_id])
        use.bind_group_role(connection, ROOT, group_id, role_id(connection, "Organization Admin"))
        use.assign_role(connection, ROOT, user_id, role_id(connection, "Viewer"))
        boundary = custom_policy(connection, "b", {"effect": "allow", "actions": ["*"], "resources": ["*"]})
        use.set_boundaries(connection, ROOT, user_id, [boundary])
    documents_cache.clear()
    statements = _count_statements(other_process)
    cold = principal_of(other_process, user_id)
    assert len(statements) == 3  # the user, the grants, the documents (cache misses)
    statements.clear()
    warm = principal_of(other_process, user_id)
    assert len(statements) == 2
    assert warm == cold and [r.name for r in warm.roles] == ["Organization Admin", "Viewer"]
    statements.clear()
    principal_of(other_process, admin_id)
    assert len(statements) == 1


def test_a_policy_change_is_seen_on_the_next_request_despite_the_cache(
    seeded: Database, other_process: Database
) -> None:
    """Documents are cached by (id, version): an edit moves the version, so no process serves the old one."""
    with seeded.transaction() as connection:
        user_id = add_user(connection, "edited")
        policy = custom_policy(
            connection, "editable", {"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}
        )
        role = use.create_role(connection, ROOT, use.role_input("Editable"), [policy]).role.id
        use.assign_role(connection, ROOT, user_id, role)
    target = resource_name("user", user_id)
    assert allowed(principal_of(other_process, user_id), "iam:GetUser", target)
    with seeded.transaction() as connection:
        deny = {"statement": [{"effect": "deny", "actions": ["iam:GetUser"], "resources": ["*"]}]}
        policy_use.update_policy(connection, ROOT, policy, use.policy_input("editable", deny))
    assert not allowed(principal_of(other_process, user_id), "iam:GetUser", target)


def test_a_stored_document_that_no_longer_validates_denies_everything(
    seeded: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Say an upgrade removed an action that a stored policy names: that policy then denies, rather than
    silently losing its deny statements."""
    with seeded.transaction() as connection:
        user_id = add_user(connection, "broken")
        policy = custom_policy(
            connection, "soon-broken", {"effect": "deny", "actions": ["iam:DeleteUser"], "resources": ["*"]}
        )
        role = use.create_role(connection, ROOT, use.role_input("Broken"), [policy]).role.id
        use.set_user_roles(connection, ROOT, user_id, [role, role_id(connection, "Organization Admin")])
        connection.execute(
            permission_policies.update()
            .where(permission_policies.c.id == policy)
            .values(
                document='{"statement":[{"effect":"deny","actions":["iam:RemovedAction"],"resources":["*"]}]}',
                version=permission_policies.c.version + 1,
            )
        )
    with caplog.at_level(logging.ERROR, logger="gatehouse.iam.authorizer"):
        principal = principal_of(seeded, user_id)
    assert not any(decisions(principal).values())
    assert "no longer validates" in caplog.text


def test_the_actor_names_the_token(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "ivy")
        assert load_principal(connection, user_id, token_name="ci").actor == "ivy (token ci)"
        assert load_principal(connection, user_id).actor == "ivy"
