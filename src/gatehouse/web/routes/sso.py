"""Single sign-on through an OpenID Connect login option: ``/sso/oidc/{option_id}/login`` and ``/callback``
(LDAP's form: :mod:`~gatehouse.web.routes.sso_ldap`; SAML's routes: :mod:`~gatehouse.web.routes.sso_saml`).

Thin routes over the dashboard's :class:`gatehouse.sso.signin.OidcSignIn` (``Dashboard.sso``): the login
route (also the *initiate login URI* of OIDC Core 1.0 §4, which a provider's app tile calls with ``iss``)
sends the browser to the provider; the callback opens the session and goes on to the page the user asked
for. A refusal renders a page that says why, with a reference code matching the audit record; it never
signs anyone in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.login.urls import CALLBACK_PATH, LOGIN_PATH
from gatehouse.sso.completion import SignedIn
from gatehouse.sso.failure import reason_of
from gatehouse.web.dashboard import dashboard_of

T = TypeVar("T")

TITLES: Final = {400: "Sign-in link not valid", 403: "Sign-in refused", 404: "Sign-in option unavailable"}
HINTS: Final = {
    "state_invalid": "Sign-in links work once and for ten minutes. Start again; it takes a moment.",
    "state_missing": "Start from Gatehouse's sign-in page rather than a bookmark of the provider's page.",
    "not_provisioned": "Once your administrator assigns you to Gatehouse in the identity provider, sign in again.",
    "assertion_replayed": "Each answer of the identity provider signs in once. Start again from the sign-in page.",
    "assertion_expired": "The identity provider's answer is valid for a few minutes. Start again; it takes a moment.",
    "signature_invalid": "Your administrator should check the IdP metadata (its signing certificate).",
    "ldap_unreachable": "The directory may be down. Try again in a few minutes, or ask your administrator.",
}


def failure_page(request: Request, exc: GatehouseError, title: str | None = None) -> Response:
    reason = reason_of(exc)
    return dashboard_of(request).render(
        request,
        "auth/sso_error.html",
        status=exc.status,
        title=title or TITLES.get(exc.status, "Sign-in failed"),
        detail=exc.detail,
        hint=HINTS.get(reason),
        reason=reason,
    )


def away(url: str) -> Response:
    """A See Other to a provider's address (a sign-in or sign-out request, good once): never cached."""
    response = RedirectResponse(url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


async def answered(
    request: Request, step: Awaitable[T], then: Callable[[T], Response], title: str | None = None
) -> Response:
    """The response ``then`` makes of what a step of a protocol answers (the provider's address, the signed-in
    user, metadata), or the page of why the step refused (``title``, or one by its status)."""
    try:
        answer = await step
    except GatehouseError as exc:
        return failure_page(request, exc, title)
    return then(answer)


def session_opened(request: Request, signed_in: SignedIn) -> Response:
    """The new session's cookie set, on to the page the user asked for."""
    dashboard = dashboard_of(request)
    response = dashboard.redirect(signed_in.next_path)
    dashboard.set_session(response, signed_in.cookie)
    return response


async def start(request: Request) -> Response:
    dashboard, query = dashboard_of(request), request.query_params
    return await answered(
        request,
        dashboard.sso.begin(
            request.path_params["option_id"],
            _next_path(query.get("next"), query.get("target_link_uri"), dashboard.settings.public_url),
            issuer_hint=query.get("iss"),
            ip=dashboard.client_ip(request),
            agent=request.headers.get("user-agent"),
        ),
        away,
    )


async def callback(request: Request) -> Response:
    dashboard = dashboard_of(request)
    return await answered(
        request,
        dashboard.sso.complete(
            request.path_params["option_id"],
            dict(request.query_params),
            ip=dashboard.client_ip(request),
            agent=request.headers.get("user-agent"),
        ),
        lambda signed_in: session_opened(request, signed_in),
    )


def _next_path(next_path: str | None, target_link_uri: str | None, public_url: str) -> str:
    """The page to land on: ``next`` (a local path), or a ``target_link_uri`` at Gatehouse itself (§4)."""
    if next_path:
        return next_path
    if target_link_uri and target_link_uri.startswith(public_url.rstrip("/") + "/"):
        parts = urlsplit(target_link_uri)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"


ROUTES: Final = [
    Route(LOGIN_PATH, start, methods=["GET"]),
    Route(CALLBACK_PATH, callback, methods=["GET"]),
]
