"""Every response carries the security headers, whichever surface answers: each registered route is
requested anonymously and with credentials (a dashboard session and an API token), as its method and with
placeholder path parameters, and every answer (pages, redirects, error pages, JSON, SCIM) is checked."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.response_headers import CSP, HSTS, ResponseHeaders
from gatehouse.store.database import Database
from support.api import token_for
from support.routes import registered_routes
from support.web import make_admin, sign_in

PARAM = re.compile(r"\{[^}]+\}")


def _requests(client: TestClient) -> list[tuple[str, str]]:
    routes = {(method, PARAM.sub("x", path)) for _, method, path in registered_routes(client.app)}
    return sorted(routes | {("GET", "/no/such/page"), ("GET", "/scim/v2/Nope"), ("GET", "/api/nope")})


def _check(response: object, *, private: bool, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "same-origin", where
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), where
    if private:
        assert "no-store" in headers.get("cache-control", ""), where


def test_every_route_answers_with_the_security_headers(settings: Settings, db: Database) -> None:
    admin_id = make_admin(db)
    token = token_for(db, admin_id)
    with TestClient(create_app(settings, db), base_url="https://testserver") as anonymous:
        requests = _requests(anonymous)
        assert len(requests) > 80
        for method, path in requests:
            _check(anonymous.request(method, path, follow_redirects=False), private=False, where=f"{method} {path}")
    with TestClient(create_app(settings, db), base_url="https://testserver") as browser:
        assert sign_in(browser).status_code == 303  # type: ignore[attr-defined]
        for method, path in requests:
            response = browser.request(method, path, follow_redirects=False)
            _check(response, private=True, where=f"signed in: {method} {path}")
            keyed = browser.request(method, path, headers={"X-API-KEY": token}, follow_redirects=False)
            _check(keyed, private=True, where=f"token: {method} {path}")


def test_the_dashboard_policy_and_the_api_reference_keeps_its_own(app_client: TestClient) -> None:
    """Pages get the dashboard's policy; the API reference, which sets a policy of its own, keeps it."""
    assert app_client.get("/login").headers["content-security-policy"] == CSP
    docs = app_client.get("/docs").headers["content-security-policy"]
    assert docs != CSP and "frame-ancestors 'none'" in docs


@pytest.mark.parametrize(("public_url", "hsts"), [("https://gatehouse.test", True), ("http://127.0.0.1:8080", False)])
def test_strict_transport_security_when_the_public_url_is_https(
    settings: Settings, db: Database, public_url: str, hsts: bool
) -> None:
    configured = settings.model_copy(update={"public_url": public_url})
    with TestClient(create_app(configured, db)) as client:
        for path in ("/login", "/scim/v2/ServiceProviderConfig", "/healthz"):
            assert (client.get(path).headers.get("strict-transport-security") == HSTS) is hsts


def test_finished_is_told_each_requests_status_and_duration_also_when_the_app_raises() -> None:
    told: list[tuple[str, int, float]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/boom":
            raise RuntimeError("before answering")
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b"teapot"})

    wrapped = ResponseHeaders(
        app, session_cookie="s", https=False, finished=lambda scope, status, s: told.append((scope["path"], status, s))
    )
    client = TestClient(wrapped, raise_server_exceptions=False)  # no lifespan: the app knows only HTTP
    answered = client.get("/tea")
    assert answered.status_code == 418 and answered.headers["x-frame-options"] == "DENY"
    assert client.get("/boom").status_code == 500
    assert [(path, status) for path, status, _ in told] == [("/tea", 418), ("/boom", 500)]
    assert all(0 <= seconds < 5 for _, _, seconds in told)
