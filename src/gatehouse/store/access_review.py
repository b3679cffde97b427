"""The access review's reads: users in a scope, a page at a time, with everything they hold; every active user's
grant set at once (for "who may do this?"); and the reviews recorded.

Functions take an open connection and never commit. A scope is a :class:`ReviewQuery`: the filters are
``EXISTS`` clauses over the ``user_id`` and ``role_id`` indexes, the page is a keyset on the lower-cased
username (unique), and a page's details are read in four statements for all its users. Expired grants count
nowhere (:func:`gatehouse.store.holdings.unexpired`).

:func:`grant_sets` reads, for every active user, the roles they hold (directly, by request, by SSO mapping or
through groups) and their boundaries, in four plain scans through the DB-API cursor (no ORM rows): 100,000 users
are a few hundred thousand small rows, grouped in Python by identical (roles, boundaries).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.batches import in_chunks
from gatehouse.store.governance_tables import access_reviews
from gatehouse.store.holdings import held_directly, held_through_groups, unexpired, with_policies
from gatehouse.store.policies import PolicyVersion
from gatehouse.store.records import UserBasics, as_utc, optional_utc
from gatehouse.store.tables import (
    api_tokens,
    group_members,
    group_role_bindings,
    groups,
    permission_policies,
    roles,
    user_boundaries,
    user_roles,
    users,
)

ORIGINS: Final = ("direct", "request", "sso", "group", "timebound", "super_admin")
"""What a scope may filter grants by: assigned by hand, by an approved request, mapped at SSO sign-in, through a
group, any time-bound grant, or a Super Admin account."""
MAX_PAGE: Final = 1_000


@dataclass(frozen=True, slots=True)
class ReviewQuery:
    """A scope of the report; ``None`` and empty strings mean "any"."""

    role_id: str | None = None
    origin: str | None = None
    not_signed_in_days: int | None = None
    token_unused_days: int | None = None
    include_inactive: bool = False
    super_admin_role: bool = False
    """``role_id`` is the built-in Super Admin role: its holders are the Super Admin accounts."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "role_id": self.role_id,
            "origin": self.origin,
            "not_signed_in_days": self.not_signed_in_days,
            "token_unused_days": self.token_unused_days,
            "include_inactive": self.include_inactive,
        }


@dataclass(frozen=True, slots=True)
class GrantLine:
    """One way a user holds a role."""

    role_id: str
    role_name: str
    origin: str
    """``direct``, ``request``, ``sso`` or ``group``."""
    granted_at: datetime | None
    granted_by: str | None
    expires_at: datetime | None
    group_id: str | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class TokenLine:
    id: str
    name: str
    created: datetime
    expires_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class BoundaryLine:
    policy_id: str
    name: str
    source: str


@dataclass(frozen=True, slots=True)
class UserAccess(UserBasics):
    """Everything one user holds, for the report (its lists are filled in as they are read)."""

    last_login_at: datetime | None
    grants: list[GrantLine] = field(default_factory=list)
    boundaries: list[BoundaryLine] = field(default_factory=list)
    tokens: list[TokenLine] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReviewPage:
    users: list[UserAccess]
    total: int
    next_cursor: str | None


def _grant_exists(query: ReviewQuery, now: datetime) -> sa.ColumnElement[bool] | None:
    if query.super_admin_role or query.origin == "super_admin":
        return users.c.super_admin.is_(True)
    if not query.role_id and not query.origin:
        return None
    direct = [user_roles.c.user_id == users.c.id, unexpired(user_roles.c.expires_at, now)]
    bound = [
        group_members.c.user_id == users.c.id,
        group_role_bindings.c.group_id == group_members.c.group_id,
        unexpired(group_role_bindings.c.expires_at, now),
    ]
    if query.role_id:
        direct.append(user_roles.c.role_id == query.role_id)
        bound.append(group_role_bindings.c.role_id == query.role_id)
    origin = query.origin or ""
    clauses: list[sa.ColumnElement[bool]] = []
    if origin in ("", "direct", "request", "sso", "timebound"):
        if origin in ("direct", "request", "sso"):
            direct.append(user_roles.c.source == {"direct": "manual"}.get(origin, origin))
        if origin == "timebound":
            direct.append(user_roles.c.expires_at.is_not(None))
        clauses.append(sa.exists().where(*direct))
    if origin in ("", "group", "timebound"):
        if origin == "timebound":
            bound.append(group_role_bindings.c.expires_at.is_not(None))
        clauses.append(sa.exists().where(*bound))
    return sa.or_(*clauses)


def _where(query: ReviewQuery, now: datetime) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if not query.include_inactive:
        clauses.append(users.c.active.is_(True))
    held = _grant_exists(query, now)
    if held is not None:
        clauses.append(held)
    if query.not_signed_in_days is not None:
        since = now - timedelta(days=query.not_signed_in_days)
        clauses.append(sa.or_(users.c.last_login_at.is_(None), users.c.last_login_at < since))
    if query.token_unused_days is not None:
        since = now - timedelta(days=query.token_unused_days)
        tokens = api_tokens.c
        clauses.append(
            sa.exists().where(
                tokens.user_id == users.c.id,
                tokens.revoked_at.is_(None),
                tokens.expires_at > now,
                sa.func.coalesce(tokens.last_used_at, tokens.created) < since,
            )
        )
    return clauses


