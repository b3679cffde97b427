"""The `gatehouse` command line: names, options and JSON outputs are a contract."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from support.servers import cli, cli_env


def env_for(tmp_path: Path) -> dict[str, str]:
    return cli_env(f"sqlite:///{tmp_path / 'cli.db'}", public_url="https://gh.example.com/")


def test_scim_enable_json_prints_endpoint_token_and_name(tmp_path: Path) -> None:
    """`scim enable --json` prints exactly endpoint, token and token_name; the endpoint uses PUBLIC_URL."""
    result = cli(env_for(tmp_path), "scim", "enable", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"endpoint", "token", "token_name"}
    assert out["endpoint"] == "https://gh.example.com/scim/v2"
    assert out["token"].startswith("ghs_") and len(out["token"]) > 40
    assert out["token"] not in result.stderr


def test_token_create_list_revoke(tmp_path: Path) -> None:
    """Tokens are created by name (JSON like enable), listed without secrets, revoked by name."""
    env = env_for(tmp_path)
    created = json.loads(cli(env, "scim", "token", "create", "--name", "Okta", "--json").stdout)
    assert created["token_name"] == "Okta" and created["endpoint"].endswith("/scim/v2")
    duplicate = cli(env, "scim", "token", "create", "--name", "Okta", "--json")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    listed = cli(env, "scim", "token", "list", "--json")
    names = [t["name"] for t in json.loads(listed.stdout)]
    assert names == ["Okta"] and created["token"] not in listed.stdout
    assert "Okta" in cli(env, "scim", "token", "list").stdout
    assert cli(env, "scim", "token", "revoke", "Okta").returncode == 0
    assert json.loads(cli(env, "scim", "token", "list", "--json").stdout) == []
    missing = cli(env, "scim", "token", "revoke", "Okta")
    assert missing.returncode == 1 and "No live SCIM token" in missing.stderr


def test_admin_create_reads_the_password_from_stdin(tmp_path: Path) -> None:
    """`admin create USERNAME --password-stdin` makes a Super Admin with an Argon2 hash."""
    env = env_for(tmp_path)
    result = cli(env, "admin", "create", "admin", "--password-stdin", stdin="a long enough password\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["username"] == "admin"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT super_admin, source, password_hash FROM users").one()
    engine.dispose()
    assert row[0] and row[1] == "local" and row[2].startswith("$argon2id$")
    again = cli(env, "admin", "create", "ADMIN", "--password-stdin", stdin="a long enough password\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    short = cli(env, "admin", "create", "other", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr


def test_db_upgrade_and_readiness(tmp_path: Path) -> None:
    """/healthz is always up; /readyz is 503 until `db upgrade` has run, then 200."""
    env = env_for(tmp_path)
    settings = Settings(database_url=env["GATEHOUSE_DATABASE_URL"])
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 503
        result = cli(env, "db", "upgrade")
        assert result.returncode == 0 and "revision" in result.stdout
        assert client.get("/readyz").json() == {"status": "ready"}


def test_password_sign_in_setting(tmp_path: Path) -> None:
    """`scim password-sign-in` shows and switches the setting; anything but on/off is refused."""
    env = env_for(tmp_path)
    assert cli(env, "scim", "password-sign-in").stdout.strip().endswith("off")
    assert cli(env, "scim", "password-sign-in", "on").stdout.strip().endswith("on")
    assert cli(env, "scim", "password-sign-in").stdout.strip().endswith("on")
    assert cli(env, "scim", "password-sign-in", "maybe").returncode != 0
