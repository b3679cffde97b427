"""Time-bound grants from the user's and the group's pages: give a user a role until a moment, bind a role to a
group until a moment (an empty moment: until taken away). The forms take a date and a time in UTC.

Thin handlers over :mod:`gatehouse.iam.timed_grants` (``iam:UpdateUserRole`` / ``iam:UpdateGroupBinding``); each
change audited. The grant stops counting at that moment in every process, and its end is recorded in the audit
log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import roles as rbac
from gatehouse.iam import timed_grants
from gatehouse.iam.audit import Change
from gatehouse.store.database import Connection
from gatehouse.store.roles import StoredRole
from gatehouse.web.actions import act_or_show, form_text, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

USERS: Final = "/organization/users"
GROUPS: Final = "/organization/groups"


def posted_until(request: Request) -> datetime | None:
    """The form's ``date`` (YYYY-MM-DD) and ``time`` (HH:MM), in UTC; both empty: no end."""
    day, clock = form_text(request, "date", 20).strip(), form_text(request, "time", 10).strip() or "00:00"
    if not day:
        return None
    try:
        return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput("Until: a date (YYYY-MM-DD) and a time (HH:MM), UTC.") from None


async def _form(request: Request, target: str, back: str, status: int = 200, error: str | None = None) -> Response:
    principal, params = principal_of(request), request.path_params
    check = timed_grants.require_grant if target == "user" else timed_grants.require_bind
    target_id = params["user_id"] if target == "user" else params["group_id"]

    def read(connection: Connection) -> list[StoredRole]:
        check(connection, principal, target_id)
        return rbac.viewable_roles(connection, principal)

    try:
        roles = await dashboard_of(request).db.read(read)
    except GatehouseError as exc:
        return refused(request, exc, back)
    values = {name: form_text(request, name, 64) for name in ("role_id", "date", "time")} if error else {}
    return dashboard_of(request).render(
        request, "access/timed_grant.html", status=status, error=error, target=target, back=back,
        roles=[role for role in roles if not role.built_in], values=values,
    )  # fmt: skip


@page
async def for_user(request: Request) -> Response:
    principal, user_id = principal_of(request), request.path_params["user_id"]
    back = f"{USERS}/{user_id}"
    if request.method == "GET":
        return await _form(request, "user", back)
    role_id = form_text(request, "role_id", 64)

    def work(connection: Connection) -> StoredRole:
        return timed_grants.grant_role_until(connection, principal, user_id, role_id, posted_until(request))

    return await act_or_show(
        request,
        Change("iam:UpdateUserRole", "user", user_id, {"grant_role": role_id, "until": form_text(request, "date", 20)}),
        work,
        back=back,
        show_again=lambda exc: _form(request, "user", back, exc.status, exc.detail),
        done=lambda role: (back, f"{role.name} granted{_until_text(request)}."),
    )


@page
async def for_group(request: Request) -> Response:
    principal, group_id = principal_of(request), request.path_params["group_id"]
    back = f"{GROUPS}/{group_id}"
    if request.method == "GET":
        return await _form(request, "group", back)
    role_id = form_text(request, "role_id", 64)

    def work(connection: Connection) -> StoredRole:
        return timed_grants.bind_group_role_until(connection, principal, group_id, role_id, posted_until(request))

    return await act_or_show(
        request,
        Change(
            "iam:UpdateGroupBinding", "group", group_id, {"bind_role": role_id, "until": form_text(request, "date", 20)}
        ),
        work,
        back=back,
        show_again=lambda exc: _form(request, "group", back, exc.status, exc.detail),
        done=lambda role: (back, f"{role.name} bound to the group{_until_text(request)}."),
    )


def _until_text(request: Request) -> str:
    day = form_text(request, "date", 20).strip()
    return f" until {day} {form_text(request, 'time', 10).strip() or '00:00'} UTC" if day else ""


ROUTES: Final = [
    Route(USERS + "/{user_id}/roles/timed", for_user, methods=["GET", "POST"]),
    Route(GROUPS + "/{group_id}/roles/timed", for_group, methods=["GET", "POST"]),
]
