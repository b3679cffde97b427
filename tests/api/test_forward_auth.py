"""``GET /authz/forward`` in process, on both databases: who (token or session), what (rules and the preset),
the answers a proxy acts on (200 with identity headers, 401 with the sign-in URL for a browser, 403, 400),
refusals of requests that could be read two ways, and the audit records of denials at a bounded pace."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from gatehouse.api.forward_auth import PATH, ForwardAuth
from gatehouse.iam.forward_auth import DenialLog
from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY
from gatehouse.store.database import Database
from support.api import VIEWER, World, add_user, audit, key, sign_in_api, token_for
from support.gateway import GG, caddy, grant, label, nginx
from support.scim import PUBLIC_URL

A = "/api/v1/authz"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def gateway(client: TestClient, world: World, db: Database) -> dict[str, dict[str, str]]:
    """The preset on; ``reader`` (read-only gateway) and ``devon`` (env=dev groups), each with a token."""
    assert client.put(f"{A}/preset", headers=key(world.admin_token), json={"enabled": True}).status_code == 200
    reader = add_user(db, "reader", role=VIEWER, email="Reader@Example.com")
    devon = add_user(db, "devon", role=VIEWER)
    grant(db, reader, "gateway readers", GATEWAY_READ_ONLY)
    grant(db, devon, "dev editors", DEV_GROUPS_FULL_CONTROL)
    label(db, f"{GG}/dev", env="dev")
    label(db, f"{GG}/prod", env="prod")
    return {"reader": key(token_for(db, reader)), "devon": key(token_for(db, devon)), "reader_id": {"id": reader}}


def forward(client: TestClient, headers: dict[str, str], method: str, uri: str, **extra: str) -> Any:
    return client.get(PATH, headers={**headers, **nginx(method, uri), **extra})


def endpoint(client: TestClient) -> ForwardAuth:
    route = next(r for r in client.app.routes if isinstance(r, Route) and r.path == PATH)  # type: ignore[attr-defined]
    found = route.endpoint.__self__  # type: ignore[attr-defined]
    assert isinstance(found, ForwardAuth)
    return found


def test_a_reader_reads_and_cannot_change(client: TestClient, gateway: dict[str, dict[str, str]]) -> None:
    allowed = forward(client, gateway["reader"], "GET", "/api/gateway_groups/prod/services/s1")
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["x-gatehouse-user"] == "reader"
    assert allowed.headers["x-gatehouse-user-id"] == gateway["reader_id"]["id"]
    assert allowed.headers["x-gatehouse-email"] == "reader@example.com"
    assert allowed.headers["x-gatehouse-roles"] == "gateway readers,Viewer"
    assert allowed.headers["cache-control"] == "no-store" and allowed.content == b""
    assert forward(client, gateway["reader"], "GET", "/apisix/admin/routes/7?gateway_group_id=prod").status_code == 200
    denied = forward(client, gateway["reader"], "PUT", "/apisix/admin/routes/7?gateway_group_id=prod")
    assert denied.status_code == 403
    assert denied.json()["error"]["detail"] == (
        f"Not allowed: no statement allows gateway:UpdatePublishedService on {GG}/prod/publishedservice/*."
    )
    assert "x-gatehouse-user" not in denied.headers


def test_an_env_dev_editor_changes_dev_not_prod(client: TestClient, gateway: dict[str, dict[str, str]]) -> None:
    devon = gateway["devon"]
    assert forward(client, devon, "PUT", "/apisix/admin/routes/7?gateway_group_id=dev").status_code == 200
    assert forward(client, devon, "DELETE", "/api/gateway_groups/dev/service_registries/r1").status_code == 200
    assert forward(client, devon, "PUT", "/apisix/admin/routes/7?gateway_group_id=prod").status_code == 403
    assert forward(client, devon, "PUT", "/apisix/admin/routes/7?gateway_group_id=unlabelled").status_code == 403
    assert forward(client, devon, "PUT", "/apisix/admin/routes/7").status_code == 403  # no group: no rule


def test_caddy_and_traefik_headers_and_bearer_tokens(client: TestClient, gateway: dict[str, dict[str, str]]) -> None:
    bearer = {"Authorization": f"Bearer {gateway['reader']['X-API-KEY']}"}
    assert client.get(PATH, headers={**bearer, **caddy("GET", "/api/gateway_groups/dev")}).status_code == 200
    assert client.head(PATH, headers={**bearer, **caddy("HEAD", "/api/gateway_groups/dev")}).status_code == 200
    # Caddy appends the original query to the auth request's URL: it is ignored
    assert (
        client.get(
            f"{PATH}?gateway_group_id=x", headers={**bearer, **caddy("GET", "/api/gateway_groups/dev")}
        ).status_code
        == 200
    )


def test_no_credentials(client: TestClient, gateway: dict[str, dict[str, str]]) -> None:
    """A browser gets the sign-in URL with next (Location and body); an API client the API's 401."""
    browser = forward(client, BROWSER, "GET", "/api/gateway_groups/dev/services/s1?tab=routes")
    assert browser.status_code == 401
    sign_in = f"{PUBLIC_URL}/login?next=%2Fapi%2Fgateway_groups%2Fdev%2Fservices%2Fs1%3Ftab%3Droutes"
    assert browser.headers["location"] == sign_in
    assert browser.headers["content-type"].startswith("text/html") and sign_in in browser.text
    api = forward(client, {}, "GET", "/api/gateway_groups/dev")
    assert api.status_code == 401 and "location" not in api.headers
    assert api.headers["www-authenticate"].startswith("Bearer") and api.json()["error"]["code"] == "unauthorized"
    dead = forward(client, {"X-API-KEY": "gha_not-a-token"}, "GET", "/api/gateway_groups/dev")
    assert dead.status_code == 401 and "invalid, expired or revoked" in dead.json()["error"]["detail"]
    assert dead.json()["error"]["detail"].endswith(".") and not dead.json()["error"]["detail"].endswith("..")


