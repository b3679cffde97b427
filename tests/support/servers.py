"""Real ``gatehouse`` processes for tests that need them (several servers on one database, races)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

GATEHOUSE = str(Path(sys.executable).with_name("gatehouse"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(database_url: str, public_url: str = "http://127.0.0.1:8080") -> dict[str, str]:
    env = dict(os.environ)
    env.update(GATEHOUSE_DATABASE_URL=database_url, GATEHOUSE_PUBLIC_URL=public_url)
    return env


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``gatehouse`` console script."""
    return subprocess.run([GATEHOUSE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)


def serving_probe(tmp_path: Path, code: str, **env: str | None) -> Any:
    """What ``code`` (Python, run in a fresh interpreter on a migrated SQLite file, its last line printing JSON)
    prints: for looking into the process ``gatehouse serve`` builds. ``env`` sets (a string) or removes (``None``)
    variables of its environment."""
    environ = cli_env(f"sqlite:///{tmp_path / 'probe.db'}") | {
        "GATEHOUSE_SECRET_KEY_FILE": str(tmp_path / "secret.key")
    }
    for name, value in env.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    assert cli(environ, "db", "upgrade").returncode == 0
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def running_server(
    env: dict[str, str], *extra: str, output: Path | None = None, access_log: bool = False
) -> Iterator[str]:
    """``gatehouse serve`` on a free port; yields its base URL once /readyz answers 200.

    Its standard output and error go to ``output`` (a temporary file by default), never to a pipe
    that nobody reads."""
    port = free_port()
    log_path = output or Path(tempfile.mkstemp(prefix="gatehouse-serve-", suffix=".log")[1])
    log = log_path.open("w")
    process = subprocess.Popen(
        [GATEHOUSE, "serve", "--port", str(port), "--access-log" if access_log else "--no-access-log", *extra],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a fresh database migrates first; CI machines are busy
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gatehouse serve exited: {log_path.read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gatehouse serve did not become ready in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
