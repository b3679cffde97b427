"""Time-bound access and access requests (beyond API7): requestable roles, requests and their answers, one's own
access, and time-bound grants and group bindings by administrators.

Thin routes over :mod:`gatehouse.iam.access_requests` and :mod:`gatehouse.iam.timed_grants`, which check every
permission (``iam:UpdateRole`` to make a role requestable, ``iam:ApproveAccessRequest`` to answer, nobody their
own request; ``iam:UpdateUserRole`` / ``iam:UpdateGroupBinding`` for time-bound grants). Every change is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import Api, ApiDep, Caller
from gatehouse.api.errors import responses
from gatehouse.api.params import id_in_path
from gatehouse.iam import access_requests as access
from gatehouse.iam import roles as rbac
from gatehouse.iam import timed_grants
from gatehouse.iam.audit import Change
from gatehouse.iam.timed_grants import Holder
from gatehouse.store.access_requests import AccessRequest, HeldForAWhile, Requestable
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

router = APIRouter(tags=["Access requests"])
Id = Annotated[str, id_in_path()]
REQUEST: Final = "access_request"


class RequestableOut(BaseModel):
    role_id: str
    role: str
    description: str
    max_minutes: int
    answer_within_minutes: int

    @classmethod
    def of(cls, found: Requestable) -> RequestableOut:
        return cls(
            role_id=found.role_id, role=found.role_name, description=found.description,
            max_minutes=found.max_minutes, answer_within_minutes=found.answer_within_minutes,
        )  # fmt: skip


class RequestableIn(BaseModel):
    max_minutes: int = Field(ge=1, le=access.MAX_MINUTES, description="The longest grant a request may ask for.")
    answer_within_minutes: int = Field(
        default=access.DEFAULT_ANSWER_MINUTES, ge=1, le=access.MAX_ANSWER_MINUTES,
        description="How long a request waits for an answer before it expires.",
    )  # fmt: skip


class RequestOut(BaseModel):
    id: str
    user_id: str
    username: str
    role_id: str
    role: str
    reason: str
    minutes: int
    status: Literal["pending", "approved", "denied", "cancelled", "expired"]
    created: datetime
    answer_by: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None
    granted_until: datetime | None

    @classmethod
    def of(cls, found: AccessRequest) -> RequestOut:
        return cls(
            id=found.id, user_id=found.user_id, username=found.user_name, role_id=found.role_id, role=found.role_name,
            reason=found.reason, minutes=found.minutes, status=found.state(utcnow()),  # type: ignore[arg-type]
            created=found.created, answer_by=found.answer_by, decided_at=found.decided_at,
            decided_by=found.decided_by, note=found.note, granted_until=found.granted_until,
        )  # fmt: skip


class NewRequest(BaseModel):
    role_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=access.MAX_REASON)
    minutes: int = Field(ge=1, le=access.MAX_MINUTES, description="How long the role is needed once approved.")


class Answer(BaseModel):
    note: str = Field(default="", max_length=access.MAX_NOTE)
    minutes: int | None = Field(default=None, ge=1, le=access.MAX_MINUTES, description="Approve for less time.")


class HeldOut(BaseModel):
    role_id: str
    role: str
    granted_at: datetime
    granted_by: str | None
    until: datetime

    @classmethod
    def of(cls, held: HeldForAWhile) -> HeldOut:
        return cls(
            role_id=held.role_id, role=held.role_name, granted_at=held.granted_at, granted_by=held.granted_by,
            until=held.until,
        )  # fmt: skip


class MyAccessOut(BaseModel):
    requestable: list[RequestableOut]
    pending: list[RequestOut]
    active: list[HeldOut]
    history: list[RequestOut]


class Until(BaseModel):
    expires_at: datetime | None = Field(description="When the grant ends (with a time zone); null: until taken away.")


# ------------------------------------------------------------------------------------------ requestable roles


@router.get("/access/requestable-roles", summary="Requestable roles", responses=responses(401, 403))
async def requestable_roles(caller: CallerDep, api: ApiDep) -> list[RequestableOut]:
    """The roles anyone signed in may request, with their limits."""
    found = await api.db.read(lambda c: access.requestable_roles(c, caller.principal))
    return [RequestableOut.of(role) for role in found]


@router.put(
    "/roles/{role_id}/requestable",
    summary="Make a role requestable",
    responses=responses(401, 403, 404, 422),
    tags=["Roles"],
)
async def set_requestable(role_id: Id, body: RequestableIn, caller: CallerDep, api: ApiDep) -> RequestableOut:
    """Users may request the role for up to `max_minutes`; a request waits `answer_within_minutes` (`iam:UpdateRole` on
    the role). Approvers are whoever holds `iam:ApproveAccessRequest` on it."""
    change = Change("iam:UpdateRole", "role", role_id, {"requestable": body.model_dump()})
    work = lambda c: access.set_requestable(  # noqa: E731
        c, caller.principal, role_id, body.max_minutes, body.answer_within_minutes
    )
    return RequestableOut.of(await api.change(caller, change, work))


@router.delete(
    "/roles/{role_id}/requestable",
    status_code=204,
    summary="Stop a role being requestable",
    responses=responses(401, 403, 404, 422),
    tags=["Roles"],
)
async def unset_requestable(role_id: Id, caller: CallerDep, api: ApiDep) -> Response:
    """Pending requests may still be answered (`iam:UpdateRole`)."""
    change = Change("iam:UpdateRole", "role", role_id, {"requestable": False})
    return await api.change_no_content(caller, change, lambda c: access.unset_requestable(c, caller.principal, role_id))


# ------------------------------------------------------------------------------------------ requests


@router.post(
    "/access-requests",
    status_code=201,
    summary="Request a role",
    responses=responses(401, 403, 404, 409, 422),
)
async def request_access(body: NewRequest, caller: CallerDep, api: ApiDep) -> RequestOut:
    """Ask for a requestable role for `minutes` (at most its maximum), with a reason. One pending request per role
    (409)."""
    change = Change("iam:RequestAccess", REQUEST, None, body.model_dump())
    found = await api.change(
        caller,
        change,
        lambda c: access.request_access(c, caller.principal, body.role_id, body.reason, body.minutes),
        describe=lambda done, recorded: recorded.about(done.id, role=done.role_name),
        status=201,
    )
    return RequestOut.of(found)


@router.get("/access-requests", summary="Access requests", responses=responses(401, 403, 422))
async def list_requests(
    caller: CallerDep,
    api: ApiDep,
    status: Annotated[Literal["pending", "approved", "denied", "cancelled", "expired"] | None, Query()] = None,
) -> list[RequestOut]:
    """Your own requests and those of the roles you may read (`iam:GetAccessRequest`) or approve."""
    found = await api.db.read(lambda c: access.visible_requests(c, caller.principal, status))
    return [RequestOut.of(request) for request in found]


@router.get("/access-requests/{request_id}", summary="An access request", responses=responses(401, 403, 404, 422))
async def get_request(request_id: Id, caller: CallerDep, api: ApiDep) -> RequestOut:
    """For its requester, or whoever may read (`iam:GetAccessRequest`) or approve it."""
    return RequestOut.of(await api.db.read(lambda c: access.get_request(c, caller.principal, request_id)))


async def _answer(caller: Any, api: Any, request_id: str, event: str, body: Answer, approve: bool) -> RequestOut:
    change = Change(event, REQUEST, request_id, body.model_dump())

    def work(connection: Any) -> AccessRequest:
        if approve:
            return access.approve(connection, caller.principal, request_id, body.note, body.minutes)
        return access.deny(connection, caller.principal, request_id, body.note)

    done = await api.change(
        caller,
        change,
        work,
        describe=lambda found, recorded: recorded.about(
            user=found.user_name,
            role=found.role_name,
            **({"granted_until": found.granted_until.isoformat()} if found.granted_until else {}),
        ),
    )
    return RequestOut.of(done)


@router.post(
    "/access-requests/{request_id}/approve",
    summary="Approve a request",
    responses=responses(401, 403, 404, 409, 422),
)
async def approve(request_id: Id, body: Answer, caller: CallerDep, api: ApiDep) -> RequestOut:
    """Grant the role from now for the time asked (or `minutes`, less). Needs `iam:ApproveAccessRequest` on the role;
    nobody approves their own request (403); an answered or expired request is 409."""
    return await _answer(caller, api, request_id, "iam:ApproveAccessRequest", body, True)


@router.post(
    "/access-requests/{request_id}/deny",
    summary="Deny a request",
    responses=responses(401, 403, 404, 409, 422),
)
async def deny(request_id: Id, body: Answer, caller: CallerDep, api: ApiDep) -> RequestOut:
    """Needs `iam:ApproveAccessRequest` on the role; not one's own request."""
    return await _answer(caller, api, request_id, "iam:DenyAccessRequest", body, False)


