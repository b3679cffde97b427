"""Request and response bodies of the admin API's RBAC part: roles, permission policies, group bindings,
the action catalog and the policy simulator (API7 parity: "Roles and Permission Policies")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from gatehouse.api.schemas import Body, FromRecord, Id, Paging, Reference, SearchPage, of_record
from gatehouse.iam.policies import PolicyUsage
from gatehouse.iam.rbac_forms import PolicyInput, RoleInput, policy_input, role_input
from gatehouse.iam.roles import RoleView
from gatehouse.iam.simulator import Simulation
from gatehouse.store.policies import StoredPolicy

Labels = dict[str, str]
LABELS_DESCRIPTION = 'Labels for `role_label` / `permission_policy_label` conditions, e.g. `{"team": "sre"}`.'


# ------------------------------------------------------------------------------------------ roles


class RoleOut(FromRecord):
    """A role."""

    id: str
    name: str
    description: str
    labels: Labels
    built_in: bool = Field(description="Built-in roles (Super Admin) cannot be edited or deleted.")
    created: datetime
    updated: datetime
    version: int


class RoleDetail(RoleOut):
    """A role with its attached permission policies."""

    policies: list[Reference]

    @classmethod
    def of_view(cls, view: RoleView) -> RoleDetail:
        base = RoleOut.of(view.role).model_dump()
        return cls(**base, policies=[Reference(id=p.id, name=p.name) for p in view.policies])


class RolePage(BaseModel):
    """A page of roles, by name."""

    items: list[RoleOut]
    paging: Paging


class NamedFields(Body):
    """What a custom role and a custom permission policy both have: a name, a description, labels."""

    name: str = Field(min_length=1, max_length=100, description="Unique, case-insensitively.")
    description: str = Field(default="", max_length=1000)
    labels: Labels = Field(default_factory=dict, max_length=32, description=LABELS_DESCRIPTION)


class RoleFields(NamedFields):
    """A custom role."""

    def checked(self) -> RoleInput:
        """The fields checked and tidied (400 otherwise)."""
        return role_input(self.name, self.description, self.labels)


class NewRole(RoleFields):
    """Create a custom role (iam:CreateRole), optionally with policies attached."""

    policy_ids: list[Id] = Field(default_factory=list, max_length=100)


class RoleUpdate(RoleFields):
    """Replace a custom role's fields (iam:UpdateRole); `policy_ids`, when given, become its policies exactly."""

    policy_ids: list[Id] | None = Field(default=None, max_length=100)


class GroupsOfRole(BaseModel):
    """The SCIM groups a role is bound to."""

    role_id: str
    groups: list[Reference]


# ------------------------------------------------------------------------------------------ policies


class PolicyOut(BaseModel):
    """A permission policy."""

    id: str
    name: str
    description: str
    labels: Labels
    built_in: bool = Field(description="Built-in policies cannot be edited or deleted.")
    document: dict[str, Any] = Field(description="The policy document: `{statement: [{effect, actions, ...}]}`.")
    created: datetime
    updated: datetime
    version: int

    @classmethod
    def of(cls, policy: StoredPolicy) -> PolicyOut:
        document = orjson.loads(policy.document)
        document = document if isinstance(document, dict) else {}
        return of_record(cls, policy, labels=dict(policy.labels), document=document)


class PolicyUse(BaseModel):
    """Where a policy is used (a used policy cannot be deleted)."""

    roles: list[Reference]
    boundary_users: int = Field(description="How many users it bounds.")
    boundary_user_names: list[str] = Field(description="The first few of them.")

    @classmethod
    def of(cls, usage: PolicyUsage) -> PolicyUse:
        return cls(
            roles=[Reference(id=i, name=n) for i, n in usage.roles],
            boundary_users=usage.boundary_users,
            boundary_user_names=list(usage.boundary_user_names),
        )


class PolicyDetail(PolicyOut):
    """A permission policy and where it is used."""

    used_by: PolicyUse


class PolicyPage(BaseModel):
    """A page of permission policies, by name."""

    items: list[PolicyOut]
    paging: Paging


class PolicyFields(NamedFields):
    """A custom permission policy (its document is validated against the action catalog)."""

    document: dict[str, Any] = Field(
        description='The document, e.g. `{"statement": [{"effect": "allow", "actions": ["iam:Get<.*>"], '
        '"resources": ["*"]}]}`.'
    )

    def checked(self) -> PolicyInput:
        """The fields checked and the document validated (400 otherwise, with where and why)."""
        return policy_input(self.name, self.document, self.description, self.labels)


# ------------------------------------------------------------------------------------------ groups


class GroupOut(FromRecord):
    """A SCIM group (provisioned by the identity provider)."""

    id: str
    display_name: str
    external_id: str | None
    members: int = Field(description="How many members it has.")
    created: datetime
    last_modified: datetime


class GroupPage(SearchPage):
    """A page of SCIM groups: by display name, or by relevance for a search."""

    item = GroupOut
    items: list[GroupOut]


class RolesOfGroup(BaseModel):
    """The roles bound to a SCIM group: its members hold them while they are members."""

    group_id: str
    roles: list[RoleOut]


class GroupRolesChanged(RolesOfGroup):
    """What a replace-the-set call changed, and the bindings after it."""

    added: list[str]
    removed: list[str]


# ------------------------------------------------------------------------------------------ catalog


class ActionOut(BaseModel):
    """One action a permission policy can name."""

    name: str = Field(description="e.g. `iam:GetUser`.")
    group: str
    kind: str = Field(description="The kind of resource it is checked against.")
    resource: str = Field(description="The resource name it is checked against (`{id}` stands for an id).")
    description: str


class ResourcePattern(BaseModel):
    """The resource names of one kind."""

    kind: str
    pattern: str = Field(description="e.g. `arn:gatehouse:iam:user/{id}`; `<kind>/*` is the collection.")


class Catalog(BaseModel):
    """Every action and resource name a permission policy may use."""

    actions: list[ActionOut]
    resource_patterns: list[ResourcePattern]
    groups: dict[str, str] = Field(description="The action groups, with their titles.")


# ------------------------------------------------------------------------------------------ simulator


class SimulationRequest(Body):
    """Would this user be allowed this action on this resource?"""

    user_id: Id
    action: str = Field(min_length=1, max_length=100, description="A catalog action, e.g. `iam:DeleteUser`.")
    resource: str = Field(
        min_length=1, max_length=512, description="A resource name, e.g. `arn:gatehouse:iam:user/<id>`."
    )
    labels: dict[str, dict[str, str]] | None = Field(
        default=None, description='Request labels by condition key, e.g. `{"role_label": {"team": "sre"}}`.'
    )


class DecidingStatement(BaseModel):
    """The statement that decided: in a role's policy, or (no role) in a permission boundary."""

    policy_id: str
    policy_name: str
    index: int
    effect: Literal["allow", "deny"]
    role_id: str | None
    role_name: str | None


class SimulationResult(BaseModel):
    """The decision the authorizer would make now, and why."""

    user_id: str
    user_name: str
    action: str
    resource: str
    allowed: bool
    outcome: Literal["allowed", "denied", "not_allowed", "outside_boundary", "invalid_request"]
    reason: str
    statement: DecidingStatement | None
    boundary_id: str | None
    boundary_name: str | None

    @classmethod
    def of(cls, simulation: Simulation) -> SimulationResult:
        decision: dict[str, Any] = simulation.decision.as_dict()
        return cls(
            user_id=simulation.user_id,
            user_name=simulation.user_name,
            action=simulation.action,
            resource=simulation.resource,
            **decision,
        )
