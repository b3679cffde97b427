"""The admin API's documentation: ``/openapi.json`` is a valid OpenAPI document whose operations list their
error responses with the one error envelope, and ``/docs`` serves the Swagger UI from local files only."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from starlette.testclient import TestClient

PUBLIC_OPERATIONS = {("post", "/auth/sign-in"), ("get", "/config/schema")}  # the file format: no data
ERROR_REF = "#/components/schemas/ErrorResponse"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The OpenAPI document (the same on both databases: built from the routes)."""
    import sqlalchemy as sa

    from gatehouse.app import create_app
    from gatehouse.config import Settings
    from gatehouse.store import migration

    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'gatehouse.db'}"
    engine = sa.create_engine(url)
    migration.upgrade(engine)
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url))) as client:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        found: dict[str, Any] = response.json()
        return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/api"}]
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI meta-schema
    refs = set(re.findall(r'"\$ref": ?"([^"]+)"', str(document).replace("'", '"')))
    schemas = document["components"]["schemas"]
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs)


def test_every_endpoint_is_documented(document: dict[str, Any]) -> None:
    found = {(method.upper(), path) for method, path, _ in operations(document)}
    expected = {
        ("POST", "/auth/sign-in"),
        ("POST", "/auth/sign-out"),
        ("GET", "/me"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/{user_id}"),
        ("PATCH", "/users/{user_id}"),
        ("DELETE", "/users/{user_id}"),
        ("POST", "/users/{user_id}/password"),
        ("POST", "/users/{user_id}/deactivate"),
        ("POST", "/users/{user_id}/reactivate"),
        ("PUT", "/users/{user_id}/roles"),
        ("PUT", "/users/{user_id}/boundaries"),
        ("GET", "/roles"),
        ("POST", "/roles"),
        ("GET", "/roles/{role_id}"),
        ("PUT", "/roles/{role_id}"),
        ("DELETE", "/roles/{role_id}"),
        ("PUT", "/roles/{role_id}/policies"),
        ("GET", "/roles/{role_id}/groups"),
        ("GET", "/groups"),
        ("GET", "/groups/{group_id}/roles"),
        ("PUT", "/groups/{group_id}/roles"),
        ("GET", "/permission-policies"),
        ("POST", "/permission-policies"),
        ("GET", "/permission-policies/{policy_id}"),
        ("PUT", "/permission-policies/{policy_id}"),
        ("DELETE", "/permission-policies/{policy_id}"),
        ("GET", "/catalog"),
        ("POST", "/policy-simulations"),
        ("GET", "/scim"),
        ("PUT", "/scim"),
        ("POST", "/scim/tokens"),
        ("DELETE", "/scim/tokens/{token_id}"),
        ("POST", "/scim/tokens/{token_id}/regenerate"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("GET", "/tokens/{token_id}"),
        ("DELETE", "/tokens/{token_id}"),
        ("GET", "/audit-logs"),
        ("GET", "/audit-logs/export"),
    }
    assert expected <= found


def test_operations_list_their_error_responses(document: dict[str, Any]) -> None:
    seen: set[str] = set()
    for method, path, operation in operations(document):
        responses = operation["responses"]
        errors = {status for status in responses if status.startswith(("4", "5"))}
        seen |= errors
        if (method, path) not in PUBLIC_OPERATIONS:
            assert "401" in errors, (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in errors, (method, path)
        for status in errors:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, status)
    assert {"400", "401", "403", "404", "409", "422", "429"} <= seen
    envelope = document["components"]["schemas"]["ErrorDetail"]
    assert set(envelope["required"]) == {"status", "code", "detail"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_writes_document_their_conflicts(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert "409" in paths["/users"]["post"]["responses"]
    assert "409" in paths["/roles"]["post"]["responses"]
    assert "409" in paths["/roles/{role_id}"]["delete"]["responses"]
    assert "409" in paths["/permission-policies/{policy_id}"]["delete"]["responses"]
    assert "403" in paths["/users/{user_id}"]["delete"]["responses"]
    assert "404" in paths["/users/{user_id}"]["get"]["responses"]


def test_security_schemes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-KEY",
        "description": schemes["ApiKey"]["description"],
    }
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"
    assert schemes["Session"]["in"] == "cookie"
    me = document["paths"]["/me"]["get"]
    assert {name for requirement in me["security"] for name in requirement} == {"ApiKey", "Bearer", "Session"}
    assert "security" not in document["paths"]["/auth/sign-in"]["post"]


def test_the_export_documents_both_formats(document: dict[str, Any]) -> None:
    content = document["paths"]["/audit-logs/export"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert content["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/AuditEntry"}


def test_docs_are_served_locally(app_client: TestClient) -> None:
    page = app_client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls)
    assert "http://" not in page.text and "https://" not in page.text
    for url in urls:
        asset = app_client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100
    init = app_client.get("/docs/init.js").text
    assert '"/openapi.json"' in init and "http" not in init
