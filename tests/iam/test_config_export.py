"""Exporting the access configuration (:mod:`gatehouse.iam.config_export`), on both databases: a rich organization
configured through the admin API, exported, applied to an empty Gatehouse of the *other* database, exported again:
the same bytes; and the policy simulator answers the same in both for generated questions. Secrets are never
exported; the export is deterministic and matches the published JSON Schema."""

from __future__ import annotations

import uuid
from pathlib import Path

import jsonschema
import pytest
import yaml
from starlette.testclient import TestClient

from gatehouse.cli.context import operator
from gatehouse.errors import Forbidden
from gatehouse.iam import config_export, config_file, config_model
from gatehouse.login.options import LoginOptionWrite
from gatehouse.store import login_options as option_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import key, token_for
from support.config import (
    POLICIES,
    ROLES,
    answers,
    apply_text,
    configure_rich,
    directory,
    other_database,
    plan_text,
    questions,
)
from support.iam import People
from support.web import make_admin

ROOT = operator()


@pytest.fixture
def rich(db: Database, app_client: TestClient) -> str:
    """A rich organization configured through the admin API; its export (YAML, from the API)."""
    admin = make_admin(db)
    ids = directory(db)
    headers = key(token_for(db, admin))
    configure_rich(app_client, headers, ids)
    exported = app_client.get("/api/config/export?format=yaml", headers=headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/yaml")
    return exported.text


def test_round_trip_to_the_other_database_is_byte_identical(
    rich: str, db: Database, db_url: str, tmp_path: Path
) -> None:
    data = yaml.safe_load(rich)
    assert len(data["permission_policies"]) == len(POLICIES) + 2  # and the two starter policies
    assert len(data["roles"]) == len(ROLES) + 2
    assert {option["kind"] for option in data["login"]["options"]} == {"oidc", "ldap"}
    assert data["scim"]["tokens"] == ["entra", "okta"]
    other = "postgres" if db_url.startswith("sqlite") else "sqlite"
    with other_database(other, tmp_path) as empty:
        make_admin(empty)
        directory(empty)
        applied = apply_text(empty, ROOT, rich, prune=True, issue_tokens=True)
        assert applied.plan.changed and sorted(token.name for token in applied.issued) == ["entra", "okta"]
        with empty.snapshot() as connection:
            again = config_file.dump(config_export.export(connection, ROOT).data)
        assert again == rich
        assert not plan_text(empty, ROOT, rich, prune=True).changed  # and nothing left to do
        asked = questions(7, 400, list(ROLES), list(POLICIES))
        assert answers(empty, ROOT, asked) == answers(db, ROOT, asked)


def test_the_export_never_holds_a_secret_and_matches_the_schema(rich: str, db: Database) -> None:
    for secret in ("OKTA_CLIENT_SECRET", "LDAP_BIND_PASSWORD"):
        assert f"env: {secret}" in rich  # referenced, by name
    assert "ghs_" not in rich and "client_secret" not in rich and "password:" not in rich.replace("password: true", "")
    document = yaml.safe_load(rich)
    schema = config_model.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    model = config_model.validate(config_file.Locator(document))
    assert model.login is not None and model.login.options is not None


def test_the_export_is_deterministic_and_json_too(rich: str, db: Database, app_client: TestClient) -> None:
    with db.snapshot() as connection:
        state = config_export.export(connection, ROOT)
    assert config_file.dump(state.data) == rich
    assert state.plan_id == config_export.state_id(yaml.safe_load(rich))
    as_json = config_file.dump(state.data, "json")
    assert config_file.parse(as_json).data == yaml.safe_load(rich)
    names = [policy["name"] for policy in state.data["permission_policies"]]
    assert names == sorted(names, key=lambda name: (name.lower(), name))


def test_a_stored_secret_is_exported_as_a_placeholder(db: Database, people: People) -> None:
    """A secret kept encrypted in Gatehouse is `{stored: true}`: where it is, never what it is."""
    write = LoginOptionWrite("Okta", "https://example.okta.com", "gatehouse", client_secret_encrypted="v1:k:sealed")
    with db.transaction() as connection:
        option_store.insert(connection, str(uuid.uuid4()), write, utcnow())
    with db.snapshot() as connection:
        text = config_file.dump(config_export.export(connection, people.root).data)
    assert "stored: true" in text and "sealed" not in text


def test_exporting_needs_iam_export_config(db: Database, people: People) -> None:
    with db.snapshot() as connection, pytest.raises(Forbidden, match="iam:ExportConfig"):
        config_export.export(connection, people.viewer)
