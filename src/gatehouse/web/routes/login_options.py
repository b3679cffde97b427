"""Organization → Settings → Login Options: the built-in password option's switch, and each OpenID Connect
option's setup page (its fields, the redirect and initiate-login URIs to register at the provider, its
role-mapping rules and a dry run of them), create, edit and delete.

Thin handlers over :mod:`gatehouse.iam.login_options`, which checks every permission itself; the pages
only hide what the viewer may not use. Every change is audited (:mod:`gatehouse.web.actions`; summaries
never hold the client secret), and deleting asks on its own page first. Plain forms: everything works
without JavaScript, the rules included: rows whose buttons (move, add) show the form again changed without
saving (:mod:`gatehouse.web.rule_rows`), and their JSON as an advanced view; every problem of the rules is
shown beside its field at once. A saved form redirects to its page (Post/Redirect/Get). The forms' fields are
read and written by :mod:`gatehouse.web.login_option_forms`.

A new option's id is drawn when its form is shown, so the page can show the exact redirect URI before
the option exists: Okta and Entra ID ask for it when their app is created, before they give out the
client id and secret that this form needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import login_options as uc
from gatehouse.iam import role_mapping_rules
from gatehouse.iam.login_options import OptionView
from gatehouse.iam.role_mapping_rules import DryRunView, RuleProblem
from gatehouse.login.saml import sp_addresses
from gatehouse.login.urls import initiate_login_uri, redirect_uri
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.web import rule_rows
from gatehouse.web.actions import Confirmation, act_or_show, change, confirm_then_act, form_text, form_version, refused
from gatehouse.web.dashboard import dashboard_of, page, posted, principal_of
from gatehouse.web.login_option_checks import check_page, provider_problem
from gatehouse.web.login_option_forms import (
    FIELD_ORDER,
    KINDS,
    MAX_RULES_TEXT,
    OPERATIONS,
    SAMPLE_CLAIMS,
    TEMPLATES,
    defaults,
    env_missing,
    option_input,
    posted_secret,
    posted_values,
    rules_text,
    same_rules,
    summary_of,
    values_of,
    with_every_problem,
)
from gatehouse.web.login_option_kinds import SAMPLES
from gatehouse.web.rule_rows import RulesForm, failure, posted_rules

BASE: Final = "/organization/settings/login-options"
SECTION: Final = BASE


async def form_page(
    request: Request,
    option_id: str | None,
    values: Mapping[str, str],
    *,
    new_id: str | None = None,
    status: int = 200,
    error: str | None = None,
    version: int | None = None,
    rules: RulesForm | None = None,
    problems: Sequence[RuleProblem] = (),
    fields: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """An option's setup page (or, with ``option_id`` ``None``, the new option's) with ``values`` in its form,
    the rules as ``rules`` has them (else as ``values``) and their ``problems`` beside their fields."""
    dashboard, principal = dashboard_of(request), principal_of(request)
    public = dashboard.settings.public_url
    changing = rules is not None and rules.editing  # a form being changed: only by those who may save it
    shown = await dashboard.db.read(lambda c: uc.setup_page(c, principal, option_id, public, changing=changing))
    option, target = shown.option, shown.option.id if shown.option is not None else new_id or ""
    kind = option.kind if option is not None else values.get("kind", "oidc")
    return dashboard.render(
        request, TEMPLATES.get(kind, TEMPLATES["oidc"]), status=status, page=shown, option=option, values=values,
        new_id=new_id, version=version if version is not None else (option.version if option else None),
        redirect_uri=redirect_uri(public, target), initiate_login_uri=initiate_login_uri(public, target),
        sp=sp_addresses(values.get("sp_root_url") or public, target, values.get("entity_id", "")),
        env_missing=env_missing(option), operations=OPERATIONS, error=error,
        operation_labels=rule_rows.OPERATION_LABELS,
        rules_view=rule_rows.view(rules or rule_rows.saved(values.get("rules", "[]")), problems),
        field_errors=field_errors(fields or {}, kind), **extra,
    )  # fmt: skip


def field_errors(fields: Mapping[str, str], kind: str) -> dict[str, str]:
    """The problems of the form's fields by the id of their input (``ldap.host`` is the input ``host``), in
    the order the form shows its fields (the summary reads top to bottom); a problem of no field (an empty
    name) comes last, in the summary only."""
    order = FIELD_ORDER.get(kind, FIELD_ORDER["oidc"])
    found = {name.rsplit(".", 1)[-1]: sentence for name, sentence in fields.items()}
    return dict(sorted(found.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


async def _option(request: Request) -> OptionView:
    """The option of the address (``iam:GetLoginOption``; 404 if there is none)."""
    dashboard, principal, option_id = dashboard_of(request), principal_of(request), request.path_params["option_id"]
    return await dashboard.db.read(lambda c: uc.get(c, principal, option_id, dashboard.settings.public_url))


# ------------------------------------------------------------------------------------------ handlers


@page
async def new(request: Request) -> Response:
    kind = request.query_params.get("kind", "oidc")
    return await form_page(request, None, defaults(kind if kind in KINDS else "oidc"), new_id=uc.new_option_id())


@page
async def create(request: Request) -> Response:
    dashboard, principal, kind = dashboard_of(request), principal_of(request), form_text(request, "kind", 10)
    values, secret = posted_values(request, kind if kind in KINDS else "oidc"), posted_secret(request)
    values["enabled"] = ""  # a new option starts disabled: it is enabled on its page, once its provider check passes
    new_id, rules = form_text(request, "option_id", 100), posted_rules(posted(request), MAX_RULES_TEXT)
    values["rules"] = rules.text
    again: dict[str, Any] = {"new_id": new_id, "rules": rules, "secret_dropped": bool(secret.strip())}
    if rules.editing:  # a rule moved, rows added: the form again, nothing saved
        return await form_page(request, None, values, **again)

    def work(connection: Connection) -> OptionView:
        url, box = dashboard.settings.public_url, dashboard.secrets()
        return with_every_problem(connection, principal, values["rules"], lambda found: uc.create(
            connection, principal, option_input(values, secret, found), box, url, utcnow(), option_id=new_id or None
        ))  # fmt: skip

    async def show_again(exc: GatehouseError) -> Response:
        return await form_page(request, None, values, **again, **failure(exc))

    return await act_or_show(
        request,
        uc.CREATE.about(new_id or None, **summary_of(values, secret)),
        work,
        back=SECTION,
        show_again=show_again,
        done=lambda view: (
            f"{BASE}/{view.id}",
            f"Login option {view.name} created, disabled. Register its addresses at your provider, then check it "
            "and enable it here.",
        ),
        describe=lambda view, recorded: recorded.about(view.id),
    )


@page
async def detail(request: Request) -> Response:
    dashboard, principal, option_id = dashboard_of(request), principal_of(request), request.path_params["option_id"]
    current = await _option(request)
    if request.method == "GET":
        return await form_page(request, option_id, values_of(current))
    values, secret, version = posted_values(request, current.kind), posted_secret(request), form_version(request)
    rules = posted_rules(posted(request), MAX_RULES_TEXT)
    values["rules"] = rules.text
    again: dict[str, Any] = {"version": version, "rules": rules, "secret_dropped": bool(secret.strip())}
    if rules.editing:  # a rule moved, rows added: the form again, nothing saved
        return await form_page(request, option_id, values, **again)
    enabling = values["enabled"] == "on" and not current.enabled
    if enabling:  # saved as it is first; enabled only once its provider check passes (_enable_checked)
        values["enabled"] = ""

    def work(connection: Connection) -> OptionView:
        url, box = dashboard.settings.public_url, dashboard.secrets()
        return with_every_problem(connection, principal, values["rules"], lambda found: uc.update(
            connection, principal, option_id, option_input(values, secret, found), box, url, utcnow(), version,
            keep="stored",
        ))  # fmt: skip

    async def show_again(exc: GatehouseError) -> Response:
        return await form_page(request, option_id, values, **again, **failure(exc))

    saved = await act_or_show(
        request,
        uc.UPDATE.about(option_id, **summary_of(values, secret)),
        work,
        back=SECTION,
        show_again=show_again,
        done=lambda view: (f"{BASE}/{option_id}", f"Login option {view.name} saved."),
    )
    return await _enable_checked(request, option_id) if enabling and saved.status_code == 303 else saved


async def _enable_checked(request: Request, option_id: str) -> Response:
    """Enable a saved option if its provider check passes now; else it stays disabled, and the page says why."""
    dashboard, principal, view = dashboard_of(request), principal_of(request), await _option(request)
    problem = await provider_problem(dashboard, view)
    if problem is not None:
        note = f"Saved, but {view.name} stays disabled: its provider check failed. {problem}"
        return dashboard.redirect(f"{BASE}/{option_id}", note, "error")
    public = dashboard.settings.public_url
    try:
        await change(
            request,
            uc.UPDATE.about(option_id, enabled=True, provider_check="passed"),
            lambda c: uc.set_enabled(c, principal, option_id, True, public, utcnow()),
        )
    except GatehouseError as exc:
        return refused(request, exc, f"{BASE}/{option_id}")
    return dashboard.redirect(
        f"{BASE}/{option_id}", f"Login option {view.name} saved and enabled: its provider check passed."
    )


def _delete_question(connection: Connection, request: Request) -> Confirmation:
    public, option_id = dashboard_of(request).settings.public_url, request.path_params["option_id"]
    view = uc.option_to_delete(connection, principal_of(request), option_id, public)
    return Confirmation(
        f"Delete the login option {view.name}?",
        f"“Sign in with {view.name}” disappears from the sign-in page, and the links of users to their accounts "
        "at this provider are deleted. The users themselves stay.",
        "Delete login option",
        "Roles and boundaries mapped at their last sign-in stay until they next sign in through another option. "
        "Remove the app at your provider too.",
    )


@page
async def delete(request: Request) -> Response:
    principal, option_id = principal_of(request), request.path_params["option_id"]
    return await confirm_then_act(
        request,
        back=f"{BASE}/{option_id}",
        ask=lambda c: _delete_question(c, request),
        what=uc.DELETE.about(option_id),
        work=lambda c: uc.delete(c, principal, option_id),
        done=lambda name: (SECTION, f"Login option {name} deleted."),
        describe=lambda name, recorded: recorded.about(name=name),
    )


@page
async def check(request: Request) -> Response:
    """Check the option's provider now and say what was found (reads only): an OpenID provider's discovery
    document and keys, an LDAP directory's connection steps, a SAML IdP's metadata. A page of its own that a GET
    shows (a reload checks again and changes nothing); a POST, from an older page, is sent there."""
    view = await _option(request)
    if request.method == "POST":
        return RedirectResponse(request.url.path, status_code=303)
    return await form_page(request, view.id, values_of(view), **await check_page(dashboard_of(request), view))


def _dry_run_page(
    request: Request, view: OptionView, values: Mapping[str, str], result: DryRunView | None, error: str | None = None
) -> Response:
    return dashboard_of(request).render(
        request, "login_options/dry_run.html", status=400 if error else 200, option=view, values=values,
        result=result, error=error, edited=result is not None and not same_rules(result, view.rules),
    )  # fmt: skip


@page
async def dry_run(request: Request) -> Response:
    dashboard, principal, view = dashboard_of(request), principal_of(request), await _option(request)
    asked = request.query_params if request.method == "GET" else None  # the page's form is a GET: it reads only
    if asked is not None and "claims" not in asked:
        sample = SAMPLES.get(view.kind, SAMPLE_CLAIMS)
        return _dry_run_page(request, view, {"claims": sample, "rules": rules_text(view.rules)}, None)
    values = {
        name: (asked.get(name, "")[:MAX_RULES_TEXT] if asked is not None else form_text(request, name, MAX_RULES_TEXT))
        for name in ("claims", "rules")
    }
    try:
        result = await dashboard.db.read(
            lambda c: role_mapping_rules.dry_run(c, principal, values["rules"], values["claims"])
        )
    except InvalidInput as exc:
        return _dry_run_page(request, view, values, None, exc.detail)
    return _dry_run_page(request, view, values, result)


ROUTES: Final = [
    Route(f"{BASE}/new", new, methods=["GET"]),
    Route(BASE, create, methods=["POST"]),
    Route(BASE + "/{option_id}", detail, methods=["GET", "POST"]),
    Route(BASE + "/{option_id}/delete", delete, methods=["GET", "POST"]),
    Route(BASE + "/{option_id}/dry-run", dry_run, methods=["GET", "POST"]),
    Route(BASE + "/{option_id}/check", check, methods=["GET", "POST"]),
]
