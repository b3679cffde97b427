"""The SCIM groups as an administrator lists them (admin API ``GET /api/groups`` and the dashboard's
Groups page, both through :func:`list_groups`): ordered by the lower-cased display name, a page at a time,
plus each listed group's member count. A search is :mod:`gatehouse.store.search`'s (substring of the
display name on its trigram index, or a prefix for a short term; by relevance, keyset-paged).

Every statement is served by an index:

- the order and the search use ``uq_groups_display_name_lower``: wherever text compares by code point
  (SQLite; PostgreSQL under ``C``, ``POSIX`` or ``C.UTF-8``) the prefix is a range
  ``col >= :p AND col < :p_next``, one contiguous range of the index (:func:`name_prefix`); under a
  linguistic collation it is ``col LIKE :p%`` with ``%``, ``_`` and ``\\`` escaped, which stays exact,
  walking the index in order;
- the member counts of a page read ``group_members`` by its primary key ``(group_id, user_id)``.

A page is ``LIMIT``/``OFFSET`` on the ordered index, with ``id`` as the tie-break (names are unique, so
it never decides). Functions take an open connection and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.resources.search import term_of
from gatehouse.store import search as relevance
from gatehouse.store.batches import in_chunks, references_by
from gatehouse.store.directory import like_prefix, next_prefix
from gatehouse.store.holdings import unexpired
from gatehouse.store.pages import ListedPage
from gatehouse.store.records import Reference, as_utc, utcnow
from gatehouse.store.tables import group_members, group_role_bindings, group_search, groups, roles, user_roles, users

PAGE_SIZE = 50
MAX_SEARCH = 255

_SHOWN = (groups.c.id, groups.c.display_name, groups.c.external_id, groups.c.created, groups.c.last_modified)
"""The columns of a group that the list and the group's page show."""


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One SCIM group as listed."""

    id: str
    display_name: str
    external_id: str | None
    members: int
    created: datetime
    last_modified: datetime


class GroupPage(ListedPage[GroupRow]):
    """One page of groups (:class:`~gatehouse.store.pages.ListedPage`)."""

    __slots__ = ()


def _matching(search: str, dialect: str) -> list[sa.ColumnElement[bool]]:
    prefix = search.strip()[:MAX_SEARCH].lower()
    if not prefix:
        return []
    column = groups.c.display_name_lower
    if dialect == "postgresql":
        return [column.like(like_prefix(prefix), escape="\\")]
    upper = next_prefix(prefix)
    return [column >= prefix] if upper is None else [column >= prefix, column < upper]


def _member_counts(connection: Connection, group_ids: list[str]) -> dict[str, int]:
    if not group_ids:
        return {}
    statement = (
        sa.select(group_members.c.group_id, sa.func.count())
        .where(group_members.c.group_id.in_(group_ids))
        .group_by(group_members.c.group_id)
    )
    return {group_id: int(count) for group_id, count in connection.execute(statement)}


def _row(row: Any, members: int) -> GroupRow:
    return GroupRow(
        id=row.id,
        display_name=row.display_name,
        external_id=row.external_id,
        members=members,
        created=as_utc(row.created),
        last_modified=as_utc(row.last_modified),
    )


# ------------------------------------------------------------------------------------------ dashboard pages
#
# Added for the dashboard's Groups and Roles pages (web/routes/groups.py, roles.py): the group list with a
# search that stays on the name index on PostgreSQL too, the roles bound to the listed groups, one group
# with its first members, a group by exact name, and who holds a role. Every statement reads by primary
# key or by an indexed column.

_CODE_POINT_KEY = "gatehouse.code_point_order"


def code_point_order(connection: Connection) -> bool:
    """Whether the database compares text by code point: SQLite always; PostgreSQL when its collation
    does (``C``, ``POSIX``, ``C.UTF-8``), probed once per connection with strings that a linguistic
    collation orders otherwise."""
    if connection.dialect.name != "postgresql":
        return True
    known = connection.info.get(_CODE_POINT_KEY)
    if known is None:
        probe = sa.text("SELECT ('B' < 'a') AND ('a-c' < 'ab') AND ('z' < 'é')")
        known = bool(connection.execute(probe).scalar())
        connection.info[_CODE_POINT_KEY] = known
    return bool(known)


def name_prefix(connection: Connection, search: str) -> list[sa.ColumnElement[bool]]:
    """The groups whose lower-cased display name starts with ``search``, as the unique name index serves
    it: the range ``col >= :p AND col < :p_next`` wherever text compares by code point (PostgreSQL does
    not use a B-tree for ``LIKE`` under ``C.UTF-8``, only under ``C``); ``LIKE`` under a linguistic
    collation, where that range would not be exact."""
    prefix = search.strip()[:MAX_SEARCH].lower()
    if not prefix:
        return []
    if not code_point_order(connection):
        return _matching(search, "postgresql")
    return _matching(search, "sqlite")


def _groups_starting_with(connection: Connection, column: sa.ColumnElement[Any], prefix: str) -> sa.ColumnElement[bool]:
    return sa.and_(*name_prefix(connection, prefix))


GROUPS = relevance.Space(
    table=groups,
    key="display_name_lower",
    identifiers=("display_name_lower",),
    names=(),
    starts_with=_groups_starting_with,
    side=group_search,
    fts="group_search_fts",
)
"""What a search of the groups reads (see :mod:`gatehouse.store.search`): the display name."""


def list_groups(
    connection: Connection, search: str = "", page: int = 1, per_page: int = PAGE_SIZE, cursor: str = ""
) -> GroupPage:
    """The groups for the dashboard and the admin API. With a search: :func:`gatehouse.store.search.search`
    on the display name (substring, or prefix for a short term), by relevance, the page ``cursor`` names.
    Without: by name, page ``page``, walking the name index (names are unique: no tie-break to sort)."""
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    term = term_of(search[:MAX_SEARCH])
    if term:
        decoded = relevance.Cursor.decode(cursor) if cursor else None
        found = relevance.search(connection, GROUPS, term, cursor=decoded, per_page=per_page)
        shown = {row.id: row for row in connection.execute(sa.select(*_SHOWN).where(groups.c.id.in_(found.ids)))}
        counts = _member_counts(connection, found.ids)
        return GroupPage(
            [_row(shown[i], counts.get(i, 0)) for i in found.ids if i in shown],
            found.total,
            found.offset // per_page + 1,
            per_page,
            exact=found.exact,
            offset=found.offset,
            next_cursor=found.next.encode() if found.next else None,
            prev_cursor=found.previous.encode() if found.previous else None,
            ranked=True,
        )
    where: list[sa.ColumnElement[bool]] = []
    total = int(connection.execute(sa.select(sa.func.count()).select_from(groups).where(*where)).scalar_one())
    if total == 0:
        return GroupPage([], 0, 1, per_page)
    page = min(page, -(-total // per_page))
    rows = connection.execute(
        sa.select(groups.c.id, groups.c.display_name, groups.c.external_id, groups.c.created, groups.c.last_modified)
        .where(*where)
        .order_by(groups.c.display_name_lower)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    counts = _member_counts(connection, [row.id for row in rows])
    return GroupPage([_row(row, counts.get(row.id, 0)) for row in rows], total, page, per_page)


MEMBERS_SHOWN = 50
GATHER_AT_MOST = 5000
"""A group of at most this many members has its first members gathered through the ``group_members`` key
and sorted by username; a larger one walks the users' ``user_name_lower`` index, keeping members, where
``LIMIT`` stops early because members are dense."""


@dataclass(frozen=True, slots=True)
class Member:
    """A member as the group page lists it."""

    id: str
    user_name: str
    label: str
    """What the IdP sent as the member's ``display``, else the user's display name, else the username."""
    active: bool


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """One group: its names, dates, member count and first members (by username)."""

    id: str
    display_name: str
    external_id: str | None
    created: datetime
    last_modified: datetime
    member_count: int
    members: list[Member]


@dataclass(frozen=True, slots=True)
class RoleCounts:
    """How many users hold a role directly, and how many groups it is bound to."""

    users: int = 0
    groups: int = 0


def bound_roles(connection: Connection, group_ids: Iterable[str]) -> dict[str, list[Reference]]:
    """The roles (id, name) bound to each group, by name (``group_role_bindings`` by group, joined to roles)."""
    bindings = group_role_bindings.c
    return references_by(connection, bindings.group_id, group_ids, bindings.role_id, roles.c.name, roles.c.name_lower)


def find_by_name(connection: Connection, display_name: str) -> Reference | None:
    """The group with this display name, case-insensitively (the unique index), or ``None``."""
    row = connection.execute(
        sa.select(groups.c.id, groups.c.display_name).where(groups.c.display_name_lower == display_name.strip().lower())
    ).first()
    return Reference(row.id, row.display_name) if row else None


def group_summary(connection: Connection, group_id: str, members_shown: int = MEMBERS_SHOWN) -> GroupSummary | None:
    """A group with its member count and its first ``members_shown`` members by username, or ``None``."""
    row = connection.execute(sa.select(*_SHOWN).where(groups.c.id == group_id)).first()
    if row is None:
        return None
    count = _member_counts(connection, [group_id]).get(group_id, 0)
    members = first_members(connection, group_id, count, members_shown) if count else []
    return GroupSummary(
        row.id, row.display_name, row.external_id, as_utc(row.created), as_utc(row.last_modified), count, members
    )


def first_members(connection: Connection, group_id: str, count: int, limit: int) -> list[Member]:
    """The first ``limit`` members by username of a group of ``count`` members (see :data:`GATHER_AT_MOST`)."""
    shown = (users.c.id, users.c.user_name, users.c.display_name, users.c.active)
    if count <= GATHER_AT_MOST:
        statement = (
            sa.select(*shown, group_members.c.display)
            .select_from(group_members.join(users, users.c.id == group_members.c.user_id))
            .where(group_members.c.group_id == group_id)
        )
    else:
        membership = sa.and_(group_members.c.group_id == group_id, group_members.c.user_id == users.c.id)
        sent = sa.select(group_members.c.display).where(membership).scalar_subquery()
        statement = sa.select(*shown, sent.label("display")).where(sa.exists().where(membership))
    rows = connection.execute(statement.order_by(users.c.user_name_lower).limit(limit))
    return [Member(r.id, r.user_name, r.display or r.display_name or r.user_name, bool(r.active)) for r in rows]


def role_counts(connection: Connection, role_ids: Iterable[str]) -> dict[str, RoleCounts]:
    """For each role: the users holding it directly and the groups it is bound to (two grouped counts on
    the ``role_id`` indexes of ``user_roles`` and ``group_role_bindings``)."""
    ids = list(dict.fromkeys(role_ids))
    holders = dict.fromkeys(ids, 0)
    bound = dict.fromkeys(ids, 0)
    for chunk in in_chunks(ids):
        holder_rows = connection.execute(
            sa.select(user_roles.c.role_id, sa.func.count(sa.distinct(user_roles.c.user_id)))
            .where(user_roles.c.role_id.in_(chunk), unexpired(user_roles.c.expires_at, utcnow()))
            .group_by(user_roles.c.role_id)
        )
        holders.update((role_id, int(count)) for role_id, count in holder_rows)
        bound_rows = connection.execute(
            sa.select(group_role_bindings.c.role_id, sa.func.count())
            .where(group_role_bindings.c.role_id.in_(chunk), unexpired(group_role_bindings.c.expires_at, utcnow()))
            .group_by(group_role_bindings.c.role_id)
        )
        bound.update((role_id, int(count)) for role_id, count in bound_rows)
    return {role_id: RoleCounts(holders[role_id], bound[role_id]) for role_id in ids}


def role_holders(connection: Connection, role_id: str, limit: int = 20) -> list[Reference]:
    """The first ``limit`` users (id, username) holding a role directly, by username."""
    rows = connection.execute(
        sa.select(users.c.id, users.c.user_name)
        .where(
            users.c.id.in_(
                sa.select(user_roles.c.user_id).where(
                    user_roles.c.role_id == role_id, unexpired(user_roles.c.expires_at, utcnow())
                )
            )
        )
        .order_by(users.c.user_name_lower)
        .limit(limit)
    )
    return [Reference(user_id, user_name) for user_id, user_name in rows]