@router.post(
    "/access-requests/{request_id}/cancel",
    summary="Withdraw your request",
    responses=responses(401, 403, 404, 409, 422),
)
async def cancel(request_id: Id, caller: CallerDep, api: ApiDep) -> RequestOut:
    """Only the requester, while it is pending."""
    change = Change("iam:CancelAccessRequest", REQUEST, request_id)
    return RequestOut.of(await api.change(caller, change, lambda c: access.cancel(c, caller.principal, request_id)))


# ------------------------------------------------------------------------------------------ one's own access


@router.get("/me/access", summary="My access", responses=responses(401, 403))
async def my_access(caller: CallerDep, api: ApiDep) -> MyAccessOut:
    """What you may request, your pending requests, the roles you hold for a while, your past requests."""
    found = await api.db.read(lambda c: access.my_access(c, caller.principal))
    return MyAccessOut(
        requestable=[RequestableOut.of(offer.role) for offer in found.offers],
        pending=[RequestOut.of(r) for r in found.pending],
        active=[HeldOut.of(held) for held in found.active],
        history=[RequestOut.of(r) for r in found.history],
    )


@router.delete(
    "/me/access/{role_id}",
    status_code=204,
    summary="Give up a role early",
    responses=responses(401, 403, 404, 422),
)
async def give_up(role_id: Id, caller: CallerDep, api: ApiDep) -> Response:
    """End your time-bound grant of a role (from an access request) now."""
    change = Change("iam:GiveUpAccess", "user", caller.user_id, {"role_id": role_id})
    return await api.change_no_content(caller, change, lambda c: access.give_up(c, caller.principal, role_id))


