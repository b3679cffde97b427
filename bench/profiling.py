"""Sampling profiles of the server under load (py-spy), summarised as the functions with most samples.

py-spy writes collapsed stacks (``frame;...;leaf count`` per line, root first, frames as
``function (file)``); a function's *self* share counts the samples where it is the leaf, its *total*
share those where it is anywhere on the stack.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RATE_HZ = 200
#: Leaf frames of threads that only wait for work (anyio's idle worker threads); not counted.
IDLE_LEAVES = frozenset({"Condition.wait (threading.py)"})


def py_spy() -> str:
    """The py-spy executable (next to this Python, or on PATH)."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed: it comes with the dev extras (make .venv/.installed-dev)")
    return found


@contextmanager
def recording(pid: int, raw: Path, argv_prefix: list[str], *, gil_only: bool) -> Iterator[None]:
    """Sample ``pid`` into ``raw`` (collapsed stacks) while the block runs: every thread that is not
    idle (waits on locks and I/O included), or with ``gil_only`` only the thread running Python."""
    argv = [py_spy(), "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--format", "raw", "--nolineno"]
    argv += ["-o", str(raw), *(["--gil"] if gil_only else [])]
    log = raw.with_suffix(".log").open("wb")
    process = subprocess.Popen([*argv_prefix, *argv], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes its output and exits
        process.wait(timeout=60)
        log.close()


@dataclass(frozen=True, slots=True)
class HotSpot:
    function: str
    self_share: float
    total_share: float


def _stacks(raw: Path) -> Iterator[tuple[list[str], int]]:
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if stack and count.isdigit() and frames[-1] not in IDLE_LEAVES:
            yield frames, int(count)


@dataclass(frozen=True, slots=True)
class Profile:
    """Where a profiled run spent the server's time."""

    path: str
    samples: int  # not counting idle worker threads
    top_self: list[HotSpot]
    top_gatehouse: list[HotSpot]


def summarize(raw: Path, top: int) -> Profile:
    """The hottest functions overall (self) and of Gatehouse's own code (inclusive)."""
    return Profile(
        str(raw),
        _shares(raw)[2],
        hot_spots(raw, top),
        hot_spots(raw, top, inclusive=True, within="gatehouse/", besides="gatehouse/cli/"),
    )


def _shares(raw: Path) -> tuple[Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    samples = 0
    for frames, count in _stacks(raw):
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    return own, anywhere, samples


def hot_spots(raw: Path, top: int, *, inclusive: bool = False, within: str = "", besides: str = "\0") -> list[HotSpot]:
    """The ``top`` functions by self share (or by total share), optionally only frames whose names
    contain ``within`` (a path fragment such as ``gatehouse/``) and not ``besides``."""
    own, anywhere, samples = _shares(raw)
    ranking = anywhere if inclusive else own
    chosen = [name for name, _ in ranking.most_common() if within in name and besides not in name]
    return [HotSpot(name, own[name] / samples, anywhere[name] / samples) for name in chosen[:top]]