def test_the_session_cookie(client: TestClient, db: Database, gateway: dict[str, dict[str, str]]) -> None:
    """A signed-in browser goes through with its cookie; a state-changing request a browser marks cross-site
    does not (the cookie is ambient)."""
    sally = add_user(db, "sally", role=VIEWER, password="sally's long password")
    grant(db, sally, "sally's", DEV_GROUPS_FULL_CONTROL)
    assert sign_in_api(client, "sally", "sally's long password").status_code == 200
    read = forward(client, BROWSER, "GET", "/api/gateway_groups/dev")
    assert read.status_code == 200 and read.headers["x-gatehouse-user"] == "sally"
    assert forward(client, {}, "PUT", "/api/gateway_groups/prod").status_code == 403
    assert forward(client, {"Sec-Fetch-Site": "same-origin"}, "PUT", "/api/gateway_groups/dev").status_code == 200
    cross = forward(client, {"Sec-Fetch-Site": "cross-site"}, "PUT", "/api/gateway_groups/dev")
    assert cross.status_code == 403 and "cross-site" in cross.json()["error"]["detail"]
    assert forward(client, {"Sec-Fetch-Site": "cross-site"}, "GET", "/api/gateway_groups/dev").status_code == 200
    # a gha_ token wins over the cookie
    assert forward(client, gateway["reader"], "PUT", "/api/gateway_groups/dev").status_code == 403


def test_deactivation_is_refused_on_the_next_request(
    client: TestClient, db: Database, world: World, gateway: dict[str, dict[str, str]]
) -> None:
    sally = add_user(db, "sally", role=VIEWER, password="sally's long password")
    grant(db, sally, "readers too", GATEWAY_READ_ONLY)
    browser = TestClient(client.app, base_url="https://testserver")
    assert sign_in_api(browser, "sally", "sally's long password").status_code == 200
    token = key(token_for(db, sally))
    assert forward(browser, {}, "GET", "/api/gateway_groups/dev").status_code == 200
    assert forward(client, token, "GET", "/api/gateway_groups/dev").status_code == 200
    assert client.post(f"/api/users/{sally}/deactivate", headers=key(world.admin_token)).status_code == 200
    assert forward(browser, BROWSER, "GET", "/api/gateway_groups/dev").status_code == 401
    assert forward(client, token, "GET", "/api/gateway_groups/dev").status_code == 401


def test_malformed_and_ambiguous_requests(client: TestClient, gateway: dict[str, dict[str, str]]) -> None:
    """Headers that do not say what the request was: 400, never a 5xx; a request readable two ways: 403."""
    reader = gateway["reader"]
    for headers in (
        {},
        {"X-Original-Method": "GET"},
        nginx("GET", "no-slash"),
        nginx("G E T", "/a"),
        nginx("GET", "/a%ff"),
    ):
        response = client.get(PATH, headers={**reader, **headers})
        assert response.status_code == 400, (headers, response.text)
        assert response.json()["error"]["code"] == "invalid_input"
    for uri in ("/api/gateway_groups/prod/../dev", "/api/gateway_groups/dev%2F..%2Fprod", "//evil/api"):
        assert forward(client, reader, "GET", uri).status_code == 403, uri
    forged = {**reader, **nginx("GET", "/api/gateway_groups/dev"), "X-Forwarded-Method": "DELETE"}
    assert client.get(PATH, headers=forged).status_code == 403
    twice = forward(client, reader, "GET", "/apisix/admin/ssls?gateway_group_id=dev&gateway_group_id=prod")
    assert twice.status_code == 403 and "given 2 times" in twice.text
    assert forward(client, reader, "GET", "/not/an/admin/path").status_code == 403


