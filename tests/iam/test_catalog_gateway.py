"""API7's gateway side of the catalog: the gateway actions and resource names, the label condition keys, and
API7's spellings (``arn:api7:iam:…``, ``iam:*CustomRole``): a policy exported from API7 imports unchanged and
decides the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gatehouse.iam.catalog import (
    ACTION_ALIASES,
    ACTION_NAMES,
    ACTIONS_BY_NAME,
    CONDITION_KEYS,
    LABEL_KEYS,
    NAME_PREFIXES,
    ORGANIZATION,
    STARTER_ROLES,
    canonical_action,
    canonical_resource,
    resource_name,
)
from gatehouse.iam.policy import EvaluationRequest, NamedPolicy, PolicyError, RolePolicies, evaluate, parse_policy

GG = "arn:api7:gateway:gatewaygroup"

# The IAM keys of API7's reference, and the gateway's: every one is a condition key of the catalog.
REFERENCE_KEYS = {
    "gateway_group_label",
    "service_label",
    "consumer_label",
    "secret_provider_label",
    "certificate_label",
    "ca_certificate_label",
    "sni_label",
    "role_label",
    "user_label",
    "permission_policy_label",
    "alert_policy_label",
    "contact_point_label",
}


def role(document: object, name: str = "api7") -> RolePolicies:
    return RolePolicies(name, name, (NamedPolicy(name, name, parse_policy(document)),))


def test_the_reference_actions_are_in_the_catalog_with_their_resources() -> None:
    """Spot checks against API7's table: the action, and the resource it is checked against."""
    expected = {
        "gateway:GetGatewayGroup": f"{GG}/{{id}}",
        "gateway:CreateGatewayGroup": f"{GG}/*",
        "gateway:GetGatewayInstanceCore": f"{GG}/*",
        "gateway:GetPublishedService": f"{GG}/{{id}}/publishedservice/{{id}}",
        "gateway:PublishServices": f"{GG}/{{id}}/publishedservice/*",
        "gateway:UpdateConsumerCredential": f"{GG}/{{id}}/consumer/{{id}}",
        "gateway:PutSecret": f"{GG}/{{id}}",
        "gateway:CreateServiceTemplate": "arn:api7:gateway:servicetemplate/*",
        "gateway:DeleteServiceTemplate": "arn:api7:gateway:servicetemplate/{id}",
        "gateway:UpdateDeploymentSetting": "arn:api7:gateway:gatewaysetting/*",
        "gateway:DeleteCustomPlugin": "arn:api7:gateway:gatewaysetting/*",
        "gateway:UpdateWebhookTemplate": "arn:api7:gateway:alert/*",
        "iam:UpdateLicense": ORGANIZATION,
        "iam:CheckAccess": ORGANIZATION,
        "iam:UpdateAuthzRule": ORGANIZATION,
    }
    assert {name: ACTIONS_BY_NAME[name].resource for name in expected} == expected


def test_label_condition_keys() -> None:
    """The catalog knows the reference's condition keys; each gateway kind takes its own key first, and what
    lives in a group its group's too."""
    assert set(CONDITION_KEYS) >= REFERENCE_KEYS
    assert LABEL_KEYS["gatewaygroup"][0] == "gateway_group_label"
    assert LABEL_KEYS["publishedservice"] == ("service_label", "gateway_group_label")
    assert LABEL_KEYS["consumer"] == ("consumer_label", "gateway_group_label")
    assert LABEL_KEYS["servicetemplate"] == ("service_label",)
    assert "secret_provider_label" in LABEL_KEYS["gatewaygroup"]


@pytest.mark.parametrize(
    ("kind", "id", "name"),
    [
        ("gatewaygroup", "dev", f"{GG}/dev"),
        ("gatewaygroup", "*", f"{GG}/*"),
        ("publishedservice", "dev/svc", f"{GG}/dev/publishedservice/svc"),
        ("publishedservice", "*", f"{GG}/*/publishedservice/*"),
        ("consumer", "dev/alice", f"{GG}/dev/consumer/alice"),
        ("servicetemplate", "t1", "arn:api7:gateway:servicetemplate/t1"),
        ("gatewaysetting", "anything", "arn:api7:gateway:gatewaysetting/*"),
        ("alert", "*", "arn:api7:gateway:alert/*"),
    ],
)
def test_gateway_resource_names(kind: Any, id: str, name: str) -> None:
    assert resource_name(kind, id) == name


@pytest.mark.parametrize(("kind", "id"), [("publishedservice", "svc"), ("consumer", "a/b/c"), ("gatewaygroup", "")])
def test_gateway_resource_name_refuses(kind: Any, id: str) -> None:
    with pytest.raises(ValueError):
        resource_name(kind, id)


