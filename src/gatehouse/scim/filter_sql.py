"""The SQL that differs between SQLite and PostgreSQL in a compiled SCIM filter.

JSON documents are text columns read with ``json_extract``/``json_each`` on SQLite and with
``#>>``/``->>``/``json_array_elements`` on PostgreSQL; "some child row matches" is planned as
``IN`` on SQLite and ``EXISTS`` on PostgreSQL. JSON keys only ever come from the attribute
whitelist, are checked against the attribute-name alphabet, and are always bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

Predicate: TypeAlias = sa.ColumnElement[bool]
SortKey: TypeAlias = sa.ColumnElement[Any]
"""What a search orders by (:func:`gatehouse.scim.filter.compile_sort`), before the id."""

DIALECTS = ("sqlite", "postgresql")

_JSON_KEY = re.compile(r"\$?[A-Za-z][A-Za-z0-9$_.:-]*")


def _checked(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse a JSON key outside the attribute-name alphabet (keys only come from the whitelist)."""
    for key in keys:
        if not _JSON_KEY.fullmatch(key):
            raise ValueError(f"not a SCIM attribute name: {key!r}")
    return keys


def _sqlite_path(keys: tuple[str, ...]) -> str:
    """A SQLite JSON path with every key quoted: ``$."name"."givenName"``."""
    return "$" + "".join(f'."{key}"' for key in _checked(keys))


def json_member(dialect: str, document: sa.ColumnElement[Any], keys: tuple[str, ...]) -> sa.ColumnElement[Any]:
    """The scalar at ``keys`` in a JSON text column, ``NULL`` when absent.

    SQLite: ``json_extract(doc, '$."a"."b"')``; PostgreSQL: ``CAST(doc AS JSON) #>> '{a,b}'``. The
    path is always a bound parameter.
    """
    if dialect == "sqlite":
        return sa.func.json_extract(document, sa.literal(_sqlite_path(keys), sa.String))
    path = sa.literal(list(_checked(keys)), postgresql.ARRAY(sa.Text))
    return sa.cast(document, postgresql.JSON).op("#>>", return_type=sa.Text)(path)


def json_elements(dialect: str, document: sa.ColumnElement[Any], key: str) -> sa.TableValuedAlias:
    """The elements of the array at ``key`` of a JSON text column, as a table with a ``value`` column."""
    if dialect == "sqlite":
        rows = sa.func.json_each(document, sa.literal(_sqlite_path((key,)), sa.String))
    else:
        array = sa.cast(document, postgresql.JSON).op("->", return_type=postgresql.JSON)(
            sa.literal(_checked((key,))[0], sa.Text)
        )
        rows = sa.func.json_array_elements(array)
    return rows.table_valued("value").alias("e")


def element_member(dialect: str, element: sa.ColumnElement[Any], key: str) -> sa.ColumnElement[Any]:
    """A member of one array element (a JSON object) of :func:`json_elements`."""
    if dialect == "sqlite":
        return json_member(dialect, element, (key,))
    return element.op("->>", return_type=sa.Text)(sa.literal(_checked((key,))[0], sa.Text))


def json_bools(dialect: str) -> tuple[Any, Any]:
    """What a JSON ``false``/``true`` reads as: ``json_extract`` gives 0/1, ``->>`` gives text."""
    return (0, 1) if dialect == "sqlite" else ("false", "true")


def semi_join(
    dialect: str, outer: sa.Column[Any], inner: sa.ColumnElement[Any], rows: sa.FromClause
) -> Callable[[Predicate | None], Predicate]:
    """Build "some child row of the resource satisfies the condition", planned for each database.

    SQLite plans ``outer IN (SELECT inner ... WHERE condition)`` from the child's index (a correlated
    ``EXISTS`` would scan every resource); PostgreSQL turns ``EXISTS`` into a semi-join, and
    ``NOT EXISTS`` into an anti-join where ``NOT IN`` would be a hashed sub-plan.
    """

    def some(condition: Predicate | None) -> Predicate:
        conditions = [] if condition is None else [condition]
        if dialect == "sqlite":
            return outer.in_(sa.select(inner).select_from(rows).where(*conditions))
        query: sa.Select[Any] = sa.select(sa.literal_column("1")).select_from(rows)
        query = query.where(inner == outer, *conditions)
        return sa.exists(query.correlate(outer.table))

    return some
