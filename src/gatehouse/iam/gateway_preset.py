"""The built-in forward-auth preset "API7 / APISIX admin API": API7's own mapping of admin requests to actions
and resources (its "Permission policy actions and resources" reference), as :mod:`gatehouse.iam.gateway_rules`
rules. Pure data, compiled and checked at import.

When switched on (Organization → Gateway access, ``PUT /api/v1/authz/preset``, ``gatehouse authz preset
enable``), these rules apply after the custom ones. The gateway group comes from the path on
``/api/gateway_groups/{gg}/...`` and from the ``gateway_group_id`` query parameter on ``/apisix/admin/...``
(a request without it matches none of those rules, so it is denied).

Where the reference names no object, the rule names every one (a literal ``*``, which only a statement
allowing every object allows): an APISIX route or stream route is checked on every service of its group
(``…/publishedservice/*``), since the URL does not say which service it belongs to; a service-hub route or
version on every service template. Lines marked *Gatehouse* are not in API7's table: the lists
(``GET /api/gateway_groups``, ``GET /apisix/admin/routes``…), creating APISIX routes and stream routes, and
consumer credentials (checked on the consumer, as API7's MCP types name it; API7's table checks consumers
themselves on their group, and so does this preset).
"""

from __future__ import annotations

from typing import Final

from gatehouse.iam.gateway_rules import Rule, compile_rule

NAME: Final = "API7 / APISIX admin API"
SETTING: Final = "authz.preset.api7"
"""The run-time setting (``app_settings``) that switches the preset on."""

_GG: Final = "arn:api7:gateway:gatewaygroup/{gg}"
_ALL_GROUPS: Final = "arn:api7:gateway:gatewaygroup/*"
_SERVICES: Final = f"{_GG}/publishedservice/*"
_SERVICE: Final = f"{_GG}/publishedservice/{{sid}}"
_CONSUMER: Final = f"{_GG}/consumer/{{username}}"
_TEMPLATES: Final = "arn:api7:gateway:servicetemplate/*"
_TEMPLATE: Final = "arn:api7:gateway:servicetemplate/{sid}"
_SETTING: Final = "arn:api7:gateway:gatewaysetting/*"
_ALERT: Final = "arn:api7:gateway:alert/*"
_Q: Final = {"gg": "gateway_group_id"}
_GATEHOUSE: Final = "Gatehouse: not in API7's table"

Row = tuple[str, str, str, str, dict[str, str] | None, str]
"""(methods, path, action, resource, query parts, description)."""


def _crud(
    base: str,
    noun: str,
    many: str,
    one: str,
    query: dict[str, str] | None,
    *,
    item: str = "{id}",
    update: str = "PUT",
    service: str = "gateway",
    listed: str = "",
) -> list[Row]:
    """Get (the list and one), Create, Update and Delete of the objects under ``base``: the list and a create
    checked on ``many``, one object (``base/item``) on ``one``; ``listed`` describes the list's rule."""
    path = f"{base}/{item}"
    return [
        ("GET", base, f"{service}:Get{noun}", many, query, listed),
        ("GET", path, f"{service}:Get{noun}", one, query, ""),
        ("POST", base, f"{service}:Create{noun}", many, query, ""),
        (update, path, f"{service}:Update{noun}", one, query, ""),
        ("DELETE", path, f"{service}:Delete{noun}", one, query, ""),
    ]


def _each(resource: str, query: dict[str, str] | None, description: str, *rows: tuple[str, str, str]) -> list[Row]:
    """Rules (methods, path, action) that check the same resource, with the same query parts and description."""
    return [(methods, path, action, resource, query, description) for methods, path, action in rows]


