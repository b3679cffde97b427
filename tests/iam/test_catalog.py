"""The action catalog, resource names and the built-in policy documents."""

from __future__ import annotations

import json
import re

import pytest

from gatehouse.iam.catalog import (
    ACTION_NAMES,
    ACTIONS,
    ACTIONS_BY_NAME,
    ANY_ID,
    GROUPS,
    KINDS,
    ORGANIZATION,
    ORGANIZATION_ADMIN_EXCLUDED,
    ORGANIZATION_ADMIN_POLICY,
    RESOURCE_KINDS,
    STARTER_ROLES,
    SUPER_ADMIN_POLICY,
    VIEWER_POLICY,
    Action,
    ResourceKind,
    catalog_json,
    resource_name,
)
from gatehouse.iam.policy import EvaluationRequest, NamedPolicy, RolePolicies, compile_pattern, evaluate, parse_policy

# The actions the RBAC issue and its brief name, by group: the catalog must hold exactly these.
EXPECTED = {
    "users": {
        "iam:GetUser",
        "iam:InviteUser",
        "iam:UpdateUser",
        "iam:UpdateUserRole",
        "iam:UpdateUserBoundary",
        "iam:DeleteUser",
        "iam:ResetPassword",
        "iam:UpdateUserStatus",
        "iam:HandOverUser",
    },
    "roles": {"iam:GetRole", "iam:CreateRole", "iam:UpdateRole", "iam:DeleteRole"},
    "permission_policies": {
        "iam:GetPermissionPolicy",
        "iam:CreatePermissionPolicy",
        "iam:UpdatePermissionPolicy",
        "iam:DeletePermissionPolicy",
    },
    "scim": {"iam:GetSCIMProvisioning", "iam:UpdateSCIMProvisioning"},
    "group_bindings": {"iam:GetGroupBinding", "iam:UpdateGroupBinding"},
    "tokens": {"iam:GetToken", "iam:CreateToken", "iam:DeleteToken", "iam:GetAnyToken", "iam:DeleteAnyToken"},
    "audit": {"iam:GetAudit", "iam:ExportAudits", "iam:GetAuditSink", "iam:UpdateAuditSink"},
    # governance: access requests and reviews
    "access": {"iam:GetAccessRequest", "iam:ApproveAccessRequest", "iam:GetAccessReview", "iam:CreateAccessReview"},
    "login_options": {"iam:GetLoginOption", "iam:UpdateLoginOption"},
    "config": {"iam:ExportConfig", "iam:ApplyConfig"},
    # API7's license, the decision API and forward-auth rules
    "license": {"iam:UpdateLicense"},
    "gateway_access": {"iam:CheckAccess", "iam:GetAuthzRule", "iam:UpdateAuthzRule"},
    # API7's gateway actions (its "Permission policy actions and resources" reference)
    "gateway_groups": {
        "gateway:GetGatewayGroup",
        "gateway:CreateGatewayGroup",
        "gateway:UpdateGatewayGroup",
        "gateway:DeleteGatewayGroup",
    },
    "gateway_instances": {
        "gateway:GetGatewayInstance",
        "gateway:GetGatewayInstanceCore",
        "gateway:CreateGatewayInstance",
    },
    "published_services": {
        "gateway:GetPublishedService",
        "gateway:PublishServices",
        "gateway:CreatePublishedService",
        "gateway:UpdatePublishedService",
        "gateway:DeletePublishedService",
    },
    "service_templates": {
        "gateway:GetServiceTemplate",
        "gateway:CreateServiceTemplate",
        "gateway:UpdateServiceTemplate",
        "gateway:DeleteServiceTemplate",
    },
    "consumers": {
        f"gateway:{verb}{noun}"
        for verb in ("Get", "Create", "Update", "Delete")
        for noun in ("Consumer", "ConsumerCredential")
    },
    "certificates": {f"gateway:{verb}SSLCertificate" for verb in ("Get", "Create", "Update", "Delete")},
    "global_rules": {f"gateway:{verb}GlobalPluginRule" for verb in ("Get", "Create", "Update", "Delete")},
    "plugin_metadata": {f"gateway:{verb}PluginMetadata" for verb in ("Get", "Update", "Delete")},
    "secrets": {"gateway:GetSecret", "gateway:PutSecret", "gateway:DeleteSecret"},
    "service_registries": {
        "gateway:GetServiceRegistry",
        "gateway:ConnectServiceRegistry",
        "gateway:UpdateServiceRegistry",
        "gateway:DisconnectServiceRegistry",
    },
    "deployment": {
        "gateway:GetDeploymentSetting",
        "gateway:UpdateDeploymentSetting",
        *(f"gateway:{verb}CustomPlugin" for verb in ("Get", "Create", "Update", "Delete")),
    },
    "alerts": {
        f"gateway:{verb}{noun}"
        for verb in ("Get", "Create", "Update", "Delete")
        for noun in ("AlertPolicy", "WebhookTemplate")
    },
}
SAMPLE_IDS = ["3fa85f64-5717-4562-b3fc-2c963f66afa6", "u1", ANY_ID]


