"""The mass-deprovisioning guard against a real burst: two ``gatehouse serve`` on one database, 200 users created
then all 200 deactivated by 8 concurrent connections. The count is kept in the database, so both processes stop
at the same threshold (``GATEHOUSE_SCIM_GUARD_PERCENT`` 50 of 200: the default 10 % of 1,000 users, with a fifth
of the creates): exactly 100 apply and 100 are held (429, Retry-After); an Allow through the CLI lets the IdP's
retries through; the audit log shows the trip (once) and the Allow."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gatehouse.store import audit
from gatehouse.store.database import Database
from support.pg import fresh_postgres_schema
from support.scim import okta_user, patch
from support.servers import cli, cli_env, running_server

pytestmark = pytest.mark.slow

USERS = 200
DEACTIVATIONS = 200
DEACTIVATE = patch({"op": "replace", "value": {"active": False}})


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_real_burst_is_held_past_the_threshold(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        burst(f"sqlite:///{tmp_path / 'burst.db'}")
    else:
        with fresh_postgres_schema() as url:
            burst(url)


def burst(url: str) -> None:
    env = cli_env(url) | {
        "GATEHOUSE_SCIM_RATE_PER_SECOND": "1000000",
        "GATEHOUSE_SCIM_BURST": "1000000",
        "GATEHOUSE_SCIM_GUARD_PERCENT": "50",
    }
    token = json.loads(cli(env, "scim", "enable", "--json").stdout)["token"]
    auth = {"Authorization": f"Bearer {token}"}
    with (
        running_server(env) as one,
        running_server(env) as two,
        httpx.Client(base_url=one, headers=auth, timeout=60) as first,
        httpx.Client(base_url=two, headers=auth, timeout=60) as second,
    ):
        idps = (first, second)  # the IdP's connections spread over two processes

        def create(n: int) -> str:
            response = idps[n % 2].post("/scim/v2/Users", json=okta_user(f"user{n}@example.com", f"ext-{n}"))
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        def deactivate(numbered: tuple[int, str]) -> httpx.Response:
            n, user_id = numbered
            return idps[n % 2].patch(f"/scim/v2/Users/{user_id}", json=DEACTIVATE)

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(create, range(USERS)))
            answers = list(pool.map(deactivate, enumerate(ids[:DEACTIVATIONS])))
        statuses = [a.status_code for a in answers]
        assert statuses.count(200) == 100 and statuses.count(429) == 100
        held = [user_id for user_id, a in zip(ids[:DEACTIVATIONS], answers, strict=True) if a.status_code == 429]
        for answer in answers:
            if answer.status_code == 429:
                assert answer.headers["retry-after"] == "60"
                assert "Mass-deprovisioning guard" in answer.json()["detail"]

        status = json.loads(cli(env, "scim", "guard", "status", "--json").stdout)
        assert status["held_count"] == 100 and status["applied_in_window"] == 100 and status["threshold"] == 100
        assert sorted(h["user_id"] for h in status["held"]) == sorted(held)
        assert (
            second.post("/scim/v2/Users", json=okta_user("late@example.com", "late")).status_code == 201
        )  # creates flow

        with ThreadPoolExecutor(8) as pool:  # the IdP retries: still held
            assert {a.status_code for a in pool.map(deactivate, enumerate(held[:10]))} == {429}
        assert cli(env, "scim", "guard", "allow").returncode == 0
        with ThreadPoolExecutor(8) as pool:  # after Allow, the retries apply
            assert {a.status_code for a in pool.map(deactivate, enumerate(held))} == {200}
        inactive = first.get("/scim/v2/Users", params={"filter": "active eq false", "count": 0}).json()
        assert inactive["totalResults"] == DEACTIVATIONS

    db = Database.from_url(url)
    try:
        with db.transaction() as connection:
            tripped = audit.search(connection, audit.AuditQuery(event="scim:GuardTripped")).records
            changes = audit.search(connection, audit.AuditQuery(event="iam:UpdateSCIMProvisioning")).records
    finally:
        db.dispose()
    assert len(tripped) == 1 and tripped[0].actor.startswith("SCIM token")
    allowed = [r for r in changes if r.summary.get("operation") == "allow_deprovisioning"]
    assert [(r.source, r.outcome) for r in allowed] == [("cli", "success")]
