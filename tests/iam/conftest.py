"""Fixtures of the use-case tests: RBAC seeded as on a first run, a Super Admin, a Viewer and a user with
no role, each as a principal."""

from __future__ import annotations

import pytest

from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.store import roles as role_store
from gatehouse.store.database import Database
from support.iam import People, add_user


@pytest.fixture
def people(db: Database) -> People:
    with db.transaction() as connection:
        ensure_rbac(connection)
        root = load_principal(connection, add_user(connection, "root", super_admin=True))
        viewer_id = add_user(connection, "vera")
        viewer_role = role_store.get_by_name(connection, "Viewer")
        assert viewer_role is not None
        rbac.assign_role(connection, root, viewer_id, viewer_role.id)
        viewer = load_principal(connection, viewer_id)
        nobody = load_principal(connection, add_user(connection, "nora"))
    return People(db, root, viewer, nobody, viewer_id)
