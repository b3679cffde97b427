"""``GET /Users/{id}`` on Gatehouse and on the reference, ``scim2-server`` (issue 16, point 1: "≥ 3× scim2-server
on the same harness"). Prints figures; it is not a test and sets no target.

Both are served the same way (one uvicorn worker, uvloop and httptools, access log off, pinned to core 0 with
wrk on core 1): the reference is scim2-server's ASGI application over its in-memory storage
(``bench/reference_app.py``, no authentication), Gatehouse is ``gatehouse serve`` on a fresh SQLite file with
its default settings but the per-token rate limit set out of reach. Each gets the same ``--users`` users
**through its public API** (``POST /Users`` with Okta's create body, 8 clients at once), then wrk ``-t1 -c8``
asks ``GET /Users/{id}`` for every id created, in turn, for ``--duration`` seconds after a warm-up.

Usage: ``.venv/bin/python bench/reference_bench.py [--users 10000] [--duration 10] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from okta import create_body
from procs import Pinning, free_port, running, work_area
from seed import GATEHOUSE, enable_scim, gatehouse, gatehouse_env
from wrkload import Result, Scenario, Settings, figures, run, wrk_missing

HERE = Path(__file__).resolve().parent
CLIENTS = 8


def create_users(port: int, prefix: str, users: int, headers: dict[str, str]) -> list[str]:
    """POST ``users`` users with Okta's create body over CLIENTS keep-alive connections; their ids."""

    def post_range(client: int) -> list[str]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ids = []
        for index in range(client, users, CLIENTS):
            body = json.dumps(create_body(f"ref.user{index:07d}@okta.local"))
            connection.request("POST", f"{prefix}/Users", body, {"Content-Type": "application/scim+json", **headers})
            answer = connection.getresponse()
            payload = answer.read()
            if answer.status != 201:
                raise RuntimeError(f"POST /Users answered {answer.status}: {payload[:300]!r}")
            ids.append(json.loads(payload)["id"])
        connection.close()
        return ids

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [user_id for ids in pool.map(post_range, range(CLIENTS)) for user_id in ids]


def get_by_id(prefix: str, ids: Sequence[str], headers: dict[str, str]) -> Scenario:
    return Scenario(
        "get", "GET /Users/{id}", "GET", f'  return "{prefix}/Users/" .. pick(ids), nil', headers, {"ids": ids}
    )


def measure(scenario: Scenario, url: str, settings: Settings, pinning: Pinning, workdir: Path, warmup: int) -> Result:
    run(scenario, url, Settings(1, settings.connections, warmup, settings.timeout_s), pinning, workdir, warmup)
    result, _ = run(scenario, url, settings, pinning, workdir, settings.duration_s)
    return result


def describe(label: str, result: Result) -> str:
    return f"  {label:<28} {figures(result)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the database, logs and scripts in this directory")
    options = parser.parse_args(argv)
    if wrk_missing():
        return 2
    pinning = Pinning.detect()
    settings = Settings(threads=1, connections=8, duration_s=options.duration, timeout_s=10)
    with work_area(options.keep, "reference-bench-") as workdir:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv_ = pinning.server_argv(
            [sys.executable, str(HERE / "reference_app.py"), "--port", str(port), "--no-access-log"]
        )
        with running(argv_, dict(os.environ), f"{url}/v2/ServiceProviderConfig", workdir / "reference.log"):
            ids = create_users(port, "/v2", options.users, {})
            reference = measure(get_by_id("/v2", ids, {}), url, settings, pinning, workdir, options.warmup)

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = gatehouse_env(f"sqlite:///{workdir / 'gatehouse.db'}", url) | {
            "GATEHOUSE_SCIM_RATE_PER_SECOND": "1000000"
        }
        gatehouse(env, "db", "upgrade")
        auth = {"Authorization": f"Bearer {enable_scim(env)}"}
        argv_ = pinning.server_argv([GATEHOUSE, "serve", "--port", str(port), "--no-access-log"])
        with running(argv_, env, f"{url}/readyz", workdir / "gatehouse.log"):
            ids = create_users(port, "/scim/v2", options.users, auth)
            ours = measure(get_by_id("/scim/v2", ids, auth), url, settings, pinning, workdir, options.warmup)

        print(
            "\n".join(
                [
                    f"GET /Users/{{id}} over {options.users:,} users created through POST /Users, wrk -t1 -c8 for "
                    f"{options.duration} s; {pinning.describe()}",
                    describe("scim2-server (in memory)", reference),
                    describe("Gatehouse (SQLite)", ours),
                    f"  Gatehouse / scim2-server: {ours.requests_per_s / reference.requests_per_s:.2f}x",
                ]
            )
        )
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
