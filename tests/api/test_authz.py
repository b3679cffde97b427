"""Gateway authorization through the admin API (``/api/v1/authz``), on both databases: the decision API, the
forward-auth rule table and its preset, the labels of gateway resources, and an API7 policy imported as it is
exported; refusals, the error shape, the audit records, and two app instances on one database."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.api.schemas_authz import CheckResponse
from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY
from gatehouse.iam.gateway_preset import RULES
from gatehouse.store.database import Database
from support.api import VIEWER, World, add_user, assert_error, audit, key, sign_in_api, token_for
from support.gateway import GG, grant, label

A = "/api/v1/authz"
CHECK_DEV = {"action": "gateway:UpdateGatewayGroup", "resource": f"{GG}/dev"}
CHECK_PROD = {"action": "gateway:UpdateGatewayGroup", "resource": f"{GG}/prod"}
RULE = {
    "methods": ["PUT", "PATCH"],
    "path": "/apisix/admin/routes/{id}",
    "query": {"gg": "gateway_group_id"},
    "action": "gateway:UpdatePublishedService",
    "resource": f"{GG}/{{gg}}/publishedservice/*",
}


@pytest.fixture
def editor(db: Database, world: World) -> str:
    """``devon``: full control of the groups labelled env=dev; dev and prod are labelled."""
    user_id = add_user(db, "devon", role=VIEWER)  # Viewer: a token of their own; no gateway action
    grant(db, user_id, "dev editors", DEV_GROUPS_FULL_CONTROL)
    label(db, f"{GG}/dev", env="dev")
    label(db, f"{GG}/prod", env="prod")
    return user_id


# ------------------------------------------------------------------------------------------ decisions


def test_check(client: TestClient, admin: dict[str, str], editor: str) -> None:
    body = {
        "subject": {"username": "devon"},
        "checks": [CHECK_DEV, CHECK_PROD, {**CHECK_PROD, "labels": {"gateway_group_label": {"env": "dev"}}}],
    }
    answer = client.post(f"{A}/check", headers=admin, json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["subject"] == {"user_id": editor, "username": "devon", "exists": True, "active": True}
    assert [result["allowed"] for result in found["results"]] == [True, False, True]
    assert found["results"][0] == {
        "action": "gateway:UpdateGatewayGroup",
        "resource": f"{GG}/dev",
        "allowed": True,
        "outcome": "allowed",
        "reason": "allowed by statement 0 of policy 'dev editors-0' in role 'dev editors'",
        "labels": {"gateway_group_label": {"env": "dev"}},
    }
    assert found["results"][1]["reason"] == f"no statement allows gateway:UpdateGatewayGroup on {GG}/prod"
    by_id = client.post(f"{A}/check", headers=admin, json={"subject": {"user_id": editor}, "checks": [CHECK_DEV]})
    assert by_id.json()["results"][0]["allowed"]


def test_check_answers_in_api7_names(client: TestClient, admin: dict[str, str], world: World) -> None:
    """An alias and an arn:api7:iam: name are answered as asked, decided as the catalog's names."""
    body = {
        "subject": {"username": "olga"},  # Organization Admin: every IAM action but two
        "checks": [
            {"action": "iam:DeleteCustomRole", "resource": "arn:api7:iam:role/r1"},
            {"action": "iam:UpdateLicense", "resource": "arn:api7:iam:organization/*"},
            {"action": "gateway:GetGatewayGroup", "resource": f"{GG}/dev"},
        ],
    }
    results = client.post(f"{A}/check", headers=admin, json=body).json()["results"]
    assert [(r["action"], r["resource"], r["allowed"]) for r in results] == [
        ("iam:DeleteCustomRole", "arn:api7:iam:role/r1", True),
        ("iam:UpdateLicense", "arn:api7:iam:organization/*", True),
        ("gateway:GetGatewayGroup", f"{GG}/dev", False),  # starter roles hold no gateway action
    ]


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        (
            {"subject": {"username": "vera"}, "checks": [{"action": "gateway:Nope", "resource": f"{GG}/x"}]},
            400,
            "checks[0].action",
        ),
        (
            {"subject": {"username": "vera"}, "checks": [{"action": "gateway:GetGatewayGroup", "resource": "gg/x"}]},
            400,
            "checks[0].resource",
        ),
        ({"subject": {"username": "vera"}, "checks": []}, 422, "checks"),
        ({"subject": {"username": "vera"}, "checks": [CHECK_DEV] * 101}, 422, "checks"),
        ({"subject": {}, "checks": [CHECK_DEV]}, 422, "subject"),
        ({"subject": {"username": "vera", "user_id": "x"}, "checks": [CHECK_DEV]}, 422, "subject"),
        ({"subject": {"username": "vera"}, "checks": [{**CHECK_DEV, "extra": 1}]}, 422, "checks"),
        (
            {"subject": {"username": "vera"}, "checks": [{**CHECK_DEV, "labels": {"gateway_group_label": {"a": 1}}}]},
            422,
            "checks",
        ),
    ],
)
def test_bad_checks(client: TestClient, admin: dict[str, str], body: dict[str, Any], status: int, where: str) -> None:
    """An unknown action or a malformed resource is 400 naming the check; a body off the schema 422."""
    error = assert_error(client.post(f"{A}/check", headers=admin, json=body), status)
    assert where in (error["detail"] + str(error.get("fields", "")))


