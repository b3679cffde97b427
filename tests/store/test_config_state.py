"""What configuration as code reads from storage, on both databases: the grants administrators set (with their
expiry; expired ones, and those of SSO mapping and access requests, left out), the bindings of groups, users and
groups by the names a file gives, who else holds a role, every labelled resource, and the apply lock."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gatehouse.store import config_state as store
from gatehouse.store import gateway_labels, grants
from gatehouse.store import roles as role_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.roles import RoleWrite
from support.iam import add_group, add_user


def test_grants_bindings_and_names(db: Database) -> None:
    now = utcnow()
    later = now + timedelta(days=3)
    with db.transaction() as connection:
        ann, bob, root = (
            add_user(connection, "Ann"),
            add_user(connection, "bob"),
            add_user(connection, "root", super_admin=True),
        )
        ops = add_group(connection, "Ops", (ann,))
        role = role_store.insert(connection, str(uuid.uuid4()), RoleWrite("R"), now).id
        other = role_store.insert(connection, str(uuid.uuid4()), RoleWrite("S"), now).id
        grants.grant_role(connection, ann, role, "manual", "t", now, None)
        grants.grant_role(connection, ann, other, "manual", "t", now, later)
        grants.grant_role(connection, bob, role, "sso", "t", now, None)  # not an administrator's
        grants.grant_role(connection, bob, other, "manual", "t", now - timedelta(days=2), now - timedelta(days=1))
        grants.bind_role(connection, ops, role, "t", now, later)
    with db.snapshot() as connection:
        [found] = store.user_grants(connection)
        assert found.user.user_name == "Ann" and dict(found.roles)[role] is None
        assert abs(dict(found.roles)[other] - later) < timedelta(seconds=1)  # type: ignore[operator]
        [bound] = store.group_bindings(connection)
        assert bound.group.display_name == "Ops" and bound.role_ids == [role]
        assert set(store.users_named(connection, ["ann", "ROOT", "nobody"])) == {"ann", "root"}
        assert store.users_named(connection, ["root"])["root"].super_admin
        assert store.groups_named(connection, ["OPS"])["ops"].id == ops
        assert store.other_role_holders(connection, role) == (1, ["bob"])
        assert store.expired_rows(connection, other) == ([(bob, "manual")], [])
        assert root


def test_every_label_and_the_lock(db: Database) -> None:
    with db.transaction() as connection:
        store.lock_apply(connection)
        for index in range(3):
            gateway_labels.put(connection, f"arn:api7:gateway:gatewaygroup/g{index}", {"n": str(index)}, None, utcnow())
    with db.snapshot() as connection:
        assert [item.labels for item in store.all_labels(connection)] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
