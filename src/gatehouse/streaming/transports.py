"""How a batch of audit records reaches each kind of sink. A transport sends records in order and raises
:class:`DeliveryFailed` saying how many of them it had delivered first (those are not sent again).

- **Webhook**: one HTTPS ``POST`` per record, the record's JSON as body, signed: ``X-Gatehouse-Signature:
  v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`` with ``X-Gatehouse-Timestamp`` (Unix seconds) and
  ``X-Gatehouse-Event-Id`` (the record's stable id). Any 2xx is a delivery; anything else, a timeout or a refused
  connection is a failure. The URL goes through :mod:`gatehouse.outbound` (http(s) only, no redirect followed,
  pinned to a checked address with ``GATEHOUSE_OUTBOUND_DENY_PRIVATE``), TLS is verified (system CAs or the
  sink's CA bundle).
- **Syslog**: RFC 5424 messages over one TCP connection (TLS optional, verified), framed by octet counting
  (RFC 6587 §3.4.1). A record is delivered once the receiver's TCP stack has acknowledged every byte of it
  (the send queue is empty, ``SIOCOUTQ``); a connection the receiver has closed is noticed before writing.
  Syslog over TCP has no acknowledgement of its own: a record the receiver's kernel took but the daemon never
  read (it crashed in between) cannot be told from a delivered one.
- **File**: one JSON line per record appended to a file in the configured directory, flushed and ``fsync``'d
  before the records count as delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import os
import select
import socket
import ssl
import struct
import termios
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson

from gatehouse import outbound
from gatehouse.store.audit_outbox import Queued

if TYPE_CHECKING:
    import httpx  # imported by the first webhook sink: a server that streams to none never loads it (nor its CLI)

SIGNATURE_HEADER: Final = "X-Gatehouse-Signature"
TIMESTAMP_HEADER: Final = "X-Gatehouse-Timestamp"
EVENT_ID_HEADER: Final = "X-Gatehouse-Event-Id"
USER_AGENT: Final = "Gatehouse audit streaming"
SYSLOG_ENTERPRISE: Final = "gatehouse@32473"
"""The structured-data id: 32473 is the private enterprise number RFC 5612 reserves for documentation."""
FACILITY_DEFAULT: Final = 13


class DeliveryFailed(Exception):
    """Delivery stopped: ``delivered`` records of the batch had gone through before ``reason`` stopped it."""

    def __init__(self, delivered: int, reason: str) -> None:
        super().__init__(reason)
        self.delivered = delivered
        self.reason = reason


class Transport(Protocol):
    async def send(self, batch: Sequence[Queued]) -> None: ...

    def close(self) -> None: ...


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(key: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` with ``key`` (what a receiver checks; constant time)."""
    return hmac.compare_digest(sign(key, timestamp, body), header)


def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cadata=ca_bundle)
    return context


class Webhook:
    """A webhook sink (see the module)."""

    def __init__(self, settings: dict[str, Any], key: str | None, *, deny_private: bool) -> None:
        self.url = str(settings["url"])
        self.key = key
        self.timeout = float(settings.get("timeout", 10))
        self.deny_private = deny_private
        import httpx

        self.client: httpx.AsyncClient = httpx.AsyncClient(
            verify=_tls_context(str(settings.get("ca_bundle") or "")),
            timeout=self.timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self.client_error: type[Exception] = httpx.HTTPError

    async def send(self, batch: Sequence[Queued]) -> None:
        if not self.key:
            raise DeliveryFailed(0, "the webhook's HMAC key is not available (is its environment variable set?)")
        try:
            target = await outbound.destination(self.url, deny_private=self.deny_private)
        except outbound.OutboundRefused as exc:
            raise DeliveryFailed(0, exc.detail) from None
        for done, item in enumerate(batch):
            body = item.payload.encode()
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: sign(self.key, stamp, body),
                EVENT_ID_HEADER: str(orjson.loads(body)["id"]),
            }
            if target.host_header is not None:
                headers["Host"] = target.host_header
            extensions = {"sni_hostname": target.server_name} if target.server_name else None
            try:
                response = await self.client.post(target.url, content=body, headers=headers, extensions=extensions)
            except self.client_error as exc:
                raise DeliveryFailed(done, f"{type(exc).__name__}: {exc}"[:500]) from None
            if not 200 <= response.status_code < 300:
                raise DeliveryFailed(done, f"the webhook answered {response.status_code}")

    def close(self) -> None:
        client = self.client
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(client.aclose())


