"""Organization → Roles: the list, a role's page (policies, holders, groups), create, edit and delete.

Thin handlers over the use cases of :mod:`gatehouse.iam.roles`, which check every permission
themselves; the pages only hide what the viewer may not use. Every change runs through
:func:`gatehouse.iam.audit.audited` (its record commits with it; a refusal or failure is recorded on its
own). Plain links and forms: everything works without JavaScript; deleting asks on its own page first.

The helpers at the top (labels as ``key=value`` lines, the refusal page, running an audited change) are
shared with the Permission Policies and Groups pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Forbidden, GatehouseError, InvalidInput, NotFound
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change, audited
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, Principal, allowed
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.iam.rbac_forms import role_input
from gatehouse.store import group_directory
from gatehouse.store import roles as role_store
from gatehouse.store.group_directory import RoleCounts
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.records import Reference
from gatehouse.store.roles import StoredRole
from gatehouse.web.dashboard import Dashboard, page, posted

BASE = "/organization/roles"
POLICIES = "/organization/permission-policies"
HOLDERS_SHOWN = 20


# ------------------------------------------------------------------------------------------ shared


def parse_labels(text: str) -> dict[str, str]:
    """Labels written one per line as ``key=value`` (blank lines skipped); keys and values are checked
    afterwards by the use case's form (:func:`gatehouse.iam.rbac_forms.check_labels`)."""
    labels: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals or not key:
            raise InvalidInput(f"labels, line {number}: write one label per line as key=value, e.g. team=sre.")
        if key in labels:
            raise InvalidInput(f"labels, line {number}: the key '{key}' is given twice.")
        labels[key] = value.strip()
    return labels


def labels_text(labels: Mapping[str, str]) -> str:
    """Labels as the form shows them: ``key=value`` lines."""
    return "\n".join(f"{key}={value}" for key, value in labels.items())


def refused(dashboard: Dashboard, request: Request, exc: GatehouseError, back: str) -> Response:
    """The page of a change that was not made: not allowed (403), gone (404) or refused (409, 400)."""
    titles = {403: "Not allowed", 404: "Not found", 409: "Not done"}
    return dashboard.render(
        request,
        "roles/refused.html",
        status=exc.status,
        title=titles.get(exc.status, "Not done"),
        detail=exc.detail,
        back=back,
    )


def form_text(request: Request, name: str, limit: int = 10_000) -> str:
    """One field of the posted form, as text (a missing field is empty; absurd lengths are cut)."""
    return str(posted(request).get(name, ""))[:limit]


def form_version(request: Request) -> int | None:
    """The version the form was loaded at (for optimistic concurrency), if it carries one."""
    raw = form_text(request, "version", 20)
    return int(raw) if raw.isdigit() else None


async def change(
    dashboard: Dashboard,
    request: Request,
    what: Change,
    work: Callable[[Connection], Any],
    describe: Callable[[Any, Change], Change] | None = None,
) -> Any:
    """Run ``work`` audited, as the signed-in user from this browser (raises what the use case raises)."""
    return await audited(dashboard.db, dashboard.origin(request), what, work, describe=describe)


async def act_and_return(
    dashboard: Dashboard, request: Request, what: Change, work: Callable[[Connection], Any], back: str, done: str
) -> Response:
    """Run a change audited, then back to ``back`` with ``done`` as the message, or the refusal page."""
    try:
        await change(dashboard, request, what, work)
    except GatehouseError as exc:
        return refused(dashboard, request, exc, back)
    return dashboard.redirect(back, done)


# ------------------------------------------------------------------------------------------ views


@dataclass(frozen=True, slots=True)
class RoleLine:
    """One line of the Roles table."""

    role: StoredRole
    policies: int
    counts: RoleCounts


@dataclass(frozen=True, slots=True)
class RolePage:
    """Everything a role's page shows."""

    view: rbac.RoleView
    groups: list[Reference]
    counts: RoleCounts
    holders: list[Reference]
    attachable: list[StoredPolicy]


