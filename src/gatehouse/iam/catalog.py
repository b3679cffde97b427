"""The catalog of RBAC actions and resource names, and the built-in permission policy documents.

Every action a permission policy can name is listed here, with a one-line description and the
resource name it is checked against. The evaluator (:mod:`gatehouse.iam.policy`) refuses policies
whose action patterns match nothing in this catalog, and denies requests for actions not in it: an
action that a route checks must be added here first.

Resource names follow API7's ARN shape, ``arn:gatehouse:iam:<kind>/<id>`` (:func:`resource_name`;
kinds: ``user``, ``role``, ``permissionpolicy``, ``token``, ``group``, ``organization``):

- an action on one existing object is checked against that object's name
  (``iam:GetUser`` on ``arn:gatehouse:iam:user/<id>``);
- an action that creates an object, whose id is not known yet, is checked against the kind's
  collection name, ``<kind>/*`` (``iam:InviteUser`` on ``arn:gatehouse:iam:user/*``, as in API7);
- organization-wide settings (SCIM provisioning, login options, the audit log) are checked against
  ``arn:gatehouse:iam:organization/*`` (:data:`ORGANIZATION`).

Beyond API7: ``group`` resources (SCIM groups, for group → role bindings) and the token actions
``iam:GetAnyToken`` / ``iam:DeleteAnyToken``, which a caller checks instead of ``iam:GetToken`` /
``iam:DeleteToken`` when the token belongs to someone else.

All names are case-sensitive, as in API7.

**API7's gateway.** The catalog also holds API7's ``gateway:`` actions on API7's gateway resources
(``arn:api7:gateway:gatewaygroup/<id>``, ``…/gatewaygroup/<id>/publishedservice/<id>``,
``…/gatewaygroup/<id>/consumer/<id>``, ``arn:api7:gateway:servicetemplate/<id>``,
``arn:api7:gateway:gatewaysetting/*``, ``arn:api7:gateway:alert/*``), API7's ``iam:UpdateLicense``, and the
actions of Gatehouse's decision API and forward-auth rules (``iam:CheckAccess``, ``iam:GetAuthzRule``,
``iam:UpdateAuthzRule``): see :mod:`gatehouse.iam.catalog_gateway`. So that a permission policy exported
from API7 imports unchanged and decides the same way:

- ``arn:api7:iam:<kind>/<id>`` is another spelling of ``arn:gatehouse:iam:<kind>/<id>``: a request naming
  it is decided as the Gatehouse name (:func:`canonical_resource`), and a policy's resource pattern spelled
  either way matches both (:class:`~gatehouse.iam.policy_model.Statement`);
- API7's ``iam:CreateCustomRole`` / ``UpdateCustomRole`` / ``DeleteCustomRole`` are aliases of
  ``iam:CreateRole`` / ``UpdateRole`` / ``DeleteRole`` (:data:`ACTION_ALIASES`, :func:`canonical_action`): an
  action pattern matching an alias matches the action it stands for.

The starter roles keep to IAM actions: gateway permissions are granted by policies written for them.

The built-in documents are deeply immutable (mappings and tuples); ``parse_policy(doc).as_dict()``
gives a fresh, validated JSON-ready copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, get_args

from gatehouse.iam import catalog_gateway as gateway
from gatehouse.iam.catalog_gateway import ACTION_ALIASES as ACTION_ALIASES  # published here too
from gatehouse.iam.catalog_gateway import API7_IAM_PREFIX, GATEWAY_KINDS, ActionRow, GatewayKind, section

ResourceKind = Literal["user", "role", "permissionpolicy", "token", "group", "organization"]
Kind = ResourceKind | GatewayKind
"""Every kind of resource an action is checked against: Gatehouse's IAM kinds and API7's gateway kinds."""

RESOURCE_KINDS: Final[tuple[ResourceKind, ...]] = get_args(ResourceKind)
RESOURCE_PREFIX: Final = "arn:gatehouse:iam:"
ORGANIZATION: Final = f"{RESOURCE_PREFIX}organization/*"
ANY_ID: Final = "*"
"""The id of a kind's collection name (``arn:gatehouse:iam:role/*``), checked by create actions."""
KINDS: Final[tuple[Kind, ...]] = (*RESOURCE_KINDS, *GATEWAY_KINDS)
NAME_PREFIXES: Final[tuple[str, ...]] = (
    *(f"{RESOURCE_PREFIX}{kind}/" for kind in RESOURCE_KINDS),
    *(f"{API7_IAM_PREFIX}{kind}/" for kind in RESOURCE_KINDS),
    *(f"{gateway.GATEWAY_PREFIX}{kind}/" for kind in ("gatewaygroup", "servicetemplate", "gatewaysetting", "alert")),
)
"""How every resource name starts (published services and consumers are under ``gatewaygroup/``)."""
LABEL_KEYS: Final = gateway.LABEL_KEYS
"""The label condition keys a resource of each kind is checked with, its own first."""
CONDITION_KEYS: Final = gateway.CONDITION_KEYS


