"""Sign-in, sign-out, the signed-in user's own password, and where a signed-in user lands.

Thin handlers over :mod:`gatehouse.iam.signin` (the password sign-in with its throttling, the session's end)
and :mod:`gatehouse.iam.accounts` (one's own password, the landing page); signing out also ends the
provider's session when the login option asks for it (OpenID Connect's end session:
:class:`gatehouse.sso.signin.OidcSignIn`; SAML Single Logout: :class:`gatehouse.sso.saml_logout.SamlLogout`),
always after the local session has ended.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import accounts, signin
from gatehouse.iam.audit import Change, record_apart
from gatehouse.login.urls import local_target
from gatehouse.store.sessions import SessionUser
from gatehouse.web.actions import change, form_text
from gatehouse.web.dashboard import blocking, dashboard_of, page, principal_of

HOME: Final = "/organization/users"
SIGN_IN: Final = Change("auth:SignIn", "user")


def _safe_next(target: str | None) -> str:
    """Only a local path may follow sign-in (no open redirect): :func:`gatehouse.login.urls.local_target`."""
    return local_target(target, HOME)


def _user(request: Request) -> SessionUser:
    """The signed-in user of a request that :func:`~gatehouse.web.dashboard.page` let through."""
    return request.scope["gatehouse.user"]  # type: ignore[no-any-return]


async def login(request: Request) -> Response:
    dashboard = dashboard_of(request)
    if request.method == "GET":
        if await dashboard.current_user(request) is not None:
            return dashboard.redirect(_safe_next(request.query_params.get("next")))
        return await dashboard.login_page(request, next=request.query_params.get("next", ""))
    form = await dashboard.form(request, None)
    identifier, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    ip, agent = dashboard.client_ip(request), request.headers.get("user-agent")
    try:
        opened = await blocking(lambda: signin.sign_in(dashboard.db, dashboard.policy, identifier, password, ip, agent))
    except GatehouseError as exc:
        attempt = dashboard.origin(request, identifier[:255] or "anonymous")
        await record_apart(dashboard.db, attempt, SIGN_IN, exc.status, exc.detail)
        return await dashboard.login_page(
            request, status=exc.status, error=exc.detail, username=identifier, next=target
        )
    who = dashboard.origin(request, opened.user_name, opened.user_id)
    await record_apart(dashboard.db, who, SIGN_IN.about(opened.user_id), 200)
    signed_in = dashboard.redirect("/account/password" if opened.must_change_password else target)
    dashboard.set_session(signed_in, opened.cookie)
    return signed_in


@page(allow_password_change=True)
async def logout(request: Request) -> Response:
    dashboard, user = dashboard_of(request), _user(request)
    await change(request, Change("auth:SignOut", "user", user.user_id), lambda c: signin.sign_out(c, user))
    provider_sign_out = await dashboard.sso.sign_out_url(user.login_option_id)
    if provider_sign_out is None and user.saml is not None:
        ip, agent = dashboard.client_ip(request), request.headers.get("user-agent")
        provider_sign_out = await dashboard.saml_logout.sign_out_url(user, ip=ip, agent=agent)
    response = dashboard.redirect(provider_sign_out or "/login", "You are signed out.", "info")
    dashboard.clear_session(response)
    return response


@page(allow_password_change=True)
async def password(request: Request) -> Response:
    dashboard, principal, user = dashboard_of(request), principal_of(request), _user(request)
    if request.method == "GET":
        return dashboard.render(request, "auth/password.html", forced=user.must_change_password)
    current, new, again = (form_text(request, k) for k in ("current_password", "new_password", "confirm_password"))
    try:
        new_hash = await blocking(lambda: accounts.new_own_password(dashboard.db, principal, current, new, again))
    except InvalidInput as exc:
        return dashboard.render(
            request, "auth/password.html", status=400, forced=user.must_change_password, error=exc.detail
        )
    what = Change("auth:ChangePassword", "user", user.user_id)
    await change(request, what, lambda c: accounts.set_own_password(c, principal, new_hash))
    response = dashboard.redirect("/login", "Password changed. Sign in with your new password.")
    dashboard.clear_session(response)
    return response


@page
async def home(request: Request) -> Response:
    principal = principal_of(request)
    if accounts.lands_on_directory(principal):
        return dashboard_of(request).redirect(HOME)
    return dashboard_of(request).redirect(f"{HOME}/{principal.user_id}")  # with no role: their own profile


ROUTES: Final = [
    Route("/", home, methods=["GET"]),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account/password", password, methods=["GET", "POST"]),
]
