"""Signing in through a SAML 2.0 login option: ``/sso/saml/{option_id}/login`` (to the IdP, HTTP-Redirect),
``/acs`` (the assertion consumer service: the IdP's HTTP-POST back), ``/metadata`` (the SP metadata an
administrator gives the IdP) and ``/slo`` (the Single Logout service, HTTP-Redirect: the IdP's LogoutResponse
or LogoutRequest, :class:`gatehouse.sso.saml_logout.SamlLogout`).

Thin routes over the dashboard's :class:`gatehouse.sso.saml_signin.SamlSignIn` (``Dashboard.saml``). The ACS
takes a cross-site POST by design, so it carries no CSRF token: the single-use ``RelayState`` bound to the
request id, and the signed response itself, are what a forged POST lacks. A refusal renders a page that says
why, with the reason code of its audit record; it never signs anyone in.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.login.saml import ACS_PATH, LOGIN_PATH, METADATA_PATH, SLO_PATH
from gatehouse.sso.saml_logout import LogoutDone
from gatehouse.web.dashboard import dashboard_of
from gatehouse.web.routes.sso import answered, away, session_opened

MAX_FIELD: Final = 1024 * 1024


async def start(request: Request) -> Response:
    dashboard = dashboard_of(request)
    return await answered(
        request,
        dashboard.saml.begin(
            request.path_params["option_id"], request.query_params.get("next") or "/",
            ip=dashboard.client_ip(request), agent=request.headers.get("user-agent"),
        ),
        away,
    )  # fmt: skip


async def acs(request: Request) -> Response:
    dashboard = dashboard_of(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_FIELD)
    fields = {name: str(form.get(name, "")) for name in ("SAMLResponse", "RelayState")}
    return await answered(
        request,
        dashboard.saml.complete(
            request.path_params["option_id"], fields,
            ip=dashboard.client_ip(request), agent=request.headers.get("user-agent"),
        ),
        lambda signed_in: session_opened(request, signed_in),
    )  # fmt: skip


async def metadata(request: Request) -> Response:
    return await answered(
        request,
        dashboard_of(request).saml.sp_metadata(request.path_params["option_id"]),
        lambda xml: Response(xml, media_type="application/samlmetadata+xml"),
    )


async def single_logout(request: Request) -> Response:
    dashboard = dashboard_of(request)
    query = request.query_params
    params = {name: query[name] for name in ("SAMLRequest", "SAMLResponse", "RelayState") if name in query}

    def after(done: LogoutDone) -> Response:
        return away(done.location) if done.to_idp else dashboard.redirect(done.location, "You are signed out.", "info")

    return await answered(
        request,
        dashboard.saml_logout.receive(
            request.path_params["option_id"], request.url.query, params,
            ip=dashboard.client_ip(request), agent=request.headers.get("user-agent"),
        ),
        after,
        "Single sign-out refused",
    )  # fmt: skip


ROUTES: Final = [
    Route(LOGIN_PATH, start, methods=["GET"]),
    Route(ACS_PATH, acs, methods=["POST"]),
    Route(METADATA_PATH, metadata, methods=["GET"]),
    Route(SLO_PATH, single_logout, methods=["GET"]),
]
