"""The metrics' cost inside the app, without the network: the CPU each ``GET /Users/{id}`` takes with
``GATEHOUSE_METRICS_ENABLED`` true and false.

``metrics_bench.py`` measures the issue's figure (throughput through wrk and uvicorn), but on a 2-core machine
shared with wrk its runs vary by more than the 3 % budget. This script takes the network, uvicorn and wrk out:
one process builds the app twice (metrics on and off) on one seeded database, runs both lifespans, and calls
each app directly with the same kind of request (a random id over the population, the SCIM token), in
alternating rounds, timing each round's process CPU. What is left is what the metrics add to a request.

    .venv/bin/python bench/metrics_app_cost.py [--users 20000] [--rounds 40] [--requests 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from procs import work_area
from seed import in_process

BODY: dict[str, Any] = {"type": "http.request", "body": b"", "more_body": False}


def _scope(user_id: str, token: str) -> dict[str, Any]:
    path = f"/scim/v2/Users/{user_id}"
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "state": {},
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
    }  # fmt: skip


async def _drive(app: Any, requests: int, ids: Sequence[str], token: str, rng: random.Random) -> float:
    """Process CPU seconds for ``requests`` requests (each answered in full before the next)."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return BODY

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(requests):
        await app(_scope(rng.choice(ids), token), receive, send)
    spent = time.process_time() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses: {sorted(set(statuses))}")
    return spent


async def measure(ids: Sequence[str], token: str, rounds: int, requests: int) -> dict[bool, list[float]]:
    from gatehouse.app import create_app
    from gatehouse.config import load_settings

    settings = load_settings().model_copy(update={"scim_rate_per_second": 1_000_000.0})
    apps = {on: create_app(settings.model_copy(update={"metrics_enabled": on})) for on in (True, False)}
    rng = random.Random(16)
    costs: dict[bool, list[float]] = {True: [], False: []}
    async with AsyncExitStack() as lifespans:
        for app in apps.values():
            await lifespans.enter_async_context(app.router.lifespan_context(app))
            await _drive(app, requests, ids, token, rng)  # warm up
        for number in range(rounds):
            for on in (True, False) if number % 2 == 0 else (False, True):
                costs[on].append(await _drive(apps[on], requests, ids, token, rng) / requests * 1e6)
    return costs


def report(costs: dict[bool, list[float]]) -> list[str]:
    on, off = statistics.median(costs[True]), statistics.median(costs[False])
    paired = statistics.median(a / b - 1 for a, b in zip(costs[True], costs[False], strict=True))
    return [
        f"CPU a request, median of {len(costs[True])} rounds: metrics on {on:.1f} µs, off {off:.1f} µs",
        f"cost: {on / off - 1:+.1%} (medians), {paired:+.1%} (median of the rounds' pairs)",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="What the metrics add to GET /Users/{id} inside the app.")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=40, help="rounds, each of both settings")
    parser.add_argument("--requests", type=int, default=1_500, help="requests a round and setting")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    with work_area(args.keep, "gatehouse-metrics-app-") as root:
        seeded, token = in_process(root, args.users, 2_000)
        costs = asyncio.run(measure(seeded.ids, token, args.rounds, args.requests))
    print("\n".join(report(costs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