ROWS: Final[tuple[Row, ...]] = (
    # gateway groups and instances
    ("GET", "/api/gateway_groups", "gateway:GetGatewayGroup", _ALL_GROUPS, None, f"{_GATEHOUSE}: the list"),
    ("GET", "/api/gateway_groups/{gg}", "gateway:GetGatewayGroup", _GG, None, ""),
    ("POST", "/api/gateway_groups", "gateway:CreateGatewayGroup", _ALL_GROUPS, None, ""),
    ("PUT", "/api/gateway_groups/{gg}", "gateway:UpdateGatewayGroup", _GG, None, ""),
    ("PUT", "/api/gateway_groups/{gg}/admin_key", "gateway:UpdateGatewayGroup", _GG, None, ""),
    ("DELETE", "/api/gateway_groups/{gg}", "gateway:DeleteGatewayGroup", _GG, None, ""),
    ("GET", "/api/gateway_groups/{gg}/instances", "gateway:GetGatewayInstance", _GG, None, ""),
    ("GET", "/api/instances/cores", "gateway:GetGatewayInstanceCore", _ALL_GROUPS, None, ""),
    ("POST", "/api/gateway_groups/{gg}/dp_client_certificates", "gateway:CreateGatewayInstance", _GG, None, ""),
    ("POST", "/api/gateway_groups/{gg}/instance_token", "gateway:CreateGatewayInstance", _GG, None, ""),
    # service registries of a group
    ("GET", "/api/gateway_groups/{gg}/service_registries", "gateway:GetServiceRegistry", _GG, None, ""),
    ("POST", "/api/gateway_groups/{gg}/service_registries", "gateway:ConnectServiceRegistry", _GG, None, ""),
    (
        "GET",
        "/api/gateway_groups/{gg}/service_registries/{rid}/**",
        "gateway:GetServiceRegistry",
        _GG,
        None,
        "a registry and what is under it",
    ),
    ("PUT", "/api/gateway_groups/{gg}/service_registries/{rid}", "gateway:UpdateServiceRegistry", _GG, None, ""),
    (
        "DELETE",
        "/api/gateway_groups/{gg}/service_registries/{rid}",
        "gateway:DisconnectServiceRegistry",
        _GG,
        None,
        "",
    ),
    # published services, by the dashboard's paths
    (
        "GET",
        "/api/gateway_groups/{gg}/services",
        "gateway:GetPublishedService",
        _SERVICES,
        None,
        f"{_GATEHOUSE}: the list",
    ),
    ("GET", "/api/gateway_groups/{gg}/services/{sid}", "gateway:GetPublishedService", _SERVICE, None, ""),
    ("GET", "/api/gateway_groups/{gg}/services/{sid}/healthcheck", "gateway:GetPublishedService", _SERVICE, None, ""),
    (
        "GET",
        "/api/gateway_groups/{gg}/services/{sid}/runtime_configuration",
        "gateway:GetPublishedService",
        _SERVICE,
        None,
        "",
    ),
    ("GET", "/api/gateway_groups/{gg}/services/{sid}/versions", "gateway:GetPublishedService", _SERVICE, None, ""),
    ("POST", "/api/services/publish", "gateway:PublishServices", _SERVICES, _Q, ""),
    (
        "POST",
        "/api/services/publish",
        "gateway:PublishServices",
        "arn:api7:gateway:gatewaygroup/*/publishedservice/*",
        None,
        "without gateway_group_id: every group",
    ),
    # published services, by APISIX's admin API (the group from gateway_group_id)
    *_crud(
        "/apisix/admin/services",
        "PublishedService",
        _SERVICES,
        _SERVICE,
        _Q,
        item="{sid}",
        update="PUT, PATCH",
        listed=f"{_GATEHOUSE}: the list",
    ),
    ("GET", "/apisix/admin/routes", "gateway:GetPublishedService", _SERVICES, _Q, f"{_GATEHOUSE}: the list"),
    ("GET", "/apisix/admin/routes/{id}", "gateway:GetPublishedService", _SERVICES, _Q, "every service of the group"),
    ("POST", "/apisix/admin/routes", "gateway:UpdatePublishedService", _SERVICES, _Q, _GATEHOUSE),
    (
        "PUT, PATCH, DELETE",
        "/apisix/admin/routes/{id}",
        "gateway:UpdatePublishedService",
        _SERVICES,
        _Q,
        "every service of the group",
    ),
    ("GET", "/apisix/admin/stream_routes", "gateway:GetPublishedService", _SERVICES, _Q, f"{_GATEHOUSE}: the list"),
    ("GET", "/apisix/admin/stream_routes/{id}", "gateway:GetPublishedService", _SERVICES, _Q, "every service"),
    ("POST", "/apisix/admin/stream_routes", "gateway:UpdatePublishedService", _SERVICES, _Q, _GATEHOUSE),
    (
        "PUT, DELETE",
        "/apisix/admin/stream_routes/{id}",
        "gateway:UpdatePublishedService",
        _SERVICES,
        _Q,
        "every service",
    ),
    # consumers (on their group, as API7's table checks them) and their credentials (on the consumer)
    *_crud("/apisix/admin/consumers", "Consumer", _GG, _GG, _Q, item="{username}", update="PUT, PATCH"),
    *_each(
        _CONSUMER,
        _Q,
        _GATEHOUSE,
        ("GET", "/apisix/admin/consumers/{username}/credentials/**", "gateway:GetConsumerCredential"),
        ("POST", "/apisix/admin/consumers/{username}/credentials", "gateway:CreateConsumerCredential"),
        ("PUT, PATCH", "/apisix/admin/consumers/{username}/credentials/{cid}", "gateway:UpdateConsumerCredential"),
        ("DELETE", "/apisix/admin/consumers/{username}/credentials/{cid}", "gateway:DeleteConsumerCredential"),
    ),
    # in a group: SSL certificates, global plugin rules, plugin metadata, secrets
    *_crud("/apisix/admin/ssls", "SSLCertificate", _GG, _GG, _Q),
    *_crud("/apisix/admin/global_rules", "GlobalPluginRule", _GG, _GG, _Q),
    ("GET", "/apisix/admin/plugin_metadata", "gateway:GetPluginMetadata", _GG, _Q, ""),
    ("GET", "/apisix/admin/plugin_metadata/{plugin}", "gateway:GetPluginMetadata", _GG, _Q, ""),
    ("PUT", "/apisix/admin/plugin_metadata/{plugin}", "gateway:UpdatePluginMetadata", _GG, _Q, ""),
    ("DELETE", "/apisix/admin/plugin_metadata/{plugin}", "gateway:DeletePluginMetadata", _GG, _Q, ""),
    ("GET", "/apisix/admin/secrets", "gateway:GetSecret", _GG, _Q, ""),
    ("GET", "/apisix/admin/secrets/{manager}/{id}", "gateway:GetSecret", _GG, _Q, ""),
    ("PUT", "/apisix/admin/secrets/{manager}/{id}", "gateway:PutSecret", _GG, _Q, ""),
    ("DELETE", "/apisix/admin/secrets/{manager}/{id}", "gateway:DeleteSecret", _GG, _Q, ""),
    # the service hub
    ("GET", "/api/services/template/{sid}", "gateway:GetServiceTemplate", _TEMPLATE, None, ""),
    ("GET", "/api/service_versions/{version}/**", "gateway:GetServiceTemplate", _TEMPLATES, None, "every service"),
    ("GET", "/api/routes/template/{rid}", "gateway:GetServiceTemplate", _TEMPLATES, None, "every service"),
    ("GET", "/api/stream_routes/template/{id}", "gateway:GetServiceTemplate", _TEMPLATES, None, "every service"),
    ("POST", "/api/import/services/template", "gateway:CreateServiceTemplate", _TEMPLATES, None, ""),
    ("PUT, PATCH", "/api/services/template/{sid}", "gateway:UpdateServiceTemplate", _TEMPLATE, None, ""),
    ("POST", "/api/routes/template", "gateway:UpdateServiceTemplate", _TEMPLATES, None, "every service"),
    (
        "PUT, PATCH, DELETE",
        "/api/routes/template/{rid}",
        "gateway:UpdateServiceTemplate",
        _TEMPLATES,
        None,
        "every service",
    ),
    ("POST", "/api/stream_routes/template", "gateway:UpdateServiceTemplate", _TEMPLATES, None, "every service"),
    (
        "PUT, DELETE",
        "/api/stream_routes/template/{id}",
        "gateway:UpdateServiceTemplate",
        _TEMPLATES,
        None,
        "every service",
    ),
    ("DELETE", "/api/services/template/{sid}", "gateway:DeleteServiceTemplate", _TEMPLATE, None, ""),
    # organization-wide: deployment settings, custom plugins, alerts
    ("GET", "/api/system_settings", "gateway:GetDeploymentSetting", _SETTING, None, ""),
    ("PUT", "/api/system_settings", "gateway:UpdateDeploymentSetting", _SETTING, None, ""),
    ("GET", "/api/custom_plugins/**", "gateway:GetCustomPlugin", _SETTING, None, ""),
    ("POST", "/api/custom_plugins", "gateway:CreateCustomPlugin", _SETTING, None, ""),
    ("PUT", "/api/custom_plugins/{id}", "gateway:UpdateCustomPlugin", _SETTING, None, ""),
    ("DELETE", "/api/custom_plugins/{id}", "gateway:DeleteCustomPlugin", _SETTING, None, ""),
    ("GET", "/api/alert/policies/**", "gateway:GetAlertPolicy", _ALERT, None, "with their histories"),
    ("POST", "/api/alert/policies", "gateway:CreateAlertPolicy", _ALERT, None, ""),
    ("PUT", "/api/alert/policies/{id}", "gateway:UpdateAlertPolicy", _ALERT, None, ""),
    ("PUT", "/api/alert/policies/{id}/triggers", "gateway:UpdateAlertPolicy", _ALERT, None, ""),
    ("DELETE", "/api/alert/policies/{id}", "gateway:DeleteAlertPolicy", _ALERT, None, ""),
    ("GET", "/api/alert/webhook_templates/**", "gateway:GetWebhookTemplate", _ALERT, None, ""),
    ("POST", "/api/alert/webhook_templates", "gateway:CreateWebhookTemplate", _ALERT, None, ""),
    ("PUT", "/api/alert/webhook_templates/{id}", "gateway:UpdateWebhookTemplate", _ALERT, None, ""),
    ("DELETE", "/api/alert/webhook_templates/{id}", "gateway:DeleteWebhookTemplate", _ALERT, None, ""),
    # API7's IAM (its names are API7's: arn:api7:iam:…, iam:*CustomRole)
    *_crud(
        "/api/permission_policies",
        "PermissionPolicy",
        "arn:api7:iam:permissionpolicy/*",
        "arn:api7:iam:permissionpolicy/{id}",
        None,
        service="iam",
    ),
    ("GET", "/api/roles", "iam:GetRole", "arn:api7:iam:role/*", None, ""),
    ("GET", "/api/roles/{id}/**", "iam:GetRole", "arn:api7:iam:role/{id}", None, "a role and its policies"),
    ("POST", "/api/roles", "iam:CreateCustomRole", "arn:api7:iam:role/*", None, "API7: iam:CreateCustomRole"),
    ("PUT", "/api/roles/{id}", "iam:UpdateCustomRole", "arn:api7:iam:role/{id}", None, "API7: iam:UpdateCustomRole"),
    ("DELETE", "/api/roles/{id}", "iam:DeleteCustomRole", "arn:api7:iam:role/{id}", None, "API7: iam:DeleteCustomRole"),
    (
        "POST",
        "/api/roles/{id}/attach_permission_policies",
        "iam:UpdateCustomRole",
        "arn:api7:iam:role/{id}",
        None,
        "API7: iam:UpdateCustomRole",
    ),
    (
        "POST",
        "/api/roles/{id}/detach_permission_policies",
        "iam:UpdateCustomRole",
        "arn:api7:iam:role/{id}",
        None,
        "API7: iam:UpdateCustomRole",
    ),
    ("GET", "/api/users", "iam:GetUser", "arn:api7:iam:user/*", None, f"{_GATEHOUSE}: the list"),
    ("GET", "/api/users/{id}", "iam:GetUser", "arn:api7:iam:user/{id}", None, ""),
    ("POST", "/api/invites", "iam:InviteUser", "arn:api7:iam:user/*", None, ""),
    ("PUT", "/api/users/{id}/assigned_roles", "iam:UpdateUserRole", "arn:api7:iam:user/{id}", None, ""),
    ("PUT", "/api/users/{id}/password_reset", "iam:ResetPassword", "arn:api7:iam:user/{id}", None, ""),
    ("DELETE", "/api/users/{id}", "iam:DeleteUser", "arn:api7:iam:user/{id}", None, ""),
    ("PUT", "/api/license", "iam:UpdateLicense", "arn:api7:iam:organization/*", None, ""),
)
"""The preset, in order (see the module)."""

RULES: Final[tuple[Rule, ...]] = tuple(
    compile_rule(methods, path, action, resource, query, None, description)
    for methods, path, action, resource, query, description in ROWS
)
"""The preset's rules, compiled (an invalid row fails at import, and in the tests)."""