def concrete_names(action: Action) -> list[str]:
    """Names a caller may check the action against: every sample id of its kind (or the collection)."""
    nested = action.kind in ("publishedservice", "consumer")  # <group id>/<id>
    if action.resource.endswith("/*"):
        if nested:
            return [resource_name(action.kind, f"{id}/{ANY_ID}") for id in SAMPLE_IDS]
        return [resource_name(action.kind, ANY_ID)]
    return [resource_name(action.kind, f"{id}/{id}" if nested else id) for id in SAMPLE_IDS]


def as_role(name: str, document: object) -> RolePolicies:
    return RolePolicies(name, name, (NamedPolicy(name, name, parse_policy(document)),))


def test_actions_are_namespaced_and_unique() -> None:
    """Every action is an iam: or gateway: verb in CamelCase, listed once."""
    for action in ACTIONS:
        assert re.fullmatch(r"(iam|gateway):[A-Z][A-Za-z]+", action.name), action.name
    assert len(ACTION_NAMES) == len(ACTIONS) == len(ACTIONS_BY_NAME)


def test_catalog_is_the_expected_set() -> None:
    """The catalog holds exactly the actions the issue names, in the groups it names."""
    grouped: dict[str, set[str]] = {}
    for action in ACTIONS:
        grouped.setdefault(action.group, set()).add(action.name)
    assert grouped == EXPECTED
    assert list(GROUPS) == list(EXPECTED)


def test_actions_are_described() -> None:
    """Every action has a one-line description ending with a full stop."""
    for action in ACTIONS:
        assert action.description.endswith(".") and "\n" not in action.description, action.name
        assert len(action.description) <= 80, action.name


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_resource_patterns_name_their_kind(action: Action) -> None:
    """Each action's displayed resource, with {id} as a wildcard, matches the names callers check."""
    pattern = compile_pattern(action.resource.replace("{id}", "*"))
    for name in concrete_names(action):
        assert pattern.matches(name)
    if action.name.startswith("iam:"):
        assert action.resource.startswith(f"arn:gatehouse:iam:{action.kind}/")
    else:
        kind = action.kind if action.kind not in ("publishedservice", "consumer") else "gatewaygroup"
        assert action.resource.startswith(f"arn:api7:gateway:{kind}/")
        assert action.kind in action.resource or action.kind == "gatewaygroup"


def test_create_actions_check_the_collection() -> None:
    """Creating actions, whose object has no id yet, are checked against <kind>/*, as in API7."""
    creating = {action.name: action.resource for action in ACTIONS if action.resource.endswith("/*")}
    assert creating == {
        "iam:InviteUser": "arn:gatehouse:iam:user/*",
        "iam:CreateRole": "arn:gatehouse:iam:role/*",
        "iam:CreatePermissionPolicy": "arn:gatehouse:iam:permissionpolicy/*",
        "iam:CreateToken": "arn:gatehouse:iam:token/*",
        **{action.name: ORGANIZATION for action in ACTIONS if action.kind == "organization"},
        # API7's: a new gateway group, service template or consumer; every group's instances; publishing
        "gateway:CreateGatewayGroup": "arn:api7:gateway:gatewaygroup/*",
        "gateway:GetGatewayInstanceCore": "arn:api7:gateway:gatewaygroup/*",
        "gateway:CreateServiceTemplate": "arn:api7:gateway:servicetemplate/*",
        "gateway:CreateConsumer": "arn:api7:gateway:gatewaygroup/{id}/consumer/*",
        "gateway:PublishServices": "arn:api7:gateway:gatewaygroup/{id}/publishedservice/*",
        # and the two organization-wide names, whatever the action
        **{action.name: "arn:api7:gateway:gatewaysetting/*" for action in ACTIONS if action.kind == "gatewaysetting"},
        **{action.name: "arn:api7:gateway:alert/*" for action in ACTIONS if action.kind == "alert"},
    }


