"""SSO login options (OpenID Connect): their storage, and pure checks of what is stored.

Functions take an open connection and never commit. Names are unique ignoring case (a unique index on
``name_lower`` decides races: :class:`Conflict`); :func:`update` takes an expected version, so two admins
editing one option cannot silently overwrite each other (:class:`PreconditionFailed`). Deleting an option
deletes its user links and its sign-ins in flight (foreign key cascades).

The client secret is either stored encrypted (``client_secret_encrypted``, made by
:class:`gatehouse.secrets_box.SecretBox` with the option's id as associated data) or named by an
environment variable (``client_secret_env``), never both (a CHECK constraint). To edit an option, start
from :meth:`LoginOption.write` so the stored secret is kept unless replaced.

The built-in username/password option is the setting :data:`PASSWORD_LOGIN_ENABLED` (on unless set). It
may be off only while some OIDC option is enabled: :func:`set_password_login`, :func:`update` and
:func:`delete` refuse a change that would leave no way to sign in (``gatehouse login-options
enable-password`` is the way back in when the IdP is down). On PostgreSQL they lock the setting's row, then
the enabled options, in that order, so concurrent changes cannot together disable everything.

**Mapped roles and boundaries.** SSO role mapping stores its grants as rows of ``user_roles`` and
``user_boundaries`` with ``source = 'sso'`` (:data:`gatehouse.store.roles.SSO`), beside the ``manual``
rows an administrator creates; roles held through SCIM group bindings are not rows of the user at all. At
each SSO login :func:`gatehouse.store.sso_links.set_mapped` replaces exactly the user's ``sso`` rows with
what the option's rules give, so manual and group grants are never touched (a role held both ways keeps
both rows). Mapped grants belong to the user, not to an option: the rules of the option the user last
signed in with decide them, and deleting an option leaves them until the next SSO login.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from gatehouse.sso.mapping import Rule, parse_rules
from gatehouse.store import settings
from gatehouse.store.records import as_utc
from gatehouse.store.tables import app_settings, login_options

KIND_OIDC: Final = "oidc"
PASSWORD_LOGIN_ENABLED: Final = "login.password_enabled"
"""Whether the built-in username/password option is offered (default on)."""

DEFAULT_SCOPES: Final = "openid profile email"
MAX_SCOPES: Final = 50
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,200}")  # RFC 6749 §3.3 scope-token
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_CLAIMS: Final = ("username_claim", "email_claim", "name_claim", "subject_claim")
_LIMITS: Final = {"name": 100, "issuer": 500, "client_id": 255, **dict.fromkeys(_CLAIMS, 100)}


def parse_scopes(text: str) -> str:
    """Scopes as stored: space-separated tokens (RFC 6749 §3.3), duplicates dropped, ``openid`` required
    (OIDC Core §3.1.2.1). Raises :class:`InvalidInput`."""
    tokens = list(dict.fromkeys(text.split()))
    bad = next((token for token in tokens if not _SCOPE_TOKEN.fullmatch(token)), None)
    if bad is not None:
        raise InvalidInput(f"Scope {bad[:40]!r} is not valid: scopes are printable characters without quotes or \\.")
    if len(tokens) > MAX_SCOPES:
        raise InvalidInput(f"At most {MAX_SCOPES} scopes are allowed.")
    if "openid" not in tokens:
        raise InvalidInput("The scopes must include 'openid' (OpenID Connect requires it).")
    return " ".join(tokens)


def check_env_name(name: str) -> str:
    """The name of an environment variable holding a client secret, checked."""
    if not _ENV_NAME.fullmatch(name):
        raise InvalidInput("The environment variable name must be letters, digits and '_' (at most 100).")
    return name


def dump_rules(rules: Sequence[Rule | Mapping[str, object]]) -> str:
    """Role-mapping rules as stored: validated by :func:`parse_rules` (:class:`MappingError` otherwise)."""
    parsed = parse_rules([rule.to_json() if isinstance(rule, Rule) else dict(rule) for rule in rules])
    return orjson.dumps([rule.to_json() for rule in parsed]).decode()


@dataclass(frozen=True, slots=True)
class LoginOptionWrite:
    """The editable fields of a login option (checked by :meth:`columns`)."""

    name: str
    issuer: str
    client_id: str
    scopes: str = DEFAULT_SCOPES
    enabled: bool = True
    client_secret_encrypted: str | None = field(default=None, repr=False)
    client_secret_env: str | None = None
    username_claim: str = "preferred_username"
    email_claim: str = "email"
    name_claim: str = "name"
    subject_claim: str = "sub"
    end_session: bool = False
    scim_only: bool | None = None
    role_rules: Sequence[Rule | Mapping[str, object]] = ()

    def columns(self) -> dict[str, Any]:
        """The row's columns; a value that is not acceptable raises :class:`InvalidInput`."""
        values: dict[str, Any] = {key: getattr(self, key).strip() for key in _LIMITS}
        for key, limit in _LIMITS.items():
            if not values[key] or len(values[key]) > limit:
                raise InvalidInput(f"The {key.replace('_', ' ')} must be 1 to {limit} characters.")
        if self.client_secret_encrypted is not None and self.client_secret_env is not None:
            raise InvalidInput("Store the client secret or name its environment variable, not both.")
        return {
            **values,
            "name_lower": values["name"].lower(),
            "enabled": self.enabled,
            "client_secret_encrypted": self.client_secret_encrypted,
            "client_secret_env": None if self.client_secret_env is None else check_env_name(self.client_secret_env),
            "scopes": parse_scopes(self.scopes),
            "end_session": self.end_session,
            "scim_only": self.scim_only,
            "role_rules": dump_rules(self.role_rules),
        }


