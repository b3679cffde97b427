"""Organization → Users: the directory, a user's page, and the administrators' actions.

Thin handlers: the listing and the user page read through :mod:`gatehouse.store.directory`, the
actions are the use cases of :mod:`gatehouse.iam.users` in one write transaction each. Everything is
plain links and forms (GET query parameters for the list; POST with the CSRF token for changes;
destructive changes confirm on their own page first), so it all works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Conflict, Forbidden, GatehouseError, InvalidInput, NotFound
from gatehouse.iam import roles as rbac
from gatehouse.iam import users as admin
from gatehouse.iam.accounts import MIN_PASSWORD_LENGTH
from gatehouse.iam.audit import Change, audited
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, Principal, allowed, held_roles
from gatehouse.iam.catalog import resource_name
from gatehouse.store import directory, holdings, sso_links
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.directory import DirectoryQuery, UserProfile
from gatehouse.web.dashboard import Dashboard, blocking, page, posted
from gatehouse.web.routes.profile import profile_facts

BASE = "/organization/users"
MAX_PAGE = 1_000_000

#: Table columns: query key, header label, direction of a first click (dates: newest first).
COLUMNS = (
    ("username", "Username", "asc"),
    ("name", "Name", "asc"),
    ("email", "Email", "asc"),
    ("source", "Source", "asc"),
    ("status", "Status", "asc"),
    ("last_login", "Last sign-in", "desc"),
    ("created", "Created", "desc"),
)
FIRST_DIRECTION = {key: direction for key, _, direction in COLUMNS}
SOURCE_LABELS = {"local": "Local", "scim": "SCIM", "sso": "SSO"}
STATUS_LABELS = {"active": "Active", "deactivated": "Deactivated"}
EVENT_LABELS = {
    "created": "Created",
    "deactivated": "Deactivated",
    "reactivated": "Reactivated",
    admin.HANDED_TO_IDP: "Handed to the identity provider",
    admin.PASSWORD_RESET: "Password reset",
}
IDP_MAY_REVERT = (
    "Emergency only: your identity provider owns this user and may change the status back at its next sync. "
    "Change it in the identity provider too."
)


# ---------------------------------------------------------------------------------------- the list


def directory_query(params: Mapping[str, str]) -> DirectoryQuery:
    """The list's query parameters; anything unknown falls back to its default."""

    def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = params.get(name, default)
        return value if value in allowed else default

    sort = choice("sort", directory.SORTS, "username")
    order = params.get("order")
    raw_page = params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() else 1
    return DirectoryQuery(
        search=params.get("q", "")[: directory.MAX_SEARCH],
        status=choice("status", directory.STATUSES, "all"),
        source=choice("source", directory.SOURCE_FILTERS, "all"),
        sort=sort,
        descending=order == "desc" if order in ("asc", "desc") else FIRST_DIRECTION[sort] == "desc",
        page=min(max(number, 1), MAX_PAGE),
    )


def list_url(query: DirectoryQuery, **changes: Any) -> str:
    """The list's URL for ``query`` with some parameters changed (defaults are left out)."""
    values: dict[str, Any] = {
        "q": query.search.strip(),
        "status": query.status,
        "source": query.source,
        "sort": query.sort,
        "order": "desc" if query.descending else "asc",
        "page": query.page,
    }
    values.update(changes)
    if values["order"] == FIRST_DIRECTION[values["sort"]]:
        values["order"] = None
    defaults = {"q": "", "status": "all", "source": "all", "sort": "username", "page": 1}
    kept = {k: v for k, v in values.items() if v is not None and defaults.get(k) != v}
    return f"{BASE}?{urlencode(kept)}" if kept else BASE


@dataclass(frozen=True, slots=True)
class Header:
    """A sortable column header: its link and ``aria-sort``."""

    key: str
    label: str
    href: str
    aria_sort: str | None


def headers(query: DirectoryQuery) -> list[Header]:
    found = []
    for key, label, first in COLUMNS:
        current = query.sort == key
        if current:
            order = "asc" if query.descending else "desc"
            aria = "descending" if query.descending else "ascending"
        else:
            order, aria = first, None
        found.append(Header(key, label, list_url(query, sort=key, order=order, page=1), aria))
    return found


def describe_filters(query: DirectoryQuery) -> str:
    """``deactivated SCIM users`` and the like, for the empty state."""
    words = []
    if query.status != "all":
        words.append(STATUS_LABELS[query.status].lower())
    if query.source != "all":
        words.append(SOURCE_LABELS[query.source])
    return " ".join([*words, "users"])


# ---------------------------------------------------------------------------------------- one user


@dataclass(frozen=True, slots=True)
class Abilities:
    """Which actions the viewer may take on the user shown (the use cases check again)."""

    manage: bool
    reset_password: bool
    deactivate: bool
    reactivate: bool
    delete: bool
    hand_over: bool
    assign_roles: bool
    set_boundary: bool
    is_self: bool


