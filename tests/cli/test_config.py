"""``gatehouse config …``: export, plan and apply from a terminal — the exit codes of plan (0 no changes, 2 changes,
1 invalid), problems with their file and line, the JSON forms, apply's confirmation, ``--plan-id`` and
``--issue-tokens``, ``-f -``, the schema, and ``--token`` acting with exactly that token's permissions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from gatehouse.cli.context import operator
from gatehouse.cli.main import app
from gatehouse.errors import Forbidden, PreconditionFailed
from gatehouse.iam import roles as rbac
from gatehouse.iam.config_apply import TokensNeedConsent
from gatehouse.iam.rbac_forms import role_input
from gatehouse.store import migration
from gatehouse.store.audit import AuditQuery
from gatehouse.store.audit import search as audit_search
from gatehouse.store.database import Database
from support.api import VIEWER, add_user, token_for
from support.config import directory
from support.web import make_admin

FILE = """\
version: 1
roles:
  - name: Readers
    policies: [viewer-permission-policy]
user_grants:
  - {userName: user01, roles: [Readers]}
scim:
  enabled: true
  tokens: [okta]
"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", url)
    monkeypatch.setenv("GATEHOUSE_PUBLIC_URL", "https://gh.example.com")
    monkeypatch.setenv("GATEHOUSE_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    database = Database.from_url(url)
    migration.upgrade(database.engine)
    make_admin(database)
    directory(database)
    yield database
    database.dispose()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "gatehouse.yaml"
    path.write_text(FILE)
    return path


def invoke(*args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_plan_exit_codes_and_apply(db: Database, config: Path) -> None:
    planned = invoke("config", "plan", "-f", str(config))
    assert planned.exit_code == 2, planned.output
    assert "  + role 'Readers'" in planned.output and "3 to create, 1 to update, 0 to delete." in planned.output
    with pytest.raises(TokensNeedConsent, match="--issue-tokens"):  # a new SCIM token's secret: only when asked
        invoke("config", "apply", "-f", str(config), "--yes")
    applied = invoke("config", "apply", "-f", str(config), "--yes", "--issue-tokens")
    assert applied.exit_code == 0, applied.output
    assert "Applied plan sha256:" in applied.output and "3 created, 1 updated, 0 deleted." in applied.output
    assert "SCIM token 'okta' (shown once" in applied.output and "ghs_" in applied.output
    again = invoke("config", "plan", "-f", str(config))
    assert again.exit_code == 0 and "No changes" in again.output
    second = invoke("config", "apply", "-f", str(config))  # nothing to apply: no question asked
    assert second.exit_code == 0 and "Nothing to apply." in second.output
    with db.reader() as connection:
        events = [record.event for record in audit_search(connection, AuditQuery(), limit=50).records]
    assert events.count("iam:ApplyConfig") == 3  # the refused one, the applied one, the empty one


def test_an_invalid_file_is_exit_1_with_its_problems(db: Database, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nroles:\n  - name: A\n    polices: [x]\nuser_grants:\n  - {userName: ghost}\n")
    result = invoke("config", "plan", "-f", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:4: role 'A' (roles[0]), polices: unknown field (did you mean 'policies'?)" in result.output
    as_json = invoke("config", "plan", "-f", str(broken), "--json")
    found = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and found["valid"] is False
    assert found["problems"][0] == {
        "path": "roles[0].polices",
        "line": 4,
        "object": "role 'A'",
        "field": "polices",
        "message": "unknown field (did you mean 'policies'?)",
    }
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("version: 1\nuser_grants:\n  - {userName: ghost}\n")
    result = invoke("config", "plan", "-f", str(unknown))
    assert (
        result.exit_code == 1
        and f"{unknown}:3: user 'ghost' (user_grants[0]), userName: there is no user" in result.output
    )
    missing = invoke("config", "plan", "-f", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 1 and "cannot read the file" in missing.output


def test_apply_asks_first_and_refuses_a_stale_plan(db: Database, config: Path) -> None:
    declined = invoke("config", "apply", "-f", str(config), "--issue-tokens", input="n\n")
    assert declined.exit_code == 1 and "Apply these changes?" in declined.output
    plan_id = json.loads(invoke("config", "plan", "-f", str(config), "--json").stdout)["plan_id"]
    with db.transaction() as connection:
        rbac.create_role(connection, operator(), role_input("Meanwhile"))
    with pytest.raises(PreconditionFailed, match="changed since plan"):
        invoke("config", "apply", "-f", str(config), "--yes", "--issue-tokens", "--plan-id", plan_id)
    accepted = invoke("config", "apply", "-f", str(config), "--issue-tokens", "--json", input="y\n")
    assert accepted.exit_code == 0
    result = json.loads(accepted.stdout[accepted.stdout.index("{") :])
    assert result["applied"] is True and result["issued_tokens"][0]["name"] == "okta"


def test_export_stdin_and_schema(db: Database, config: Path, tmp_path: Path) -> None:
    invoke("config", "apply", "-f", str(config), "--yes", "--issue-tokens")
    exported = invoke("config", "export")
    assert exported.exit_code == 0 and exported.output.startswith("# Gatehouse access configuration")
    data = yaml.safe_load(exported.output)
    assert data["scim"]["tokens"] == ["okta"] and data["user_grants"] == [{"userName": "user01", "roles": ["Readers"]}]
    out = tmp_path / "export.json"
    written = invoke("config", "export", "-o", str(out))
    assert written.exit_code == 0 and json.loads(out.read_text()) == data
    piped = invoke("config", "plan", "-f", "-", "--prune", input=exported.output)
    assert piped.exit_code == 0, piped.output
    schema = json.loads(invoke("config", "schema").output)
    assert schema["$schema"].endswith("2020-12/schema") and "permission_policies" in schema["properties"]


def test_a_token_acts_with_its_permissions(db: Database, config: Path) -> None:
    viewer = token_for(db, add_user(db, "vic", role=VIEWER))
    with pytest.raises(Forbidden, match="iam:ExportConfig"):
        invoke("--token", viewer, "config", "export")
    with pytest.raises(Forbidden, match="iam:ExportConfig"):
        invoke("--token", viewer, "config", "plan", "-f", str(config))
    with pytest.raises(Forbidden):
        invoke("--token", viewer, "config", "apply", "-f", str(config), "--yes")
