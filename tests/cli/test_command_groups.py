"""The root command loads a group's module only when a command line names that group
(``gatehouse.cli.command_groups``), so that ``gatehouse serve`` or ``gatehouse scim enable`` does not pay for
the admin API's models and the single sign-on clients; every group still answers as before."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from gatehouse.cli.command_groups import GROUPS

PROBE = """
import json, sys
from typer.testing import CliRunner
from gatehouse.cli.main import app
loaded = lambda: sorted(m for m in sys.modules if m.startswith("gatehouse.cli.") or m in ("fastapi", "authlib"))
before = loaded()
result = CliRunner().invoke(app, sys.argv[1:])
print(json.dumps({"before": before, "after": loaded(), "code": result.exit_code, "output": result.output}))
"""


def _probe(*args: str) -> Any:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, check=True)
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
