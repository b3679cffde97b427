"""The admin REST API (``/api``): a FastAPI application mounted by the app factory, its OpenAPI document
served at the root (``/openapi.json``, with ``servers: [{"url": "/api"}]``) and its reference at ``/docs``:
Swagger UI 5 (it reads OpenAPI 3.1), vendored from the npm package ``swagger-ui-dist`` into
``api/swagger-ui/`` (version and licence in its ``VERSION``, ``LICENSE`` and ``NOTICE``; no CDN, no build
step: it works offline, under a CSP without inline script).

API7 parity: the Dashboard's Admin API under ``/api/*`` (users, roles, permission policies, SCIM settings,
login options, tokens, audit logs), authenticated by a personal token in ``X-API-KEY``
(:mod:`gatehouse.api.auth`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gatehouse.api import decision_route, forward_auth
from gatehouse.api.context import Api
from gatehouse.api.errors import HANDLERS, Guard
from gatehouse.api.routes import (
    access,
    access_review,
    audit,
    audit_sinks,
    auth,
    authz,
    config,
    login_options,
    policies,
    roles,
    scim,
    tokens,
    users,
)
from gatehouse.config import Settings
from gatehouse.store.database import Database

PREFIX: Final = "/api"
MAX_BODY_BYTES: Final = 1024 * 1024
"""The largest request body the API accepts (a policy document is at most 256 KiB)."""
TITLE: Final = "Gatehouse admin API"
DESCRIPTION: Final = """\
The organization-and-access plane of the gateway dashboard: users, roles, permission policies, SCIM
group bindings, SCIM provisioning, login options (SSO), API tokens and the audit log.

**Authentication.** Send a personal API token (create one with `POST /api/tokens` or in the dashboard) as
`X-API-KEY: <token>` or `Authorization: Bearer <token>`; it acts with its user's current permissions. Or
sign in (`POST /api/auth/sign-in`) and use the session cookie, with the session's CSRF token in
`X-CSRF-Token` on every state-changing request.

**Errors.** Every error has the body `{"error": {"status", "code", "detail", "fields"?}}`: 400 a value the
operation refuses, 401 no valid credentials, 403 not allowed, 404 no such object, 409 a name taken or an
object in use, 412 an object changed since the `version` sent, 413 a body over 1 MiB, 422 a request that
does not match this schema (`fields` says where).

**Audit.** Every change, refused or not, is recorded in the audit log with the caller and their token.
"""

TAGS: Final = [
    {"name": "Authentication", "description": "Password sign-in to a session, sign-out."},
    {"name": "Users", "description": "The user directory, a user's page, and administrators' actions."},
    {"name": "Roles", "description": "Roles and the permission policies attached to them."},
    {"name": "Groups", "description": "SCIM groups and the roles bound to them."},
    {"name": "Permission policies", "description": "Policies, the action catalog and the policy simulator."},
    {"name": "SCIM provisioning", "description": "The SCIM endpoint's settings and tokens."},
    {
        "name": "Login options",
        "description": "Password sign-in on or off, OpenID Connect login options (secrets write-only) and dry "
        "runs of their role mapping rules.",
    },
    {"name": "API tokens", "description": "Personal API tokens."},
    {"name": "Audit logs", "description": "Who changed what: search and export; streaming sinks and their lag."},
    {
        "name": "Access requests",
        "description": "Requestable roles, requests and their answers, one's own time-bound access, time-bound grants.",
    },
    {"name": "Access review", "description": "Effective access, who may do what, revoking, reviews recorded."},
    {
        "name": "Gateway authorization",
        "description": "The decision API (`POST /api/v1/authz/check`), the forward-auth rule table and its preset "
        "(the endpoint a proxy asks is `GET /authz/forward`, outside /api), and the labels of gateway resources.",
    },
    {
        "name": "Configuration as code",
        "description": "Export the whole access configuration as a file, plan a file against it, apply it in one "
        "transaction (`gatehouse config` in a terminal).",
    },
]


def build_api(settings: Settings, db: Database) -> FastAPI:
    """The ``/api`` application."""
    api = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="1",
        openapi_url=None,  # served at the root by :func:`openapi_routes`
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
        servers=[{"url": PREFIX}],
        exception_handlers=dict(HANDLERS),  # type: ignore[arg-type]
        redirect_slashes=False,
    )
    api.add_middleware(Guard, max_body_bytes=MAX_BODY_BYTES)
    api.state.api = Api(settings, db)
    for module in (authz, auth, users, roles, policies, scim, login_options, tokens, audit, config):
        api.include_router(module.router)
    for module in (access, access_review, audit_sinks):  # governance: requests, reviews, streaming
        api.include_router(module.router)
    return api


def openapi_document(api: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the API, built once."""
    if api.openapi_schema is None:
        api.openapi_schema = get_openapi(
            title=api.title,
            version=api.version,
            openapi_version=api.openapi_version,
            description=api.description,
            routes=api.routes,
            tags=api.openapi_tags,
            servers=api.servers,
        )
        _decision_api_documented(api.openapi_schema)
        _body_limit_documented(api.openapi_schema)
    return api.openapi_schema


def _decision_api_documented(document: dict[str, Any]) -> None:
    """The decision API, served ahead of FastAPI (:mod:`gatehouse.api.decision_route`), in the same document."""
    operation, schemas = decision_route.openapi_operation("#/components/schemas/{model}")
    document.setdefault("components", {}).setdefault("schemas", {}).update(schemas)
    document.setdefault("paths", {})["/v1/authz/check"] = {"post": operation}


def _body_limit_documented(document: dict[str, Any]) -> None:
    """Every operation that takes a body may answer 413 (the :class:`~gatehouse.api.errors.Guard`'s limit)."""
    too_large = {
        "description": "The request body is larger than the API accepts (1 MiB).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("413", too_large)


SWAGGER_UI: Final = Path(__file__).parent / "swagger-ui"
"""Swagger UI's files (``swagger-ui-dist`` 5.35.0 from the npm registry, Apache-2.0)."""

_DOCS_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse admin API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
</head>
<body>
<main id="swagger-ui" aria-label="Gatehouse admin API reference"></main>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# "Authorize" takes an API token (X-API-KEY or Bearer); "Try it out" then sends it from this origin.
_DOCS_INIT: Final = """window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""

_CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)


def openapi_routes(api: FastAPI) -> list[BaseRoute]:
    """The root routes of the API's documentation: ``/openapi.json``, ``/docs`` and its local assets."""

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(api))

    async def docs(request: Request) -> Response:
        page = HTMLResponse(_DOCS_PAGE)
        page.headers["Content-Security-Policy"] = _CSP
        page.headers["X-Frame-Options"] = "DENY"
        return page

    async def init(request: Request) -> Response:
        return Response(_DOCS_INIT, media_type="application/javascript")

    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/docs/init.js", init, methods=["GET"]),
        Mount("/docs/static", app=StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui"),
    ]


def api_routes(settings: Settings, db: Database) -> list[BaseRoute]:
    """Everything the app factory mounts for the admin API, and the forward-auth endpoint (``/authz/forward``)."""
    api = build_api(settings, db)
    services = api.state.api
    return [
        *decision_route.routes(services, MAX_BODY_BYTES),  # a gateway's hot path: matched before the mount
        Mount(PREFIX, app=api),
        *openapi_routes(api),
        *forward_auth.routes(services),
    ]
