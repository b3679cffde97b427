"""What the CLI tests share: the test database as the in-process CLI's own (``cli_db``), and for the tests that
run ``gatehouse`` as a real process, a migrated SQLite file of their own (``database_url``, ``file_db``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.store import migration
from gatehouse.store.database import Database
from support.web import make_admin


@pytest.fixture
def cli_db(db_url: str, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The test database (SQLite or PostgreSQL) as the CLI's, with the starter roles and a Super Admin; no API token
    in the environment, so the CLI acts as the host operator unless a test passes ``--token``."""
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", db_url)
    monkeypatch.setenv("GATEHOUSE_PUBLIC_URL", "https://gh.example.com")
    monkeypatch.setenv("GATEHOUSE_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    monkeypatch.delenv("GATEHOUSE_API_TOKEN", raising=False)
    make_admin(db)
    yield db


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A SQLite file for a real ``gatehouse`` process and the test to share."""
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def file_db(database_url: str) -> Iterator[Database]:
    """The database at ``database_url``, migrated."""
    database = Database.from_url(database_url)
    migration.upgrade(database.engine)
    yield database
    database.dispose()
