"""Organization → Permission Policies: the list, a policy's page, the JSON editor (create, edit), delete,
and the policy simulator.

The editor is a ``<textarea>`` holding the policy document. The server validates it
(:func:`gatehouse.iam.rbac_forms.policy_input`): a JSON syntax error or an invalid document is shown
next to the editor with its precise location (``statement[1].actions[0]: ...``), the text kept as typed.
Beside the editor: examples (the starter Viewer document and one with a label condition and a deny)
and the action catalog, grouped. ``/static/policy-editor.js`` only adds conveniences (format, check
before sending, insert an example); every page works without it.

The simulator (``GET .../simulator``) answers: would this user be allowed this action on this resource
now, and which statement decides? (:func:`gatehouse.iam.simulator.simulate`, which needs
``iam:GetUser`` on the user.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import Forbidden, GatehouseError, InvalidInput
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal, allowed
from gatehouse.iam.catalog import ACTIONS, ACTIONS_BY_NAME, ANY_ID, GROUPS, VIEWER_POLICY, Action, resource_name
from gatehouse.iam.policy import PolicyError, parse_policy
from gatehouse.iam.rbac_forms import PolicyInput, policy_input
from gatehouse.iam.simulator import Simulation, simulate
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.policies import StoredPolicy
from gatehouse.web.dashboard import Dashboard, page
from gatehouse.web.routes.roles import change, form_text, form_version, labels_text, parse_labels, refused

BASE = "/organization/permission-policies"
SIMULATOR = f"{BASE}/simulator"
MAX_DOCUMENT_FIELD = 300_000
"""Characters of the editor kept from a post (the form refuses more than 256 KiB of JSON anyway)."""


def pretty(document: object) -> str:
    """A document as the editor and the policy page show it: indented JSON."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


@dataclass(frozen=True, slots=True)
class Example:
    """A policy document to start from."""

    key: str
    title: str
    text: str


LABELLED_EXAMPLE: Final[Mapping[str, object]] = {
    "statement": [
        {"effect": "allow", "actions": ["iam:Get<.*>"], "resources": ["*"]},
        {
            "effect": "allow",
            "actions": ["iam:UpdateRole"],
            "resources": ["arn:gatehouse:iam:role/*"],
            "conditions": {
                "role_label": {
                    "type": "MatchLabel",
                    "options": {"key": "team", "operator": "exact_match", "value": "sre"},
                }
            },
        },
        {"effect": "deny", "actions": ["iam:DeleteRole"], "resources": ["arn:gatehouse:iam:role/*"]},
    ]
}
"""Read everything, edit the roles labelled team=sre, never delete a role (deny overrides allow)."""

EXAMPLES: Final[tuple[Example, ...]] = (
    Example("viewer", "Read-only (the starter Viewer policy)", pretty(parse_policy(VIEWER_POLICY).as_dict())),
    Example(
        "labelled",
        "Edit roles labelled team=sre, never delete roles",
        pretty(parse_policy(LABELLED_EXAMPLE).as_dict()),
    ),
)
EXAMPLES_BY_KEY: Final = {example.key: example for example in EXAMPLES}
CATALOG: Final[tuple[tuple[str, tuple[Action, ...]], ...]] = tuple(
    (title, tuple(action for action in ACTIONS if action.group == group)) for group, title in GROUPS.items()
)
"""The action catalog by group, in display order, for the editor's reference list and the simulator."""

_LABEL_KEYS: Final = {
    "user": "user_label",
    "role": "role_label",
    "permissionpolicy": "permission_policy_label",
    "token": "token_label",
}
"""The condition key of a resource's labels, by resource kind (groups and the organization have none)."""
_FIELDS: Final = ("name", "description", "labels")


def error_field(exc: GatehouseError) -> str:
    """Which field an error is about (shown next to it): ``document`` for a policy's syntax or content."""
    if isinstance(exc, PolicyError) or exc.detail.startswith(("document", "statement")):
        return "document"
    for name in _FIELDS:
        if exc.detail.startswith(name):
            return name
    return "form"


