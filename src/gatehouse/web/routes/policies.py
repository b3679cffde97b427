"""Organization → Permission Policies: the list, a policy's page, the JSON editor (create, edit), delete,
and the policy simulator.

The editor is a ``<textarea>`` holding the policy document. The server validates it
(:func:`gatehouse.iam.rbac_forms.policy_input`): a JSON syntax error or an invalid document is shown
next to the editor with its precise location (``statement[1].actions[0]: ...``), the text kept as typed.
Beside the editor: examples and the action catalog (:mod:`gatehouse.web.policy_editor`).
``/static/policy-editor.js`` only adds conveniences (format, check before sending, insert an example);
every page works without it.

The simulator (``GET .../simulator``) answers: would this user be allowed this action on this resource
now, and which statement decides? (:func:`gatehouse.iam.simulator.ask`, which needs ``iam:GetUser`` on
the user.)
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError
from gatehouse.iam import policies
from gatehouse.iam.audit import Change
from gatehouse.iam.policy import PolicyError
from gatehouse.iam.rbac_forms import PolicyInput, policy_input
from gatehouse.iam.simulator import DEFAULT_ACTION, Question, ask
from gatehouse.store.database import Connection
from gatehouse.store.policies import StoredPolicy
from gatehouse.web.actions import (
    Confirmation,
    act_or_show,
    delete_named,
    deletion_question,
    form_text,
    form_version,
    in_use_warning,
    labelled_values,
    parse_labels,
    refused,
)
from gatehouse.web.dashboard import dashboard_of, page, principal_of
from gatehouse.web.policy_editor import (
    ALIASES,
    CATALOG,
    EXAMPLES,
    EXAMPLES_BY_KEY,
    FIELDS,
    RESOURCE_NAMES,
    error_field,
    pretty,
)

BASE: Final = "/organization/permission-policies"
SIMULATOR: Final = f"{BASE}/simulator"
MAX_DOCUMENT_FIELD: Final = 300_000
"""Characters of the editor kept from a post (the form refuses more than 256 KiB of JSON anyway)."""
BLANK: Final = pretty({"statement": [{"effect": "allow", "actions": [], "resources": ["*"]}]})


def _editor(
    request: Request,
    policy: StoredPolicy | None,
    values: dict[str, str],
    exc: GatehouseError | None = None,
    **more: Any,
) -> Response:
    return dashboard_of(request).render(
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
        resource_names=RESOURCE_NAMES,
        aliases=ALIASES,
        **more,
    )


def _posted(request: Request) -> dict[str, str]:
    values = {name: form_text(request, name) for name in FIELDS}
    values["document"] = form_text(request, "document", MAX_DOCUMENT_FIELD)
    return values


def _checked(values: dict[str, str]) -> PolicyInput:
    return policy_input(values["name"], values["document"], values["description"], parse_labels(values["labels"]))


def _change(event: str, policy_id: str | None, values: dict[str, str]) -> Change:
    return Change(event, "permissionpolicy", policy_id, {"name": values["name"], "document": values["document"]})


@page
async def listing(request: Request) -> Response:
    principal = principal_of(request)
    lines = await dashboard_of(request).db.read(lambda c: policies.policy_lines(c, principal))
    return dashboard_of(request).render(request, "policies/list.html", lines=lines)


@page
async def create(request: Request) -> Response:
    principal = principal_of(request)
    if request.method == "GET":
        policies.require_create(principal)
        example = EXAMPLES_BY_KEY.get(request.query_params.get("example", ""))
        return _editor(request, None, {"document": example.text if example else BLANK})
    values = _posted(request)

    async def show_again(exc: GatehouseError) -> Response:
        return _editor(request, None, values, exc)

    return await act_or_show(
        request,
        _change("iam:CreatePermissionPolicy", None, values),
        lambda c: policies.create_policy(c, principal, _checked(values)),
        back=BASE,
        show_again=show_again,
        done=lambda policy: (f"{BASE}/{policy.id}", f"Permission policy {policy.name} created."),
        describe=lambda policy, recorded: recorded.about(policy.id),
    )


@page
async def detail(request: Request) -> Response:
    principal, policy_id = principal_of(request), request.path_params["policy_id"]

    def read(connection: Connection) -> tuple[StoredPolicy, policies.PolicyUsage]:
        return policies.get_policy(connection, principal, policy_id), policies.policy_usage(
            connection, principal, policy_id
        )

    policy, usage = await dashboard_of(request).db.read(read)
    return dashboard_of(request).render(
        request,
        "policies/detail.html",
        policy=policy,
        document=pretty(orjson.loads(policy.document)),
        usage=usage,
        may=policies.policy_abilities(principal, policy),
    )


@page
async def edit(request: Request) -> Response:
    principal, policy_id = principal_of(request), request.path_params["policy_id"]
    back, db = f"{BASE}/{policy_id}", dashboard_of(request).db
    if request.method == "GET":
        policy = await db.read(lambda c: policies.get_policy(c, principal, policy_id))
        refusal = policies.refusal(principal, policy, "update")
        if refusal is not None:
            return refused(request, refusal, back)
        values = labelled_values(policy)
        values["document"] = pretty(orjson.loads(policy.document))
        return _editor(request, policy, values, version=policy.version)
    values, version = _posted(request), form_version(request)

    async def show_again(exc: GatehouseError) -> Response:
        policy = await db.read(lambda c: policies.get_policy(c, principal, policy_id))
        return _editor(request, policy, values, exc, version=version)

    return await act_or_show(
        request,
        _change("iam:UpdatePermissionPolicy", policy_id, values),
        lambda c: policies.update_policy(c, principal, policy_id, _checked(values), version),
        back=back,
        show_again=show_again,
        done=lambda _: (back, "Permission policy saved. It applies from the next request."),
    )


def _delete_question(connection: Connection, request: Request) -> Confirmation | GatehouseError:
    principal, policy_id = principal_of(request), request.path_params["policy_id"]
    policy = policies.get_policy(connection, principal, policy_id)
    usage = policies.policy_usage(connection, principal, policy_id)
    refusal = policies.refusal(principal, policy, "delete")
    if refusal is not None:
        return refusal
    roles = "attached to " + ", ".join(name for _, name in usage.roles) if usage.roles else ""
    boundaries = f"the permission boundary of {usage.boundary_users} user(s)" if usage.boundary_users else ""
    warning = in_use_warning("It", (roles, boundaries), "detached")
    return deletion_question("permission policy", policy.name, "Delete policy", warning)


@page
async def delete(request: Request) -> Response:
    principal, policy_id = principal_of(request), request.path_params["policy_id"]
    return await delete_named(
        request,
        Change("iam:DeletePermissionPolicy", "permissionpolicy", policy_id),
        lambda c: policies.delete_policy(c, principal, policy_id),
        noun="Permission policy",
        listing=BASE,
        back=f"{BASE}/{policy_id}",
        ask=lambda c: _delete_question(c, request),
    )


@page
async def simulator(request: Request) -> Response:
    principal, params = principal_of(request), request.query_params
    form = {
        "user": params.get("user", "")[:255],
        "action": params.get("action", DEFAULT_ACTION),
        "resource": params.get("resource", "")[:600],
        "labels": params.get("labels", "")[:2000],
    }
    context: dict[str, Any] = {"question": form, "catalog": CATALOG, "result": None, "statement": None}
    status = 200
    if form["user"].strip():
        try:
            question = Question(form["user"], form["action"], form["resource"], parse_labels(form["labels"]))
            answer = await dashboard_of(request).db.read(lambda c: ask(c, principal, question))
            context["result"], context["statement"] = answer.simulation, answer.statement
        except GatehouseError as exc:
            status, context["error"] = exc.status, exc.detail
    return dashboard_of(request).render(request, "policies/simulator.html", status=status, **context)


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(SIMULATOR, simulator, methods=["GET"]),  # before the policy pages, which would match it
    Route(f"{BASE}/new", create, methods=["GET", "POST"]),
    Route(BASE + "/{policy_id}", detail, methods=["GET"]),
    Route(BASE + "/{policy_id}/edit", edit, methods=["GET", "POST"]),
    Route(BASE + "/{policy_id}/delete", delete, methods=["GET", "POST"]),
]
