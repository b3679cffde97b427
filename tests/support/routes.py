"""Every route an app registers, through its mounts and FastAPI's routers: what the permission matrix and
the response-header test walk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route


def registered_routes(app: Any) -> Iterator[tuple[str, str, str]]:
    """(surface, method, path) of every route the app registers, through its mounts."""

    def walk(routes: list[BaseRoute], prefix: str, surface: str) -> Iterator[tuple[str, str, str]]:
        for route in routes:
            if isinstance(route, Mount):
                inner = route.app
                while not hasattr(inner, "routes") and hasattr(inner, "app"):
                    inner = inner.app  # middleware around a sub-application
                path = prefix + route.path
                kind = "scim" if path.startswith("/scim") else "api" if path.startswith("/api") else surface
                if hasattr(inner, "routes"):
                    yield from walk(inner.routes, path, kind)
                else:
                    yield surface, "GET", path  # static files
            elif isinstance(route, APIRoute | Route):
                path = prefix + route.path
                kind = "api" if path.startswith("/api/") else surface  # the decision API's route, ahead of /api
                for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                    yield kind, method, path
            elif hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
                for context in route.effective_route_contexts():
                    for method in sorted(set(context.methods or {"GET"}) - {"HEAD"}):
                        yield surface, method, prefix + context.path
            else:
                raise AssertionError(f"a kind of route the matrix cannot enumerate: {route!r}")

    yield from walk(app.routes, "", "dashboard")
