"""The built-in preset "API7 / APISIX admin API": every request of API7's reference table maps to the action and
resource the table names; every rule is reachable; nothing else is let through."""

from __future__ import annotations

import pytest

from gatehouse.iam.catalog import ACTION_NAMES, ORGANIZATION
from gatehouse.iam.gateway_preset import NAME, ROWS, RULES
from gatehouse.iam.gateway_rules import Rule, match, parse_target

GG = "arn:api7:gateway:gatewaygroup"
Q = "?gateway_group_id=g1"
IAM = "arn:gatehouse:iam"

# (method, URI, action, resource): API7's "Permission policy actions and resources", request by request, with
# the group g1 (the path's, or gateway_group_id's) and object ids o1.
REFERENCE: list[tuple[str, str, str, str]] = [
    ("GET", "/api/gateway_groups/g1", "gateway:GetGatewayGroup", f"{GG}/g1"),
    ("POST", "/api/gateway_groups", "gateway:CreateGatewayGroup", f"{GG}/*"),
    ("PUT", "/api/gateway_groups/g1", "gateway:UpdateGatewayGroup", f"{GG}/g1"),
    ("PUT", "/api/gateway_groups/g1/admin_key", "gateway:UpdateGatewayGroup", f"{GG}/g1"),
    ("DELETE", "/api/gateway_groups/g1", "gateway:DeleteGatewayGroup", f"{GG}/g1"),
    ("GET", "/api/gateway_groups/g1/instances", "gateway:GetGatewayInstance", f"{GG}/g1"),
    ("GET", "/api/instances/cores", "gateway:GetGatewayInstanceCore", f"{GG}/*"),
    ("POST", "/api/gateway_groups/g1/dp_client_certificates", "gateway:CreateGatewayInstance", f"{GG}/g1"),
    ("POST", "/api/gateway_groups/g1/instance_token", "gateway:CreateGatewayInstance", f"{GG}/g1"),
    ("GET", f"/apisix/admin/consumers{Q}", "gateway:GetConsumer", f"{GG}/g1"),
    ("GET", f"/apisix/admin/consumers/alice{Q}", "gateway:GetConsumer", f"{GG}/g1"),
    ("POST", f"/apisix/admin/consumers{Q}", "gateway:CreateConsumer", f"{GG}/g1"),
    ("PATCH", f"/apisix/admin/consumers/alice{Q}", "gateway:UpdateConsumer", f"{GG}/g1"),
    ("PUT", f"/apisix/admin/consumers/alice{Q}", "gateway:UpdateConsumer", f"{GG}/g1"),
    ("DELETE", f"/apisix/admin/consumers/alice{Q}", "gateway:DeleteConsumer", f"{GG}/g1"),
    ("GET", f"/apisix/admin/ssls{Q}", "gateway:GetSSLCertificate", f"{GG}/g1"),
    ("GET", f"/apisix/admin/ssls/o1{Q}", "gateway:GetSSLCertificate", f"{GG}/g1"),
    ("POST", f"/apisix/admin/ssls{Q}", "gateway:CreateSSLCertificate", f"{GG}/g1"),
    ("PUT", f"/apisix/admin/ssls/o1{Q}", "gateway:UpdateSSLCertificate", f"{GG}/g1"),
    ("DELETE", f"/apisix/admin/ssls/o1{Q}", "gateway:DeleteSSLCertificate", f"{GG}/g1"),
    ("GET", f"/apisix/admin/global_rules{Q}", "gateway:GetGlobalPluginRule", f"{GG}/g1"),
    ("GET", f"/apisix/admin/global_rules/o1{Q}", "gateway:GetGlobalPluginRule", f"{GG}/g1"),
    ("POST", f"/apisix/admin/global_rules{Q}", "gateway:CreateGlobalPluginRule", f"{GG}/g1"),
    ("PUT", f"/apisix/admin/global_rules/o1{Q}", "gateway:UpdateGlobalPluginRule", f"{GG}/g1"),
    ("DELETE", f"/apisix/admin/global_rules/o1{Q}", "gateway:DeleteGlobalPluginRule", f"{GG}/g1"),
    ("GET", f"/apisix/admin/plugin_metadata{Q}", "gateway:GetPluginMetadata", f"{GG}/g1"),
    ("GET", f"/apisix/admin/plugin_metadata/limit-count{Q}", "gateway:GetPluginMetadata", f"{GG}/g1"),
    ("PUT", f"/apisix/admin/plugin_metadata/limit-count{Q}", "gateway:UpdatePluginMetadata", f"{GG}/g1"),
    ("DELETE", f"/apisix/admin/plugin_metadata/limit-count{Q}", "gateway:DeletePluginMetadata", f"{GG}/g1"),
    ("GET", f"/apisix/admin/secrets{Q}", "gateway:GetSecret", f"{GG}/g1"),
    ("GET", f"/apisix/admin/secrets/vault/o1{Q}", "gateway:GetSecret", f"{GG}/g1"),
    ("PUT", f"/apisix/admin/secrets/vault/o1{Q}", "gateway:PutSecret", f"{GG}/g1"),
    ("DELETE", f"/apisix/admin/secrets/vault/o1{Q}", "gateway:DeleteSecret", f"{GG}/g1"),
    ("GET", "/api/gateway_groups/g1/service_registries", "gateway:GetServiceRegistry", f"{GG}/g1"),
    ("POST", "/api/gateway_groups/g1/service_registries", "gateway:ConnectServiceRegistry", f"{GG}/g1"),
    ("GET", "/api/gateway_groups/g1/service_registries/o1", "gateway:GetServiceRegistry", f"{GG}/g1"),
    ("GET", "/api/gateway_groups/g1/service_registries/o1/services", "gateway:GetServiceRegistry", f"{GG}/g1"),
    ("PUT", "/api/gateway_groups/g1/service_registries/o1", "gateway:UpdateServiceRegistry", f"{GG}/g1"),
    ("DELETE", "/api/gateway_groups/g1/service_registries/o1", "gateway:DisconnectServiceRegistry", f"{GG}/g1"),
    ("GET", "/api/services/template/s1", "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/s1"),
    ("GET", "/api/service_versions/v1", "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("GET", "/api/service_versions/v1/routes", "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("GET", "/api/service_versions/v1/routes/r1", "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("GET", "/api/routes/template/r1", "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("GET", "/api/stream_routes/template/r1", "gateway:GetServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("POST", "/api/import/services/template", "gateway:CreateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("PUT", "/api/services/template/s1", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/s1"),
    ("PATCH", "/api/services/template/s1", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/s1"),
    ("POST", "/api/routes/template", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("PUT", "/api/routes/template/r1", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("PATCH", "/api/routes/template/r1", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("DELETE", "/api/routes/template/r1", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("POST", "/api/stream_routes/template", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("PUT", "/api/stream_routes/template/r1", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("DELETE", "/api/stream_routes/template/r1", "gateway:UpdateServiceTemplate", "arn:api7:gateway:servicetemplate/*"),
    ("DELETE", "/api/services/template/s1", "gateway:DeleteServiceTemplate", "arn:api7:gateway:servicetemplate/s1"),
    ("GET", "/api/gateway_groups/g1/services/s1", "gateway:GetPublishedService", f"{GG}/g1/publishedservice/s1"),
    (
        "GET",
        "/api/gateway_groups/g1/services/s1/healthcheck",
        "gateway:GetPublishedService",
        f"{GG}/g1/publishedservice/s1",
    ),
    (
        "GET",
        "/api/gateway_groups/g1/services/s1/runtime_configuration",
        "gateway:GetPublishedService",
        f"{GG}/g1/publishedservice/s1",
    ),
    (
        "GET",
        "/api/gateway_groups/g1/services/s1/versions",
        "gateway:GetPublishedService",
        f"{GG}/g1/publishedservice/s1",
    ),
    ("GET", f"/apisix/admin/routes/r1{Q}", "gateway:GetPublishedService", f"{GG}/g1/publishedservice/*"),
    ("GET", f"/apisix/admin/services/s1{Q}", "gateway:GetPublishedService", f"{GG}/g1/publishedservice/s1"),
    ("GET", f"/apisix/admin/stream_routes/r1{Q}", "gateway:GetPublishedService", f"{GG}/g1/publishedservice/*"),
    ("POST", f"/api/services/publish{Q}", "gateway:PublishServices", f"{GG}/g1/publishedservice/*"),
    ("POST", "/api/services/publish", "gateway:PublishServices", f"{GG}/*/publishedservice/*"),
    ("POST", f"/apisix/admin/services{Q}", "gateway:CreatePublishedService", f"{GG}/g1/publishedservice/*"),
    ("PUT", f"/apisix/admin/services/s1{Q}", "gateway:UpdatePublishedService", f"{GG}/g1/publishedservice/s1"),
    ("PATCH", f"/apisix/admin/services/s1{Q}", "gateway:UpdatePublishedService", f"{GG}/g1/publishedservice/s1"),
    ("PUT", f"/apisix/admin/routes/r1{Q}", "gateway:UpdatePublishedService", f"{GG}/g1/publishedservice/*"),
    ("PATCH", f"/apisix/admin/routes/r1{Q}", "gateway:UpdatePublishedService", f"{GG}/g1/publishedservice/*"),
    ("DELETE", f"/apisix/admin/routes/r1{Q}", "gateway:UpdatePublishedService", f"{GG}/g1/publishedservice/*"),
    ("PUT", f"/apisix/admin/stream_routes/r1{Q}", "gateway:UpdatePublishedService", f"{GG}/g1/publishedservice/*"),
    ("DELETE", f"/apisix/admin/stream_routes/r1{Q}", "gateway:UpdatePublishedService", f"{GG}/g1/publishedservice/*"),
    ("DELETE", f"/apisix/admin/services/s1{Q}", "gateway:DeletePublishedService", f"{GG}/g1/publishedservice/s1"),
    ("GET", "/api/system_settings", "gateway:GetDeploymentSetting", "arn:api7:gateway:gatewaysetting/*"),
    ("PUT", "/api/system_settings", "gateway:UpdateDeploymentSetting", "arn:api7:gateway:gatewaysetting/*"),
    ("GET", "/api/custom_plugins", "gateway:GetCustomPlugin", "arn:api7:gateway:gatewaysetting/*"),
    ("GET", "/api/custom_plugins/p1", "gateway:GetCustomPlugin", "arn:api7:gateway:gatewaysetting/*"),
    ("POST", "/api/custom_plugins", "gateway:CreateCustomPlugin", "arn:api7:gateway:gatewaysetting/*"),
    ("PUT", "/api/custom_plugins/p1", "gateway:UpdateCustomPlugin", "arn:api7:gateway:gatewaysetting/*"),
    ("DELETE", "/api/custom_plugins/p1", "gateway:DeleteCustomPlugin", "arn:api7:gateway:gatewaysetting/*"),
    ("GET", "/api/alert/policies", "gateway:GetAlertPolicy", "arn:api7:gateway:alert/*"),
    ("GET", "/api/alert/policies/a1", "gateway:GetAlertPolicy", "arn:api7:gateway:alert/*"),
    ("GET", "/api/alert/policies/a1/histories", "gateway:GetAlertPolicy", "arn:api7:gateway:alert/*"),
    ("POST", "/api/alert/policies", "gateway:CreateAlertPolicy", "arn:api7:gateway:alert/*"),
    ("PUT", "/api/alert/policies/a1", "gateway:UpdateAlertPolicy", "arn:api7:gateway:alert/*"),
    ("PUT", "/api/alert/policies/a1/triggers", "gateway:UpdateAlertPolicy", "arn:api7:gateway:alert/*"),
    ("DELETE", "/api/alert/policies/a1", "gateway:DeleteAlertPolicy", "arn:api7:gateway:alert/*"),
    ("GET", "/api/alert/webhook_templates/w1", "gateway:GetWebhookTemplate", "arn:api7:gateway:alert/*"),
    ("POST", "/api/alert/webhook_templates", "gateway:CreateWebhookTemplate", "arn:api7:gateway:alert/*"),
    ("PUT", "/api/alert/webhook_templates/w1", "gateway:UpdateWebhookTemplate", "arn:api7:gateway:alert/*"),
    ("DELETE", "/api/alert/webhook_templates/w1", "gateway:DeleteWebhookTemplate", "arn:api7:gateway:alert/*"),
    ("GET", "/api/permission_policies/p1", "iam:GetPermissionPolicy", f"{IAM}:permissionpolicy/p1"),
    ("POST", "/api/permission_policies", "iam:CreatePermissionPolicy", f"{IAM}:permissionpolicy/*"),
    ("PUT", "/api/permission_policies/p1", "iam:UpdatePermissionPolicy", f"{IAM}:permissionpolicy/p1"),
    ("DELETE", "/api/permission_policies/p1", "iam:DeletePermissionPolicy", f"{IAM}:permissionpolicy/p1"),
    ("GET", "/api/roles/r1", "iam:GetRole", f"{IAM}:role/r1"),
    ("POST", "/api/roles", "iam:CreateRole", f"{IAM}:role/*"),  # API7's iam:CreateCustomRole
    ("PUT", "/api/roles/r1", "iam:UpdateRole", f"{IAM}:role/r1"),
    ("DELETE", "/api/roles/r1", "iam:DeleteRole", f"{IAM}:role/r1"),
    ("POST", "/api/roles/r1/attach_permission_policies", "iam:UpdateRole", f"{IAM}:role/r1"),
    ("POST", "/api/roles/r1/detach_permission_policies", "iam:UpdateRole", f"{IAM}:role/r1"),
    ("GET", "/api/users/u1", "iam:GetUser", f"{IAM}:user/u1"),
    ("POST", "/api/invites", "iam:InviteUser", f"{IAM}:user/*"),
    ("PUT", "/api/users/u1/assigned_roles", "iam:UpdateUserRole", f"{IAM}:user/u1"),
    ("PUT", "/api/users/u1/password_reset", "iam:ResetPassword", f"{IAM}:user/u1"),
    ("DELETE", "/api/users/u1", "iam:DeleteUser", f"{IAM}:user/u1"),
    ("PUT", "/api/license", "iam:UpdateLicense", ORGANIZATION),
]


@pytest.mark.parametrize(
    ("method", "uri", "action", "resource"), REFERENCE, ids=[f"{m} {u}" for m, u, _, _ in REFERENCE]
)
def test_the_reference_table(method: str, uri: str, action: str, resource: str) -> None:
    found = match(RULES, parse_target(method, uri))
    assert found is not None, f"no preset rule for {method} {uri}"
    assert (found.action, found.resource) == (action, resource)


NOT_IN_THE_PRESET = [
    ("GET", "/apisix/admin/consumers"),  # no gateway_group_id: no group, no rule
    ("PUT", "/apisix/admin/routes/r1"),
    ("DELETE", "/api/gateway_groups/g1/instances"),
    ("POST", "/api/license"),
    ("GET", "/api/nothing"),
    ("GET", "/"),
    ("TRACE", "/api/gateway_groups/g1"),
]


@pytest.mark.parametrize(("method", "uri"), NOT_IN_THE_PRESET)
def test_what_the_preset_does_not_name_is_not_matched(method: str, uri: str) -> None:
    assert match(RULES, parse_target(method, uri)) is None


def test_every_rule_is_reachable_and_names_a_catalog_action() -> None:
    """For each rule, a request made from its own path (and query) is matched by that rule, not an earlier one."""
    assert len(RULES) == len(ROWS) and NAME == "API7 / APISIX admin API"
    for rule in RULES:
        assert rule.action in ACTION_NAMES
        found = match(RULES, parse_target(_method(rule), _uri(rule)))
        assert found is not None and found.rule is rule, f"{rule.methods_text} {rule.path} is shadowed"


def test_the_reference_actions_are_all_reachable() -> None:
    """Every gateway action of API7's table is the action of some preset rule."""
    mapped = {rule.action for rule in RULES}
    reference = {action for _, _, action, _ in REFERENCE}
    assert reference <= mapped


def _method(rule: Rule) -> str:
    return rule.methods[0] if rule.methods != ("*",) else "GET"


def _uri(rule: Rule) -> str:
    path = "/".join("x1" if kind == "part" else "" if kind == "rest" else text for kind, text in rule.segments)
    query = "&".join(f"{parameter}=g1" for parameter in rule.query.values())
    return "/" + path.rstrip("/") + (f"?{query}" if query else "")