def test_aliases_and_spellings() -> None:
    """API7's names become the catalog's; other names are left alone."""
    assert ACTION_ALIASES == {
        "iam:CreateCustomRole": "iam:CreateRole",
        "iam:UpdateCustomRole": "iam:UpdateRole",
        "iam:DeleteCustomRole": "iam:DeleteRole",
    }
    assert all(action in ACTION_NAMES and alias not in ACTION_NAMES for alias, action in ACTION_ALIASES.items())
    assert canonical_action("iam:UpdateCustomRole") == "iam:UpdateRole"
    assert canonical_action("gateway:GetConsumer") == "gateway:GetConsumer"
    assert canonical_resource("arn:api7:iam:role/r1") == "arn:gatehouse:iam:role/r1"
    assert canonical_resource("arn:api7:iam:organization/*") == ORGANIZATION
    assert canonical_resource(f"{GG}/dev") == f"{GG}/dev"
    assert "arn:api7:iam:role/" in NAME_PREFIXES and f"{GG}/" in NAME_PREFIXES


def test_starter_roles_keep_to_iam() -> None:
    """Organization Admin and Viewer grant no gateway action (existing behaviour is unchanged)."""
    for document in STARTER_ROLES.values():
        for statement in document["statement"]:  # type: ignore[attr-defined]
            assert all(action.startswith("iam:") for action in statement["actions"])


# ------------------------------------------------------------------------------------------ API7's own policies

# Policy documents as API7 exports them (its docs and its MCP server's types).
API7_READ_ONLY_PROD = {
    "statement": [
        {
            "effect": "allow",
            "actions": ["<.*>Get<.*>"],
            "resources": [f"{GG}/<.*>", f"{GG}/<.*>/publishedservice/<.*>"],
            "conditions": {
                "gateway_group_label": {
                    "type": "MatchLabel",
                    "options": {"key": "env", "operator": "exact_match", "value": "prod"},
                }
            },
        },
        {"effect": "deny", "actions": ["iam:UpdateLicense"], "resources": ["arn:api7:iam:organization/*"]},
    ]
}
API7_ROLE_MANAGER = {
    "statement": [
        {
            "effect": "allow",
            "actions": ["iam:GetRole", "iam:CreateCustomRole", "iam:UpdateCustomRole", "iam:DeleteCustomRole"],
            "resources": ["arn:api7:iam:role/*"],
        },
        {
            "effect": "deny",
            "actions": ["iam:DeleteCustomRole"],
            "resources": ["arn:api7:iam:role/*"],
            "conditions": {
                "role_label": {
                    "type": "MatchLabel",
                    "options": {"key": "protected", "operator": "present"},
                }
            },
        },
        {"effect": "allow", "actions": ["iam:UpdateLicense"], "resources": ["arn:api7:iam:organization/*"]},
    ]
}
API7_PUBLISHER = {
    "statement": [
        {
            "effect": "allow",
            "actions": ["gateway:PublishServices", "gateway:<(Get|Update)>PublishedService"],
            "resources": [f"{GG}/team-a/publishedservice/*"],
        },
        {
            "effect": "allow",
            "actions": ["gateway:GetServiceTemplate"],
            "resources": ["arn:api7:gateway:servicetemplate/*"],
        },
    ]
}


@pytest.mark.parametrize(
    "document", [API7_READ_ONLY_PROD, API7_ROLE_MANAGER, API7_PUBLISHER], ids=["ro", "roles", "publish"]
)
def test_api7_documents_import_unchanged(document: dict[str, Any]) -> None:
    """An exported document is accepted as it is, and kept as written (its canonical form is the same JSON)."""
    parsed = parse_policy(json.loads(json.dumps(document)))
    assert parsed.as_dict() == document
    assert parse_policy(parsed.as_dict()) == parsed