@dataclass(frozen=True, slots=True)
class LoginOption:
    """A login option as stored; ``role_rules`` is the stored JSON (:meth:`rules` parses it)."""

    id: str
    kind: str
    name: str
    enabled: bool
    issuer: str
    client_id: str
    client_secret_encrypted: str | None = field(repr=False)
    client_secret_env: str | None
    scopes: str
    username_claim: str
    email_claim: str
    name_claim: str
    subject_claim: str
    end_session: bool
    scim_only: bool | None
    role_rules: str
    created: datetime
    updated: datetime
    version: int

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(self.scopes.split())

    def rules(self) -> tuple[Rule, ...]:
        """The role and boundary mapping rules, in order."""
        return parse_rules(orjson.loads(self.role_rules))

    def effective_scim_only(self, scim_enabled: bool) -> bool:
        """Whether only SCIM-provisioned users may sign in (unset: whether SCIM is enabled)."""
        return scim_enabled if self.scim_only is None else self.scim_only

    def write(self) -> LoginOptionWrite:
        """The current editable fields, to change with :func:`dataclasses.replace`."""
        return LoginOptionWrite(
            self.name, self.issuer, self.client_id, self.scopes, self.enabled, self.client_secret_encrypted,
            self.client_secret_env, self.username_claim, self.email_claim, self.name_claim, self.subject_claim,
            self.end_session, self.scim_only, self.rules(),
        )  # fmt: skip


def _to_option(row: Any) -> LoginOption:
    return LoginOption(
        **{key: getattr(row, key) for key in LoginOption.__dataclass_fields__ if key not in ("created", "updated")},
        created=as_utc(row.created),
        updated=as_utc(row.updated),
    )


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A login option named '{name.strip()}' already exists (names ignore case).")


def insert(connection: Connection, option_id: str, write: LoginOptionWrite, now: datetime) -> LoginOption:
    """Insert an OIDC login option; a taken name (in any case) raises :class:`Conflict`."""
    values = {**write.columns(), "id": option_id, "kind": KIND_OIDC, "created": now, "updated": now, "version": 1}
    try:
        with connection.begin_nested():
            connection.execute(login_options.insert().values(values))
    except IntegrityError as exc:
        raise _name_taken(write.name) from exc
    stored = get(connection, option_id)
    assert stored is not None
    return stored


