"""``gatehouse db check`` on SQLite and PostgreSQL: exit 0 and "OK" on a sound database, exit 1 and a readable
report once something was broken on purpose; ``--json`` for machines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from support.pg import fresh_postgres_schema
from support.scim import okta_user
from support.servers import cli, cli_env


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gatehouse.db'}"
        return
    with fresh_postgres_schema() as url:
        yield url


def test_db_check_reports_a_sound_database_then_the_damage(database_url: str) -> None:
    env = cli_env(database_url)
    assert cli(env, "db", "upgrade").returncode == 0
    assert cli(env, "scim", "enable", "--json").returncode == 0
    sound = cli(env, "db", "check")
    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert "OK: no problem found." in sound.stdout and "scim_tokens" in sound.stdout
    report = json.loads(cli(env, "db", "check", "--json").stdout)
    assert report["ok"] is True and report["counts"]["scim_tokens"] == 1

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP INDEX uq_users_user_name_lower"))
            for name in ("ann@example.com", "ANN@example.com"):
                data = json.dumps({**okta_user(name), "id": name})
                connection.execute(
                    sa.text(
                        "INSERT INTO users (id, source, user_name, user_name_lower, active, super_admin, "
                        "must_change_password, created, last_modified, version, data) "
                        "VALUES (:id, 'scim', :name, :lower, true, false, false, :now, :now, 1, :data)"
                    ),
                    {"id": name, "name": name, "lower": name.lower(), "now": "2026-01-01 00:00:00", "data": data},
                )
    finally:
        engine.dispose()
    damaged = cli(env, "db", "check")
    assert damaged.returncode == 1, damaged.stdout + damaged.stderr
    assert "PROBLEMS:" in damaged.stdout
    assert "[uniqueness] users: 1 userName(s) held by more than one row" in damaged.stdout
    assert "'ann@example.com'" in damaged.stdout
    assert "Traceback" not in damaged.stdout + damaged.stderr
    as_json = json.loads(cli(env, "db", "check", "--json").stdout)
    assert as_json["ok"] is False and any(f["check"] == "uniqueness" for f in as_json["findings"])
