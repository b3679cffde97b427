"""Organization → Settings → Login Options (``/organization/settings/login-options``): the list of login options
and the built-in password option's switch. An option's own page, the new option's form and their checks are
:mod:`~gatehouse.web.routes.login_options`.

Turning password sign-in off asks on its own page first, and is refused there (with the reason) unless an
enabled login option has already signed in someone who may change login options
(:func:`gatehouse.iam.password_login.way_back`): one click can never lock every administrator out.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Conflict, GatehouseError
from gatehouse.iam import login_options as uc
from gatehouse.iam import password_login
from gatehouse.store.database import Connection
from gatehouse.web.actions import Confirmation, Settled, act, confirm_then_act, form_text, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/settings/login-options"
PASSWORD_OFF: Final = f"{BASE}/password/disable"
BACK_LABEL: Final = "Back to Login Options"


@page
async def listing(request: Request) -> Response:
    dashboard, principal = dashboard_of(request), principal_of(request)
    try:
        state = await dashboard.db.read(lambda c: uc.state(c, principal, dashboard.settings.public_url))
    except GatehouseError as exc:
        return refused(request, exc, "/")
    return dashboard.render(request, "login_options/list.html", logins=state)


@page
async def password(request: Request) -> Response:
    """On at once; off only through its confirmation page (a GET, a reload of the address: the list)."""
    principal = principal_of(request)
    if request.method == "GET":
        return dashboard_of(request).redirect(BASE)
    if form_text(request, "enabled", 10) != "on":
        try:
            await dashboard_of(request).db.read(lambda c: password_login.way_back(c, principal))
        except GatehouseError as exc:
            return refused(request, exc, BASE, BACK_LABEL)
        return dashboard_of(request).redirect(PASSWORD_OFF)
    return await act(
        request,
        password_login.PASSWORD.about(None, enabled=True),
        lambda c: password_login.set_password_login(c, principal, True),
        BASE,
        "Users may sign in with their username and password.",
    )


def _off_question(connection: Connection, request: Request) -> Confirmation | Settled | GatehouseError:
    found = password_login.way_back(connection, principal_of(request))
    if not found.password_enabled:
        return Settled("Password sign-in is already off.")
    if found.refusal is not None:
        return Conflict(found.refusal)
    people = ", ".join(f"{user} (through {option})" for option, user in found.admins[:5])
    return Confirmation(
        "Turn off password sign-in?",
        f"The sign-in page will offer only {', '.join(found.enabled_options)}. Who can still change login options "
        f"then: {people}.",
        "Turn off password sign-in",
        "Everyone who signs in with a password today, Super Admins included, must then use a login option. If "
        "your identity provider becomes unreachable, only “gatehouse login-options enable-password”, run on the "
        "server, turns password sign-in back on.",
    )


@page
async def password_off(request: Request) -> Response:
    principal = principal_of(request)
    return await confirm_then_act(
        request,
        back=BASE,
        ask=lambda c: _off_question(c, request),
        what=password_login.PASSWORD.about(None, enabled=False),
        work=lambda c: password_login.set_password_login(c, principal, False),
        done=lambda _: (BASE, "Password sign-in is off: users sign in through their login options."),
        back_label=BACK_LABEL,
    )


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(f"{BASE}/password", password, methods=["GET", "POST"]),
    Route(PASSWORD_OFF, password_off, methods=["GET", "POST"]),
]
