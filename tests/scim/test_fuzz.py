"""Hostile SCIM requests against a real ``gatehouse serve``, over raw sockets (``support.scim_fuzz``).

Every generated request must get an HTTP answer (0 connections closed or reset without one, 0 timeouts),
none may answer 5xx (but the 501 RFC 7644 mandates for ``/Me`` and ``/Bulk``), every error must be a SCIM
Error message (``schemas``, ``status`` as a string, a ``scimType`` from RFC 7644 §3.12 where it names one),
and no body may hold a traceback. Afterwards the server still answers ordinary requests, the resources the
generator was never told about (the sentinels) are exactly as before, and ``gatehouse db check`` finds the
database sound.

Settings (environment): ``GATEHOUSE_FUZZ_REQUESTS`` (default 10000 on SQLite), ``GATEHOUSE_FUZZ_PG_REQUESTS``
(default 3000 on PostgreSQL), ``GATEHOUSE_FUZZ_SEED`` (default fixed, so CI is reproducible; ``random`` for a
fresh one, printed), ``GATEHOUSE_FUZZ_WORKERS`` (concurrent clients, default 6), ``GATEHOUSE_FUZZ_ONLY``
(comma-separated request indexes: replay just those). A failure prints each bad request's seed, index and
bytes; ``support.scim_fuzz.exchange(host, port, raw)`` sends them again as they are.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support.pg import fresh_postgres_schema
from support.scim import ENTERPRISE, USER, okta_user
from support.scim_fuzz import Answer, Connection, FuzzRequest, Generator, World, problems, shown
from support.servers import cli, cli_env, running_server

pytestmark = pytest.mark.slow

DEFAULT_SEED = 20261204
BODY_LIMIT = 65_536
"""The fuzzed server's GATEHOUSE_MAX_BODY_BYTES: small, so that over-limit bodies are cheap to send."""


def _setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _seed() -> int:
    value = os.environ.get("GATEHOUSE_FUZZ_SEED", "").strip()
    if value == "random":
        return int(time.time() * 1000) % 2**31
    return int(value) if value else DEFAULT_SEED


@dataclass
class Target:
    """A running server, its token, and what it holds before the run."""

    base: str
    env: dict[str, str]
    token: str
    world: World
    sentinels: dict[str, bytes]  # path under /scim/v2 -> body before the run
    log: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _serve(env: dict[str, str], log: Path) -> Iterator[Target]:
    # The rate limit stays on but out of reach: the fuzzer sends faster than an IdP (tests/scim/test_rate_limit.py).
    env = {
        **env,
        "GATEHOUSE_MAX_BODY_BYTES": str(BODY_LIMIT),
        "GATEHOUSE_LOG_LEVEL": "warning",
        "GATEHOUSE_SCIM_RATE_PER_SECOND": "1000000",
    }
    enabled = cli(env, "scim", "enable", "--json")
    assert enabled.returncode == 0, enabled.stderr
    token = json.loads(enabled.stdout)["token"]
    with running_server(env, output=log) as base:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{base}/scim/v2", headers=auth, timeout=30) as client:
            sentinels = _sentinels(client)
            user_ids, user_names = [], []
            for index in range(10):
                body = okta_user(f"playground-{index}@example.com", f"pg-{index}")
                created = client.post("/Users", json=body)
                assert created.status_code == 201, created.text
                user_ids.append(created.json()["id"])
                user_names.append(body["userName"])
            group_ids = []
            for index in range(4):
                members = [{"value": user_id} for user_id in user_ids[index : index + 3]]
                created = client.post("/Groups", json={"displayName": f"playground {index}", "members": members})
                assert created.status_code == 201, created.text
                group_ids.append(created.json()["id"])
        host, port = base.removeprefix("http://").split(":")
        world = World(host, int(port), token, tuple(user_ids), tuple(group_ids), tuple(user_names), BODY_LIMIT)
        yield Target(base, env, token, world, sentinels, log)


def _sentinels(client: httpx.Client) -> dict[str, bytes]:
    """Resources the generator is never told about: no hostile request may change them."""
    created = []
    for index in range(3):
        body = okta_user(f"sentinel-{index}@example.com", f"sentinel-{index}")
        body["schemas"] = [USER, ENTERPRISE]
        body[ENTERPRISE] = {"employeeNumber": str(index), "department": "Sentinels"}
        response = client.post("/Users", json=body)
        assert response.status_code == 201, response.text
        created.append(response.json())
    group = client.post(
        "/Groups", json={"displayName": "sentinels", "members": [{"value": user["id"]} for user in created]}
    )
    assert group.status_code == 201, group.text
    # meta.location holds the configured public URL, not this server's port: keep the path under /scim/v2
    locations = [user["meta"]["location"] for user in created] + [group.json()["meta"]["location"]]
    paths = [location.split("/scim/v2", 1)[1] for location in locations]
    return {path: client.get(path).content for path in paths}


