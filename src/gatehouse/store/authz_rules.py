"""The forward-auth rule table's storage: custom rules, in order (see :mod:`gatehouse.iam.gateway_rules`).

Functions take an open connection and never commit. Order is ``position`` then id; inserting at an index or
moving a rule renumbers the rules whose place changes, in the caller's transaction. Every change of a
rule's fields increments its ``version`` (compiled rules may be cached under (id, version)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import NotFound, PreconditionFailed
from gatehouse.store.records import as_utc
from gatehouse.store.tables import authz_rules
from gatehouse.store.write_outcomes import not_written, read_back


@dataclass(frozen=True, slots=True)
class RuleWrite:
    """A rule's fields, already checked (by :func:`gatehouse.iam.gateway_rules.compile_rule`)."""

    methods: tuple[str, ...]
    path: str
    action: str
    resource: str
    query: Mapping[str, str]
    labels: Mapping[str, Mapping[str, str]]
    description: str = ""

    def columns(self) -> dict[str, Any]:
        return {
            "methods": ",".join(self.methods),
            "path": self.path,
            "action": self.action,
            "resource": self.resource,
            "query": orjson.dumps(dict(self.query), option=orjson.OPT_SORT_KEYS).decode(),
            "labels": orjson.dumps({k: dict(v) for k, v in self.labels.items()}, option=orjson.OPT_SORT_KEYS).decode(),
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A stored rule."""

    id: str
    position: int
    methods: tuple[str, ...]
    path: str
    action: str
    resource: str
    query: dict[str, str]
    labels: dict[str, dict[str, str]]
    description: str
    created: datetime
    updated: datetime
    version: int


def _gone() -> NotFound:
    return NotFound("There is no such rule. It may have been deleted.")


def _stored(row: Any) -> StoredRule:
    query = orjson.loads(row.query)
    labels = orjson.loads(row.labels)
    return StoredRule(
        row.id,
        row.position,
        tuple(method for method in row.methods.split(",") if method),
        row.path,
        row.action,
        row.resource,
        {str(k): str(v) for k, v in query.items()} if isinstance(query, dict) else {},
        {str(k): {str(a): str(b) for a, b in v.items()} for k, v in labels.items()} if isinstance(labels, dict) else {},
        row.description,
        as_utc(row.created),
        as_utc(row.updated),
        row.version,
    )


_ORDER = (authz_rules.c.position, authz_rules.c.id)


def all_rules(connection: Connection) -> list[StoredRule]:
    """Every custom rule, in order."""
    return [_stored(row) for row in connection.execute(sa.select(authz_rules).order_by(*_ORDER))]


def get(connection: Connection, rule_id: str) -> StoredRule | None:
    """One rule, or ``None``."""
    row = connection.execute(sa.select(authz_rules).where(authz_rules.c.id == rule_id)).first()
    return None if row is None else _stored(row)


def count(connection: Connection) -> int:
    """How many custom rules there are."""
    return int(connection.execute(sa.select(sa.func.count()).select_from(authz_rules)).scalar_one())


def _order(connection: Connection) -> list[tuple[str, int]]:
    rows = connection.execute(sa.select(authz_rules.c.id, authz_rules.c.position).order_by(*_ORDER))
    return [(row.id, row.position) for row in rows]


def _renumber(connection: Connection, current: list[tuple[str, int]], wanted: list[str]) -> None:
    """Give the rules of ``wanted`` the positions 0, 1, …, writing only those that change."""
    was = dict(current)
    for position, rule_id in enumerate(wanted):
        if was.get(rule_id) != position:
            connection.execute(authz_rules.update().where(authz_rules.c.id == rule_id).values(position=position))


def insert(
    connection: Connection, rule_id: str, write: RuleWrite, now: datetime, index: int | None = None
) -> StoredRule:
    """Add a rule at ``index`` in the order (0 first; ``None`` or past the end: last)."""
    current = _order(connection)
    place = len(current) if index is None else max(0, min(index, len(current)))
    values = {"id": rule_id, "position": len(current), "created": now, "updated": now, "version": 1}
    connection.execute(authz_rules.insert().values(**values, **write.columns()))
    ids = [existing for existing, _ in current]
    ids.insert(place, rule_id)
    _renumber(connection, [*current, (rule_id, len(current))], ids)
    return read_back(get, connection, rule_id)


def update(
    connection: Connection, rule_id: str, write: RuleWrite, now: datetime, expected_version: int | None = None
) -> StoredRule:
    """Replace a rule's fields (its place is kept); :class:`NotFound`, or :class:`PreconditionFailed` when it
    changed since ``expected_version``."""
    where = authz_rules.c.id == rule_id
    if expected_version is not None:
        where = sa.and_(where, authz_rules.c.version == expected_version)
    changed = connection.execute(
        authz_rules.update().where(where).values(**write.columns(), updated=now, version=authz_rules.c.version + 1)
    )
    if changed.rowcount == 0:
        raise not_written(
            get(connection, rule_id),
            _gone(),
            PreconditionFailed("The rule changed since you loaded it: reload it and try again."),
        )
    return read_back(get, connection, rule_id)


def move(connection: Connection, rule_id: str, index: int) -> StoredRule:
    """Put a rule at ``index`` in the order (clamped to the table); :class:`NotFound` if there is no such rule."""
    current = _order(connection)
    ids = [existing for existing, _ in current]
    if rule_id not in ids:
        raise _gone()
    ids.remove(rule_id)
    ids.insert(max(0, min(index, len(ids))), rule_id)
    _renumber(connection, current, ids)
    return read_back(get, connection, rule_id)


def index_of(connection: Connection, rule_id: str) -> int | None:
    """Where a rule is in the order (0 first), or ``None``."""
    ids = [existing for existing, _ in _order(connection)]
    return ids.index(rule_id) if rule_id in ids else None


def delete(connection: Connection, rule_id: str) -> StoredRule:
    """Delete a rule; the deleted rule, or :class:`NotFound`."""
    stored = get(connection, rule_id)
    if stored is None:
        raise _gone()
    connection.execute(authz_rules.delete().where(authz_rules.c.id == rule_id))
    return stored
