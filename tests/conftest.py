"""Shared fixtures: a migrated database on each backend (SQLite file, PostgreSQL schema), the app,
and a SCIM client holding a valid token.

Every SCIM and storage test that takes ``db_url`` runs once per backend. PostgreSQL comes from
``GATEHOUSE_TEST_POSTGRES_URL``; in CI a missing PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from gatehouse import passwords
from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.store import migration
from gatehouse.store.database import Database
from gatehouse.store.tables import metadata, security_epoch, user_counts
from support.pg import fresh_postgres_schema
from support.scim import PUBLIC_URL

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2id at its lowest cost inside the test process (hashes still verify with the production
    parameters: Argon2 reads them from the hash). The servers the tests start keep the real cost."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    passwords._hasher = original


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per test process; each test gets a copy (migrating costs ~0.5 s)."""
    path = tmp_path_factory.mktemp("template") / "gatehouse.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    migration.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "gatehouse.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("_postgres_url")
    engine = sa.create_engine(url)
    migration.upgrade(engine)
    _empty(engine)
    engine.dispose()
    yield url


def _empty(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            if table not in (security_epoch, user_counts):  # their rows stay, as a migrated database has them
                connection.execute(table.delete())
    with engine.begin() as connection:  # after the users' deletion has moved them (as it commits, on PostgreSQL)
        connection.execute(user_counts.update().values(tally=0))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, public_url=PUBLIC_URL, secret_key_file=tmp_path / "secret.key")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_url(settings.database_url, pool_size=2)
    yield database
    database.dispose()


@pytest.fixture
def app_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        yield client


@pytest.fixture
def scim_token(db: Database) -> str:
    """SCIM turned on, with one live token."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        return scim_control.issue_token(connection, "Okta").token


@pytest.fixture
def scim(app_client: TestClient, scim_token: str) -> TestClient:
    """A client that sends the SCIM token on every request."""
    app_client.headers["Authorization"] = f"Bearer {scim_token}"
    return app_client
