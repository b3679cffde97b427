"""Calls to an LDAP server (with ``ldap3``, a pure-Python client: no C library to build): a sign-in's binds and
searches, step by step (:data:`gatehouse.login.ldap.STEPS`), and the dashboard's connection test.

Blocking: callers run it in a worker thread. Every call has the option's timeout (the TCP connect, each
answer); the server's certificate is verified unless the option says otherwise, against the option's CA
bundle or the system's, its name checked against the host. Each failure is an :class:`LdapStepFailed` naming
the step and saying what to check; the user's password is never part of a message, a log line or a result.
An LDAPS or StartTLS connection is opened only to the option's host, never to an address an answer names
(referrals are not followed).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Final

from gatehouse.errors import Unauthorized
from gatehouse.login.ldap import LdapSettings, Step, StepResult, member_filter, user_filter
from gatehouse.sso.failure import Reasoned

MAX_GROUPS: Final = 1000
MAX_VALUE: Final = 2000  # longer attribute values are left out (a photo, a certificate)
INVALID_CREDENTIALS: Final = "Invalid username or password."
_SSL_ERROR: Final = re.compile(r"\[SSL[^\]]*\][^(\"']*")


class LdapStepFailed(Reasoned):
    """A step of the conversation with the directory failed for a reason of the directory or the option
    (unreachable, TLS, the service account, the search): nothing the person signing in can fix."""

    status = 502
    default_detail = "The directory could not be reached or refused Gatehouse. Try again later."

    def __init__(self, step: Step, reason: str, detail: str) -> None:
        self.step = step
        super().__init__(reason, detail)


class LdapRejected(Reasoned, Unauthorized):
    """The person's credentials do not sign in (empty password, no such user, two entries, wrong password):
    the message never says which; ``reason`` does, for the audit log."""

    default_detail = INVALID_CREDENTIALS

    def __init__(self, step: Step, reason: str) -> None:
        self.step = step
        super().__init__(reason, INVALID_CREDENTIALS)


@dataclass(frozen=True, slots=True)
class LdapEntry:
    """The user's entry: its DN, the attributes read (names as configured, values as text) and its groups."""

    dn: str
    attributes: Mapping[str, list[str]]
    groups: list[str] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        values = self.attributes.get(name) or []
        return values[0].strip()[:320] if values and values[0].strip() else None


def _tls(settings: LdapSettings) -> Any:
    from ldap3 import Tls

    return Tls(
        validate=ssl.CERT_REQUIRED if settings.verify_certificate else ssl.CERT_NONE,
        version=ssl.PROTOCOL_TLS_CLIENT,
        ca_certs_data=settings.ca_bundle or None,
    )


