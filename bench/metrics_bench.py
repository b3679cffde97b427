"""What the Prometheus metrics cost (issue 16, point 6: under 3 % of GET throughput).

One database of N users (seeded as ``scim_bench`` seeds it), two ``gatehouse serve`` on it, one with
``GATEHOUSE_METRICS_ENABLED`` true and one with it false, pinned to the same core; both warmed up, then wrk runs
``GET /Users/{id}`` over random ids against one and then the other, in alternating order (on-off, off-on, ...),
for ``--pairs`` rounds. Two figures a run:

- **requests per second**, the issue's measure; on this 2-core machine it varies by several percent between
  runs of one setting (wrk and the server share the machine with everything else);
- **the server's CPU time per request** (user + system seconds of the server process over the requests it
  answered): what the metrics add to each request, and far steadier than throughput.

The medians of each setting are compared, and the median of each pair's difference (the machine drifts over the
minutes a run takes; the two runs of a pair are next to each other). ``--pairs`` sets how many on/off pairs run.

    .venv/bin/python bench/metrics_bench.py [--users 100000] [--pairs 12] [--duration 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import pairs
from procs import free_port, running, work_area
from scim_bench import Options, _prepare, _server_argv, parse_args, scenarios
from seed import gatehouse_env
from wrkload import wrk_missing

COST_LIMIT = 0.03


Run = pairs.Run[bool]


def _median(runs: Sequence[Run], metrics: bool, figure: str) -> float:
    return statistics.median(getattr(run, figure) for run in runs if run.side == metrics)


def measure_pairs(options: Options, users: int, rounds: int, root: Path) -> list[Run]:
    """Seed once; start two servers on the database, metrics on and off, pinned to the same core; warm both;
    then ``rounds`` rounds of one short wrk run against each, the order alternating. Only one server is loaded at a
    time, and a pair's two runs are seconds apart, so the machine's drift over minutes falls on both alike."""
    ports = {True: free_port(), False: free_port()}
    database_url = f"sqlite:///{root / 'gatehouse.db'}"
    env = gatehouse_env(database_url, f"http://127.0.0.1:{ports[True]}")
    env["GATEHOUSE_SCIM_RATE_PER_SECOND"] = str(options.scim_rate)
    seeded, token = _prepare(users, database_url, env, options)
    get_by_id = scenarios(token, seeded, "metrics")[0]
    bases = {metrics: f"http://127.0.0.1:{port}" for metrics, port in ports.items()}
    with ExitStack() as servers:
        pids = {}
        for metrics, port in ports.items():
            started = {**env, "GATEHOUSE_METRICS_ENABLED": "true" if metrics else "false"}
            log = root / f"server-metrics-{'on' if metrics else 'off'}.log"
            pids[metrics] = servers.enter_context(
                running(_server_argv(port, options), started, f"{bases[metrics]}/readyz", log)
            )
        sides = {metrics: (bases[metrics], pids[metrics]) for metrics in (True, False)}
        return pairs.alternate(get_by_id, sides, options, root, rounds)


def report(runs: Sequence[Run], users: int) -> tuple[list[str], bool]:
    lines = [f"GET /Users/{{id}} at {users:,} users, two servers side by side, metrics on and off:", ""]
    lines.append("| run | metrics | req/s | server CPU µs/request | p99 ms |")
    lines.append("| ---: | --- | ---: | ---: | ---: |")
    for number, run in enumerate(runs, 1):
        on = "on" if run.side else "off"
        lines.append(
            f"| {number} | {on} | {run.requests_per_s:,.0f} | {run.cpu_us_per_request:.1f} | {run.p99_ms:.2f} |"
        )
    rps_on, rps_off = _median(runs, True, "requests_per_s"), _median(runs, False, "requests_per_s")
    cpu_on, cpu_off = _median(runs, True, "cpu_us_per_request"), _median(runs, False, "cpu_us_per_request")
    throughput_cost = 1 - rps_on / rps_off
    cpu_cost = cpu_on / cpu_off - 1
    spread = max(_spread(runs, True), _spread(runs, False))
    paired = statistics.median(_pair_costs(runs))
    lines += [
        "",
        f"medians: {rps_on:,.0f} req/s on, {rps_off:,.0f} off: throughput cost {throughput_cost:+.1%}",
        f"medians: {cpu_on:.1f} µs of server CPU a request on, {cpu_off:.1f} off: CPU cost {cpu_cost:+.1%}",
        f"median of each pair's throughput cost (a pair's two runs are seconds apart): {paired:+.1%}",
        f"largest spread of req/s within one setting: {spread:.1%}",
    ]
    passed = paired < COST_LIMIT and throughput_cost < COST_LIMIT
    verdict = "MET" if passed else "MISSED"
    lines.append(f"goal: the metrics cost under {COST_LIMIT:.0%} of GET (medians and pairs): {verdict}")
    return lines, passed


def _pair_costs(runs: Sequence[Run]) -> list[float]:
    """Each on/off pair's ``1 - on/off``: the machine drifts over minutes, a pair's two runs are seconds apart."""
    costs = []
    for first, second in zip(runs[::2], runs[1::2], strict=True):
        on, off = (first, second) if first.side else (second, first)
        costs.append(1 - on.requests_per_s / off.requests_per_s)
    return costs


def _spread(runs: Sequence[Run], metrics: bool) -> float:
    figures = [run.requests_per_s for run in runs if run.side == metrics]
    return (max(figures) - min(figures)) / statistics.median(figures)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The cost of Gatehouse's Prometheus metrics on GET /Users/{id}.")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=12, help="on/off pairs of runs")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured wrk run")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    options, _, _ = parse_args(["--sizes", str(args.users), "--duration", str(args.duration), "--warmup", "5"])
    if wrk_missing():
        return 2
    with work_area(args.keep, "gatehouse-metrics-bench-") as root:
        runs = measure_pairs(options, args.users, args.pairs, root)
    lines, passed = report(runs, args.users)
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