def abilities(principal: Principal, profile: UserProfile) -> Abilities:
    """What the viewer may do on ``profile``: their permissions on that very user, then what the account
    allows (a SCIM user's password is the IdP's; nobody deactivates or deletes themselves)."""

    def may(action: str) -> bool:
        return allowed(principal, action, resource_name("user", profile.id))

    local = profile.source == admin.LOCAL
    is_self = principal.user_id == profile.id
    protected = profile.super_admin
    found = Abilities(
        manage=False,
        reset_password=may("iam:ResetPassword") and local and not is_self,
        deactivate=may("iam:UpdateUserStatus") and profile.active and not protected and not is_self,
        reactivate=may("iam:UpdateUserStatus") and not profile.active,
        delete=may("iam:DeleteUser") and local and not protected and not is_self,
        hand_over=may("iam:HandOverUser") and local and not protected,
        assign_roles=may("iam:UpdateUserRole") and not protected,
        set_boundary=may("iam:UpdateUserBoundary") and not protected,
        is_self=is_self,
    )
    manage = any((found.reset_password, found.deactivate, found.reactivate, found.delete, found.hand_over))
    return Abilities(**{**{f: getattr(found, f) for f in Abilities.__slots__}, "manage": manage})


def _deactivated(done: admin.StatusChange) -> str:
    if not done.changed:
        return f"{done.user.user_name} was already deactivated."
    ended = f" {done.sessions_ended} session(s) ended." if done.sessions_ended else ""
    return f"{done.user.user_name} is deactivated and cannot sign in.{ended}"


def _reactivated(done: admin.StatusChange) -> str:
    if not done.changed:
        return f"{done.user.user_name} was already active."
    return f"{done.user.user_name} is active again."


# ---------------------------------------------------------------------------------------- routes