def count(connection: Connection, query: ReviewQuery, now: datetime) -> int:
    """How many users are in the scope."""
    return int(
        connection.execute(sa.select(sa.func.count()).select_from(users).where(*_where(query, now))).scalar_one()
    )


def page(
    connection: Connection, query: ReviewQuery, now: datetime, after: str | None = None, limit: int = 50
) -> ReviewPage:
    """A page of the scope's users by username (after the cursor ``after``, a lower-cased username), each with
    their grants, boundaries and live API tokens."""
    limit = min(max(limit, 1), MAX_PAGE)
    clauses = _where(query, now)
    if after:
        clauses.append(users.c.user_name_lower > after)
    rows = connection.execute(
        sa.select(
            users.c.id,
            users.c.user_name,
            users.c.user_name_lower,
            users.c.display_name,
            users.c.source,
            users.c.active,
            users.c.super_admin,
            users.c.last_login_at,
        )
        .where(*clauses)
        .order_by(users.c.user_name_lower)
        .limit(limit + 1)
    ).all()
    shown = rows[:limit]
    found = [
        UserAccess(
            r.id,
            r.user_name,
            r.display_name,
            r.source,
            bool(r.active),
            bool(r.super_admin),
            optional_utc(r.last_login_at),
        )
        for r in shown
    ]
    _details(connection, found, now)
    more = len(rows) > limit
    return ReviewPage(found, count(connection, query, now), shown[-1].user_name_lower if more and shown else None)


def _details(connection: Connection, found: list[UserAccess], now: datetime) -> None:
    by_id = {user.id: user for user in found}
    for chunk in in_chunks(list(by_id)):
        for row in connection.execute(
            sa.select(user_roles, roles.c.name.label("role_name"))
            .select_from(held_directly())
            .where(user_roles.c.user_id.in_(chunk), unexpired(user_roles.c.expires_at, now))
        ):
            origin = {"manual": "direct"}.get(row.source, row.source)
            by_id[row.user_id].grants.append(
                GrantLine(
                    row.role_id,
                    row.role_name,
                    origin,
                    optional_utc(row.granted_at),
                    row.granted_by,
                    optional_utc(row.expires_at),
                )
            )
        bindings = group_role_bindings.c
        for row in connection.execute(
            sa.select(
                group_members.c.user_id,
                bindings.role_id,
                roles.c.name,
                bindings.created,
                bindings.created_by,
                bindings.expires_at,
                groups.c.id.label("group_id"),
                groups.c.display_name,
            )
            .select_from(held_through_groups())
            .where(group_members.c.user_id.in_(chunk), unexpired(bindings.expires_at, now))
        ):
            by_id[row.user_id].grants.append(
                GrantLine(
                    row.role_id,
                    row.name,
                    "group",
                    optional_utc(row.created),
                    row.created_by,
                    optional_utc(row.expires_at),
                    row.group_id,
                    row.display_name,
                )
            )
        for row in connection.execute(
            sa.select(
                user_boundaries.c.user_id,
                user_boundaries.c.source,
                permission_policies.c.id,
                permission_policies.c.name,
            )
            .join(permission_policies, permission_policies.c.id == user_boundaries.c.policy_id)
            .where(user_boundaries.c.user_id.in_(chunk))
        ):
            by_id[row.user_id].boundaries.append(BoundaryLine(row.id, row.name, row.source))
        tokens = api_tokens.c
        for row in connection.execute(
            sa.select(tokens.user_id, tokens.id, tokens.name, tokens.created, tokens.expires_at, tokens.last_used_at)
            .where(tokens.user_id.in_(chunk), tokens.revoked_at.is_(None), tokens.expires_at > now)
            .order_by(tokens.created)
        ):
            by_id[row.user_id].tokens.append(
                TokenLine(row.id, row.name, as_utc(row.created), as_utc(row.expires_at), optional_utc(row.last_used_at))
            )
    for user in found:
        user.grants.sort(key=lambda g: (g.role_name.lower(), g.origin, (g.group_name or "").lower()))
        user.boundaries.sort(key=lambda b: b.name.lower())


# ------------------------------------------------------------------------------------------ grant sets


@dataclass(frozen=True, slots=True)
class GrantSets:
    """Every active user's grant set: the Super Admin accounts apart, the others grouped by identical
    (roles, boundaries); each group's users by lower-cased username."""

    super_admins: list[tuple[str, str]]
    """(lower-cased username, id) of the active Super Admin accounts."""
    sets: dict[tuple[frozenset[str], frozenset[str]], list[tuple[str, str]]]


