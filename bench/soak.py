"""Soak: a mixed Okta-like SCIM load for several minutes at 16 connections, on SQLite or PostgreSQL; prints, minute
by minute, req/s, p50 and p99, the statuses and the server's resident memory, then whether the run held up (no
error, resident memory grown by less than 10 % between the first and the last minute, p99 stable).

Each request is, at random: ``GET /Users?filter=userName eq "…"`` (40 %, the existence check every IdP sends),
``GET /Users/{id}`` (30 %), ``PATCH /Users/{id}`` deactivating or reactivating (15 %) and ``POST /Users`` with
Okta's create body and a new userName (15 %). The server is ``gatehouse serve`` with one worker, its default
settings except two, said in the output: the per-token rate limit and the mass-deprovisioning guard are off, since
a soak's thousands of deactivations a minute are exactly what the guard exists to hold.

    .venv/bin/python bench/soak.py [--users 10000] [--minutes 5] [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from okta import DEACTIVATE, create_body
from procs import Memory, Pinning, free_port, memory, running
from seed import GATEHOUSE, enable_scim, gatehouse, gatehouse_env, seed_users
from wrkload import Result, Scenario, Settings, lua_string, run, wrk_missing

SCIM = "/scim/v2"
GROWTH_LIMIT = 0.10
P99_DRIFT_LIMIT = 2.0
"""The last minute's p99 may be at most this many times the first's."""


def mixed(token: str, ids: Sequence[str], user_names: Sequence[str]) -> Scenario:
    """The Lua of the mixed load: the request kind is drawn per request; ``method`` (a local of the script) is
    set by ``make``."""
    reactivate = {**DEACTIVATE, "Operations": [{"op": "replace", "value": {"active": True}}]}
    marker = "~user~"
    parts = json.dumps(create_body(marker), separators=(",", ":")).split(marker)
    create = " .. user .. ".join(lua_string(part) for part in parts)
    make = f"""  local draw = math.random(100)
  if draw <= 40 then
    method = "GET"
    return "{SCIM}/Users?filter=" .. pick(filters), nil
  elseif draw <= 70 then
    method = "GET"
    return "{SCIM}/Users/" .. pick(ids), nil
  elseif draw <= 85 then
    method = "PATCH"
    local body = {lua_string(json.dumps(DEACTIVATE, separators=(",", ":")))}
    if draw % 2 == 0 then body = {lua_string(json.dumps(reactivate, separators=(",", ":")))} end
    return "{SCIM}/Users/" .. pick(ids), body
  else
    method = "POST"
    local user = "soak-" .. run_id .. "-" .. thread_id .. "-" .. n .. "@okta.local"
    return "{SCIM}/Users", {create}
  end"""
    filters = [quote(f'userName eq "{name}"', safe="") for name in user_names]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    return Scenario(
        "soak", "mixed Okta-like load", "GET", make, headers, {"ids": list(ids), "filters": filters},
        frozenset({200, 201, 204}),
    )  # fmt: skip


@contextmanager
def database(postgres: str | None, workdir: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema in ``postgres`` (dropped at the end)."""
    if postgres is None:
        yield f"sqlite:///{workdir / 'gatehouse.db'}"
        return
    schema = f"soak_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    try:
        yield admin.url.update_query_dict({"options": f"-csearch_path={schema},public"}).render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def line(minute: int, result: Result, used: Memory) -> str:
    statuses = ", ".join(f"{code}: {count:,}" for code, count in sorted(result.statuses.items()))
    return (
        f"  minute {minute}: {result.requests_per_s:7,.0f} req/s  p50 {result.p50_us / 1000:7.2f} ms  "
        f"p99 {result.p99_us / 1000:7.2f} ms  RSS {used.rss_mib:6.1f} MiB  statuses {statuses}  "
        f"socket errors {result.errors}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=10_000, help="users seeded before the load")
    parser.add_argument("--minutes", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--period", type=int, default=60, help="seconds per measured period (a smoke run: 5)")
    parser.add_argument("--postgres", help="a PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
    options = parser.parse_args(argv)
    if wrk_missing():
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    pinning = Pinning.detect()
    try:
        with database(options.postgres, workdir) as url:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = gatehouse_env(url, base)
            env.update(GATEHOUSE_SCIM_RATE_PER_SECOND="0", GATEHOUSE_SCIM_GUARD_ENABLED="false")
            gatehouse(env, "db", "upgrade")
            seeded = seed_users(url, options.users, 2_000, random.Random(5))
            token = enable_scim(env)
            scenario = mixed(token, seeded.ids, seeded.user_names)
            settings = Settings(threads=2, connections=options.connections, duration_s=options.period, timeout_s=10)
            kind = "PostgreSQL" if options.postgres else "SQLite"
            print(
                f"Soak: {options.minutes} periods of {options.period} s of a mixed Okta-like load at "
                f"{options.connections} connections, {seeded.count:,} users to start with, {kind}, one worker; "
                "rate limit and deprovisioning guard off (GATEHOUSE_SCIM_RATE_PER_SECOND=0, "
                f"GATEHOUSE_SCIM_GUARD_ENABLED=false); {pinning.describe()}"
            )
            argv_ = pinning.server_argv([GATEHOUSE, "serve", "--port", str(port)])
            results: list[tuple[Result, Memory]] = []
            with running(argv_, env, f"{base}/readyz", workdir / "serve.log") as pid:
                for minute in range(1, options.minutes + 1):
                    result, _ = run(scenario, base, settings, pinning, workdir, options.period)
                    used = memory(pid)
                    results.append((result, used))
                    print(line(minute, result, used), flush=True)
            errors = sum(r.unexpected + r.errors for r, _ in results)
            growth = results[-1][1].rss_mib / results[0][1].rss_mib - 1
            drift = results[-1][0].p99_us / results[0][0].p99_us
            verdicts = [
                ("no error", f"{errors:,} unexpected statuses or socket errors", errors == 0),
                (f"RSS growth first→last minute < {GROWTH_LIMIT:.0%}", f"{growth:+.1%}", growth < GROWTH_LIMIT),
                (f"p99 last/first minute <= {P99_DRIFT_LIMIT:g}x", f"{drift:.2f}x", drift <= P99_DRIFT_LIMIT),
            ]
            for name, figure, passed in verdicts:
                print(f"  {'PASS' if passed else 'MISS'}  {name}: {figure}")
            return 0 if all(passed for _, _, passed in verdicts) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
