"""Organization → Users: the directory, a user's page, inviting, resetting a password, and a user's status,
deletion and hand-over (a user's roles and boundaries: :mod:`gatehouse.web.routes.user_access`).

Thin handlers over the use cases of :mod:`gatehouse.iam.users`, which check every permission themselves (a
user's page is :func:`~gatehouse.iam.users.user_page`, built on the admin API's own read); the pages only
hide what the viewer may not use. Every change is audited (:mod:`gatehouse.web.actions`). Plain links and
forms (GET query parameters for the list, POST with the CSRF token for changes); deactivating, deleting and
handing over ask on their own page first, so it all works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Forbidden, GatehouseError, InvalidInput
from gatehouse.iam import scim_guard
from gatehouse.iam import users as admin
from gatehouse.iam.accounts import MIN_PASSWORD_LENGTH
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal
from gatehouse.store.database import Connection
from gatehouse.store.records import StoredUser
from gatehouse.store.user_events import UserEventKind
from gatehouse.web.actions import Confirmation, act, act_or_show, confirm_then_act, form_text, refused
from gatehouse.web.dashboard import blocking, dashboard_of, page, principal_of
from gatehouse.web.directory import BASE, SOURCE_LABELS, directory_query, list_context
from gatehouse.web.profile import profile_facts

EVENT_LABELS: Final[Mapping[UserEventKind, str]] = {
    UserEventKind.CREATED: "Created",
    UserEventKind.DEACTIVATED: "Deactivated",
    UserEventKind.REACTIVATED: "Reactivated",
    UserEventKind.HANDED_TO_IDP: "Handed to the identity provider",
    UserEventKind.PASSWORD_RESET: "Password reset",
}
IDP_MAY_REVERT: Final = (
    "Emergency only: your identity provider owns this user and may change the status back at its next sync. "
    "Change it in the identity provider too."
)
STATUS: Final = "iam:UpdateUserStatus"
INVITED: Final = (
    "Local user {} created. Give them the one-time password: they must choose their own at their first sign-in."
)
RESET: Final = "{} has a one-time password now: they must change it at their next sign-in. Their sessions have ended."
DELETED: Final = "{} is deleted."
HANDED_OVER: Final = "{} is now managed by your identity provider."
T = TypeVar("T")


def _named(message: str) -> Callable[[StoredUser], str]:
    """``message`` with the user's name in its ``{}``."""
    return lambda user: message.format(user.user_name)


def _user_id(request: Request) -> str:
    return str(request.path_params["user_id"])


def _back(request: Request) -> str:
    return f"{BASE}/{_user_id(request)}"


def _new_password(request: Request) -> str:
    """The one-time password a form asks for twice."""
    password = form_text(request, "password")
    if password != form_text(request, "confirm_password"):
        raise InvalidInput("The two passwords differ.")
    return password


def _deactivated(done: admin.StatusChange) -> str:
    if not done.changed:
        return f"{done.user.user_name} was already deactivated."
    ended = f" {done.sessions_ended} session(s) ended." if done.sessions_ended else ""
    return f"{done.user.user_name} is deactivated and cannot sign in.{ended}"


def _reactivated(done: admin.StatusChange) -> str:
    if not done.changed:
        return f"{done.user.user_name} was already active."
    return f"{done.user.user_name} is active again."


# ---------------------------------------------------------------------------------------- the list


@page
async def listing(request: Request) -> Response:
    dashboard, principal = dashboard_of(request), principal_of(request)
    query = directory_query(request.query_params)
    try:
        lines, guard_banner = await dashboard.db.read(
            lambda c: (admin.user_lines(c, principal, query), scim_guard.banner(c, principal))
        )
    except Forbidden:  # with no right to list: their own profile
        return dashboard.redirect(f"{BASE}/{principal.user_id}")
    return dashboard.render(
        request, "users/list.html", result=lines.result, held=lines.held, can_invite=lines.may_invite,
        guard_banner=guard_banner, **list_context(query),
    )  # fmt: skip


@page
async def invite(request: Request) -> Response:
    dashboard, principal = dashboard_of(request), principal_of(request)
    if request.method == "GET":
        admin.require_invite(principal)
        return dashboard.render(request, "users/new.html", values={}, min_length=MIN_PASSWORD_LENGTH)
    values = {name: form_text(request, name) for name in ("user_name", "email", "name")}

    async def show_again(exc: GatehouseError) -> Response:
        return dashboard.render(
            request, "users/new.html", status=exc.status, error=exc.detail, values=values,
            min_length=MIN_PASSWORD_LENGTH,
        )  # fmt: skip

    try:
        typed = (values["user_name"], _new_password(request), values["email"], values["name"])
        new = await blocking(lambda: admin.invitation(principal, *typed))
    except GatehouseError as exc:
        return refused(request, exc, BASE) if exc.status == 403 else await show_again(exc)
    user = new.user
    return await act_or_show(
        request,
        Change("iam:InviteUser", "user", None, {"user_name": user.user_name, "email": user.email, "name": user.name}),
        lambda c: admin.create_local_user(c, principal, user, new.password),
        back=BASE,
        show_again=show_again,
        done=lambda created: (f"{BASE}/{created.id}", INVITED.format(created.user_name)),
        describe=lambda created, recorded: recorded.about(created.id),
    )


