"""API7's gateway side of the catalog: the ``gateway:`` actions, their resource names, the label condition
keys, and API7's spellings Gatehouse accepts (pure data; :mod:`gatehouse.iam.catalog` makes actions of it).

Names are API7's own (its "Permission policy actions and resources" reference), so that a permission policy
exported from API7 imports unchanged and decides the same way:

- resources are spelled ``arn:api7:gateway:<kind>/...``: a gateway group ``gatewaygroup/<id>``, what is
  published to it ``gatewaygroup/<id>/publishedservice/<id>``, its consumers
  ``gatewaygroup/<id>/consumer/<id>``, a service of the service hub ``servicetemplate/<id>``, and the two
  organization-wide names ``gatewaysetting/*`` (deployment settings, custom plugins) and ``alert/*``
  (alert policies, webhook templates). Instances, SSL certificates, global plugin rules, plugin metadata,
  secrets and service registries live in a group and are checked on the group, as in API7;
- ``arn:api7:iam:<kind>/<id>`` is another spelling of Gatehouse's ``arn:gatehouse:iam:<kind>/<id>``
  (:data:`API7_IAM_PREFIX`);
- API7's ``iam:CreateCustomRole`` / ``UpdateCustomRole`` / ``DeleteCustomRole`` are aliases of Gatehouse's
  ``iam:CreateRole`` / ``UpdateRole`` / ``DeleteRole`` (:data:`ACTION_ALIASES`).

No imports from the rest of Gatehouse: the catalog imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

GatewayKind = Literal["gatewaygroup", "publishedservice", "consumer", "servicetemplate", "gatewaysetting", "alert"]

GATEWAY_KINDS: Final[tuple[GatewayKind, ...]] = get_args(GatewayKind)
GATEWAY_PREFIX: Final = "arn:api7:gateway:"
API7_IAM_PREFIX: Final = "arn:api7:iam:"
"""API7's spelling of IAM resource names: ``arn:api7:iam:role/<id>`` names what Gatehouse calls
``arn:gatehouse:iam:role/<id>``."""

GATEWAY_GROUP: Final = f"{GATEWAY_PREFIX}gatewaygroup/"
SERVICE_TEMPLATE: Final = f"{GATEWAY_PREFIX}servicetemplate/"
GATEWAY_SETTING: Final = f"{GATEWAY_PREFIX}gatewaysetting/*"
ALERT: Final = f"{GATEWAY_PREFIX}alert/*"
PUBLISHED_SERVICE: Final = "publishedservice"
CONSUMER: Final = "consumer"

RESOURCES: Final[Mapping[GatewayKind, str]] = MappingProxyType(
    {
        "gatewaygroup": f"{GATEWAY_GROUP}{{id}}",
        "publishedservice": f"{GATEWAY_GROUP}{{id}}/{PUBLISHED_SERVICE}/{{id}}",
        "consumer": f"{GATEWAY_GROUP}{{id}}/{CONSUMER}/{{id}}",
        "servicetemplate": f"{SERVICE_TEMPLATE}{{id}}",
        "gatewaysetting": GATEWAY_SETTING,
        "alert": ALERT,
    }
)
"""The resource names of each kind, for display (``{id}`` stands for an id, as in the IAM catalog)."""

COLLECTIONS: Final[Mapping[GatewayKind, str]] = MappingProxyType(
    {
        "gatewaygroup": f"{GATEWAY_GROUP}*",
        "publishedservice": f"{GATEWAY_GROUP}{{id}}/{PUBLISHED_SERVICE}/*",
        "consumer": f"{GATEWAY_GROUP}{{id}}/{CONSUMER}/*",
        "servicetemplate": f"{SERVICE_TEMPLATE}*",
        "gatewaysetting": GATEWAY_SETTING,
        "alert": ALERT,
    }
)
"""What a create action of each kind is checked against (the object has no id yet)."""

GATEWAY_GROUPS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "gateway_groups": "Gateway groups",
        "gateway_instances": "Gateway instances",
        "published_services": "Published services",
        "service_templates": "Service hub (service templates)",
        "consumers": "Consumers",
        "certificates": "SSL certificates",
        "global_rules": "Global plugin rules",
        "plugin_metadata": "Plugin metadata",
        "secrets": "Secrets",
        "service_registries": "Service registries",
        "deployment": "Deployment settings and custom plugins",
        "alerts": "Alert policies and webhook templates",
    }
)
"""The catalog groups of the gateway actions, in display order, with their titles."""

IAM_GROUPS: Final[Mapping[str, str]] = MappingProxyType(
    {"license": "License", "gateway_access": "Gateway access (decisions and forward authentication)"}
)
"""Groups of the IAM actions that come with the gateway: API7's license, and Gatehouse's decision API and
forward-auth rule table."""

ActionRow = tuple[str, str, str, str, bool]
"""(name, group, kind, description, create): ``create`` actions are checked against the kind's collection."""


