"""Organization → Settings → SCIM → Mass-deprovisioning guard (``/organization/settings/scim/guard``): the
deactivations and deletions the guard holds (user, time, token, kind), with **Allow** (the guard opens until its
window passes: the identity provider's retries apply) and **Keep blocking** (the held list is cleared, the guard
stays closed). Each asks on its own page first, is audited, and follows Post/Redirect/Get.

Thin handlers over :mod:`gatehouse.iam.scim_guard`, which checks every permission itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.iam import provisioning, scim_guard
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal
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
    provisioning.state_to_change(connection, principal_of(request))  # iam:UpdateSCIMProvisioning, or 403
    status = scim_guard.status(connection, principal_of(request), _policy(request))
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


async def _settle(
    request: Request, action: str, work: Callable[[Connection, Principal], int], done: Callable[[int], str]
) -> Response:
    """Ask first (:func:`_question`), then clear the held list by ``work`` (``action``: ``allow`` or ``block``),
    audited with how many requests it held; back to the guard with ``done(cleared)``."""
    principal = principal_of(request)
    return await confirm_then_act(
        request,
        back=PATH,
        back_label=BACK,
        ask=lambda c: _question(c, request, action),
        what=Change(provisioning.UPDATE, "organization", "scim", {"operation": f"{action}_deprovisioning"}),
        work=lambda c: work(c, principal),
        describe=lambda cleared, recorded: recorded.about(held=cleared),
        done=lambda cleared: (PATH, done(cleared)),
    )


def _held(count: int) -> str:
    return f"{count} held request{'' if count == 1 else 's'}"


@page
async def allow(request: Request) -> Response:
    policy = _policy(request)
    return await _settle(
        request,
        "allow",
        lambda c, principal: scim_guard.allow(c, principal, policy),
        lambda cleared: (
            f"Allowed: the guard is open for {policy.window_minutes} minutes; your identity provider's "
            f"retries of {_held(cleared)} will apply."
        ),
    )


@page
async def block(request: Request) -> Response:
    return await _settle(request, "block", scim_guard.block, _kept_blocking)


def _kept_blocking(cleared: int) -> str:
    return f"Kept blocking: {_held(cleared)} cleared; the guard stays closed."


ROUTES: Final = [
    Route(PATH, review, methods=["GET"]),
    Route(f"{PATH}/allow", allow, methods=["GET", "POST"]),
    Route(f"{PATH}/block", block, methods=["GET", "POST"]),
]
