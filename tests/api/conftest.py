"""Fixtures of the admin API's tests: a seeded world (a Super Admin, a Viewer and their API tokens)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gatehouse.store.database import Database
from support.api import World, key, seed


@pytest.fixture
def world(db: Database) -> World:
    return seed(db)


@pytest.fixture
def client(app_client: TestClient, world: World) -> TestClient:
    return app_client


@pytest.fixture
def admin(world: World) -> dict[str, str]:
    return key(world.admin_token)


@pytest.fixture
def viewer(world: World) -> dict[str, str]:
    return key(world.viewer_token)
