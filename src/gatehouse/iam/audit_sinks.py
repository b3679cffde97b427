"""Audit streaming sinks: where every audit record is also delivered, and how that delivery is going. Use cases,
no HTTP, no commit; the delivery itself is :mod:`gatehouse.streaming`.

Reading sinks and their lag is ``iam:GetAuditSink``; creating, changing and deleting them ``iam:UpdateAuditSink``
(both on the organization; the starter Organization Admin role does not have the second: where the audit trail
leaves the box is the Super Admin's). Every change is audited like any other — and, as a record, delivered to the
sinks enabled when it commits.

Kinds and their settings (checked here; :func:`sink_input`):

- ``webhook``: an ``https://`` URL (checked by :mod:`gatehouse.outbound` when called), an HMAC-SHA256 key
  (write-only: stored encrypted with :mod:`gatehouse.secrets_box`, the sink's id as context, or named by an
  environment variable), an optional CA bundle (PEM) for a private CA, a timeout;
- ``syslog``: host and port of an RFC 5424 receiver over TCP, TLS on or off (verified against the system's CAs
  or a CA bundle), the facility, the HOSTNAME field;
- ``file``: the name of a JSON-lines file in the directory the server is configured with
  (``GATEHOUSE_AUDIT_FILE_DIR``): a sink never names a path, so the dashboard cannot make Gatehouse write
  anywhere else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from gatehouse.certificates import readable_certificates
from gatehouse.errors import InvalidInput, NotFound, existing
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.names import fits_folded, folded_hint
from gatehouse.numerals import whole_number
from gatehouse.outbound import check_scheme
from gatehouse.secrets_box import SecretBox
from gatehouse.store import audit_outbox as outbox
from gatehouse.store import audit_sinks as store
from gatehouse.store.audit_sinks import Sink, SinkWrite
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

READ: Final = "iam:GetAuditSink"
UPDATE: Final = "iam:UpdateAuditSink"
KINDS: Final = ("webhook", "syslog", "file")
MAX_NAME: Final = 100
MAX_SECRET: Final = 4_096
MAX_CA: Final = 64_000
_ENV_NAME: Final = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")
_FILE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_HOST: Final = re.compile(r"[A-Za-z0-9.:\[\]-]{1,253}")
SECRET_HIDDEN: Final = "(hidden)"


@dataclass(frozen=True, slots=True)
class SinkInput:
    """A sink as submitted, checked (see :func:`sink_input`); ``secret`` is never shown or logged."""

    name: str
    kind: str
    enabled: bool
    settings: Mapping[str, Any]
    secret: str | None = field(default=None, repr=False)
    secret_env: str | None = None

    def summary(self) -> dict[str, Any]:
        """What the audit log keeps: the fields and where the secret comes from, never the secret."""
        source = "environment" if self.secret_env else ("stored" if self.secret else "unchanged")
        shown = {k: v for k, v in self.settings.items() if k != "ca_bundle"}
        return {"name": self.name, "kind": self.kind, "enabled": self.enabled, "settings": shown, "hmac_key": source}


def _text(settings: Mapping[str, Any], key: str, limit: int = 500) -> str:
    value = settings.get(key, "")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidInput(f"settings.{key}: a text value.")
    return str(value).strip()[:limit]


def _port(settings: Mapping[str, Any], default: int) -> int:
    port = whole_number(settings.get("port", default), 5)  # never a boolean (true is no port 1), nor 1e999
    if port is None or not 1 <= port <= 65535:
        raise InvalidInput("settings.port: a TCP port, 1 to 65535.")
    return port


def _ca(settings: Mapping[str, Any]) -> str:
    text = _text(settings, "ca_bundle", MAX_CA)
    if text and not readable_certificates(text, limit=MAX_CA):
        raise InvalidInput(
            "settings.ca_bundle: readable PEM certificates (each from BEGIN CERTIFICATE to END CERTIFICATE), or empty."
        )
    return text


def _timeout(settings: Mapping[str, Any]) -> float:
    raw = settings.get("timeout")
    try:
        if isinstance(raw, bool):
            raise TypeError
        value = 10.0 if raw is None or raw == "" else float(raw)  # 0 is a value (refused), not "unset"
    except (TypeError, ValueError):
        raise InvalidInput("settings.timeout: seconds, 1 to 60.") from None
    if not 1 <= value <= 60:
        raise InvalidInput("settings.timeout: seconds, 1 to 60.")
    return value


def _settings(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "webhook":
        url = _text(raw, "url", 2_000)
        check_scheme(url)
        if not url.startswith("https://"):
            raise InvalidInput("settings.url: an https:// URL (records are signed, and sent over TLS only).")
        return {"url": url, "ca_bundle": _ca(raw), "timeout": _timeout(raw)}
    if kind == "syslog":
        host = _text(raw, "host", 253)
        if not _HOST.fullmatch(host):
            raise InvalidInput("settings.host: the syslog receiver's host name or address.")
        tls = bool(raw.get("tls", False))
        facility = whole_number(raw.get("facility", 13), 2)
        if facility is None or not 0 <= facility <= 23:
            raise InvalidInput("settings.facility: a syslog facility, 0 to 23 (13: log audit, 16: local0).")
        hostname = _text(raw, "hostname", 255) or "gatehouse"
        if not re.fullmatch(r"[\x21-\x7e]{1,255}", hostname):
            raise InvalidInput("settings.hostname: printable ASCII without spaces.")
        return {
            "host": host, "port": _port(raw, 6514 if tls else 514), "tls": tls, "ca_bundle": _ca(raw) if tls else "",
            "facility": int(facility), "hostname": hostname, "timeout": _timeout(raw),
        }  # fmt: skip
    file_name = _text(raw, "file", 100)
    if not _FILE_NAME.fullmatch(file_name) or file_name in (".", ".."):
        raise InvalidInput("settings.file: a file name (letters, digits, . _ -), e.g. audit.jsonl; never a path.")
    return {"file": file_name}


def sink_input(
    name: str,
    kind: str,
    enabled: bool,
    settings: Mapping[str, Any],
    secret: str | None = None,
    secret_env: str | None = None,
) -> SinkInput:
    """Check a submitted sink (see the module); :class:`InvalidInput` names the first bad field."""
    clean = name.strip()
    if not clean or not fits_folded(clean, MAX_NAME):
        folded = folded_hint(clean, MAX_NAME)
        raise InvalidInput(f"name: 1 to {MAX_NAME} characters{folded}.")
    if kind not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}.")
    env = (secret_env or "").strip() or None
    key = secret if secret else None
    if env is not None and not _ENV_NAME.fullmatch(env):
        raise InvalidInput("secret_env: an environment variable's name (A-Z, 0-9, _).")
    if key is not None and not 16 <= len(key) <= MAX_SECRET:
        raise InvalidInput("secret: an HMAC key of 16 to 4096 characters.")
    if kind != "webhook" and (env or key):
        raise InvalidInput("secret: only a webhook has an HMAC key.")
    return SinkInput(clean, kind, enabled, _settings(kind, settings), key, env)


# ------------------------------------------------------------------------------------------ views


@dataclass(frozen=True, slots=True)
class SinkView:
    """A sink as shown: its settings (never the secret: where it comes from) and how delivery is going."""

    sink: Sink
    waiting: int
    oldest_waiting: datetime | None

    @property
    def secret_source(self) -> str:
        if self.sink.secret_env:
            return f"environment variable {self.sink.secret_env}"
        return "stored encrypted" if self.sink.secret_encrypted else "none"

    def lag_seconds(self, now: datetime) -> float:
        """How long the oldest waiting record has waited (0 when none waits)."""
        return 0.0 if self.oldest_waiting is None else max(0.0, (now - self.oldest_waiting).total_seconds())

    def as_dict(self, now: datetime) -> dict[str, Any]:
        sink = self.sink

        def time(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": sink.id, "name": sink.name, "kind": sink.kind, "enabled": sink.enabled,
            "settings": sink.settings, "hmac_key": self.secret_source if sink.kind == "webhook" else None,
            "version": sink.version, "created": sink.created.isoformat(), "updated": sink.updated.isoformat(),
            "status": {
                "waiting": self.waiting, "lag_seconds": round(self.lag_seconds(now), 3),
                "oldest_waiting": time(self.oldest_waiting), "delivered_total": sink.delivered_total,
                "last_delivered_sequence": sink.last_delivered_sequence,
                "last_delivered_at": time(sink.last_delivered_at), "failures": sink.failures,
                "last_error": sink.last_error, "last_error_at": time(sink.last_error_at),
                "next_attempt_at": time(sink.next_attempt_at),
            },
        }  # fmt: skip


def list_sinks(connection: Connection, principal: Principal) -> list[SinkView]:
    """Every sink with its backlog (``iam:GetAuditSink``)."""
    require(principal, READ, ORGANIZATION)
    waiting = outbox.backlogs(connection)
    empty = outbox.Backlog(0, None)
    return [
        SinkView(sink, waiting.get(sink.id, empty).waiting, waiting.get(sink.id, empty).oldest)
        for sink in store.list_all(connection)
    ]


def get_sink(connection: Connection, principal: Principal, sink_id: str) -> SinkView:
    require(principal, READ, ORGANIZATION)
    for view in list_sinks(connection, principal):
        if view.sink.id == sink_id:
            return view
    raise NotFound("There is no such sink. It may have been deleted.")


# ------------------------------------------------------------------------------------------ changes


def _write(data: SinkInput, sink_id: str, box: SecretBox | None, current: Sink | None) -> SinkWrite:
    encrypted = current.secret_encrypted if current is not None else None
    env = current.secret_env if current is not None else None
    if data.secret_env:
        encrypted, env = None, data.secret_env
    elif data.secret:
        assert box is not None
        encrypted, env = box.encrypt(data.secret, f"audit-sink:{sink_id}"), None
    if data.kind != "webhook":
        encrypted = env = None
    elif encrypted is None and env is None:
        raise InvalidInput("secret: a webhook needs an HMAC key (give one, or the environment variable holding it).")
    return SinkWrite(data.name, data.kind, data.enabled, data.settings, encrypted, env)


def create_sink(connection: Connection, principal: Principal, data: SinkInput, box: SecretBox | None) -> SinkView:
    """A new sink (``iam:UpdateAuditSink``); it receives the records written from its creation on."""
    require(principal, UPDATE, ORGANIZATION)
    sink_id = str(uuid.uuid4())
    store.insert(connection, sink_id, _write(data, sink_id, box, None), utcnow())
    return get_sink(connection, principal, sink_id)


def update_sink(
    connection: Connection, principal: Principal, sink_id: str, data: SinkInput, box: SecretBox | None
) -> SinkView:
    """Replace a sink's settings (the stored key is kept unless a new one is given). Disabled, a sink keeps what
    waits for it, and gets nothing recorded while it is disabled."""
    require(principal, UPDATE, ORGANIZATION)
    current = existing(
        store.get(connection, sink_id, for_update=True), "There is no such sink. It may have been deleted."
    )
    if current.kind != data.kind:
        raise InvalidInput("kind: a sink's kind cannot change; create another sink.")
    store.update(connection, sink_id, _write(data, sink_id, box, current), utcnow())
    return get_sink(connection, principal, sink_id)


def delete_sink(connection: Connection, principal: Principal, sink_id: str) -> Sink:
    """Delete a sink and every record still waiting for it."""
    require(principal, UPDATE, ORGANIZATION)
    current = existing(store.get(connection, sink_id), "There is no such sink. It may have been deleted.")
    store.delete(connection, sink_id)
    return current


def secret_of(sink: Sink, box: SecretBox | None, environ: Mapping[str, str]) -> str | None:
    """A webhook's HMAC key, for the deliverer (``None`` when the environment variable is unset)."""
    if sink.secret_env:
        return environ.get(sink.secret_env) or None
    if sink.secret_encrypted:
        assert box is not None
        return box.decrypt(sink.secret_encrypted, f"audit-sink:{sink.id}")
    return None


def require_change(principal: Principal) -> None:
    """Refused (403) unless the principal may change sinks: before showing a form to add one."""
    require(principal, UPDATE, ORGANIZATION)


def editable_sink(connection: Connection, principal: Principal, sink_id: str) -> SinkView:
    """A sink, for its edit form (``iam:UpdateAuditSink``)."""
    require(principal, UPDATE, ORGANIZATION)
    return get_sink(connection, principal, sink_id)
