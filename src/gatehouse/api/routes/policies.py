"""Permission policies, the action catalog and the policy simulator (API7 parity: "Permission Policies",
"Permission Policy Actions and Resources").

Thin routes over :mod:`gatehouse.iam.roles` (``iam:GetPermissionPolicy`` / ``CreatePermissionPolicy`` /
``UpdatePermissionPolicy`` / ``DeletePermissionPolicy``; documents validated by
:func:`gatehouse.iam.policy.parse_policy`) and :mod:`gatehouse.iam.simulator` (``iam:GetUser`` on the
user simulated). Every change runs through the audit log.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import ApiDep
from gatehouse.api.errors import responses
from gatehouse.api.params import NamePrefix, Page, PerPage, id_in_path
from gatehouse.api.schemas import Paging
from gatehouse.api.schemas_rbac import (
    ActionOut,
    Catalog,
    PolicyDetail,
    PolicyFields,
    PolicyOut,
    PolicyPage,
    PolicyUse,
    ResourcePattern,
    SimulationRequest,
    SimulationResult,
)
from gatehouse.iam import policies
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.catalog import ACTIONS, GROUPS, ORGANIZATION, RESOURCE_KINDS, RESOURCE_PREFIX
from gatehouse.iam.simulator import simulate
from gatehouse.store.database import Connection

router = APIRouter(tags=["Permission policies"])
PolicyId = Annotated[str, id_in_path("The permission policy's id.")]
KIND: Final = "permissionpolicy"


def _detail(connection: Connection, caller_principal: Principal, policy_id: str) -> PolicyDetail:
    policy = policies.get_policy(connection, caller_principal, policy_id)
    usage = policies.policy_usage(connection, caller_principal, policy_id)
    return PolicyDetail(**PolicyOut.of(policy).model_dump(), used_by=PolicyUse.of(usage))


@router.get("/permission-policies", summary="List permission policies", responses=responses(401, 403, 422))
async def list_policies(
    caller: CallerDep,
    api: ApiDep,
    q: NamePrefix = "",
    page: Page = 1,
    per_page: PerPage = 50,
) -> PolicyPage:
    """The policies you may view (`iam:GetPermissionPolicy` on each), by name; 403 when you may view none."""
    found = await api.db.read(lambda c: policies.viewable_policies(c, caller.principal))
    shown, paging = Paging.cut_named(found, q, page, per_page)
    return PolicyPage(items=[PolicyOut.of(policy) for policy in shown], paging=paging)


@router.get("/permission-policies/{policy_id}", summary="A permission policy", responses=responses(401, 403, 404, 422))
async def get_policy(policy_id: PolicyId, caller: CallerDep, api: ApiDep) -> PolicyDetail:
    """The policy, its document, and the roles and users it is used by (`iam:GetPermissionPolicy`)."""
    return await api.db.read(lambda c: _detail(c, caller.principal, policy_id))


@router.post(
    "/permission-policies",
    status_code=201,
    summary="Create a permission policy",
    responses=responses(400, 401, 403, 409, 422),
)
async def create_policy(body: PolicyFields, caller: CallerDep, api: ApiDep) -> PolicyOut:
    """A custom policy (`iam:CreatePermissionPolicy` on `permissionpolicy/*`). An invalid document is 400 with where and
    why; a taken name (any case) is 409."""
    change = Change("iam:CreatePermissionPolicy", KIND, None, {"name": body.name, "labels": body.labels})
    form = await api.prepare(caller, change, body.checked)
    policy = await api.change(
        caller,
        change,
        lambda c: policies.create_policy(c, caller.principal, form),
        describe=lambda done, recorded: recorded.about(done.id, document=form.document.as_dict()),
        status=201,
    )
    return PolicyOut.of(policy)


@router.put(
    "/permission-policies/{policy_id}",
    summary="Replace a permission policy",
    responses=responses(400, 401, 403, 404, 409, 422),
)
async def update_policy(policy_id: PolicyId, body: PolicyFields, caller: CallerDep, api: ApiDep) -> PolicyOut:
    """A custom policy's name, description, labels and document (`iam:UpdatePermissionPolicy`); every process applies
    the new document on the next request. Built-in policies cannot be edited (403)."""
    change = Change("iam:UpdatePermissionPolicy", KIND, policy_id, {"name": body.name, "labels": body.labels})
    form = await api.prepare(caller, change, body.checked)
    policy = await api.change(
        caller,
        change,
        lambda c: policies.update_policy(c, caller.principal, policy_id, form),
        describe=lambda done, recorded: recorded.about(document=form.document.as_dict(), version=done.version),
    )
    return PolicyOut.of(policy)


@router.delete(
    "/permission-policies/{policy_id}",
    status_code=204,
    summary="Delete a permission policy",
    responses=responses(401, 403, 404, 409, 422),
)
async def delete_policy(policy_id: PolicyId, caller: CallerDep, api: ApiDep) -> Response:
    """A custom policy that no role uses and that bounds no user (`iam:DeletePermissionPolicy`); otherwise 409 naming
    where it is used."""
    return await api.change_no_content(
        caller,
        Change("iam:DeletePermissionPolicy", KIND, policy_id),
        lambda c: policies.delete_policy(c, caller.principal, policy_id),
        describe=lambda policy, done: done.about(name=policy.name),
    )


@router.get("/catalog", summary="The action catalog", responses=responses(401, 403))
async def catalog(caller: CallerDep) -> Catalog:
    """Every action a permission policy may name, with the resource name it is checked against, and the resource name
    patterns. Open to every signed-in caller (it is the same for everyone)."""
    patterns = [
        ResourcePattern(
            kind=kind, pattern=ORGANIZATION if kind == "organization" else f"{RESOURCE_PREFIX}{kind}/{{id}}"
        )
        for kind in RESOURCE_KINDS
    ]
    return Catalog(
        actions=[ActionOut(**action.as_dict()) for action in ACTIONS],
        resource_patterns=patterns,
        groups=dict(GROUPS),
    )


@router.post("/policy-simulations", summary="Simulate a decision", responses=responses(400, 401, 403, 404, 422))
async def simulate_policy(body: SimulationRequest, caller: CallerDep, api: ApiDep) -> SimulationResult:
    """Would this user be allowed this action on this resource now, and which statement decides? Nothing is changed.
    Needs `iam:GetUser` on the user."""
    found = await api.db.read(
        lambda c: simulate(c, caller.principal, body.user_id, body.action, body.resource, body.labels)
    )
    return SimulationResult.of(found)
