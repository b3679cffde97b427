"""Roles and SCIM group → role bindings (API7 parity: "Roles and Permission Policies"; group bindings go
beyond API7, which has no groups).

Thin routes over :mod:`gatehouse.iam.roles` (``iam:GetRole`` / ``CreateRole`` / ``UpdateRole`` /
``DeleteRole``, ``iam:GetGroupBinding`` / ``UpdateGroupBinding``) and :mod:`gatehouse.iam.groups`.
Every change runs through the audit log.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import ApiDep
from gatehouse.api.errors import responses
from gatehouse.api.params import Cursor, NamePrefix, Page, PerPage, id_in_path, search_paged_by_cursor
from gatehouse.api.schemas import Paging, PolicyIds, Reference, RoleIds
from gatehouse.api.schemas_rbac import (
    GroupPage,
    GroupRolesChanged,
    GroupsOfRole,
    NewRole,
    RoleDetail,
    RoleOut,
    RolePage,
    RolesOfGroup,
    RoleUpdate,
)
from gatehouse.iam import groups
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change

router = APIRouter(tags=["Roles"])
RoleId = Annotated[str, id_in_path("The role's id.")]
GroupId = Annotated[str, id_in_path("The SCIM group's id.")]
ROLE: Final = "role"
GROUP: Final = "group"


# ------------------------------------------------------------------------------------------ roles


@router.get("/roles", summary="List roles", responses=responses(401, 403, 422))
async def list_roles(
    caller: CallerDep, api: ApiDep, q: NamePrefix = "", page: Page = 1, per_page: PerPage = 50
) -> RolePage:
    """The roles you may view (`iam:GetRole` on each), by name; 403 when you may view none."""
    roles = await api.db.read(lambda c: rbac.viewable_roles(c, caller.principal))
    shown, paging = Paging.cut_named(roles, q, page, per_page)
    return RolePage(items=[RoleOut.of(role) for role in shown], paging=paging)


@router.get("/roles/{role_id}", summary="A role", responses=responses(401, 403, 404, 422))
async def get_role(role_id: RoleId, caller: CallerDep, api: ApiDep) -> RoleDetail:
    """A role with its attached permission policies (`iam:GetRole`)."""
    return RoleDetail.of_view(await api.db.read(lambda c: rbac.get_role(c, caller.principal, role_id)))


@router.post("/roles", status_code=201, summary="Create a role", responses=responses(400, 401, 403, 404, 409, 422))
async def create_role(body: NewRole, caller: CallerDep, api: ApiDep) -> RoleDetail:
    """A custom role, optionally with policies attached (`iam:CreateRole` on `role/*`). A taken name (any case) is
    409."""
    change = Change("iam:CreateRole", ROLE, None, body.model_dump())
    form = await api.prepare(caller, change, body.checked)
    view = await api.change(
        caller,
        change,
        lambda c: rbac.create_role(c, caller.principal, form, body.policy_ids),
        describe=lambda done, recorded: recorded.about(done.role.id),
        status=201,
    )
    return RoleDetail.of_view(view)


@router.put("/roles/{role_id}", summary="Replace a role", responses=responses(400, 401, 403, 404, 409, 422))
async def update_role(role_id: RoleId, body: RoleUpdate, caller: CallerDep, api: ApiDep) -> RoleDetail:
    """A custom role's name, description and labels; with `policy_ids`, its policies exactly (`iam:UpdateRole`).
    Built-in roles cannot be edited (403)."""
    change = Change("iam:UpdateRole", ROLE, role_id, body.model_dump())
    form = await api.prepare(caller, change, body.checked)
    view = await api.change(
        caller, change, lambda c: rbac.update_role(c, caller.principal, role_id, form, body.policy_ids)
    )
    return RoleDetail.of_view(view)


@router.delete(
    "/roles/{role_id}",
    status_code=204,
    summary="Delete a role",
    responses=responses(401, 403, 404, 409, 422),
)
async def delete_role(role_id: RoleId, caller: CallerDep, api: ApiDep) -> Response:
    """A custom role that nobody holds directly and no group is bound to (`iam:DeleteRole`); otherwise 409 naming where
    it is used."""
    return await api.change_no_content(
        caller,
        Change("iam:DeleteRole", ROLE, role_id),
        lambda c: rbac.delete_role(c, caller.principal, role_id),
        describe=lambda role, done: done.about(name=role.name),
    )


@router.put("/roles/{role_id}/policies", summary="Set a role's policies", responses=responses(400, 401, 403, 404, 422))
async def set_role_policies(role_id: RoleId, body: PolicyIds, caller: CallerDep, api: ApiDep) -> RoleDetail:
    """The role's attached permission policies become exactly `policy_ids` (`iam:UpdateRole`)."""
    change = Change("iam:UpdateRole", ROLE, role_id, {"policy_ids": body.policy_ids})
    work = lambda c: rbac.set_role_policies(c, caller.principal, role_id, body.policy_ids)  # noqa: E731
    return RoleDetail.of_view(await api.change(caller, change, work))


