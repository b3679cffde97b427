"""Numbers beyond 64 bits (and ``1e400``, ``-0``) at every numeric parameter of the admin API, on SQLite and
PostgreSQL: each is refused in the API's error shape or read within its bounds, never a 5xx. The numeric
parameters are read from the OpenAPI document, so a new one is covered as soon as it is published."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from starlette.testclient import TestClient

from gatehouse.api.app import build_api, openapi_document
from gatehouse.config import Settings
from gatehouse.store.database import Database
from support.api import assert_error

HOSTILE = [
    "99999999999999999999",
    "18446744073709551617",
    "9223372036854775808",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "-0",
    "1.5",
    "1" + "0" * 400,
]

DOCUMENT = openapi_document(build_api(Settings(database_url="sqlite://"), cast(Database, None)))
COMPONENTS = DOCUMENT["components"]["schemas"]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _numeric(schema: dict[str, Any]) -> bool:
    schema = _resolve(schema)
    if schema.get("type") in ("integer", "number"):
        return True
    return any(_numeric(alternative) for alternative in schema.get("anyOf", []))


def _parameters() -> list[tuple[str, str, str, str]]:
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if _numeric(parameter["schema"]):
                    found.append((method.upper(), path, parameter["in"], parameter["name"]))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                for name, schema in _resolve(body).get("properties", {}).items():
                    if _numeric(schema):
                        found.append((method.upper(), path, "body", name))
    return found


PARAMETERS = _parameters()

MINIMAL_BODIES: dict[tuple[str, str], str] = {
    ("POST", "/tokens"): '{{"name": "numbers", "{name}": {value}}}',
    ("PATCH", "/login_options/{option_id}"): '{{"{name}": {value}, "name": "x"}}',
}
"""Bodies that are valid but for the number, where the operation needs more than the number alone."""


def test_the_document_has_numeric_parameters() -> None:
    assert ("GET", "/users", "query", "page") in PARAMETERS
    assert ("GET", "/audit-logs", "query", "limit") in PARAMETERS
    assert ("POST", "/tokens", "body", "expires_in_days") in PARAMETERS


@pytest.mark.parametrize(("method", "path", "where", "name"), PARAMETERS, ids=[" ".join(p) for p in PARAMETERS])
def test_numbers_beyond_64_bits_are_answered_without_a_server_error(
    client: TestClient, admin: dict[str, str], method: str, path: str, where: str, name: str
) -> None:
    url = "/api" + path.replace("{", "").replace("}", "")  # path parameters get their own name as a value
    for value in HOSTILE:
        if where == "query":
            response = client.request(method, url, params={name: value}, headers=admin)
        elif where == "path":
            response = client.request(method, url.replace(name, value), headers=admin)
        else:
            template = MINIMAL_BODIES.get((method, path), '{{"{name}": {value}}}')
            body = template.format(name=name, value=value)
            headers = {**admin, "Content-Type": "application/json"}
            response = client.request(method, url, content=body, headers=headers)
        assert response.status_code < 500, (value, response.text)
        if response.status_code >= 400:
            assert_error(response, response.status_code)


def test_a_refused_request_is_logged_with_its_reason(
    client: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gatehouse.api"):
        response = client.get("/api/users", params={"page": "99999999999999999999"}, headers=admin)
    assert_error(response, 422)
    lines = [record.getMessage() for record in caplog.records if record.name == "gatehouse.api"]
    assert any(line.startswith("Refused GET /api/users: 422 The request does not match") for line in lines), lines
    assert not any(record.exc_info for record in caplog.records)