def get(connection: Connection, option_id: str) -> LoginOption | None:
    """The login option with this id, or ``None``."""
    row = connection.execute(sa.select(login_options).where(login_options.c.id == option_id)).first()
    return _to_option(row) if row else None


def list_all(connection: Connection) -> list[LoginOption]:
    """Every login option, by name."""
    rows = connection.execute(sa.select(login_options).order_by(login_options.c.name_lower, login_options.c.id))
    return [_to_option(row) for row in rows]


def enabled_options(connection: Connection) -> list[LoginOption]:
    """The enabled login options, by name (the sign-in page's buttons)."""
    rows = connection.execute(
        sa.select(login_options)
        .where(login_options.c.enabled == sa.true())
        .order_by(login_options.c.name_lower, login_options.c.id)
    )
    return [_to_option(row) for row in rows]


def update(
    connection: Connection, option_id: str, write: LoginOptionWrite, now: datetime, expected_version: int | None = None
) -> LoginOption:
    """Replace an option's editable fields (at ``expected_version`` if given, atomically); bumps the version.

    Disabling the last enabled option while password sign-in is off raises :class:`Conflict`.
    """
    columns = write.columns()
    condition = login_options.c.id == option_id
    if expected_version is not None:
        condition = sa.and_(condition, login_options.c.version == expected_version)
    _lock_password_setting(connection)
    try:
        with connection.begin_nested():
            result = connection.execute(
                login_options.update()
                .where(condition)
                .values(**columns, updated=now, version=login_options.c.version + 1)
            )
            if result.rowcount == 1 and not write.enabled:
                _require_some_sign_in(connection)
    except IntegrityError as exc:
        raise _name_taken(write.name) from exc
    if result.rowcount != 1:
        if get(connection, option_id) is None:
            raise NotFound("There is no such login option. It may have been deleted.")
        raise PreconditionFailed("The login option has changed since you loaded it: reload it and try again.")
    stored = get(connection, option_id)
    assert stored is not None
    return stored


def delete(connection: Connection, option_id: str) -> None:
    """Delete an option with its links and sign-ins in flight; :class:`NotFound` if there is none.

    Deleting the last enabled option while password sign-in is off raises :class:`Conflict`.
    """
    _lock_password_setting(connection)
    with connection.begin_nested():
        result = connection.execute(login_options.delete().where(login_options.c.id == option_id))
        if result.rowcount == 1:
            _require_some_sign_in(connection)
    if result.rowcount != 1:
        raise NotFound("There is no such login option. It may have been deleted.")


# ------------------------------------------------------------------------------------------ password sign-in


def password_login_enabled(connection: Connection) -> bool:
    """Whether the built-in username/password option is offered."""
    return bool(settings.get(connection, PASSWORD_LOGIN_ENABLED, True))


def set_password_login(connection: Connection, enabled: bool) -> None:
    """Turn password sign-in on or off; off needs an enabled OIDC option (:class:`Conflict` otherwise)."""
    try:
        with connection.begin_nested():
            settings.put(connection, PASSWORD_LOGIN_ENABLED, enabled)
            if not enabled:
                _require_some_sign_in(connection)
    except Conflict as exc:
        raise Conflict(
            "Password sign-in cannot be turned off while no other login option is enabled: enable an OpenID "
            "Connect login option first, so that people can still sign in."
        ) from exc


def _lock_password_setting(connection: Connection) -> None:
    """Lock the password setting's row (PostgreSQL) before an option changes: see the module's notes."""
    connection.execute(
        sa.select(app_settings.c.key).where(app_settings.c.key == PASSWORD_LOGIN_ENABLED).with_for_update()
    ).first()


def _require_some_sign_in(connection: Connection) -> None:
    if password_login_enabled(connection):
        return
    enabled = connection.execute(
        sa.select(login_options.c.id).where(login_options.c.enabled == sa.true()).with_for_update()
    ).first()
    if enabled is None:
        raise Conflict(
            "Password sign-in is disabled, so at least one login option must stay enabled. "
            "Enable password sign-in first."
        )
