"""Search by relevance: the users (Organization → Users, ``GET /api/users?q=``) or groups whose search text holds
a term, best matches first, a page at a time with a keyset cursor, on indexes only.

**What matches.** A term of three characters or more (see :mod:`gatehouse.resources.search`) is looked for
anywhere in the folded ``search_text`` (userName, every e-mail, externalId, display, given and family name;
a group's display name), case- and accent-insensitively. A shorter term (``"a"``, ``"jo"``) keeps the prefix
match of the lower-cased username, name and primary e-mail columns (a group's name), on their B-tree indexes.

**Relevance** (the ``rank``, best first), then the unique lower-cased username (display name for groups):

- 0: an identifier *is* the term (username, an e-mail address or externalId; a group's name);
- 1: an identifier *starts with* it;
- 2: a name (display, given, family) or a word of any field starts with it;
- 3: it is elsewhere inside a field (substring terms only).

Ranks come from the search text alone (``instr``/``strpos`` of ``FIELD + term``, ``FIELD + term + FIELD``,
``WORD + term`` against the position of ``NAMES``), so both databases rank identically.

**Indexes.** PostgreSQL: ``search_text LIKE '%…%'`` on the ``pg_trgm`` GIN indexes. SQLite: ``MATCH`` on the
FTS5 ``trigram`` tables (``user_search_fts``, ``group_search_fts``), phrases of the same needles, over a side
table that copies the key and the search text (so a search without filters never reads ``users``). Nothing
else: a term's cost follows its matches, never the size of the table.

- At most :data:`GATHER_AT_MOST` matches (most terms): one statement *gathers* them all through the index
  (a ``MATERIALIZED`` CTE), ranks, filters and sorts them, and keeps the page (on PostgreSQL, the same
  statement counts them).
- More (a dense term such as ``"exa"``): ranks 0–2 are the rows where a field or a word starts with the
  term, which the index finds by its own needles (``FIELD + term`` or ``WORD + term``): they are gathered
  alike. Rank 3, then dense too, *walks* the username index in order, :data:`WALK_CHUNK` rows at a time,
  keeping its rows (a chunk or two fill a page), and gathers the rest of the page through the index if
  :data:`WALK_CHUNKS` chunks did not (matches bunched elsewhere in the alphabet).

**Totals** are counted with ``LIMIT`` :data:`CAP` + 1: exact up to :data:`CAP`, "more than" beyond.

**Paging** is by keyset: a :class:`Cursor` names the (rank, key) of the row a page starts after (or ends
before), and how many matches come before it (for "Showing 51–100"). Pages never overlap or skip rows, even
while users are added or removed between two requests.

Functions take an open connection and never commit.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import GatehouseError
from gatehouse.resources.search import FIELD, NAMES, WORD, Term

CAP = 10_000
"""Totals are exact up to this many matches, and shown as "10,000+" beyond."""
GATHER_AT_MOST = {"sqlite": 4_000, "postgresql": CAP}
"""When a term has at most this many matches, one statement gathers them all through the index, ranks and sorts
them; with more, ranks 0 to 2 are gathered and rank 3 walks the username index. On PostgreSQL, counting the
matches (up to :data:`CAP` + 1) reads them from the table anyway, so the same statement ranks them all; on
SQLite the FTS5 index counts them alone, and reading the rows costs more than walking."""
WALK_CHUNK = 2_000
"""Rows of the username index one walking statement reads at most (the range is bounded first, so the planner
cannot make it more)."""
WALK_CHUNKS = 2
"""Chunks a page walks at most before it gathers the rest of rank 3 instead (matches sparser than expected
where the walk is, as when they cluster in one part of the alphabet)."""
BEST, SUBSTRING = 0, 3
ALL, STARTS, INSIDE = "all", "starts", "inside"
"""What a statement reads: every match; the matches of ranks 0–2 (a field or word starts with the term); rank 3."""
END = SUBSTRING + 1
"""The rank of a cursor placed after every row (a "Last" page reads backwards from it)."""

StartsWith = Callable[[Connection, sa.ColumnElement[Any], str], sa.ColumnElement[bool]]


class SearchIndexUnavailable(GatehouseError):
    """The database cannot hold the search index (PostgreSQL without ``pg_trgm``)."""

    status = 500


# --------------------------------------------------------------------------------------- the index


_PG_TRGM_SCHEMA = (
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
)


def require_pg_trgm(connection: Connection) -> str:
    """Make sure PostgreSQL's ``pg_trgm`` extension is there (``CREATE EXTENSION IF NOT EXISTS pg_trgm``) and
    return the schema that holds it; :class:`SearchIndexUnavailable`, saying what to do, when the server lacks
    it or the role may not create it."""
    schema = connection.exec_driver_sql(_PG_TRGM_SCHEMA).scalar()
    if schema is not None:
        return str(schema)
    database, role = connection.exec_driver_sql("SELECT current_database(), current_user").one()
    if connection.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first() is None:
        raise SearchIndexUnavailable(
            "PostgreSQL lacks the pg_trgm extension, which Gatehouse's user search needs: install the server's "
            "contrib package (Debian: postgresql-contrib), then run `gatehouse db upgrade` again."
        )
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise SearchIndexUnavailable(
            f"Gatehouse's user search needs PostgreSQL's pg_trgm extension, and role '{role}' may not create it "
            f"in database '{database}' ({reason}). Ask a superuser or the database owner to run, once, in "
            f"database '{database}': CREATE EXTENSION IF NOT EXISTS pg_trgm; (or GRANT CREATE ON DATABASE \""
            f'{database}" TO "{role}": pg_trgm is a trusted extension), then run `gatehouse db upgrade` again.'
        ) from exc
    return str(connection.exec_driver_sql(_PG_TRGM_SCHEMA).scalar_one())


# --------------------------------------------------------------------------------------- what is searched


@dataclass(frozen=True, slots=True)
class Space:
    """A searchable table: its unique sort key, the prefix columns of a short term (identifiers rank 0–1,
    names rank 2), how a prefix reads an index there, and its SQLite side and FTS5 tables."""

    table: sa.Table
    key: str
    identifiers: tuple[str, ...]
    names: tuple[str, ...]
    starts_with: StartsWith
    side: sa.Table
    fts: str


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: after (``forward``) or before the row of ``rank`` and ``key`` (``key`` ``None``:
    the very start, or with rank :data:`END` the very end), with ``position`` matches before that point."""

    forward: bool = True
    rank: int = BEST
    key: str | None = None
    position: int = 0

    def encode(self) -> str:
        raw = orjson.dumps([1 if self.forward else 0, self.rank, self.key, self.position])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """The cursor a page link carries, or ``None`` for anything else (then the first page is served)."""
        try:
            forward, rank, key, position = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            return None
        valid = (
            forward in (0, 1)
            and isinstance(rank, int)
            and BEST <= rank <= END
            and (key is None or (isinstance(key, str) and len(key) <= 1000))
            and isinstance(position, int)
            and 0 <= position <= 10**9
        )
        return cls(bool(forward), rank, key, position) if valid else None