@dataclass(frozen=True, slots=True)
class RoleAbilities:
    """What the viewer may do with the role shown (with its labels; the use cases check again)."""

    update: bool
    delete: bool
    bind: bool


def _labels(role: StoredRole) -> dict[str, Mapping[str, str]]:
    return {"role_label": role.labels}


def role_abilities(principal: Principal, role: StoredRole) -> RoleAbilities:
    resource = resource_name("role", role.id)
    editable = not role.built_in
    return RoleAbilities(
        update=editable and allowed(principal, "iam:UpdateRole", resource, _labels(role)),
        delete=editable and allowed(principal, "iam:DeleteRole", resource, _labels(role)),
        bind=role.id != SUPER_ADMIN_ROLE_ID
        and not role.built_in
        and allowed(principal, "iam:UpdateGroupBinding", resource_name("group", ANY_ID)),
    )


def _role_lines(connection: Connection, principal: Principal) -> list[RoleLine]:
    found = rbac.list_roles(connection, principal)
    if not found and not allowed(principal, "iam:GetRole", resource_name("role", ANY_ID)):
        raise Forbidden("You are not allowed to view roles (iam:GetRole).")
    ids = [role.id for role in found]
    attached = role_store.policy_ids_of(connection, ids)
    counts = group_directory.role_counts(connection, ids)
    return [RoleLine(role, len(attached[role.id]), counts[role.id]) for role in found]


def _role_page(connection: Connection, principal: Principal, role_id: str) -> RolePage:
    view = rbac.get_role(connection, principal, role_id)
    bound = rbac.groups_of_role(connection, principal, role_id)
    counts = group_directory.role_counts(connection, [role_id])[role_id]
    holders = group_directory.role_holders(connection, role_id, HOLDERS_SHOWN)
    attachable: list[StoredPolicy] = []
    if not view.role.built_in:
        attached = {policy.id for policy in view.policies}
        attachable = [p for p in rbac.list_policies(connection, principal) if p.id not in attached]
    return RolePage(view, bound, counts, holders, attachable)


def _new_role_form(connection: Connection, principal: Principal) -> list[StoredPolicy]:
    if not allowed(principal, "iam:CreateRole", resource_name("role", ANY_ID)):
        raise Forbidden("You are not allowed to create roles (iam:CreateRole).")
    return rbac.list_policies(connection, principal)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# ------------------------------------------------------------------------------------------ routes


