"""A list request (RFC 7644 §3.4.2) run as a store search: its filter and ``sortBy`` compiled to SQL
(:mod:`gatehouse.scim.filter`), its ``startIndex`` and ``count`` as the offset and limit of the page."""

from __future__ import annotations

from typing import Protocol, TypeVar

from gatehouse.scim.filter import compile_filter, compile_sort
from gatehouse.scim.filter_sql import Predicate, SortKey
from gatehouse.scim.filter_targets import Resource
from gatehouse.scim.listing import ListQuery
from gatehouse.store.database import Connection

Page_co = TypeVar("Page_co", covariant=True)


class StoreSearch(Protocol[Page_co]):
    """A store's search of one resource type: the rows meeting ``condition`` (all when ``None``), by ``order``
    and then id, ``limit`` of them from ``offset`` on."""

    def __call__(
        self,
        connection: Connection,
        /,
        *,
        condition: Predicate | None,
        order: SortKey | None,
        descending: bool,
        offset: int,
        limit: int,
    ) -> Page_co: ...


def search_page(search: StoreSearch[Page_co], connection: Connection, query: ListQuery, resource: Resource) -> Page_co:
    """What ``search`` finds for ``query`` on ``resource`` (``"User"`` or ``"Group"``), entirely in SQL."""
    dialect = connection.dialect.name
    return search(
        connection,
        condition=compile_filter(query.filter, resource, dialect) if query.filter else None,
        order=compile_sort(query.sort_by, resource, dialect),
        descending=query.descending,
        offset=query.start_index - 1,
        limit=query.count,
    )
