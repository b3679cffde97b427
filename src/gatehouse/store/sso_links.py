"""Links of users to IdP accounts (login option, subject), and the user's SSO-mapped grants.

Functions take an open connection and never commit. A subject (OIDC Core §5.7: ``sub`` is the only
stable identifier of an end-user at a provider) signs in as one user; a user has at most one subject
per option. Both are unique indexes, so two first logins racing on one subject cannot link twice: the
loser gets :class:`Conflict`. Deleting the option or the user deletes the link.

:func:`set_mapped` stores the outcome of role mapping (see :mod:`gatehouse.store.login_options`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import Conflict, NotFound
from gatehouse.store import policies, roles
from gatehouse.store.records import as_utc, optional_utc
from gatehouse.store.tables import login_options, sso_links, user_roles
from gatehouse.store.write_outcomes import read_back


@dataclass(frozen=True, slots=True)
class SsoLink:
    """A user's link to a subject at a login option (with the option's name, for display)."""

    option_id: str
    option_name: str
    subject: str
    user_id: str
    created: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class Grants:
    """Role ids and boundary (permission policy) ids."""

    roles: frozenset[str] = frozenset()
    boundaries: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.roles or self.boundaries)


_COLUMNS = (
    sso_links.c.option_id,
    login_options.c.name.label("option_name"),
    sso_links.c.subject,
    sso_links.c.user_id,
    sso_links.c.created,
    sso_links.c.last_login_at,
)


def _select() -> sa.Select[Any]:
    return sa.select(*_COLUMNS).join(login_options, login_options.c.id == sso_links.c.option_id)


def _to_link(row: Any) -> SsoLink:
    last = row.last_login_at
    return SsoLink(
        row.option_id,
        row.option_name,
        row.subject,
        row.user_id,
        as_utc(row.created),
        optional_utc(last),
    )


def find(connection: Connection, option_id: str, subject: str) -> SsoLink | None:
    """The link of this subject at this option, or ``None`` (one primary-key look-up)."""
    row = connection.execute(
        _select().where(sso_links.c.option_id == option_id, sso_links.c.subject == subject)
    ).first()
    return _to_link(row) if row else None


def find_user_link(connection: Connection, option_id: str, user_id: str) -> SsoLink | None:
    """The user's link at this option, or ``None``."""
    row = connection.execute(
        _select().where(sso_links.c.option_id == option_id, sso_links.c.user_id == user_id)
    ).first()
    return _to_link(row) if row else None


def link(connection: Connection, option_id: str, subject: str, user_id: str, now: datetime) -> SsoLink:
    """Link a subject at an option to a user.

    :class:`Conflict` if the subject is linked already, or the user already has a subject at this option;
    :class:`NotFound` if the option or the user does not exist.
    """
    values = {"option_id": option_id, "subject": subject, "user_id": user_id, "created": now, "last_login_at": None}
    try:
        with connection.begin_nested():
            connection.execute(sso_links.insert().values(values))
    except IntegrityError as exc:
        if find(connection, option_id, subject) is not None:
            raise Conflict("This identity provider account is already linked to a user.") from exc
        if find_user_link(connection, option_id, user_id) is not None:
            raise Conflict("This user is already linked to another account of this login option.") from exc
        raise NotFound("The login option or the user does not exist.") from exc
    return read_back(find, connection, option_id, subject)


def touch(connection: Connection, option_id: str, subject: str, now: datetime) -> bool:
    """Record a sign-in through the link; ``False`` if there is no such link."""
    result = connection.execute(
        sso_links.update()
        .where(sso_links.c.option_id == option_id, sso_links.c.subject == subject)
        .values(last_login_at=now)
    )
    return bool(result.rowcount)


def links_of_user(connection: Connection, user_id: str) -> list[SsoLink]:
    """A user's links, by option name."""
    rows = connection.execute(
        _select().where(sso_links.c.user_id == user_id).order_by(login_options.c.name_lower, sso_links.c.option_id)
    )
    return [_to_link(row) for row in rows]


def unlink(connection: Connection, option_id: str, subject: str) -> bool:
    """Remove a link; ``False`` if there was none. The user's next sign-in through it is matched afresh."""
    result = connection.execute(
        sso_links.delete().where(sso_links.c.option_id == option_id, sso_links.c.subject == subject)
    )
    return bool(result.rowcount)


# ------------------------------------------------------------------------------------------ mapped grants


def mapped_of(connection: Connection, user_id: str) -> Grants:
    """The roles and boundaries the user holds from SSO role mapping (``source = 'sso'``)."""
    role_ids = connection.execute(
        sa.select(user_roles.c.role_id).where(user_roles.c.user_id == user_id, user_roles.c.source == roles.SSO)
    ).scalars()
    boundaries = policies.boundaries_of(connection, [user_id])[user_id]
    return Grants(frozenset(role_ids), frozenset(b.policy_id for b in boundaries if b.source == roles.SSO))


def set_mapped(
    connection: Connection,
    user_id: str,
    role_ids: Iterable[str],
    boundary_ids: Iterable[str],
    by: str | None,
    now: datetime,
) -> tuple[Grants, Grants]:
    """Make the user's SSO-mapped roles and boundaries exactly these; returns (granted, removed).

    Only rows with ``source = 'sso'`` change: roles and boundaries granted by hand, and roles held
    through group bindings, stay. Grants that stay keep their grant time. Ids that name no role or
    policy any more (a rule can outlive its target) are skipped, and so are built-in roles (the Super
    Admin role is held only through ``users.super_admin``, never granted by mapping). Granting to a
    missing user raises :class:`NotFound`.
    """
    wanted_roles = [role.id for role in roles.get_many(connection, role_ids).values() if not role.built_in]
    wanted_boundaries = list(policies.get_many(connection, boundary_ids))
    current = mapped_of(connection, user_id)
    added_roles = sorted(set(wanted_roles) - current.roles)
    removed_roles = sorted(current.roles - set(wanted_roles))
    for role_id in removed_roles:
        roles.unassign(connection, user_id, role_id, roles.SSO)
    for role_id in added_roles:
        roles.assign(connection, user_id, role_id, roles.SSO, by, now)
    added_boundaries, removed_boundaries = policies.set_boundaries(
        connection, user_id, sorted(wanted_boundaries), roles.SSO, by, now
    )
    return (
        Grants(frozenset(added_roles), frozenset(added_boundaries)),
        Grants(frozenset(removed_roles), frozenset(removed_boundaries)),
    )
