"""Organization → Settings → Login Options: the built-in password option's switch, and each OpenID Connect
option's setup page (its fields, the redirect and initiate-login URIs to register at the provider, its
role-mapping rules and a dry run of them), create, edit and delete.

Thin handlers over :mod:`gatehouse.iam.login_options`, which checks every permission itself; the pages
only hide what the viewer may not use. Every change runs through :func:`gatehouse.iam.audit.audited`
(summaries never hold the client secret). Plain forms: everything works without JavaScript, the rules
included (a JSON textarea checked on the server, with a table of the rules beside it).

A new option's id is drawn when its form is shown, so the page can show the exact redirect URI before
the option exists: Okta and Entra ID ask for it when their app is created, before they give out the
client id and secret that this form needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import login_options as uc
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.login_options import OptionInput, OptionView
from gatehouse.login.mapping import Operation, Rule
from gatehouse.login.options import DEFAULT_SCOPES
from gatehouse.login.urls import initiate_login_uri, redirect_uri
from gatehouse.sso.protocol import ProviderError
from gatehouse.sso.provider import ProviderClient
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.records import utcnow
from gatehouse.store.roles import StoredRole
from gatehouse.web.dashboard import Dashboard, page
from gatehouse.web.routes.roles import change, form_text, form_version, refused

BASE: Final = "/organization/settings/login-options"
SECTION: Final = "/organization/settings#login-options"
SCIM_ONLY: Final[Mapping[str, bool | None]] = {"default": None, "always": True, "never": False}
TEXT_FIELDS: Final = (
    "name", "issuer", "client_id", "client_secret_env", "scopes", "username_claim", "email_claim", "name_claim",
    "subject_claim", "rules", "scim_only", "secret_mode",
)  # fmt: skip
CHECKBOXES: Final = ("enabled", "end_session")
DEFAULTS: Final[Mapping[str, str]] = {
    "name": "", "issuer": "", "client_id": "", "client_secret_env": "", "scopes": DEFAULT_SCOPES,
    "username_claim": "preferred_username", "email_claim": "email", "name_claim": "name", "subject_claim": "sub",
    "rules": "[]", "scim_only": "default", "secret_mode": "stored", "enabled": "on", "end_session": "",
}  # fmt: skip
SAMPLE_CLAIMS: Final = (
    '{\n  "sub": "00u1a2b3c4",\n  "preferred_username": "ada@example.com",\n  "email": "ada@example.com",\n'
    '  "name": "Ada Lovelace",\n  "groups": ["engineering", "ops"],\n  "department": "Research"\n}'
)
OPERATIONS: Final = tuple(op.value for op in Operation)


# ------------------------------------------------------------------------------------------ forms


def rules_text(rules: Sequence[Rule]) -> str:
    """Rules as the textarea shows them: a JSON array, one rule per line."""
    if not rules:
        return "[]"
    return "[\n" + ",\n".join("  " + json.dumps(rule.to_json(), ensure_ascii=False) for rule in rules) + "\n]"


def values_of(view: OptionView) -> dict[str, str]:
    """The form's values for a stored option (never its secret)."""
    scim_only = next(key for key, value in SCIM_ONLY.items() if value is view.scim_only)
    return {
        "name": view.name, "issuer": view.issuer, "client_id": view.client_id,
        "client_secret_env": view.client_secret_env or "", "scopes": view.scopes,
        "username_claim": view.username_claim, "email_claim": view.email_claim, "name_claim": view.name_claim,
        "subject_claim": view.subject_claim, "rules": rules_text(view.rules), "scim_only": scim_only,
        "secret_mode": "env" if view.secret_source == "env" else "stored",
        "enabled": "on" if view.enabled else "", "end_session": "on" if view.end_session else "",
    }  # fmt: skip


def posted_values(request: Request) -> dict[str, str]:
    """The form as sent, without the secret (kept apart so it is never shown again or audited)."""
    values = {name: form_text(request, name, 300) for name in TEXT_FIELDS if name != "rules"}
    values["rules"] = form_text(request, "rules", 300_000)
    values.update({name: "on" if form_text(request, name, 10) == "on" else "" for name in CHECKBOXES})
    return values


def option_input(values: Mapping[str, str], secret: str) -> OptionInput:
    """The use case's input from the form (the rules JSON decoded; errors name the rule and field)."""
    if values["scim_only"] not in SCIM_ONLY:
        raise InvalidInput("Choose whether only users provisioned by SCIM may sign in.")
    env = values["client_secret_env"].strip()
    if values["secret_mode"] == "env" and not env:
        raise InvalidInput("Name the environment variable that holds the client secret.")
    return OptionInput(
        name=values["name"],
        issuer=values["issuer"],
        client_id=values["client_id"],
        client_secret=secret if values["secret_mode"] != "env" and secret.strip() else None,
        client_secret_env=env if values["secret_mode"] == "env" else None,
        scopes=values["scopes"],
        enabled=values["enabled"] == "on",
        username_claim=values["username_claim"],
        email_claim=values["email_claim"],
        name_claim=values["name_claim"],
        subject_claim=values["subject_claim"].strip() or "sub",
        end_session=values["end_session"] == "on",
        scim_only=SCIM_ONLY[values["scim_only"]],
        rules=uc.rules_from_text(values["rules"]),
    )


