"""The `gatehouse` command line: names, options and JSON outputs are a contract."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from support.servers import cli, cli_env, running_server


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


def test_scim_enable_again_keeps_the_live_tokens_unless_asked_for_a_new_one(tmp_path: Path) -> None:
    """A second `scim enable` makes no token (the first still works, and cannot be shown again);
    `--new-token` makes one more."""
    env = env_for(tmp_path)
    first = json.loads(cli(env, "scim", "enable", "--json").stdout)
    again = cli(env, "scim", "enable", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"endpoint": first["endpoint"], "token": None, "token_name": None}
    assert "--new-token" in again.stderr
    assert len(json.loads(cli(env, "scim", "token", "list", "--json").stdout)) == 1
    fresh = json.loads(cli(env, "scim", "enable", "--json", "--new-token").stdout)
    assert fresh["token"] and fresh["token"] != first["token"]
    assert len(json.loads(cli(env, "scim", "token", "list", "--json").stdout)) == 2


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


def test_serve_says_whether_the_configured_admin_password_was_applied(tmp_path: Path) -> None:
    """With GATEHOUSE_ADMIN_PASSWORD set, `serve` confirms it created the Super Admin with it; on the next start
    (an admin exists) it says the variable was not applied, and how to change a password."""
    env = {**env_for(tmp_path), "GATEHOUSE_ADMIN_PASSWORD": "a long enough password"}
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    with running_server(env, output=first) as base:
        signed_in = httpx.post(
            f"{base}/api/auth/sign-in", json={"username": "admin", "password": "a long enough password"}
        )
        assert signed_in.status_code == 200, signed_in.text
    assert "Created the Super Admin 'admin' with the password of GATEHOUSE_ADMIN_PASSWORD." in first.read_text()
    assert "a long enough password" not in first.read_text()
    with running_server(env, output=second):
        pass
    assert "a Super Admin exists already, so it was not applied" in second.read_text()
    assert "gatehouse admin reset-password admin" in second.read_text()
