"""Organization → Roles: the list, a role's page (policies, holders, groups), create, edit and delete.

Thin handlers over the use cases of :mod:`gatehouse.iam.roles`, which check every permission themselves;
the pages only hide what the viewer may not use. Every change is audited (:mod:`gatehouse.web.actions`).
Plain links and forms: everything works without JavaScript; deleting asks on its own page first.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import role_safety as safety
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID
from gatehouse.iam.policies import list_policies
from gatehouse.iam.rbac_forms import RoleInput, role_input
from gatehouse.store.database import Connection
from gatehouse.store.records import Reference
from gatehouse.web.actions import (
    Confirmation,
    act,
    act_or_show,
    change,
    confirm_then_act,
    delete_named,
    deletion_question,
    form_list,
    form_text,
    form_version,
    in_use_warning,
    labelled_values,
    labels_text,
    parse_labels,
    refused,
)
from gatehouse.web.dashboard import dashboard_of, page, principal_of
from gatehouse.web.routes.groups import unbind_role

BASE: Final = "/organization/roles"
HOLDERS_SHOWN: Final = 20
_FIELDS: Final = ("name", "description", "labels")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _posted_role(request: Request) -> dict[str, str]:
    return {name: form_text(request, name) for name in _FIELDS}


def _role_form(values: dict[str, str]) -> RoleInput:
    return role_input(values["name"], values["description"], parse_labels(values["labels"]))


def _back(request: Request) -> str:
    return f"{BASE}/{request.path_params['role_id']}"


@page
async def listing(request: Request) -> Response:
    principal = principal_of(request)
    lines = await dashboard_of(request).db.read(lambda c: rbac.role_lines(c, principal))
    return dashboard_of(request).render(request, "roles/list.html", lines=lines, super_admin_id=SUPER_ADMIN_ROLE_ID)


@page
async def create(request: Request) -> Response:
    dashboard, principal = dashboard_of(request), principal_of(request)
    if request.method == "GET":
        policies = await dashboard.db.read(lambda c: rbac.new_role_choices(c, principal))
        return dashboard.render(request, "roles/form.html", role=None, values={}, policies=policies, chosen=[])
    values, chosen = _posted_role(request), form_list(request, "policy_id")

    async def show_again(exc: GatehouseError) -> Response:
        policies = await dashboard.db.read(lambda c: list_policies(c, principal))
        return dashboard.render(
            request, "roles/form.html", status=exc.status, error=exc.detail, role=None, values=values,
            policies=policies, chosen=chosen,
        )  # fmt: skip

    return await act_or_show(
        request,
        Change("iam:CreateRole", "role", None, {"name": values["name"], "policies": chosen}),
        lambda c: rbac.create_role(c, principal, _role_form(values), chosen),
        back=BASE,
        show_again=show_again,
        done=lambda view: (f"{BASE}/{view.role.id}", f"Role {view.role.name} created."),
        describe=lambda view, recorded: recorded.about(view.role.id),
    )


@page
async def detail(request: Request) -> Response:
    principal, role_id = principal_of(request), request.path_params["role_id"]
    shown = await dashboard_of(request).db.read(lambda c: rbac.role_page(c, principal, role_id, HOLDERS_SHOWN))
    role, may = shown.view.role, rbac.role_abilities(principal, shown.view.role)
    choices = (
        await dashboard_of(request).db.read(lambda c: safety.group_choices(c, principal, role_id)) if may.bind else None
    )
    return dashboard_of(request).render(
        request, "roles/detail.html", page=shown, role=role, may=may, super_admin=role.id == SUPER_ADMIN_ROLE_ID,
        labels_text=labels_text, group_choices=choices, delete_blocker=safety.delete_blocker(shown),
    )  # fmt: skip


@page
async def edit(request: Request) -> Response:
    dashboard, principal = dashboard_of(request), principal_of(request)
    role_id, back = request.path_params["role_id"], _back(request)
    if request.method == "GET":
        role = (await dashboard.db.read(lambda c: rbac.get_role(c, principal, role_id))).role
        refusal = rbac.refusal(principal, role, "update")
        if refusal is not None:
            return refused(request, refusal, back)
        values = labelled_values(role)
        return dashboard.render(request, "roles/form.html", role=role, values=values, version=role.version)
    values, version = _posted_role(request), form_version(request)

    async def show_again(exc: GatehouseError) -> Response:
        role = (await dashboard.db.read(lambda c: rbac.get_role(c, principal, role_id))).role
        return dashboard.render(
            request, "roles/form.html", status=exc.status, error=exc.detail, role=role, values=values, version=version
        )

    return await act_or_show(
        request,
        Change("iam:UpdateRole", "role", role_id, {"name": values["name"], "labels": values["labels"]}),
        lambda c: rbac.update_role(c, principal, role_id, _role_form(values), None, version),
        back=back,
        show_again=show_again,
        done=lambda _: (back, "Role saved."),
    )


def _delete_question(connection: Connection, request: Request) -> Confirmation | GatehouseError:
    principal = principal_of(request)
    shown = rbac.role_page(connection, principal, request.path_params["role_id"], HOLDERS_SHOWN)
    role = shown.view.role
    refusal = rbac.refusal(principal, role, "delete")
    if refusal is not None:
        return refusal
    users = f"assigned to {_plural(shown.counts.users, 'user')}" if shown.counts.users else ""
    groups = f"bound to {_plural(len(shown.groups), 'group')}" if shown.groups else ""
    warning = in_use_warning("This role", (users, groups), "those are removed")
    return deletion_question("role", role.name, "Delete role", warning, after="; its policies stay")


@page
async def delete(request: Request) -> Response:
    principal, role_id = principal_of(request), request.path_params["role_id"]
    return await delete_named(
        request,
        Change("iam:DeleteRole", "role", role_id),
        lambda c: rbac.delete_role(c, principal, role_id),
        noun="Role",
        listing=BASE,
        back=_back(request),
        ask=lambda c: _delete_question(c, request),
    )


def _attach_question(connection: Connection, request: Request) -> Confirmation:
    ids = [i for i in request.query_params.getlist("policy_id") if i][:20]
    sweeping = safety.sweeping_policies(connection, principal_of(request), request.path_params["role_id"], ids)
    role = rbac.get_role(connection, principal_of(request), request.path_params["role_id"]).role
    names = ", ".join(p.name for p in sweeping) or ", ".join(ids)
    return Confirmation(
        f"Attach {names} to {role.name}?",
        f"{names} grants every IAM action on every resource: everyone holding {role.name} could then do anything "
        "an administrator can, including changing their own roles, login options and SCIM provisioning.",
        "Attach and grant everything",
        "Attach a narrower policy unless this role is meant to be all-powerful.",
        {"policy_id": ids[0] if ids else "", "confirmed": "yes"},
    )


@page
async def attach(request: Request) -> Response:
    """A policy that grants everything is attached only after its own confirmation page says so."""
    dashboard, principal, role_id = dashboard_of(request), principal_of(request), request.path_params["role_id"]
    ids = form_list(request, "policy_id") if request.method == "POST" else []
    confirmed = request.method == "POST" and form_text(request, "confirmed", 5) == "yes"
    if request.method == "POST" and not confirmed and ids:
        try:
            sweeping = await dashboard.db.read(lambda c: safety.sweeping_policies(c, principal, role_id, ids))
        except GatehouseError as exc:
            if exc.status != 403:
                return refused(request, exc, _back(request))
            sweeping = []  # not allowed: the change below is refused and the refusal recorded
        if sweeping:
            return dashboard.redirect(f"{BASE}/{role_id}/policies/attach?{urlencode({'policy_id': ids[0]})}")

    def work(connection: Connection) -> rbac.RoleView:
        if not ids:
            raise InvalidInput("Choose a permission policy to attach.")
        return rbac.attach_policies(connection, principal, role_id, ids)

    what = Change("iam:UpdateRole", "role", role_id, {"attach_policies": ids})
    done = "Policy attached." if len(ids) == 1 else f"{len(ids)} policies attached."

    def describe(view: rbac.RoleView, recorded: Change) -> Change:  # the names of the moment, for the audit log
        return recorded.about(name=view.role.name, policy_names=[p.name for p in view.policies if p.id in ids])

    if request.method == "GET":
        return await confirm_then_act(
            request, back=_back(request), ask=lambda c: _attach_question(c, request), what=what, work=work,
            done=lambda _: (_back(request), done), describe=describe,
        )  # fmt: skip
    return await act(request, what, work, _back(request), done, describe)


@page
async def detach(request: Request) -> Response:
    principal, role_id, ids = principal_of(request), request.path_params["role_id"], form_list(request, "policy_id")
    what = Change("iam:UpdateRole", "role", role_id, {"detach_policies": ids})

    def work(connection: Connection) -> tuple[rbac.RoleView, list[str]]:
        before = rbac.get_role(connection, principal, role_id)
        return rbac.detach_policies(connection, principal, role_id, ids), [
            p.name for p in before.policies if p.id in ids
        ]

    def describe(done: tuple[rbac.RoleView, list[str]], recorded: Change) -> Change:
        return recorded.about(name=done[0].role.name, policy_names=done[1])

    return await act(request, what, work, _back(request), "Policy detached.", describe)


@page
async def bind(request: Request) -> Response:
    principal, role_id, back = principal_of(request), request.path_params["role_id"], _back(request)
    name, group_id = form_text(request, "group", 300).strip(), form_text(request, "group_id", 100)

    def work(connection: Connection) -> Reference:
        if group_id:
            return safety.bind_group_by_id(connection, principal, group_id, role_id)
        if not name:
            raise InvalidInput("Choose a group to bind.")
        return rbac.bind_group_by_name(connection, principal, name, role_id)

    what = Change("iam:UpdateGroupBinding", "group", group_id or None, {"bind_role": role_id, "group_name": name})
    try:
        group: Reference = await change(request, what, work, lambda g, c: c.about(g.id))
    except GatehouseError as exc:
        return refused(request, exc, back)
    return dashboard_of(request).redirect(back, f"Members of {group.display} now hold this role.")


@page
async def unbind(request: Request) -> Response:
    group_id, role_id = form_text(request, "group_id", 100), request.path_params["role_id"]
    done = "Group unbound: its members no longer hold this role through it."
    return await unbind_role(request, group_id, role_id, _back(request), done)


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(f"{BASE}/new", create, methods=["GET", "POST"]),
    Route(BASE + "/{role_id}", detail, methods=["GET"]),
    Route(BASE + "/{role_id}/edit", edit, methods=["GET", "POST"]),
    Route(BASE + "/{role_id}/delete", delete, methods=["GET", "POST"]),
    Route(BASE + "/{role_id}/policies/attach", attach, methods=["GET", "POST"]),
    Route(BASE + "/{role_id}/policies/detach", detach, methods=["POST"]),
    Route(BASE + "/{role_id}/groups/bind", bind, methods=["POST"]),
    Route(BASE + "/{role_id}/groups/unbind", unbind, methods=["POST"]),
]
