"""The HTTP server process (``gatehouse.server``) against a real ``gatehouse serve``, over raw sockets: every
request gets an answer in its surface's error shape (414, 431, 400), even while the client is still sending,
the log says why, and no exception of the app reaches uvicorn."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gatehouse.server import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_TARGET_BYTES,
    GatehouseHttpProtocol,
    Shield,
    _Lingering,
    error_response,
)
from support.coroutines import run_apart
from support.scim_fuzz import Answer, exchange, exchange_on
from support.servers import GATEHOUSE, cli, cli_env, free_port, running_server, serving_probe

pytestmark = pytest.mark.slow

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class Server:
    def __init__(self, base: str, token: str, log: Path) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.token = token
        self.log = log

    def send(self, raw: bytes, head: bool = False) -> Answer:
        return exchange(self.host, self.port, raw, timeout=20.0, head=head)

    def request(self, line: bytes, headers: bytes = b"", body: bytes = b"") -> bytes:
        auth = b"Authorization: Bearer " + self.token.encode() + b"\r\n"
        return line + b"\r\nHost: x\r\n" + auth + headers + b"\r\n" + body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("server")
    env = cli_env(f"sqlite:///{directory / 'gatehouse.db'}")
    env["GATEHOUSE_MAX_BODY_BYTES"] = "65536"
    token = json.loads(cli(env, "scim", "enable", "--json").stdout)["token"]
    log = directory / "serve.log"
    with running_server(env, output=log) as base:
        yield Server(base, token, log)


def scim_error(answer: Answer, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert answer.failure is None, answer.failure
    assert answer.status == status, (answer.status, answer.body)
    assert answer.headers["content-type"] == "application/scim+json"
    assert answer.headers["connection"] == "close"
    body: dict[str, Any] = orjson.loads(answer.body)
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body


def test_a_request_target_too_long_is_414_in_the_shape_of_its_surface(server: Server) -> None:
    query = b"filter=" + b"a" * MAX_TARGET_BYTES
    scim_error(server.send(server.request(b"GET /scim/v2/Users?" + query + b" HTTP/1.1")), 414)
    api = server.send(server.request(b"GET /api/users?" + query + b" HTTP/1.1"))
    assert api.status == 414 and api.headers["content-type"] == "application/json"
    assert orjson.loads(api.body)["error"]["code"] == "uri_too_long"
    page = server.send(server.request(b"GET /?" + query + b" HTTP/1.1"))
    assert page.status == 414 and page.body.startswith(b"414 URI Too Long: ")


def test_headers_too_large_or_too_many_are_431(server: Server) -> None:
    big = b"X-Big: " + b"a" * (MAX_HEADER_BYTES + 1) + b"\r\n"
    body = scim_error(server.send(server.request(b"GET /scim/v2/Users HTTP/1.1", big)), 431)
    assert body["detail"] == f"The request headers are larger than {MAX_HEADER_BYTES} bytes."
    many = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    scim_error(server.send(server.request(b"GET /scim/v2/Users HTTP/1.1", many)), 431)
    api = server.send(server.request(b"GET /api/me HTTP/1.1", big))
    assert api.status == 431 and orjson.loads(api.body)["error"]["code"] == "request_header_fields_too_large"


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /scim/v2/Users/\xff\xfe HTTP/1.1",
        b"GET /scim/v2/Users/a\x00b HTTP/1.1",
        b"G\x00T /scim/v2/Users HTTP/1.1",
        b'GET /scim/v2/Users?filter=userName eq "x" HTTP/1.1',
        b"GET /scim/v2/Users FTP/1.1",
    ],
)
def test_a_request_line_the_parser_cannot_read_is_a_scim_400(server: Server, raw: bytes) -> None:
    scim_error(server.send(server.request(raw)), 400, "invalidSyntax")


@pytest.mark.parametrize(
    "headers",
    [
        b"X A: b\r\n",
        b"X-A: a\x00b\r\n",
        b"X-A: b\r\n folded\r\n",
        b"Content-Length: abc\r\n",
        b"Content-Length: 2\r\nContent-Length: 3\r\n",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: 99999999999999999999999\r\n",
    ],
)
def test_a_header_the_parser_cannot_read_is_a_scim_400(server: Server, headers: bytes) -> None:
    scim_error(server.send(server.request(b"POST /scim/v2/Users HTTP/1.1", headers, b"{}")), 400, "invalidSyntax")


def test_a_broken_chunked_body_is_answered_though_the_app_was_reading_it(server: Server) -> None:
    headers = b"Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n"
    for body in (b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"2\r\n{\r\n-1\r\n"):
        scim_error(server.send(server.request(b"POST /scim/v2/Users HTTP/1.1", headers, body)), 400, "invalidSyntax")


def test_the_answer_reaches_a_client_still_sending_its_body(server: Server) -> None:
    """The server lingers: it answers, stops sending, and reads what is still coming before it closes, so the
    client is never reset before it has read the answer."""
    body = b"x" * 8_000_000
    length = b"Content-Length: %d\r\n" % len(body)
    json_type = b"Content-Type: application/scim+json\r\n"
    cases = [
        (server.request(b"POST /scim/v2/Users HTTP/1.1", b"X A: b\r\n" + length, body), 400),
        (server.request(b"POST /scim/v2/Users HTTP/1.1", b"Transfer-Encoding: chunked\r\n", b"zz\r\n" + body), 400),
        (server.request(b"POST /scim/v2/Users HTTP/1.1", json_type + b"Connection: close\r\n" + length, body), 413),
        (
            server.request(
                b"POST /scim/v2/Users HTTP/1.1", b"Content-Type: text/plain\r\nConnection: close\r\n" + length, body
            ),
            415,
        ),
        (server.request(b"POST /api/tokens HTTP/1.1", json_type + b"Connection: close\r\n" + length, body), 413),
    ]
    for raw, status in cases:
        for _ in range(3):
            answer = server.send(raw)
            assert answer.failure is None and answer.status == status, (answer.failure, answer.status, raw[:80])


def test_an_upgrade_is_not_performed(server: Server) -> None:
    upgrade = b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
    with_body = server.request(b"POST /scim/v2/Users HTTP/1.1", upgrade + b"Content-Length: 2\r\n", b"{}")
    scim_error(server.send(with_body), 400, "invalidSyntax")
    without = server.send(server.request(b"GET /scim/v2/Users HTTP/1.1", upgrade))
    assert without.status == 200 and "close" in without.headers.get("connection", "")


def test_a_refused_request_pipelined_behind_another_is_answered_after_it(server: Server) -> None:
    first = server.request(b"GET /scim/v2/ServiceProviderConfig HTTP/1.1")
    with socket.create_connection((server.host, server.port), timeout=20) as sock:
        sock.sendall(first + b"GET /scim/v2/Users HTTP/1.1\r\nX A: b\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"200", b"400"], data[:500]


def test_keep_alive_connections_survive_errors(server: Server) -> None:
    with socket.create_connection((server.host, server.port), timeout=20) as sock:
        for _ in range(3):
            refused = exchange_on(sock, server.request(b"GET /scim/v2/Users?count=1e400 HTTP/1.1"))
            assert refused.status == 400 and "connection" not in refused.headers
        assert exchange_on(sock, server.request(b"GET /scim/v2/Users HTTP/1.1")).status == 200


def test_the_log_says_why_a_request_was_refused_and_shows_no_traceback(server: Server) -> None:
    server.send(server.request(b"GET /scim/v2/Users HTTP/1.1", b"X-Big: " + b"a" * (MAX_HEADER_BYTES + 1) + b"\r\n"))
    server.send(server.request(b"GET /scim/v2/Users?filter=userName%20eq HTTP/1.1"))
    log = server.log.read_text(errors="replace")
    assert re.search(r"Refused a request from 127\.0\.0\.1:\d+ \(/scim/v2/Users\): 431 The request headers", log)
    assert "Refused GET /scim/v2/Users: 400 invalidFilter: Invalid filter" in log
    assert "Traceback" not in log and "Exception in ASGI application" not in log


def test_a_refusal_s_log_line_stays_one_inert_line(server: Server) -> None:
    """A request path is decoded before it is logged: a ``%0a`` in it must not start a forged line (CWE-117), nor
    an escape sequence reach the terminal that follows the log; both are written as \\xNN."""
    forged = b"/scim/v2/Users/x%0a2026-12-08%20CRITICAL%20forged%1b[2J"
    server.send(server.request(b"GET " + forged + b" HTTP/1.1"))
    log = server.log.read_text(errors="replace")
    [line] = [line for line in log.splitlines() if "forged" in line]
    assert "CRITICAL forged\\x1b[2J: 404" in line and "User x\\x0a2026-12-08 CRITICAL forged\\x1b[2J not found" in line
    assert "\x1b" not in log


# -- the outermost guard ---------------------------------------------------------------------------------


def run_shield(path: str, respond_first: bool) -> list[dict[str, Any]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if respond_first:
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"handled"})
        raise RuntimeError("boom")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    run_apart(Shield(app)(scope, receive, send))
    return sent


def test_the_shield_answers_an_unanswered_error_in_the_surfaces_shape() -> None:
    sent = run_shield("/scim/v2/Users", respond_first=False)
    assert sent[0]["status"] == 500
    assert orjson.loads(sent[1]["body"]) == {
        "schemas": [ERROR],
        "status": "500",
        "detail": "An internal error occurred; it has been logged.",
    }
    api = run_shield("/api/users", respond_first=False)
    assert orjson.loads(api[1]["body"])["error"]["code"] == "internal_error"


def test_the_shield_ends_an_error_that_was_already_answered() -> None:
    sent = run_shield("/scim/v2/Users", respond_first=True)  # no exception reaches the server
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_error_bodies_by_path() -> None:
    assert error_response("/scim/v2", 431, "x")[0] == b"application/scim+json"
    assert error_response("/api", 414, "x")[0] == b"application/json"
    assert error_response("/apix", 414, "x")[0] == b"text/plain; charset=utf-8"
    assert orjson.loads(error_response("/scim/v2/Users", 400, "x")[1])["scimType"] == "invalidSyntax"


def test_the_serving_process_settles_its_garbage_collector(tmp_path: Path) -> None:
    """What `gatehouse serve` builds in each worker freezes what was made while starting (out of the collector's
    walks); a process that only imports Gatehouse freezes nothing."""
    probe = (
        "import gc, json, gatehouse.server as s; before = gc.get_freeze_count(); s.create_app(); "
        "print(json.dumps([before, gc.get_freeze_count()]))"
    )
    before, after = serving_probe(tmp_path, probe)
    assert before == 0 and after > 10_000


def test_the_server_process_holds_no_migration_tooling_nor_the_command_line(tmp_path: Path) -> None:
    """What `gatehouse serve` runs after preparing the database (gatehouse.launcher's app) loads neither Alembic
    nor the command line's modules (Typer, Rich; uvicorn needs Click) nor httpx (loaded by the first outbound
    call): memory a server would hold for nothing."""
    probe = (
        "import sys, json, gatehouse.server as s; s.create_app(); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako', 'pygments', 'typer', "
        "'rich', 'httpx'} | {m for m in sys.modules if m.startswith('gatehouse.cli')})))"
    )
    assert serving_probe(tmp_path, probe) == []


def test_serve_prepares_the_database_then_becomes_the_server_in_the_same_process(tmp_path: Path) -> None:
    """`gatehouse serve` migrates, creates the first Super Admin and says so, then replaces itself (same process
    id) with the lean server process, which answers and shuts down on SIGTERM."""
    env = cli_env(f"sqlite:///{tmp_path / 'fresh.db'}") | {"GATEHOUSE_SECRET_KEY_FILE": str(tmp_path / "secret.key")}
    env.pop("GATEHOUSE_ADMIN_PASSWORD", None)
    port = free_port()
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([GATEHOUSE, "serve", "--port", str(port)], env=env, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 60
            while not _ready(port):
                assert process.poll() is None, err.read_text()
                assert time.monotonic() < deadline, "not ready in 60 s"
                time.sleep(0.1)
            command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
            assert b"gatehouse.launcher" in command_line and b"--port" in command_line
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=20)
    assert code == -signal.SIGTERM, err.read_text()  # uvicorn shuts down, then re-raises the signal it caught
    assert "Created the Super Admin 'admin' with the one-time password: " in out.read_text()
    log = err.read_text()
    assert "Database at revision" in log and "Application startup complete" in log and "Traceback" not in log
    assert log.index("Database at revision") < log.index("Application startup complete")


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class _Recording:
    """A transport that records each write (what would be one ``send``)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False


