"""The user directory of Organization → Users: listing queries that stay indexed at 100,000 users.

A listing is a ``count(*)`` of the filtered users plus a ``LIMIT``/``OFFSET`` page of ids, then
those users by primary key, all on indexed columns; nothing loads the whole table.

**A search** (any ``q``) is :mod:`gatehouse.store.search`'s: substring (trigram indexes) or, for a
term without a run of three letters or digits, prefix; by relevance, paged with a keyset cursor, the
status and source filters still applied, the total counted up to 10,000. The sorts below are those of
the list without a search. A prefix is matched on the lower-cased ``userName``, name and primary
e-mail columns, OR-ed:

- SQLite: a range ``col >= :p AND col < :p_next`` (``p_next`` is the smallest string above every
  string starting with ``p``), which the plain B-tree indexes serve (text compares by code point);
- PostgreSQL: ``col LIKE :p ESCAPE '\\'`` with ``%``, ``_`` and ``\\`` escaped, which the
  ``varchar_pattern_ops`` indexes serve whatever the database collation.

Sorting: a sort is a list of *segments*, each an ordered query on an index, read one after the other.
Sorting by ``userName`` or creation time is one segment. Sorting by a column that may be empty
(name, e-mail, last sign-in) reads the users that have a value, in order, then those that have none
(by ``userName``): empty values come last in both directions, identically on both databases, and each
segment can walk its index. Sorting by status or source reads one segment per value (``userName``
order within each). ``id`` is the final tie-break everywhere, so pages never overlap.

Each segment's size is counted first, so a page reads exactly the slices it needs, each by the path
its size calls for (see :func:`page_statement`): a small segment is gathered through its filter
indexes and sorted; a large segment walks the sort index. The choice is ours rather than the
planner's, because SQLite has no statistics and PostgreSQL's ``LIMIT`` estimates assume matches are
spread evenly through the sort order.

Functions take an open connection and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.resources.search import Term, term_of
from gatehouse.store import search as relevance
from gatehouse.store import user_counts, user_events
from gatehouse.store import users as user_store
from gatehouse.store.pages import ListedPage
from gatehouse.store.records import Reference, UserBasics, as_utc, optional_utc, utcnow
from gatehouse.store.sessions import SessionInfo
from gatehouse.store.tables import SOURCES, user_search, users
from gatehouse.store.tables import sessions as session_table
from gatehouse.store.user_events import UserEvent

PAGE_SIZE = 50
MAX_SEARCH = 255
SORTS = ("username", "name", "email", "status", "source", "last_login", "created")
STATUSES = ("all", "active", "deactivated")
SOURCE_FILTERS = ("all", *SOURCES)
ENTERPRISE = user_store.ENTERPRISE

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


@dataclass(frozen=True, slots=True)
class DirectoryQuery:
    """What the Users page asks for: a search, filters, sort and page (1-based); a search is paged by
    ``cursor`` (a :class:`~gatehouse.store.search.Cursor`, encoded) instead, and ordered by relevance."""

    search: str = ""
    status: str = "all"
    source: str = "all"
    sort: str = "username"
    descending: bool = False
    page: int = 1
    per_page: int = PAGE_SIZE
    cursor: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        if self.source not in SOURCE_FILTERS:
            raise ValueError(f"source must be one of {SOURCE_FILTERS}")
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}")
        if self.page < 1 or self.per_page < 1:
            raise ValueError("page and per_page start at 1")

    @property
    def term(self) -> Term:
        """The search as matched (trimmed; empty when there is none)."""
        return term_of(self.search[:MAX_SEARCH])

    @property
    def filtered(self) -> bool:
        """Whether a search or filter narrows the list."""
        return bool(self.term) or self.status != "all" or self.source != "all"


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    """One line of the Users table."""

    id: str
    user_name: str
    display_name: str | None
    email: str | None
    source: str
    active: bool
    super_admin: bool
    last_login_at: datetime | None
    created: datetime


class DirectoryPage(ListedPage[DirectoryRow]):
    """One page of users (:class:`~gatehouse.store.pages.ListedPage`)."""

    __slots__ = ()


# --------------------------------------------------------------------------------------- search


def next_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix`` (by code point),
    or ``None`` when there is none (a prefix of only U+10FFFF)."""
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if point in _SURROGATES:
            point = _SURROGATES.stop
        if point <= _MAX_CODE_POINT:
            return "".join(chars) + chr(point)
    return None


