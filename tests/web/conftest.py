"""Fixtures of the dashboard's tests."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gatehouse.store.database import Database
from support.web import make_admin, sign_in


@pytest.fixture
def console(app_client: TestClient, db: Database) -> TestClient:
    """The app with RBAC seeded as on a first run, signed in as the Super Admin ``admin``."""
    make_admin(db)
    assert sign_in(app_client).status_code == 303  # type: ignore[attr-defined]
    return app_client
