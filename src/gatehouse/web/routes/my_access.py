"""Account → My access: the roles one may request (ask with a reason and a duration), one's pending requests
(withdraw), the roles one holds for a while (give one up early, after a confirmation), past requests.

Thin handlers over :mod:`gatehouse.iam.access_requests` (self-service: any signed-in user, for themselves); every
change audited (:mod:`gatehouse.web.actions`). Works without JavaScript.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import access_requests as access
from gatehouse.iam.audit import Change
from gatehouse.numerals import whole_number
from gatehouse.store.access_requests import AccessRequest
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.web.actions import Confirmation, act, act_or_show, confirm_then_act, form_text
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/account/access"
UNITS: Final = {"minutes": 1, "hours": 60, "days": 24 * 60}


def duration_text(minutes: int) -> str:
    """``90 minutes``, ``8 hours``, ``2 days``."""
    for unit, size in (("day", 24 * 60), ("hour", 60)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def posted_minutes(request: Request) -> int:
    """The duration of a form: an amount and a unit (minutes, hours, days)."""
    amount, unit = form_text(request, "amount", 10).strip(), form_text(request, "unit", 10)
    number = whole_number(amount)
    if number is None or unit not in UNITS or number < 1:
        raise InvalidInput("How long: a whole number of minutes, hours or days.")
    return number * UNITS[unit]


async def _show(
    request: Request, status: int = 200, error: str | None = None, values: dict[str, str] | None = None
) -> Response:
    principal = principal_of(request)
    mine = await dashboard_of(request).db.read(lambda c: access.my_access(c, principal))
    return dashboard_of(request).render(
        request, "access/mine.html", status=status, error=error, mine=mine, values=values or {},
        duration_text=duration_text, now=utcnow(),
    )  # fmt: skip


@page
async def mine(request: Request) -> Response:
    return await _show(request)


@page
async def ask(request: Request) -> Response:
    principal = principal_of(request)
    values = {name: form_text(request, name, 1_000) for name in ("role_id", "amount", "unit", "reason")}

    def work(connection: Connection) -> AccessRequest:
        return access.request_access(
            connection, principal, values["role_id"], values["reason"], posted_minutes(request)
        )

    async def show_again(exc: GatehouseError) -> Response:
        return await _show(request, exc.status, exc.detail, values)

    return await act_or_show(
        request,
        Change("iam:RequestAccess", "access_request", None, {"role_id": values["role_id"], "reason": values["reason"]}),
        work,
        back=BASE,
        show_again=show_again,
        done=lambda done: (
            BASE,
            f"Requested {done.role_name}: an approver will answer by {done.answer_by:%Y-%m-%d %H:%M} UTC.",
        ),
        describe=lambda done, recorded: recorded.about(done.id, role=done.role_name, minutes=done.minutes),
    )


@page
async def cancel(request: Request) -> Response:
    principal, request_id = principal_of(request), request.path_params["request_id"]
    what = Change("iam:CancelAccessRequest", "access_request", request_id)
    return await act(request, what, lambda c: access.cancel(c, principal, request_id), BASE, "Request withdrawn.")


def _give_up_question(connection: Connection, request: Request) -> Confirmation | GatehouseError:
    principal, role_id = principal_of(request), request.path_params["role_id"]
    held = [g for g in access.my_access(connection, principal).active if g.role_id == role_id]
    if not held:
        return InvalidInput("You do not hold this role through an access request (it may have expired already).")
    return Confirmation(
        f"Give up {held[0].role_name} now?",
        f"You hold {held[0].role_name} until {held[0].until:%Y-%m-%d %H:%M} UTC. Giving it up ends it at once; "
        "to have it again you will have to ask again.",
        "Give it up now",
    )


@page
async def give_up(request: Request) -> Response:
    principal, role_id = principal_of(request), request.path_params["role_id"]
    return await confirm_then_act(
        request,
        back=BASE,
        ask=lambda c: _give_up_question(c, request),
        what=Change("iam:GiveUpAccess", "user", principal.user_id, {"role_id": role_id}),
        work=lambda c: access.give_up(c, principal, role_id),
        done=lambda held: (BASE, f"You gave up {held.role_name}."),
        describe=lambda held, recorded: recorded.about(role=held.role_name),
        back_label="Back to My access",
    )


ROUTES: Final = [
    Route(BASE, mine, methods=["GET"]),
    Route(f"{BASE}/requests", ask, methods=["POST"]),
    Route(BASE + "/requests/{request_id}/cancel", cancel, methods=["POST"]),
    Route(BASE + "/roles/{role_id}/give-up", give_up, methods=["GET", "POST"]),
]
