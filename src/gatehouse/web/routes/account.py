"""Sign-in, sign-out and the signed-in user's own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.iam.accounts import check_password_strength
from gatehouse.iam.audit import Change, audited, record_apart
from gatehouse.iam.authorizer import allowed
from gatehouse.iam.catalog import resource_name
from gatehouse.iam.signin import sign_in
from gatehouse.passwords import hash_password, verify_password
from gatehouse.sso.signin import OidcSignIn
from gatehouse.store import sessions, users
from gatehouse.web.dashboard import Dashboard, blocking, page, posted

HOME = "/organization/users"


def _safe_next(target: str | None) -> str:
    """Only a local path may follow sign-in (no open redirect)."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME
    return target


SIGN_IN = Change("auth:SignIn", "user")


def routes(dashboard: Dashboard, flow: OidcSignIn) -> list[Route]:
    """The account routes (``flow`` ends the provider's session too at sign-out, when asked to)."""

    async def login(request: Request) -> Response:
        if request.method == "GET":
            if await dashboard.current_user(request) is not None:
                return dashboard.redirect(_safe_next(request.query_params.get("next")))
            return await dashboard.login_page(request, next=request.query_params.get("next", ""))
        form = await dashboard.form(request, None)
        identifier = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "")))
        try:
            opened = await blocking(
                lambda: sign_in(
                    dashboard.db,
                    dashboard.policy,
                    identifier,
                    password,
                    dashboard.client_ip(request),
                    request.headers.get("user-agent"),
                )
            )
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

    @page(dashboard, allow_password_change=True)
    async def logout(request: Request) -> Response:
        user = request.scope["gatehouse.user"]
        await audited(
            dashboard.db,
            dashboard.origin(request),
            Change("auth:SignOut", "user", user.user_id),
            lambda c: sessions.end(c, user.session_hash),
        )
        provider_sign_out = await flow.sign_out_url(user.login_option_id)
        response = dashboard.redirect(provider_sign_out or "/login", "You are signed out.", "info")
        dashboard.clear_session(response)
        return response

    @page(dashboard, allow_password_change=True)
    async def password(request: Request) -> Response:
        user = request.scope["gatehouse.user"]
        if request.method == "GET":
            return dashboard.render(request, "auth/password.html", forced=user.must_change_password)
        form = posted(request)
        current, new, again = (str(form.get(k, "")) for k in ("current_password", "new_password", "confirm_password"))
        error = None
        stored = await dashboard.db.read(lambda c: users.get(c, user.user_id))
        if stored is None or not await blocking(lambda: verify_password(stored.password_hash, current)):
            error = "The current password is not correct."
        elif new != again:
            error = "The two new passwords differ."
        elif new == current:
            error = "Choose a password different from the current one."
        else:
            try:
                check_password_strength(new)
            except GatehouseError as exc:
                error = exc.detail
        if error:
            return dashboard.render(
                request, "auth/password.html", status=400, forced=user.must_change_password, error=error
            )
        new_hash = await blocking(lambda: hash_password(new))

        def change(connection: object) -> None:
            users.set_password(connection, user.user_id, new_hash, must_change=False)  # type: ignore[arg-type]
            sessions.end_for_user(connection, user.user_id)  # type: ignore[arg-type]

        await audited(
            dashboard.db, dashboard.origin(request), Change("auth:ChangePassword", "user", user.user_id), change
        )
        response = dashboard.redirect("/login", "Password changed. Sign in with your new password.")
        dashboard.clear_session(response)
        return response

    @page(dashboard)
    async def home(request: Request) -> Response:
        principal = await dashboard.principal(request)
        if allowed(principal, "iam:GetUser", resource_name("user", "*")):
            return dashboard.redirect(HOME)
        return dashboard.redirect(f"{HOME}/{principal.user_id}")  # with no role: their own profile

    return [
        Route("/", home, methods=["GET"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/account/password", password, methods=["GET", "POST"]),
    ]