# ------------------------------------------------------------------------------------------ time-bound grants


@router.put(
    "/users/{user_id}/roles/{role_id}",
    summary="Grant a role, optionally until a moment",
    responses=responses(401, 403, 404, 422),
    tags=["Users"],
)
async def grant_role(user_id: Id, role_id: Id, body: Until, caller: CallerDep, api: ApiDep) -> dict[str, Any]:
    """Give the user the role directly until `expires_at` (null: until taken away); given again, the grant's end moves
    (`iam:UpdateUserRole`). It stops counting at that moment, in every process."""
    return await _give(timed_grants.USER, user_id, role_id, body, caller, api)


@router.delete(
    "/users/{user_id}/roles/{role_id}",
    status_code=204,
    summary="Take a role away",
    responses=responses(401, 403, 404, 422),
    tags=["Users"],
)
async def revoke_role(
    user_id: Id,
    role_id: Id,
    caller: CallerDep,
    api: ApiDep,
    source: Annotated[Literal["manual", "request", "sso"], Query()] = "manual",
) -> Response:
    """The user's grant of the role from `source` (`manual`: by hand, `request`: by an approved request, `sso`: mapped
    at sign-in, which the next sign-in maps again) (`iam:UpdateUserRole`)."""
    work = lambda c: timed_grants.revoke_grant(c, caller.principal, user_id, role_id, source)  # noqa: E731
    return await _take(timed_grants.USER, user_id, role_id, work, caller, api, source=source)


@router.put(
    "/groups/{group_id}/roles/{role_id}",
    summary="Bind a role to a group, optionally until a moment",
    responses=responses(401, 403, 404, 422),
    tags=["Groups"],
)
async def bind_role(group_id: Id, role_id: Id, body: Until, caller: CallerDep, api: ApiDep) -> dict[str, Any]:
    """Members hold the role while they are members, until `expires_at` (`iam:UpdateGroupBinding`)."""
    return await _give(timed_grants.GROUP, group_id, role_id, body, caller, api)


@router.delete(
    "/groups/{group_id}/roles/{role_id}",
    status_code=204,
    summary="Unbind a role from a group",
    responses=responses(401, 403, 404, 422),
    tags=["Groups"],
)
async def unbind_role(group_id: Id, role_id: Id, caller: CallerDep, api: ApiDep) -> Response:
    """Its members lose the role through the group at once (`iam:UpdateGroupBinding`)."""
    work = lambda c: rbac.unbind_group_role(c, caller.principal, group_id, role_id)  # noqa: E731
    return await _take(timed_grants.GROUP, group_id, role_id, work, caller, api)


async def _give(holder: Holder, holder_id: str, role_id: str, body: Until, caller: Caller, api: Api) -> dict[str, Any]:
    """Give ``holder_id`` the role until ``body.expires_at``, audited; what it now holds."""
    until = body.expires_at.isoformat() if body.expires_at else None
    change = Change(holder.action, holder.kind, holder_id, {holder.gives: role_id, "expires_at": until})
    work = lambda c: holder.give_until(c, caller.principal, holder_id, role_id, body.expires_at)  # noqa: E731
    role = await api.change(caller, change, work)
    return {f"{holder.kind}_id": holder_id, "role_id": role.id, "role": role.name, "expires_at": until}


async def _take(
    holder: Holder,
    holder_id: str,
    role_id: str,
    work: Callable[[Connection], bool],
    caller: Caller,
    api: Api,
    **details: str,
) -> Response:
    """Take the role away from ``holder_id`` by ``work``, audited (``details``: more of what the record says)."""
    change = Change(holder.action, holder.kind, holder_id, {holder.takes: role_id, **details})
    return await api.change_no_content(caller, change, work)