def like_prefix(prefix: str) -> str:
    """A ``LIKE`` pattern matching strings that start with ``prefix`` (escape character ``\\``)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _starts_with(column: sa.ColumnElement[Any], prefix: str, dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return column.like(like_prefix(prefix), escape="\\")
    upper = next_prefix(prefix)
    if upper is None:
        return column >= prefix
    return sa.and_(column >= prefix, column < upper)


class _Where:
    """The WHERE of one statement of a listing, written for the path that statement should take.

    ``through_filters=True``: reach the rows through the filter indexes (counts, and gathering a small
    set of users before sorting it). ``through_filters=False``: walk the sort column's index and test
    each row (a page of a large set, which ``LIMIT`` stops early).

    SQLite plans without statistics and takes any equality on an indexed column for the best path, so
    on SQLite the ``source`` and ``active`` terms are written ``+users.source`` (its documented way to
    keep a term from choosing an index) wherever ``ix_users_source_active`` is not the path: when
    walking. Through the filters, one status without a source filter reads ``source IN (every source)
    AND active = :v``, which that index serves on both databases.
    """

    def __init__(self, query: DirectoryQuery, dialect: str, *, through_filters: bool) -> None:
        self.query = query
        self.dialect = dialect
        self.through_filters = through_filters
        steer = dialect == "sqlite" and not through_filters
        self.source: sa.ColumnElement[Any] = _unindexed(users.c.source) if steer else users.c.source
        self.active: sa.ColumnElement[Any] = _unindexed(users.c.active) if steer else users.c.active

    def status(self, active: bool) -> sa.ColumnElement[bool]:
        """Users of one status."""
        condition = self.active == active
        if self.through_filters and self.query.source == "all":
            return sa.and_(self.source.in_(SOURCES), condition)
        return condition

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """Status and source filters (AND-ed)."""
        query, found = self.query, []
        if query.status != "all":
            found.append(self.status(query.status == "active"))
        if query.source != "all":
            found.append(self.source == query.source)
        return found


def _unindexed(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """``+users.<column>``: the same value, which SQLite will not look up through an index."""
    return sa.literal_column(f"+{users.name}.{column.name}", type_=column.type)


# --------------------------------------------------------------------------------------- sorting


PRESENT = "present"


@dataclass(frozen=True, slots=True)
class _Segment:
    """Users read by ``column`` then ``id``: all of them, or those whose ``test`` column is non-empty
    (``PRESENT``), empty (``None``) or equal to a value."""

    column: str
    descending: bool = False
    test: tuple[str, Any] | None = None

    def condition(self, where: _Where) -> tuple[sa.ColumnElement[bool], ...]:
        """The segment's condition on ``users`` (through ``where``)."""
        if self.test is None:
            return ()
        name, value = self.test
        if name == "active":
            return (where.status(value),)
        if name == "source":
            return (where.source == value,)
        column = users.c[name]
        if value == PRESENT:
            return (column.is_not(None),)
        return (column.is_(None),) if value is None else (column == value,)

    def order(self, columns: Any) -> tuple[sa.ColumnElement[Any], ...]:
        keys = (columns[self.column], columns["id"])
        return tuple(k.desc() if self.descending else k.asc() for k in keys)