def test_a_response_head_goes_out_with_its_body_in_one_write() -> None:
    """The head uvicorn writes when a response starts waits for the body; a head whose body does not follow at
    once (a HEAD, a stream, a 100 Continue) goes out on the event loop's next turn, before anything after it."""
    loop = asyncio.new_event_loop()
    try:
        transport = _Recording()
        protocol = object.__new__(GatehouseHttpProtocol)  # only what the coalescing uses
        protocol.loop, protocol.transport, protocol.held = loop, transport, None  # type: ignore[assignment]
        cycle_transport = _Lingering(protocol, transport)  # type: ignore[arg-type]
        cycle_transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        assert transport.writes == []
        cycle_transport.write(b"ok")
        assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
        loop.run_until_complete(asyncio.sleep(0))  # the next turn finds nothing held
        assert len(transport.writes) == 1
        cycle_transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        loop.run_until_complete(asyncio.sleep(0))
        assert transport.writes[1:] == [b"HTTP/1.1 204 No Content\r\n\r\n"]
        cycle_transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        protocol.flush_held()  # what the protocol does before it writes or closes itself
        cycle_transport.write(b"2\r\nok\r\n")
        assert transport.writes[2:] == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", b"2\r\nok\r\n"]
    finally:
        loop.close()


def test_a_head_without_a_body_still_arrives(server: Server) -> None:
    """A HEAD answer and a 100 Continue have no body to ride with: each arrives on its own."""
    head = server.send(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", head=True)
    assert head.failure is None and head.status == 200 and head.headers["content-length"] == "15"
    with socket.create_connection((server.host, server.port), timeout=20) as sock:
        body = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 1}'
        sock.sendall(
            server.request(
                b"POST /scim/v2/Users/.search HTTP/1.1",
                b"Content-Type: application/scim+json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n" % len(body),
            )
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n")  # asked before the body is sent
        answer = exchange_on(sock, body)
    assert answer.status == 200 and orjson.loads(answer.body)["schemas"] == [LIST_RESPONSE]
