"""User repository: the storage contract for users (RFC 7643 §4.1), on SQLite and PostgreSQL.

Functions take an open connection and never commit: the request boundary does. Uniqueness is decided
by the database (unique index on lower-cased ``userName``); stale writes by a version predicate in the
``UPDATE`` itself, so an ``If-Match`` check and the write are one atomic step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, NotFound
from gatehouse.resources.search import search_text
from gatehouse.store import driver, page_anchors, user_counts, user_writes
from gatehouse.store.batches import in_chunks, references_by
from gatehouse.store.pages import filtered_page
from gatehouse.store.records import Reference, StoredUser
from gatehouse.store.tables import group_members, groups, user_emails, users
from gatehouse.store.write_outcomes import not_written, read_back

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True, slots=True)
class UserWrite:
    """Everything written for one user: the canonical document plus its derived index columns."""

    id: str
    doc: dict[str, Any]
    source: str = "scim"
    password_hash: str | None = None
    super_admin: bool = False
    keep_password: bool = False

    @property
    def user_name(self) -> str:
        return str(self.doc["userName"])

    def columns(self) -> dict[str, Any]:
        """The indexed columns derived from the document."""
        doc = self.doc
        name = doc.get("name") or {}
        display = doc.get("displayName") or name.get("formatted")
        if not display and (name.get("givenName") or name.get("familyName")):
            display = " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
        primary = _primary_email(doc.get("emails") or [])
        values: dict[str, Any] = {
            "user_name": self.user_name,
            "user_name_lower": self.user_name.lower(),
            "external_id": doc.get("externalId"),
            "active": bool(doc.get("active", True)),
            "display_name": display[:255] if display else None,
            "name_lower": display.lower()[:255] if display else None,
            "email_lower": primary.lower()[:320] if primary else None,
            "data": serialize(self.id, doc),
            "search_text": user_search_text(doc, display),
        }
        if not self.keep_password:
            values["password_hash"] = self.password_hash
        return values


def user_search_text(doc: dict[str, Any], display: str | None) -> str:
    """What a search finds the user by: userName, every e-mail and externalId, then the display name (as the
    Users page shows it), given and family name (:func:`gatehouse.resources.search.search_text`)."""
    sent = doc.get("name")
    name: dict[str, Any] = sent if isinstance(sent, dict) else {}
    emails = [str(e["value"]) for e in doc.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    identifiers = [str(doc.get("userName") or ""), *emails, _text(doc.get("externalId"))]
    return search_text(identifiers, [display, _text(name.get("givenName")), _text(name.get("familyName"))])


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _primary_email(emails: Sequence[dict[str, Any]]) -> str | None:
    for entry in emails:
        if entry.get("primary") and entry.get("value"):
            return str(entry["value"])
    for entry in emails:
        if entry.get("value"):
            return str(entry["value"])
    return None


def serialize(resource_id: str, doc: dict[str, Any]) -> str:
    """The stored JSON text: ``schemas`` and ``id`` first, then the document as given."""
    ordered: dict[str, Any] = {"schemas": doc.get("schemas", []), "id": resource_id}
    ordered.update((k, v) for k, v in doc.items() if k not in ("schemas", "id"))
    return orjson.dumps(ordered).decode()


def email_rows(user_id: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``user_emails`` rows of a document (one per email with a value; also used by the seeders)."""
    rows = []
    for position, entry in enumerate(doc.get("emails") or []):
        value = entry.get("value")
        if not value:
            continue
        rows.append(
            {
                "user_id": user_id,
                "position": position,
                "value_lower": str(value).lower()[:320],
                "type": entry.get("type"),
                "primary": bool(entry.get("primary", False)),
            }
        )
    return rows


_COLUMNS = "id, data, version, created, last_modified, source, super_admin, password_hash, active, user_name"
_USER_COLUMNS = tuple(users.c[name.strip()] for name in _COLUMNS.split(","))


def _to_user(row: Sequence[Any]) -> StoredUser:
    return StoredUser(
        id=row[0],
        data=row[1],
        version=row[2],
        created=driver.from_db_time(row[3]),
        last_modified=driver.from_db_time(row[4]),
        source=row[5],
        super_admin=bool(row[6]),
        password_hash=row[7],
        active=bool(row[8]),
        user_name=row[9],
    )


