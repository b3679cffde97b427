"""``gatehouse scim activity [--json]`` as a real process: the provisioning log with the same filters as the
dashboard, the redacted bodies of failed requests in JSON; bad filters and bad retention settings are a clear
error (no traceback) and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.store.database import Database
from gatehouse.store.tables import scim_activity
from support.scim import okta_user
from support.servers import cli, cli_env

SCIM = "/scim/v2"
SECRET = "Sup3r-Secret-Passw0rd"


@pytest.fixture
def db(file_db: Database) -> Database:
    """The real process's database (tests/cli/conftest.py), under the name the tests use."""
    return file_db


@pytest.fixture
def logged(database_url: str, db: Database) -> str:
    """An IdP's requests: a user created, the same again (409), a group that is not there (404), a bad token."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    with TestClient(create_app(Settings(database_url=database_url), db), base_url="https://testserver") as client:
        idp = {"Authorization": f"Bearer {token}", "User-Agent": "Okta SCIM Client 1.0.0"}
        user = {**okta_user("jane@example.com"), "password": SECRET}
        assert client.post(f"{SCIM}/Users", json=user, headers=idp).status_code == 201
        assert client.post(f"{SCIM}/Users", json=user, headers=idp).status_code == 409
        assert client.get(f"{SCIM}/Groups/nope", headers=idp).status_code == 404
        assert client.get(f"{SCIM}/Schemas", headers={"Authorization": "Bearer wrong"}).status_code == 401
    return token  # the app flushed its queue on the way out


def _activity(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = cli(env, "scim", "activity", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_log_as_json_with_filters(database_url: str, logged: str) -> None:
    env = cli_env(database_url)
    everything = _activity(env)
    assert everything["total"] == 4 and [i["status"] for i in everything["items"]] == [401, 404, 409, 201]
    failed = _activity(env, "--status", "failed", "--resource", "Users")
    [conflict] = failed["items"]
    assert (conflict["method"], conflict["path"], conflict["token_name"]) == ("POST", f"{SCIM}/Users", "Okta")
    assert conflict["user_agent"] == "Okta SCIM Client 1.0.0"
    assert json.loads(conflict["request_body"])["password"] == "[redacted]"
    assert json.loads(conflict["response_body"])["status"] == "409"
    assert [i["status"] for i in _activity(env, "--status", "2xx")["items"]] == [201]
    assert [i["resource"] for i in _activity(env, "--resource", "discovery")["items"]] == ["discovery"]
    assert [i["status"] for i in _activity(env, "--token", "Okta", "--method", "GET")["items"]] == [404]
    assert _activity(env, "--period", "1h", "--limit", "2")["items"][1]["status"] == 404
    assert _activity(env, "--until", "2000-01-01T00:00:00Z")["items"] == []
    text = cli(env, "scim", "activity", "--status", "failed")
    assert text.returncode == 0 and f"409\tPOST {SCIM}/Users\ttoken Okta" in text.stdout
    assert "3 of 3 entries." in text.stderr
    assert SECRET not in text.stdout and logged not in json.dumps(everything) and SECRET not in json.dumps(everything)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "6xx"], "Choose the status"),
        (["--resource", "Roles"], "Choose the resource"),
        (["--period", "forever"], "Choose the period"),
        (["--since", "yesterday"], "ISO 8601"),
        (["--limit", "0"], "1 to 500"),
        (["--limit", "100000"], "1 to 500"),
    ],
)
def test_bad_filters_are_a_clear_error(database_url: str, db: Database, args: list[str], message: str) -> None:
    done = cli(cli_env(database_url), "scim", "activity", *args)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEHOUSE_SCIM_ACTIVITY_KEEP_ROWS", "0"),
        ("GATEHOUSE_SCIM_ACTIVITY_KEEP_ROWS", "-5"),
        ("GATEHOUSE_SCIM_ACTIVITY_KEEP_ROWS", "lots"),
        ("GATEHOUSE_SCIM_ACTIVITY_KEEP_ROWS", "1e9"),
        ("GATEHOUSE_SCIM_ACTIVITY_KEEP_DAYS", "0"),
        ("GATEHOUSE_SCIM_ACTIVITY_KEEP_DAYS", "99999999999999999999"),
    ],
)
def test_bad_retention_settings_stop_the_cli_with_their_name(
    database_url: str, db: Database, name: str, value: str
) -> None:
    """``serve`` reads the settings the same way first: it refuses to start, and nothing is touched."""
    env = cli_env(database_url) | {name: value}
    for command in (["scim", "activity"], ["serve", "--port", "1"]):
        done = cli(env, *command)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: {name}: ") and repr(value) in done.stderr
        assert "Traceback" not in done.stderr and "ValidationError" not in done.stderr
    with db.snapshot() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(scim_activity)).scalar_one() == 0


def test_reads_past_the_budget_are_counted_end_to_end(database_url: str, db: Database) -> None:
    """Through the real app with a budget of one successful read a second: six reads are at most two listed
    entries (if the reads straddle a second), the rest counted; the CLI shows the count, the JSON every request."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    settings = Settings(database_url=database_url, scim_activity_reads_per_second=1)
    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        for _ in range(6):
            assert client.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    env = cli_env(database_url)
    items = _activity(env)["items"]
    assert sum(item["repeats"] for item in items) == 6 and len(items) <= 4
    assert [item["repeats"] for item in items if item["repeats"] > 1]  # counted
    assert {(item["method"], item["path"], item["status"]) for item in items} == {("GET", f"{SCIM}/Users", 200)}
    text = cli(env, "scim", "activity")
    assert text.returncode == 0 and "(counted reads)" in text.stdout
