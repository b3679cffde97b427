"""Organization → Users → a user's access: the roles assigned to them by hand and their permission
boundaries, both set from the forms of the user's page (:mod:`gatehouse.web.routes.users`).

Thin handlers over :func:`gatehouse.iam.roles.set_user_roles` (``iam:UpdateUserRole``) and
:func:`gatehouse.iam.roles.set_boundaries` (``iam:UpdateUserBoundary``), each change audited; roles held
through groups or mapped at SSO sign-in are not theirs to change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal
from gatehouse.store.database import Connection
from gatehouse.web.actions import act, form_list
from gatehouse.web.dashboard import page, principal_of
from gatehouse.web.directory import BASE


def assignment_message(what: str, done: rbac.AssignmentChange) -> str:
    """What a replace-the-set change did, for the flash message."""
    if not done.added and not done.removed:
        return f"Nothing changed: the {what}s were already these."
    parts = []
    if done.added:
        parts.append(f"{len(done.added)} {what}(s) added")
    if done.removed:
        parts.append(f"{len(done.removed)} {what}(s) removed")
    return " and ".join(parts).capitalize() + ". It applies from the user's next request."


async def _replace(
    request: Request,
    *,
    field: str,
    event: str,
    key: str,
    work: Callable[[Connection, Principal, str, list[str]], rbac.AssignmentChange],
    noun: str,
) -> Response:
    """Make one of the user's sets exactly the form's checked ``field`` values with the use case ``work``,
    audited as ``event`` (the values under ``key``); back to the user's page saying what changed (in
    ``noun``s), or the refusal page."""
    principal, user_id, wanted = principal_of(request), request.path_params["user_id"], form_list(request, field)
    return await act(
        request,
        Change(event, "user", user_id, {key: wanted}),
        lambda c: work(c, principal, user_id, wanted),
        f"{BASE}/{user_id}",
        lambda done: assignment_message(noun, done),
    )


@page
async def set_roles(request: Request) -> Response:
    return await _replace(
        request, field="role_id", event="iam:UpdateUserRole", key="role_ids", work=rbac.set_user_roles, noun="role"
    )


@page
async def set_boundaries(request: Request) -> Response:
    return await _replace(
        request, field="policy_id", event="iam:UpdateUserBoundary", key="policy_ids", work=rbac.set_boundaries,
        noun="permission boundary",
    )  # fmt: skip


ROUTES: Final = [
    Route(BASE + "/{user_id}/roles", set_roles, methods=["POST"]),
    Route(BASE + "/{user_id}/boundaries", set_boundaries, methods=["POST"]),
]
