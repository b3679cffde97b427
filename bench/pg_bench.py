"""``GET /Users/{id}`` on SQLite and on PostgreSQL, one worker and ``--workers 2`` (issue 16, point 4). Prints
figures; it is not a test and sets no target.

For each database, in a fresh SQLite file or a fresh PostgreSQL schema: ``gatehouse db upgrade``, N users
written directly through the store (the rows ``POST /Users`` would write: ``bench/seed.py``), SCIM enabled;
then ``gatehouse serve`` (access log off) and wrk ``-t1 -c8`` for ``--duration`` seconds after a warm-up,
every request a random id of a sample over the whole population.

On a 2-core machine, one worker runs on core 0 and wrk on core 1 (``taskset``); two workers cannot have a core
each *and* leave one to wrk, so they run unpinned and share both cores with wrk: say so beside the figure.

Each run also counts the CPU the whole machine spent a request (the server, PostgreSQL's backends, wrk and
anything else, from ``/proc/stat``). The machine's cores divided by that is the most any number of workers could
serve here with the same work a request; printed beside the two workers' figure as a multiple of one worker.

Usage: ``.venv/bin/python bench/pg_bench.py [--users 100000] [--postgres postgresql://postgres@127.0.0.1/test]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from procs import Pinning, free_port, machine_busy_s, running
from seed import GATEHOUSE, enable_scim, gatehouse, gatehouse_env, seed_users
from soak import database
from wrkload import Result, Scenario, Settings, figures, run, wrk_missing

SCIM = "/scim/v2"


@dataclass(frozen=True, slots=True)
class Measured:
    """A run's figures, and the machine's CPU seconds (all processes, all cores) a request took."""

    result: Result
    users: int
    machine_cpu_s: float

    def most_on(self, cores: int) -> float:
        """Requests a second ``cores`` fully busy would serve at this CPU a request."""
        return cores / self.machine_cpu_s


def measure(url: str | None, users: int, workers: int, duration: int, workdir: Path) -> Measured:
    """Seed ``users`` into a fresh database (``url``: PostgreSQL, else SQLite) and measure GET by id."""
    with database(url, workdir) as database_url:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # One token sends every request: the per-token rate limit (a guard against IdP loops) is set out of reach.
        env = gatehouse_env(database_url, base) | {
            "GATEHOUSE_SCIM_RATE_PER_SECOND": "1000000",
            "GATEHOUSE_SCIM_BURST": "1000000",
        }
        gatehouse(env, "db", "upgrade")
        seeded = seed_users(database_url, users, 2_000, random.Random(7))
        if url is not None:
            settle(database_url)
        token = enable_scim(env)
        scenario = Scenario(
            "get", "GET /Users/{id}", "GET", f'  return "{SCIM}/Users/" .. pick(ids), nil',
            {"Authorization": f"Bearer {token}"}, {"ids": seeded.ids},
        )  # fmt: skip
        pinning = Pinning.detect() if workers == 1 else Pinning(None, None)
        argv = [GATEHOUSE, "serve", "--port", str(port), "--no-access-log", "--workers", str(workers)]
        settings = Settings(threads=1, connections=8, duration_s=duration, timeout_s=10)
        with running(pinning.server_argv(argv), env, f"{base}/readyz", workdir / f"serve-{workers}.log"):
            run(scenario, base, settings, pinning, workdir, 2)
            busy = machine_busy_s()
            result, _ = run(scenario, base, settings, pinning, workdir, duration)
            busy = machine_busy_s() - busy
        return Measured(result, seeded.count, busy / max(result.requests, 1))


def settle(database_url: str) -> None:
    """``VACUUM ANALYZE`` after the bulk load, as autovacuum would do soon after: left to autovacuum, it ran during
    the measured runs and took a share of the two cores from the server (two workers measured 0.82x one)."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    options = parser.parse_args(argv)
    if wrk_missing():
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="pg-bench-"))
    try:
        sqlite = measure(None, options.users, 1, options.duration, workdir)
        one = measure(options.postgres, options.users, 1, options.duration, workdir)
        two = measure(options.postgres, options.users, 2, options.duration, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cores = os.cpu_count() or 1
    print(f"GET /Users/{{id}} at {sqlite.users:,} users, wrk -t1 -c8 for {options.duration} s")
    for label, run_ in (
        ("SQLite, 1 worker (pinned):      ", sqlite),
        ("PostgreSQL, 1 worker (pinned):  ", one),
        ("PostgreSQL, 2 workers (unpinned, sharing both cores with wrk):", two),
    ):
        print(f"  {label} {figures(run_.result)}")
        print(f"      the machine's CPU a request (server, database, wrk): {run_.machine_cpu_s * 1e6:,.0f} µs")
    print(f"  PostgreSQL / SQLite at 1 worker: {one.result.requests_per_s / sqlite.result.requests_per_s:.2f}")
    print(f"  PostgreSQL 2 workers / 1 worker: {two.result.requests_per_s / one.result.requests_per_s:.2f}")
    print(
        f"  the most {cores} cores could serve at one worker's CPU a request: {one.most_on(cores):,.0f} req/s, "
        f"{one.most_on(cores) / one.result.requests_per_s:.2f} × one worker"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
