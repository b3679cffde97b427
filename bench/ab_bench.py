"""One revision of Gatehouse against another, side by side: what a change did to a SCIM request (`GET /Users/{id}`,
the `userName eq` filter, Okta's deactivating PATCH or its create), measured so that
the machine's drift cannot pass for it.

On a shared 2-core VM, two ``make bench`` runs of one revision can differ by 15 % (the hello-world ceiling itself
moves that much within a run), more than most changes make. This runs both revisions at once: one database of N
users (seeded as ``scim_bench`` seeds it), a ``gatehouse serve`` of the working tree and one of ``--base`` (a git
worktree of that revision, imported through ``PYTHONPATH``), pinned to the same core; both warmed up, then wrk
runs the endpoint against one and then the other, in alternating order, for ``--pairs`` rounds. Reported: each
pair's throughput ratio (new ÷ base; a pair's two runs are seconds apart) and the server's CPU time per request
(user + system of the server process over the requests it answered), the steadier figure.

Both revisions must share the schema (the same newest migration): the base server migrates nothing.

    .venv/bin/python bench/ab_bench.py --base c9e8f2f [--users 10000] [--pairs 8] [--endpoint get|filter] [--access-log]
    .venv/bin/python bench/ab_bench.py --base HEAD --base-env GATEHOUSE_SCIM_ACTIVITY_READS_PER_SECOND=0  # a setting
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pairs
from procs import free_port, running, work_area
from scim_bench import Options, _prepare, _server_argv, parse_args, scenarios
from seed import gatehouse_env
from wrkload import wrk_missing

ROOT = Path(__file__).resolve().parent.parent


Run = pairs.Run[str]


@contextmanager
def checkout(revision: str, root: Path) -> Iterator[Path]:
    """A detached git worktree of ``revision`` under ``root``; its ``src`` is what the base server imports."""
    path = root / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision], check=True)
    try:
        yield path / "src"
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def measure_pairs(
    options: Options, users: int, rounds: int, endpoint: str, base_src: Path, root: Path, base_env: dict[str, str]
) -> list[Run]:
    ports = {"new": free_port(), "base": free_port()}
    database_url = f"sqlite:///{root / 'gatehouse.db'}"
    env = gatehouse_env(database_url, f"http://127.0.0.1:{ports['new']}")
    env["GATEHOUSE_SCIM_RATE_PER_SECOND"] = str(options.scim_rate)
    seeded, token = _prepare(users, database_url, env, options)
    scenario = next(s for s in scenarios(token, seeded, "ab") if s.name == endpoint)
    bases = {side: f"http://127.0.0.1:{port}" for side, port in ports.items()}
    with ExitStack() as servers:
        pids = {}
        for side, port in ports.items():
            started = {**env, **base_env, "PYTHONPATH": str(base_src)} if side == "base" else env
            log = root / f"server-{side}.log"
            pids[side] = servers.enter_context(
                running(_server_argv(port, options), started, f"{bases[side]}/readyz", log)
            )
        sides = {side: (bases[side], pids[side]) for side in ports}
        return pairs.alternate(scenario, sides, options, root, rounds)


def report(runs: Sequence[Run], base: str, endpoint: str, users: int) -> list[str]:
    lines = [f"{endpoint} at {users:,} users: the working tree (new) against {base} (base), side by side", ""]
    lines += ["| pair | new req/s | base req/s | new ÷ base | new CPU µs/req | base CPU µs/req | new p99 | base p99 |"]
    lines += ["| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ratios, cpu, tails = [], [], []
    for number, (first, second) in enumerate(zip(runs[::2], runs[1::2], strict=True), 1):
        new, old = (first, second) if first.side == "new" else (second, first)
        ratios.append(new.requests_per_s / old.requests_per_s)
        cpu.append(new.cpu_us_per_request / old.cpu_us_per_request)
        tails.append(new.p99_ms / old.p99_ms)
        lines.append(
            f"| {number} | {new.requests_per_s:,.0f} | {old.requests_per_s:,.0f} | {ratios[-1]:.3f} "
            f"| {new.cpu_us_per_request:.1f} | {old.cpu_us_per_request:.1f} "
            f"| {new.p99_ms:.2f} ms | {old.p99_ms:.2f} ms |"
        )
    lines += [
        "",
        f"throughput, new ÷ base: median of the pairs {statistics.median(ratios):.3f} "
        f"(lowest {min(ratios):.3f}, highest {max(ratios):.3f})",
        f"server CPU a request, new ÷ base: median of the pairs {statistics.median(cpu):.3f}",
        f"p99 latency, new ÷ base: median of the pairs {statistics.median(tails):.3f}",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Two revisions of Gatehouse side by side on one SCIM request.")
    parser.add_argument("--base", required=True, help="the revision to compare with (a commit, tag or branch)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=8, help="new/base pairs of runs")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured wrk run")
    parser.add_argument("--endpoint", choices=["get", "filter", "patch", "post"], default="get")
    parser.add_argument("--access-log", action="store_true", help="both servers with the access log on (the default)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument(
        "--base-env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting of the base server only (repeatable): with --base HEAD, a setting against its default",
    )  # fmt: skip
    args = parser.parse_args(argv)
    base_env = dict(setting.split("=", 1) for setting in args.base_env)
    logged = ["--access-log"] if args.access_log else []
    options, _, _ = parse_args(["--sizes", str(args.users), "--duration", str(args.duration), "--warmup", "3", *logged])
    if wrk_missing():
        return 2
    with work_area(args.keep, "gatehouse-ab-bench-") as root, checkout(args.base, root) as base_src:
        runs = measure_pairs(options, args.users, args.pairs, args.endpoint, base_src, root, base_env)
    shown = args.base + "".join(f" {name}={value}" for name, value in base_env.items())
    print("\n".join(report(runs, shown, args.endpoint, args.users)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
