"""Configuration helpers that must not need SQLAlchemy (config is the lowest layer) yet read a database URL
exactly as SQLAlchemy does."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEHOUSE_SESSION_ABSOLUTE_HOURS", "99999999999"),
        ("GATEHOUSE_SESSION_IDLE_MINUTES", "999999999999"),
        ("GATEHOUSE_LOGIN_LOCKOUT_SECONDS", "99999999999999"),
        ("GATEHOUSE_LOGIN_MAX_FAILURES", "0"),
        ("GATEHOUSE_AUDIT_PURGE_INTERVAL_SECONDS", "99999999999999"),
        ("GATEHOUSE_DB_POOL_SIZE", "100000"),
    ],
)
def test_durations_and_sizes_past_their_bound_are_named_before_anything_starts(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session of 99,999,999,999 hours is no timedelta (serve crashed with OverflowError); every such setting
    has a bound, and the message names the variable."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as raised:
        config.load_settings()
    problems = config.settings_problems(raised.value)
    assert len(problems) == 1 and problems[0].startswith(f"{name}: "), problems