def section(
    group: str, kind: str, actions: Mapping[str, str], *, create: tuple[str, ...] = ()
) -> tuple[ActionRow, ...]:
    """The actions of one catalog group on one kind of resource (``name: description``, in order); those named in
    ``create`` are checked against the kind's collection."""
    return tuple((name, group, kind, description, name in create) for name, description in actions.items())


def _crud(noun: str, group: str, kind: str, many: str, one: str) -> tuple[ActionRow, ...]:
    """Get, Create, Update and Delete of one kind of object: ``many`` and ``one`` name them in descriptions."""
    return (
        (f"gateway:Get{noun}", group, kind, f"View {many}.", False),
        (f"gateway:Create{noun}", group, kind, f"Create {one}.", False),
        (f"gateway:Update{noun}", group, kind, f"Edit {one}.", False),
        (f"gateway:Delete{noun}", group, kind, f"Delete {one}.", False),
    )


GATEWAY_ACTIONS: Final[tuple[ActionRow, ...]] = (
    *section(
        "gateway_groups",
        "gatewaygroup",
        {
            "gateway:GetGatewayGroup": "View a gateway group and its settings.",
            "gateway:CreateGatewayGroup": "Create a gateway group.",
            "gateway:UpdateGatewayGroup": "Edit a gateway group or regenerate its admin key; label it.",
            "gateway:DeleteGatewayGroup": "Delete a gateway group.",
        },
        create=("gateway:CreateGatewayGroup",),
    ),
    *section(
        "gateway_instances",
        "gatewaygroup",
        {
            "gateway:GetGatewayInstance": "View the gateway instances of a group.",
            "gateway:GetGatewayInstanceCore": "View the CPU cores of every gateway instance.",
            "gateway:CreateGatewayInstance": "Deploy an instance: issue its token or client certificate.",
        },
        create=("gateway:GetGatewayInstanceCore",),
    ),
    *section(
        "published_services",
        "publishedservice",
        {
            "gateway:GetPublishedService": "View a published service, its routes, stream routes and upstreams.",
            "gateway:PublishServices": "Publish services of the service hub to a gateway group.",
            "gateway:CreatePublishedService": "Add a service to a gateway group directly.",
            "gateway:UpdatePublishedService": "Edit a published service, its routes and stream routes; label it.",
            "gateway:DeletePublishedService": "Remove a published service from its gateway group.",
        },
        create=("gateway:PublishServices",),
    ),
    *section(
        "service_templates",
        "servicetemplate",
        {
            "gateway:GetServiceTemplate": "View a service of the hub.",
            "gateway:CreateServiceTemplate": "Create or import a service into the hub.",
            "gateway:UpdateServiceTemplate": "Edit a service of the hub, its routes and versions; label it.",
            "gateway:DeleteServiceTemplate": "Delete a service of the hub.",
        },
        create=("gateway:CreateServiceTemplate",),
    ),
    *section(
        "consumers",
        "consumer",
        {
            "gateway:GetConsumer": "View a consumer of a gateway group.",
            "gateway:CreateConsumer": "Create a consumer in a gateway group.",
            "gateway:UpdateConsumer": "Edit a consumer; label it.",
            "gateway:DeleteConsumer": "Delete a consumer.",
            "gateway:GetConsumerCredential": "View a consumer's credentials.",
            "gateway:CreateConsumerCredential": "Add a credential to a consumer.",
            "gateway:UpdateConsumerCredential": "Edit a consumer's credential.",
            "gateway:DeleteConsumerCredential": "Delete a consumer's credential.",
        },
        create=("gateway:CreateConsumer",),
    ),
    # in a gateway group
    *_crud("SSLCertificate", "certificates", "gatewaygroup", "a group's SSL certificates", "an SSL certificate"),
    *_crud("GlobalPluginRule", "global_rules", "gatewaygroup", "a group's global rules", "a global plugin rule"),
    *section(
        "plugin_metadata",
        "gatewaygroup",
        {
            "gateway:GetPluginMetadata": "View plugin metadata in a group.",
            "gateway:UpdatePluginMetadata": "Set plugin metadata in a group.",
            "gateway:DeletePluginMetadata": "Delete plugin metadata in a group.",
        },
    ),
    *section(
        "secrets",
        "gatewaygroup",
        {
            "gateway:GetSecret": "View the secret providers of a gateway group.",
            "gateway:PutSecret": "Create or edit a secret provider of a group.",
            "gateway:DeleteSecret": "Delete a secret provider of a gateway group.",
        },
    ),
    *section(
        "service_registries",
        "gatewaygroup",
        {
            "gateway:GetServiceRegistry": "View the service registries a gateway group uses.",
            "gateway:ConnectServiceRegistry": "Connect a service registry to a gateway group.",
            "gateway:UpdateServiceRegistry": "Edit a gateway group's service registry connection.",
            "gateway:DisconnectServiceRegistry": "Disconnect a service registry from a gateway group.",
        },
    ),
    # organization-wide
    *section(
        "deployment",
        "gatewaysetting",
        {
            "gateway:GetDeploymentSetting": "View the deployment settings.",
            "gateway:UpdateDeploymentSetting": "Change the deployment settings.",
        },
    ),
    *_crud("CustomPlugin", "deployment", "gatewaysetting", "custom plugins", "a custom plugin"),
    *_crud("AlertPolicy", "alerts", "alert", "alert policies and their histories", "an alert policy"),
    *_crud("WebhookTemplate", "alerts", "alert", "webhook templates", "a webhook template"),
)
"""Every ``gateway:`` action, grouped and in display order (see :data:`GATEWAY_GROUPS`)."""