# ------------------------------------------------------------------------------------------ reads


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One line of the Permission Policies table."""

    policy: StoredPolicy
    roles: int


@dataclass(frozen=True, slots=True)
class PolicyPage:
    """A policy's page: the policy, its document pretty-printed, and where it is used."""

    policy: StoredPolicy
    document: str
    usage: rbac.PolicyUsage


def _policy_lines(connection: Connection, principal: Principal) -> list[PolicyLine]:
    found = rbac.list_policies(connection, principal)
    if not found and not allowed(principal, "iam:GetPermissionPolicy", resource_name("permissionpolicy", ANY_ID)):
        raise Forbidden("You are not allowed to view permission policies (iam:GetPermissionPolicy).")
    using: dict[str, int] = {}
    attached = role_store.policy_ids_of(connection, [role.id for role in role_store.list_all(connection)])
    for policy_ids in attached.values():
        for policy_id in policy_ids:
            using[policy_id] = using.get(policy_id, 0) + 1
    return [PolicyLine(policy, using.get(policy.id, 0)) for policy in found]


def _policy_page(connection: Connection, principal: Principal, policy_id: str) -> PolicyPage:
    policy = rbac.get_policy(connection, principal, policy_id)
    usage = rbac.policy_usage(connection, principal, policy_id)
    return PolicyPage(policy, pretty(orjson.loads(policy.document)), usage)


@dataclass(frozen=True, slots=True)
class PolicyAbilities:
    """What the viewer may do with the policy shown (with its labels; the use cases check again)."""

    update: bool
    delete: bool


def _policy_abilities(principal: Principal, policy: StoredPolicy) -> PolicyAbilities:
    resource = resource_name("permissionpolicy", policy.id)
    labels = {"permission_policy_label": policy.labels}
    editable = not policy.built_in
    return PolicyAbilities(
        update=editable and allowed(principal, "iam:UpdatePermissionPolicy", resource, labels),
        delete=editable and allowed(principal, "iam:DeletePermissionPolicy", resource, labels),
    )


def _refusal(principal: Principal, policy: StoredPolicy, verb: str) -> GatehouseError | None:
    """Why the viewer may not open the edit or delete page of a policy (the change itself checks again)."""
    if policy.built_in:
        return rbac.Protected(f"The built-in permission policy '{policy.name}' cannot be edited or deleted.")
    if not getattr(_policy_abilities(principal, policy), verb):
        action = f"iam:{verb.title()}PermissionPolicy"
        return Forbidden(f"You are not allowed to {verb} the permission policy '{policy.name}' ({action}).")
    return None


# ------------------------------------------------------------------------------------------ simulator


DEFAULT_ACTION: Final = "iam:GetUser"


@dataclass(frozen=True, slots=True)
class Question:
    """The simulator's form, as asked."""

    user: str = ""
    action: str = DEFAULT_ACTION
    resource: str = ""
    labels: str = ""


def default_resource(action: Action, user_id: str) -> str:
    """The resource an action is checked against, made concrete: a user action asks about the simulated
    user themselves; other kinds ask about every object (``<kind>/*``): replace ``*`` with an id."""
    return action.resource.replace("{id}", user_id if action.kind == "user" else ANY_ID)


def _ask(connection: Connection, principal: Principal, question: Question) -> tuple[Simulation, str | None]:
    """Resolve the user (an id, else a username), fill the default resource and simulate; also the
    deciding statement's text when the viewer may read its policy."""
    action = ACTIONS_BY_NAME.get(question.action)
    if action is None:
        raise InvalidInput(f"Unknown action {question.action!r}: pick one from the catalog.")
    wanted = question.user.strip()
    found = user_store.get(connection, wanted) or user_store.get_by_user_name(connection, wanted)
    user_id = found.id if found else wanted  # unknown: the simulator checks iam:GetUser, then says not found
    resource = question.resource.strip() or default_resource(action, user_id)
    label_key = _LABEL_KEYS.get(action.kind)
    labels = parse_labels(question.labels)
    if labels and label_key is None:
        raise InvalidInput(f"labels: {action.kind} resources carry no labels; leave the labels empty.")
    result = simulate(connection, principal, user_id, action.name, resource, {label_key: labels} if label_key else None)
    ref = result.decision.statement
    statement = None
    if ref is not None:
        stored = _readable_policy(connection, principal, ref.policy_id)
        if stored is not None:
            statements = orjson.loads(stored.document).get("statement", [])
            if 0 <= ref.index < len(statements):
                statement = pretty(statements[ref.index])
    return result, statement