def test_check_needs_check_access(client: TestClient, viewer: dict[str, str], world: World) -> None:
    body = {"subject": {"username": "vera"}, "checks": [CHECK_DEV]}
    assert "iam:CheckAccess" in assert_error(client.post(f"{A}/check", headers=viewer, json=body), 403)["detail"]
    assert_error(client.post(f"{A}/check", json=body), 401)


def test_check_refuses_what_is_not_a_request_it_can_read(client: TestClient, admin: dict[str, str]) -> None:
    """The decision API's own route (ahead of FastAPI) answers as the rest of the API: 422 for a body that is
    not JSON or not an object, 413 over the body limit, in the API's envelope."""
    not_json = assert_error(client.post(f"{A}/check", headers=admin, content=b"{nope"), 422, "validation_failed")
    assert not_json["fields"][0]["loc"][0] == "body" and not_json["fields"][0]["type"] == "json_invalid"
    listed = assert_error(client.post(f"{A}/check", headers=admin, json=[CHECK_DEV]), 422)
    assert listed["fields"][0]["loc"] == ["body"]
    nested = assert_error(
        client.post(f"{A}/check", headers=admin, json={"subject": {"username": 5}, "checks": []}), 422
    )
    assert {tuple(field["loc"]) for field in nested["fields"]} >= {("body", "subject", "username"), ("body", "checks")}
    big = {"subject": {"username": "vera"}, "checks": [CHECK_DEV], "pad": "x" * (1024 * 1024)}
    assert_error(client.post(f"{A}/check", headers=admin, json=big), 413, "payload_too_large")


def test_check_by_session_needs_the_csrf_token(client: TestClient, editor: str) -> None:
    """A signed-in admin may ask from the browser (the Swagger UI), with the session's CSRF token."""
    csrf = sign_in_api(client).json()["csrf_token"]
    body = {"subject": {"username": "devon"}, "checks": [CHECK_DEV]}
    assert_error(client.post(f"{A}/check", json=body), 403, "forbidden")
    answer = client.post(f"{A}/check", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["allowed"] is True


def test_check_answers_as_the_openapi_document_says(client: TestClient, admin: dict[str, str], editor: str) -> None:
    """The route is documented from the same models it validates with; its answer fits the response model."""
    operation = client.get("/openapi.json").json()["paths"]["/v1/authz/check"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CheckRequest")
    assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "422"}
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"CheckRequest", "CheckResponse", "CheckIn", "SubjectIn", "CheckResult"} <= set(schemas)
    body = {"subject": {"user_id": editor}, "checks": [CHECK_DEV, CHECK_PROD]}
    answer = client.post(f"{A}/check", headers=admin, json=body)
    assert CheckResponse.model_validate_json(answer.content).results[1].outcome == "not_allowed"
    assert answer.headers["content-type"] == "application/json"


def test_a_deactivated_subject_is_denied_at_once_in_every_app(
    settings: Settings, db: Database, editor: str, world: World
) -> None:
    """Two app instances on one database: deactivated through one, the next check on the other is denied."""
    second = Database.from_url(settings.database_url, pool_size=2)
    admin = key(world.admin_token)
    body = {"subject": {"user_id": editor}, "checks": [CHECK_DEV]}
    try:
        with (
            TestClient(create_app(settings, db), base_url="https://testserver") as one,
            TestClient(create_app(settings, second), base_url="https://testserver") as two,
        ):
            assert two.post(f"{A}/check", headers=admin, json=body).json()["results"][0]["allowed"]
            assert one.post(f"/api/users/{editor}/deactivate", headers=admin).status_code == 200
            after = two.post(f"{A}/check", headers=admin, json=body).json()
            assert after["subject"]["active"] is False
            assert after["results"][0] == {
                **after["results"][0],
                "allowed": False,
                "reason": "the user is inactive or does not exist",
            }
            assert one.delete(f"/api/users/{editor}", headers=admin).status_code == 204
            gone = two.post(f"{A}/check", headers=admin, json=body).json()
            assert gone["subject"]["exists"] is False and not gone["results"][0]["allowed"]
    finally:
        second.dispose()


