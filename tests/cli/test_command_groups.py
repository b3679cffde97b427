"""The root command loads a group's module only when a command line names that group
(``gatehouse.cli.command_groups``), so that ``gatehouse serve`` or ``gatehouse scim enable`` does not pay for
the admin API's models and the single sign-on clients; every group still answers as before. A command on a migrated
database imports neither Alembic nor scim2-models (``gatehouse.store.migration``, ``gatehouse.iam.users``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from gatehouse.cli.command_groups import GROUPS
from gatehouse.store import migration
from gatehouse.store.database import Database
from support.servers import cli_env

PROBE = """
import json, sys
from typer.testing import CliRunner
from gatehouse.cli.main import app
HEAVY = ("fastapi", "authlib", "alembic", "scim2_models", "saml2", "ldap3")
loaded = lambda: sorted(m for m in sys.modules if m.startswith("gatehouse.cli.") or m in HEAVY)
before = loaded()
result = CliRunner().invoke(app, sys.argv[1:])
print(json.dumps({"before": before, "after": loaded(), "code": result.exit_code, "output": result.output}))
"""


def _probe(*args: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, check=True, env=env
    )
    return json.loads(done.stdout)


def test_no_group_is_loaded_until_named_and_only_the_one_named() -> None:
    shown = _probe("scim", "--help")
    groups = {module for module, _ in GROUPS.values()}
    assert not groups & set(shown["before"])
    assert "fastapi" not in shown["before"] and "authlib" not in shown["before"]
    assert groups & set(shown["after"]) == {"gatehouse.cli.scim"}
    assert shown["code"] == 0 and "token" in shown["output"] and "guard" in shown["output"]


def test_the_root_lists_every_group_with_its_own_help() -> None:
    shown = _probe("--help")
    assert shown["code"] == 0
    output = shown["output"]
    for name in (*GROUPS, "serve", "db", "admin"):
        assert f" {name} " in output
    assert "Audit streaming sinks and their lag." in output  # a group of one command stays a group
    assert _probe("audit-sinks")["code"] == 2  # a group without its command: usage, not a listing


def test_commands_on_a_migrated_database_load_neither_alembic_nor_the_scim_models(
    database_url: str, file_db: Database, tmp_path: Path
) -> None:
    """Each would cost every command a good part of a second (the migrations run only when some are pending)."""
    env = {**cli_env(database_url), "GATEHOUSE_SECRET_KEY_FILE": str(tmp_path / "secret.key")}
    for args in (("login-options", "list", "--json"), ("scim", "activity", "--json"), ("scim", "enable", "--json")):
        shown = _probe(*args, env=env)
        assert shown["code"] == 0, shown["output"]
        assert not {"alembic", "scim2_models", "fastapi", "authlib", "saml2", "ldap3"} & set(shown["after"]), args
    assert json.loads(_probe("login-options", "list", "--json", env=env)["output"])["password_enabled"] is True


def test_a_new_database_is_still_migrated_by_the_first_command(database_url: str, tmp_path: Path) -> None:
    env = {**cli_env(database_url), "GATEHOUSE_SECRET_KEY_FILE": str(tmp_path / "secret.key")}
    shown = _probe("scim", "activity", env=env)
    assert shown["code"] == 0, shown["output"]
    assert "alembic" in shown["after"]
    database = Database.from_url(database_url)
    try:
        with database.reader() as connection:
            assert migration.at_head(connection)
    finally:
        database.dispose()
