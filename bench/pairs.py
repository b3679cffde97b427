"""Two servers measured side by side (``metrics_bench``, ``ab_bench``): warmed up, then one short wrk run against
each in turn, the order alternating from pair to pair, so that the machine's drift over the minutes of a run falls
on both alike (a pair's two runs are seconds apart)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import wrkload
from procs import CpuMeter
from scim_bench import Options, progress
from wrkload import Scenario

Side = TypeVar("Side", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Run(Generic[Side]):
    side: Side
    requests_per_s: float
    cpu_us_per_request: float
    p99_ms: float


def alternate(
    scenario: Scenario, servers: Mapping[Side, tuple[str, int]], options: Options, root: Path, pairs: int
) -> list[Run[Side]]:
    """``servers``: two sides, each ``(base URL, pid)``. The runs in order, two a pair; each with the server's
    CPU time per request (user + system of the process over the requests it answered), steadier than req/s."""
    sides = list(servers)
    for side in sides:
        wrkload.run(scenario, servers[side][0], options.settings, options.pinning, root, options.warmup_s)
    runs: list[Run[Side]] = []
    for pair in range(pairs):
        for side in sides if pair % 2 == 0 else sides[::-1]:
            url, pid = servers[side]
            meter = CpuMeter(pid)
            result, _ = wrkload.run(scenario, url, options.settings, options.pinning, root, options.settings.duration_s)
            rps = result.requests_per_s
            runs.append(Run(side, rps, meter.read().server / rps * 1e6, result.p99_us / 1000))
            progress(f"pair {pair + 1}/{pairs}, {side}: {rps:,.0f} req/s")
    return runs