# ------------------------------------------------------------------------------------------ rules


def test_rule_lifecycle(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    created = client.post(f"{A}/rules", headers=admin, json=RULE)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["position"], rule["methods"], rule["version"]) == (0, ["PUT", "PATCH"], 1)
    first = client.post(
        f"{A}/rules",
        headers=admin,
        json={**RULE, "path": "/first", "query": {}, "resource": f"{GG}/*/publishedservice/*", "position": 0},
    )
    assert first.json()["position"] == 0
    table = client.get(f"{A}/rules", headers=admin).json()
    assert [item["path"] for item in table["items"]] == ["/first", "/apisix/admin/routes/{id}"]
    assert table["preset"] == {"name": "API7 / APISIX admin API", "enabled": False, "rules": []}
    assert client.get(f"{A}/rules/{rule['id']}", headers=admin).json()["position"] == 1
    replaced = client.put(
        f"{A}/rules/{rule['id']}", headers=admin, json={**RULE, "description": "routes", "position": 0}
    )
    assert (replaced.json()["description"], replaced.json()["position"], replaced.json()["version"]) == ("routes", 0, 2)
    assert client.delete(f"{A}/rules/{rule['id']}", headers=admin).status_code == 204
    assert_error(client.get(f"{A}/rules/{rule['id']}", headers=admin), 404)
    assert_error(client.delete(f"{A}/rules/{rule['id']}", headers=admin), 404)
    events = [(r.event, r.resource_type, r.outcome) for r in audit(db, "iam:UpdateAuthzRule")]
    assert events.count(("iam:UpdateAuthzRule", "authz_rule", "success")) == 4
    assert any(r.summary.get("created", {}).get("path") == RULE["path"] for r in audit(db, "iam:UpdateAuthzRule"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": "gateway:Nope"}, "action: 'gateway:Nope' is not an action of the catalog"),
        ({"resource": f"{GG}/{{group}}"}, "resource: {group} is not a part of the path or query"),
        ({"path": "/a/../b"}, "path:"),
        ({"methods": ["BREW"]}, "methods: 'BREW'"),
    ],
)
def test_bad_rules_are_400_and_recorded(
    client: TestClient, db: Database, admin: dict[str, str], change: dict[str, Any], message: str
) -> None:
    assert message in assert_error(client.post(f"{A}/rules", headers=admin, json={**RULE, **change}), 400)["detail"]
    assert audit(db, "iam:UpdateAuthzRule")[0].outcome == "failed"
    assert client.get(f"{A}/rules", headers=admin).json()["items"] == []


