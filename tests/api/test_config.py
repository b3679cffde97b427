"""Gatehouse as code through the admin API (``/api/config``), on both databases: the public schema, export as JSON
or YAML with the configuration's id, plan and apply of a file sent as JSON or as YAML text (problems as ``fields``
with their lines), a stale ``plan_id`` refused with 412, new SCIM tokens only with ``issue_tokens``, the audit
records, and a Viewer refused."""

from __future__ import annotations

import yaml
from starlette.testclient import TestClient

from gatehouse.store.database import Database
from support.api import World, assert_error, audit

A = "/api/config"
TEXT = """\
version: 1
roles:
  - name: Readers
    labels: {team: sre}
    policies: [viewer-permission-policy]
user_grants:
  - {userName: vera, roles: [Readers]}
scim:
  tokens: [okta]
"""


def test_the_schema_is_public(client: TestClient) -> None:
    answer = client.get(f"{A}/schema")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/schema+json")
    assert answer.json()["title"] == "Gatehouse access configuration"


def test_export_as_json_and_yaml(client: TestClient, admin: dict[str, str]) -> None:
    as_json = client.get(f"{A}/export", headers=admin)
    assert as_json.status_code == 200, as_json.text
    config_id = as_json.headers["x-gatehouse-config-id"]
    assert config_id.startswith("sha256:") and as_json.json()["version"] == 1
    as_yaml = client.get(f"{A}/export?format=yaml", headers=admin)
    assert yaml.safe_load(as_yaml.text) == as_json.json()
    assert as_yaml.headers["x-gatehouse-config-id"] == config_id


def test_plan_then_apply_the_reviewed_plan(client: TestClient, admin: dict[str, str], db: Database) -> None:
    planned = client.post(f"{A}/plan", headers=admin, json={"text": TEXT})
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    assert plan["changed"] is True and plan["summary"] == {"create": 2, "update": 1, "delete": 0}
    assert [(c["kind"], c["name"], c["action"]) for c in plan["changes"]] == [
        ("role", "Readers", "create"),
        ("user_grant", "vera", "update"),
        ("scim_token", "okta", "create"),
    ]
    assert plan["changes"][1]["fields"] == [{"field": "roles", "before": ["Viewer"], "after": ["Readers"]}]
    refused = client.post(f"{A}/apply", headers=admin, json={"text": TEXT, "plan_id": plan["plan_id"]})
    assert "issue_tokens" in assert_error(refused, 400)["detail"]
    applied = client.post(
        f"{A}/apply", headers=admin, json={"text": TEXT, "plan_id": plan["plan_id"], "issue_tokens": True}
    )
    assert applied.status_code == 200, applied.text
    found = applied.json()
    assert found["applied"] is True and found["issued_tokens"][0]["name"] == "okta"
    assert found["issued_tokens"][0]["token"].startswith("ghs_")
    stale = client.post(f"{A}/apply", headers=admin, json={"text": TEXT, "plan_id": plan["plan_id"]})
    assert "changed since plan" in assert_error(stale, 412)["detail"]
    again = client.post(f"{A}/plan", headers=admin, json={"config": yaml.safe_load(TEXT)})
    assert again.json()["changed"] is False
    [change_set, *_] = audit(db, "iam:ApplyConfig", outcome="success")
    assert change_set.summary["create"] == 2 and change_set.actor.startswith("admin (token")
    assert [r.outcome for r in audit(db, "iam:ApplyConfig")] == ["failed", "success", "failed"]
    assert audit(db, "iam:CreateRole")[0].summary["via"] == "config apply"


def test_a_file_with_problems_is_400_with_each_field_and_line(client: TestClient, admin: dict[str, str]) -> None:
    text = (
        "version: 1\nroles:\n  - name: A\n    policies: [missing]\nlogin:\n  options:\n"
        "    - {name: X, kind: oidc, issuer: https://x.example.com, client_id: c, secret: hunter2}\n"
    )
    answer = client.post(f"{A}/plan", headers=admin, json={"text": text})
    error = assert_error(answer, 400, "invalid_input")
    assert [field["loc"] for field in error["fields"]] == [["config", "login", "options", 0, "secret"]]
    assert error["fields"][0]["message"].startswith("line 7: login option 'X' (login.options[0]), secret: a secret's")
    assert "hunter2" not in answer.text
    answer = client.post(f"{A}/plan", headers=admin, json={"text": text.split("login:")[0]})
    [field] = assert_error(answer, 400)["fields"]
    assert field["loc"] == ["config", "roles", 0, "policies", 0] and field["message"].startswith("line 4: role 'A'")
    both = client.post(f"{A}/plan", headers=admin, json={"text": TEXT, "config": {"version": 1}})
    assert_error(both, 422)


def test_a_viewer_may_not_export_plan_or_apply(client: TestClient, viewer: dict[str, str], world: World) -> None:
    assert_error(client.get(f"{A}/export", headers=viewer), 403)
    assert_error(client.post(f"{A}/plan", headers=viewer, json={"config": {"version": 1}}), 403)
    assert_error(client.post(f"{A}/apply", headers=viewer, json={"config": {"version": 1}}), 403)
    assert_error(client.get(f"{A}/export"), 401)