def routes(dashboard: Dashboard) -> list[Route]:
    """The users routes."""
    db = dashboard.db

    def principal(request: Request) -> Principal:
        return request.scope["gatehouse.principal"]  # type: ignore[no-any-return]

    def require(request: Request, action: str, user_id: str, what: str) -> None:
        """Refuse a page (a form, a confirmation) whose action the viewer may not take on this user."""
        if not allowed(principal(request), action, resource_name("user", user_id)):
            raise Forbidden(f"You are not allowed to {what} ({action}).")

    def change(event: str, user_id: str | None, **summary: Any) -> Change:
        return Change(event, "user", user_id, summary)

    async def load(user_id: str) -> UserProfile:
        found = await db.read(lambda c: directory.profile(c, user_id, idle=dashboard.idle))
        if found is None:
            raise NotFound("There is no user with this id. They may have been deleted.")
        return found

    def refused(request: Request, exc: GatehouseError, user_id: str | None) -> Response:
        back = f"{BASE}/{user_id}" if user_id and not isinstance(exc, NotFound) else BASE
        return dashboard.render(request, "users/refused.html", status=exc.status, detail=exc.detail, back=back)

    async def act(
        request: Request,
        user_id: str,
        event: Change,
        work: Callable[[Connection], Any],
        message: Callable[[Any], str],
        to: str = "",
    ) -> Response:
        try:
            result = await audited(db, dashboard.origin(request), event, work)
        except GatehouseError as exc:
            return refused(request, exc, user_id)
        return dashboard.redirect(to or f"{BASE}/{user_id}", message(result))

    @page(dashboard)
    async def listing(request: Request) -> Response:
        me = principal(request)
        if not allowed(me, "iam:GetUser", resource_name("user", "*")):
            return dashboard.redirect(f"{BASE}/{me.user_id}")  # with no right to list: their own profile
        query = directory_query(request.query_params)

        def read(connection: Connection) -> tuple[directory.DirectoryPage, dict[str, list[holdings.Holding]]]:
            found = directory.search_users(connection, query)
            return found, holdings.roles_of_users(connection, [row.id for row in found.rows])

        result, held = await db.read(read)
        return dashboard.render(
            request,
            "users/list.html",
            query=query,
            result=result,
            headers=headers(query),
            link=lambda **changes: list_url(query, **changes),
            filters=describe_filters(query),
            statuses=[("all", "All"), *STATUS_LABELS.items()],
            sources=[("all", "All"), *SOURCE_LABELS.items()],
            source_labels=SOURCE_LABELS,
            held=held,
            can_invite=allowed(me, "iam:InviteUser", resource_name("user", "*")),
        )

    @page(dashboard)
    async def invite(request: Request) -> Response:
        require(request, "iam:InviteUser", "*", "invite users")
        if request.method == "GET":
            return dashboard.render(request, "users/new.html", values={}, min_length=MIN_PASSWORD_LENGTH)
        form = posted(request)
        values = {k: str(form.get(k, "")) for k in ("user_name", "email", "name")}
        password, again = str(form.get("password", "")), str(form.get("confirm_password", ""))
        me = principal(request)

        def again_with(exc: GatehouseError) -> Response:
            return dashboard.render(
                request,
                "users/new.html",
                status=exc.status,
                error=exc.detail,
                values=values,
                min_length=MIN_PASSWORD_LENGTH,
            )

        try:
            new = admin.new_local_user(values["user_name"], values["email"], values["name"])
            if password != again:
                raise InvalidInput("The two passwords differ.")
            if await db.read(lambda c: user_store.get_by_user_name(c, new.user_name)) is not None:
                raise Conflict(f"The username '{new.user_name}' is already taken (usernames ignore case).")
            chosen = await blocking(lambda: admin.OneTimePassword.choose(password))
            created = await audited(
                db,
                dashboard.origin(request),
                change("iam:InviteUser", None, user_name=new.user_name, email=new.email, name=new.name),
                lambda c: admin.create_local_user(c, me, new, chosen),
                describe=lambda user, event: event.about(user.id),
            )
        except GatehouseError as exc:
            return again_with(exc)
        return dashboard.redirect(
            f"{BASE}/{created.id}",
            f"Local user {created.user_name} created. Give them the one-time password: "
            "they must choose their own at their first sign-in.",
        )

    @page(dashboard)
    async def detail(request: Request) -> Response:
        me = principal(request)
        user_id = request.path_params["user_id"]
        if me.user_id != user_id and not allowed(me, "iam:GetUser", resource_name("user", user_id)):
            raise Forbidden("You are not allowed to view this user (iam:GetUser).")
        profile = await load(user_id)
        person, contact, enterprise = profile_facts(profile)
        may = abilities(me, profile)

        def access(connection: Connection) -> dict[str, Any]:
            held = held_roles(connection, user_id)
            boundaries = policy_store.boundaries_of(connection, [user_id])[user_id]
            policies = policy_store.get_many(connection, {b.policy_id for b in boundaries})

            def bounds(mapped: bool) -> list[policy_store.StoredPolicy]:
                ids = dict.fromkeys(b.policy_id for b in boundaries if (b.source == role_store.SSO) is mapped)
                return [policies[policy_id] for policy_id in ids if policy_id in policies]

            found: dict[str, Any] = {  # SSO-mapped grants apart: the next SSO sign-in recomputes them
                "held": [r for r in held if any(o.kind != "sso" for o in r.origins)],
                "mapped": [r for r in held if any(o.kind == "sso" for o in r.origins)],
                "boundaries": bounds(False),
                "mapped_boundaries": bounds(True),
                "sso_links": sso_links.links_of_user(connection, user_id),
                "direct": {
                    a.role_id
                    for a in role_store.assignments_of(connection, [user_id])[user_id]
                    if a.source == role_store.MANUAL
                },
                "all_roles": [r for r in role_store.list_all(connection) if r.id != SUPER_ADMIN_ROLE_ID]
                if may.assign_roles
                else [],
                "all_policies": policy_store.list_all(connection) if may.set_boundary else [],
            }
            return found

        return dashboard.render(
            request,
            "users/detail.html",
            profile=profile,
            person=person,
            contact=contact,
            enterprise=enterprise,
            may=may,
            access=await db.read(access),
            source_labels=SOURCE_LABELS,
            event_labels=EVENT_LABELS,
            idp_may_revert=IDP_MAY_REVERT,
        )

    @page(dashboard)
    async def set_roles(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        wanted = [str(v) for v in posted(request).getlist("role_id") if v]
        me = principal(request)
        return await act(
            request,
            user_id,
            change("iam:UpdateUserRole", user_id, role_ids=wanted),
            lambda c: rbac.set_user_roles(c, me, user_id, wanted),
            lambda done: _assignment_message("role", done),
        )

    @page(dashboard)
    async def set_boundaries(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        wanted = [str(v) for v in posted(request).getlist("policy_id") if v]
        me = principal(request)
        return await act(
            request,
            user_id,
            change("iam:UpdateUserBoundary", user_id, policy_ids=wanted),
            lambda c: rbac.set_boundaries(c, me, user_id, wanted),
            lambda done: _assignment_message("permission boundary", done),
        )

    @page(dashboard)
    async def reset_password(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        require(request, "iam:ResetPassword", user_id, "reset this user's password")
        profile = await load(user_id)
        if request.method == "GET":
            return dashboard.render(request, "users/password.html", profile=profile, min_length=MIN_PASSWORD_LENGTH)
        form = posted(request)
        password, again = str(form.get("password", "")), str(form.get("confirm_password", ""))
        me = principal(request)
        try:
            if password != again:
                raise InvalidInput("The two passwords differ.")
            chosen = await blocking(lambda: admin.OneTimePassword.choose(password))
            await audited(
                db,
                dashboard.origin(request),
                change("iam:ResetPassword", user_id),
                lambda c: admin.reset_password(c, me, user_id, chosen),
            )
        except GatehouseError as exc:
            return dashboard.render(
                request,
                "users/password.html",
                status=exc.status,
                error=exc.detail,
                profile=profile,
                min_length=MIN_PASSWORD_LENGTH,
            )
        return dashboard.redirect(
            f"{BASE}/{user_id}",
            f"{profile.user_name} has a one-time password now: they must change it at their next sign-in. "
            "Their sessions have ended.",
        )

    def confirm(request: Request, profile: UserProfile, **context: Any) -> Response:
        return dashboard.render(request, "confirm.html", cancel=f"{BASE}/{profile.id}", **context)

    @page(dashboard)
    async def deactivate(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        if request.method == "GET":
            require(request, "iam:UpdateUserStatus", user_id, "change this user's status")
            profile = await load(user_id)
            return confirm(
                request,
                profile,
                title=f"Deactivate {profile.user_name}?",
                question=f"{profile.user_name} will be signed out everywhere at once and cannot sign in until "
                "reactivated. Nothing is deleted.",
                warning=IDP_MAY_REVERT if profile.source != admin.LOCAL else None,
                action=f"{BASE}/{user_id}/deactivate",
                confirm_label="Deactivate",
            )
        me = principal(request)
        return await act(
            request,
            user_id,
            change("iam:UpdateUserStatus", user_id, active=False),
            lambda c: admin.set_status(c, me, user_id, False),
            _deactivated,
        )

    @page(dashboard)
    async def reactivate(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        me = principal(request)
        return await act(
            request,
            user_id,
            change("iam:UpdateUserStatus", user_id, active=True),
            lambda c: admin.set_status(c, me, user_id, True),
            _reactivated,
        )

    @page(dashboard)
    async def delete(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        if request.method == "GET":
            require(request, "iam:DeleteUser", user_id, "delete this user")
            profile = await load(user_id)
            return confirm(
                request,
                profile,
                title=f"Delete {profile.user_name}?",
                question=f"{profile.user_name}, their sessions and their history are deleted for good. "
                "To keep the record, deactivate them instead.",
                action=f"{BASE}/{user_id}/delete",
                confirm_label="Delete user",
            )
        me = principal(request)
        return await act(
            request,
            user_id,
            change("iam:DeleteUser", user_id),
            lambda c: admin.delete_user(c, me, user_id),
            lambda gone: f"{gone.user_name} is deleted.",
            to=BASE,
        )

    @page(dashboard)
    async def hand_over(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        if request.method == "GET":
            require(request, "iam:HandOverUser", user_id, "hand this user to the identity provider")
            profile = await load(user_id)
            return confirm(
                request,
                profile,
                title=f"Hand {profile.user_name} to the identity provider?",
                question=f"{profile.user_name} becomes a SCIM user: your identity provider sees the account, can "
                "link it when it provisions the same username, and from then on owns its attributes and status. "
                "Their Gatehouse password keeps working. This cannot be undone from the dashboard.",
                action=f"{BASE}/{user_id}/hand-over",
                confirm_label="Hand to the IdP",
            )
        me = principal(request)
        return await act(
            request,
            user_id,
            change("iam:HandOverUser", user_id),
            lambda c: admin.hand_to_idp(c, me, user_id),
            lambda user: f"{user.user_name} is now managed by your identity provider.",
        )

    return [
        Route(BASE, listing, methods=["GET"]),
        Route(f"{BASE}/new", invite, methods=["GET", "POST"]),
        Route(BASE + "/{user_id}", detail, methods=["GET"]),
        Route(BASE + "/{user_id}/password", reset_password, methods=["GET", "POST"]),
        Route(BASE + "/{user_id}/deactivate", deactivate, methods=["GET", "POST"]),
        Route(BASE + "/{user_id}/reactivate", reactivate, methods=["POST"]),
        Route(BASE + "/{user_id}/delete", delete, methods=["GET", "POST"]),
        Route(BASE + "/{user_id}/hand-over", hand_over, methods=["GET", "POST"]),
        Route(BASE + "/{user_id}/roles", set_roles, methods=["POST"]),
        Route(BASE + "/{user_id}/boundaries", set_boundaries, methods=["POST"]),
    ]


def _assignment_message(what: str, done: rbac.AssignmentChange) -> str:
    if not done.added and not done.removed:
        return f"Nothing changed: the {what}s were already these."
    parts = []
    if done.added:
        parts.append(f"{len(done.added)} {what}(s) added")
    if done.removed:
        parts.append(f"{len(done.removed)} {what}(s) removed")
    return " and ".join(parts).capitalize() + ". It applies from the user's next request."
