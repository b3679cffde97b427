"""Several real Gatehouse processes on one database: migrations under a lock, revocations and the
SCIM switch seen at once by every process, and the userName race decided by the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gatehouse.iam import api_tokens, policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.accounts import create_super_admin
from gatehouse.iam.authorizer import Principal, load_principal
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.gateway_examples import GATEWAY_READ_ONLY
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import users
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow
from support.pg import fresh_postgres_schema
from support.scim import okta_user
from support.servers import cli, cli_env, running_server

pytestmark = pytest.mark.slow
DEV = "arn:api7:gateway:gatewaygroup/dev"


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


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_patches_of_one_user_and_one_group_all_apply(backend: str, tmp_path: Path) -> None:
    """Concurrent PATCHes of one user (no If-Match) and of one group's members, on a 2-worker server: every one
    answers 200 or 204 (none a 412 the client never asked for), and every member added is there."""
    if backend == "sqlite":
        patch_race(cli_env(f"sqlite:///{tmp_path / 'patch.db'}"))
    else:
        with fresh_postgres_schema() as url:
            patch_race(cli_env(url))


def patch_race(env: dict[str, str]) -> None:
    token = json.loads(cli(env, "scim", "enable", "--json").stdout)["token"]
    auth = {"Authorization": f"Bearer {token}"}
    op = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    with running_server(env, "--workers", "2") as base, httpx.Client(base_url=f"{base}/scim/v2", headers=auth) as c:
        people = [c.post("/Users", json=okta_user(f"m{n}@example.com")).json()["id"] for n in range(12)]
        group = c.post("/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                        "displayName": "Racers"}).json()["id"]  # fmt: skip

        def toggle(n: int) -> int:
            body = {"schemas": [op], "Operations": [{"op": "replace", "value": {"active": n % 2 == 0}}]}
            return httpx.patch(f"{base}/scim/v2/Users/{people[0]}", json=body, headers=auth, timeout=30).status_code

        def join(user_id: str) -> int:
            body = {"schemas": [op], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]}
            return httpx.patch(f"{base}/scim/v2/Groups/{group}", json=body, headers=auth, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            toggled = list(pool.map(toggle, range(16)))
            joined = list(pool.map(join, people))
        assert set(toggled) == {200}, toggled
        assert set(joined) <= {200, 204}, joined
        members = {m["value"] for m in c.get(f"/Groups/{group}").json()["members"]}
        assert members == set(people)
        assert c.get(f"/Users/{people[0]}").json()["meta"]["version"] == 'W/"17"'  # created, then 16 writes


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_servers_keep_decisions_and_see_every_change_at_once(backend: str, tmp_path: Path) -> None:
    """Two `gatehouse serve` on one database keep principals and tokens between requests (the security
    epoch): a role taken away, a deactivation and a revoked API token, each written by a third process, are
    seen by both servers on their very next decision."""
    with ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'gatehouse.db'}"
            if backend == "sqlite"
            else stack.enter_context(fresh_postgres_schema())
        )
        env = cli_env(url)
        assert cli(env, "db", "upgrade").returncode == 0
        world = stack.enter_context(decision_world(url))
        servers = [stack.enter_context(running_server(env)) for _ in range(2)]
        check = {"subject": {"username": "sam"}, "checks": [{"action": "gateway:GetGatewayGroup", "resource": DEV}]}
        auth = {"X-API-KEY": world.token}

        def answers() -> list[object]:
            found = []
            for base in servers:
                response = httpx.post(f"{base}/api/v1/authz/check", json=check, headers=auth)
                found.append(response.json()["results"][0]["allowed"] if response.status_code == 200 else 401)
            return found

        assert answers() == [True, True]
        assert answers() == [True, True]  # kept now, in both
        world.change(lambda c, root: rbac.set_user_roles(c, root, world.sam, []))
        assert answers() == [False, False]
        world.change(lambda c, root: rbac.set_user_roles(c, root, world.sam, [world.readers]))
        assert answers() == [True, True]
        world.change(lambda c, root: users.set_active(c, world.sam, False, utcnow()))
        assert answers() == [False, False]
        world.change(lambda c, root: api_tokens.revoke_token(c, root, world.token_id))
        assert answers() == [401, 401]


@dataclass
class DecisionWorld:
    """A Super Admin's API token (the caller), and sam holding the role "readers" (gateway read-only)."""

    db: Database
    root_id: str
    token: str
    token_id: str
    sam: str
    readers: str

    def change(self, work: Callable[[Connection, Principal], object]) -> None:
        """A change written by this test process: for the servers, another process."""
        with self.db.transaction() as connection:
            work(connection, load_principal(connection, self.root_id))


@contextmanager
def decision_world(url: str) -> Iterator[DecisionWorld]:
    db = Database.from_url(url, pool_size=1)
    try:
        with db.transaction() as connection:
            ensure_rbac(connection)
            root_id = create_super_admin(connection, "root", "a root password 123").id
            root = load_principal(connection, root_id)
            policy = policies.create_policy(connection, root, policy_input("gateway read", GATEWAY_READ_ONLY)).id
            readers = rbac.create_role(connection, root, role_input("readers"), [policy]).role.id
            doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "sam", "active": True}
            sam = users.insert(connection, users.UserWrite(id=str(uuid.uuid4()), doc=doc), utcnow()).id
            rbac.set_user_roles(connection, root, sam, [readers])
            made = api_tokens.create_token(connection, root, "gateway", 7)
        yield DecisionWorld(db, root_id, made.token, made.info.id, sam, readers)
    finally:
        db.dispose()