_OPTIONAL = {"name": "name_lower", "email": "email_lower", "last_login": "last_login_at"}
_SORT_COLUMNS = {"username": "user_name_lower", "created": "created", **_OPTIONAL}
_BY_USER_NAME = "user_name_lower"


def _segments(query: DirectoryQuery) -> list[_Segment]:
    if query.sort in _SORT_COLUMNS:
        name = _SORT_COLUMNS[query.sort]
        if query.sort not in _OPTIONAL:
            return [_Segment(name, query.descending)]
        return [_Segment(name, query.descending, (name, PRESENT)), _Segment(_BY_USER_NAME, test=(name, None))]
    if query.sort == "status" and query.status == "all":
        segments = [_Segment(_BY_USER_NAME, test=("active", v)) for v in (True, False)]
    elif query.sort == "source" and query.source == "all":
        segments = [_Segment(_BY_USER_NAME, test=("source", s)) for s in SOURCES]
    else:  # filtered to one status or source: sorting by it is sorting by userName
        return [_Segment(_BY_USER_NAME)]
    return segments[::-1] if query.descending else segments


# --------------------------------------------------------------------------------------- queries

_ROW_COLUMNS = (
    users.c.id,
    users.c.user_name,
    users.c.display_name,
    users.c.email_lower,
    users.c.data,
    users.c.source,
    users.c.active,
    users.c.super_admin,
    users.c.last_login_at,
    users.c.created,
)


def _display_email(data: str, email_lower: str | None) -> str | None:
    """The primary e-mail as the IdP or admin wrote it (the indexed column is lower-cased)."""
    if email_lower is None:
        return None
    for entry in orjson.loads(data).get("emails") or []:
        value = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, str) and value.lower()[:320] == email_lower:
            return value
    return email_lower


def _row(row: Any) -> DirectoryRow:
    return DirectoryRow(
        id=row.id,
        user_name=row.user_name,
        display_name=row.display_name,
        email=_display_email(row.data, row.email_lower),
        source=row.source,
        active=bool(row.active),
        super_admin=bool(row.super_admin),
        last_login_at=optional_utc(row.last_login_at),
        created=as_utc(row.created),
    )


GATHER_AT_MOST = 5000
"""A segment of at most this many users is gathered through its filter indexes, then sorted; a larger
one is read by walking the sort index, where ``LIMIT`` stops early because matches are dense (at least
1 in 20 rows at 100,000 users)."""


def count_statement(query: DirectoryQuery, dialect: str, segment: int | None = None) -> sa.Select[Any]:
    """``count(*)`` of the matching users (of one segment, when given); exposed so tests can EXPLAIN it."""
    where = _Where(query, dialect, through_filters=True)
    extra = () if segment is None else _segments(query)[segment].condition(where)
    return sa.select(sa.func.count()).select_from(users).where(*where.conditions(), *extra)


def page_statement(
    query: DirectoryQuery, dialect: str, offset: int, limit: int, segment: int = 0, *, gather: bool = False
) -> sa.Select[Any]:
    """The ids of one segment's slice of the list without a search, in order; exposed so tests can
    EXPLAIN it.

    ``gather`` reads the segment through its filter indexes (``source``, ``active``, ``IS NULL``) in a
    ``MATERIALIZED`` CTE before sorting; else the sort index is walked. Only ids are selected, so a sort
    or a deep ``OFFSET`` carries no documents.
    """
    chosen = _segments(query)[segment]
    if not gather:
        walk = _Where(query, dialect, through_filters=False)
        ordered = sa.select(users.c.id).where(*walk.conditions(), *chosen.condition(walk))
        return ordered.order_by(*chosen.order(users.c)).offset(offset).limit(limit)
    where = _Where(query, dialect, through_filters=True)
    names = dict.fromkeys(["id", chosen.column, *([chosen.test[0]] if chosen.test else [])])
    found = sa.select(*(users.c[name] for name in names)).where(*where.conditions(), *chosen.condition(where))
    matches = found.cte("matches").prefix_with("MATERIALIZED")
    return sa.select(matches.c.id).order_by(*chosen.order(matches.c)).offset(offset).limit(limit)