@router.get("/roles/{role_id}/groups", summary="The groups a role is bound to", responses=responses(401, 403, 404, 422))
async def groups_of_role(role_id: RoleId, caller: CallerDep, api: ApiDep) -> GroupsOfRole:
    """The SCIM groups whose members hold the role (`iam:GetRole`)."""
    found = await api.db.read(lambda c: rbac.groups_of_role(c, caller.principal, role_id))
    return GroupsOfRole(role_id=role_id, groups=[Reference(id=g.id, name=g.display) for g in found])


# ------------------------------------------------------------------------------------------ groups


@router.get("/groups", summary="List SCIM groups", responses=responses(400, 401, 403, 422), tags=["Groups"])
async def list_groups(
    caller: CallerDep,
    api: ApiDep,
    q: Annotated[str, Query(max_length=groups.MAX_SEARCH, description="A search (see above).")] = "",
    page: Page = 1,
    per_page: PerPage = groups.PAGE_SIZE,
    cursor: Cursor = "",
) -> GroupPage:
    """The groups provisioned by the identity provider, by display name (`iam:GetGroupBinding` on `group/*`). `q` finds
    any part of the display name, in any case and with or without accents (three characters or more; one or two match
    its beginning), by relevance (the name itself, then names starting with `q`, then names with a word starting with
    it, then the rest), paged with `cursor` (`paging.next_cursor`) instead of `page`."""
    search_paged_by_cursor(q, page)
    found = await api.db.read(lambda c: groups.list_groups(c, caller.principal, q, page, per_page, cursor))
    return GroupPage.of(found.result)


@router.get(
    "/groups/{group_id}/roles",
    summary="The roles bound to a group",
    responses=responses(401, 403, 404, 422),
    tags=["Groups"],
)
async def roles_of_group(group_id: GroupId, caller: CallerDep, api: ApiDep) -> RolesOfGroup:
    """Members of the group hold these roles while they are members (`iam:GetGroupBinding`)."""
    found = await api.db.read(lambda c: rbac.roles_of_group(c, caller.principal, group_id))
    return RolesOfGroup(group_id=group_id, roles=[RoleOut.of(role) for role in found])


@router.put(
    "/groups/{group_id}/roles",
    summary="Set the roles bound to a group",
    responses=responses(400, 401, 403, 404, 422),
    tags=["Groups"],
)
async def set_group_roles(group_id: GroupId, body: RoleIds, caller: CallerDep, api: ApiDep) -> GroupRolesChanged:
    """The roles bound to the group become exactly `role_ids` (`iam:UpdateGroupBinding`); members gain or lose them on
    their next request. The Super Admin role cannot be bound (403)."""
    work = lambda c: rbac.set_group_roles(c, caller.principal, group_id, body.role_ids)  # noqa: E731
    change = Change("iam:UpdateGroupBinding", GROUP, group_id, {"role_ids": body.role_ids})
    done = await api.change(
        caller,
        change,
        work,
        describe=lambda result, recorded: recorded.about(added=list(result.added), removed=list(result.removed)),
    )
    return GroupRolesChanged(
        group_id=group_id, roles=[RoleOut.of(r) for r in done.now], added=list(done.added), removed=list(done.removed)
    )