def resource_name(kind: Kind, id: str) -> str:
    """The resource name of object ``id`` of ``kind`` (``ANY_ID`` for the kind's collection).

    The organization, ``gatewaysetting`` and ``alert`` have a single name each, whatever ``id`` is given. A
    published service or a consumer is ``<group id>/<id>`` (``ANY_ID`` alone: any of any group).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown resource kind {kind!r}")
    if kind == "organization":
        return ORGANIZATION
    if kind in ("gatewaysetting", "alert"):
        return gateway.RESOURCES[kind]  # type: ignore[index]
    if not id:
        raise ValueError("a resource id must not be empty")
    if kind in ("publishedservice", "consumer"):
        group, _, own = (f"{ANY_ID}/{ANY_ID}" if id == ANY_ID else id).partition("/")
        if not group or not own or "/" in own:
            raise ValueError(f"a {kind} id is '<gateway group id>/<id>', not {id!r}")
        return f"{gateway.GATEWAY_GROUP}{group}/{kind}/{own}"
    if kind in GATEWAY_KINDS:
        return f"{gateway.GATEWAY_PREFIX}{kind}/{id}"
    return f"{RESOURCE_PREFIX}{kind}/{id}"


def canonical_action(name: str) -> str:
    """The catalog's name of an action: an alias (:data:`ACTION_ALIASES`) becomes the action it stands for."""
    return ACTION_ALIASES.get(name, name)


def canonical_resource(name: str) -> str:
    """The Gatehouse spelling of a resource name: ``arn:api7:iam:…`` becomes ``arn:gatehouse:iam:…``."""
    if name.startswith(API7_IAM_PREFIX):
        return RESOURCE_PREFIX + name[len(API7_IAM_PREFIX) :]
    return name


@dataclass(frozen=True, slots=True)
class Action:
    """One action of the catalog."""

    name: str
    """The namespaced, case-sensitive verb, e.g. ``iam:GetUser``."""
    group: str
    """The catalog group (a key of :data:`GROUPS`)."""
    kind: Kind
    """The kind of resource it is checked against."""
    resource: str
    """The resource names it is checked against, for display: ``arn:gatehouse:iam:user/{id}`` (``{id}``
    stands for an object's id; it is not pattern syntax, where ``<...>`` would be a regex)."""
    description: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form published by the API and shown in the policy editor."""
        return {
            "name": self.name,
            "group": self.group,
            "kind": self.kind,
            "resource": self.resource,
            "description": self.description,
        }


GROUPS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "users": "Users",
        "roles": "Roles",
        "permission_policies": "Permission policies",
        "scim": "SCIM provisioning",
        "group_bindings": "Group → role bindings",
        "tokens": "API tokens",
        "audit": "Audit log",
        "access": "Access requests and reviews",
        "login_options": "Login options",
        "config": "Configuration as code",
        **gateway.IAM_GROUPS,
        **gateway.GATEWAY_GROUPS,
    }
)
"""Catalog groups, in display order, with their titles."""


def _one(kind: Kind) -> str:
    if kind in GATEWAY_KINDS:
        return gateway.RESOURCES[kind]  # type: ignore[index]
    return ORGANIZATION if kind == "organization" else f"{RESOURCE_PREFIX}{kind}/{{id}}"


def _all(kind: Kind) -> str:
    if kind in GATEWAY_KINDS:
        return gateway.COLLECTIONS[kind]  # type: ignore[index]
    return resource_name(kind, ANY_ID)


def _action(row: ActionRow) -> Action:
    """The action of a catalog row: a create action is checked against its kind's collection."""
    name, group, kind, description, create = row
    checked = _all(kind) if create else _one(kind)  # type: ignore[arg-type]
    return Action(name, group, kind, checked, description)  # type: ignore[arg-type]


