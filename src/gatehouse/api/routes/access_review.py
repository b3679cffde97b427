"""Access review (beyond API7): the report of effective access with its filters and exports, "who may do this?",
revoking from the report, and the reviews recorded.

Thin routes over :mod:`gatehouse.iam.access_review` (``iam:GetAccessReview`` to read and export, which is itself
recorded in the audit log; ``iam:CreateAccessReview`` to record a review; revoking needs the change's own
permission).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import ApiDep
from gatehouse.api.downloads import MEDIA_TYPES, Format, attachment
from gatehouse.api.errors import responses
from gatehouse.iam import access_review as review
from gatehouse.iam.audit import Change
from gatehouse.store.access_review import MAX_PAGE, ReviewQuery

router = APIRouter(tags=["Access review"])
ORG: Final = "organization"


async def scope(
    role_id: Annotated[str, Query(max_length=64, description="Users holding this role (any way).")] = "",
    origin: Annotated[
        Literal["", "direct", "request", "sso", "group", "timebound", "super_admin"],
        Query(description="Users holding a role this way (with `role_id`: that role this way)."),
    ] = "",
    not_signed_in_days: Annotated[
        int | None, Query(ge=0, le=review.MAX_DAYS, description="Not signed in for this many days (or never).")
    ] = None,
    token_unused_days: Annotated[
        int | None, Query(ge=0, le=review.MAX_DAYS, description="Holding a live API token unused this many days.")
    ] = None,
    include_inactive: Annotated[bool, Query(description="Deactivated users too.")] = False,
) -> ReviewQuery:
    return review.review_query(role_id, origin, not_signed_in_days, token_unused_days, include_inactive)


Scope = Annotated[ReviewQuery, Depends(scope)]


class ReviewPageOut(BaseModel):
    users: list[dict[str, Any]]
    total: int
    next_cursor: str | None


class WhoMayIn(BaseModel):
    action: str = Field(min_length=1, max_length=100)
    resource: str = Field(min_length=1, max_length=300)
    labels: dict[str, dict[str, str]] | None = None
    cursor: str | None = Field(default=None, max_length=300)
    limit: int = Field(default=review.WHO_MAY_PAGE, ge=1, le=MAX_PAGE)


class AllowedSetOut(BaseModel):
    roles: list[str]
    boundaries: list[str]
    users: int
    reason: str


class WhoMayOut(BaseModel):
    action: str
    resource: str
    labels: dict[str, dict[str, str]]
    total: int = Field(description="Every active user who may, Super Admin accounts included.")
    super_admins: int
    grant_sets: list[AllowedSetOut]
    evaluated_grant_sets: int
    users: list[dict[str, str | None]]
    next_cursor: str | None


class Revocation(BaseModel):
    user_id: str = Field(default="", max_length=64)
    role_id: str = Field(min_length=1, max_length=64)
    origin: Literal["direct", "request", "sso", "group"]
    group_id: str = Field(default="", max_length=64)


class ReviewIn(BaseModel):
    role_id: str = Field(default="", max_length=64)
    origin: Literal["", "direct", "request", "sso", "group", "timebound", "super_admin"] = ""
    not_signed_in_days: int | None = Field(default=None, ge=0, le=review.MAX_DAYS)
    token_unused_days: int | None = Field(default=None, ge=0, le=review.MAX_DAYS)
    include_inactive: bool = False
    note: str = Field(default="", max_length=review.MAX_NOTE)


class ReviewOut(BaseModel):
    id: str
    reviewed_at: datetime
    reviewer: str
    reviewer_id: str | None
    scope: dict[str, Any]
    users_in_scope: int
    note: str


@router.get("/access-review/users", summary="Effective access, user by user", responses=responses(401, 403, 422))
async def users(
    caller: CallerDep,
    api: ApiDep,
    query: Scope,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> ReviewPageOut:
    """Users in the scope by username, each with every role and where it comes from (direct, group, SSO, access request;
    `expires_at` when time-bound), boundaries, last sign-in and live API tokens with their last use
    (`iam:GetAccessReview`). Paged by `cursor`."""
    found = await api.db.read(lambda c: review.report(c, caller.principal, query, cursor, limit))
    return ReviewPageOut(
        users=[review.as_json(u) for u in found.users], total=found.total, next_cursor=found.next_cursor
    )


@router.get(
    "/access-review/export",
    response_class=Response,
    summary="Export effective access",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}, **responses(401, 403, 422)},
)
async def export(caller: CallerDep, api: ApiDep, query: Scope, format: Annotated[Format, Query()] = "csv") -> Response:
    """The whole scope as CSV (one line per user and role) or JSON (`iam:GetAccessReview`); recorded in the audit
    log."""
    change = Change(review.READ, ORG, None, {"export": format, "scope": query.as_dict()})

    def work(connection: Any) -> bytes:
        found = list(review.export(connection, caller.principal, query))
        return review.to_json(found) if format == "json" else review.to_csv(found).encode()

    body = await api.change(caller, change, work)
    return Response(body, media_type=MEDIA_TYPES[format], headers=attachment("gatehouse-access", format))


@router.post("/access-review/who-may", summary="Who may do this?", responses=responses(401, 403, 422))
async def who_may(body: WhoMayIn, caller: CallerDep, api: ApiDep) -> WhoMayOut:
    """Every active user who may do `action` on `resource` (with `labels`; a gateway resource's stored labels and a
    role's own labels are used for the keys not given), decided by the same evaluator as every request, grant set by
    grant set; the users a page at a time (`iam:GetAccessReview`)."""
    found = await api.db.read(
        lambda c: review.who_may(c, caller.principal, body.action, body.resource, body.labels, body.cursor, body.limit)
    )
    return WhoMayOut(
        action=found.action,
        resource=found.resource,
        labels={k: dict(v) for k, v in found.labels.items()},
        total=found.total,
        super_admins=found.super_admins,
        grant_sets=[
            AllowedSetOut(roles=list(s.roles), boundaries=list(s.boundaries), users=s.users, reason=s.reason)
            for s in found.sets
        ],
        evaluated_grant_sets=found.evaluated_sets,
        users=[{"id": i, "username": n, "display_name": d} for i, n, d in found.users],
        next_cursor=found.next_cursor,
    )


@router.post("/access-review/revocations", summary="Revoke from the review", responses=responses(401, 403, 404, 422))
async def revoke(body: Revocation, caller: CallerDep, api: ApiDep) -> dict[str, str]:
    """Take away one way a user holds a role: `direct`, `request` or `sso` (`iam:UpdateUserRole` on the user), or
    `group`: the role is unbound from that group, for every member (`iam:UpdateGroupBinding`)."""
    kind, target = ("group", body.group_id) if body.origin == "group" else ("user", body.user_id)
    event = "iam:UpdateGroupBinding" if body.origin == "group" else "iam:UpdateUserRole"
    change = Change(event, kind, target, {"revoke": body.model_dump(), "via": "access review"})
    done = await api.change(
        caller,
        change,
        lambda c: review.revoke(c, caller.principal, body.user_id, body.role_id, body.origin, body.group_id),
    )
    return {"done": done}


@router.get("/access-reviews", summary="Reviews recorded", responses=responses(401, 403))
async def reviews(caller: CallerDep, api: ApiDep) -> list[ReviewOut]:
    """Who reviewed which scope, when, newest first (`iam:GetAccessReview`)."""
    found = await api.db.read(lambda c: review.reviews(c, caller.principal))
    return [ReviewOut(**{k: getattr(r, k) for k in ReviewOut.model_fields}) for r in found]


@router.post("/access-reviews", status_code=201, summary="Record a review", responses=responses(401, 403, 422))
async def record(body: ReviewIn, caller: CallerDep, api: ApiDep) -> ReviewOut:
    """Record that you reviewed the users of this scope now, with a note (`iam:CreateAccessReview`)."""
    query = review.review_query(
        body.role_id, body.origin, body.not_signed_in_days, body.token_unused_days, body.include_inactive
    )
    change = Change(review.RECORD, "access_review", None, {"scope": query.as_dict(), "note": body.note})
    found = await api.change(
        caller,
        change,
        lambda c: review.record_review(c, caller.principal, query, body.note),
        describe=lambda done, recorded: recorded.about(done.id, users_in_scope=done.users_in_scope),
        status=201,
    )
    return ReviewOut(**{k: getattr(found, k) for k in ReviewOut.model_fields})
