"""Organization → Settings → SCIM → Mass-deprovisioning guard (``/organization/settings/scim/guard``): the
deactivations and deletions the guard holds (user, time, token, kind), with **Allow** (the guard opens until its
window passes: the identity provider's retries apply) and **Keep blocking** (the held list is cleared, the guard
stays closed). Each asks on its own page first, is audited, and follows Post/Redirect/Get.

Thin handlers over :mod:`gatehouse.iam.scim_guard`, which checks every permission itself.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.iam import provisioning, scim_guard
from gatehouse.iam.audit import Change
from gatehouse.store.database import Connection
from gatehouse.web.actions import Confirmation, Settled, confirm_then_act, refused
from gatehouse.web.dashboard import dashboard_of, page, principal_of

PATH: Final = "/organization/settings/scim/guard"
BACK: Final = "Back to the mass-deprovisioning guard"


def _policy(request: Request) -> scim_guard.Policy:
    return scim_guard.Policy.of(dashboard_of(request).settings)


@page
async def review(request: Request) -> Response:
    dashboard, principal, policy = dashboard_of(request), principal_of(request), _policy(request)
    try:
        status = await dashboard.db.read(lambda c: scim_guard.status(c, principal, policy))
    except GatehouseError as exc:
        return refused(request, exc, "/")
    return dashboard.render(request, "settings/scim_guard.html", guard=status)


def _question(connection: Connection, request: Request, action: str) -> Confirmation | Settled | GatehouseError:
    try:
        provisioning.state_to_change(connection, principal_of(request))  # iam:UpdateSCIMProvisioning, or 403
        status = scim_guard.status(connection, principal_of(request), _policy(request))
    except GatehouseError as exc:
        return exc
    if not status.held and action == "block":
        return Settled("No requests are held.")
    held = f"{status.held_count} held deprovisioning request{'' if status.held_count == 1 else 's'}"
    if action == "allow":
        return Confirmation(
            "Allow the held deprovisioning?",
            f"Allow {held}? The guard opens for {status.window_minutes} minutes: your identity provider's "
            "retries then apply, and so does every other deactivation or deletion it sends meanwhile.",
            "Allow",
            "Users it deactivates lose access at once; users it deletes are gone with their memberships.",
        )
    return Confirmation(
        "Keep blocking?",
        f"Forget {held}? The guard stays closed: your identity provider's retries are held again.",
        "Keep blocking",
        "Fix the assignment in your identity provider: it keeps retrying these requests.",
    )


def _change(operation: str) -> Change:
    return Change(provisioning.UPDATE, "organization", "scim", {"operation": operation})


@page
async def allow(request: Request) -> Response:
    principal, policy = principal_of(request), _policy(request)
    return await confirm_then_act(
        request,
        back=PATH,
        back_label=BACK,
        ask=lambda c: _question(c, request, "allow"),
        what=_change("allow_deprovisioning"),
        work=lambda c: scim_guard.allow(c, principal, policy),
        describe=lambda cleared, recorded: recorded.about(held=cleared),
        done=lambda cleared: (
            PATH,
            f"Allowed: the guard is open for {policy.window_minutes} minutes; your identity provider's retries "
            f"of {cleared} held request{'' if cleared == 1 else 's'} will apply.",
        ),
    )


@page
async def block(request: Request) -> Response:
    principal = principal_of(request)
    return await confirm_then_act(
        request,
        back=PATH,
        back_label=BACK,
        ask=lambda c: _question(c, request, "block"),
        what=_change("block_deprovisioning"),
        work=lambda c: scim_guard.block(c, principal),
        describe=lambda cleared, recorded: recorded.about(held=cleared),
        done=lambda cleared: (
            PATH,
            f"Kept blocking: {cleared} held request{'' if cleared == 1 else 's'} cleared; the guard stays closed.",
        ),
    )


ROUTES: Final = [
    Route(PATH, review, methods=["GET"]),
    Route(f"{PATH}/allow", allow, methods=["GET", "POST"]),
    Route(f"{PATH}/block", block, methods=["GET", "POST"]),
]
