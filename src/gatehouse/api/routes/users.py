"""Users (Organization → Users): the directory, a user's page and the administrators' actions.

Thin routes over :mod:`gatehouse.iam.users` and :mod:`gatehouse.iam.roles`, which check every permission
(``iam:GetUser``, ``iam:InviteUser``, ``iam:UpdateUser``, ``iam:DeleteUser``, ``iam:ResetPassword``,
``iam:UpdateUserStatus``, ``iam:HandOverUser``, ``iam:UpdateUserRole``, ``iam:UpdateUserBoundary``); each
change runs through the audit log (:meth:`~gatehouse.api.context.Api.change`). API7 parity: "Users",
the ``role_ids`` body of a user's roles; boundaries have their own call here (not found in API7).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import Api, ApiDep, Caller
from gatehouse.api.errors import responses
from gatehouse.api.params import MAX_PAGE, Cursor, PerPage, id_in_path, search_paged_by_cursor
from gatehouse.api.schemas import (
    AssignmentResult,
    CreatedUser,
    NewPassword,
    NewUser,
    PasswordReset,
    PolicyIds,
    RoleIds,
    StatusChanged,
    UserChanges,
    UserDetail,
    UserPage,
    UserResult,
)
from gatehouse.errors import Forbidden
from gatehouse.iam import roles as rbac
from gatehouse.iam import users as admin
from gatehouse.iam.audit import Change
from gatehouse.iam.roles import AssignmentChange
from gatehouse.store.database import Connection
from gatehouse.store.directory import DirectoryQuery

router = APIRouter(prefix="/users", tags=["Users"])
UserId = Annotated[str, id_in_path("The user's id.")]
KIND: Final = "user"


def generated_password() -> str:
    """A one-time password for someone else (24 URL-safe characters, 144 random bits)."""
    return secrets.token_urlsafe(18)


async def detail_or_none(api: Api, caller: Caller, user_id: str) -> UserDetail | None:
    """The user's page after a committed change, or ``None`` when the caller may not view it."""
    try:
        view = await api.db.read(lambda c: admin.view_user(c, caller.principal, user_id, idle=api.idle))
    except Forbidden:
        return None
    return UserDetail.of(view)


@router.get("", summary="List users", responses=responses(400, 401, 403, 422))
async def list_users(
    caller: CallerDep,
    api: ApiDep,
    q: Annotated[str, Query(max_length=admin.MAX_SEARCH, description="A search (see above).")] = "",
    status: Annotated[Literal["all", "active", "deactivated"], Query()] = "all",
    source: Annotated[Literal["all", "local", "scim", "sso"], Query()] = "all",
    sort: Annotated[
        Literal["username", "name", "email", "status", "source", "last_login", "created"], Query()
    ] = "username",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="A page of the list without a search.")] = 1,
    per_page: PerPage = admin.PAGE_SIZE,
    cursor: Cursor = "",
) -> UserPage:
    """Filter, sort and page the directory, or search it: `q` finds any part of the username, display, given or family
    name, any e-mail address or the externalId, in any case and with or without accents (three characters or more; one
    or two match the beginning of the username, name or primary e-mail). A search is ordered by relevance (the whole
    username, an e-mail or the externalId; then a username or e-mail starting with `q`; then a name or word starting
    with it; then the rest; by username within each), not by `sort`; it is paged with `cursor` (`paging.next_cursor`,
    `paging.prev_cursor`), not `page`; and its `paging.total` stops at 10,001 (`total_exact` false). The status and
    source filters apply to a search too. Needs `iam:GetUser` on `arn:gatehouse:iam:user/*`."""
    search_paged_by_cursor(q, page)
    query = DirectoryQuery(
        search=q,
        status=status,
        source=source,
        sort=sort,
        descending=order == "desc",
        page=page,
        per_page=per_page,
        cursor=cursor,
    )
    found = await api.db.read(lambda c: admin.list_users(c, caller.principal, query))
    return UserPage.of(found)


