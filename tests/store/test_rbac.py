"""RBAC storage and use cases on SQLite and PostgreSQL: seeding, uniqueness decided by the database,
foreign keys that cascade or refuse, versions, and the role / policy / assignment / binding use cases
with their refusals and precise errors."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from gatehouse.iam import policies as policy_use
from gatehouse.iam import roles as use
from gatehouse.iam.authorizer import (
    SUPER_ADMIN_POLICY_ID,
    SUPER_ADMIN_ROLE_ID,
    Principal,
    load_principal,
)
from gatehouse.iam.bootstrap import RBAC_SEEDED, ensure_rbac, ensure_super_admin
from gatehouse.iam.policy import PolicyError
from gatehouse.store import groups, policies, roles, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import api_tokens, app_settings, role_policies, user_boundaries, user_roles

T = TypeVar("T")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ALLOW_GET_USERS = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}


def add_user(connection: Connection, name: str, *, super_admin: bool = False, source: str = "scim") -> str:
    write = users.UserWrite(
        id=str(uuid.uuid4()),
        doc={"schemas": [USER], "userName": name, "active": True},
        source="local" if super_admin else source,
        super_admin=super_admin,
    )
    return users.insert(connection, write, utcnow()).id


def add_group(connection: Connection, name: str) -> str:
    group_id = str(uuid.uuid4())
    groups.insert(connection, groups.GroupWrite(group_id, {"schemas": [], "displayName": name}), utcnow())
    return group_id


def role_named(connection: Connection, name: str) -> roles.StoredRole:
    role = roles.get_by_name(connection, name)
    assert role is not None
    return role


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as connection:
        assert ensure_rbac(connection) is True
    return db


@pytest.fixture
def root(seeded: Database) -> Principal:
    """A Super Admin principal."""
    with seeded.transaction() as connection:
        admin = add_user(connection, "root", super_admin=True)
        return load_principal(connection, admin)


def write(db: Database, work: Callable[[Connection], T]) -> T:
    with db.transaction() as connection:
        return work(connection)


# ------------------------------------------------------------------------------------------ seeding


def test_first_run_seeds_the_built_in_and_the_starter_roles_once(seeded: Database) -> None:
    """Super Admin (built in, its policy attached), Organization Admin and Viewer with their policies."""
    with seeded.transaction() as connection:
        assert ensure_rbac(connection) is False
        by_name = {role.name: role for role in roles.list_all(connection)}
        attached = roles.policy_ids_of(connection, [role.id for role in by_name.values()])
        stored = policies.list_all(connection)
    assert sorted(by_name) == ["Organization Admin", "Super Admin", "Viewer"]
    assert by_name["Super Admin"].id == SUPER_ADMIN_ROLE_ID and by_name["Super Admin"].built_in
    assert not by_name["Viewer"].built_in and not by_name["Organization Admin"].built_in
    assert attached[SUPER_ADMIN_ROLE_ID] == [SUPER_ADMIN_POLICY_ID]
    assert all(len(ids) == 1 for ids in attached.values())
    assert sorted(p.name for p in stored) == [
        "organization-admin-permission-policy",
        "super-admin-permission-policy",
        "viewer-permission-policy",
    ]
    assert [p.built_in for p in stored if p.id == SUPER_ADMIN_POLICY_ID] == [True]


def test_a_deleted_starter_role_is_not_created_again(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        use.delete_role(connection, root, role_named(connection, "Viewer").id)
    with seeded.transaction() as connection:
        assert ensure_super_admin(connection, "a-long-enough-password") is None  # root exists
        assert roles.get_by_name(connection, "Viewer") is None
        assert roles.get(connection, SUPER_ADMIN_ROLE_ID) is not None


def test_ensure_super_admin_seeds_rbac(db: Database) -> None:
    with db.transaction() as connection:
        ensure_super_admin(connection, "a-long-enough-password")
        assert roles.get(connection, SUPER_ADMIN_ROLE_ID) is not None
        assert connection.execute(sa.select(app_settings.c.key).where(app_settings.c.key == RBAC_SEEDED)).first()


def test_processes_starting_together_seed_once(db: Database) -> None:
    """Concurrent first runs (each its own transaction) end with exactly three roles and three policies."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            barrier.wait()
            with db.transaction() as connection:
                ensure_rbac(connection)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.snapshot() as connection:
        assert len(roles.list_all(connection)) == 3
        assert len(policies.list_all(connection)) == 3
        assert connection.execute(sa.select(sa.func.count()).select_from(role_policies)).scalar_one() == 3


