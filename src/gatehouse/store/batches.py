"""Reads by many ids, a bounded ``IN (…)`` list at a time (both databases cap a statement's parameters)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.records import Reference

R = TypeVar("R")

CHUNK = 500
"""Ids in one ``IN (…)`` list."""


def in_chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """The distinct ``ids``, first occurrence first, as lists of at most :data:`CHUNK`."""
    distinct = list(dict.fromkeys(ids))
    for start in range(0, len(distinct), CHUNK):
        yield distinct[start : start + CHUNK]


def rows_by(
    connection: Connection, key: sa.Column[str], ids: Iterable[str], *order: sa.ColumnElement[Any]
) -> dict[str, list[sa.Row[Any]]]:
    """The rows of ``key``'s table whose ``key`` is one of ``ids``, grouped by it: every id is a key (with
    ``[]`` when it has no row), and each id's rows come in ``order``."""
    found: dict[str, list[sa.Row[Any]]] = {key_id: [] for key_id in dict.fromkeys(ids)}
    for chunk in in_chunks(found):
        rows = connection.execute(sa.select(key.table).where(key.in_(chunk)).order_by(key, *order))
        for row in rows:
            found[row._mapping[key]].append(row)
    return found


def records_by(
    connection: Connection,
    key: sa.Column[str],
    ids: Iterable[str],
    record: Callable[[sa.Row[Any]], R],
    *order: sa.ColumnElement[Any],
) -> dict[str, list[R]]:
    """:func:`rows_by`, each row made a record by ``record``: a user's role assignments, say."""
    return {key_id: [record(row) for row in rows] for key_id, rows in rows_by(connection, key, ids, *order).items()}


def references_by(
    connection: Connection,
    key: sa.Column[str],
    ids: Iterable[str],
    link: sa.Column[str],
    name: sa.Column[str],
    name_lower: sa.Column[str],
) -> dict[str, list[Reference]]:
    """What the rows of ``key``'s table link each of ``ids`` to (``link``, the id of a row of ``name``'s table),
    as references (id, ``name``) by ``name_lower``, then id: every id is a key (with ``[]`` when it links to
    nothing). A user's groups through ``group_members``, say, or a group's roles through its bindings."""
    target = name.table
    found: dict[str, list[Reference]] = {key_id: [] for key_id in dict.fromkeys(ids)}
    for chunk in in_chunks(found):
        rows = connection.execute(
            sa.select(key, target.c.id, name)
            .join(target, target.c.id == link)
            .where(key.in_(chunk))
            .order_by(key, name_lower, target.c.id)
        )
        for key_id, target_id, shown in rows:
            found[key_id].append(Reference(target_id, shown))
    return found
