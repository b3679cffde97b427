"""The access log (:mod:`gatehouse.access_log`): one JSON line per request, written by a thread off the event
loop; no query string, header or body in it (so no SSO ``code``, token or cookie); the status of an error the app
raised; a bounded queue that drops and counts rather than grow; and ``gatehouse serve`` writing it by default."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from gatehouse import access_log
from gatehouse.access_log import CHUNK, AccessLog
from support.servers import cli_env, running_server


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def broken(request: Request) -> Response:
    raise RuntimeError("boom")


def small_app() -> Starlette:
    return Starlette(routes=[Route("/hello", hello), Route("/broken", broken)])


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_one_json_line_per_request_without_query_headers_or_body() -> None:
    stream = io.StringIO()
    logged = AccessLog(small_app(), stream)
    with TestClient(logged, raise_server_exceptions=False) as client:
        assert client.get("/hello?code=sso-secret-code", headers={"Authorization": "Bearer ghs_secret"}).text == "hello"
        assert client.post("/hello", content=b"password=hunter2").status_code == 405
        assert client.get("/broken").status_code == 500
        assert client.get("/nowhere").status_code == 404
    logged.drain()
    written = stream.getvalue()
    for secret in ("sso-secret-code", "ghs_secret", "hunter2", "code="):
        assert secret not in written
    lines = lines_of(written)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/hello", 200),
        ("POST", "/hello", 405),
        ("GET", "/broken", 500),
        ("GET", "/nowhere", 404),
    ]
    for line in lines:
        assert set(line) == {"time", "client", "method", "path", "status", "duration_ms"}
        assert line["time"].endswith("Z") and line["duration_ms"] >= 0 and line["client"] == "testclient"


class Stuck(io.StringIO):
    """A stream whose first write waits until released (a terminal or pipe that stopped reading)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.release.wait(10)
        return super().write(text)


def test_a_stream_that_cannot_keep_up_drops_lines_and_says_how_many() -> None:
    stream = Stuck()
    logged = AccessLog(small_app(), stream, limit=2)
    with TestClient(logged) as client:
        for _ in range(10):  # the writer holds one batch while the stream is stuck; the queue keeps two
            assert client.get("/hello").status_code == 200
    assert logged.dropped >= 6
    stream.release.set()
    logged.drain()
    lines = lines_of(stream.getvalue())
    requests = [line for line in lines if "path" in line]
    reports = [line["access_log_dropped"] for line in lines if "access_log_dropped" in line]
    assert len(requests) + sum(reports) == 10 and sum(reports) == logged.dropped


class Unattended(AccessLog):
    """An access log whose thread writes nothing: the test writes what is pending itself."""

    def _write_forever(self) -> None:
        return


def test_the_writer_lets_the_event_loop_in_between_chunks_and_keeps_the_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rendering a tenth of a second of a busy server's lines at once held the interpreter for milliseconds, while
    every request waited; the writer yields it after every :data:`CHUNK` lines."""
    stream = io.StringIO()
    yields: list[int] = []

    def sleep(seconds: float) -> None:  # the module's clock, its zero sleeps (the yields) counted
        if seconds == 0:
            yields.append(len(stream.getvalue()))
        time.sleep(seconds)

    monkeypatch.setattr(access_log, "time", SimpleNamespace(time=time.time, monotonic=time.monotonic, sleep=sleep))
    logged = Unattended(small_app(), stream)
    count = 3 * CHUNK + 5
    for index in range(count):
        logged.finished({"method": "GET", "path": f"/r{index}", "client": ("10.0.0.1", 1)}, 200, 0.001)
    logged.drain(timeout=0)  # nothing written by a thread
    assert stream.getvalue() == ""
    logged._write_pending(0)
    assert yields == [0, 0, 0, 0]  # one a chunk, before the one write
    assert [line["path"] for line in lines_of(stream.getvalue())] == [f"/r{index}" for index in range(count)]


def test_serve_writes_the_access_log_by_default(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'log.db'}")
    output = tmp_path / "serve.log"
    with running_server(env, output=output, access_log=True) as base:
        assert httpx.get(f"{base}/healthz?state=opaque-sso-state").status_code == 200
        assert httpx.get(f"{base}/scim/v2/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
        written = ""
        for _ in range(100):
            written = output.read_text()
            if '"/scim/v2/Users"' in written:
                break
            threading.Event().wait(0.05)
    entries = [json.loads(line) for line in written.splitlines() if line.startswith('{"time"')]
    assert {"path": "/healthz", "status": 200, "method": "GET"}.items() <= next(
        e for e in entries if e["path"] == "/healthz"
    ).items()
    assert any(e["path"] == "/scim/v2/Users" and e["status"] == 401 for e in entries)
    assert "opaque-sso-state" not in written and "Bearer wrong" not in written
    assert '"GET /healthz' not in written  # uvicorn's own text line is off


def test_no_access_log_means_no_lines(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'quiet.db'}")
    output = tmp_path / "serve.log"
    with running_server(env, output=output) as base:
        assert httpx.get(f"{base}/healthz").status_code == 200
        threading.Event().wait(0.3)
    assert '"path"' not in output.read_text()