def test_the_preset(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    preset = client.get(f"{A}/preset", headers=admin).json()
    assert preset["enabled"] is False and len(preset["rules"]) == len(RULES)
    assert preset["rules"][0]["id"] is None and preset["rules"][0]["path"] == "/api/gateway_groups"
    switched = client.put(f"{A}/preset", headers=admin, json={"enabled": True}).json()
    assert switched["enabled"] is True
    assert client.get(f"{A}/rules", headers=admin).json()["preset"]["enabled"] is True
    record = audit(db, "iam:UpdateAuthzRule")[0]
    assert (record.resource_type, record.summary) == ("authz_preset", {"enabled": True})


def test_a_viewer_reads_the_table_but_changes_nothing(
    client: TestClient, admin: dict[str, str], viewer: dict[str, str]
) -> None:
    rule_id = client.post(f"{A}/rules", headers=admin, json=RULE).json()["id"]
    assert client.get(f"{A}/rules", headers=viewer).status_code == 200
    assert client.get(f"{A}/preset", headers=viewer).status_code == 200
    for method, path, body in (
        ("POST", f"{A}/rules", RULE),
        ("PUT", f"{A}/rules/{rule_id}", RULE),
        ("DELETE", f"{A}/rules/{rule_id}", None),
        ("PUT", f"{A}/preset", {"enabled": True}),
    ):
        assert (
            "iam:UpdateAuthzRule"
            in assert_error(client.request(method, path, headers=viewer, json=body), 403)["detail"]
        )


# ------------------------------------------------------------------------------------------ labels


def test_labels(client: TestClient, db: Database, admin: dict[str, str], editor: str) -> None:
    devon = key(token_for(db, editor))
    done = client.put(
        f"{A}/resources", headers=devon, json={"resource": f"{GG}/dev/publishedservice/s1", "labels": {"team": "a"}}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["kind"], done.json()["labels"], done.json()["updated_by"]) == (
        "publishedservice",
        {"team": "a"},
        "devon (token ci)",
    )
    refused = client.put(f"{A}/resources", headers=devon, json={"resource": f"{GG}/prod", "labels": {"env": "dev"}})
    assert "gateway:UpdateGatewayGroup" in assert_error(refused, 403)["detail"]
    mine = client.get(f"{A}/resources", headers=devon).json()["items"]
    assert [item["resource"] for item in mine] == [f"{GG}/dev", f"{GG}/dev/publishedservice/s1"]
    everything = client.get(f"{A}/resources", headers=admin).json()["items"]
    assert len(everything) == 3
    one = client.get(f"{A}/resources", headers=admin, params={"resource": f"{GG}/prod"}).json()["items"]
    assert one == [{**one[0], "resource": f"{GG}/prod", "labels": {"env": "prod"}}]
    assert client.get(f"{A}/resources", headers=devon, params={"resource": f"{GG}/prod"}).status_code == 404
    assert_error(client.put(f"{A}/resources", headers=admin, json={"resource": f"{GG}/*", "labels": {"a": "b"}}), 400)
    events = [(r.event, r.outcome, r.resource_id) for r in audit(db, "gateway:*")]
    assert ("gateway:UpdatePublishedService", "success", f"{GG}/dev/publishedservice/s1") in events
    assert ("gateway:UpdateGatewayGroup", "refused", f"{GG}/prod") in events


def test_labels_decide_checks(client: TestClient, admin: dict[str, str], editor: str) -> None:
    """Relabelling prod as dev (by someone allowed to) lets the dev editor change it, on the next check."""
    body = {"subject": {"user_id": editor}, "checks": [CHECK_PROD]}
    assert not client.post(f"{A}/check", headers=admin, json=body).json()["results"][0]["allowed"]
    client.put(f"{A}/resources", headers=admin, json={"resource": f"{GG}/prod", "labels": {"env": "dev"}})
    assert client.post(f"{A}/check", headers=admin, json=body).json()["results"][0]["allowed"]


# ------------------------------------------------------------------------------------------ API7 policies


def test_an_api7_policy_imports_as_exported(client: TestClient, admin: dict[str, str], db: Database) -> None:
    """A policy in API7's names (aliases, arn:api7:iam:, gateway labels) is stored and served as written, and
    decides through a role like any other."""
    document = {
        "statement": [
            {
                "effect": "allow",
                "actions": ["iam:GetRole", "iam:UpdateCustomRole"],
                "resources": ["arn:api7:iam:role/*"],
            },
            *GATEWAY_READ_ONLY["statement"],  # type: ignore[misc]
            {"effect": "deny", "actions": ["iam:UpdateLicense"], "resources": ["arn:api7:iam:organization/*"]},
        ]
    }
    created = client.post("/api/permission-policies", headers=admin, json={"name": "from api7", "document": document})
    assert created.status_code == 201, created.text
    assert client.get(f"/api/permission-policies/{created.json()['id']}", headers=admin).json()["document"] == document
    user_id = add_user(db, "imported")
    role = client.post(
        "/api/roles", headers=admin, json={"name": "api7 role", "policy_ids": [created.json()["id"]]}
    ).json()
    client.put(f"/api/users/{user_id}/roles", headers=admin, json={"role_ids": [role["id"]]})
    checks = [
        {"action": "iam:UpdateRole", "resource": "arn:gatehouse:iam:role/r1"},
        {"action": "gateway:GetConsumer", "resource": f"{GG}/any"},
        {"action": "iam:UpdateLicense", "resource": "arn:gatehouse:iam:organization/*"},
    ]
    results = client.post(f"{A}/check", headers=admin, json={"subject": {"user_id": user_id}, "checks": checks}).json()
    assert [r["allowed"] for r in results["results"]] == [True, True, False]


def test_the_catalog_lists_gateway_actions(client: TestClient, viewer: dict[str, str]) -> None:
    catalog = client.get("/api/catalog", headers=viewer).json()
    names = {action["name"] for action in catalog["actions"]}
    assert {"gateway:PublishServices", "iam:CheckAccess", "iam:UpdateLicense"} <= names
    assert catalog["groups"]["gateway_groups"] == "Gateway groups"
