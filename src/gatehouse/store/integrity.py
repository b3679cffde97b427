"""The database's integrity check (``gatehouse db check``): does what is stored still hold together?

Read-only, on SQLite and PostgreSQL, in one snapshot. It counts the rows of every table, then checks:

- **storage** — SQLite's ``PRAGMA integrity_check`` (pages, indexes, constraints); on PostgreSQL, that no
  index of the schema is marked invalid;
- **foreign keys** — SQLite's ``PRAGMA foreign_key_check``, and on every database a search for rows whose
  foreign key names no row (an orphan), for each foreign key of the schema;
- **uniqueness**, by the rules the service promises (RFC 7643 §2.2 ``uniqueness``): a ``userName`` is
  unique across users, compared case-insensitively (``server``); a group's ``displayName`` likewise; the
  names of roles, permission policies and login options likewise; token digests are unique. E-mail
  addresses are ``uniqueness: none`` (RFC 7643 §4.1.2), so two users may share one; each user's e-mail
  rows must match the addresses of its document, which the ``emails.value`` filter relies on;
- **documents** — each user's and group's stored JSON is an object whose ``id`` is the row's, and whose
  ``userName`` / ``displayName`` is the one the row is indexed by;
- **user counts** — the counts the database keeps by source and state (``user_counts``, which a SCIM listing's
  ``totalResults`` reads) equal the users counted.

It never repairs anything: a finding names the table, the rows and what is wrong, for an operator to read.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import (
    governance_tables,  # noqa: F401  (its tables join metadata)
    migration,
)
from gatehouse.store.database import Database
from gatehouse.store.tables import (
    api_tokens,
    groups,
    login_options,
    metadata,
    permission_policies,
    roles,
    scim_tokens,
    user_counts,
    user_emails,
    users,
)

MAX_SHOWN = 10
"""Rows named per finding (the count says how many there are in all)."""

_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong: the check that found it, where, and what."""

    check: str
    table: str
    detail: str


@dataclass(slots=True)
class Report:
    """What the check found: row counts, the checks run, and the findings (none when all is well)."""

    dialect: str
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dialect": self.dialect,
            "counts": self.counts,
            "checks": self.checks,
            "findings": [{"check": f.check, "table": f.table, "detail": f.detail} for f in self.findings],
        }

    def text(self) -> str:
        """The report for people: counts, the checks run, then each finding."""
        lines = [f"Database integrity ({self.dialect})", "", "Rows:"]
        width = max((len(name) for name in self.counts), default=0)
        lines += [f"  {name.ljust(width)}  {count}" for name, count in self.counts.items()]
        lines += ["", "Checks:"] + [f"  {name}" for name in self.checks] + [""]
        if self.ok:
            lines.append("OK: no problem found.")
        else:
            lines.append(f"PROBLEMS: {len(self.findings)} found.")
            lines += [f"  [{f.check}] {f.table}: {f.detail}" for f in self.findings]
        return "\n".join(lines)


def _shown(items: list[Any]) -> str:
    text = ", ".join(repr(item) for item in items[:MAX_SHOWN])
    return text + (f" … ({len(items)} in all)" if len(items) > MAX_SHOWN else "")


def run(db: Database) -> Report:
    """:func:`check` in one read-only transaction of its own, rolled back (never committed, so that a damaged
    database file cannot fail the end of it)."""
    with db.engine.connect() as connection:
        connection.info["begin_mode"] = "DEFERRED"  # SQLite: one snapshot (see gatehouse.store.database)
        transaction = connection.begin()
        try:
            return check(connection)
        finally:
            with contextlib.suppress(sa.exc.DBAPIError):
                transaction.rollback()


