"""The Users list as the dashboard shows it: its query parameters, their links, the sortable column headers
and the words of its empty state. Pure view helpers: the list is read by :func:`gatehouse.iam.users.user_lines`.

With a search the list is by relevance, paged by an opaque ``cursor`` parameter (keyset), and the column
headers do not sort; without one, ``sort``/``order`` and ``page`` apply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from gatehouse.numerals import whole_number
from gatehouse.store import directory
from gatehouse.store.directory import DirectoryQuery

BASE: Final = "/organization/users"
MAX_PAGE: Final = 1_000_000
MAX_CURSOR: Final = 1_500
PAGE_SIZES: Final = (25, 50, 100)
"""Users a page, as the list offers them (``per_page``; 50 by default)."""

COLUMNS: Final = (
    ("username", "Username", "asc"),
    ("name", "Name", "asc"),
    ("email", "Email", "asc"),
    ("source", "Source", "asc"),
    ("status", "Status", "asc"),
    ("last_login", "Last sign-in", "desc"),
    ("created", "Created", "desc"),
)
"""Table columns: query key, header label, direction of a first click (dates: newest first)."""
FIRST_DIRECTION: Final = {key: direction for key, _, direction in COLUMNS}
SOURCE_LABELS: Final = {"local": "Local", "scim": "SCIM", "sso": "SSO"}
STATUS_LABELS: Final = {"active": "Active", "deactivated": "Deactivated"}


def directory_query(params: Mapping[str, str]) -> DirectoryQuery:
    """The list's query parameters; anything unknown falls back to its default."""

    def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = params.get(name, default)
        return value if value in allowed else default

    sort = choice("sort", directory.SORTS, "username")
    order = params.get("order")
    raw_page, raw_size = params.get("page", "1"), params.get("per_page", "")
    number = whole_number(raw_page) or 1
    size = whole_number(raw_size)
    size = size if size in PAGE_SIZES else directory.PAGE_SIZE
    return DirectoryQuery(
        search=params.get("q", "")[: directory.MAX_SEARCH],
        status=choice("status", directory.STATUSES, "all"),
        source=choice("source", directory.SOURCE_FILTERS, "all"),
        sort=sort,
        descending=order == "desc" if order in ("asc", "desc") else FIRST_DIRECTION[sort] == "desc",
        page=min(max(number, 1), MAX_PAGE),
        per_page=size,
        cursor=params.get("cursor", "")[:MAX_CURSOR],
    )


def list_url(query: DirectoryQuery, **changes: Any) -> str:
    """The list's URL for ``query`` with some parameters changed (defaults are left out). A search's
    ``cursor`` is kept only when given: any other change starts from the first page."""
    values: dict[str, Any] = {
        "q": query.search.strip(),
        "status": query.status,
        "source": query.source,
        "sort": query.sort,
        "order": "desc" if query.descending else "asc",
        "page": query.page,
        "per_page": query.per_page,
        "cursor": "",
    }
    values.update(changes)
    if values["order"] == FIRST_DIRECTION[values["sort"]]:
        values["order"] = None
    defaults = {
        "q": "", "status": "all", "source": "all", "sort": "username", "page": 1, "cursor": "",
        "per_page": directory.PAGE_SIZE,
    }  # fmt: skip
    kept = {k: v for k, v in values.items() if v is not None and defaults.get(k) != v}
    return f"{BASE}?{urlencode(kept)}" if kept else BASE


@dataclass(frozen=True, slots=True)
class Header:
    """A sortable column header: its link and ``aria-sort``."""

    key: str
    label: str
    href: str
    aria_sort: str | None


def headers(query: DirectoryQuery) -> list[Header]:
    """The column headers: a click sorts by the column, a second click reverses the order."""
    found = []
    for key, label, first in COLUMNS:
        if query.sort == key:
            order = "asc" if query.descending else "desc"
            aria: str | None = "descending" if query.descending else "ascending"
        else:
            order, aria = first, None
        found.append(Header(key, label, list_url(query, sort=key, order=order, page=1), aria))
    return found


def describe_filters(query: DirectoryQuery) -> str:
    """``deactivated SCIM users`` and the like, for the empty state."""
    words = []
    if query.status != "all":
        words.append(STATUS_LABELS[query.status].lower())
    if query.source != "all":
        words.append(SOURCE_LABELS[query.source])
    return " ".join([*words, "users"])


def list_context(query: DirectoryQuery) -> dict[str, Any]:
    """What the list's template needs besides the rows: headers, links, filters and their choices."""
    return {
        "query": query,
        "headers": headers(query),
        "header": {found.key: found for found in headers(query)},
        "page_sizes": PAGE_SIZES,
        "link": lambda **changes: list_url(query, **changes),
        "filters": describe_filters(query),
        "statuses": [("all", "All"), *STATUS_LABELS.items()],
        "sources": [("all", "All"), *SOURCE_LABELS.items()],
        "source_labels": SOURCE_LABELS,
    }