class LdapDirectory:
    """The directory of one LDAP option, with its service account's password (or ``None``: anonymous)."""

    def __init__(self, settings: LdapSettings, bind_password: str | None) -> None:
        self.settings = settings
        self._bind_password = bind_password

    def __repr__(self) -> str:
        return f"LdapDirectory({self.settings.url!r})"

    # -- connections ---------------------------------------------------------------------------------

    def _server(self) -> Any:
        from ldap3 import NONE, Server

        settings = self.settings
        return Server(
            settings.host, port=settings.port, use_ssl=settings.tls == "ldaps", tls=_tls(settings),
            get_info=NONE, connect_timeout=settings.timeout,
        )  # fmt: skip

    @contextmanager
    def _connection(self, trace: list[StepResult], user: str | None, password: str | None) -> Iterator[Any]:
        """An open connection (TLS started as configured), not bound yet."""
        from ldap3 import ANONYMOUS, SIMPLE, Connection
        from ldap3.core.exceptions import LDAPException

        settings = self.settings
        self._reach(trace)
        connection = Connection(
            self._server(), user=user, password=password, authentication=SIMPLE if user else ANONYMOUS,
            receive_timeout=settings.timeout, read_only=True, raise_exceptions=False, auto_referrals=False,
        )  # fmt: skip
        try:
            try:
                connection.open(read_server_info=False)
                if settings.tls == "starttls" and not connection.start_tls(read_server_info=False):
                    raise LDAPException(_result(connection) or "the server refused StartTLS")
            except LDAPException as exc:
                step: Step = "tls" if settings.tls != "none" else "connect"
                raise LdapStepFailed(step, f"ldap_{step}_failed", self._tls_detail(exc)) from None
            if settings.tls != "none":
                trace.append(StepResult("tls", True, self._tls_done()))
            yield connection
        finally:
            with suppress(LDAPException):  # a connection that never opened, or was closed by the server
                connection.unbind()

    def _reach(self, trace: list[StepResult]) -> None:
        settings = self.settings
        try:
            with socket.create_connection((settings.host, settings.port), timeout=settings.timeout):
                pass
        except TimeoutError:
            raise LdapStepFailed(
                "connect", "ldap_unreachable", f"{settings.url} did not answer within {settings.timeout} s."
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise LdapStepFailed(
                "connect", "ldap_unreachable", f"{settings.url} cannot be reached: {reason}. Check the host and port."
            ) from None
        trace.append(StepResult("connect", True, f"Connected to {settings.url}."))

    def _tls_detail(self, exc: Exception) -> str:
        mode = {"ldaps": "LDAPS", "starttls": "StartTLS", "none": "LDAP"}[self.settings.tls]
        text = str(exc)
        found = _SSL_ERROR.search(text)
        text = (found.group().strip().rstrip(",") if found else text)[:300]
        hint = ""
        if "certificate" in text.lower() or "verify" in text.lower() or "hostname" in text.lower():
            hint = " Check the CA bundle (or the system's CAs) and that the certificate names the host."
        return f"{mode} with {self.settings.url} failed: {text}.{hint}"

    def _tls_done(self) -> str:
        verified = "certificate verified" if self.settings.verify_certificate else "certificate NOT verified"
        return f"{'LDAPS' if self.settings.tls == 'ldaps' else 'StartTLS'} established ({verified})."

    def _service_bind(self, connection: Any, trace: list[StepResult]) -> None:
        bind_dn = self.settings.bind_dn
        if not bind_dn:
            trace.append(StepResult("service_bind", True, "No bind DN: searching anonymously."))
            return
        if not connection.bind():
            raise LdapStepFailed(
                "service_bind", "ldap_service_bind_failed",
                f"Binding as {bind_dn} failed ({_result(connection)}): check the bind DN and its password.",
            )  # fmt: skip
        trace.append(StepResult("service_bind", True, f"Bound as {bind_dn}."))

    # -- a sign-in ------------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, trace: list[StepResult] | None = None) -> LdapEntry:
        """Find ``username``'s entry and bind as it with ``password`` (see :mod:`gatehouse.login.ldap`);
        :class:`LdapRejected` or :class:`LdapStepFailed` otherwise. An empty password or username is refused
        before any connection (a simple bind with an empty password is an anonymous bind that succeeds)."""
        trace = [] if trace is None else trace
        if not password:
            raise LdapRejected("user_bind", "empty_password")
        if not username.strip():
            raise LdapRejected("search", "empty_username")
        password_for_bind = self._bind_password if self.settings.bind_dn else None
        with self._connection(trace, self.settings.bind_dn or None, password_for_bind) as connection:
            self._service_bind(connection, trace)
            entry = self._find(connection, username.strip(), trace)
            self._user_bind(entry.dn, password, trace)
            groups = self._groups(connection, entry, trace)
        return LdapEntry(entry.dn, entry.attributes, groups)

    def _find(self, connection: Any, username: str, trace: list[StepResult]) -> LdapEntry:
        from ldap3 import SUBTREE

        settings = self.settings
        search = user_filter(settings.identifier, username, settings.user_filter)
        ok = connection.search(
            settings.base_dn, search, SUBTREE, attributes=settings.attributes(), size_limit=2,
            time_limit=settings.timeout,
        )  # fmt: skip
        entries = [item for item in connection.response or [] if item.get("type") == "searchResEntry"]
        if not ok and not entries and _code(connection) not in (0, 4, 32):  # 4: size limit; 32: no such object
            raise LdapStepFailed(
                "search", "ldap_search_failed", f"The search under {settings.base_dn} failed ({_result(connection)})."
            )
        if not entries:
            trace.append(StepResult("search", False, f"No entry matches {search} under {settings.base_dn}."))
            raise LdapRejected("search", "user_not_found")
        if len(entries) > 1:
            trace.append(StepResult("search", False, f"More than one entry matches {search}: refused."))
            raise LdapRejected("search", "ambiguous_user")
        found = entries[0]
        trace.append(StepResult("search", True, f"Found {found['dn']}."))
        return LdapEntry(str(found["dn"]), _attributes(found.get("attributes") or {}, settings.attributes()))

    def _user_bind(self, dn: str, password: str, trace: list[StepResult]) -> None:
        with self._connection([], dn, password) as connection:
            if not connection.bind():
                trace.append(StepResult("user_bind", False, f"Binding as {dn} failed ({_result(connection)})."))
                raise LdapRejected("user_bind", "wrong_password")
        trace.append(StepResult("user_bind", True, f"Bound as {dn} with the password given."))

    def _groups(self, connection: Any, entry: LdapEntry, trace: list[StepResult]) -> list[str]:
        from ldap3 import SUBTREE

        settings = self.settings
        groups = list(entry.attributes.get(settings.groups_attribute, []))
        if settings.group_search_base:
            search = member_filter(entry.dn)
            connection.search(
                settings.group_search_base, search, SUBTREE, attributes=["cn"], size_limit=MAX_GROUPS,
                time_limit=settings.timeout,
            )  # fmt: skip
            if _code(connection) not in (0, 4, 32):
                raise LdapStepFailed(
                    "groups", "ldap_group_search_failed",
                    f"The group search under {settings.group_search_base} failed ({_result(connection)}).",
                )  # fmt: skip
            found = [str(item["dn"]) for item in connection.response or [] if item.get("type") == "searchResEntry"]
            groups.extend(dn for dn in found if dn not in groups)
        trace.append(StepResult("groups", True, f"{len(groups)} group{'s' if len(groups) != 1 else ''}."))
        return groups[:MAX_GROUPS]

    # -- the connection test --------------------------------------------------------------------------

    def test_connection(self) -> list[StepResult]:
        """Connect, start TLS, bind as the service account and read the base DN: the steps passed, and the
        one that failed last (never raises for the directory's answers)."""
        from ldap3 import BASE

        trace: list[StepResult] = []

        def run() -> None:
            settings = self.settings
            with self._connection(trace, settings.bind_dn or None, self._bind_password) as connection:
                self._service_bind(connection, trace)
                if not connection.search(settings.base_dn, "(objectClass=*)", BASE, attributes=["1.1"]):
                    raise LdapStepFailed(
                        "search", "ldap_base_unreadable",
                        f"The base DN {settings.base_dn} cannot be read ({_result(connection)}).",
                    )  # fmt: skip
                trace.append(StepResult("search", True, f"The base DN {settings.base_dn} is readable."))

        return _traced(run, trace)

    def test_sign_in(self, username: str, password: str) -> tuple[list[StepResult], LdapEntry | None]:
        """A sign-in's steps for ``username`` (the password is used for the bind and forgotten)."""
        trace: list[StepResult] = []
        found: list[LdapEntry] = []
        _traced(lambda: found.append(self.authenticate(username, password, trace)), trace)
        return trace, (found[0] if found else None)


def _traced(work: Callable[[], None], trace: list[StepResult]) -> list[StepResult]:
    try:
        work()
    except LdapStepFailed as exc:
        trace.append(StepResult(exc.step, False, exc.detail))
    except LdapRejected as exc:
        if not trace or trace[-1].ok:
            trace.append(StepResult(exc.step, False, _REJECTIONS.get(exc.reason, exc.reason)))
    return trace


_REJECTIONS: Final = {
    "empty_password": "An empty password is refused before any bind (it would be an anonymous bind).",
    "empty_username": "Enter a username.",
}


def _attributes(raw: Mapping[str, Any], wanted: list[str]) -> dict[str, list[str]]:
    """The wanted attributes as lists of text (names as configured; the server's spelling may differ)."""
    by_lower = {str(name).lower(): value for name, value in raw.items()}
    found: dict[str, list[str]] = {}
    for name in wanted:
        value = by_lower.get(name.lower())
        values = value if isinstance(value, list) else [] if value is None else [value]
        texts = [_text(item) for item in values]
        found[name] = [text for text in texts if text is not None and len(text) <= MAX_VALUE]
    return found


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None if value is None else str(value)


def _code(connection: Any) -> int:
    result = connection.result or {}
    return int(result.get("result", 0) or 0)


def _result(connection: Any) -> str:
    result = connection.result or {}
    description, message = result.get("description") or "", (result.get("message") or "").strip()
    return f"{description}: {message}"[:300] if message else str(description)[:300]
