"""Gateway authorization (``/api/v1/authz``): the forward-auth rule table and its preset, and the labels
Gatehouse keeps for gateway resources. The decision API (``POST /api/v1/authz/check``) is on the same path but
served ahead of FastAPI: :mod:`gatehouse.api.decision_route`.

Thin routes over :mod:`gatehouse.iam.gateway_access`
(``iam:GetAuthzRule`` / ``iam:UpdateAuthzRule``) and :mod:`gatehouse.iam.gateway_labels` (the resource's own
Get / Update action, e.g. ``gateway:UpdateGatewayGroup``). Every change runs through the audit log. The
forward-auth endpoint itself, ``GET /authz/forward``, is outside ``/api``: :mod:`gatehouse.api.forward_auth`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import Api, ApiDep, Caller
from gatehouse.api.errors import responses
from gatehouse.api.params import id_in_path
from gatehouse.api.schemas_authz import (
    LabelsIn,
    LabelsList,
    LabelsOut,
    PresetOut,
    PresetSwitch,
    RuleFields,
    RuleOut,
    RuleTableOut,
)
from gatehouse.errors import GatehouseError
from gatehouse.iam import gateway_access, gateway_labels
from gatehouse.iam.audit import Change
from gatehouse.iam.gateway_access import PRESET, RULE_CHANGE, rule_input, rule_summary
from gatehouse.iam.gateway_rules import Rule
from gatehouse.iam.resource_names import LABELLED, parse_resource

router = APIRouter(prefix="/v1/authz", tags=["Gateway authorization"])
RuleId = Annotated[str, id_in_path("The rule's id.")]


# ------------------------------------------------------------------------------------------ rules


def _rule(body: RuleFields) -> Rule:
    return rule_input(body.methods, body.path, body.action, body.resource, body.query, body.labels, body.description)


@router.get("/rules", summary="The forward-auth rule table", responses=responses(401, 403))
async def list_rules(caller: CallerDep, api: ApiDep) -> RuleTableOut:
    """The custom rules in the order they apply, and whether the preset (applied after them) is on
    (`iam:GetAuthzRule`)."""
    return RuleTableOut.of(await api.db.read(lambda c: gateway_access.rule_table(c, caller.principal)))


@router.post("/rules", status_code=201, summary="Add a forward-auth rule", responses=responses(400, 401, 403, 409, 422))
async def create_rule(body: RuleFields, caller: CallerDep, api: ApiDep) -> RuleOut:
    """At `position` (0 first; default last). A rule naming an unknown action, or whose resource or labels use a part
    the path and query do not define, is 400 (`iam:UpdateAuthzRule`)."""
    change = RULE_CHANGE.about(None, path=body.path, action=body.action)
    rule = await api.prepare(caller, change, lambda: _rule(body))
    view = await api.change(
        caller,
        change,
        lambda c: gateway_access.create_rule(c, caller.principal, rule, body.position),
        describe=lambda done, recorded: recorded.about(done.id, created=rule_summary(rule), position=done.position),
        status=201,
    )
    return RuleOut.of_view(view)


@router.get("/rules/{rule_id}", summary="A forward-auth rule", responses=responses(400, 401, 403, 404, 422))
async def get_rule(rule_id: RuleId, caller: CallerDep, api: ApiDep) -> RuleOut:
    """One custom rule and its place (`iam:GetAuthzRule`)."""
    return RuleOut.of_view(await api.db.read(lambda c: gateway_access.get_rule(c, caller.principal, rule_id)))


@router.put("/rules/{rule_id}", summary="Replace a forward-auth rule", responses=responses(400, 401, 403, 404, 422))
async def update_rule(rule_id: RuleId, body: RuleFields, caller: CallerDep, api: ApiDep) -> RuleOut:
    """Its fields, and its place when `position` is given (`iam:UpdateAuthzRule`)."""
    change = RULE_CHANGE.about(rule_id, path=body.path, action=body.action)
    rule = await api.prepare(caller, change, lambda: _rule(body))
    view = await api.change(
        caller,
        change,
        lambda c: gateway_access.update_rule(c, caller.principal, rule_id, rule, body.position),
        describe=lambda done, recorded: recorded.about(updated=rule_summary(rule), position=done.position),
    )
    return RuleOut.of_view(view)


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    summary="Delete a forward-auth rule",
    responses=responses(400, 401, 403, 404, 422),
)
async def delete_rule(rule_id: RuleId, caller: CallerDep, api: ApiDep) -> Response:
    """The rule stops applying at once, in every process (`iam:UpdateAuthzRule`)."""
    return await api.change_no_content(
        caller,
        RULE_CHANGE.about(rule_id, deleted=True),
        lambda c: gateway_access.delete_rule(c, caller.principal, rule_id),
        describe=lambda view, recorded: recorded.about(deleted=rule_summary(view.rule)),
    )


@router.get("/preset", summary="The built-in preset", responses=responses(401, 403))
async def get_preset(caller: CallerDep, api: ApiDep) -> PresetOut:
    """ "API7 / APISIX admin API": API7's own mapping of admin requests to actions and resources, whether it is on, and
    its rules (`iam:GetAuthzRule`)."""
    return await _preset(caller, api)


@router.put("/preset", summary="Switch the built-in preset", responses=responses(400, 401, 403, 422))
async def set_preset(body: PresetSwitch, caller: CallerDep, api: ApiDep) -> PresetOut:
    """On: its rules apply after the custom rules (`iam:UpdateAuthzRule`)."""
    await api.change(
        caller,
        PRESET.about(enabled=body.enabled),
        lambda c: gateway_access.set_preset(c, caller.principal, body.enabled),
    )
    return await _preset(caller, api)


async def _preset(caller: Caller, api: Api) -> PresetOut:
    """The preset as it is now, with its rules."""
    table = await api.db.read(lambda c: gateway_access.rule_table(c, caller.principal))
    return RuleTableOut.of(table, with_preset_rules=True).preset


# ------------------------------------------------------------------------------------------ labels


@router.get("/resources", summary="Labelled gateway resources", responses=responses(400, 401, 404, 422))
async def list_labels(
    caller: CallerDep,
    api: ApiDep,
    prefix: Annotated[str, Query(max_length=300)] = "",
    resource: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
) -> LabelsList:
    """The gateway resources Gatehouse keeps labels for that you may read (their Get action, e.g.
    `gateway:GetGatewayGroup`), by name; `prefix` narrows by the start of the name, `resource` to one (404 when you may
    not read it)."""
    if resource is not None:
        found = await api.db.read(lambda c: gateway_labels.get_labels(c, caller.principal, resource))
        return LabelsList(items=[LabelsOut.of(found)] if found.labels else [])
    items = await api.db.read(lambda c: gateway_labels.list_labels(c, caller.principal, prefix))
    return LabelsList(items=[LabelsOut.of(item) for item in items])


@router.put("/resources", summary="Set a gateway resource's labels", responses=responses(400, 401, 403, 422))
async def set_labels(body: LabelsIn, caller: CallerDep, api: ApiDep) -> LabelsOut:
    """What label conditions (`gateway_group_label`, `service_label`, `consumer_label`) test when a check or a rule
    gives none. Needs the resource's Update action (`gateway:UpdateGatewayGroup` for a group,
    `gateway:UpdatePublishedService`, `gateway:UpdateConsumer`, `gateway:UpdateServiceTemplate`) with its labels as they
    are and as they will be."""
    try:
        kind = parse_resource(body.resource).kind
        event = LABELLED[kind][2] if kind in LABELLED else "gateway:UpdateGatewayGroup"
    except GatehouseError:  # an invalid name: the use case says why (400); record it under the group's action
        event = "gateway:UpdateGatewayGroup"
    found = await api.change(
        caller,
        Change(event, "gateway_resource", body.resource[:255], {"labels": body.labels}),
        lambda c: gateway_labels.set_labels(c, caller.principal, body.resource, body.labels),
    )
    return LabelsOut.of(found)
