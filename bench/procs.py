"""Server processes under test: CPU pinning, start until ready, memory, stop."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Pinning:
    """Which core the server and the load generator run on (``None``: not pinned)."""

    server: str | None
    client: str | None

    @classmethod
    def detect(cls) -> Pinning:
        """Server on core 0 and wrk on core 1 when ``taskset`` exists and there are two cores."""
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
            return cls("0", "1")
        return cls(None, None)

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (no taskset or a single core)"
        return f"server pinned to core {self.server}, wrk to core {self.client} (taskset)"

    def server_argv(self, argv: list[str]) -> list[str]:
        return _pinned(self.server, argv)

    def client_argv(self, argv: list[str]) -> list[str]:
        return _pinned(self.client, argv)


def _pinned(core: str | None, argv: list[str]) -> list[str]:
    # taskset execs the command, so the process id stays the server's own.
    return argv if core is None else ["taskset", "-c", core, *argv]


@contextmanager
def work_area(keep: Path | None, prefix: str) -> Iterator[Path]:
    """Where a benchmark keeps its databases, logs and scripts while the block runs: ``keep`` (``--keep``, made if
    missing, left in place), or a new temporary directory removed when the block ends."""
    directory = keep or Path(tempfile.mkdtemp(prefix=prefix))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        yield directory
    finally:
        if keep is None:
            shutil.rmtree(directory, ignore_errors=True)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident set size of a process now and at its peak, in MiB."""

    rss_mib: float
    peak_mib: float


def memory(pid: int) -> Memory:
    """``VmRSS`` and ``VmHWM`` from ``/proc/<pid>/status``."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return Memory(fields["VmRSS"], fields["VmHWM"])


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def machine_busy_s() -> float:
    """CPU seconds all cores have spent busy (not idle, not waiting on I/O) since boot."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLOCK_TICKS  # minus idle, iowait; no guest


def waited_children_cpu_s() -> float:
    """CPU seconds of the children this process has waited for (such as each finished wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class CpuUse:
    """Cores in use during a run: the server, wrk, and everything else on the machine."""

    server: float
    wrk: float
    other: float


class CpuMeter:
    """Cores used from its creation to :meth:`read` (wrk must have been waited for by then)."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.started = time.monotonic()
        self.server = process_cpu_s(server_pid)
        self.children = waited_children_cpu_s()
        self.busy = machine_busy_s()

    def read(self) -> CpuUse:
        wall = time.monotonic() - self.started
        server = process_cpu_s(self.server_pid) - self.server
        wrk = waited_children_cpu_s() - self.children
        other = machine_busy_s() - self.busy - server - wrk
        return CpuUse(server / wall, wrk / wall, max(other, 0.0) / wall)


def wait_for_quiet(limit_s: float, busy_cores: float = 0.15, window_s: float = 1.0) -> float:
    """Wait (up to ``limit_s``) until the machine is nearly idle; the busy cores of the last window."""
    deadline = time.monotonic() + limit_s
    while True:
        before = machine_busy_s()
        time.sleep(window_s)
        busy = (machine_busy_s() - before) / window_s
        if busy <= busy_cores or time.monotonic() >= deadline:
            return busy


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(url):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running(argv: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[int]:
    """Start ``argv`` (output to ``log``), yield its pid once ``ready_url`` answers 200, then stop it."""
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, ready_url, log)
            yield process.pid
        finally:
            _stop(process)
