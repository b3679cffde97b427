"""Sign-in, sign-out and ``/me``: the dashboard's password sign-in (:func:`gatehouse.iam.signin.sign_in`,
with its throttling) opening the same server-side session, for scripts and the Swagger UI."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from fastapi import APIRouter, Request, Response

from gatehouse.api.auth import SignedInDep
from gatehouse.api.context import ApiDep, blocking
from gatehouse.api.errors import responses
from gatehouse.api.schemas import Me, SignIn, UserDetail
from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import signin
from gatehouse.iam.audit import Change, Origin, record_apart
from gatehouse.iam.authorizer import Principal, allowed, load_principal
from gatehouse.iam.catalog import ACTIONS, ANY_ID, resource_name
from gatehouse.iam.signin import SESSION_COOKIE
from gatehouse.iam.users import view_user
from gatehouse.store.database import Connection
from gatehouse.store.sessions import SessionUser

router = APIRouter(tags=["Authentication"])
SIGN_IN: Final = "auth:SignIn"
SIGN_OUT: Final = "auth:SignOut"


def allowed_actions(principal: Principal) -> list[str]:
    """The catalog actions allowed on every object of their kind (the collection, or the organization)."""
    return [action.name for action in ACTIONS if allowed(principal, action.name, resource_name(action.kind, ANY_ID))]


def _me(connection: Connection, principal: Principal, session: SessionUser | None, idle: timedelta) -> Me:
    assert principal.user_id is not None
    view = view_user(connection, principal, principal.user_id, idle=idle)
    return Me(
        user=UserDetail.of(view),
        authenticated_by="session" if session is not None else "token",
        token_name=principal.token_name,
        csrf_token=session.csrf_token if session is not None else None,
        must_change_password=view.profile.must_change_password,
        allowed_actions=allowed_actions(principal),
    )


@router.post("/auth/sign-in", summary="Sign in with a password", responses=responses(400, 401, 403, 422, 429))
async def sign_in(body: SignIn, request: Request, response: Response, api: ApiDep) -> Me:
    """Opens a dashboard session (cookie `gatehouse_session`) and returns the caller with the session's CSRF token.
    Failed attempts are throttled per account and per address (429). Recorded as `auth:SignIn`."""
    ip, agent = api.client_ip(request), request.headers.get("user-agent")
    change = Change(SIGN_IN, "user", None, {"user_name": body.username[:255]})
    attempt = Origin("api", body.username[:255], None, ip, agent)
    try:
        opened = await blocking(lambda: signin.sign_in(api.db, api.policy, body.username, body.password, ip, agent))
    except GatehouseError as exc:
        await record_apart(api.db, attempt, change, exc.status, exc.detail)
        raise

    def read(connection: Connection) -> tuple[Principal, Me]:
        session = signin.opened_session(connection, opened, api.idle)  # gone if deactivated in the meantime
        principal = load_principal(connection, opened.user_id)
        return principal, _me(connection, principal, session, api.idle)

    principal, me = await api.db.read(read)
    origin = api.origin(request, principal.actor, principal.user_id)
    await record_apart(api.db, origin, change.about(opened.user_id), 200)
    response.set_cookie(
        SESSION_COOKIE,
        opened.cookie,
        max_age=int(api.policy.absolute.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=api.settings.secure_cookies,
    )
    response.headers["Cache-Control"] = "no-store"
    return me


@router.post(
    "/auth/sign-out",
    status_code=204,
    summary="Sign out (end the session)",
    responses=responses(400, 401, 403),
)
async def sign_out(caller: SignedInDep, api: ApiDep) -> Response:
    """Ends the dashboard session of the cookie (needs `X-CSRF-Token`). Recorded as `auth:SignOut`. An API token is not
    signed out: revoke it with `DELETE /api/tokens/{id}`."""
    session = caller.session
    if session is None:
        raise InvalidInput("Sign-out ends a session; an API token is revoked with DELETE /api/tokens/{id}.")
    change = Change(SIGN_OUT, "user", caller.user_id, {})
    await api.change(caller, change, lambda c: signin.sign_out(c, session))
    gone = Response(status_code=204)
    gone.delete_cookie(SESSION_COOKIE, path="/")
    return gone


@router.get("/me", summary="The caller", responses=responses(401), tags=["Users"])
async def me(caller: SignedInDep, api: ApiDep) -> Me:
    """The caller's user page (always readable, whatever their roles), how they authenticated, and the actions they may
    take on every object of a kind."""
    return await api.db.read(lambda c: _me(c, caller.principal, caller.session, api.idle))
