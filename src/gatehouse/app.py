"""The application factory: configuration in, ASGI app out; nothing happens at import time."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from anyio import to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from gatehouse.api.app import api_routes
from gatehouse.config import Settings, load_settings
from gatehouse.errors import GatehouseError
from gatehouse.iam import scim_guard
from gatehouse.iam.background import repeating
from gatehouse.iam.grant_expiry import settling
from gatehouse.iam.retention import purging
from gatehouse.iam.signin import SESSION_COOKIE, active_sessions
from gatehouse.metrics import (
    CONTENT_TYPE,
    DB_POOL_IN_USE,
    FLUSH_SECONDS,
    POOL_SAMPLE_SECONDS,
    LiveCollector,
    RequestMetrics,
    ScrapeAccess,
    Tally,
    exposition,
)
from gatehouse.response_headers import ResponseHeaders
from gatehouse.scim.activity import TOKEN_KEY, ActivityMiddleware, ActivityRecorder
from gatehouse.scim.discovery import Discovery
from gatehouse.scim.groups import GroupService
from gatehouse.scim.operations import operation_of
from gatehouse.scim.rate_limit import RateLimit
from gatehouse.scim.render import Renderer
from gatehouse.scim.router import ScimFront, ScimRouter
from gatehouse.scim.routes import (
    ScimEndpoints,
    build_routes,
    handle_domain_error,
    handle_http_error,
    handle_unexpected,
)
from gatehouse.scim.users import UserService
from gatehouse.secrets_box import LazySecretBox
from gatehouse.store import schema_revision
from gatehouse.store.database import Database
from gatehouse.streaming.deliverer import Deliverer, delivering
from gatehouse.web.app import dashboard_routes, error_handlers
from gatehouse.web.dashboard import Dashboard

log = logging.getLogger("gatehouse.app")


def build_scim_app(settings: Settings, db: Database) -> ASGIApp:
    """The ``/scim/v2`` routes with their own SCIM error rendering: a router inside the exception middleware
    (every error, unexpected ones too, becomes a SCIM Error message; nothing reaches the dashboard's handlers).
    Not a sub-application: Starlette's would add two more layers to every SCIM request."""
    renderer = Renderer(settings.scim_base_url)
    endpoints = ScimEndpoints(
        db,
        UserService(renderer, scim_guard.Policy.of(settings)),
        GroupService(renderer),
        Discovery(settings.scim_base_url, settings.scim_max_results),
        default_count=settings.scim_default_count,
        max_results=settings.scim_max_results,
        max_body_bytes=settings.max_body_bytes,
        trusted_proxies=settings.trusted_proxies,
    )
    handlers = {GatehouseError: handle_domain_error, HTTPException: handle_http_error, Exception: handle_unexpected}
    return ExceptionMiddleware(ScimRouter(routes=build_routes(endpoints)), handlers=handlers)  # type: ignore[arg-type]


def create_app(settings: Settings | None = None, db: Database | None = None) -> Starlette:
    """Build the whole Gatehouse application for ``settings`` (read from the environment if omitted)."""
    settings = settings or load_settings()
    database = db or Database.from_url(settings.database_url, pool_size=settings.db_pool_size)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            current = await database.read(schema_revision.at_head)
        except Exception:  # any database failure means "not ready", never a 500
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        if not current:
            return JSONResponse({"status": "unavailable", "migrations": "pending"}, status_code=503)
        return JSONResponse({"status": "ready"})

    activity = ActivityRecorder(
        keep=settings.scim_activity_keep_rows,
        keep_days=settings.scim_activity_keep_days,
        trusted_proxies=settings.trusted_proxies,
        reads_per_second=settings.scim_activity_reads_per_second,
    )

    scrape = ScrapeAccess(settings.metrics_token, settings.trusted_proxies)
    tally = Tally(operation_of)  # this app's requests: into the metrics before each scrape and every FLUSH_SECONDS
    idle_session = timedelta(minutes=settings.session_idle_minutes)
    live = LiveCollector(lambda: database.read_sync(lambda c: active_sessions(c, idle_session)))

    async def metrics(request: Request) -> Response:
        forwarded = "x-forwarded-for" in request.headers
        peer = request.client.host if request.client else None
        if not scrape.allows(peer, request.headers.get("authorization"), forwarded):
            if scrape.needs_token:
                return PlainTextResponse(
                    "Send the metrics token: Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>.\n",
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )  # fmt: skip
            return PlainTextResponse(
                "Metrics are served to loopback clients only; set GATEHOUSE_METRICS_TOKEN to scrape from elsewhere.\n",
                status_code=403,
            )
        DB_POOL_IN_USE.set(database.pool_in_use())
        tally.flush()
        body = await to_thread.run_sync(exposition, live)
        return Response(body, media_type=CONTENT_TYPE)

    async def sample_pool() -> float:
        DB_POOL_IN_USE.set(database.pool_in_use())  # gatehouse_db_pool_connections_in_use, per process
        return POOL_SAMPLE_SECONDS

    async def flush_tally() -> float:
        tally.flush()
        return FLUSH_SECONDS

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        retention = timedelta(days=settings.audit_retention_days)
        idle = timedelta(minutes=settings.session_idle_minutes)
        deliverer = Deliverer(
            database,
            LazySecretBox(settings.secret_key_path),
            settings.audit_file_path,
            deny_private=settings.outbound_deny_private,
            max_backoff=settings.audit_stream_max_backoff_seconds,
        )
        async with (
            database.checkpointing(),  # SQLite's WAL checkpoints off the event loop (gatehouse.store.wal_checkpoint)
            activity.running(database),  # the SCIM activity flusher; flushes on the way out
            purging(database, retention, settings.audit_purge_interval_seconds, idle),
            settling(database, settings.grant_expiry_check_seconds),  # expired grants, recorded once each
            delivering(deliverer, settings.audit_stream_poll_seconds),  # the audit outbox to the sinks
            repeating(sample_pool, POOL_SAMPLE_SECONDS, log, "could not sample the database pool"),
            repeating(flush_tally, FLUSH_SECONDS, log, "could not move the request tally into the metrics"),
        ):
            yield
        database.dispose()

    dashboard = Dashboard(settings, database)
    scim_app = RateLimit(
        build_scim_app(settings, database), settings.scim_rate_per_second, settings.scim_burst, settings.trusted_proxies
    )
    metered = RequestMetrics(tally, TOKEN_KEY).finished if settings.metrics_enabled else None
    scim_mount = Mount("/scim/v2", app=ActivityMiddleware(scim_app, activity))
    app = Starlette(
        middleware=[
            Middleware(ResponseHeaders, session_cookie=SESSION_COOKIE, https=settings.secure_cookies, finished=metered),
            Middleware(ScimFront, mount=scim_mount),  # SCIM's requests, straight to the mount (gatehouse.scim.router)
        ],
        routes=[
            scim_mount,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *([Route("/metrics", metrics, methods=["GET"])] if settings.metrics_enabled else []),  # after SCIM's
            *api_routes(settings, database),  # /api, /openapi.json, /docs
            *dashboard_routes(dashboard),
        ],
        exception_handlers=error_handlers(dashboard),  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    for route in app.routes:
        if isinstance(route, Mount):  # "/scim/v2/Users/a%0Ab" stays SCIM's: a mount takes any path, newlines too
            route.path_regex = re.compile(route.path_regex.pattern, route.path_regex.flags | re.DOTALL)
    app.state.settings = settings
    app.state.db = database
    app.state.dashboard = dashboard  # the dashboard's handlers find their services here
    app.state.scim_activity = activity
    return app
