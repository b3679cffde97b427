"""What the in-process CLI tests share: the test database as the CLI's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