def _readable_policy(connection: Connection, principal: Principal, policy_id: str) -> StoredPolicy | None:
    try:
        return rbac.get_policy(connection, principal, policy_id)
    except GatehouseError:
        return None


# ------------------------------------------------------------------------------------------ routes


def routes(dashboard: Dashboard) -> list[Route]:
    """The Permission Policies routes (the simulator's before the policy pages, which would match it)."""
    db = dashboard.db

    def editor(request: Request, policy: StoredPolicy | None, values: dict[str, str], **context: Any) -> Response:
        exc: GatehouseError | None = context.pop("exc", None)
        return dashboard.render(
            request,
            "policies/form.html",
            status=exc.status if exc else 200,
            policy=policy,
            values=values,
            error=exc.detail if exc else None,
            error_at=error_field(exc) if exc else None,
            failed_statement=exc.statement if isinstance(exc, PolicyError) else None,
            examples=EXAMPLES,
            catalog=CATALOG,
            **context,
        )

    def posted_values(request: Request) -> dict[str, str]:
        values = {name: form_text(request, name) for name in _FIELDS}
        values["document"] = form_text(request, "document", MAX_DOCUMENT_FIELD)
        return values

    def checked(values: dict[str, str]) -> PolicyInput:
        labels = parse_labels(values["labels"])
        return policy_input(values["name"], values["document"], values["description"], labels)

    @page(dashboard)
    async def listing(request: Request) -> Response:
        principal = await dashboard.principal(request)
        lines = await db.read(lambda c: _policy_lines(c, principal))
        return dashboard.render(request, "policies/list.html", lines=lines)

    @page(dashboard)
    async def create(request: Request) -> Response:
        principal = await dashboard.principal(request)
        if request.method == "GET":
            if not allowed(principal, "iam:CreatePermissionPolicy", resource_name("permissionpolicy", ANY_ID)):
                raise Forbidden("You are not allowed to create permission policies (iam:CreatePermissionPolicy).")
            example = EXAMPLES_BY_KEY.get(request.query_params.get("example", ""))
            start = (
                example.text
                if example
                else pretty({"statement": [{"effect": "allow", "actions": [], "resources": ["*"]}]})
            )
            return editor(request, None, {"document": start})
        values = posted_values(request)
        what = Change(
            "iam:CreatePermissionPolicy",
            "permissionpolicy",
            None,
            {"name": values["name"], "document": values["document"]},
        )
        try:
            created = await change(
                dashboard,
                request,
                what,
                lambda c: rbac.create_policy(c, principal, checked(values)),
                lambda policy, c: c.about(policy.id),
            )
        except GatehouseError as exc:
            if exc.status in (403, 404):
                return refused(dashboard, request, exc, BASE)
            return editor(request, None, values, exc=exc)
        return dashboard.redirect(f"{BASE}/{created.id}", f"Permission policy {created.name} created.")

    @page(dashboard)
    async def detail(request: Request) -> Response:
        principal = await dashboard.principal(request)
        policy_id = request.path_params["policy_id"]
        shown = await db.read(lambda c: _policy_page(c, principal, policy_id))
        return dashboard.render(
            request,
            "policies/detail.html",
            page=shown,
            policy=shown.policy,
            may=_policy_abilities(principal, shown.policy),
        )

    @page(dashboard)
    async def edit(request: Request) -> Response:
        principal = await dashboard.principal(request)
        policy_id = request.path_params["policy_id"]
        back = f"{BASE}/{policy_id}"
        if request.method == "GET":
            policy = await db.read(lambda c: rbac.get_policy(c, principal, policy_id))
            refusal = _refusal(principal, policy, "update")
            if refusal is not None:
                return refused(dashboard, request, refusal, back)
            values = {
                "name": policy.name,
                "description": policy.description,
                "labels": labels_text(policy.labels),
                "document": pretty(orjson.loads(policy.document)),
            }
            return editor(request, policy, values, version=policy.version)
        values = posted_values(request)
        version = form_version(request)
        what = Change(
            "iam:UpdatePermissionPolicy",
            "permissionpolicy",
            policy_id,
            {"name": values["name"], "document": values["document"]},
        )
        try:
            await change(
                dashboard,
                request,
                what,
                lambda c: rbac.update_policy(c, principal, policy_id, checked(values), version),
            )
        except GatehouseError as exc:
            if exc.status in (403, 404):
                return refused(dashboard, request, exc, back)
            policy = await db.read(lambda c: rbac.get_policy(c, principal, policy_id))
            return editor(request, policy, values, exc=exc, version=version)
        return dashboard.redirect(back, "Permission policy saved. It applies from the next request.")

    @page(dashboard)
    async def delete(request: Request) -> Response:
        principal = await dashboard.principal(request)
        policy_id = request.path_params["policy_id"]
        back = f"{BASE}/{policy_id}"
        if request.method == "GET":
            shown = await db.read(lambda c: _policy_page(c, principal, policy_id))
            policy, usage = shown.policy, shown.usage
            refusal = _refusal(principal, policy, "delete")
            if refusal is not None:
                return refused(dashboard, request, refusal, back)
            uses = []
            if usage.roles:
                uses.append("attached to " + ", ".join(name for _, name in usage.roles))
            if usage.boundary_users:
                uses.append(f"the permission boundary of {usage.boundary_users} user(s)")
            warning = f"It is {' and '.join(uses)}: it cannot be deleted until detached." if uses else None
            return dashboard.render(
                request,
                "confirm.html",
                title=f"Delete the permission policy {policy.name}?",
                question=f"The permission policy {policy.name} is deleted for good.",
                warning=warning,
                action=f"{back}/delete",
                confirm_label="Delete policy",
                cancel=back,
            )
        what = Change("iam:DeletePermissionPolicy", "permissionpolicy", policy_id)
        try:
            gone = await change(
                dashboard,
                request,
                what,
                lambda c: rbac.delete_policy(c, principal, policy_id),
                lambda policy, c: c.about(None, name=policy.name),
            )
        except GatehouseError as exc:
            return refused(dashboard, request, exc, back)
        return dashboard.redirect(BASE, f"Permission policy {gone.name} deleted.")

    @page(dashboard)
    async def simulator(request: Request) -> Response:
        principal = await dashboard.principal(request)
        params = request.query_params
        question = Question(
            user=params.get("user", "")[:255],
            action=params.get("action", DEFAULT_ACTION),
            resource=params.get("resource", "")[:600],
            labels=params.get("labels", "")[:2000],
        )
        context: dict[str, Any] = {"question": question, "catalog": CATALOG, "result": None, "statement": None}
        status = 200
        if question.user.strip():
            try:
                context["result"], context["statement"] = await db.read(lambda c: _ask(c, principal, question))
            except GatehouseError as exc:
                status, context["error"] = exc.status, exc.detail
        return dashboard.render(request, "policies/simulator.html", status=status, **context)

    return [
        Route(BASE, listing, methods=["GET"]),
        Route(SIMULATOR, simulator, methods=["GET"]),
        Route(f"{BASE}/new", create, methods=["GET", "POST"]),
        Route(BASE + "/{policy_id}", detail, methods=["GET"]),
        Route(BASE + "/{policy_id}/edit", edit, methods=["GET", "POST"]),
        Route(BASE + "/{policy_id}/delete", delete, methods=["GET", "POST"]),
    ]