PROD = {"gateway_group_label": {"env": "prod"}}
DEV = {"gateway_group_label": {"env": "dev"}}
DECISIONS: list[tuple[dict[str, Any], str, str, dict[str, Any], bool]] = [
    # API7's read-only-on-prod: every Get on prod groups and their services, nothing on dev, no license
    (API7_READ_ONLY_PROD, "gateway:GetGatewayGroup", f"{GG}/g1", PROD, True),
    (API7_READ_ONLY_PROD, "gateway:GetPublishedService", f"{GG}/g1/publishedservice/s1", PROD, True),
    (API7_READ_ONLY_PROD, "gateway:GetConsumer", f"{GG}/g1", PROD, True),
    (API7_READ_ONLY_PROD, "gateway:GetGatewayGroup", f"{GG}/g1", DEV, False),
    (API7_READ_ONLY_PROD, "gateway:GetGatewayGroup", f"{GG}/g1", {}, False),
    (API7_READ_ONLY_PROD, "gateway:UpdateGatewayGroup", f"{GG}/g1", PROD, False),
    (API7_READ_ONLY_PROD, "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/t1", PROD, False),
    (API7_READ_ONLY_PROD, "iam:GetRole", "arn:gatehouse:iam:role/r1", PROD, False),
    (API7_READ_ONLY_PROD, "iam:UpdateLicense", ORGANIZATION, {}, False),
    # API7's role manager, with its *CustomRole names and arn:api7:iam: names, asked either way
    (API7_ROLE_MANAGER, "iam:CreateRole", "arn:gatehouse:iam:role/*", {}, True),
    (API7_ROLE_MANAGER, "iam:CreateCustomRole", "arn:api7:iam:role/*", {}, True),
    (API7_ROLE_MANAGER, "iam:UpdateRole", "arn:gatehouse:iam:role/r1", {"role_label": {}}, True),
    (API7_ROLE_MANAGER, "iam:UpdateCustomRole", "arn:api7:iam:role/r1", {}, True),
    (API7_ROLE_MANAGER, "iam:DeleteRole", "arn:gatehouse:iam:role/r1", {"role_label": {"team": "sre"}}, True),
    (API7_ROLE_MANAGER, "iam:DeleteRole", "arn:gatehouse:iam:role/r1", {"role_label": {"protected": ""}}, False),
    (API7_ROLE_MANAGER, "iam:DeleteCustomRole", "arn:api7:iam:role/r1", {"role_label": {"protected": "y"}}, False),
    (API7_ROLE_MANAGER, "iam:GetUser", "arn:gatehouse:iam:user/u1", {}, False),
    (API7_ROLE_MANAGER, "iam:UpdateLicense", ORGANIZATION, {}, True),
    (API7_ROLE_MANAGER, "iam:UpdateLicense", "arn:api7:iam:organization/*", {}, True),
    (API7_ROLE_MANAGER, "iam:UpdateLicense", "arn:gatehouse:iam:role/*", {}, False),
    # API7's publisher: one group only
    (API7_PUBLISHER, "gateway:PublishServices", f"{GG}/team-a/publishedservice/*", {}, True),
    (API7_PUBLISHER, "gateway:UpdatePublishedService", f"{GG}/team-a/publishedservice/s9", {}, True),
    (API7_PUBLISHER, "gateway:DeletePublishedService", f"{GG}/team-a/publishedservice/s9", {}, False),
    (API7_PUBLISHER, "gateway:PublishServices", f"{GG}/team-b/publishedservice/*", {}, False),
    (API7_PUBLISHER, "gateway:PublishServices", f"{GG}/*/publishedservice/*", {}, False),
    (API7_PUBLISHER, "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/t1", {}, True),
]


@pytest.mark.parametrize(("document", "action", "resource", "labels", "allowed"), DECISIONS)
def test_api7_documents_decide_as_in_api7(
    document: dict[str, Any], action: str, resource: str, labels: dict[str, Any], allowed: bool
) -> None:
    """Allowed exactly where API7's rules allow: deny overrides allow, conditions on the labels given."""
    decision = evaluate(EvaluationRequest(action, resource, labels), [role(document)])
    assert decision.allowed is allowed, decision.reason


def test_spellings_match_both_ways() -> None:
    """A Gatehouse-spelled pattern matches an API7-spelled request, and the other way round (a gateway name has
    one spelling only: ``arn:gatehouse:gateway:…`` is refused, below)."""
    gatehouse = role(
        {"statement": [{"effect": "allow", "actions": ["iam:GetRole"], "resources": ["arn:gatehouse:iam:role/*"]}]}
    )
    api7 = role({"statement": [{"effect": "allow", "actions": ["iam:GetRole"], "resources": ["arn:api7:iam:role/*"]}]})
    for holder in (gatehouse, api7):
        for name in ("arn:gatehouse:iam:role/r1", "arn:api7:iam:role/r1"):
            assert evaluate(EvaluationRequest("iam:GetRole", name), [holder]).allowed
    regex = role(
        {"statement": [{"effect": "allow", "actions": ["iam:GetRole"], "resources": ["arn:<api7>:iam:role/*"]}]}
    )
    assert evaluate(EvaluationRequest("iam:GetRole", "arn:gatehouse:iam:role/r1"), [regex]).allowed


def test_an_alias_pattern_stands_for_its_action() -> None:
    """A regex over API7's names matches the actions they stand for, and a deny on an alias denies the action."""
    document = {
        "statement": [
            {"effect": "allow", "actions": ["iam:<.*>CustomRole"], "resources": ["*"]},
            {"effect": "deny", "actions": ["iam:DeleteCustomRole"], "resources": ["arn:api7:iam:role/locked"]},
        ]
    }
    holder = role(document)
    assert parse_policy(document).statements[0].action_names == {"iam:CreateRole", "iam:UpdateRole", "iam:DeleteRole"}
    assert evaluate(EvaluationRequest("iam:DeleteRole", "arn:gatehouse:iam:role/r1"), [holder]).allowed
    denied = evaluate(EvaluationRequest("iam:DeleteRole", "arn:gatehouse:iam:role/locked"), [holder])
    assert denied.outcome == "denied" and "statement 1" in denied.reason


@pytest.mark.parametrize(
    "resource",
    ["arn:api7:gateway:nothing/*", "arn:api7:iam:users/*", "arn:gatehouse:gateway:gatewaygroup/*", "gatewaygroup/x"],
)
def test_unknown_resource_names_are_refused(resource: str) -> None:
    with pytest.raises(PolicyError, match="matches no resource"):
        parse_policy(
            {"statement": [{"effect": "allow", "actions": ["gateway:GetGatewayGroup"], "resources": [resource]}]}
        )
