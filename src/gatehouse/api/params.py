"""What several admin API routes read from a request alike: an object's id in the path, a name prefix, a page
of a list, and the cursor of a search."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path, Query

from gatehouse.errors import InvalidInput

MAX_ID: Final = 64
MAX_PAGE: Final = 1_000_000
MAX_PER_PAGE: Final = 200
MAX_CURSOR: Final = 1_500

NamePrefix = Annotated[str, Query(max_length=100, description="Case-insensitive prefix of the name.")]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]
Cursor = Annotated[str, Query(max_length=MAX_CURSOR, description="A page of a search (see above).")]


def id_in_path(description: str | None = None) -> Any:
    """The path parameter of an object's id (1 to 64 characters), as ``Annotated[str, id_in_path(...)]``."""
    return Path(min_length=1, max_length=MAX_ID, description=description)


def search_paged_by_cursor(q: str, page: int) -> None:
    """Refuse (400) a search (``q``) asked for by page number: its pages come by relevance, by ``cursor``."""
    if q.strip() and page != 1:
        raise InvalidInput("A search is paged with `cursor` (its `paging.next_cursor`), not `page`.")
