"""Several real Gatehouse processes on one database: migrations under a lock, revocations and the
SCIM switch seen at once by every process, and the userName race decided by the database."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from support.pg import fresh_postgres_schema
from support.scim import okta_user
from support.servers import cli, cli_env, running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_env() -> object:
    with fresh_postgres_schema() as url:
        yield cli_env(url)


def test_processes_starting_together_migrate_once(pg_env: dict[str, str]) -> None:
    """Three `gatehouse db upgrade` at once on an empty PostgreSQL: all succeed, one head revision."""
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: cli(pg_env, "db", "upgrade"), range(3)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    revisions = {r.stdout.strip() for r in results}
    assert len(revisions) == 1 and revisions.pop().startswith("Database at revision")


def test_revocation_and_disable_reach_a_second_server_at_once(pg_env: dict[str, str]) -> None:
    """Two `gatehouse serve` on one PostgreSQL: a token revoked (or SCIM disabled) through the CLI is
    refused by both servers on their very next request."""
    enabled = cli(pg_env, "scim", "enable", "--json")
    assert enabled.returncode == 0, enabled.stderr
    token = json.loads(enabled.stdout)["token"]
    second = json.loads(cli(pg_env, "scim", "token", "create", "--name", "Entra", "--json").stdout)["token"]
    with running_server(pg_env) as one, running_server(pg_env) as two:
        auth = {"Authorization": f"Bearer {token}"}
        assert all(httpx.get(f"{b}/scim/v2/Users", headers=auth).status_code == 200 for b in (one, two))
        name = json.loads(enabled.stdout)["token_name"]
        assert cli(pg_env, "scim", "token", "revoke", name).returncode == 0
        assert [httpx.get(f"{b}/scim/v2/Users", headers=auth).status_code for b in (one, two)] == [401, 401]
        other = {"Authorization": f"Bearer {second}"}
        assert [httpx.get(f"{b}/scim/v2/Users", headers=other).status_code for b in (one, two)] == [200, 200]
        assert cli(pg_env, "scim", "disable").returncode == 0
        assert [httpx.get(f"{b}/scim/v2/Users", headers=other).status_code for b in (one, two)] == [403, 403]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_posts_of_one_user_name_give_one_201(backend: str, tmp_path: Path) -> None:
    """Eight concurrent POSTs of one userName to a 2-worker server: exactly one 201, seven 409."""
    if backend == "sqlite":
        env = cli_env(f"sqlite:///{tmp_path / 'race.db'}")
        run(env)
    else:
        with fresh_postgres_schema() as url:
            run(cli_env(url))


def run(env: dict[str, str]) -> None:
    token = json.loads(cli(env, "scim", "enable", "--json").stdout)["token"]
    with running_server(env, "--workers", "2") as base:
        auth = {"Authorization": f"Bearer {token}"}
        body = okta_user("race@example.com")

        def post(_: int) -> int:
            return httpx.post(f"{base}/scim/v2/Users", json=body, headers=auth, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(post, range(8)))
        assert statuses == [201] + [409] * 7
        listing = httpx.get(f"{base}/scim/v2/Users", headers=auth).json()
        assert listing["totalResults"] == 1