# ------------------------------------------------------------------------------------------ store contract


def test_role_names_are_unique_ignoring_case_in_the_database(seeded: Database) -> None:
    write(seeded, lambda c: roles.insert(c, str(uuid.uuid4()), roles.RoleWrite("Auditors"), utcnow()))
    with pytest.raises(Conflict, match="already exists"), seeded.transaction() as connection:
        roles.insert(connection, str(uuid.uuid4()), roles.RoleWrite("AUDITORS"), utcnow())
    other = write(seeded, lambda c: roles.insert(c, str(uuid.uuid4()), roles.RoleWrite("Other"), utcnow()))
    with pytest.raises(Conflict), seeded.transaction() as connection:
        roles.update(connection, other.id, roles.RoleWrite("auditors"), utcnow())


def test_concurrent_creates_of_one_role_name_let_exactly_one_win(seeded: Database, root: Principal) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        try:
            with seeded.transaction() as connection:
                use.create_role(connection, root, use.role_input("Release managers"))
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]


def test_policy_names_are_unique_ignoring_case(seeded: Database, root: Principal) -> None:
    write(seeded, lambda c: policy_use.create_policy(c, root, use.policy_input("read-users", ALLOW_GET_USERS)))
    with pytest.raises(Conflict, match="already exists"), seeded.transaction() as connection:
        policy_use.create_policy(connection, root, use.policy_input("Read-Users", ALLOW_GET_USERS))


def test_the_database_refuses_deleting_what_is_in_use(seeded: Database) -> None:
    """RESTRICT keys: a held role, a bound role, an attached policy, a boundary policy; the transaction stays usable."""
    with seeded.transaction() as connection:
        viewer = role_named(connection, "Viewer")
        policy_id = roles.policy_ids_of(connection, [viewer.id])[viewer.id][0]
        user_id = add_user(connection, "held")
        roles.assign(connection, user_id, viewer.id, roles.MANUAL, "test", utcnow())
        with pytest.raises(Conflict):
            roles.delete(connection, viewer.id)
        with pytest.raises(Conflict):
            policies.delete(connection, policy_id)
        roles.unassign(connection, user_id, viewer.id, roles.MANUAL)
        group_id = add_group(connection, "Ops")
        roles.bind(connection, group_id, viewer.id, "test", utcnow())
        with pytest.raises(Conflict):
            roles.delete(connection, viewer.id)
        roles.unbind(connection, group_id, viewer.id)
        roles.delete(connection, viewer.id)  # its attachment goes with it (cascade)
        assert (
            connection.execute(sa.select(role_policies).where(role_policies.c.policy_id == policy_id)).first() is None
        )
        policies.set_boundaries(connection, user_id, [policy_id], roles.MANUAL, "test", utcnow())
        with pytest.raises(Conflict):
            policies.delete(connection, policy_id)
        policies.set_boundaries(connection, user_id, [], roles.MANUAL, "test", utcnow())
        policies.delete(connection, policy_id)
        with pytest.raises(NotFound):
            policies.delete(connection, policy_id)


def test_deleting_a_user_or_a_group_takes_their_grants_with_them(seeded: Database) -> None:
    with seeded.transaction() as connection:
        viewer = role_named(connection, "Viewer")
        policy_id = roles.policy_ids_of(connection, [viewer.id])[viewer.id][0]
        user_id = add_user(connection, "leaver")
        group_id = add_group(connection, "Leavers")
        roles.assign(connection, user_id, viewer.id, roles.MANUAL, None, utcnow())
        policies.set_boundaries(connection, user_id, [policy_id], roles.MANUAL, None, utcnow())
        roles.bind(connection, group_id, viewer.id, None, utcnow())
        connection.execute(
            api_tokens.insert().values(
                id=str(uuid.uuid4()),
                user_id=user_id,
                name="t",
                token_hash="0" * 64,
                hint="…abcd",
                created=utcnow(),
                expires_at=utcnow(),
            )
        )
    with seeded.transaction() as connection:
        users.delete(connection, user_id)
        groups.delete(connection, group_id)
    with seeded.snapshot() as connection:
        for table in (user_roles, user_boundaries, api_tokens):
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
        assert roles.bindings_of(connection, [group_id]) == {group_id: []}
        assert roles.get(connection, viewer.id) is not None