@pytest.fixture(scope="module")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    directory = tmp_path_factory.mktemp("fuzz")
    yield from _serve(cli_env(f"sqlite:///{directory / 'gatehouse.db'}"), directory / "serve.log")


@pytest.fixture(scope="module")
def postgres_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    directory = tmp_path_factory.mktemp("fuzz-pg")
    with fresh_postgres_schema() as url:
        yield from _serve(cli_env(url), directory / "serve.log")


@dataclass
class Outcome:
    sent: int
    seconds: float
    statuses: collections.Counter[int | None]
    failures: list[tuple[FuzzRequest, Answer, list[str]]]


def fuzz(target: Target, requests: int, seed: int) -> Outcome:
    """Send ``requests`` generated requests from several concurrent raw-socket clients."""
    generator = Generator(target.world, seed)
    only = os.environ.get("GATEHOUSE_FUZZ_ONLY", "").strip()
    indexes: Iterator[int] = iter(int(i) for i in only.split(",")) if only else iter(range(requests))
    lock = threading.Lock()
    statuses: collections.Counter[int | None] = collections.Counter()
    failures: list[tuple[FuzzRequest, Answer, list[str]]] = []
    sent = itertools.count()

    def client() -> None:
        connection = Connection(target.world.host, target.world.port, timeout=20.0)
        try:
            while True:
                with lock:
                    index = next(indexes, None)
                if index is None:
                    return
                request = generator.request(index)
                answer = connection.exchange(request)
                found = problems(request, answer)
                with lock:
                    next(sent)
                    statuses[answer.status] += 1
                    if found:
                        failures.append((request, answer, found))
        finally:
            connection.close()

    started = time.monotonic()
    workers = [threading.Thread(target=client) for _ in range(_setting("GATEHOUSE_FUZZ_WORKERS", 6))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return Outcome(next(sent), time.monotonic() - started, statuses, sorted(failures, key=lambda f: f[0].index))


def report(outcome: Outcome, seed: int, backend: str) -> str:
    rate = outcome.sent / outcome.seconds if outcome.seconds else 0
    lines = [
        f"fuzz on {backend}: {outcome.sent} requests in {outcome.seconds:.1f} s ({rate:.0f}/s), seed {seed}",
        "  statuses: " + ", ".join(f"{s}={n}" for s, n in sorted(outcome.statuses.items(), key=str)),
    ]
    for request, answer, found in outcome.failures[:10]:
        lines += [
            f"  FAILED: seed {seed} request #{request.index} ({request.category} {request.note}".rstrip()
            + f"): {found}",
            f"    answer: {answer.status} {answer.body[:300]!r}",
            f"    replay: GATEHOUSE_FUZZ_SEED={seed} GATEHOUSE_FUZZ_ONLY={request.index}, or send the bytes:",
            f"    {shown(request.raw)}",
        ]
    if len(outcome.failures) > 10:
        lines.append(f"  … and {len(outcome.failures) - 10} more failures")
    return "\n".join(lines)


def after_the_run(target: Target) -> None:
    """The server answers ordinary requests, the sentinels are untouched, and the database is sound."""
    with httpx.Client(headers=target.auth, timeout=30) as client:
        for path, before in target.sentinels.items():
            assert client.get(f"{target.base}/scim/v2{path}").content == before, f"{path} changed during the run"
        created = client.post(f"{target.base}/scim/v2/Users", json=okta_user("after-the-run@example.com", "after"))
        assert created.status_code == 201, created.text
        found = client.get(f"{target.base}/scim/v2/Users", params={"filter": 'userName eq "after-the-run@example.com"'})
        assert found.status_code == 200 and found.json()["totalResults"] == 1, found.text
        assert client.get(f"{target.base}/readyz").status_code == 200
    checked = cli(target.env, "db", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK: no problem found." in checked.stdout


def run(target: Target, requests: int, backend: str) -> None:
    seed = _seed()
    outcome = fuzz(target, requests, seed)
    text = report(outcome, seed, backend)
    print("\n" + text)
    assert not outcome.failures, text
    assert outcome.sent == (
        len(os.environ["GATEHOUSE_FUZZ_ONLY"].split(",")) if os.environ.get("GATEHOUSE_FUZZ_ONLY") else requests
    )
    after_the_run(target)
    log = target.log.read_text(errors="replace")
    assert "Exception in ASGI application" not in log  # no exception reached uvicorn (see gatehouse.server)


def test_hostile_requests_on_sqlite(sqlite_target: Target) -> None:
    run(sqlite_target, _setting("GATEHOUSE_FUZZ_REQUESTS", 10_000), "SQLite")


@pytest.mark.postgres
def test_hostile_requests_on_postgresql(postgres_target: Target) -> None:
    run(postgres_target, _setting("GATEHOUSE_FUZZ_PG_REQUESTS", 3_000), "PostgreSQL")