def last_page() -> Cursor:
    """The cursor of the last page (read backwards from the end)."""
    return Cursor(False, END, None, 0)


@dataclass(frozen=True, slots=True)
class Found:
    """A page of matches (ids, in order), the capped total, and the cursors around the page."""

    ids: list[str]
    total: int
    exact: bool
    offset: int
    """Matches before the first one of the page."""
    next: Cursor | None = None
    previous: Cursor | None = None


@dataclass(frozen=True, slots=True)
class _Hit:
    id: str
    key: str
    rank: int


class _Query:
    """The statements of one search: a term, filters (column name → value, AND-ed) on one space."""

    def __init__(self, connection: Connection, space: Space, term: Term, filters: Mapping[str, Any]) -> None:
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"
        self.space = space
        self.term = term
        self.filters = dict(filters)

    # --------------------------------------------------------------- rank and needles

    def _position(self, text: sa.ColumnElement[Any], needle: str) -> sa.ColumnElement[int]:
        return sa.func.instr(text, needle) if self.sqlite else sa.func.strpos(text, needle)

    def rank(self, columns: Any) -> sa.ColumnElement[Any]:
        """The rank of a row (``NULL`` when it does not match) from ``columns`` (a table's or a CTE's)."""
        if self.term.substring:
            text, folded = columns.search_text, self.term.folded
            exact, starts = self._position(text, FIELD + folded + FIELD), self._position(text, FIELD + folded)
            names, word = self._position(text, NAMES), self._position(text, WORD + folded)
            return sa.case(
                (sa.and_(exact > 0, exact < names), 0),
                (sa.and_(starts > 0, starts < names), 1),
                (sa.or_(starts > 0, word > 0), 2),
                (self._position(text, folded) > 0, SUBSTRING),
                else_=sa.null(),
            )
        prefix = self.term.prefix

        def begins(name: str) -> sa.ColumnElement[bool]:
            return sa.func.substr(columns[name], 1, len(prefix)) == prefix

        whens: list[tuple[sa.ColumnElement[bool], int]] = [
            (sa.or_(*(columns[name] == prefix for name in self.space.identifiers)), 0),
            (sa.or_(*(begins(name) for name in self.space.identifiers)), 1),
        ]
        if self.space.names:
            whens.append((sa.or_(*(begins(name) for name in self.space.names)), 2))
        return sa.case(*whens, else_=sa.null())

    def _needles(self, part: str) -> list[str]:
        """What the trigram index looks up for the rows of ``part``: a field's or a word's beginning for
        :data:`STARTS` (ranks 0–2), the term anywhere otherwise."""
        folded = self.term.folded
        return [FIELD + folded, WORD + folded] if part == STARTS else [folded]

    # --------------------------------------------------------------- candidates

    def _columns(self) -> list[str]:
        return list(dict.fromkeys(["id", self.space.key, "search_text", *self._rank_columns(), *self.filters]))

    def _rank_columns(self) -> tuple[str, ...]:
        return () if self.term.substring else (*self.space.identifiers, *self.space.names)

    def candidates(self, part: str, names: Sequence[str]) -> sa.Select[Any]:
        """``names`` of the rows an index finds for ``part`` (a superset of it), filters applied."""
        table = self.space.table
        columns: list[sa.ColumnElement[Any]] = [table.c[name] for name in names] or [sa.literal(1)]
        filters = [self._unindexed(table.c[name]) == value for name, value in self.filters.items()]
        if not self.term.substring:
            wanted = (*self.space.identifiers, *self.space.names)
            found = [self.space.starts_with(self.connection, table.c[name], self.term.prefix) for name in wanted]
            return sa.select(*columns).where(sa.or_(*found), *filters)
        if not self.sqlite:
            patterns = [table.c.search_text.like(_contains(needle), escape="\\") for needle in self._needles(part)]
            return sa.select(*columns).where(sa.or_(*patterns), *filters)
        side = self.space.side
        fts = sa.table(self.space.fts, sa.column("rowid"))
        query = " OR ".join(_phrase(needle) for needle in self._needles(part))
        match = sa.literal_column(self.space.fts).op("MATCH")(query)
        if not names and not filters:  # a count of every match: the FTS5 index alone
            return sa.select(sa.literal(1)).select_from(fts).where(match)
        copied = {"id": side.c.owner_id, self.space.key: side.c.key, "search_text": side.c.search_text}
        if set(names) <= set(copied) and not filters:  # the side table holds all that is asked
            columns = [copied[name].label(name) for name in names]
            return sa.select(*columns).select_from(fts.join(side, side.c.id == fts.c.rowid)).where(match)
        joined = fts.join(side, side.c.id == fts.c.rowid).join(table, table.c.id == side.c.owner_id)
        return sa.select(*columns).select_from(joined).where(match, *filters)

    def _unindexed(self, column: sa.Column[Any]) -> sa.ColumnElement[Any]:
        """On SQLite, ``+table.column``: the filter is tested on the rows the search index found, never chosen
        as the way in (SQLite's planner has no statistics)."""
        if not self.sqlite:
            return column
        return sa.literal_column(f"+{column.table.name}.{column.name}", type_=column.type)  # type: ignore[attr-defined]

    # --------------------------------------------------------------- statements

    def count(self, cap: int) -> int:
        """How many rows match, counted up to ``cap`` (on SQLite without filters, by the FTS5 index alone)."""
        capped = self.candidates(ALL, []).limit(cap).subquery("capped")
        return int(self.connection.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())

    def gather(self, part: str, after: Cursor, limit: int) -> list[_Hit]:
        """Up to ``limit`` rows of ``part`` past ``after``, through the index: the candidates are gathered and
        ranked first, once each (a ``MATERIALIZED`` CTE of ids, keys and ranks), then kept by rank and cursor
        and sorted."""
        rows = self.connection.execute(self._gathered(part, after, limit))
        return [_Hit(row.id, row.key, int(row.rank)) for row in rows]

    def gather_counted(self, after: Cursor, limit: int, cap: int, rank_at_most: int) -> tuple[list[_Hit], int]:
        """How many rows match, counted up to ``cap``, and, when at most ``rank_at_most``, the page
        :meth:`gather` would read, in one statement: the matches are gathered once (at most ``cap``, a
        ``MATERIALIZED`` CTE), counted, and only ranked and sorted when few enough."""
        rows = self.connection.execute(self._gathered(ALL, after, limit, (cap, rank_at_most))).all()
        return [_Hit(row.id, row.key, int(row.rank)) for row in rows if row.id is not None], int(rows[0].seen)

    def _gathered(self, part: str, after: Cursor, limit: int, counted: tuple[int, int] | None = None) -> sa.Select[Any]:
        found = self.candidates(part, self._columns())
        seen: sa.Subquery | None = None
        if counted is None:
            inner = found.subquery("found")
        else:
            gathered = found.limit(counted[0]).cte("gathered").prefix_with("MATERIALIZED")
            seen = sa.select(sa.func.count().label("seen")).select_from(gathered).subquery("counted")
            few = sa.select(seen.c.seen).scalar_subquery() <= counted[1]
            inner = sa.select(gathered).where(few).subquery("found")
        ranked = (
            sa.select(inner.c.id, inner.c[self.space.key].label("key"), self.rank(inner.c).label("rank"))
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        where: list[sa.ColumnElement[bool]] = []
        if part == INSIDE:
            where.append(ranked.c.rank == SUBSTRING)
        elif not self.term.substring:  # a prefix's candidates may match none of the ranks' tests
            where.append(ranked.c.rank.is_not(None))
        order: list[sa.ColumnElement[Any]] = [ranked.c.rank, ranked.c.key]
        if after.key is not None or after.rank != BEST:
            here, mark = sa.tuple_(ranked.c.rank, ranked.c.key), sa.tuple_(after.rank, after.key or "")
            if after.key is None:  # from the very start (forward) or end (backward) of a rank
                where.append(ranked.c.rank >= after.rank if after.forward else ranked.c.rank <= after.rank)
            else:
                where.append(here > mark if after.forward else here < mark)
        if not after.forward:
            order = [column.desc() for column in order]
        page = sa.select(ranked).where(*where).order_by(*order).limit(limit)
        if seen is None:
            return page
        shown = page.subquery("shown")  # the count comes with every row, and alone when the page is empty
        joined = seen.outerjoin(shown, sa.true())
        return (
            sa.select(shown.c.id, shown.c.key, shown.c.rank, seen.c.seen)
            .select_from(joined)
            .order_by(*([shown.c.rank, shown.c.key] if after.forward else [shown.c.rank.desc(), shown.c.key.desc()]))
        )

    def walk(self, after: Cursor, limit: int) -> list[_Hit]:
        """Up to ``limit`` rows of rank 3 past ``after``: walking the key's index a range of :data:`WALK_CHUNK`
        keys at a time, at most :data:`WALK_CHUNKS` ranges (dense matches fill a page in one or two), then, if
        the page is still not full (the matches are further apart here), gathering the rest through the index.

        A range is bounded first (the key :data:`WALK_CHUNK` entries on, read from the index alone), so that a
        walk reads at most that many rows whatever the planner, and stops as soon as the page is full."""
        table, key = self.space.table, self.space.table.c[self.space.key]
        forward = after.forward
        hits: list[_Hit] = []
        mark = after.key if after.rank == SUBSTRING else None
        for _ in range(WALK_CHUNKS):
            beyond = [] if mark is None else [key > mark if forward else key < mark]
            order = key if forward else key.desc()
            edge = sa.select(key).where(*beyond).order_by(order).offset(WALK_CHUNK - 1).limit(1)
            end = self.connection.execute(edge).scalar()
            within = [] if end is None else [key <= end if forward else key >= end]
            filters = [self._unindexed(table.c[name]) == value for name, value in self.filters.items()]
            kept = (
                sa.select(table.c.id, key.label("key"))
                .where(*beyond, *within, self.rank(table.c) == SUBSTRING, *filters)
                .order_by(order)
                .limit(limit - len(hits))
            )
            hits.extend(_Hit(row.id, row.key, SUBSTRING) for row in self.connection.execute(kept))
            if len(hits) >= limit or end is None:  # full, or the end of the table
                return hits
            mark = end
        rest = Cursor(forward, SUBSTRING, mark, 0)
        return hits + self.gather(INSIDE, rest, limit - len(hits))


def _contains(needle: str) -> str:
    """A ``LIKE`` pattern matching strings that hold ``needle`` (escape character ``\\``)."""
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(needle: str) -> str:
    """An FTS5 phrase: the needle's trigrams, consecutive (an exact substring)."""
    return '"' + needle.replace('"', '""') + '"'


# --------------------------------------------------------------------------------------- searching


def search(
    connection: Connection,
    space: Space,
    term: Term,
    *,
    filters: Mapping[str, Any] | None = None,
    cursor: Cursor | None = None,
    per_page: int = 50,
    gather_at_most: int | None = None,
) -> Found:
    """One page of the rows of ``space`` that match ``term`` (and ``filters``), by relevance then key; the
    page after (or before) ``cursor``, else the first. ``gather_at_most``: see :data:`GATHER_AT_MOST`."""
    query = _Query(connection, space, term, filters or {})
    start = cursor or Cursor()
    if gather_at_most is None:
        gather_at_most = GATHER_AT_MOST.get(connection.dialect.name, GATHER_AT_MOST["sqlite"])
    with _index_scans(connection):
        hits, total = _read(query, start, per_page + 1, gather_at_most)
    if total == 0:
        return Found([], 0, True, 0)
    exact = total <= CAP
    if start.forward:
        if not hits and start.key is not None:  # the cursor's row and all after it are gone: start over
            return search(connection, space, term, filters=filters, per_page=per_page, gather_at_most=gather_at_most)
        more = len(hits) > per_page
        hits = hits[:per_page]
        offset = min(start.position, max(0, total - len(hits))) if exact else start.position
    else:
        wanted = (total - 1) % per_page + 1 if start.key is None and exact else per_page
        before = len(hits) > wanted
        hits = hits[:wanted][::-1]
        if not before and len(hits) < per_page:  # reached the start: serve a full first page
            return search(connection, space, term, filters=filters, per_page=per_page, gather_at_most=gather_at_most)
        end = total if start.key is None else start.position
        offset = max(0, end - len(hits)) if before else 0
        more = start.key is not None
    following = Cursor(True, hits[-1].rank, hits[-1].key, offset + len(hits)) if hits and more else None
    preceding = Cursor(False, hits[0].rank, hits[0].key, offset) if hits and offset > 0 else None
    return Found([hit.id for hit in hits], total, exact, offset, following, preceding)


@contextmanager
def _index_scans(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, the search's statements planned without sequential scans. Its planner cannot know where
    the matches of a ``LIKE '%…%'`` are: for a frequent term under ``LIMIT`` (the count up to 10,001), or one
    whose trigrams it deems common, it reads the table in order, testing every row, where the GIN index's
    bitmap reads only the rows that hold the term's trigrams (three times faster at 100,000 users). Every
    statement here has an index to read (the GIN index, the username index, the primary key). ``SET`` then
    ``RESET``: in a transaction that fails meanwhile, its rollback undoes the ``SET`` anyway."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql("SET enable_seqscan = off")
    try:
        yield
    finally:
        with suppress(sa.exc.DBAPIError):  # an aborted transaction: its rollback restores the setting
            connection.exec_driver_sql("RESET enable_seqscan")


def _read(query: _Query, start: Cursor, limit: int, gather_at_most: int) -> tuple[list[_Hit], int]:
    """Up to ``limit`` rows from ``start`` on (backwards for a backward cursor), and the total (counted up to
    :data:`CAP` + 1). At most ``gather_at_most`` matches are all gathered, ranked and sorted; more (a dense
    term) have ranks 0–2 gathered and rank 3 walked (a prefix's matches are all gathered)."""
    if query.sqlite and not query.filters:  # the FTS5 index counts alone: count, then read
        total = query.count(CAP + 1)
        if total <= gather_at_most or not query.term.substring:
            return (query.gather(ALL, start, limit) if total else []), total
    else:  # counting reads the rows: one statement counts and, for few matches, reads the page too
        gather_at_most = min(gather_at_most, CAP)  # past CAP, the rows gathered are not all the matches
        hits, total = query.gather_counted(start, limit, CAP + 1, gather_at_most)
        if total <= gather_at_most:
            return hits, total
        if not query.term.substring:
            return query.gather(ALL, start, limit), total
    if start.forward:
        hits = query.gather(STARTS, start, limit) if start.rank < SUBSTRING else []
        if len(hits) < limit:
            after = start if start.rank == SUBSTRING else Cursor(True, SUBSTRING, None, 0)
            hits += query.walk(after, limit - len(hits))
        return hits, total
    hits = []
    if start.rank >= SUBSTRING:
        hits = query.walk(start if start.rank == SUBSTRING else Cursor(False, SUBSTRING, None, 0), limit)
    if len(hits) < limit:
        before = start if start.rank < SUBSTRING else Cursor(False, SUBSTRING - 1, None, 0)
        hits += query.gather(STARTS, before, limit - len(hits))
    return hits, total