_IAM_ACTIONS: Final[tuple[ActionRow, ...]] = (
    *section(
        "users",
        "user",
        {
            "iam:GetUser": "View a user: profile, roles, boundary and status.",
            "iam:InviteUser": "Create a local user with a one-time password.",
            "iam:UpdateUser": "Edit a local user's name and email.",
            "iam:UpdateUserRole": "Assign or remove a user's roles.",
            "iam:UpdateUserBoundary": "Set or clear a user's permission boundary.",
            "iam:DeleteUser": "Delete a local user and their tokens.",
            "iam:ResetPassword": "Set a new one-time password for a local user.",
            "iam:UpdateUserStatus": "Deactivate or reactivate a user.",
            "iam:HandOverUser": "Hand a local user over to the identity provider (SCIM).",
        },
        create=("iam:InviteUser",),
    ),
    *section(
        "roles",
        "role",
        {
            "iam:GetRole": "View a role and its attached policies.",
            "iam:CreateRole": "Create a custom role.",
            "iam:UpdateRole": "Edit a custom role: name, description, labels, policies.",
            "iam:DeleteRole": "Delete a custom role that no user holds.",
        },
        create=("iam:CreateRole",),
    ),
    *section(
        "permission_policies",
        "permissionpolicy",
        {
            "iam:GetPermissionPolicy": "View a permission policy.",
            "iam:CreatePermissionPolicy": "Create a permission policy.",
            "iam:UpdatePermissionPolicy": "Edit a permission policy's document.",
            "iam:DeletePermissionPolicy": "Delete a permission policy that no role or boundary uses.",
        },
        create=("iam:CreatePermissionPolicy",),
    ),
    *section(
        "scim",
        "organization",
        {
            "iam:GetSCIMProvisioning": "View SCIM provisioning settings and token metadata.",
            "iam:UpdateSCIMProvisioning": "Change SCIM settings; create or revoke SCIM tokens.",
        },
    ),
    *section(
        "group_bindings",
        "group",
        {
            "iam:GetGroupBinding": "View the roles bound to a SCIM group.",
            "iam:UpdateGroupBinding": "Bind roles to or unbind them from a SCIM group.",
        },
    ),
    *section(
        "tokens",
        "token",
        {
            "iam:GetToken": "View one's own API tokens (never their secret).",
            "iam:CreateToken": "Create an API token for oneself.",
            "iam:DeleteToken": "Revoke one's own API token.",
            "iam:GetAnyToken": "View other users' API tokens (never their secret).",
            "iam:DeleteAnyToken": "Revoke another user's API token.",
        },
        create=("iam:CreateToken",),
    ),
    *section(
        "audit",
        "organization",
        {
            "iam:GetAudit": "View the audit log.",
            "iam:ExportAudits": "Export the audit log as CSV or JSON.",
            "iam:GetAuditSink": "View audit streaming sinks and their delivery lag.",
            "iam:UpdateAuditSink": "Create, change or delete audit streaming sinks.",
        },
    ),
    *section(
        "access",
        "role",
        {
            "iam:GetAccessRequest": "View the access requests for a role.",
            "iam:ApproveAccessRequest": "Approve or deny requests for a requestable role.",
        },
    ),
    *section(
        "access",
        "organization",
        {
            "iam:GetAccessReview": "Run the access review report and who-may questions.",
            "iam:CreateAccessReview": "Record an access review of a scope.",
        },
    ),
    *section(
        "login_options",
        "organization",
        {
            "iam:GetLoginOption": "View login options (secrets masked).",
            "iam:UpdateLoginOption": "Create, change or delete login options.",
        },
    ),
    # configuration as code (each change an apply makes is also checked as the dashboard checks it)
    *section(
        "config",
        "organization",
        {
            "iam:ExportConfig": "Export the access configuration; plan a file (no secrets).",
            "iam:ApplyConfig": "Apply a configuration file (with each change's own action).",
        },
    ),
)
"""Gatehouse's own IAM actions, grouped and in display order."""

