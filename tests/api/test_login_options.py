"""Login options through the admin API on both databases: create, read, replace, change, delete; the client
secret written but never returned (nor stored in clear, nor audited); permissions (a Viewer reads, an
Organization Admin may not change them); names, scopes, issuers and rules refused with precise errors; the
password option's guard; optimistic versions; dry runs of mapping rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.config import Settings
from gatehouse.store import login_options as option_store
from gatehouse.store.database import Database
from gatehouse.store.tables import login_options as login_options_table
from support.api import World, assert_error, audit, key, raw_audit_text, role_id
from support.login_options import admin_signed_in_through
from support.scim import PUBLIC_URL

SECRET = "client-secret-value-0123456789"
L = "/api/login_options"
RULE = {"target_id": "Viewer", "attribute": "$.groups[*]", "operation": "exact_match", "value": "ops"}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, public_url=PUBLIC_URL, secret_key_file=tmp_path / "secret.key")


def option(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Okta",
        "issuer": "https://example.okta.com",
        "client_id": "gatehouse",
        "client_secret": SECRET,
        **changes,
    }


def create(client: TestClient, admin: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post(L, headers=admin, json=option(**changes))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stored_columns(db: Database) -> str:
    with db.reader() as connection:
        return repr(connection.execute(sa.select(login_options_table)).all())


# ------------------------------------------------------------------------------------------ CRUD


def test_create_read_replace_change_delete(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    created = create(client, admin, scopes=["openid", "email", "groups"], rules=[RULE])
    option_id = created["id"]
    assert created["kind"] == "oidc" and created["enabled"] and created["version"] == 1
    assert created["secret_source"] == "stored" and created["client_secret_env"] is None
    assert created["scopes"] == ["openid", "email", "groups"]
    assert created["redirect_uri"] == f"{PUBLIC_URL}/sso/oidc/{option_id}/callback"
    assert created["initiate_login_uri"] == f"{PUBLIC_URL}/sso/oidc/{option_id}/login"
    viewer_role = role_id(db, "Viewer")
    assert created["rules"] == [{**RULE, "kind": "role", "target_id": viewer_role, "target_name": "Viewer"}]
    assert created["scim_only"] is None and created["effective_scim_only"] is False

    listed = client.get(L, headers=admin).json()
    assert (listed["password_enabled"], listed["scim_enabled"]) == (True, False)
    assert [item["id"] for item in listed["items"]] == [option_id]
    assert client.get(f"{L}/{option_id}", headers=admin).json() == listed["items"][0]

    whole = option(name="Okta prod", client_secret=None, scopes="openid profile", enabled=False, version=1)
    replaced = client.put(f"{L}/{option_id}", headers=admin, json=whole)
    assert replaced.status_code == 200, replaced.text
    after = replaced.json()
    assert (after["name"], after["scopes"], after["enabled"], after["rules"]) == (
        "Okta prod", ["openid", "profile"], False, []
    )  # fmt: skip
    assert after["secret_source"] == "stored" and after["version"] == 2  # the secret was kept
    assert_error(client.put(f"{L}/{option_id}", headers=admin, json=whole), 412, "precondition_failed")

    changed = client.patch(
        f"{L}/{option_id}", headers=admin, json={"enabled": True, "client_secret_env": "OKTA_SECRET"}
    )
    assert changed.status_code == 200, changed.text
    patched = changed.json()
    assert (patched["enabled"], patched["name"], patched["scopes"]) == (True, "Okta prod", ["openid", "profile"])
    assert (patched["secret_source"], patched["client_secret_env"], patched["version"]) == ("env", "OKTA_SECRET", 3)
    assert_error(client.patch(f"{L}/{option_id}", headers=admin, json={"end_session": True, "version": 2}), 412)
    kept = client.patch(f"{L}/{option_id}", headers=admin, json={"rules": [RULE], "scim_only": True}).json()
    assert (kept["client_secret_env"], kept["scim_only"], len(kept["rules"])) == ("OKTA_SECRET", True, 1)

    assert client.delete(f"{L}/{option_id}", headers=admin).status_code == 204
    assert_error(client.get(f"{L}/{option_id}", headers=admin), 404)
    assert_error(client.delete(f"{L}/{option_id}", headers=admin), 404)
    assert_error(client.put(f"{L}/{option_id}", headers=admin, json=option()), 404)
    assert_error(client.patch(f"{L}/{option_id}", headers=admin, json={}), 404)
    assert client.get(L, headers=admin).json()["items"] == []
    events = [(r.event, r.outcome, r.resource_id) for r in reversed(audit(db, resource_id=option_id))]
    assert events[0] == ("iam:CreateLoginOption", "success", option_id)
    deletions = [(e, outcome) for e, outcome, _ in events if e == "iam:DeleteLoginOption"]
    assert deletions == [("iam:DeleteLoginOption", "success"), ("iam:DeleteLoginOption", "failed")]
    assert audit(db, "iam:DeleteLoginOption")[1].summary == {"name": "Okta prod"}
    assert (
        audit(db, "iam:UpdateLoginOption", outcome="failed")[0].error
        == "There is no such login option. It may have been deleted."
    )


def test_the_client_secret_is_written_never_returned(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    created = create(client, admin)
    option_id = created["id"]
    responses = [
        created,
        client.get(L, headers=admin).json(),
        client.get(f"{L}/{option_id}", headers=admin).json(),
        client.put(f"{L}/{option_id}", headers=admin, json=option(client_secret=SECRET + "-new")).json(),
        client.patch(f"{L}/{option_id}", headers=admin, json={"client_secret": SECRET + "-3"}).json(),
    ]
    for body in responses:
        assert SECRET not in repr(body) and "client_secret'" not in repr(body)
    assert SECRET not in stored_columns(db)  # encrypted at rest
    with db.reader() as connection:
        stored = option_store.get(connection, option_id)
    assert stored is not None and stored.client_secret_encrypted is not None
    assert SECRET not in raw_audit_text(db)
    assert audit(db, "iam:CreateLoginOption")[0].summary["client_auth"] == "stored"
    assert audit(db, "iam:UpdateLoginOption")[0].summary["client_auth"] == "stored"
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "client_secret" not in schema["LoginOptionOut"]["properties"]
    assert "client_secret" in schema["LoginOptionFields"]["properties"]


def test_a_secret_is_required_on_creation(client: TestClient, admin: dict[str, str]) -> None:
    error = assert_error(client.post(L, headers=admin, json=option(client_secret=None)), 400)
    assert "client secret" in error["detail"]
    from_env = create(client, admin, client_secret=None, client_secret_env="OKTA_CLIENT_SECRET")
    assert (from_env["secret_source"], from_env["client_secret_env"]) == ("env", "OKTA_CLIENT_SECRET")
    both = option(name="Both", client_secret_env="OKTA_CLIENT_SECRET")
    assert "not both" in assert_error(client.post(L, headers=admin, json=both), 400)["detail"]


# ------------------------------------------------------------------------------------------ permissions


def test_a_viewer_reads_and_may_not_change(
    client: TestClient, db: Database, world: World, admin: dict[str, str]
) -> None:
    option_id = create(client, admin)["id"]
    for token in (world.viewer_token, world.org_admin_token):  # Organization Admin: iam:UpdateLoginOption excluded
        reader = key(token)
        assert client.get(L, headers=reader).status_code == 200
        assert client.get(f"{L}/{option_id}", headers=reader).status_code == 200
        sample = {"rules": [RULE], "claims": {"groups": ["ops"]}}
        assert client.post(f"{L}/dry_run", headers=reader, json=sample).status_code == 200
        assert_error(client.post(L, headers=reader, json=option(name="Entra")), 403, "forbidden")
        assert_error(client.put(f"{L}/{option_id}", headers=reader, json=option()), 403)
        assert_error(client.patch(f"{L}/{option_id}", headers=reader, json={"enabled": False}), 403)
        assert_error(client.delete(f"{L}/{option_id}", headers=reader), 403)
        assert_error(client.put(f"{L}/password", headers=reader, json={"enabled": False}), 403)
    refused = [(r.event, r.actor) for r in audit(db, outcome="refused")]
    assert ("iam:CreateLoginOption", "vera (token ci)") in refused
    assert ("iam:UpdatePasswordLogin", "olga (token ci)") in refused
    assert_error(client.get(L), 401)


# ------------------------------------------------------------------------------------------ refusals


def test_names_are_unique_ignoring_case(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    error = assert_error(client.post(L, headers=admin, json=option(name="OKTA")), 409, "conflict")
    assert "already exists" in error["detail"]
    other = create(client, admin, name="Entra ID")
    assert_error(client.patch(f"{L}/{other['id']}", headers=admin, json={"name": "okta"}), 409)


@pytest.mark.parametrize(
    ("changes", "status", "says"),
    [
        ({"scopes": "profile email"}, 400, "openid"),
        ({"scopes": ["profile"]}, 400, "openid"),
        ({"name": "İ" * 100}, 400, "in lower case too"),  # its lower-cased key is 200 characters (PostgreSQL: 500)
        ({"scopes": 'openid "quoted"'}, 400, "not valid"),
        ({"issuer": "http://idp.example.com"}, 400, "https"),
        ({"issuer": "https://idp.example.com/?tenant=1"}, 400, "https URL"),
        ({"rules": [{**RULE, "attribute": "groups"}]}, 400, "In rule 1, the attribute must be a JSONPath"),
        (
            {"rules": [RULE, {**RULE, "operation": "regex", "value": "(a+)+"}]},
            400,
            "In rule 2, the value is an unsafe regular expression",
        ),
        ({"rules": [{**RULE, "target_id": "No such role"}]}, 400, "In rule 1, there is no role with the id or name"),
        ({"rules": [{**RULE, "target_id": "Super Admin"}]}, 400, "cannot be granted"),
        ({"rules": [{**RULE, "kind": "boundary", "target_id": "Viewer"}]}, 400, "no permission policy"),
        ({"rules": [{**RULE, "operation": "equals"}]}, 422, "rules.0.operation"),
        ({"rules": [{**RULE, "extra": 1}]}, 422, "rules.0.extra"),
        ({"rules": "[]"}, 422, "rules"),
        ({"client_secret_env": "not a name"}, 400, "environment variable"),
        ({"name": ""}, 422, "name"),
        ({"colour": "blue"}, 422, "colour"),
    ],
)
def test_bad_input_is_refused_precisely(
    client: TestClient, admin: dict[str, str], changes: dict[str, Any], status: int, says: str
) -> None:
    body = option(**changes)
    if "client_secret_env" in changes:
        body.pop("client_secret")
    error = assert_error(client.post(L, headers=admin, json=body), status)
    assert says in error["detail"], error
    assert client.get(L, headers=admin).json()["items"] == []


def test_a_change_is_checked_like_a_creation(client: TestClient, admin: dict[str, str]) -> None:
    option_id = create(client, admin)["id"]
    error = assert_error(client.patch(f"{L}/{option_id}", headers=admin, json={"scopes": ["email"]}), 400)
    assert "openid" in error["detail"]
    bad_rule = {"rules": [{**RULE, "value": ""}]}
    assert (
        "In rule 1, give the value"
        in assert_error(client.patch(f"{L}/{option_id}", headers=admin, json=bad_rule), 400)["detail"]
    )
    assert client.get(f"{L}/{option_id}", headers=admin).json()["version"] == 1


# ------------------------------------------------------------------------------------------ the password option


def test_password_sign_in_may_be_off_only_while_an_option_is_enabled(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    error = assert_error(client.put(f"{L}/password", headers=admin, json={"enabled": False}), 409)
    assert error["detail"].startswith("Password sign-in cannot be turned off while no other login option is enabled")
    disabled = create(client, admin, name="Disabled", enabled=False)
    assert_error(client.put(f"{L}/password", headers=admin, json={"enabled": False}), 409)
    option_id = create(client, admin)["id"]
    error = assert_error(client.put(f"{L}/password", headers=admin, json={"enabled": False}), 409)
    assert "nobody who may change login options has signed in through an enabled option" in error["detail"]
    admin_signed_in_through(db, option_id)  # the way back in: the Super Admin signed in through it
    off = client.put(f"{L}/password", headers=admin, json={"enabled": False})
    assert off.status_code == 200 and off.json() == {"enabled": False}
    assert client.get(L, headers=admin).json()["password_enabled"] is False
    with db.reader() as connection:
        assert not option_store.password_login_enabled(connection)

    for last_way_in in (
        client.patch(f"{L}/{option_id}", headers=admin, json={"enabled": False}),
        client.put(f"{L}/{option_id}", headers=admin, json=option(enabled=False)),
        client.delete(f"{L}/{option_id}", headers=admin),
    ):
        assert "at least one login option must stay enabled" in assert_error(last_way_in, 409)["detail"]
    assert client.patch(f"{L}/{disabled['id']}", headers=admin, json={"enabled": True}).status_code == 200
    assert client.delete(f"{L}/{option_id}", headers=admin).status_code == 204  # another one is enabled now

    on = client.put(f"{L}/password", headers=admin, json={"enabled": True})
    assert on.status_code == 200 and on.json() == {"enabled": True}
    assert_error(client.put(f"{L}/password", headers=admin, json={"enabled": "sometimes"}), 422)
    records = [(r.outcome, r.summary) for r in audit(db, "iam:UpdatePasswordLogin")]
    assert records[0] == ("success", {"enabled": True}) and records[1] == ("success", {"enabled": False})
    assert records[-1] == ("failed", {"enabled": False})


# ------------------------------------------------------------------------------------------ dry runs


def test_dry_run_of_rules_and_of_an_options_rules(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    rules = [RULE, {**RULE, "value": "admins"}, {**RULE, "target_id": "Organization Admin", "value": "admins"}]
    sample = {"rules": rules, "claims": {"groups": ["ops", "dev"]}}
    result = client.post(f"{L}/dry_run", headers=admin, json=sample)
    assert result.status_code == 200, result.text
    found = result.json()
    assert [(r["number"], r["matched"], r["matched_value"]) for r in found["rules"]] == [
        (1, True, "ops"), (2, False, None), (3, False, None)
    ]  # fmt: skip
    assert found["rules"][0]["matched_at"] == "$['groups'][0]"
    viewer = role_id(db, "Viewer")
    assert found["roles"] == [{"kind": "role", "id": viewer, "name": "Viewer", "problem": None, "rule": 1}]
    assert found["boundaries"] == []
    missing = client.post(f"{L}/dry_run", headers=admin, json={"rules": [{**RULE, "target_id": "gone"}], "claims": {}})
    assert missing.json()["rules"][0]["target"]["problem"] == "no such role"

    assert (
        "In rule 1, the attribute"
        in assert_error(
            client.post(f"{L}/dry_run", headers=admin, json={"rules": [{**RULE, "attribute": "x"}], "claims": {}}), 400
        )["detail"]
    )
    assert_error(client.post(f"{L}/dry_run", headers=admin, json={"rules": [], "claims": ["not", "an", "object"]}), 422)

    option_id = create(client, admin, rules=rules)["id"]
    stored = client.post(f"{L}/{option_id}/dry_run", headers=admin, json={"claims": {"groups": "admins"}})
    assert stored.status_code == 200, stored.text
    assert [g["name"] for g in stored.json()["roles"]] == []  # a string is not an array element
    grants = client.post(f"{L}/{option_id}/dry_run", headers=admin, json={"claims": {"groups": ["admins"]}}).json()
    assert [(g["name"], g["rule"]) for g in grants["roles"]] == [("Viewer", 2), ("Organization Admin", 3)]
    assert_error(client.post(f"{L}/no-such-option/dry_run", headers=admin, json={"claims": {}}), 404)
    assert audit(db, "iam:GetLoginOption") == []  # reads are not changes


def test_the_subject_claim_defaults_to_sub_and_can_be_changed(client: TestClient, admin: dict[str, str]) -> None:
    created = create(client, admin)
    assert created["subject_claim"] == "sub"
    changed = client.patch(f"{L}/{created['id']}", headers=admin, json={"subject_claim": "oid"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["subject_claim"] == "oid"
    assert client.get(f"{L}/{created['id']}", headers=admin).json()["subject_claim"] == "oid"
    empty = client.patch(f"{L}/{created['id']}", headers=admin, json={"subject_claim": ""})
    assert empty.status_code == 422
