"""SCIM provisioning settings and tokens (API7 parity: Organization → Settings → SCIM Provisioning;
``GET``/``PUT /api/system_settings/scim`` and token generation there), the mass-deprovisioning guard, and the
provisioning log (``GET /api/scim/activity``).

Thin routes over :mod:`gatehouse.iam.provisioning`: reading is ``iam:GetSCIMProvisioning``, every
change ``iam:UpdateSCIMProvisioning`` (both on the organization) and runs through the audit log under
that event. A token's secret is in the response of its creation or regeneration only.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import ApiDep
from gatehouse.api.errors import responses
from gatehouse.api.params import id_in_path
from gatehouse.api.schemas_admin import (
    IssuedScimToken,
    NewScimToken,
    ScimActivity,
    ScimGuard,
    ScimGuardDecision,
    ScimSettings,
    ScimSettingsChange,
)
from gatehouse.iam import provisioning, provisioning_activity, scim_guard
from gatehouse.iam.audit import Change

router = APIRouter(prefix="/scim", tags=["SCIM provisioning"])
TokenId = Annotated[str, id_in_path("The SCIM token's id.")]
Time = Annotated[str, Query(max_length=40, description="ISO 8601; UTC if no zone.")]
EVENT: Final = provisioning.UPDATE
KIND: Final = "organization"


@router.get("", summary="SCIM provisioning settings", responses=responses(401, 403))
async def get_scim(caller: CallerDep, api: ApiDep) -> ScimSettings:
    """Whether provisioning is on, the endpoint URL for the identity provider, the password sign-in switch and the live
    tokens' metadata (`iam:GetSCIMProvisioning`)."""
    state = await api.db.read(lambda c: provisioning.state(c, caller.principal))
    return ScimSettings.of(state, api.settings.scim_base_url)


@router.put("", summary="Change SCIM provisioning settings", responses=responses(401, 403, 422))
async def update_scim(body: ScimSettingsChange, caller: CallerDep, api: ApiDep) -> ScimSettings:
    """Turn provisioning on or off (tokens are kept and work again when it is back on) and allow or forbid password
    sign-in for provisioned users (`iam:UpdateSCIMProvisioning`)."""
    summary: dict[str, Any] = {}
    if body.enabled is not None:
        summary["enabled"] = body.enabled
    if body.password_sign_in is not None:
        # not "password_sign_in": the audit log masks every key naming a password, even a switch
        summary["local_sign_in"] = body.password_sign_in

    state = await api.change(
        caller,
        Change(EVENT, KIND, None, summary),
        lambda c: provisioning.update_settings(
            c, caller.principal, enabled=body.enabled, password_sign_in=body.password_sign_in
        ),
    )
    return ScimSettings.of(state, api.settings.scim_base_url)


@router.post("/tokens", status_code=201, summary="Generate a SCIM token", responses=responses(400, 401, 403, 409, 422))
async def create_scim_token(body: NewScimToken, caller: CallerDep, api: ApiDep) -> IssuedScimToken:
    """A bearer token for the identity provider, shown in this response only. Provisioning must be on (409); a live
    token's name is taken (409)."""
    issued = await api.change(
        caller,
        Change(EVENT, "scim_token", None, {"operation": "create_token", "token_name": body.name}),
        lambda c: provisioning.issue_token(c, caller.principal, body.name or ""),
        describe=lambda done, recorded: recorded.about(done.info.id, token_name=done.name, hint=done.info.hint),
        status=201,
    )
    return IssuedScimToken.of(issued)


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke a SCIM token",
    responses=responses(401, 403, 404, 422),
)
async def revoke_scim_token(token_id: TokenId, caller: CallerDep, api: ApiDep) -> Response:
    """The token stops working at once, in every process. An unknown or revoked id is 404."""
    return await api.change_no_content(
        caller,
        Change(EVENT, "scim_token", token_id, {"operation": "revoke_token"}),
        lambda c: provisioning.revoke_token(c, caller.principal, token_id),
        describe=lambda name, recorded: recorded.about(token_name=name),
    )


