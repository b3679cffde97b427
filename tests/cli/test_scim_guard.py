"""``gatehouse scim guard status|allow|block [--json]`` as real processes: the held requests listed, Allow lets
the IdP's retries through, Keep blocking clears the list; each decision in the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.store.audit import AuditQuery
from gatehouse.store.audit import search as audit_search
from gatehouse.store.database import Database
from support.scim import okta_user
from support.servers import cli, cli_env

USERS = "/scim/v2/Users"


@pytest.fixture
def db(file_db: Database) -> Database:
    """The real process's database (tests/cli/conftest.py), under the name the tests use."""
    return file_db


@pytest.fixture
def idp(database_url: str, db: Database) -> Iterator[TestClient]:
    """An IdP's SCIM client, against a guard that lets one deprovisioning through per window."""
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    settings = Settings(database_url=database_url, scim_guard_min_users=1, scim_guard_percent=1)
    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _guard(env: dict[str, str], *args: str) -> dict[str, object]:
    done = cli(env, "scim", "guard", *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_status_allow_and_block(database_url: str, db: Database, idp: TestClient) -> None:
    env = cli_env(database_url) | {"GATEHOUSE_SCIM_GUARD_MIN_USERS": "1", "GATEHOUSE_SCIM_GUARD_PERCENT": "1"}
    ids = [idp.post(USERS, json=okta_user(f"u{n}@example.com", f"e{n}")).json()["id"] for n in range(4)]
    assert idp.delete(f"{USERS}/{ids[0]}").status_code == 204
    assert idp.delete(f"{USERS}/{ids[1]}").status_code == 429

    status = _guard(env, "status")
    assert status["enabled"] is True and status["threshold"] == 1 and status["applied_in_window"] == 1
    assert status["held_count"] == 1
    assert status["held"] == [
        {
            "user_id": ids[1],
            "user_name": "u1@example.com",
            "kind": "delete",
            "token_name": "Okta",
            "at": status["held"][0]["at"],  # type: ignore[index]
        }
    ]
    text = cli(env, "scim", "guard", "status")
    assert text.returncode == 0 and "u1@example.com" in text.stdout and "1 requests held" in text.stdout

    assert _guard(env, "allow") == {"allowed": True, "held": 1, "window_minutes": 10}
    assert idp.delete(f"{USERS}/{ids[1]}").status_code == 204  # the retry applies
    assert idp.delete(f"{USERS}/{ids[2]}").status_code == 204  # open until the window passes
    assert _guard(env, "block") == {"allowed": False, "held": 0}
    assert idp.delete(f"{USERS}/{ids[3]}").status_code == 429  # closed again
    assert _guard(env, "status")["held_count"] == 1
    assert "1 held requests cleared" in cli(env, "scim", "guard", "block").stdout
    assert _guard(env, "status")["held_count"] == 0

    with db.transaction() as connection:
        records = audit_search(connection, AuditQuery(event="iam:UpdateSCIMProvisioning")).records
    operations = [r.summary.get("operation") for r in records]
    assert operations.count("allow_deprovisioning") == 1 and operations.count("block_deprovisioning") == 2
    assert all(r.source == "cli" and r.outcome == "success" for r in records)
    with db.transaction() as connection:
        assert len(audit_search(connection, AuditQuery(event="scim:GuardTripped")).records) == 1
