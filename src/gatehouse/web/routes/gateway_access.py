"""Organization → Gateway access: the forward-auth rule table in order, adding, editing, moving and deleting
rules, and the switch of the built-in preset "API7 / APISIX admin API".

Thin handlers over :mod:`gatehouse.iam.gateway_access` (``iam:GetAuthzRule`` to see, ``iam:UpdateAuthzRule``
to change), which checks every permission itself; the page only hides what the viewer may not use. Every
change is audited (:mod:`gatehouse.web.actions`). Plain links and forms: it all works without JavaScript;
deleting asks on its own page first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import gateway_access as access
from gatehouse.iam.audit import Change
from gatehouse.iam.catalog import ACTIONS, GROUPS
from gatehouse.iam.gateway_access import PRESET, RuleView, rule_input, rule_summary
from gatehouse.iam.gateway_rules import ANY_METHOD, METHODS, Rule
from gatehouse.numerals import whole_number
from gatehouse.store.database import Connection
from gatehouse.web.actions import (
    Confirmation,
    act,
    act_or_show,
    confirm_then_act,
    form_list,
    form_text,
    form_version,
    key_value_lines,
)
from gatehouse.web.dashboard import dashboard_of, page, principal_of

BASE: Final = "/organization/gateway-access"
KIND: Final = "authz_rule"
FIELDS: Final = ("path", "query", "action", "resource", "labels", "description", "position")
ACTION_CHOICES: Final = tuple(
    (title, tuple(action.name for action in ACTIONS if action.group == group)) for group, title in GROUPS.items()
)
"""The catalog by group, for the action select."""


def _pairs(text: str, field: str) -> dict[str, str]:
    """``name=value`` lines (blank lines skipped)."""
    pairs: dict[str, str] = {}
    for number, name, value in key_value_lines(text):
        if not name or not value:
            raise InvalidInput(
                f"{field}, line {number}: write one part per line as part=parameter, e.g. gg=gateway_group_id."
            )
        pairs[name] = value
    return pairs


def _labels(text: str) -> dict[str, dict[str, str]]:
    if not text.strip():
        return {}
    try:
        labels = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidInput(
            'labels: a JSON object, e.g. {"gateway_group_label": {"env": "{env}"}}, or nothing.'
        ) from None
    if not isinstance(labels, dict):
        raise InvalidInput('labels: a JSON object, e.g. {"gateway_group_label": {"env": "{env}"}}, or nothing.')
    return labels


def _posted(request: Request) -> dict[str, object]:
    values: dict[str, object] = {name: form_text(request, name, 2000) for name in FIELDS}
    values["methods"] = form_list(request, "method")
    return values


def _rule(values: dict[str, object]) -> Rule:
    methods = values["methods"]
    return rule_input(
        methods if isinstance(methods, list) else [],
        str(values["path"]).strip(),
        str(values["action"]),
        str(values["resource"]),
        _pairs(str(values["query"]), "query"),
        _labels(str(values["labels"])),
        str(values["description"]),
    )


def _position(values: dict[str, object]) -> int | None:
    """The place typed (1 first), as an index; empty: none."""
    raw = str(values.get("position") or "").strip()
    if not raw:
        return None
    number = whole_number(raw)
    if number is None or number < 1:
        raise InvalidInput("position: a number from 1 (first), or empty.")
    return number - 1


def _values_of(view: RuleView) -> dict[str, object]:
    rule = view.rule
    return {
        "methods": list(rule.methods),
        "path": rule.path,
        "query": rule.query_text,
        "action": rule.action,
        "resource": rule.resource,
        "labels": orjson.dumps(dict(rule.labels)).decode() if rule.labels else "",
        "description": rule.description,
        "position": str(view.position + 1),
    }


def _form(
    request: Request, *, view: RuleView | None, values: dict[str, object], status: int = 200, error: str = ""
) -> Response:
    return dashboard_of(request).render(
        request,
        "gateway_access/form.html",
        status=status,
        error=error or None,
        view=view,
        values=values,
        methods=(*METHODS, ANY_METHOD),
        action_choices=ACTION_CHOICES,
        version=view.version if view else None,
    )


@page
async def listing(request: Request) -> Response:
    principal = principal_of(request)
    table = await dashboard_of(request).db.read(lambda c: access.rule_table(c, principal))
    return dashboard_of(request).render(request, "gateway_access/list.html", table=table)


async def _save(
    request: Request,
    rule_id: str | None,
    work: Callable[[Connection, Rule, int | None], RuleView],
    done: Callable[[RuleView], str],
    describe: Callable[[RuleView, Change], Change],
) -> Response:
    """The posted form's rule saved by ``work`` (given the rule and its place), audited as a change of rule
    ``rule_id`` (None: a new one) that ``describe`` completes; back to the table saying ``done(view)``, or the
    form again, as typed, with why."""
    dashboard, principal, values = dashboard_of(request), principal_of(request), _posted(request)

    async def show_again(exc: GatehouseError) -> Response:
        view = await dashboard.db.read(lambda c: access.get_rule(c, principal, rule_id)) if rule_id else None
        return _form(request, view=view, values=values, status=exc.status, error=exc.detail)

    return await act_or_show(
        request,
        access.RULE_CHANGE.about(rule_id, path=values["path"], action=values["action"]),
        lambda c: work(c, _rule(values), _position(values)),
        back=BASE,
        show_again=show_again,
        done=lambda view: (BASE, done(view)),
        describe=describe,
    )


@page
async def create(request: Request) -> Response:
    principal = principal_of(request)
    if request.method == "GET":
        access.require_update(principal)
        return _form(request, view=None, values={"methods": ["GET"]})
    return await _save(
        request,
        None,
        lambda c, rule, position: access.create_rule(c, principal, rule, position),
        done=lambda view: f"Rule {view.position + 1} added: {view.rule.methods_text} {view.rule.path}.",
        describe=lambda view, recorded: recorded.about(view.id, created=rule_summary(view.rule)),
    )


@page
async def edit(request: Request) -> Response:
    principal, rule_id = principal_of(request), request.path_params["rule_id"]
    if request.method == "GET":
        access.require_update(principal)
        view = await dashboard_of(request).db.read(lambda c: access.get_rule(c, principal, rule_id))
        return _form(request, view=view, values=_values_of(view))
    version = form_version(request)
    return await _save(
        request,
        rule_id,
        lambda c, rule, position: access.update_rule(c, principal, rule_id, rule, position, version),
        done=lambda view: f"Rule {view.position + 1} saved.",
        describe=lambda view, recorded: recorded.about(updated=rule_summary(view.rule)),
    )


def _delete_question(connection: Connection, request: Request) -> Confirmation:
    principal = principal_of(request)
    access.require_update(principal)
    view = access.get_rule(connection, principal, request.path_params["rule_id"])
    rule = view.rule
    return Confirmation(
        f"Delete rule {view.position + 1}?",
        f"{rule.methods_text} {rule.path} → {rule.action} on {rule.resource}. Requests it matched go on to the next "
        "rules; a request no rule matches is denied.",
        "Delete rule",
    )


@page
async def delete(request: Request) -> Response:
    principal, rule_id = principal_of(request), request.path_params["rule_id"]
    return await confirm_then_act(
        request,
        back=BASE,
        ask=lambda c: _delete_question(c, request),
        what=access.RULE_CHANGE.about(rule_id, deleted=True),
        work=lambda c: access.delete_rule(c, principal, rule_id),
        done=lambda view: (BASE, f"Rule deleted: {view.rule.methods_text} {view.rule.path}."),
        describe=lambda view, recorded: recorded.about(deleted=rule_summary(view.rule)),
    )


@page
async def move(request: Request) -> Response:
    principal, rule_id = principal_of(request), request.path_params["rule_id"]
    direction = form_text(request, "direction", 10)

    def work(connection: Connection) -> RuleView:
        if direction not in ("up", "down", "top", "bottom"):
            raise InvalidInput("Move a rule up or down.")
        return access.move_rule(connection, principal, rule_id, direction)  # type: ignore[arg-type]

    what = access.RULE_CHANGE.about(rule_id, moved=direction)
    return await act(request, what, work, BASE, "Rule moved.")


@page
async def preset(request: Request) -> Response:
    principal = principal_of(request)
    enabled = form_text(request, "enabled", 5) == "on"
    done = "The API7 / APISIX preset is on: its rules apply after yours." if enabled else "The preset is off."
    what = PRESET.about(enabled=enabled)
    return await act(request, what, lambda c: access.set_preset(c, principal, enabled), BASE, done)


ROUTES: Final = [
    Route(BASE, listing, methods=["GET"]),
    Route(f"{BASE}/new", create, methods=["GET", "POST"]),
    Route(f"{BASE}/preset", preset, methods=["POST"]),
    Route(BASE + "/{rule_id}/edit", edit, methods=["GET", "POST"]),
    Route(BASE + "/{rule_id}/delete", delete, methods=["GET", "POST"]),
    Route(BASE + "/{rule_id}/move", move, methods=["POST"]),
]
