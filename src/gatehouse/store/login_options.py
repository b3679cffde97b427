"""SSO login options (OpenID Connect, LDAP, SAML 2.0): their storage, and pure checks of what is stored.

Functions take an open connection and never commit. Names are unique ignoring case (a unique index on
``name_lower`` decides races: :class:`Conflict`); :func:`update` takes an expected version, so two admins
editing one option cannot silently overwrite each other (:class:`PreconditionFailed`). Deleting an option
deletes its user links and its sign-ins in flight (foreign key cascades).

The option's secret (the OIDC client secret, the LDAP bind password, the SAML SP key) is either stored
encrypted (``client_secret_encrypted``, made by
:class:`gatehouse.secrets_box.SecretBox` with the option's id as associated data) or named by an
environment variable (``client_secret_env``), never both (a CHECK constraint). To edit an option, start
from :meth:`LoginOption.write` so the stored secret is kept unless replaced.

The built-in username/password option is the setting :data:`PASSWORD_LOGIN_ENABLED` (on unless set). It
may be off only while some other option (of any kind) is enabled: :func:`set_password_login`, :func:`update` and
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

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, NotFound, PreconditionFailed
from gatehouse.login.options import LoginOption, LoginOptionWrite
from gatehouse.store import settings
from gatehouse.store.records import as_utc
from gatehouse.store.tables import app_settings, login_options
from gatehouse.store.write_outcomes import not_written, read_back, refused_as

PASSWORD_LOGIN_ENABLED: Final = "login.password_enabled"
"""Whether the built-in username/password option is offered (default on)."""


def _to_option(row: Any) -> LoginOption:
    return LoginOption(
        **{key: getattr(row, key) for key in LoginOption.__dataclass_fields__ if key not in ("created", "updated")},
        created=as_utc(row.created),
        updated=as_utc(row.updated),
    )


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A login option named '{name.strip()}' already exists (names ignore case).")


def _gone() -> NotFound:
    return NotFound("There is no such login option. It may have been deleted.")


def insert(connection: Connection, option_id: str, write: LoginOptionWrite, now: datetime) -> LoginOption:
    """Insert a login option (of ``write.kind``); a taken name (in any case) raises :class:`Conflict`."""
    values = {**write.columns(), "id": option_id, "kind": write.kind, "created": now, "updated": now, "version": 1}
    with refused_as(connection, _name_taken(write.name)):
        connection.execute(login_options.insert().values(values))
    return read_back(get, connection, option_id)


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
    with refused_as(connection, _name_taken(write.name)):
        result = connection.execute(
            login_options.update().where(condition).values(**columns, updated=now, version=login_options.c.version + 1)
        )
        if result.rowcount == 1 and not write.enabled:
            _require_some_sign_in(connection)
    if result.rowcount != 1:
        raise not_written(
            get(connection, option_id),
            _gone(),
            PreconditionFailed("The login option has changed since you loaded it: reload it and try again."),
        )
    return read_back(get, connection, option_id)


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
        raise _gone()


# ------------------------------------------------------------------------------------------ password sign-in


def password_login_enabled(connection: Connection) -> bool:
    """Whether the built-in username/password option is offered."""
    return bool(settings.get(connection, PASSWORD_LOGIN_ENABLED, True))


def set_password_login(connection: Connection, enabled: bool) -> None:
    """Turn password sign-in on or off; off needs another enabled option (:class:`Conflict` otherwise)."""
    try:
        with connection.begin_nested():
            settings.put(connection, PASSWORD_LOGIN_ENABLED, enabled)
            if not enabled:
                _require_some_sign_in(connection)
    except Conflict as exc:
        raise Conflict(
            "Password sign-in cannot be turned off while no other login option is enabled: enable an OpenID "
            "Connect, LDAP or SAML login option first, so that people can still sign in."
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
