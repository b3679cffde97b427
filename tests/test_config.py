"""Configuration helpers that must not need SQLAlchemy (config is the lowest layer) yet read a database URL
exactly as SQLAlchemy does."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gatehouse import config


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////srv/gh/gatehouse.db",
        "sqlite:///data/gatehouse.db",
        "sqlite:///./relative/x.db",
        "sqlite+pysqlite:///x.db",
        "sqlite:///a%20b.db?timeout=3",
        "sqlite://",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///file:x.db?mode=ro&uri=true",
        "postgresql+psycopg://u@h/db",
        "postgresql://postgres@127.0.0.1:5432/test",
    ],
)
def test_sqlite_file_reads_a_url_as_sqlalchemy_does(url: str) -> None:
    parsed = sa.make_url(url)
    database = parsed.database or ""
    is_file = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    assert config.sqlite_file(url) == (Path(database) if is_file and not database.startswith("file:") else None)


def test_the_key_file_sits_beside_a_sqlite_file_else_in_the_data_directory() -> None:
    assert config.default_key_path("sqlite:////srv/gh/gatehouse.db") == Path("/srv/gh/secret.key")
    assert config.default_key_path("sqlite:///:memory:", Path("/var/lib/gh")) == Path("/var/lib/gh/secret.key")
    assert config.default_key_path("postgresql://u@h/db", Path("/var/lib/gh")) == Path("/var/lib/gh/secret.key")