def count_users(connection: Connection, query: DirectoryQuery, segment: int | None = None) -> int:
    """How many users match the query's filters (without a search), in one segment of its sort when given.

    The filters, and the segments of a sort by status or source, are by source and status: the database keeps
    those counts (:mod:`~gatehouse.store.user_counts`), a few rows rather than an index walk over every user.
    Another segment (users with or without a name, say) is counted by :func:`count_statement`."""
    source = None if query.source == "all" else query.source
    active = None if query.status == "all" else query.status == "active"
    test = None if segment is None else _segments(query)[segment].test
    if test is not None and test[0] not in ("active", "source"):
        return int(connection.execute(count_statement(query, connection.dialect.name, segment)).scalar_one())
    if test is not None:
        source, active = (test[1], active) if test[0] == "source" else (source, test[1])
    return user_counts.of_source(connection, source, active=active)


def _users_starting_with(connection: Connection, column: sa.ColumnElement[Any], prefix: str) -> sa.ColumnElement[bool]:
    return _starts_with(column, prefix, connection.dialect.name)


USERS = relevance.Space(
    table=users,
    key="user_name_lower",
    identifiers=("user_name_lower", "email_lower"),
    names=("name_lower",),
    starts_with=_users_starting_with,
    side=user_search,
    fts="user_search_fts",
)
"""What a search of the users reads (see :mod:`gatehouse.store.search`)."""