IAM_ACTIONS: Final[tuple[ActionRow, ...]] = (
    *section("license", "organization", {"iam:UpdateLicense": "Upload or replace the gateway's license."}),
    *section(
        "gateway_access",
        "organization",
        {
            "iam:CheckAccess": "Ask the decision API what a user may do.",
            "iam:GetAuthzRule": "View the forward-auth rule table and its preset.",
            "iam:UpdateAuthzRule": "Add, edit, order or delete forward-auth rules; switch the preset.",
        },
    ),
)
"""The IAM actions that come with the gateway (see :data:`IAM_GROUPS`)."""

ACTION_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "iam:CreateCustomRole": "iam:CreateRole",
        "iam:UpdateCustomRole": "iam:UpdateRole",
        "iam:DeleteCustomRole": "iam:DeleteRole",
    }
)
"""API7's names of actions Gatehouse names otherwise: accepted wherever an action is named (policy
statements, decision checks, forward-auth rules) and decided as the action they stand for."""

LABEL_KEYS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "user": ("user_label",),
        "role": ("role_label",),
        "permissionpolicy": ("permission_policy_label",),
        "token": ("token_label",),
        "group": (),
        "organization": (),
        "gatewaygroup": (
            "gateway_group_label",
            "secret_provider_label",
            "certificate_label",
            "ca_certificate_label",
            "sni_label",
        ),
        "publishedservice": ("service_label", "gateway_group_label"),
        "consumer": ("consumer_label", "gateway_group_label"),
        "servicetemplate": ("service_label",),
        "gatewaysetting": (),
        "alert": ("alert_policy_label", "contact_point_label"),
    }
)
"""The label condition keys a resource of each kind is checked with, its own first: a published service
carries its ``service_label`` and its group's ``gateway_group_label``; a consumer its ``consumer_label`` and
its group's; secrets and certificates (checked on their group) add ``secret_provider_label``,
``certificate_label``, ``ca_certificate_label`` and ``sni_label`` when a caller gives them."""

CONDITION_KEYS: Final[tuple[str, ...]] = tuple(dict.fromkeys(key for keys in LABEL_KEYS.values() for key in keys))
"""Every label condition key of the catalog (a policy may name others ending in ``_label``, as API7's may)."""