def get(connection: Connection, user_id: str) -> StoredUser | None:
    """The user with this id, or ``None``."""
    sql = f"SELECT {_COLUMNS} FROM users WHERE id = {driver.mark(connection, 'id')}"
    row = driver.fetch_one(connection, sql, {"id": user_id})
    return _to_user(row) if row else None


def get_by_user_name(connection: Connection, user_name: str) -> StoredUser | None:
    """The user whose ``userName`` matches case-insensitively (RFC 7643 §4.1.1), or ``None``."""
    sql = f"SELECT {_COLUMNS} FROM users WHERE user_name_lower = {driver.mark(connection, 'name')}"
    row = driver.fetch_one(connection, sql, {"name": user_name.lower()})
    return _to_user(row) if row else None


def _gone(user_id: str) -> NotFound:
    return NotFound(f"User {user_id} not found.")


def insert(connection: Connection, write: UserWrite, now: datetime) -> StoredUser:
    """Insert a user; a taken ``userName`` (in any case) raises :class:`Conflict`.

    The unique index decides: of concurrent inserts of one ``userName``, exactly one succeeds.
    """
    user_writes.added()
    values = _row(connection, write, now)
    try:
        driver.run(connection, driver.insert_sql(connection, "users", values), values)
    except driver.integrity_error(connection) as exc:
        raise Conflict(f"userName '{write.user_name}' is already in use.") from exc
    return _inserted(connection, write, values, now)


def insert_unless_taken(connection: Connection, write: UserWrite, now: datetime) -> tuple[StoredUser, bool]:
    """Insert a user unless its ``userName`` is taken (in any case): ``(the new user, True)``, else ``(the user
    holding the name, False)`` and nothing written.

    The unique index decides, in the insert itself (``ON CONFLICT (user_name_lower) DO NOTHING``, on SQLite and
    PostgreSQL): of concurrent inserts of one ``userName`` exactly one is made, and a free name costs no read
    before it. Any other violation raises :class:`Conflict` as :func:`insert` does.
    """
    user_writes.added()
    values = _row(connection, write, now)
    sql = driver.insert_sql(connection, "users", values) + " ON CONFLICT (user_name_lower) DO NOTHING"
    try:
        count = driver.run(connection, sql, values)
    except driver.integrity_error(connection) as exc:
        raise Conflict(f"userName '{write.user_name}' is already in use.") from exc
    if count == 1:
        return _inserted(connection, write, values, now), True
    holder = get_by_user_name(connection, write.user_name)
    if holder is None:  # PostgreSQL: the holder was deleted between the two statements
        raise Conflict(f"userName '{write.user_name}' is already in use.")
    return holder, False


def _row(connection: Connection, write: UserWrite, now: datetime) -> dict[str, Any]:
    """The ``users`` row of a new user."""
    values = write.columns()
    stored_now = driver.to_db_time(connection, now)
    values.update(
        id=write.id,
        source=write.source,
        super_admin=write.super_admin,
        created=stored_now,
        last_modified=stored_now,
        version=1,
    )
    values.setdefault("password_hash", None)
    return values


def _inserted(connection: Connection, write: UserWrite, values: dict[str, Any], now: datetime) -> StoredUser:
    """Write a just-inserted user's e-mail rows; the user as stored."""
    _insert_emails(connection, write.id, write.doc)
    return StoredUser(
        id=write.id,
        data=values["data"],
        version=1,
        created=now,
        last_modified=now,
        source=write.source,
        super_admin=write.super_admin,
        password_hash=values["password_hash"],
        active=values["active"],
        user_name=write.user_name,
    )


def update(connection: Connection, write: UserWrite, expected_version: int, now: datetime) -> StoredUser:
    """Replace a user's document if it is still at ``expected_version`` (RFC 7644 §3.14).

    The version predicate is part of the ``UPDATE``: the check and the write are one atomic step.
    """
    values = write.columns()
    values["last_modified"] = driver.to_db_time(connection, now)
    sql = (
        f"UPDATE users SET {driver.assignments(connection, values)}, version = version + 1 "
        f"WHERE id = {driver.mark(connection, 'where_id')} AND version = {driver.mark(connection, 'expected')}"
    )
    try:
        count = driver.run(connection, sql, {**values, "where_id": write.id, "expected": expected_version})
    except driver.integrity_error(connection) as exc:
        raise Conflict(f"userName '{write.user_name}' is already in use.") from exc
    if count != 1:
        raise not_written(get(connection, write.id), _gone(write.id))
    driver.run(connection, f"DELETE FROM user_emails WHERE user_id = {driver.mark(connection, 'id')}", {"id": write.id})
    _insert_emails(connection, write.id, write.doc)
    return read_back(get, connection, write.id)