@router.get("/{user_id}", summary="A user's page", responses=responses(401, 403, 404, 422))
async def get_user(user_id: UserId, caller: CallerDep, api: ApiDep) -> UserDetail:
    """Profile, SCIM attributes, groups, roles (each with where it comes from: direct, via SSO, via group X) and
    permission boundaries. Needs `iam:GetUser` on the user, except for your own."""
    view = await api.db.read(lambda c: admin.view_user(c, caller.principal, user_id, idle=api.idle))
    return UserDetail.of(view)


@router.post("", status_code=201, summary="Invite a local user", responses=responses(400, 401, 403, 409, 422))
async def invite_user(body: NewUser, caller: CallerDep, api: ApiDep) -> CreatedUser:
    """Creates a local user with a one-time password, to be changed at the first sign-in. Needs `iam:InviteUser` on
    `arn:gatehouse:iam:user/*`. A taken username (any case) is 409."""
    change = Change("iam:InviteUser", KIND, None, {"user_name": body.user_name, "email": body.email, "name": body.name})
    generated = generated_password() if body.password is None else None
    password = generated if generated is not None else str(body.password)

    new = await api.prepare(
        caller,
        change,
        lambda: admin.invitation(caller.principal, body.user_name, password, body.email or "", body.name or ""),
    )
    created = await api.change(
        caller,
        change,
        lambda c: admin.create_local_user(c, caller.principal, new.user, new.password),
        describe=lambda user, done: done.about(user.id, user_name=user.user_name),
        status=201,
    )
    return CreatedUser(id=created.id, user=await detail_or_none(api, caller, created.id), one_time_password=generated)


@router.patch("/{user_id}", summary="Edit a local user", responses=responses(400, 401, 403, 404, 422))
async def update_user(user_id: UserId, body: UserChanges, caller: CallerDep, api: ApiDep) -> UserResult:
    """Change a local user's name or primary e-mail (`iam:UpdateUser`). Users provisioned by the identity provider are
    edited there (403)."""
    sent = body.model_fields_set
    name = (body.name or "") if "name" in sent else None
    email = (body.email or "") if "email" in sent else None
    summary: dict[str, Any] = {key: value for key, value in (("name", name), ("email", email)) if value is not None}
    change = Change("iam:UpdateUser", KIND, user_id, summary)
    await api.change(
        caller, change, lambda c: admin.update_local_user(c, caller.principal, user_id, name=name, email=email)
    )
    return UserResult(user=await detail_or_none(api, caller, user_id))


@router.delete("/{user_id}", status_code=204, summary="Delete a local user", responses=responses(401, 403, 404, 422))
async def delete_user(user_id: UserId, caller: CallerDep, api: ApiDep) -> Response:
    """Deletes a local user with their sessions and tokens (`iam:DeleteUser`). The Super Admin, your own account and
    users provisioned by the identity provider cannot be deleted (403)."""
    return await api.change_no_content(
        caller,
        Change("iam:DeleteUser", KIND, user_id),
        lambda c: admin.delete_user(c, caller.principal, user_id),
        describe=lambda user, done: done.about(user_name=user.user_name),
    )


@router.post(
    "/{user_id}/password",
    summary="Reset a local user's password",
    responses=responses(400, 401, 403, 404, 422),
)
async def reset_password(user_id: UserId, body: NewPassword, caller: CallerDep, api: ApiDep) -> PasswordReset:
    """Sets a one-time password (yours, or a generated one returned once); the user must change it at their next sign-in
    and their sessions end (`iam:ResetPassword`)."""
    change = Change("iam:ResetPassword", KIND, user_id, {"generated": body.password is None})
    generated = generated_password() if body.password is None else None
    password = generated if generated is not None else str(body.password)

    chosen = await api.prepare(caller, change, lambda: admin.password_reset(caller.principal, user_id, password))
    await api.change(caller, change, lambda c: admin.reset_password(c, caller.principal, user_id, chosen))
    return PasswordReset(user_id=user_id, one_time_password=generated)