RESOURCE_NAME_CASES: list[tuple[ResourceKind, str, str]] = [
    ("user", "u1", "arn:gatehouse:iam:user/u1"),
    ("role", "r1", "arn:gatehouse:iam:role/r1"),
    ("permissionpolicy", "p1", "arn:gatehouse:iam:permissionpolicy/p1"),
    ("token", "t1", "arn:gatehouse:iam:token/t1"),
    ("group", "g1", "arn:gatehouse:iam:group/g1"),
    ("user", ANY_ID, "arn:gatehouse:iam:user/*"),
    ("organization", "anything", "arn:gatehouse:iam:organization/*"),
]


@pytest.mark.parametrize(("kind", "id", "name"), RESOURCE_NAME_CASES)
def test_resource_name(kind: ResourceKind, id: str, name: str) -> None:
    """resource_name builds arn:gatehouse:iam:<kind>/<id>; the organization has one name."""
    assert resource_name(kind, id) == name


@pytest.mark.parametrize(("kind", "id"), [("users", "u1"), ("user", "")])
def test_resource_name_refuses(kind: str, id: str) -> None:
    """An unknown kind or an empty id is a programming error."""
    with pytest.raises(ValueError):
        resource_name(kind, id)  # type: ignore[arg-type]


def test_every_kind_is_used() -> None:
    """Every resource kind, IAM's and the gateway's, is the target of at least one action."""
    assert {action.kind for action in ACTIONS} == set(KINDS)
    assert set(RESOURCE_KINDS) < set(KINDS)


@pytest.mark.parametrize("document", [SUPER_ADMIN_POLICY, *STARTER_ROLES.values()], ids=["super-admin", *STARTER_ROLES])
def test_builtin_policies_validate(document: object) -> None:
    """The built-in documents are valid and serialize to JSON as they are."""
    parsed = parse_policy(document)
    assert parse_policy(json.loads(json.dumps(parsed.as_dict()))) == parsed


def test_builtin_policies_are_immutable() -> None:
    """A caller cannot change a built-in document by accident."""
    with pytest.raises(TypeError):
        SUPER_ADMIN_POLICY["statement"] = []  # type: ignore[index]
    statement = SUPER_ADMIN_POLICY["statement"][0]  # type: ignore[index]
    with pytest.raises(TypeError):
        statement["effect"] = "deny"


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_super_admin_may_do_everything(action: Action) -> None:
    """The Super Admin policy allows every action on every name it applies to."""
    role = as_role("Super Admin", SUPER_ADMIN_POLICY)
    for name in concrete_names(action):
        assert evaluate(EvaluationRequest(action.name, name), [role]).allowed


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_viewer(action: Action) -> None:
    """Viewer may do every IAM Get action except GetAnyToken, and keep their own API tokens; nothing else (no
    gateway action)."""
    role = as_role("Viewer", VIEWER_POLICY)
    own_tokens = action.name in ("iam:CreateToken", "iam:DeleteToken")
    expected = (action.name.startswith("iam:Get") and action.name != "iam:GetAnyToken") or own_tokens
    for name in concrete_names(action):
        assert evaluate(EvaluationRequest(action.name, name), [role]).allowed is expected


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_organization_admin(action: Action) -> None:
    """Organization Admin may do every IAM action except change login options, SCIM provisioning and audit
    streaming; no gateway action (the starter roles keep to IAM: gateway permissions come from policies written
    for them)."""
    role = as_role("Organization Admin", ORGANIZATION_ADMIN_POLICY)
    expected = action.name.startswith("iam:") and action.name not in ORGANIZATION_ADMIN_EXCLUDED
    for name in concrete_names(action):
        assert evaluate(EvaluationRequest(action.name, name), [role]).allowed is expected
    assert {"iam:UpdateLoginOption", "iam:UpdateSCIMProvisioning", "iam:UpdateAuditSink"} == ORGANIZATION_ADMIN_EXCLUDED


def test_viewer_includes_audit() -> None:
    """Viewer reads the audit log but cannot export it."""
    role = as_role("Viewer", VIEWER_POLICY)
    assert evaluate(EvaluationRequest("iam:GetAudit", ORGANIZATION), [role]).allowed
    assert not evaluate(EvaluationRequest("iam:ExportAudits", ORGANIZATION), [role]).allowed


def test_catalog_json() -> None:
    """The published catalog lists every action with its group, kind, resource and description."""
    published = catalog_json()
    assert [entry["name"] for entry in published] == [action.name for action in ACTIONS]
    assert published[0] == {
        "name": "iam:GetUser",
        "group": "users",
        "kind": "user",
        "resource": "arn:gatehouse:iam:user/{id}",
        "description": ACTIONS_BY_NAME["iam:GetUser"].description,
    }
    json.dumps(published)
