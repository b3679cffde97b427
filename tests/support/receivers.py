"""Real receivers for the audit streaming tests, on 127.0.0.1 only: a small HTTPS server (Python's own, a
certificate made for the test) that checks each webhook call's signature, and Debian's ``rsyslog`` listening for
RFC 5424 over TCP (TLS with its GnuTLS driver), writing each message to a file. Each can be stopped for a while and
started again on the same port, as a receiver that goes down does.

``rsyslogd`` missing fails the test in CI (``CI`` set) and skips it elsewhere (``apt-get install rsyslog
rsyslog-gnutls``; ``.ci/run`` installs them)."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gatehouse.streaming.transports import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from support.pg import in_ci
from support.servers import free_port

RSYSLOGD = "/usr/sbin/rsyslogd"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost: its PEM (the CA bundle a sink is given) and files."""

    pem: str
    cert_file: Path
    key_file: Path


def make_certificate(directory: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = directory / "receiver.crt", directory / "receiver.key"
    cert_file.write_text(pem)
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return Certificate(pem, cert_file, key_file)


# ------------------------------------------------------------------------------------------ HTTPS webhook


@dataclass
class HttpsReceiver:
    """An HTTPS webhook receiver: every call whose signature checks is kept (``received``, in arrival order, with
    duplicates); a bad signature is answered 401 and counted in ``bad``."""

    certificate: Certificate
    key: str
    port: int = field(default_factory=free_port)
    received: list[dict[str, Any]] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    bad: int = 0
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    """Every call as it came (headers, body), for checks of the test's own."""
    refuse: int = 0
    """Answer the next ``refuse`` calls 503 without keeping them (a receiver that errors for a while)."""
    _server: http.server.ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stamp, signature = self.headers.get(TIMESTAMP_HEADER, ""), self.headers.get(SIGNATURE_HEADER, "")
                fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
                with receiver._lock:
                    receiver.raw.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    if receiver.refuse > 0:
                        receiver.refuse -= 1
                        self.send_response(503)
                    elif not fresh or not verify(receiver.key, stamp, body, signature):
                        receiver.bad += 1
                        self.send_response(401)
                    else:
                        receiver.received.append(orjson.loads(body))
                        receiver.event_ids.append(self.headers.get(EVENT_ID_HEADER, ""))
                        self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate.cert_file, self.certificate.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# ------------------------------------------------------------------------------------------ rsyslog


def rsyslogd() -> str:
    if os.access(RSYSLOGD, os.X_OK):
        return RSYSLOGD
    message = "rsyslogd not found (apt-get install rsyslog rsyslog-gnutls)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class Rsyslog:
    """``rsyslogd -n`` with its own configuration, listening on 127.0.0.1:``port`` (TLS when ``certificate``),
    writing each message as one line (its MSG) to ``output``."""

    directory: Path
    certificate: Certificate | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def output(self) -> Path:
        return self.directory / "messages.log"

    def _config(self) -> Path:
        work = self.directory / "work"
        work.mkdir(exist_ok=True)
        tls = ""
        listener = f'input(type="imtcp" port="{self.port}" address="127.0.0.1")'
        if self.certificate is not None:
            cert = self.certificate
            tls = (
                f'global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{cert.cert_file}" '
                f'DefaultNetstreamDriverCertFile="{cert.cert_file}" DefaultNetstreamDriverKeyFile="{cert.key_file}")\n'
            )
            listener = (
                f'input(type="imtcp" port="{self.port}" address="127.0.0.1" StreamDriver.Name="gtls" '
                'StreamDriver.Mode="1" StreamDriver.AuthMode="anon")'
            )
        config = self.directory / "rsyslog.conf"
        config.write_text(
            f'global(workDirectory="{work}")\n{tls}'
            'module(load="imtcp")\n'
            f"{listener}\n"
            'template(name="gatehouse" type="string" string="%msgid% %structured-data% %msg%\\n")\n'
            f'action(type="omfile" file="{self.output}" template="gatehouse" flushOnTXEnd="on" asyncWriting="off")\n'
        )
        return config

    def start(self) -> None:
        binary = rsyslogd()
        command = [binary, "-n", "-f", str(self._config()), "-i", str(self.directory / "rsyslogd.pid")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"rsyslogd exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rsyslogd did not listen in 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def records(self) -> list[dict[str, Any]]:
        """Each message's record (the JSON after the BOM), in the order received."""
        if not self.output.exists():
            return []
        found = []
        for line in self.output.read_text(encoding="utf-8").splitlines():
            _, _, rest = line.partition("] ")
            text = rest.lstrip("\ufeff").strip()
            if text.startswith("{"):
                found.append(orjson.loads(text))
        return found

    def lines(self) -> list[str]:
        return self.output.read_text(encoding="utf-8").splitlines() if self.output.exists() else []


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
