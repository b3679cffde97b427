"""Organization → Access requests: the requests waiting for the viewer's answer (approve, optionally for less
time, or deny, with a note), recent answers, and which roles may be requested (add, change, remove).

Thin handlers over :mod:`gatehouse.iam.access_requests`, which checks ``iam:ApproveAccessRequest`` on each
request's role (never one's own request) and ``iam:UpdateRole`` for requestable roles; every change audited.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import InvalidInput
from gatehouse.iam import access_requests as access
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change
from gatehouse.numerals import whole_number
from gatehouse.store.access_requests import AccessRequest, Requestable
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.store.roles import StoredRole
from gatehouse.web.actions import act, form_text
from gatehouse.web.dashboard import dashboard_of, page, principal_of
from gatehouse.web.routes.my_access import UNITS, duration_text, posted_minutes

BASE: Final = "/organization/access-requests"


@page
async def queue(request: Request) -> Response:
    principal = principal_of(request)

    def read(connection: Connection) -> tuple[access.Queue, list[Requestable], list[StoredRole]]:
        roles = [r for r in rbac.list_roles(connection, principal) if rbac.role_abilities(principal, r).update]
        return access.queue(connection, principal), access.requestable_roles(connection, principal), roles

    found, requestable, editable = await dashboard_of(request).db.read(read)
    return dashboard_of(request).render(
        request, "access/queue.html", queue=found, requestable=requestable, editable=editable,
        duration_text=duration_text, now=utcnow(), may_approve=lambda r: access.may_approve(principal, r),
    )  # fmt: skip


def _note(request: Request) -> str:
    return form_text(request, "note", access.MAX_NOTE)


@page
async def approve(request: Request) -> Response:
    principal, request_id = principal_of(request), request.path_params["request_id"]
    what = Change("iam:ApproveAccessRequest", "access_request", request_id, {"note": _note(request)})

    def work(connection: Connection) -> AccessRequest:
        shorter = posted_minutes(request) if form_text(request, "amount", 10).strip() else None
        return access.approve(connection, principal, request_id, _note(request), shorter)

    def done(found: AccessRequest) -> str:
        return f"Approved: {found.user_name} holds {found.role_name} until {found.granted_until:%Y-%m-%d %H:%M} UTC."

    return await act(request, what, work, BASE, done, _names)


def _names(found: AccessRequest, recorded: Change) -> Change:
    """An answer's audit record names whose request, for which role, and until when it was granted."""
    until = {"granted_until": found.granted_until.isoformat()} if found.granted_until else {}
    return recorded.about(user=found.user_name, role=found.role_name, **until)


@page
async def deny(request: Request) -> Response:
    principal, request_id = principal_of(request), request.path_params["request_id"]
    what = Change("iam:DenyAccessRequest", "access_request", request_id, {"note": _note(request)})
    work = lambda c: access.deny(c, principal, request_id, _note(request))  # noqa: E731
    return await act(
        request, what, work, BASE, lambda found: f"Denied {found.user_name}'s request for {found.role_name}.", _names
    )


def _whole(value: str, unit: str, what: str) -> int:
    number = whole_number(value)
    if number is None or unit not in UNITS or number < 1:
        raise InvalidInput(f"{what}: a whole number of minutes, hours or days.")
    return number * UNITS[unit]


@page
async def set_requestable(request: Request) -> Response:
    principal, role_id = principal_of(request), form_text(request, "role_id", 64)
    values = {n: form_text(request, n, 10) for n in ("max_amount", "max_unit", "answer_amount", "answer_unit")}
    what = Change("iam:UpdateRole", "role", role_id, {"requestable": values})

    def work(connection: Connection) -> Requestable:
        most = _whole(values["max_amount"], values["max_unit"], "Longest grant")
        wait = _whole(values["answer_amount"], values["answer_unit"], "Time to answer")
        return access.set_requestable(connection, principal, role_id, most, wait)

    return await act(request, what, work, BASE, lambda found: f"{found.role_name} may be requested.")


@page
async def unset_requestable(request: Request) -> Response:
    principal, role_id = principal_of(request), request.path_params["role_id"]
    what = Change("iam:UpdateRole", "role", role_id, {"requestable": False})
    work = lambda c: access.unset_requestable(c, principal, role_id)  # noqa: E731
    return await act(request, what, work, BASE, "The role may no longer be requested; pending requests stay to answer.")


ROUTES: Final = [
    Route(BASE, queue, methods=["GET"]),
    Route(BASE + "/{request_id}/approve", approve, methods=["POST"]),
    Route(BASE + "/{request_id}/deny", deny, methods=["POST"]),
    Route(f"{BASE}/requestable", set_requestable, methods=["POST"]),
    Route(BASE + "/requestable/{role_id}/remove", unset_requestable, methods=["POST"]),
]