@router.post(
    "/tokens/{token_id}/regenerate",
    status_code=201,
    summary="Regenerate a SCIM token",
    responses=responses(401, 403, 404, 409, 422),
)
async def regenerate_scim_token(token_id: TokenId, caller: CallerDep, api: ApiDep) -> IssuedScimToken:
    """Replaces a live token by a new one of the same name, shown in this response only; the old one stops at once.
    Provisioning must be on (409)."""
    issued = await api.change(
        caller,
        Change(EVENT, "scim_token", token_id, {"operation": "regenerate_token"}),
        lambda c: provisioning.regenerate_token(c, caller.principal, token_id),
        describe=lambda done, recorded: recorded.about(
            token_name=done.name, replacement_id=done.info.id, hint=done.info.hint
        ),
        status=201,
    )
    return IssuedScimToken.of(issued)


@router.get("/guard", summary="The mass-deprovisioning guard", responses=responses(401, 403))
async def get_scim_guard(caller: CallerDep, api: ApiDep) -> ScimGuard:
    """Its settings, the threshold now, the deactivations and deletions applied within its window and the requests it
    holds (`iam:GetSCIMProvisioning`)."""
    policy = scim_guard.Policy.of(api.settings)
    status = await api.db.read(lambda c: scim_guard.status(c, caller.principal, policy))
    return ScimGuard.of(status)


@router.post("/guard/allow", summary="Allow the held deprovisioning", responses=responses(401, 403))
async def allow_scim_guard(caller: CallerDep, api: ApiDep) -> ScimGuardDecision:
    """The guard opens until its window passes: the identity provider's retries of the held deactivations and deletions
    then apply. The held list is cleared (`iam:UpdateSCIMProvisioning`)."""
    policy = scim_guard.Policy.of(api.settings)
    cleared = await api.change(
        caller,
        Change(EVENT, KIND, None, {"operation": "allow_deprovisioning"}),
        lambda c: scim_guard.allow(c, caller.principal, policy),
        describe=lambda done, recorded: recorded.about(held=done),
    )
    return ScimGuardDecision(allowed=True, held=cleared)


@router.post("/guard/block", summary="Keep blocking the held deprovisioning", responses=responses(401, 403))
async def block_scim_guard(caller: CallerDep, api: ApiDep) -> ScimGuardDecision:
    """The held list is cleared and the guard stays closed (an earlier Allow ends): the identity provider's retries are
    held again (`iam:UpdateSCIMProvisioning`)."""
    cleared = await api.change(
        caller,
        Change(EVENT, KIND, None, {"operation": "block_deprovisioning"}),
        lambda c: scim_guard.block(c, caller.principal),
        describe=lambda done, recorded: recorded.about(held=done),
    )
    return ScimGuardDecision(allowed=False, held=cleared)


@router.get("/activity", summary="Provisioning activity", responses=responses(400, 401, 403, 422))
async def get_scim_activity(
    caller: CallerDep,
    api: ApiDep,
    status: Annotated[
        Literal["failed", "succeeded", "2xx", "3xx", "4xx", "5xx", ""],
        Query(description="`failed` is 4xx and 5xx, `succeeded` below 400."),
    ] = "",
    token: Annotated[str, Query(max_length=100, description="A SCIM token's name.")] = "",
    method: Annotated[Literal["GET", "POST", "PUT", "PATCH", "DELETE", ""], Query()] = "",
    resource: Annotated[
        Literal["Users", "Groups", "discovery", "other", ""],
        Query(description="`discovery`: ServiceProviderConfig, Schemas, ResourceTypes."),
    ] = "",
    period: Annotated[Literal["1h", "24h", "7d", ""], Query(description="The last hour, 24 hours or 7 days.")] = "",
    since: Time = "",
    until: Time = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=provisioning_activity.MAX_LIMIT)] = 50,
) -> ScimActivity:
    """The SCIM requests recorded (within the log's retention), newest first, filtered; failed ones with their request
    and response bodies, secrets redacted. A request shows up within about a second (`iam:GetSCIMProvisioning`)."""
    wanted = provisioning_activity.wanted_of(status, token, method, resource, period, since, until)
    found = await api.db.read(lambda c: provisioning_activity.log(c, caller.principal, wanted, offset, limit))
    return ScimActivity.of(found, offset, limit)
