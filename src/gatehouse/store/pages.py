"""Pages of a listing: one page of a filtered, sorted table, how many rows match and the rows of the page
(SCIM list responses, RFC 7644 §3.4.2.3–§3.4.2.4), both computed by the database; and the page the
dashboard and the API show (:class:`ListedPage`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import search as relevance

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ListedPage(Generic[R]):
    """One page of a listing (users, groups), the number of rows matching in all, and the page actually
    served.

    A search's page (``ranked``) is ordered by relevance; its ``total`` is exact only when ``exact`` (else
    there are more than :data:`~gatehouse.store.search.CAP`), ``offset`` says how many matches come before
    it, and the cursors lead to the pages around it (:mod:`gatehouse.store.search`)."""

    rows: list[R]
    total: int
    page: int = 1
    per_page: int = 50
    exact: bool = True
    offset: int | None = None
    next_cursor: str | None = None
    prev_cursor: str | None = None
    ranked: bool = False

    @property
    def pages(self) -> int:
        """How many pages (at least: a total that is not exact counts one match more than it knows of)."""
        known = self.total if self.exact else self.total - 1
        return max(1, -(-known // self.per_page))

    @property
    def last_cursor(self) -> str | None:
        """The cursor of a search's last page, when its total is exact and the page is not the last."""
        return relevance.last_page().encode() if self.ranked and self.exact and self.next_cursor else None

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when none)."""
        if not self.rows:
            return 0
        return (self.offset if self.offset is not None else (self.page - 1) * self.per_page) + 1

    @property
    def last(self) -> int:
        """1-based position of the last row shown (0 when none)."""
        return self.first + len(self.rows) - 1 if self.rows else 0


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
