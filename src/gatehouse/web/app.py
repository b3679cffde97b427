"""The dashboard's routes and error pages, mounted at ``/`` by the app factory."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gatehouse.errors import GatehouseError
from gatehouse.web.dashboard import Dashboard
from gatehouse.web.routes import (
    account,
    audit,
    gateway_access,
    groups,
    login_option_tests,
    login_options,
    policies,
    roles,
    settings,
    sso,
    sso_ldap,
    sso_saml,
    tokens,
    user_access,
    users,
)

log = logging.getLogger("gatehouse.web")
STATIC = Path(__file__).parent / "static"

_TITLES = {
    400: "Something is not right",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Conflict",
    429: "Too many attempts",
}


def dashboard_routes(dashboard: Dashboard) -> list[BaseRoute]:
    """Every dashboard route, plus the static assets."""
    return [
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
        *account.ROUTES,
        *sso.ROUTES,
        *sso_ldap.ROUTES,
        *sso_saml.ROUTES,
        *users.ROUTES,
        *user_access.ROUTES,
        *settings.ROUTES,
        *login_options.ROUTES,
        *login_option_tests.ROUTES,
        *tokens.ROUTES,
        *audit.ROUTES,
        *roles.ROUTES,
        *policies.ROUTES,
        *groups.ROUTES,
        *gateway_access.ROUTES,
    ]


def error_handlers(dashboard: Dashboard) -> dict[type[Exception] | int, object]:
    """Render domain errors, routing errors and crashes as dashboard pages (never a traceback)."""

    def page(request: Request, status: int, detail: str) -> Response:
        return dashboard.render(request, "error.html", status=status, title=_TITLES.get(status, "Error"), detail=detail)

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatehouseError)
        return page(request, exc.status, exc.detail)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
        return page(request, exc.status_code, detail)

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.url.path)
        return page(request, 500, "Something went wrong on our side; it has been logged.")

    return {GatehouseError: domain, HTTPException: http, Exception: crash}
