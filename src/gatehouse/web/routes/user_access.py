"""Organization → Users → a user's access: the roles assigned to them by hand and their permission
boundaries, both set from the forms of the user's page (:mod:`gatehouse.web.routes.users`).

Thin handlers over :func:`gatehouse.iam.roles.set_user_roles` (``iam:UpdateUserRole``) and
:func:`gatehouse.iam.roles.set_boundaries` (``iam:UpdateUserBoundary``), each change audited; roles held
through groups or mapped at SSO sign-in are not theirs to change.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change
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


@page
async def set_roles(request: Request) -> Response:
    principal, user_id, wanted = principal_of(request), request.path_params["user_id"], form_list(request, "role_id")
    what = Change("iam:UpdateUserRole", "user", user_id, {"role_ids": wanted})
    return await act(
        request,
        what,
        lambda c: rbac.set_user_roles(c, principal, user_id, wanted),
        f"{BASE}/{user_id}",
        lambda done: assignment_message("role", done),
    )


@page
async def set_boundaries(request: Request) -> Response:
    principal, user_id = principal_of(request), request.path_params["user_id"]
    wanted = form_list(request, "policy_id")
    what = Change("iam:UpdateUserBoundary", "user", user_id, {"policy_ids": wanted})
    return await act(
        request,
        what,
        lambda c: rbac.set_boundaries(c, principal, user_id, wanted),
        f"{BASE}/{user_id}",
        lambda done: assignment_message("permission boundary", done),
    )


ROUTES: Final = [
    Route(BASE + "/{user_id}/roles", set_roles, methods=["POST"]),
    Route(BASE + "/{user_id}/boundaries", set_boundaries, methods=["POST"]),
]
