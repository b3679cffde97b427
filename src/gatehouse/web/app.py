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
from gatehouse.web.error_pages import error_page, method_not_allowed
from gatehouse.web.routes import (
    access_requests,
    access_review,
    account,
    audit,
    audit_sinks,
    gateway_access,
    groups,
    login_option_list,
    login_option_tests,
    login_options,
    my_access,
    policies,
    provisioning_activity,
    roles,
    scim_guard,
    scim_tokens,
    settings,
    sso,
    sso_ldap,
    sso_saml,
    timed_grants,
    tokens,
    user_access,
    users,
)

log = logging.getLogger("gatehouse.web")
STATIC = Path(__file__).parent / "static"


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
        *scim_tokens.ROUTES,
        *provisioning_activity.ROUTES,
        *scim_guard.ROUTES,
        *login_option_list.ROUTES,
        *login_options.ROUTES,
        *login_option_tests.ROUTES,
        *tokens.ROUTES,
        *audit.ROUTES,
        *roles.ROUTES,
        *policies.ROUTES,
        *groups.ROUTES,
        *gateway_access.ROUTES,
        *my_access.ROUTES,  # governance: time-bound access, requests, reviews, audit streaming
        *access_requests.ROUTES,
        *timed_grants.ROUTES,
        *access_review.ROUTES,
        *audit_sinks.ROUTES,
    ]


def error_handlers(dashboard: Dashboard) -> dict[type[Exception] | int, object]:
    """Render domain errors, routing errors and crashes as dashboard pages (never a traceback)."""

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatehouseError)
        return await error_page(dashboard, request, exc.status, exc.detail)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:  # a form's address opened as a page: to that page (web/error_pages.py)
            return await method_not_allowed(dashboard, request)
        detail = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
        return await error_page(dashboard, request, exc.status_code, detail)

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.url.path)
        return await error_page(dashboard, request, 500, "Something went wrong on our side; it has been logged.")

    return {GatehouseError: domain, HTTPException: http, Exception: crash}