def check(connection: Connection) -> Report:
    """Run every check on ``connection`` (read-only; use a snapshot for one consistent view)."""
    report = Report(connection.dialect.name)
    report.checks.append("migrations (the schema is at the head revision)")
    if not migration.at_head(connection):
        current = migration.current_revision(connection)
        head = migration.head_revision()
        detail = f"the schema is at revision {current or '(none)'}, not {head}: run 'gatehouse db upgrade'"
        report.findings.append(Finding("migrations", "(database)", detail))
        return report
    for table in sorted(metadata.sorted_tables, key=lambda table: table.name):
        try:
            with connection.begin_nested():
                count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            report.counts[table.name] = int(count)
        except sa.exc.DBAPIError as exc:
            report.findings.append(Finding("rows", table.name, f"could not be counted: {_reason(exc)}"))
    for name, run in _CHECKS:
        report.checks.append(name)
        try:  # a savepoint each, so that one failing statement does not end the others (PostgreSQL)
            with connection.begin_nested():
                report.findings.extend(list(run(connection)))
        except sa.exc.DBAPIError as exc:
            report.findings.append(Finding(name.split(" ")[0], "(database)", f"could not be checked: {_reason(exc)}"))
    return report


def _reason(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


# -- storage and foreign keys -----------------------------------------------------------------------------


def _storage(connection: Connection) -> Iterator[Finding]:
    if connection.dialect.name == "sqlite":
        rows = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            yield Finding("storage", "(database)", f"PRAGMA integrity_check: {_shown(rows)}")
        return
    invalid = connection.execute(
        sa.text(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready)"
        )
    ).scalars()
    names = sorted(invalid)
    if names:
        yield Finding("storage", "(database)", f"invalid indexes (rebuild them with REINDEX): {_shown(names)}")


def _foreign_keys(connection: Connection) -> Iterator[Finding]:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        by_table: dict[str, list[Any]] = defaultdict(list)
        for table, rowid, parent, _ in rows:
            by_table[f"{table} -> {parent}"].append(rowid)
        for name, rowids in by_table.items():
            yield Finding(
                "foreign keys", name.split(" ")[0], f"PRAGMA foreign_key_check: {name}, rowids {_shown(rowids)}"
            )
    for table in metadata.sorted_tables:
        for key in table.foreign_key_constraints:
            parent = key.referred_table
            child_columns = list(key.columns)
            parent_columns = [element.column for element in key.elements]
            joined = sa.and_(*(c == p for c, p in zip(child_columns, parent_columns, strict=True)))
            present = sa.and_(*(c.is_not(None) for c in child_columns))
            orphans = connection.execute(
                sa.select(*child_columns)
                .select_from(table.outerjoin(parent, joined))
                .where(present, parent_columns[0].is_(None))
                .limit(MAX_SHOWN + 1)
            ).all()
            if orphans:
                names = ", ".join(c.name for c in child_columns)
                values = [row[0] if len(row) == 1 else tuple(row) for row in orphans]
                yield Finding(
                    "foreign keys",
                    table.name,
                    f"rows whose {names} names no row of {parent.name}: {_shown(values)}",
                )


# -- uniqueness -------------------------------------------------------------------------------------------


def _batches(connection: Connection, statement: sa.Select[Any]) -> Iterator[Any]:
    yield from connection.execute(statement.execution_options(yield_per=_BATCH))


def _unique_names(
    connection: Connection, table: sa.Table, key: str, name: str, lowered: str, what: str
) -> Iterator[Finding]:
    """``lowered`` is ``name`` in lower case on every row, and no two rows share it (case-insensitive)."""
    owners: dict[str, list[str]] = defaultdict(list)
    mismatched: list[str] = []
    for row in _batches(connection, sa.select(table.c[key], table.c[name], table.c[lowered])):
        ident, value, stored = row
        owners[str(value).lower()].append(ident)
        if stored != str(value).lower()[: getattr(table.c[lowered].type, "length", None)]:
            mismatched.append(ident)
    duplicates = {value: ids for value, ids in owners.items() if len(ids) > 1}
    if duplicates:
        shown = [f"{value!r} ({', '.join(ids[:3])})" for value, ids in list(duplicates.items())[:MAX_SHOWN]]
        yield Finding(
            "uniqueness",
            table.name,
            f"{len(duplicates)} {what}(s) held by more than one row (compared case-insensitively): " + "; ".join(shown),
        )
    if mismatched:
        yield Finding("uniqueness", table.name, f"{lowered} is not {name} in lower case for {_shown(mismatched)}")


