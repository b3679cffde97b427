"""One page of a filtered, sorted table: how many rows match, and the rows of the page (SCIM list
responses, RFC 7644 §3.4.2.3–§3.4.2.4), both computed by the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def filtered_page(
    connection: Connection,
    table: sa.Table,
    columns: Sequence[sa.ColumnElement[Any]],
    condition: sa.ColumnElement[bool],
    order: sa.ColumnElement[Any] | None,
    *,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[sa.Row[Any]]]:
    """The number of rows of ``table`` that meet ``condition``, and ``columns`` of those from ``offset`` on
    (at most ``limit``): by ``order`` (``descending`` or not) and then by id, the same way for a tie; by id
    alone without an ``order``. No second statement runs when the page is empty (``limit`` 0, or an
    ``offset`` at or past the count)."""
    total = int(connection.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar_one())
    if limit == 0 or total <= offset:
        return total, []
    ordering: list[sa.ColumnElement[Any]] = [] if order is None else [order.desc() if descending else order.asc()]
    ordering.append(table.c.id.desc() if descending and order is not None else table.c.id)
    query = sa.select(*columns).where(condition).order_by(*ordering).offset(offset).limit(limit)
    return total, list(connection.execute(query).all())
