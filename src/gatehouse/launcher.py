"""The server process: ``gatehouse serve`` prepares the database, then replaces itself with this module.

``python -m gatehouse.launcher --host H --port P --workers N`` runs uvicorn on :func:`gatehouse.server.create_app`
with the settings of the environment. It is a fresh interpreter (``os.execv``, the same process id) on
purpose: what preparing the database needed (Alembic, the command line's modules, argon2's 64 MiB while it
hashes a first Super Admin's password) is never part of the long-lived server. Measured with ``make bench``:
resident memory when ready from about 128 to about 105 MiB, and the peak no longer includes the start-up.
"""

from __future__ import annotations

import argparse
import atexit
import copy
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, Final

KEEP_ALIVE_SECONDS: Final = 75
"""How long the server keeps an idle connection open (nginx's default ``keepalive_timeout``)."""

WORKERS_ENV: Final = "GATEHOUSE_SERVER_WORKERS"
"""Set by :func:`run` for the worker processes: how many serve (:func:`gatehouse.server.create_app` reads it)."""


def command(host: str, port: int, workers: int) -> list[str]:
    """The argument vector that starts the server process (for ``os.execv``)."""
    return [sys.executable, "-m", "gatehouse.launcher", "--host", host, "--port", str(port), "--workers", str(workers)]


def run(host: str, port: int, workers: int) -> None:
    """Serve HTTP until stopped."""
    import uvicorn

    from gatehouse.config import load_settings

    settings = load_settings()
    os.environ[WORKERS_ENV] = str(workers)
    if workers > 1 and settings.metrics_enabled and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here; whichever answers /metrics sums them (gatehouse.metrics).
        shared = tempfile.mkdtemp(prefix="gatehouse-metrics-")
        atexit.register(shutil.rmtree, shared, True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
    uvicorn.run(
        "gatehouse.server:create_app",  # the app inside its outermost guard (gatehouse.server)
        factory=True,
        http="gatehouse.server:GatehouseHttpProtocol",  # limits answered 414/431/400, lingering close
        ws="none",  # no WebSocket endpoint: an Upgrade header is an ordinary request
        # Longer than the idle timeout of the clients and proxies in front (httpx 5 s, load balancers 60 s): a
        # server that closes an idle connection first races the client's next request on it.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        access_log=False,  # uvicorn's text line on the event loop: Gatehouse writes its own (gatehouse.access_log)
        proxy_headers=False,
        server_header=False,
    )


def log_config(level: str) -> dict[str, object]:
    """uvicorn's logging configuration, with Gatehouse's own loggers (``gatehouse.*``: why a request was
    refused, errors with their tracebacks) written by the same handler, at the configured level, each message one
    line (:mod:`gatehouse.log_lines`)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["default"]["()"] = "gatehouse.log_lines.OneLineFormatter"  # one inert line a message
    config["loggers"]["gatehouse"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gatehouse.launcher", description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    run(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