def test_grants_naming_missing_rows_are_not_found_and_sources_are_checked(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "someone")
        with pytest.raises(NotFound):
            roles.assign(connection, user_id, "no-such-role", roles.MANUAL, None, utcnow())
        with pytest.raises(NotFound):
            roles.attach(connection, SUPER_ADMIN_ROLE_ID, ["no-such-policy"])
        with pytest.raises(NotFound):
            roles.bind(connection, "no-such-group", SUPER_ADMIN_ROLE_ID, None, utcnow())
        with pytest.raises(NotFound):
            policies.set_boundaries(connection, user_id, ["no-such-policy"], roles.MANUAL, None, utcnow())
        # the transaction is still usable after those refusals
        assert roles.assign(connection, user_id, role_named(connection, "Viewer").id, "manual", None, utcnow())
    with pytest.raises(IntegrityError), seeded.transaction() as connection:
        connection.execute(
            user_roles.insert().values(user_id=user_id, role_id=SUPER_ADMIN_ROLE_ID, source="ldap", granted_at=utcnow())
        )


def test_assignments_are_idempotent_per_source(seeded: Database) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "twice")
        viewer = role_named(connection, "Viewer").id
        assert roles.assign(connection, user_id, viewer, roles.MANUAL, "a", utcnow())
        assert not roles.assign(connection, user_id, viewer, roles.MANUAL, "b", utcnow())
        assert roles.assign(connection, user_id, viewer, roles.SSO, None, utcnow())
        held = roles.assignments_of(connection, [user_id])[user_id]
        assert sorted((a.source, a.granted_by) for a in held) == [("manual", "a"), ("sso", None)]
        assert roles.holders(connection, viewer) == (1, ["twice"])


