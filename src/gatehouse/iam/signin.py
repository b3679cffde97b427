"""Password sign-in to the dashboard: credentials, throttling and the session it opens.

Failed attempts are counted per account and per client IP in their own transaction, so the counts
survive the failed request; past the limit the caller gets 429 until the lock expires. The password
is checked (Argon2) even for unknown accounts, so timing does not reveal which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gatehouse.errors import Forbidden, TooManyRequests, Unauthorized
from gatehouse.metrics import LOGIN_FAILURES
from gatehouse.passwords import rehashed, verify_password
from gatehouse.store import login_options, sessions, throttle, users
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow
from gatehouse.store.sessions import SessionUser

IP_FACTOR = 10

SESSION_COOKIE = "gatehouse_session"
"""The cookie that carries a server-side session's id: set by the dashboard's sign-in and the API's
``/api/auth/sign-in``, accepted by both surfaces."""


class InvalidCredentials(Unauthorized):
    """Wrong username/email or password (never says which)."""

    default_detail = "Invalid username or password."


class AccountDeactivated(Forbidden):
    """The account exists and the password is right, but the user is deactivated."""

    default_detail = "This account is deactivated. Ask an administrator to reactivate it."


class PasswordSignInDisabled(Forbidden):
    """The built-in username/password option is turned off (Organization → Settings → Login Options)."""

    default_detail = (
        "Password sign-in is turned off: sign in with your organization's identity provider. "
        "(Locked out? On the server, run 'gatehouse login-options enable-password'.)"
    )


class SignInThrottled(TooManyRequests):
    """Too many failed sign-ins for this account or from this address."""

    default_detail = "Too many failed sign-in attempts. Wait a few minutes, then try again."


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """Limits and lifetimes (from the settings)."""

    max_failures: int
    window: timedelta
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A session just opened: the cookie value and whether the password must be changed first."""

    cookie: str
    user_id: str
    must_change_password: bool
    user_name: str = ""


def _keys(identifier: str, ip: str | None) -> tuple[str, str | None]:
    return f"user:{identifier.strip().lower()[:280]}", (f"ip:{ip}" if ip else None)


def sign_in(
    db: Database, policy: SignInPolicy, identifier: str, password: str, ip: str | None, agent: str | None
) -> OpenedSession:
    """Check the credentials and open a session, or raise (401, 403 — deactivated, or password sign-in turned
    off — or 429)."""
    user_key, ip_key = _keys(identifier, ip)
    now = utcnow()
    with db.snapshot() as connection:
        if not login_options.password_login_enabled(connection):
            raise PasswordSignInDisabled()
        if throttle.locked_until(connection, [k for k in (user_key, ip_key) if k], now):
            raise SignInThrottled()
        account = users.sign_in_account(connection, identifier)
    valid = verify_password(account.password_hash if account else None, password)
    if account is None or not valid:
        _count_failure(db, policy, user_key, ip_key, now)
        LOGIN_FAILURES.labels("password").inc()
        raise InvalidCredentials()
    if not account.active:
        raise AccountDeactivated()
    old_hash = account.password_hash or ""
    fresher = rehashed(old_hash, password)  # hashed before the transaction: it takes tens of milliseconds
    with db.transaction() as connection:
        throttle.clear(connection, user_key)
        cookie, _ = sessions.create(connection, account.id, now, policy.absolute, ip, agent)
        users.record_sign_in(connection, account.id, now)
        if fresher is not None:
            users.replace_password_hash(connection, account.id, old_hash, fresher)
    return OpenedSession(cookie, account.id, account.must_change_password, account.user_name)


def throttle_keys(identifier: str, ip: str | None) -> tuple[str, str | None]:
    """The throttle's keys of a sign-in attempt: the account typed and the client address. Every password
    sign-in shares them: Gatehouse's own and an LDAP option's (the same name is locked out of both)."""
    return _keys(identifier, ip)


def throttled(connection: Connection, keys: tuple[str, str | None], now: datetime) -> bool:
    """Whether an attempt with these keys is locked out now."""
    return throttle.locked_until(connection, [key for key in keys if key], now) is not None


def count_failure(db: Database, policy: SignInPolicy, keys: tuple[str, str | None], now: datetime) -> None:
    """Count a failed LDAP attempt (in its own committed transaction)."""
    _count_failure(db, policy, keys[0], keys[1], now)
    LOGIN_FAILURES.labels("ldap").inc()


def clear_failures(connection: Connection, keys: tuple[str, str | None]) -> None:
    """Forget the account's failures after a successful sign-in."""
    throttle.clear(connection, keys[0])


def _count_failure(db: Database, policy: SignInPolicy, user_key: str, ip_key: str | None, now: datetime) -> None:
    """Count a failure in its own committed transaction."""
    with db.transaction() as connection:
        throttle.record_failure(connection, user_key, policy.max_failures, policy.window, now)
        if ip_key:
            throttle.record_failure(connection, ip_key, policy.max_failures * IP_FACTOR, policy.window, now)


def active_sessions(connection: Connection, idle: timedelta) -> int:
    """How many dashboard sessions are open now (for the ``gatehouse_sessions_active`` metric)."""
    return sessions.active_count(connection, utcnow(), idle)


def opened_session(connection: Connection, opened: OpenedSession, idle: timedelta) -> SessionUser:
    """The session :func:`sign_in` just opened, read back; :class:`InvalidCredentials` if it is already gone
    (its user deactivated in the meantime)."""
    session = sessions.lookup(connection, opened.cookie, utcnow(), idle)
    if session is None:
        raise InvalidCredentials()
    return session


def sign_out(connection: Connection, session: SessionUser) -> None:
    """End the signed-in user's session (the dashboard's sign-out and the API's): its cookie stops working."""
    sessions.end(connection, session.session_hash)