def _insert_emails(connection: Connection, user_id: str, doc: dict[str, Any]) -> None:
    rows = email_rows(user_id, doc)
    if rows:
        driver.run_many(connection, driver.insert_sql(connection, "user_emails", rows[0]), rows)


def delete(connection: Connection, user_id: str, expected_version: int | None = None) -> None:
    """Delete a user and (by cascade) its emails and memberships."""
    user_writes.removed()
    condition = users.c.id == user_id
    if expected_version is not None:
        condition = sa.and_(condition, users.c.version == expected_version)
    connection.execute(group_members.delete().where(group_members.c.user_id == user_id))
    connection.execute(user_emails.delete().where(user_emails.c.user_id == user_id))
    result = connection.execute(users.delete().where(condition))
    if result.rowcount != 1:
        raise not_written(get(connection, user_id), _gone(user_id))


def groups_of(connection: Connection, user_ids: Iterable[str]) -> dict[str, list[Reference]]:
    """The direct groups of each user (RFC 7643 §4.1.2 ``groups``), computed from memberships."""
    members = group_members.c
    return references_by(
        connection, members.user_id, user_ids, members.group_id, groups.c.display_name, groups.c.display_name_lower
    )


def named_in(
    connection: Connection, user_id: sa.Column[str], condition: sa.ColumnElement[bool], limit: int
) -> tuple[int, list[str]]:
    """How many users the rows of ``user_id``'s table that meet ``condition`` name (each user once), and the
    user names of the first ``limit`` of them by user name (who holds a role, who has a boundary)."""
    count = connection.execute(sa.select(sa.func.count(sa.distinct(user_id))).where(condition)).scalar_one()
    names = connection.execute(
        sa.select(users.c.user_name)
        .where(users.c.id.in_(sa.select(user_id).where(condition)))
        .order_by(users.c.user_name_lower)
        .limit(limit)
    ).scalars()
    return int(count), list(names)


def existing_ids(connection: Connection, user_ids: Sequence[str], *, source: str | None = None) -> set[str]:
    """Which of ``user_ids`` exist (optionally only among users of ``source``)."""
    found: set[str] = set()
    for chunk in in_chunks(user_ids):
        query = sa.select(users.c.id).where(users.c.id.in_(chunk))
        if source is not None:
            query = query.where(users.c.source == source, users.c.super_admin.is_(False))
        found.update(connection.execute(query).scalars())
    return found


def set_active(connection: Connection, user_id: str, active: bool, now: datetime) -> None:
    """Set ``active`` without the SCIM round trip (admin actions); keeps ``data`` in step."""
    stored = get(connection, user_id)
    if stored is None:
        raise _gone(user_id)
    doc = orjson.loads(stored.data)
    doc["active"] = active
    doc.pop("id", None)
    connection.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(active=active, data=serialize(user_id, doc), version=users.c.version + 1, last_modified=now)
    )


def require_password_change(connection: Connection, user_id: str, required: bool) -> None:
    """Force (or stop forcing) a password change at the next sign-in."""
    connection.execute(users.update().where(users.c.id == user_id).values(must_change_password=required))


def set_password(connection: Connection, user_id: str, password_hash: str, *, must_change: bool) -> None:
    """Store a new password hash."""
    connection.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, must_change_password=must_change)
    )


def replace_password_hash(connection: Connection, user_id: str, old_hash: str, new_hash: str) -> bool:
    """Put ``new_hash`` (a stronger hash of the same password) in place of ``old_hash``; nothing, and
    ``False``, when the password changed since ``old_hash`` was read."""
    result = connection.execute(
        users.update().where(users.c.id == user_id, users.c.password_hash == old_hash).values(password_hash=new_hash)
    )
    return result.rowcount == 1


def lock(connection: Connection, user_id: str) -> bool:
    """Lock the user's row until the transaction ends (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write
    transaction already holds the only write lock); returns whether the user exists."""
    query = sa.select(users.c.id).where(users.c.id == user_id).with_for_update()
    return connection.execute(query).first() is not None