def _sd_value(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _msgid(event: str) -> str:
    text = "".join(ch if 33 <= ord(ch) <= 126 else "_" for ch in event)[:32]
    return text or "-"


def syslog_message(item: Queued, facility: int, hostname: str) -> bytes:
    """One record as an RFC 5424 message (without framing)."""
    record = orjson.loads(item.payload)
    severity = 5 if record.get("outcome") == "success" else 4  # notice; warning for refusals and failures
    when = datetime.fromisoformat(str(record["occurred_at"])).astimezone(UTC)
    timestamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    data = (
        f'[{SYSLOG_ENTERPRISE} id="{_sd_value(record["id"])}" sequence="{item.sequence}" '
        f'outcome="{_sd_value(record.get("outcome", ""))}" source="{_sd_value(record.get("source", ""))}"]'
    )
    header = f"<{facility * 8 + severity}>1 {timestamp} {hostname} gatehouse - {_msgid(str(record['event']))} {data} "
    return header.encode() + b"\xef\xbb\xbf" + item.payload.encode()


class Syslog:
    """A syslog sink over TCP, TLS optional (see the module)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.host = str(settings["host"])
        self.port = int(settings["port"])
        self.tls = bool(settings.get("tls"))
        self.ca_bundle = str(settings.get("ca_bundle") or "")
        self.facility = int(settings.get("facility", FACILITY_DEFAULT))
        self.hostname = str(settings.get("hostname") or "gatehouse")
        self.timeout = float(settings.get("timeout", 10))
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if not self.tls:
            return raw
        try:
            return _tls_context(self.ca_bundle).wrap_socket(raw, server_hostname=self.host)
        except Exception:
            raw.close()
            raise

    def _alive(self, sock: socket.socket) -> bool:
        """False when the receiver has closed the connection (readable with nothing to read)."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return True
        try:
            sock.setblocking(False)
            try:
                data = sock.recv(1, socket.MSG_PEEK) if not self.tls else sock.recv(1)
            finally:
                sock.setblocking(True)
                sock.settimeout(self.timeout)
        except (BlockingIOError, ssl.SSLWantReadError):
            return True
        except OSError:
            return False
        return bool(data)

    def _drained(self, sock: socket.socket) -> None:
        """Wait until the receiver's TCP stack has acknowledged everything sent (or fail)."""
        deadline = time.monotonic() + self.timeout
        while True:
            left = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            if left == 0:
                return
            if time.monotonic() > deadline:
                raise OSError(f"the receiver did not acknowledge {left} byte(s) in {self.timeout:g} s")
            time.sleep(0.005)

    def _send(self, batch: Sequence[Queued]) -> None:
        if self.sock is not None and not self._alive(self.sock):
            self.close()
        try:
            if self.sock is None:
                self.sock = self._connect()
            frames = b"".join(
                f"{len(message)} ".encode() + message
                for message in (syslog_message(item, self.facility, self.hostname) for item in batch)
            )
            self.sock.sendall(frames)
            self._drained(self.sock)
            if not self._alive(self.sock):
                raise OSError("the receiver closed the connection")
        except (OSError, ssl.SSLError) as exc:
            self.close()
            raise DeliveryFailed(0, f"{type(exc).__name__}: {exc}"[:500]) from None

    async def send(self, batch: Sequence[Queued]) -> None:
        await asyncio.to_thread(self._send, batch)

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None


class JsonLines:
    """A JSON-lines file sink (see the module)."""

    def __init__(self, settings: dict[str, Any], directory: Path) -> None:
        self.path = directory / str(settings["file"])
        self.directory = directory

    def _send(self, batch: Sequence[Queued]) -> None:
        try:
            self.directory.mkdir(mode=0o750, parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(descriptor, b"".join(item.payload.encode() + b"\n" for item in batch))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except OSError as exc:
            raise DeliveryFailed(0, f"{type(exc).__name__}: {exc.strerror or exc}") from None

    async def send(self, batch: Sequence[Queued]) -> None:
        await asyncio.to_thread(self._send, batch)

    def close(self) -> None:
        return None