def grant_sets(connection: Connection, now: datetime) -> GrantSets:
    """See :class:`GrantSets` (four scans, see the module)."""
    at = driver.to_db_time(connection, now)
    mark = driver.mark(connection, "now")
    alive = f"(expires_at IS NULL OR expires_at > {mark})"
    held: dict[str, set[str]] = {}
    bounds: dict[str, set[str]] = {}
    for sql, target in (
        (f"SELECT user_id, role_id FROM user_roles WHERE {alive}", held),
        (
            "SELECT m.user_id, b.role_id FROM group_role_bindings b JOIN group_members m ON m.group_id = b.group_id "
            f"WHERE (b.expires_at IS NULL OR b.expires_at > {mark})",
            held,
        ),
        ("SELECT user_id, policy_id FROM user_boundaries", bounds),
    ):
        cursor = driver.execute(connection, sql, {"now": at} if mark in sql else {})
        try:
            for user_id, other in cursor.fetchall():
                target.setdefault(user_id, set()).add(other)
        finally:
            cursor.close()
    cursor = driver.execute(connection, "SELECT id, user_name_lower, super_admin FROM users WHERE active = true", {})
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    supers: list[tuple[str, str]] = []
    sets: dict[tuple[frozenset[str], frozenset[str]], list[tuple[str, str]]] = {}
    empty: frozenset[str] = frozenset()
    interned: dict[frozenset[str], frozenset[str]] = {}
    for user_id, name, super_admin in rows:
        if super_admin:
            supers.append((name, user_id))
            continue
        roles_held = frozenset(held.get(user_id, empty))
        boundaries = frozenset(bounds.get(user_id, empty))
        key = (interned.setdefault(roles_held, roles_held), interned.setdefault(boundaries, boundaries))
        sets.setdefault(key, []).append((name, user_id))
    supers.sort()
    for members in sets.values():
        members.sort()
    return GrantSets(supers, sets)


def role_policies_of(connection: Connection, role_ids: Iterable[str]) -> dict[str, tuple[str, list[PolicyVersion]]]:
    """Each role's name and attached policies (id, name, version)."""
    found: dict[str, tuple[str, list[PolicyVersion]]] = {}
    for chunk in in_chunks(list(dict.fromkeys(role_ids))):
        rows = connection.execute(
            sa.select(
                roles.c.id,
                roles.c.name,
                permission_policies.c.id.label("policy_id"),
                permission_policies.c.name.label("policy_name"),
                permission_policies.c.version,
            )
            .select_from(with_policies(roles))
            .where(roles.c.id.in_(chunk))
        )
        for row in rows:
            _, attached = found.setdefault(row.id, (row.name, []))
            if row.policy_id is not None:
                attached.append(PolicyVersion(row.policy_id, row.policy_name, row.version))
    return found


def policy_versions(connection: Connection, policy_ids: Iterable[str]) -> dict[str, PolicyVersion]:
    found: dict[str, PolicyVersion] = {}
    for chunk in in_chunks(list(dict.fromkeys(policy_ids))):
        rows = connection.execute(
            sa.select(permission_policies.c.id, permission_policies.c.name, permission_policies.c.version).where(
                permission_policies.c.id.in_(chunk)
            )
        )
        found.update((row.id, PolicyVersion(row.id, row.name, row.version)) for row in rows)
    return found


def users_named(connection: Connection, user_ids: Sequence[str]) -> dict[str, tuple[str, str | None, datetime | None]]:
    """(username, display name, last sign-in) of each user."""
    found: dict[str, tuple[str, str | None, datetime | None]] = {}
    for chunk in in_chunks(list(user_ids)):
        rows = connection.execute(
            sa.select(users.c.id, users.c.user_name, users.c.display_name, users.c.last_login_at).where(
                users.c.id.in_(chunk)
            )
        )
        found.update((row.id, (row.user_name, row.display_name, optional_utc(row.last_login_at))) for row in rows)
    return found


# ------------------------------------------------------------------------------------------ reviews


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    id: str
    reviewed_at: datetime
    reviewer_id: str | None
    reviewer: str
    scope: dict[str, Any]
    users_in_scope: int
    note: str


def record_review(
    connection: Connection,
    reviewer_id: str | None,
    reviewer: str,
    scope: dict[str, Any],
    users_in_scope: int,
    note: str,
    now: datetime,
) -> ReviewRecord:
    """Record that ``reviewer`` reviewed ``scope`` now."""
    review = ReviewRecord(str(uuid.uuid4()), now, reviewer_id, reviewer, scope, users_in_scope, note)
    connection.execute(
        access_reviews.insert().values(
            id=review.id,
            reviewed_at=now,
            reviewer_id=reviewer_id,
            reviewer=reviewer[:255],
            scope=orjson.dumps(scope).decode(),
            users_in_scope=users_in_scope,
            note=note,
        )
    )
    return review


def reviews(connection: Connection, limit: int = 50) -> list[ReviewRecord]:
    """The reviews recorded, newest first."""
    rows = connection.execute(
        sa.select(access_reviews).order_by(access_reviews.c.reviewed_at.desc(), access_reviews.c.id).limit(limit)
    )
    return [
        ReviewRecord(
            row.id,
            as_utc(row.reviewed_at),
            row.reviewer_id,
            row.reviewer,
            orjson.loads(row.scope),
            row.users_in_scope,
            row.note,
        )
        for row in rows
    ]