ACTIONS: Final[tuple[Action, ...]] = tuple(
    map(_action, (*_IAM_ACTIONS, *gateway.IAM_ACTIONS, *gateway.GATEWAY_ACTIONS))
)
"""Every action, grouped and in display order: Gatehouse's own, then API7's license, the decision API and
forward-auth rules, then API7's gateway actions."""

ACTION_NAMES: Final[frozenset[str]] = frozenset(action.name for action in ACTIONS)
ACTIONS_BY_NAME: Final[Mapping[str, Action]] = MappingProxyType({action.name: action for action in ACTIONS})


def catalog_json() -> list[dict[str, str]]:
    """The catalog as published by the API and the policy editor: one object per action."""
    return [action.as_dict() for action in ACTIONS]


# Organization Admin: every action except changing how people reach the organization — login
# options and SCIM provisioning (whose tokens can create and deactivate every user) — which stays
# with Super Admin. The actions are listed one by one (rather than `iam:*` plus a deny statement) so
# that another role can still grant the two and the role can be edited by removing lines; actions
# added to the catalog later are not granted by it automatically.
# Where audit records leave the box is the auditors' and platform team's business: the streaming sinks too.
ORGANIZATION_ADMIN_EXCLUDED: Final[frozenset[str]] = frozenset(
    {"iam:UpdateLoginOption", "iam:UpdateSCIMProvisioning", "iam:UpdateAuditSink"}
)

# Viewer: read everything except other users' tokens.
VIEWER_EXCLUDED: Final[frozenset[str]] = frozenset({"iam:GetAnyToken"})


def _document(effect: str, actions: tuple[str, ...], resources: tuple[str, ...]) -> Mapping[str, object]:
    statement = MappingProxyType({"effect": effect, "actions": actions, "resources": resources})
    return MappingProxyType({"statement": (statement,)})


SUPER_ADMIN_POLICY: Final[Mapping[str, object]] = _document("allow", ("*",), ("*",))
"""The built-in Super Admin policy: every action on every resource."""

ORGANIZATION_ADMIN_POLICY: Final[Mapping[str, object]] = _document(
    "allow",
    tuple(
        action.name
        for action in ACTIONS
        if action.name.startswith("iam:") and action.name not in ORGANIZATION_ADMIN_EXCLUDED
    ),
    ("*",),
)
"""The starter "Organization Admin" policy: every IAM action (see :data:`ORGANIZATION_ADMIN_EXCLUDED`), no
gateway action."""

VIEWER_OWN_TOKENS: Final[tuple[str, ...]] = ("iam:CreateToken", "iam:DeleteToken")
"""A Viewer may keep personal API tokens for read-only automation: a token carries its user's
permissions, so a Viewer's token reads and changes nothing else."""

VIEWER_POLICY: Final[Mapping[str, object]] = _document(
    "allow",
    (
        *(
            action.name
            for action in ACTIONS
            if action.name.startswith("iam:Get") and action.name not in VIEWER_EXCLUDED
        ),
        *VIEWER_OWN_TOKENS,
    ),
    ("*",),
)
"""The starter "Viewer" policy: every ``iam:Get*`` action except ``iam:GetAnyToken``, plus creating and
revoking one's own API tokens."""

STARTER_ROLES: Final[Mapping[str, Mapping[str, object]]] = MappingProxyType(
    {"Organization Admin": ORGANIZATION_ADMIN_POLICY, "Viewer": VIEWER_POLICY}
)
"""The editable roles created on first run, each with its one starter policy document."""
