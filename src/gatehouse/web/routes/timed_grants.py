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
from gatehouse.iam.timed_grants import Holder
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


async def _form(request: Request, holder: Holder, back: str, status: int = 200, error: str | None = None) -> Response:
    principal, holder_id = principal_of(request), request.path_params[f"{holder.kind}_id"]

    def read(connection: Connection) -> list[StoredRole]:
        holder.require(principal, holder_id)
        return rbac.viewable_roles(connection, principal)

    try:
        roles = await dashboard_of(request).db.read(read)
    except GatehouseError as exc:
        return refused(request, exc, back)
    values = {name: form_text(request, name, 64) for name in ("role_id", "date", "time")} if error else {}
    return dashboard_of(request).render(
        request, "access/timed_grant.html", status=status, error=error, target=holder.kind, back=back,
        roles=[role for role in roles if not role.built_in], values=values,
    )  # fmt: skip


@page
async def for_user(request: Request) -> Response:
    return await _give(request, timed_grants.USER, USERS, "granted")


@page
async def for_group(request: Request) -> Response:
    return await _give(request, timed_grants.GROUP, GROUPS, "bound to the group")


async def _give(request: Request, holder: Holder, pages: str, done: str) -> Response:
    """The form (GET), or the role given until the posted moment (POST), audited; back to the holder's page."""
    principal, holder_id = principal_of(request), request.path_params[f"{holder.kind}_id"]
    back = f"{pages}/{holder_id}"
    if request.method == "GET":
        return await _form(request, holder, back)
    role_id = form_text(request, "role_id", 64)

    def work(connection: Connection) -> StoredRole:
        return holder.give_until(connection, principal, holder_id, role_id, posted_until(request))

    return await act_or_show(
        request,
        Change(holder.action, holder.kind, holder_id, {holder.gives: role_id, "until": form_text(request, "date", 20)}),
        work,
        back=back,
        show_again=lambda exc: _form(request, holder, back, exc.status, exc.detail),
        done=lambda role: (back, f"{role.name} {done}{_until_text(request)}."),
    )


def _until_text(request: Request) -> str:
    day = form_text(request, "date", 20).strip()
    return f" until {day} {form_text(request, 'time', 10).strip() or '00:00'} UTC" if day else ""


ROUTES: Final = [
    Route(USERS + "/{user_id}/roles/timed", for_user, methods=["GET", "POST"]),
    Route(GROUPS + "/{group_id}/roles/timed", for_group, methods=["GET", "POST"]),
]
