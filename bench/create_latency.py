"""SCIM creates one after another inside the served app: each create's latency, without the network.

Through wrk, a create's p99 at 8 connections is mostly queueing (each request waits for the ones ahead of it),
and the 2-core machine's noise hides what one write transaction costs at its worst. This script builds the app
``gatehouse serve`` runs (:func:`gatehouse.server.create_app`: the access log, the kept SQLite writer, the WAL
checkpoint thread) on a database seeded with ``--users`` users, runs its lifespan, and sends Okta's create
body (``bench/okta.py``) for ``--creates`` new users straight to the ASGI app, each answered before the next.
It prints the creates a second and the latency percentiles, and what the checkpoint thread did meanwhile.

    .venv/bin/python bench/create_latency.py [--users 100000] [--creates 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from okta import create_body
from procs import work_area
from seed import in_process

PERCENTILES = (0.5, 0.9, 0.99, 0.999)


class Served:
    """The served app and a way to send it one ``POST /scim/v2/Users``."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.headers = [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/scim+json"),
        ]

    async def create(self, body: bytes) -> int:
        """The response's status."""
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/scim/v2/Users", "raw_path": b"/scim/v2/Users", "query_string": b"", "root_path": "",
            "headers": [*self.headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080), "state": {},
        }  # fmt: skip
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await self.app(scope, receive, send)
        return statuses[0]

    def database(self) -> Any:
        """The app's :class:`~gatehouse.store.database.Database` (inside the access log and the shield)."""
        layer = self.app
        while not hasattr(getattr(layer, "state", None), "db"):
            layer = layer.app
        return layer.state.db


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The app's ASGI lifespan, started and then shut down."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def measure(token: str, creates: int) -> list[str]:
    from gatehouse.server import create_app

    with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):  # the access log's lines
        served = Served(create_app(), token)
        async with lifespan(served.app):
            checkpointer = served.database().checkpointer
            before = (checkpointer.passes, checkpointer.restarts) if checkpointer else (0, 0)
            seconds: list[float] = []
            started = time.perf_counter()
            for index in range(creates):
                body = orjson.dumps(create_body(f"latency{index}@example.com", external_id=f"latency{index}"))
                sent = time.perf_counter()
                status = await served.create(body)
                seconds.append(time.perf_counter() - sent)
                if status != 201:
                    raise RuntimeError(f"create {index}: status {status}")
            elapsed = time.perf_counter() - started
            after = (checkpointer.passes, checkpointer.restarts) if checkpointer else (0, 0)
    ranked = sorted(seconds)
    shown = ", ".join(f"p{q * 100:g} {ranked[int(q * (len(ranked) - 1))] * 1e3:.2f}" for q in PERCENTILES)
    return [
        f"{creates:,} creates one after another: {creates / elapsed:,.0f} a second, "
        f"mean {statistics.fmean(seconds) * 1e6:.0f} µs",
        f"latency (ms): {shown}, max {ranked[-1] * 1e3:.2f}; over 3 ms: {sum(s > 0.003 for s in seconds)}",
        f"checkpoint thread: {after[0] - before[0]} passes, the log started over {after[1] - before[1]} times"
        if checkpointer
        else "no checkpoint thread (not SQLite, or more than one worker)",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SCIM creates one after another inside the served app.")
    parser.add_argument("--users", type=int, default=100_000, help="users seeded before the creates")
    parser.add_argument("--creates", type=int, default=6_000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    with work_area(args.keep, "gatehouse-create-latency-") as root:
        _, token = in_process(root, args.users, 10)
        os.environ["GATEHOUSE_SCIM_RATE_PER_SECOND"] = "1000000"  # measure creates, not the rate limit's refusals
        print("\n".join(asyncio.run(measure(token, args.creates))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