def test_updates_move_the_version_and_stale_ones_fail(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        view = use.create_role(connection, root, use.role_input("Support"))
        assert view.role.version == 1
        again = use.update_role(connection, root, view.role.id, use.role_input("Support", "Helps"), expected_version=1)
        assert again.role.version == 2 and again.role.description == "Helps"
    with pytest.raises(PreconditionFailed), seeded.transaction() as connection:
        use.update_role(connection, root, view.role.id, use.role_input("Support", "Late"), expected_version=1)
    with seeded.transaction() as connection:
        policy = policy_use.create_policy(connection, root, use.policy_input("p", ALLOW_GET_USERS))
        changed = policy_use.update_policy(connection, root, policy.id, use.policy_input("p", ALLOW_GET_USERS, "d"))
        assert changed.version == 2
    with pytest.raises(PreconditionFailed), seeded.transaction() as connection:
        policy_use.update_policy(
            connection, root, policy.id, use.policy_input("p", ALLOW_GET_USERS), expected_version=1
        )


# ------------------------------------------------------------------------------------------ role use cases


def test_role_lifecycle_with_policies_and_labels(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        reader = policy_use.create_policy(connection, root, use.policy_input("reader", ALLOW_GET_USERS))
        view = use.create_role(
            connection, root, use.role_input("  Help   desk ", "First line", {"team": "support"}), [reader.id]
        )
        assert view.role.name == "Help desk" and view.role.labels == {"team": "support"}
        assert [p.name for p in view.policies] == ["reader"]
        got = use.get_role(connection, root, view.role.id)
        assert got == view
        other = policy_use.create_policy(connection, root, use.policy_input("other", ALLOW_GET_USERS))
        attached = use.attach_policies(connection, root, view.role.id, [other.id, reader.id])
        assert [p.name for p in attached.policies] == ["other", "reader"] and attached.role.version == 2
        detached = use.detach_policies(connection, root, view.role.id, [reader.id, "not-attached"])
        assert [p.name for p in detached.policies] == ["other"] and detached.role.version == 3
        replaced = use.update_role(connection, root, view.role.id, use.role_input("Help desk"), [reader.id])
        assert [p.name for p in replaced.policies] == ["reader"] and replaced.role.labels == {}
        deleted = use.delete_role(connection, root, view.role.id)
        assert deleted.id == view.role.id
        with pytest.raises(NotFound):
            use.get_role(connection, root, view.role.id)


def test_role_input_is_checked() -> None:
    for name in ("", "   ", "x" * 101, "tab\there\x00"):
        with pytest.raises(InvalidInput, match="name"):
            use.role_input(name)
    with pytest.raises(InvalidInput, match="description"):
        use.role_input("r", "d" * 1001)
    for labels, where in (
        ([], "labels"),
        ({"": "x"}, "labels."),
        ({"bad key": "x"}, "labels.bad key"),
        ({"team": 1}, "labels.team"),
        ({"team": "v" * 257}, "labels.team"),
        ({f"k{n}": "v" for n in range(33)}, "at most 32"),
    ):
        with pytest.raises(InvalidInput, match=where):
            use.role_input("r", "", labels)
    assert use.role_input("r", "", {"app.kubernetes.io/name": "x"}).labels == {"app.kubernetes.io/name": "x"}


def test_the_built_in_role_and_policy_cannot_be_changed(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        reader = policy_use.create_policy(connection, root, use.policy_input("reader", ALLOW_GET_USERS))
    attempts: list[Callable[[Connection], Any]] = [
        lambda c: use.update_role(c, root, SUPER_ADMIN_ROLE_ID, use.role_input("Boss")),
        lambda c: use.delete_role(c, root, SUPER_ADMIN_ROLE_ID),
        lambda c: use.attach_policies(c, root, SUPER_ADMIN_ROLE_ID, [reader.id]),
        lambda c: use.detach_policies(c, root, SUPER_ADMIN_ROLE_ID, [SUPER_ADMIN_POLICY_ID]),
        lambda c: policy_use.update_policy(c, root, SUPER_ADMIN_POLICY_ID, use.policy_input("x", ALLOW_GET_USERS)),
        lambda c: policy_use.delete_policy(c, root, SUPER_ADMIN_POLICY_ID),
    ]
    for attempt in attempts:
        with pytest.raises(use.Protected, match="built-in"), seeded.transaction() as connection:
            attempt(connection)


def test_a_role_in_use_cannot_be_deleted_and_the_detail_says_where(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        viewer = role_named(connection, "Viewer").id
        alice, bob = add_user(connection, "alice"), add_user(connection, "bob")
        group_id = add_group(connection, "Auditors")
        use.assign_role(connection, root, alice, viewer)
        use.assign_role(connection, root, bob, viewer)
        use.bind_group_role(connection, root, group_id, viewer)
    with pytest.raises(Conflict) as refused, seeded.transaction() as connection:
        use.delete_role(connection, root, viewer)
    assert refused.value.detail == (
        "The role 'Viewer' cannot be deleted: it is assigned to 2 users (alice, bob) and bound to group Auditors. "
        "Remove those assignments and bindings first."
    )
    with seeded.transaction() as connection:
        use.set_user_roles(connection, root, alice, [])
        use.unassign_role(connection, root, bob, viewer)
        use.set_group_roles(connection, root, group_id, [])
        use.delete_role(connection, root, viewer)


# ------------------------------------------------------------------------------------------ policy use cases


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (
            {"statement": [{"effect": "allow", "actions": ["iam:getuser"], "resources": ["*"]}]},
            "statement[0].actions[0]",
        ),
        ({"statement": [{"effect": "permit", "actions": ["*"], "resources": ["*"]}]}, "statement[0].effect"),
        ({"statement": [{"effect": "allow", "actions": ["*"]}]}, "statement[0].resources: is required"),
        ({"Statement": []}, "Statement"),
        ("{not json", "document: not valid JSON"),
        ("[]", "document: must be a JSON object"),
    ],
)
def test_invalid_policy_documents_are_refused_precisely(document: object, detail: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        use.policy_input("bad", document)
    assert detail in refused.value.detail


def test_a_policy_error_names_the_statement() -> None:
    bad = {
        "statement": [
            {"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]},
            {"effect": "deny", "actions": ["iam:DeleteUser"], "resources": ["arn:gatehouse:iam:widget/1"]},
        ]
    }
    with pytest.raises(PolicyError) as refused:
        use.policy_input("bad", bad)
    assert refused.value.statement == 1 and refused.value.location == "statement[1].resources[0]"


def test_policies_are_stored_canonical_and_json_text_is_accepted(seeded: Database, root: Principal) -> None:
    text = (
        '{"statement": [{"effect": "allow", "actions": ["iam:GetRole"], "resources": ["*"],'
        ' "conditions": {"role_label": {"type": "MatchLabel", "options": [{"key": "team", "operator": "present"}]}}}]}'
    )
    with seeded.transaction() as connection:
        stored = policy_use.create_policy(connection, root, use.policy_input("labelled", text, "", {"tier": "1"}))
        again = policy_use.get_policy(connection, root, stored.id)
    assert again.document == (
        '{"statement":[{"effect":"allow","actions":["iam:GetRole"],"resources":["*"],'
        '"conditions":{"role_label":{"type":"MatchLabel","options":{"key":"team","operator":"present"}}}}]}'
    )
    assert again.labels == {"tier": "1"}


def test_a_policy_in_use_cannot_be_deleted_and_the_detail_says_where(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        policy = policy_use.create_policy(connection, root, use.policy_input("limits", ALLOW_GET_USERS))
        role = use.create_role(connection, root, use.role_input("Limited"), [policy.id])
        carol = add_user(connection, "carol")
        use.set_boundaries(connection, root, carol, [policy.id])
        usage = policy_use.policy_usage(connection, root, policy.id)
    assert usage.roles == ((role.role.id, "Limited"),) and usage.boundary_users == 1
    with pytest.raises(Conflict) as refused, seeded.transaction() as connection:
        policy_use.delete_policy(connection, root, policy.id)
    assert refused.value.detail == (
        "The permission policy 'limits' cannot be deleted: it is attached to role Limited and the permission "
        "boundary of 1 user (carol). Detach it first."
    )
    with seeded.transaction() as connection:
        use.detach_policies(connection, root, role.role.id, [policy.id])
        assert use.set_boundaries(connection, root, carol, []) == use.AssignmentChange((), (policy.id,))
        policy_use.delete_policy(connection, root, policy.id)


# ------------------------------------------------------------------------------------------ grants


def test_the_super_admin_role_is_computed_never_granted(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        user_id = add_user(connection, "dave")
        group_id = add_group(connection, "Admins")
        other_admin = add_user(connection, "root2", super_admin=True)
        viewer = role_named(connection, "Viewer").id
    refusals: list[Callable[[Connection], Any]] = [
        lambda c: use.assign_role(c, root, user_id, SUPER_ADMIN_ROLE_ID),
        lambda c: use.set_user_roles(c, root, user_id, [viewer, SUPER_ADMIN_ROLE_ID]),
        lambda c: use.bind_group_role(c, root, group_id, SUPER_ADMIN_ROLE_ID),
        lambda c: use.set_group_roles(c, root, group_id, [SUPER_ADMIN_ROLE_ID]),
        lambda c: use.assign_role(c, root, other_admin, viewer),
        lambda c: use.set_boundaries(c, root, other_admin, [SUPER_ADMIN_POLICY_ID]),
    ]
    for refusal in refusals:
        with pytest.raises(use.Protected), seeded.transaction() as connection:
            refusal(connection)
    with seeded.snapshot() as connection:
        held = use.roles_of_user(connection, root, other_admin)
        assert [(r.name, [o.describe() for o in r.origins]) for r in held] == [("Super Admin", ["Super Admin account"])]
        assert roles.assignments_of(connection, [user_id, other_admin]) == {user_id: [], other_admin: []}


def test_user_roles_and_group_bindings_replace_sets(seeded: Database, root: Principal) -> None:
    with seeded.transaction() as connection:
        viewer, admin = role_named(connection, "Viewer").id, role_named(connection, "Organization Admin").id
        erin = add_user(connection, "erin")
        group_id = add_group(connection, "Platform")
        assert use.set_user_roles(connection, root, erin, [viewer, admin]) == use.AssignmentChange((viewer, admin), ())
        assert use.set_user_roles(connection, root, erin, [admin]) == use.AssignmentChange((), (viewer,))
        assert use.set_group_roles(connection, root, group_id, [viewer]) == use.AssignmentChange((viewer,), ())
        assert not use.bind_group_role(connection, root, group_id, viewer)
        assert [r.name for r in use.roles_of_group(connection, root, group_id)] == ["Viewer"]
        assert [g.display for g in use.groups_of_role(connection, root, viewer)] == ["Platform"]
        assert use.unbind_group_role(connection, root, group_id, viewer)
        assert not use.unassign_role(connection, root, erin, viewer)
        with pytest.raises(NotFound):
            use.set_user_roles(connection, root, erin, ["missing-role"])
        with pytest.raises(NotFound):
            use.assign_role(connection, root, "missing-user", viewer)
        with pytest.raises(NotFound):
            use.bind_group_role(connection, root, "missing-group", viewer)
        with pytest.raises(InvalidInput):
            use.set_user_roles(connection, root, erin, "not-a-list")  # type: ignore[arg-type]


def test_the_use_cases_check_permissions(seeded: Database, root: Principal) -> None:
    """A Viewer reads but changes nothing; nobody (no role) sees nothing; a label condition limits a role."""
    with seeded.transaction() as connection:
        viewer_role = role_named(connection, "Viewer")
        frank = add_user(connection, "frank")
        use.assign_role(connection, root, frank, viewer_role.id)
        nobody_id = add_user(connection, "nobody")
        viewer = load_principal(connection, frank)
        nobody = load_principal(connection, nobody_id)
        assert [r.name for r in use.list_roles(connection, viewer)] == ["Organization Admin", "Super Admin", "Viewer"]
        assert use.list_roles(connection, nobody) == [] and policy_use.list_policies(connection, nobody) == []
        assert use.get_role(connection, viewer, viewer_role.id).role == viewer_role
        for forbidden in (
            lambda: use.create_role(connection, viewer, use.role_input("Mine")),
            lambda: use.update_role(connection, viewer, viewer_role.id, use.role_input("Viewer")),
            lambda: use.delete_role(connection, viewer, viewer_role.id),
            lambda: use.assign_role(connection, viewer, nobody_id, viewer_role.id),
            lambda: use.set_boundaries(connection, viewer, nobody_id, []),
            lambda: policy_use.create_policy(connection, viewer, use.policy_input("p", ALLOW_GET_USERS)),
            lambda: use.get_role(connection, nobody, viewer_role.id),
        ):
            with pytest.raises(Forbidden):
                forbidden()

        # A role that may edit only roles labelled team=sre, and may not move one out of that team.
        sre_only = {
            "statement": [
                {
                    "effect": "allow",
                    "actions": ["iam:GetRole", "iam:UpdateRole", "iam:CreateRole"],
                    "resources": ["arn:gatehouse:iam:role/*"],
                    "conditions": {
                        "role_label": {
                            "type": "MatchLabel",
                            "options": {"key": "team", "operator": "exact_match", "value": "sre"},
                        }
                    },
                }
            ]
        }
        policy = policy_use.create_policy(connection, root, use.policy_input("sre-roles", sre_only))
        editor_role = use.create_role(connection, root, use.role_input("SRE role editor"), [policy.id])
        use.assign_role(connection, root, nobody_id, editor_role.role.id)
        editor = load_principal(connection, nobody_id)
        mine = use.create_role(connection, editor, use.role_input("On-call", "", {"team": "sre"}))
        assert [r.name for r in use.list_roles(connection, editor)] == ["On-call"]
        use.update_role(connection, editor, mine.role.id, use.role_input("On-call", "Pager", {"team": "sre"}))
        with pytest.raises(Forbidden):
            use.update_role(connection, editor, mine.role.id, use.role_input("On-call", "", {"team": "web"}))
        with pytest.raises(Forbidden):
            use.create_role(connection, editor, use.role_input("Web", "", {"team": "web"}))
        with pytest.raises(Forbidden):
            use.update_role(connection, editor, viewer_role.id, use.role_input("Viewer"))
