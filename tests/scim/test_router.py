"""The SCIM routers' short ways (``gatehouse.scim.router``) answer exactly as Starlette's routing does: the same
status, body and headers, and the same scope for the endpoint (route, endpoint, path parameters, root path), for
requests that match, miss, use a method a route does not allow, or need a trailing slash redirected."""

from __future__ import annotations

import re

import orjson
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from gatehouse.scim.router import ScimFront, ScimRouter


async def _echo(request: Request) -> Response:
    scope = request.scope
    seen = {
        "route": scope["route"].path,
        "endpoint": scope["endpoint"].__name__,
        "params": scope["path_params"],
        "root_path": scope["root_path"],
        "method": request.method,
    }
    return Response(orjson.dumps(seen), media_type="application/json")


async def _other(request: Request) -> Response:
    return await _echo(request)


def _routes() -> list[Route]:
    routes = [
        Route("/Users/.search", _other, methods=["POST"]),
        Route("/Users/{id}", _echo, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route("/Users", _echo, methods=["GET", "POST"]),
        Route("/Schemas/{urn:path}", _other, methods=["GET"]),
        Route("/Me", _other, methods=["GET", "POST"]),
    ]
    for route in routes:
        route.path_regex = re.compile(route.path_regex.pattern, re.IGNORECASE | re.DOTALL)
    return routes


REQUESTS = [
    ("GET", "/Users/abc"),
    ("HEAD", "/Users/abc"),
    ("patch", "/users/ABC"),
    ("POST", "/Users/.search"),
    ("GET", "/Users/.search"),  # the item route, with the id ".search"
    ("PUT", "/Users/.search"),
    ("POST", "/Users/abc"),  # 405
    ("DELETE", "/Users"),  # 405
    ("GET", "/Users/a%0Ab"),
    ("GET", "/Users/"),  # redirected to /Users
    ("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
    ("GET", "/Nowhere"),  # 404
    ("PUT", "/Me"),  # 405
]


def _answer(client: TestClient, method: str, path: str) -> tuple[int, bytes, dict[str, str]]:
    response = client.request(method, path, follow_redirects=False)
    return response.status_code, response.content, dict(response.headers)


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_the_scim_router_answers_as_starlettes(method: str, path: str) -> None:
    with TestClient(Router(routes=_routes())) as plain, TestClient(ScimRouter(routes=_routes())) as short:
        assert _answer(short, method, path) == _answer(plain, method, path)


async def _inner(scope: Scope, receive: Receive, send: Send) -> None:
    shown = {key: scope.get(key) for key in ("root_path", "app_root_path", "path_params")}
    shown["route"] = getattr(scope.get("route"), "path", None)
    shown["endpoint"] = scope.get("endpoint") is _inner
    await Response(orjson.dumps(shown), media_type="application/json")(scope, receive, send)


def _application(front: bool) -> Starlette:
    mount = Mount("/scim/v2", app=_inner)
    mount.path_regex = re.compile(mount.path_regex.pattern, mount.path_regex.flags | re.DOTALL)
    middleware = [Middleware(ScimFront, mount=mount)] if front else []
    return Starlette(middleware=middleware, routes=[Route("/healthz", _echo), mount])


@pytest.mark.parametrize(
    "path", ["/scim/v2/Users/abc", "/scim/v2/", "/scim/v2/Users/a%0Ab", "/scim/v2", "/scim/v2x/Users", "/healthz"]
)
@pytest.mark.parametrize("root_path", ["", "/gatehouse"])
def test_the_scim_front_gives_the_mounts_scope(path: str, root_path: str) -> None:
    with (
        TestClient(_application(front=False), root_path=root_path) as plain,
        TestClient(_application(front=True), root_path=root_path) as short,
    ):
        assert _answer(short, "GET", path) == _answer(plain, "GET", path)
        assert _answer(short, "POST", path) == _answer(plain, "POST", path)