def _uniqueness(connection: Connection) -> Iterator[Finding]:
    yield from _unique_names(connection, users, "id", "user_name", "user_name_lower", "userName")
    yield from _unique_names(connection, groups, "id", "display_name", "display_name_lower", "group displayName")
    yield from _unique_names(connection, roles, "id", "name", "name_lower", "role name")
    yield from _unique_names(connection, permission_policies, "id", "name", "name_lower", "policy name")
    yield from _unique_names(connection, login_options, "id", "name", "name_lower", "login option name")
    for table in (scim_tokens, api_tokens):
        taken = connection.execute(
            sa.select(table.c.token_hash).group_by(table.c.token_hash).having(sa.func.count() > 1)
        ).scalars()
        clashes = list(taken)
        if clashes:
            yield Finding("uniqueness", table.name, f"token digests held by more than one token: {_shown(clashes)}")


# -- documents --------------------------------------------------------------------------------------------


def _email_values(doc: dict[str, Any]) -> list[tuple[int, str]]:
    found = []
    for position, entry in enumerate(doc.get("emails") or []):
        value = entry.get("value") if isinstance(entry, dict) else None
        if value:
            found.append((position, str(value).lower()[:320]))
    return found


def _documents(connection: Connection) -> Iterator[Finding]:
    emails: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for user_id, position, value in _batches(
        connection, sa.select(user_emails.c.user_id, user_emails.c.position, user_emails.c.value_lower)
    ):
        emails[user_id].append((position, value))
    bad_users: list[str] = []
    bad_emails: list[str] = []
    for user_id, user_name, data in _batches(connection, sa.select(users.c.id, users.c.user_name, users.c.data)):
        doc = _parsed(data)
        if doc is None or doc.get("id") != user_id or doc.get("userName") != user_name:
            bad_users.append(user_id)
            continue
        if sorted(_email_values(doc)) != sorted(emails.get(user_id, [])):
            bad_emails.append(user_id)
    if bad_users:
        yield Finding(
            "documents",
            "users",
            f"stored documents that are not an object with the row's id and userName: {_shown(bad_users)}",
        )
    if bad_emails:
        yield Finding(
            "documents", "user_emails", f"e-mail rows that differ from the user's document: {_shown(bad_emails)}"
        )
    bad_groups = [
        group_id
        for group_id, name, data in _batches(connection, sa.select(groups.c.id, groups.c.display_name, groups.c.data))
        if (doc := _parsed(data)) is None or doc.get("id") != group_id or doc.get("displayName") != name
    ]
    if bad_groups:
        yield Finding(
            "documents",
            "groups",
            f"stored documents that are not an object with the row's id and displayName: {_shown(bad_groups)}",
        )


def _user_counts(connection: Connection) -> Iterator[Finding]:
    by, kept_by = (users.c.source, users.c.active), (user_counts.c.source, user_counts.c.active)
    counted = {(s, bool(a)): n for s, a, n in connection.execute(sa.select(*by, sa.func.count()).group_by(*by))}
    kept = connection.execute(sa.select(*kept_by, sa.func.sum(user_counts.c.tally)).group_by(*kept_by))
    wrong = []
    for source, active, tally in kept:
        users_there = counted.get((source, bool(active)), 0)
        if int(tally) != users_there:
            wrong.append(f"{source} {'active' if active else 'inactive'}: {int(tally)} kept, {users_there} counted")
    if wrong:
        yield Finding("user counts", "user_counts", f"kept counts that differ from the users: {_shown(wrong)}")


def _parsed(data: str) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


_CHECKS: tuple[tuple[str, Callable[[Connection], Iterator[Finding]]], ...] = (
    ("storage (SQLite integrity_check / PostgreSQL index validity)", _storage),
    ("foreign keys (SQLite foreign_key_check, orphaned rows)", _foreign_keys),
    ("uniqueness (userName, group displayName, role/policy/login option names, token digests)", _uniqueness),
    ("documents (users and groups match their rows; e-mail rows match the documents)", _documents),
    ("user counts (the counts kept by source and state match the users)", _user_counts),
)
