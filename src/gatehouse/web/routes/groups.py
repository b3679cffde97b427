"""Organization → Groups: the SCIM groups (paged, searchable by any part of the name) and, on a group's page, the roles
bound to it (group → role bindings: its members hold those roles while they are members).

Thin handlers over :mod:`gatehouse.iam.groups` (reading, ``iam:GetGroupBinding``) and
:mod:`gatehouse.iam.roles` (binding, ``iam:UpdateGroupBinding``), each change audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import InvalidInput
from gatehouse.iam import groups
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change
from gatehouse.numerals import whole_number
from gatehouse.store.database import Connection
from gatehouse.web.actions import act, form_text
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/groups"
MAX_PAGE: Final = 1_000_000
MAX_CURSOR: Final = 1_500


@dataclass(frozen=True, slots=True)
class GroupQuery:
    """What the Groups page asks for: a search and a page (1-based), or a search's page by ``cursor``."""

    search: str = ""
    page: int = 1
    cursor: str = ""

    @property
    def prefix(self) -> str:
        """The search as typed (trimmed)."""
        return self.search.strip()


def group_query(params: Mapping[str, str]) -> GroupQuery:
    """The list's query parameters (``q``, ``page``, ``cursor``); anything invalid falls back to its default."""
    raw_page = params.get("page", "1")
    number = whole_number(raw_page) or 1
    search, cursor = params.get("q", "")[: groups.MAX_SEARCH], params.get("cursor", "")[:MAX_CURSOR]
    return GroupQuery(search=search, page=min(max(number, 1), MAX_PAGE), cursor=cursor)


def list_url(query: GroupQuery, page: int, cursor: str | None = None) -> str:
    """The list's URL for another page of the same search (a search's pages by ``cursor``)."""
    pairs = (("q", query.search.strip()), ("page", page), ("cursor", cursor or ""))
    kept = {k: v for k, v in pairs if v and v != 1}
    return f"{BASE}?{urlencode(kept)}" if kept else BASE


@page
async def listing(request: Request) -> Response:
    principal, query = principal_of(request), group_query(request.query_params)
    found = await dashboard_of(request).db.read(
        lambda c: groups.list_groups(c, principal, query.search, query.page, cursor=query.cursor)
    )
    return dashboard_of(request).render(
        request, "groups/list.html", query=query, found=found, result=found.result,
        link=lambda number, cursor=None: list_url(query, number, cursor),
    )  # fmt: skip


@page
async def detail(request: Request) -> Response:
    principal, group_id = principal_of(request), request.path_params["group_id"]
    view = await dashboard_of(request).db.read(lambda c: groups.view_group(c, principal, group_id))
    return dashboard_of(request).render(request, "groups/detail.html", view=view, group=view.group)


@page
async def bind(request: Request) -> Response:
    principal, group_id = principal_of(request), request.path_params["group_id"]
    role_id = form_text(request, "role_id", 100)

    def work(connection: Connection) -> bool:
        if not role_id:
            raise InvalidInput("Choose a role to bind.")
        return rbac.bind_group_role(connection, principal, group_id, role_id)

    what = Change("iam:UpdateGroupBinding", "group", group_id, {"bind_role": role_id})
    done = "Role bound: the group's members hold it from their next request."
    return await act(request, what, work, f"{BASE}/{group_id}", done)


async def unbind_role(request: Request, group_id: str, role_id: str, back: str, done: str) -> Response:
    """Unbind a role from a group (``iam:UpdateGroupBinding``, audited), from the group's page or the role's:
    back to ``back`` with ``done`` as the message, or the refusal page."""
    principal = principal_of(request)
    what = Change("iam:UpdateGroupBinding", "group", group_id, {"unbind_role": role_id})
    return await act(request, what, lambda c: rbac.unbind_group_role(c, principal, group_id, role_id), back, done)


@page
async def unbind(request: Request) -> Response:
    group_id, role_id = request.path_params["group_id"], form_text(request, "role_id", 100)
    done = "Role unbound: the group's members no longer hold it through it."
    return await unbind_role(request, group_id, role_id, f"{BASE}/{group_id}", done)


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(BASE + "/{group_id}", detail, methods=["GET"]),
    Route(BASE + "/{group_id}/roles/bind", bind, methods=["POST"]),
    Route(BASE + "/{group_id}/roles/unbind", unbind, methods=["POST"]),
]