def routes(dashboard: Dashboard) -> list[Route]:
    """The Roles routes."""
    db = dashboard.db

    @page(dashboard)
    async def listing(request: Request) -> Response:
        principal = await dashboard.principal(request)
        lines = await db.read(lambda c: _role_lines(c, principal))
        return dashboard.render(request, "roles/list.html", lines=lines, super_admin_id=SUPER_ADMIN_ROLE_ID)

    @page(dashboard)
    async def create(request: Request) -> Response:
        principal = await dashboard.principal(request)
        if request.method == "GET":
            policies = await db.read(lambda c: _new_role_form(c, principal))
            return dashboard.render(request, "roles/form.html", role=None, values={}, policies=policies, chosen=[])
        values = {name: form_text(request, name) for name in ("name", "description", "labels")}
        chosen = [str(v) for v in posted(request).getlist("policy_id")]

        def work(connection: Connection) -> rbac.RoleView:
            form = role_input(values["name"], values["description"], parse_labels(values["labels"]))
            return rbac.create_role(connection, principal, form, chosen)

        what = Change("iam:CreateRole", "role", None, {"name": values["name"], "policies": chosen})
        try:
            view = await change(dashboard, request, what, work, lambda v, c: c.about(v.role.id))
        except GatehouseError as exc:
            if exc.status in (403, 404):
                return refused(dashboard, request, exc, BASE)
            policies = await db.read(lambda c: rbac.list_policies(c, principal))
            return dashboard.render(
                request,
                "roles/form.html",
                status=exc.status,
                error=exc.detail,
                role=None,
                values=values,
                policies=policies,
                chosen=chosen,
            )
        return dashboard.redirect(f"{BASE}/{view.role.id}", f"Role {view.role.name} created.")

    @page(dashboard)
    async def detail(request: Request) -> Response:
        principal = await dashboard.principal(request)
        role_id = request.path_params["role_id"]
        shown = await db.read(lambda c: _role_page(c, principal, role_id))
        return dashboard.render(
            request,
            "roles/detail.html",
            page=shown,
            role=shown.view.role,
            may=role_abilities(principal, shown.view.role),
            super_admin=shown.view.role.id == SUPER_ADMIN_ROLE_ID,
            labels_text=labels_text,
        )

    @page(dashboard)
    async def edit(request: Request) -> Response:
        principal = await dashboard.principal(request)
        role_id = request.path_params["role_id"]
        back = f"{BASE}/{role_id}"
        if request.method == "GET":
            role = (await db.read(lambda c: rbac.get_role(c, principal, role_id))).role
            refusal = _refusal(principal, role, "update")
            if refusal is not None:
                return refused(dashboard, request, refusal, back)
            values = {"name": role.name, "description": role.description, "labels": labels_text(role.labels)}
            return dashboard.render(request, "roles/form.html", role=role, values=values, version=role.version)
        values = {name: form_text(request, name) for name in ("name", "description", "labels")}
        version = form_version(request)

        def work(connection: Connection) -> rbac.RoleView:
            form = role_input(values["name"], values["description"], parse_labels(values["labels"]))
            return rbac.update_role(connection, principal, role_id, form, None, version)

        what = Change("iam:UpdateRole", "role", role_id, {"name": values["name"], "labels": values["labels"]})
        try:
            await change(dashboard, request, what, work)
        except GatehouseError as exc:
            if exc.status in (403, 404):
                return refused(dashboard, request, exc, back)
            role = (await db.read(lambda c: rbac.get_role(c, principal, role_id))).role
            return dashboard.render(
                request,
                "roles/form.html",
                status=exc.status,
                error=exc.detail,
                role=role,
                values=values,
                version=version,
            )
        return dashboard.redirect(back, "Role saved.")

    @page(dashboard)
    async def delete(request: Request) -> Response:
        principal = await dashboard.principal(request)
        role_id = request.path_params["role_id"]
        back = f"{BASE}/{role_id}"
        if request.method == "GET":
            shown = await db.read(lambda c: _role_page(c, principal, role_id))
            role = shown.view.role
            refusal = _refusal(principal, role, "delete")
            if refusal is not None:
                return refused(dashboard, request, refusal, back)
            uses = []
            if shown.counts.users:
                uses.append(f"assigned to {_plural(shown.counts.users, 'user')}")
            if shown.groups:
                uses.append(f"bound to {_plural(len(shown.groups), 'group')}")
            warning = (
                f"This role is {' and '.join(uses)}: it cannot be deleted until those are removed." if uses else None
            )
            return dashboard.render(
                request,
                "confirm.html",
                title=f"Delete the role {role.name}?",
                question=f"The role {role.name} is deleted for good; its policies stay.",
                warning=warning,
                action=f"{back}/delete",
                confirm_label="Delete role",
                cancel=back,
            )
        what = Change("iam:DeleteRole", "role", role_id)
        try:
            gone = await change(
                dashboard,
                request,
                what,
                lambda c: rbac.delete_role(c, principal, role_id),
                lambda role, c: c.about(None, name=role.name),
            )
        except GatehouseError as exc:
            return refused(dashboard, request, exc, back)
        return dashboard.redirect(BASE, f"Role {gone.name} deleted.")

    async def role_action(request: Request, what: Change, work: Callable[[Connection], Any], done: str) -> Response:
        return await act_and_return(dashboard, request, what, work, f"{BASE}/{request.path_params['role_id']}", done)

    @page(dashboard)
    async def attach(request: Request) -> Response:
        principal = await dashboard.principal(request)
        role_id = request.path_params["role_id"]
        ids = [str(v) for v in posted(request).getlist("policy_id") if v]
        what = Change("iam:UpdateRole", "role", role_id, {"attach_policies": ids})

        def work(connection: Connection) -> rbac.RoleView:
            if not ids:
                raise InvalidInput("Choose a permission policy to attach.")
            return rbac.attach_policies(connection, principal, role_id, ids)

        done = "Policy attached." if len(ids) == 1 else f"{len(ids)} policies attached."
        return await role_action(request, what, work, done)

    @page(dashboard)
    async def detach(request: Request) -> Response:
        principal = await dashboard.principal(request)
        role_id = request.path_params["role_id"]
        ids = [str(v) for v in posted(request).getlist("policy_id") if v]
        what = Change("iam:UpdateRole", "role", role_id, {"detach_policies": ids})
        work = lambda c: rbac.detach_policies(c, principal, role_id, ids)  # noqa: E731
        return await role_action(request, what, work, "Policy detached.")

    @page(dashboard)
    async def bind(request: Request) -> Response:
        principal = await dashboard.principal(request)
        role_id = request.path_params["role_id"]
        name = form_text(request, "group", 300).strip()
        what = Change("iam:UpdateGroupBinding", "group", None, {"bind_role": role_id, "group_name": name})

        def work(connection: Connection) -> Reference:
            group = group_directory.find_by_name(connection, name) if name else None
            if group is None:
                raise NotFound(f"There is no group named '{name}'." if name else "Type the name of a group.")
            rbac.bind_group_role(connection, principal, group.id, role_id)
            return group

        back = f"{BASE}/{role_id}"
        try:
            group = await change(dashboard, request, what, work, lambda g, c: c.about(g.id))
        except GatehouseError as exc:
            return refused(dashboard, request, exc, back)
        return dashboard.redirect(back, f"Members of {group.display} now hold this role.")

    @page(dashboard)
    async def unbind(request: Request) -> Response:
        principal = await dashboard.principal(request)
        role_id = request.path_params["role_id"]
        group_id = form_text(request, "group_id", 100)
        what = Change("iam:UpdateGroupBinding", "group", group_id, {"unbind_role": role_id})
        work = lambda c: rbac.unbind_group_role(c, principal, group_id, role_id)  # noqa: E731
        return await role_action(request, what, work, "Group unbound: its members no longer hold this role through it.")

    return [
        Route(BASE, listing, methods=["GET"]),
        Route(f"{BASE}/new", create, methods=["GET", "POST"]),
        Route(BASE + "/{role_id}", detail, methods=["GET"]),
        Route(BASE + "/{role_id}/edit", edit, methods=["GET", "POST"]),
        Route(BASE + "/{role_id}/delete", delete, methods=["GET", "POST"]),
        Route(BASE + "/{role_id}/policies/attach", attach, methods=["POST"]),
        Route(BASE + "/{role_id}/policies/detach", detach, methods=["POST"]),
        Route(BASE + "/{role_id}/groups/bind", bind, methods=["POST"]),
        Route(BASE + "/{role_id}/groups/unbind", unbind, methods=["POST"]),
    ]


def _refusal(principal: Principal, role: StoredRole, verb: str) -> GatehouseError | None:
    """Why the viewer may not open the edit or delete page of a role (the change itself checks again)."""
    if role.built_in:
        return rbac.Protected(f"The built-in role '{role.name}' cannot be edited or deleted.")
    if not getattr(role_abilities(principal, role), verb):
        return Forbidden(f"You are not allowed to {verb} the role '{role.name}' (iam:{verb.title()}Role).")
    return None