def _by_id(connection: Connection, ids: list[str]) -> list[DirectoryRow]:
    found = {r.id: _row(r) for r in connection.execute(sa.select(*_ROW_COLUMNS).where(users.c.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def search_users(
    connection: Connection,
    query: DirectoryQuery,
    *,
    gather_at_most: int = GATHER_AT_MOST,
    search_gather_at_most: int | None = None,
) -> DirectoryPage:
    """One page of the directory and the number of matching users.

    With a search: :func:`gatehouse.store.search.search` (by relevance, the page the cursor names, the
    filters applied). Without: the list in the query's sort, its page (a page past the end is served as
    the last page); the size of each segment is counted (indexed counts; the last one is the total minus
    the others), so each slice is read exactly, by the path its size calls for. Then the page's rows by
    primary key.
    """
    term = query.term
    if term:
        filters: dict[str, Any] = {}
        if query.status != "all":
            filters["active"] = query.status == "active"
        if query.source != "all":
            filters["source"] = query.source
        cursor = relevance.Cursor.decode(query.cursor) if query.cursor else None
        found = relevance.search(
            connection,
            USERS,
            term,
            filters=filters,
            cursor=cursor,
            per_page=query.per_page,
            gather_at_most=search_gather_at_most,
        )
        return DirectoryPage(
            _by_id(connection, found.ids),
            found.total,
            found.offset // query.per_page + 1,
            query.per_page,
            exact=found.exact,
            offset=found.offset,
            next_cursor=found.next.encode() if found.next else None,
            prev_cursor=found.previous.encode() if found.previous else None,
            ranked=True,
        )
    dialect = connection.dialect.name
    total = count_users(connection, query)
    if total == 0:
        return DirectoryPage([], 0, 1, query.per_page)
    page = min(query.page, -(-total // query.per_page))
    offset = (page - 1) * query.per_page
    sizes = [count_users(connection, query, i) for i in range(len(_segments(query)) - 1)]
    sizes.append(total - sum(sizes))
    ids: list[str] = []
    start = 0
    for index, size in enumerate(sizes):
        if offset < start + size and len(ids) < query.per_page:
            skip = max(0, offset - start)
            statement = page_statement(
                query, dialect, skip, min(query.per_page - len(ids), size - skip), index, gather=size <= gather_at_most
            )
            ids.extend(connection.execute(statement).scalars())
        start += size
    return DirectoryPage(_by_id(connection, ids), total, page, query.per_page)


# --------------------------------------------------------------------------------------- one user


@dataclass(frozen=True, slots=True)
class ManagerLink:
    """The enterprise ``manager`` of a user: the manager's page when the id is a known user."""

    value: str | None
    label: str
    user_id: str | None


@dataclass(frozen=True, slots=True)
class UserProfile(UserBasics):
    """Everything the user page shows."""

    must_change_password: bool
    external_id: str | None
    created: datetime
    last_modified: datetime
    last_login_at: datetime | None
    version: int
    doc: dict[str, Any]
    groups: list[Reference] = field(default_factory=list)
    manager: ManagerLink | None = None
    history: list[UserEvent] = field(default_factory=list)
    sessions: list[SessionInfo] = field(default_factory=list)

    @property
    def enterprise(self) -> dict[str, Any]:
        block = self.doc.get(ENTERPRISE)
        return block if isinstance(block, dict) else {}


def _manager(connection: Connection, doc: dict[str, Any]) -> ManagerLink | None:
    block = doc.get(ENTERPRISE)
    manager = block.get("manager") if isinstance(block, dict) else None
    if not isinstance(manager, dict):
        return None
    value = manager.get("value") if isinstance(manager.get("value"), str) else None
    shown = manager.get("displayName") if isinstance(manager.get("displayName"), str) else None
    if value is None and shown is None:
        return None
    found = None
    if value is not None:
        found = connection.execute(
            sa.select(users.c.id, users.c.user_name, users.c.display_name).where(users.c.id == value)
        ).first()
    if found is None:
        return ManagerLink(value, shown or str(value), None)
    return ManagerLink(value, shown or found.display_name or found.user_name, found.id)


def live_sessions(
    connection: Connection, user_id: str, now: datetime, idle: timedelta | None = None
) -> list[SessionInfo]:
    """A user's sessions that still work (not expired, not idle longer than ``idle``), newest first."""
    rows = connection.execute(
        sa.select(session_table.c.created, session_table.c.last_seen, session_table.c.ip, session_table.c.user_agent)
        .where(session_table.c.user_id == user_id, session_table.c.expires_at > now)
        .order_by(session_table.c.created.desc())
    )
    found = [SessionInfo(as_utc(r.created), as_utc(r.last_seen), r.ip, r.user_agent) for r in rows]
    return [s for s in found if idle is None or now - s.last_seen < idle]


def profile(
    connection: Connection, user_id: str, *, now: datetime | None = None, idle: timedelta | None = None
) -> UserProfile | None:
    """A user with groups, manager, status history and live sessions, or ``None``."""
    row = connection.execute(
        sa.select(
            users.c.id,
            users.c.user_name,
            users.c.display_name,
            users.c.source,
            users.c.active,
            users.c.super_admin,
            users.c.must_change_password,
            users.c.external_id,
            users.c.created,
            users.c.last_modified,
            users.c.last_login_at,
            users.c.version,
            users.c.data,
        ).where(users.c.id == user_id)
    ).first()
    if row is None:
        return None
    doc = orjson.loads(row.data)
    doc.pop("id", None)
    return UserProfile(
        id=row.id,
        user_name=row.user_name,
        display_name=row.display_name,
        source=row.source,
        active=bool(row.active),
        super_admin=bool(row.super_admin),
        must_change_password=bool(row.must_change_password),
        external_id=row.external_id,
        created=as_utc(row.created),
        last_modified=as_utc(row.last_modified),
        last_login_at=optional_utc(row.last_login_at),
        version=row.version,
        doc=doc,
        groups=user_store.groups_of(connection, [row.id])[row.id],
        manager=_manager(connection, doc),
        history=user_events.history(connection, row.id),
        sessions=live_sessions(connection, row.id, now or utcnow(), idle),
    )