async def _set_status(user_id: str, active: bool, caller: Caller, api: Api) -> StatusChanged:
    done = await api.change(
        caller,
        Change("iam:UpdateUserStatus", KIND, user_id, {"active": active}),
        lambda c: admin.set_status(c, caller.principal, user_id, active),
        describe=lambda result, change: change.about(
            user_name=result.user.user_name, changed=result.changed, sessions_ended=result.sessions_ended
        ),
    )
    user = await detail_or_none(api, caller, user_id)
    return StatusChanged(user=user, changed=done.changed, sessions_ended=done.sessions_ended)


@router.post("/{user_id}/deactivate", summary="Deactivate a user", responses=responses(401, 403, 404, 422))
async def deactivate_user(user_id: UserId, caller: CallerDep, api: ApiDep) -> StatusChanged:
    """The user cannot sign in, their sessions end and their API tokens are revoked for good (`iam:UpdateUserStatus`).
    The Super Admin and your own account cannot be deactivated (403)."""
    return await _set_status(user_id, False, caller, api)


@router.post("/{user_id}/reactivate", summary="Reactivate a user", responses=responses(401, 403, 404, 422))
async def reactivate_user(user_id: UserId, caller: CallerDep, api: ApiDep) -> StatusChanged:
    """The user may sign in again (`iam:UpdateUserStatus`); revoked tokens stay revoked."""
    return await _set_status(user_id, True, caller, api)


@router.post(
    "/{user_id}/hand-over",
    summary="Hand a local user to the identity provider",
    responses=responses(401, 403, 404, 422),
)
async def hand_over_user(user_id: UserId, caller: CallerDep, api: ApiDep) -> UserResult:
    """The user becomes a SCIM user that the identity provider can link, update and deactivate (`iam:HandOverUser`)."""
    await api.change(
        caller,
        Change("iam:HandOverUser", KIND, user_id),
        lambda c: admin.hand_to_idp(c, caller.principal, user_id),
        describe=lambda user, done: done.about(user_name=user.user_name),
    )
    return UserResult(user=await detail_or_none(api, caller, user_id))


@router.put("/{user_id}/roles", summary="Set a user's roles", responses=responses(400, 401, 403, 404, 422))
async def set_user_roles(user_id: UserId, body: RoleIds, caller: CallerDep, api: ApiDep) -> AssignmentResult:
    """The roles assigned to the user directly become exactly `role_ids` (roles held through SCIM groups or SSO stay).
    Needs `iam:UpdateUserRole`. Super Admin accounts take no roles (403)."""
    change = Change("iam:UpdateUserRole", KIND, user_id, {"role_ids": body.role_ids})
    work = lambda c: rbac.set_user_roles(c, caller.principal, user_id, body.role_ids)  # noqa: E731
    return await _assign(user_id, change, work, caller, api)


@router.put(
    "/{user_id}/boundaries",
    summary="Set a user's permission boundaries",
    responses=responses(400, 401, 403, 404, 422),
)
async def set_user_boundaries(user_id: UserId, body: PolicyIds, caller: CallerDep, api: ApiDep) -> AssignmentResult:
    """The user's permission boundaries become exactly `policy_ids` (empty: no boundary); every action of the user must
    then also be allowed by each. Needs `iam:UpdateUserBoundary`."""
    change = Change("iam:UpdateUserBoundary", KIND, user_id, {"policy_ids": body.policy_ids})
    work = lambda c: rbac.set_boundaries(c, caller.principal, user_id, body.policy_ids)  # noqa: E731
    return await _assign(user_id, change, work, caller, api)


async def _assign(
    user_id: str, change: Change, work: Callable[[Connection], AssignmentChange], caller: Caller, api: Api
) -> AssignmentResult:
    """Set what the user is assigned (roles, boundaries) by ``work``, audited with what was added and removed;
    the user as they are after."""
    done = await api.change(
        caller,
        change,
        work,
        describe=lambda result, recorded: recorded.about(added=list(result.added), removed=list(result.removed)),
    )
    user = await detail_or_none(api, caller, user_id)
    return AssignmentResult(added=list(done.added), removed=list(done.removed), user=user)
