"""``gatehouse authz …``: the forward-auth rule table and the preset from a terminal — as the host operator and
with a token (a Viewer's reads but changes nothing), checked like the API, and in the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatehouse.cli.main import app
from gatehouse.errors import Forbidden, InvalidInput
from gatehouse.store import migration
from gatehouse.store.audit import AuditQuery
from gatehouse.store.audit import search as audit_search
from gatehouse.store.database import Database
from support.api import VIEWER, add_user, token_for
from support.servers import cli, cli_env
from support.web import make_admin

GG = "arn:api7:gateway:gatewaygroup"


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", url)
    monkeypatch.setenv("GATEHOUSE_PUBLIC_URL", "https://gh.example.com")
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    migration.upgrade(database.engine)
    make_admin(database)
    yield database
    database.dispose()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_add_list_delete_and_the_preset(db: Database) -> None:
    added = json.loads(
        run(
            "authz",
            "rules",
            "add",
            "--method",
            "PUT",
            "--method",
            "PATCH",
            "--path",
            "/apisix/admin/routes/{id}",
            "--query",
            "gg=gateway_group_id",
            "--action",
            "gateway:UpdatePublishedService",
            "--resource",
            f"{GG}/{{gg}}/publishedservice/*",
            "--description",
            "routes",
            "--json",
        )
    )
    assert (added["methods"], added["query"], added["position"]) == (["PUT", "PATCH"], {"gg": "gateway_group_id"}, 0)
    first = run("authz", "rules", "add", "--path", "/api/gateway_groups/{gg}", "--action", "gateway:GetGatewayGroup",
                "--resource", f"{GG}/{{gg}}", "--position", "1")  # fmt: skip
    assert first.startswith("1\tGET\t/api/gateway_groups/{gg}\tgateway:GetGatewayGroup")
    listed = json.loads(run("authz", "rules", "list", "--json"))
    assert [rule["path"] for rule in listed["rules"]] == ["/api/gateway_groups/{gg}", "/apisix/admin/routes/{id}"]
    assert listed["preset"] == {"name": "API7 / APISIX admin API", "enabled": False}
    assert "Preset 'API7 / APISIX admin API': off" in run("authz", "rules", "list")
    assert "is on" in run("authz", "preset", "enable")
    shown = run("authz", "rules", "list", "--preset")
    assert "on (after the rules above)" in shown and "preset\tPUT\t/api/license\tiam:UpdateLicense" in shown
    assert len(json.loads(run("authz", "rules", "list", "--json", "--preset"))["preset"]["rules"]) > 100
    assert "off" in run("authz", "preset", "disable")
    assert run("authz", "rules", "delete", added["id"]) == "Rule deleted: PUT, PATCH /apisix/admin/routes/{id}\n"
    with db.reader() as connection:
        records = audit_search(connection, AuditQuery(event="iam:UpdateAuthzRule"), limit=20).records
    assert [(r.source, r.actor, r.outcome) for r in records] == [("cli", "operator (CLI)", "success")] * 5


def test_bad_rules_and_missing_ones(db: Database) -> None:
    with pytest.raises(InvalidInput, match=r"resource: \{x\} is not a part"):
        run("authz", "rules", "add", "--path", "/a", "--action", "gateway:GetGatewayGroup", "--resource", f"{GG}/{{x}}")
    with pytest.raises(InvalidInput, match="--query"):
        run(
            "authz",
            "rules",
            "add",
            "--path",
            "/a",
            "--action",
            "gateway:GetGatewayGroup",
            "--resource",
            f"{GG}/*",
            "--query",
            "gg",
        )
    with pytest.raises(InvalidInput, match="--labels"):
        run(
            "authz",
            "rules",
            "add",
            "--path",
            "/a",
            "--action",
            "gateway:GetGatewayGroup",
            "--resource",
            f"{GG}/*",
            "--labels",
            "{",
        )
    result = CliRunner().invoke(app, ["authz", "rules", "delete", "no-such-rule"])
    assert result.exception is not None and getattr(result.exception, "status", None) == 404


def test_a_viewers_token_reads_but_changes_nothing(db: Database) -> None:
    token = token_for(db, add_user(db, "vera", role=VIEWER))
    assert json.loads(run("--token", token, "authz", "rules", "list", "--json"))["rules"] == []
    for args in (
        ["authz", "preset", "enable"],
        ["authz", "rules", "add", "--path", "/a", "--action", "gateway:GetGatewayGroup", "--resource", f"{GG}/*"],
    ):
        with pytest.raises(Forbidden, match="iam:UpdateAuthzRule"):
            run("--token", token, *args)
    with db.reader() as connection:
        refused = audit_search(connection, AuditQuery(event="iam:UpdateAuthzRule"), limit=20).records
    assert {(r.actor, r.outcome) for r in refused} == {("vera (token ci)", "refused")}


def test_as_a_real_process(database_url: str, db: Database) -> None:
    """The console script: errors are a message and exit status 1, never a traceback."""
    env = cli_env(database_url)
    done = cli(env, "authz", "preset", "enable")
    assert done.returncode == 0 and "is on" in done.stdout
    bad = cli(env, "authz", "rules", "add", "--path", "/a", "--action", "nope", "--resource", f"{GG}/*")
    assert bad.returncode == 1 and bad.stderr.startswith("error: action: 'nope' is not an action of the catalog")
