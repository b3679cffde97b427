"""Organization → Groups: the SCIM groups (paged, searchable by name) and, on a group's page, the roles
bound to it (group → role bindings: its members hold those roles while they are members).

Groups come from the identity provider; here they are only read (:mod:`gatehouse.store.group_directory`,
indexed and paged) and bound to roles through the use cases of :mod:`gatehouse.iam.roles`
(``iam:GetGroupBinding`` to view, ``iam:UpdateGroupBinding`` to change), each change audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Forbidden, InvalidInput, NotFound
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal, allowed
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.store import group_directory
from gatehouse.store.group_directory import GroupPage, GroupSummary
from gatehouse.store.records import Reference
from gatehouse.store.roles import StoredRole
from gatehouse.web.dashboard import Dashboard, page
from gatehouse.web.routes.roles import act_and_return, form_text

BASE = "/organization/groups"
MAX_PAGE = 1_000_000


@dataclass(frozen=True, slots=True)
class GroupQuery:
    """What the Groups page asks for: a name prefix and a page (1-based)."""

    search: str = ""
    page: int = 1

    @property
    def prefix(self) -> str:
        """The search as matched (trimmed, any case)."""
        return self.search.strip()


def group_query(params: Mapping[str, str]) -> GroupQuery:
    """The list's query parameters (``q``, ``page``); anything invalid falls back to its default."""
    raw_page = params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() else 1
    return GroupQuery(search=params.get("q", "")[: group_directory.MAX_SEARCH], page=min(max(number, 1), MAX_PAGE))


def list_url(query: GroupQuery, page: int) -> str:
    """The list's URL for another page of the same search."""
    kept = {k: v for k, v in (("q", query.search.strip()), ("page", page)) if v and v != 1}
    return f"{BASE}?{urlencode(kept)}" if kept else BASE


@dataclass(frozen=True, slots=True)
class GroupListing:
    """A page of groups, the roles bound to those whose bindings the viewer may see, and the rows shown."""

    result: GroupPage
    roles: Mapping[str, list[Reference]]

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when none)."""
        return (self.result.page - 1) * self.result.per_page + 1 if self.result.rows else 0

    @property
    def last(self) -> int:
        """1-based position of the last row shown (0 when none)."""
        return self.first + len(self.result.rows) - 1 if self.result.rows else 0


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group's page: the group, its bound roles, the roles it could be bound to."""

    group: GroupSummary
    roles: list[StoredRole]
    bindable: list[StoredRole]
    may_bind: bool
    may_see_members: bool


def _listing(connection: Connection, principal: Principal, query: GroupQuery) -> GroupListing:
    if not allowed(principal, "iam:GetGroupBinding", resource_name("group", ANY_ID)):
        raise Forbidden("You are not allowed to view groups and their roles (iam:GetGroupBinding).")
    result = group_directory.list_groups(connection, query.search, query.page)
    visible = [
        row.id for row in result.rows if allowed(principal, "iam:GetGroupBinding", resource_name("group", row.id))
    ]
    return GroupListing(result, group_directory.bound_roles(connection, visible))


def _group_view(connection: Connection, principal: Principal, group_id: str) -> GroupView:
    bound = rbac.roles_of_group(connection, principal, group_id)
    summary = group_directory.group_summary(connection, group_id)
    if summary is None:
        raise NotFound("There is no such group. It may have been deleted by the identity provider.")
    may_bind = allowed(principal, "iam:UpdateGroupBinding", resource_name("group", group_id))
    bindable: list[StoredRole] = []
    if may_bind:
        taken = {role.id for role in bound}
        bindable = [r for r in rbac.list_roles(connection, principal) if not r.built_in and r.id not in taken]
    may_see_members = allowed(principal, "iam:GetUser", resource_name("user", ANY_ID))
    return GroupView(summary, bound, bindable, may_bind, may_see_members)


def routes(dashboard: Dashboard) -> list[Route]:
    """The Groups routes."""
    db = dashboard.db

    @page(dashboard)
    async def listing(request: Request) -> Response:
        principal = await dashboard.principal(request)
        query = group_query(request.query_params)
        found = await db.read(lambda c: _listing(c, principal, query))
        return dashboard.render(
            request,
            "groups/list.html",
            query=query,
            found=found,
            result=found.result,
            link=lambda number: list_url(query, number),
        )

    @page(dashboard)
    async def detail(request: Request) -> Response:
        principal = await dashboard.principal(request)
        group_id = request.path_params["group_id"]
        view = await db.read(lambda c: _group_view(c, principal, group_id))
        return dashboard.render(request, "groups/detail.html", view=view, group=view.group)

    async def binding(request: Request, what: Change, work: Callable[[Connection], Any], done: str) -> Response:
        return await act_and_return(dashboard, request, what, work, f"{BASE}/{request.path_params['group_id']}", done)

    @page(dashboard)
    async def bind(request: Request) -> Response:
        principal = await dashboard.principal(request)
        group_id = request.path_params["group_id"]
        role_id = form_text(request, "role_id", 100)
        what = Change("iam:UpdateGroupBinding", "group", group_id, {"bind_role": role_id})

        def work(connection: Connection) -> bool:
            if not role_id:
                raise InvalidInput("Choose a role to bind.")
            return rbac.bind_group_role(connection, principal, group_id, role_id)

        return await binding(request, what, work, "Role bound: the group's members hold it from their next request.")

    @page(dashboard)
    async def unbind(request: Request) -> Response:
        principal = await dashboard.principal(request)
        group_id = request.path_params["group_id"]
        role_id = form_text(request, "role_id", 100)
        what = Change("iam:UpdateGroupBinding", "group", group_id, {"unbind_role": role_id})
        work = lambda c: rbac.unbind_group_role(c, principal, group_id, role_id)  # noqa: E731
        return await binding(request, what, work, "Role unbound: the group's members no longer hold it through it.")

    return [
        Route(BASE, listing, methods=["GET"]),
        Route(BASE + "/{group_id}", detail, methods=["GET"]),
        Route(BASE + "/{group_id}/roles/bind", bind, methods=["POST"]),
        Route(BASE + "/{group_id}/roles/unbind", unbind, methods=["POST"]),
    ]