def test_custom_rules_come_first(client: TestClient, world: World, gateway: dict[str, dict[str, str]]) -> None:
    rule = {
        "methods": ["GET"],
        "path": "/api/gateway_groups/{gg}",
        "action": "gateway:DeleteGatewayGroup",
        "resource": f"{GG}/{{gg}}",
        "position": 0,
    }
    assert client.post(f"{A}/rules", headers=key(world.admin_token), json=rule).status_code == 201
    # GET a group is now taken for DeleteGatewayGroup, which the reader does not hold
    assert forward(client, gateway["reader"], "GET", "/api/gateway_groups/dev").status_code == 403
    assert forward(client, gateway["reader"], "GET", "/api/gateway_groups/dev/instances").status_code == 200
    labelled = {
        **rule,
        "path": "/labelled/{gg}",
        "action": "gateway:UpdateGatewayGroup",
        "labels": {"gateway_group_label": {"env": "dev"}},
    }
    assert client.post(f"{A}/rules", headers=key(world.admin_token), json=labelled).status_code == 201
    assert forward(client, gateway["devon"], "GET", "/labelled/prod").status_code == 200  # the rule's labels


def test_denials_are_audited(client: TestClient, db: Database, gateway: dict[str, dict[str, str]]) -> None:
    forward(client, gateway["reader"], "PUT", "/apisix/admin/routes/7?gateway_group_id=prod&api_key=s3cret")
    forward(client, {"User-Agent": "scanner"}, "DELETE", "/api/gateway_groups/dev")
    forward(client, gateway["reader"], "GET", "/nowhere")
    records = audit(db, source="gateway")
    assert [(r.event, r.status, r.outcome) for r in records] == [
        ("gateway:UnmatchedRequest", 403, "refused"),
        ("gateway:DeleteGatewayGroup", 401, "refused"),
        ("gateway:UpdatePublishedService", 403, "refused"),
    ]
    denied = records[2]
    assert (denied.actor, denied.resource_type, denied.resource_id) == (
        "reader (token ci)",
        "gateway",
        f"{GG}/prod/publishedservice/*",
    )
    assert denied.summary["method"] == "PUT" and denied.summary["path"] == "/apisix/admin/routes/7"
    assert denied.summary["query_parameters"] == ["api_key", "gateway_group_id"]
    assert denied.summary["rule"] == "preset: /apisix/admin/routes/{id}"
    assert denied.error and "no statement allows gateway:UpdatePublishedService" in denied.error
    assert "s3cret" not in str([r.as_dict() for r in records])  # query values are never kept
    assert (records[1].actor, records[1].user_agent, records[1].error) == (
        "anonymous",
        "scanner",
        "no credentials: sign in, or send an API token",
    )
    assert all(r.source == "gateway" for r in records)


def test_a_scan_cannot_flood_the_audit_log(
    client: TestClient, db: Database, gateway: dict[str, dict[str, str]]
) -> None:
    """At most N denial records a second per process; the next record written carries the count left out."""
    now = [1000.0]
    endpoint(client).denials = DenialLog(5, clock=lambda: now[0])
    for n in range(40):
        forward(client, {}, "GET", f"/scan/{n}")
    assert len(audit(db, source="gateway")) == 5
    now[0] += 1.5
    forward(client, {}, "GET", "/scan/last")
    records = audit(db, source="gateway")
    assert len(records) == 6 and records[0].summary["suppressed"] == 35 and records[0].summary["path"] == "/scan/last"
    assert all("suppressed" not in r.summary for r in records[1:])


def test_identity_headers_are_encoded(client: TestClient, db: Database, world: World) -> None:
    client.put(f"{A}/preset", headers=key(world.admin_token), json={"enabled": True})
    zoe = add_user(db, "zoë,admin", role=VIEWER)
    grant(db, zoe, "lecteurs, passerelle", GATEWAY_READ_ONLY)
    response = forward(client, key(token_for(db, zoe)), "GET", "/api/gateway_groups/dev")
    assert response.status_code == 200
    assert response.headers["x-gatehouse-user"] == "zo%C3%AB%2Cadmin"
    assert response.headers["x-gatehouse-roles"] == "lecteurs%2C passerelle,Viewer"
    assert response.headers["x-gatehouse-email"] == ""