# ---------------------------------------------------------------------------------------- one user


@page
async def detail(request: Request) -> Response:
    dashboard, principal = dashboard_of(request), principal_of(request)
    shown = await dashboard.db.read(lambda c: admin.user_page(c, principal, _user_id(request), idle=dashboard.idle))
    person, contact, enterprise = profile_facts(shown.profile)
    return dashboard.render(
        request, "users/detail.html", profile=shown.profile, person=person, contact=contact, enterprise=enterprise,
        may=shown.may, access=shown, source_labels=SOURCE_LABELS, event_labels=EVENT_LABELS,
        idp_may_revert=IDP_MAY_REVERT,
    )  # fmt: skip


@page
async def reset_password(request: Request) -> Response:
    dashboard, principal, user_id = dashboard_of(request), principal_of(request), _user_id(request)
    back = _back(request)

    async def form(exc: GatehouseError | None = None) -> Response:
        user = await dashboard.db.read(lambda c: admin.user_to_change(c, principal, "iam:ResetPassword", user_id))
        return dashboard.render(
            request, "users/password.html", status=exc.status if exc else 200, error=exc.detail if exc else None,
            profile=user, min_length=MIN_PASSWORD_LENGTH,
        )  # fmt: skip

    if request.method == "GET":
        return await form()
    try:
        password = _new_password(request)
        chosen = await blocking(lambda: admin.password_reset(principal, user_id, password))
    except GatehouseError as exc:
        return refused(request, exc, back) if exc.status == 403 else await form(exc)
    return await act_or_show(
        request,
        Change("iam:ResetPassword", "user", user_id),
        lambda c: admin.reset_password(c, principal, user_id, chosen),
        back=back,
        show_again=form,
        done=lambda user: (back, RESET.format(user.user_name)),
    )


# ---------------------------------------------------------------------------------------- status, delete, hand-over


async def _confirm_on_user(
    request: Request,
    action: str,
    question: Callable[[StoredUser], Confirmation],
    work: Callable[[Connection, Principal, str], T],
    done: Callable[[T], str],
    *,
    summary: Mapping[str, Any] | None = None,
    to: str | None = None,
) -> Response:
    """Ask ``question`` about the user of the address (read only if the caller may do ``action``), then ``work``
    on them, audited as ``action``; to ``to`` (else the user's page) with ``done(result)`` as the message."""
    principal, user_id, back = principal_of(request), _user_id(request), _back(request)
    return await confirm_then_act(
        request,
        back=back,
        ask=lambda c: question(admin.user_to_change(c, principal, action, user_id)),
        what=Change(action, "user", user_id, summary or {}),
        work=lambda c: work(c, principal, user_id),
        done=lambda result: (to or back, done(result)),
    )


def _deactivate_question(user: StoredUser) -> Confirmation:
    return Confirmation(
        f"Deactivate {user.user_name}?",
        f"{user.user_name} will be signed out everywhere at once and cannot sign in until reactivated. "
        "Nothing is deleted.",
        "Deactivate",
        IDP_MAY_REVERT if user.source != admin.LOCAL else None,
    )


@page
async def deactivate(request: Request) -> Response:
    return await _confirm_on_user(
        request,
        STATUS,
        _deactivate_question,
        lambda c, principal, user_id: admin.set_status(c, principal, user_id, False),
        _deactivated,
        summary={"active": False},
    )


@page
async def reactivate(request: Request) -> Response:
    principal, user_id = principal_of(request), _user_id(request)
    what = Change(STATUS, "user", user_id, {"active": True})
    return await act(
        request, what, lambda c: admin.set_status(c, principal, user_id, True), _back(request), _reactivated
    )


def _delete_question(user: StoredUser) -> Confirmation:
    return Confirmation(
        f"Delete {user.user_name}?",
        f"{user.user_name}, their sessions and their history are deleted for good. "
        "To keep the record, deactivate them instead.",
        "Delete user",
    )


@page
async def delete(request: Request) -> Response:
    return await _confirm_on_user(
        request, "iam:DeleteUser", _delete_question, admin.delete_user, _named(DELETED), to=BASE
    )


def _hand_over_question(user: StoredUser) -> Confirmation:
    return Confirmation(
        f"Hand {user.user_name} to the identity provider?",
        f"{user.user_name} becomes a SCIM user: your identity provider sees the account, can link it when it "
        "provisions the same username, and from then on owns its attributes and status. Their Gatehouse "
        "password keeps working. This cannot be undone from the dashboard.",
        "Hand to the IdP",
    )


@page
async def hand_over(request: Request) -> Response:
    return await _confirm_on_user(
        request, "iam:HandOverUser", _hand_over_question, admin.hand_to_idp, _named(HANDED_OVER)
    )


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(f"{BASE}/new", invite, methods=["GET", "POST"]),
    Route(BASE + "/{user_id}", detail, methods=["GET"]),
    Route(BASE + "/{user_id}/password", reset_password, methods=["GET", "POST"]),
    Route(BASE + "/{user_id}/deactivate", deactivate, methods=["GET", "POST"]),
    Route(BASE + "/{user_id}/reactivate", reactivate, methods=["POST"]),
    Route(BASE + "/{user_id}/delete", delete, methods=["GET", "POST"]),
    Route(BASE + "/{user_id}/hand-over", hand_over, methods=["GET", "POST"]),
]
