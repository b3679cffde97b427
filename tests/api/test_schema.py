"""Property-based conformance of the admin API to its own OpenAPI document (schemathesis 4): each operation
gets 50 generated requests that fit its schema and 30 that do not, authenticated with a Super Admin API
token, and again (fewer) with a read-only one (a Viewer's, refused every change with 403); none may answer
5xx, and every answer must have a status, a content type, headers and a body its document declares
(``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance``,
``response_headers_conformance``, ``response_schema_conformance``).

SQLite only, one seeded database for the module (for speed). Sign-in is left out (it hashes a password
per example and throttles; tests/api/test_auth.py covers it). Argon2 is cheap in tests (tests/conftest.py), since
generated invitations and password resets hash a password on every example. (schemathesis's own pytest
integration needs pytest < 9, so the cases are drawn with Hypothesis directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode
from starlette.testclient import TestClient

from gatehouse.api.app import build_api, openapi_document
from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.store import migration
from gatehouse.store.database import Database
from support.api import add_group, add_user, key, seed
from support.scim import PUBLIC_URL

EXAMPLES = {
    ("super-admin", GenerationMode.POSITIVE): 50,
    ("super-admin", GenerationMode.NEGATIVE): 30,
    ("read-only", GenerationMode.POSITIVE): 15,
    ("read-only", GenerationMode.NEGATIVE): 10,
}
"""Per operation and token; the whole module stays under three minutes (drawing the cases is most of the time)."""
EXCLUDED = {("POST", "/auth/sign-in")}
NOTHING_TO_VARY = {("GET", "/config/schema")}
"""Public operations without a parameter, a body or credentials: no request can fail to fit their schema."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the document, read from the routes (no database needed)."""
    document = openapi_document(build_api(Settings(database_url="sqlite://"), cast(Database, None)))
    found = [(method.upper(), path) for path, item in document["paths"].items() for method in item]
    return [operation for operation in found if operation not in EXCLUDED]


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, dict[str, str]]]]:
    """The app on a seeded SQLite database (with a SCIM user in a group), and the headers of a Super Admin
    token (``super-admin``) and of a Viewer's (``read-only``)."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('schema')) / 'gatehouse.db'}"
    engine = sa.create_engine(url)
    migration.upgrade(engine)
    engine.dispose()
    db = Database.from_url(url, pool_size=2)
    try:
        world = seed(db)
        add_group(db, "Ops", (add_user(db, "sam", source="scim"),))
        app = create_app(Settings(database_url=url, public_url=PUBLIC_URL), db)
        with TestClient(app):  # runs the lifespan
            yield app, {"super-admin": key(world.admin_token), "read-only": key(world.viewer_token)}
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def api_schema(api_world: tuple[Any, dict[str, str]]) -> Any:
    app, _ = api_world
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("who", ["super-admin", "read-only"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_conforms_to_its_schema(
    api_schema: Any,
    api_world: tuple[Any, dict[str, dict[str, str]]],
    method: str,
    path: str,
    mode: GenerationMode,
    who: str,
) -> None:
    if mode is GenerationMode.NEGATIVE and (method, path) in NOTHING_TO_VARY:
        pytest.skip("no request can fail to fit this operation's schema")
    headers = api_world[1][who]
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[who, mode],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_the_run_kept_its_tokens(api_world: tuple[Any, dict[str, dict[str, str]]]) -> None:
    """No generated request revoked a token the run uses (else it would have tested only 401s)."""
    app, tokens = api_world
    with TestClient(app) as client:
        for headers in tokens.values():
            assert client.get("/api/me", headers=headers).status_code == 200