def set_source(connection: Connection, user_id: str, source: str, now: datetime) -> None:
    """Hand the user to ``source`` (a local account to the identity provider): the version moves and
    ``lastModified`` becomes ``now``; the document is unchanged."""
    user_writes.added()
    connection.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(source=source, version=users.c.version + 1, last_modified=now)
    )


def record_sign_in(connection: Connection, user_id: str, now: datetime) -> None:
    """Note that the user signed in (by password or SSO) at ``now``: their ``last_login_at``."""
    connection.execute(users.update().where(users.c.id == user_id).values(last_login_at=now))


def any_super_admin(connection: Connection) -> bool:
    """Whether any Super Admin account exists."""
    return connection.execute(sa.select(users.c.id).where(users.c.super_admin.is_(True)).limit(1)).first() is not None


@dataclass(frozen=True, slots=True)
class Standing:
    """What the authorizer reads of a user on every request."""

    user_name: str
    active: bool
    super_admin: bool


def standing(connection: Connection, user_id: str) -> Standing | None:
    """The user's name, status and Super Admin flag (one primary-key read), or ``None`` if there is no such user."""
    row = connection.execute(_STANDING, {"user_id": user_id}).first()
    return None if row is None else Standing(row.user_name, bool(row.active), bool(row.super_admin))


_STANDING: Final = sa.select(users.c.user_name, users.c.active, users.c.super_admin).where(
    users.c.id == sa.bindparam("user_id", type_=sa.String())
)
"""What :func:`standing` runs, built once (it runs on every authenticated request)."""


@dataclass(frozen=True, slots=True)
class SignInAccount:
    """An account as a password sign-in sees it."""

    id: str
    password_hash: str | None
    active: bool
    must_change_password: bool
    user_name: str


def sign_in_account(connection: Connection, identifier: str) -> SignInAccount | None:
    """The account a sign-in names, whatever its source: the one whose username is ``identifier`` (trimmed,
    in any case), else, for an e-mail address, the one account whose primary e-mail it is (``None`` when no
    account, or more than one, has it). E-mail local parts are compared case-insensitively, as IdPs do."""
    key = identifier.strip().lower()
    columns = (users.c.id, users.c.password_hash, users.c.active, users.c.must_change_password, users.c.user_name)
    row = connection.execute(sa.select(*columns).where(users.c.user_name_lower == key)).first()
    if row is None and "@" in key:
        rows = connection.execute(sa.select(*columns).where(users.c.email_lower == key).limit(2)).all()
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        return None
    return SignInAccount(row.id, row.password_hash, bool(row.active), bool(row.must_change_password), row.user_name)


def search_ids(
    connection: Connection,
    source: str,
    condition: sa.ColumnElement[bool] | None,
    order: sa.ColumnElement[Any] | None,
    *,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[str]]:
    """How many users of ``source`` meet ``condition`` (all of them when ``None``), and the ids of those from
    ``offset`` on, at most ``limit``: by ``order`` and then id (see :func:`~gatehouse.store.pages.filtered_page`)."""
    where = users.c.source == source
    if condition is None and order is None and not descending:
        return _listed_by_id(connection, source, offset, limit)
    if condition is not None:
        where = sa.and_(where, condition)
    total, rows = filtered_page(
        connection, users, (users.c.id,), where, order, descending=descending, offset=offset, limit=limit
    )
    return total, [row.id for row in rows]


def _listed_by_id(connection: Connection, source: str, offset: int, limit: int) -> tuple[int, list[str]]:
    """The whole listing by id, the page sought past an anchor when one is known (:mod:`page_anchors`)."""
    where = users.c.source == source
    total = user_counts.of_source(connection, source)  # kept by the database: a few rows, not a count of all
    if limit == 0 or total <= offset:
        return total, []
    query = sa.select(users.c.id).order_by(users.c.id).limit(limit)
    anchor = page_anchors.find(connection.engine, source, offset)
    if anchor is None:
        query = query.where(where).offset(offset)
    else:
        key, inclusive, skip = anchor
        query = query.where(where, users.c.id >= key if inclusive else users.c.id > key)
        if skip:
            query = query.offset(skip)
    ids = [row.id for row in connection.execute(query)]
    page_anchors.remember(connection.engine, source, offset, ids)
    return total, ids