def summary_of(values: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The audit summary of a submitted form: what :func:`gatehouse.iam.login_options.audit_summary` keeps."""
    try:
        data = option_input({**values, "rules": "[]"}, secret)
    except InvalidInput:
        return {"name": values["name"], "issuer": values["issuer"]}
    return {**uc.audit_summary(data), "rules": None}


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True)
class SetupPage:
    """What a login option's page shows besides the form's values."""

    option: OptionView | None
    scim_enabled: bool
    rules: list[uc.RuleLine]
    roles: list[StoredRole]
    policies: list[StoredPolicy]


def _setup(connection: Connection, principal: Principal, option_id: str | None, public_url: str) -> SetupPage:
    current = uc.state(connection, principal, public_url)
    option = uc.get(connection, principal, option_id, public_url) if option_id is not None else None
    lines = uc.describe_rules(connection, principal, option.rules) if option is not None else []
    roles, policies = uc.mapping_targets(connection, principal)
    return SetupPage(option, current.scim_enabled, lines, roles, policies)


def env_missing(view: OptionView | None) -> str | None:
    """The environment variable an option names that this process does not have, if so."""
    if view is None or view.client_secret_env is None or os.environ.get(view.client_secret_env):
        return None
    return view.client_secret_env


# ------------------------------------------------------------------------------------------ routes


def routes(dashboard: Dashboard, provider: ProviderClient) -> list[Route]:
    """The login options routes (``provider`` checks a provider's configuration on request)."""
    db = dashboard.db
    public = dashboard.settings.public_url

    def principal(request: Request) -> Principal:
        return request.scope["gatehouse.principal"]  # type: ignore[no-any-return]

    async def setup_page(
        request: Request,
        option_id: str | None,
        values: Mapping[str, str],
        *,
        new_id: str | None = None,
        status: int = 200,
        error: str | None = None,
        version: int | None = None,
        **extra: Any,
    ) -> Response:
        me = principal(request)
        shown = await db.read(lambda c: _setup(c, me, option_id, public))
        target = shown.option.id if shown.option is not None else new_id or ""
        return dashboard.render(
            request,
            "login_options/form.html",
            status=status,
            page=shown,
            option=shown.option,
            values=values,
            new_id=new_id,
            version=version if version is not None else (shown.option.version if shown.option else None),
            redirect_uri=redirect_uri(public, target),
            initiate_login_uri=initiate_login_uri(public, target),
            env_missing=env_missing(shown.option),
            operations=OPERATIONS,
            error=error,
            **extra,
        )

    async def run(request: Request, what: Change, work: Callable[[Connection], Any], describe: Any = None) -> Any:
        return await change(dashboard, request, what, work, describe)

    @page(dashboard)
    async def new(request: Request) -> Response:
        require(principal(request), uc.UPDATE_ACTION, ORGANIZATION)  # the form of a change
        return await setup_page(request, None, DEFAULTS, new_id=uc.new_option_id())

    @page(dashboard)
    async def create(request: Request) -> Response:
        me = principal(request)
        values, secret = posted_values(request), form_text(request, "client_secret", 2000)
        new_id = form_text(request, "option_id", 100)

        def work(connection: Connection) -> OptionView:
            data = option_input(values, secret)
            return uc.create(connection, me, data, dashboard.secrets(), public, utcnow(), option_id=new_id or None)

        what = uc.CREATE.about(new_id or None, **summary_of(values, secret))
        try:
            view = await run(request, what, work, lambda v, c: c.about(v.id))
        except GatehouseError as exc:
            if exc.status == 403:
                return refused(dashboard, request, exc, SECTION)
            return await setup_page(request, None, values, new_id=new_id, status=exc.status, error=exc.detail)
        return dashboard.redirect(
            f"{BASE}/{view.id}",
            f"Login option {view.name} created. Register its redirect URI at your provider if you have not yet.",
        )

    @page(dashboard)
    async def detail(request: Request) -> Response:
        option_id = request.path_params["option_id"]
        if request.method == "GET":
            view = await db.read(lambda c: uc.get(c, principal(request), option_id, public))
            return await setup_page(request, option_id, values_of(view))
        me = principal(request)
        values, secret = posted_values(request), form_text(request, "client_secret", 2000)
        version = form_version(request)

        def work(connection: Connection) -> OptionView:
            data = option_input(values, secret)
            keep = data.client_secret is None and data.client_secret_env is None
            if keep and uc.get(connection, me, option_id, public).secret_source != "stored":
                raise InvalidInput("Enter the client secret to store, or choose an environment variable.")
            return uc.update(connection, me, option_id, data, dashboard.secrets(), public, utcnow(), version)

        what = uc.UPDATE.about(option_id, **summary_of(values, secret))
        try:
            view = await run(request, what, work)
        except GatehouseError as exc:
            if exc.status in (403, 404):
                return refused(dashboard, request, exc, SECTION)
            return await setup_page(request, option_id, values, status=exc.status, error=exc.detail, version=version)
        return dashboard.redirect(f"{BASE}/{option_id}", f"Login option {view.name} saved.")

    @page(dashboard)
    async def delete(request: Request) -> Response:
        me = principal(request)
        option_id = request.path_params["option_id"]
        back = f"{BASE}/{option_id}"
        if request.method == "GET":
            require(me, uc.UPDATE_ACTION, ORGANIZATION)  # the confirmation page of a change
            view = await db.read(lambda c: uc.get(c, me, option_id, public))
            return dashboard.render(
                request,
                "confirm.html",
                title=f"Delete the login option {view.name}?",
                question=f"“Sign in with {view.name}” disappears from the sign-in page, and the links of users "
                "to their accounts at this provider are deleted. The users themselves stay.",
                warning="Roles and boundaries mapped at their last sign-in stay until they next sign in through "
                "another option. Remove the app at your provider too.",
                action=f"{back}/delete",
                confirm_label="Delete login option",
                cancel=back,
            )
        name = await db.read(lambda c: _name_or_none(c, me, option_id, public))
        what = uc.DELETE.about(option_id, name=name)
        try:
            await run(request, what, lambda c: uc.delete(c, me, option_id))
        except GatehouseError as exc:
            return refused(dashboard, request, exc, back)
        return dashboard.redirect(SECTION, f"Login option {name or option_id} deleted.")

    @page(dashboard)
    async def password(request: Request) -> Response:
        me = principal(request)
        enabled = form_text(request, "enabled", 10) == "on"
        what = uc.PASSWORD.about(None, enabled=enabled)
        try:
            await run(request, what, lambda c: uc.set_password_login(c, me, enabled))
        except GatehouseError as exc:
            if exc.status == 403:
                raise
            return dashboard.redirect(SECTION, f"Password sign-in was not turned off. {exc.detail}", "error")
        if enabled:
            return dashboard.redirect(SECTION, "Users may sign in with their username and password.")
        return dashboard.redirect(SECTION, "Username and password sign-in is off: users sign in through SSO.")

    @page(dashboard)
    async def check(request: Request) -> Response:
        """Fetch the provider's discovery document and keys now, and say what was found (reads only)."""
        option_id = request.path_params["option_id"]
        view = await db.read(lambda c: uc.get(c, principal(request), option_id, public))
        try:
            found = await provider.check(view.issuer)
        except ProviderError as exc:
            return await setup_page(request, option_id, values_of(view), check_error=exc.detail)
        warnings = found.warnings(end_session=view.end_session, scopes=view.scopes.split())
        return await setup_page(request, option_id, values_of(view), check=found, check_warnings=warnings)

    @page(dashboard)
    async def dry_run(request: Request) -> Response:
        me = principal(request)
        option_id = request.path_params["option_id"]
        view = await db.read(lambda c: uc.get(c, me, option_id, public))
        if request.method == "GET":
            values = {"claims": SAMPLE_CLAIMS, "rules": rules_text(view.rules)}
            result, error, status = None, None, 200
        else:
            values = {"claims": form_text(request, "claims", 300_000), "rules": form_text(request, "rules", 300_000)}
            try:
                result = await db.read(lambda c: uc.dry_run(c, me, values["rules"], values["claims"]))
                error, status = None, 200
            except InvalidInput as exc:
                result, error, status = None, exc.detail, exc.status
        edited = result is not None and not _same_rules(result, view.rules)
        return dashboard.render(
            request,
            "login_options/dry_run.html",
            status=status,
            option=view,
            values=values,
            result=result,
            error=error,
            edited=edited,
        )

    return [
        Route(f"{BASE}/new", new, methods=["GET"]),
        Route(BASE, create, methods=["POST"]),
        Route(f"{BASE}/password", password, methods=["POST"]),
        Route(BASE + "/{option_id}", detail, methods=["GET", "POST"]),
        Route(BASE + "/{option_id}/delete", delete, methods=["GET", "POST"]),
        Route(BASE + "/{option_id}/dry-run", dry_run, methods=["GET", "POST"]),
        Route(BASE + "/{option_id}/check", check, methods=["POST"]),
    ]


def _same_rules(result: uc.DryRunView, saved: Sequence[Rule]) -> bool:
    """Whether a dry run tried the saved rules (targets compared once resolved: a name is its id)."""
    tried = [(o.rule.kind, o.target.id, o.rule.attribute, o.rule.operation, o.rule.value) for o in result.outcomes]
    return tried == [(r.kind, r.target_id, r.attribute, r.operation, r.value) for r in saved]


def _name_or_none(connection: Connection, principal: Principal, option_id: str, public_url: str) -> str | None:
    """The option's name for the audit record and the message, if the viewer may read it and it exists."""
    try:
        return uc.get(connection, principal, option_id, public_url).name
    except GatehouseError:
        return None
