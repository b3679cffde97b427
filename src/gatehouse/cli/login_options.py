"""``gatehouse login-options …``: list the login options, check one's provider, and turn the built-in password
option on or off (permission-checked and audited: see :mod:`gatehouse.cli.context`). Options are created and
changed in the dashboard, the admin API, or as code (``gatehouse config apply``).

``enable-password`` is the way back in when password sign-in is off and the identity provider is down: run
on the server as the host operator (no token), it needs neither the provider nor a signed-in admin, and
with ``gatehouse admin reset-password`` it gets an administrator back in. It is recorded in the audit log
as ``iam:UpdatePasswordLogin`` by ``operator (CLI)``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import typer

from gatehouse.api.context import Api
from gatehouse.api.schemas_sso import ProviderCheckOut
from gatehouse.cli.context import open_database, run_change, run_read
from gatehouse.config import load_settings
from gatehouse.errors import NotFound
from gatehouse.iam import login_options as options
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.login_options import LoginOptionsState, OptionView
from gatehouse.sso import provider_checks
from gatehouse.store import login_options as option_store
from gatehouse.store.database import Connection

login_options_app = typer.Typer(
    help="Login options: password sign-in, OpenID Connect, LDAP and SAML 2.0.", no_args_is_help=True
)

PASSWORD = options.PASSWORD
T = TypeVar("T")


def _option_json(view: OptionView) -> dict[str, Any]:
    return {
        "id": view.id,
        "kind": view.kind,
        "name": view.name,
        "enabled": view.enabled,
        "issuer": view.issuer,
        "client_id": view.client_id,
        "secret_source": view.secret_source,
        "client_secret_env": view.client_secret_env,
        "scopes": view.scopes.split(),
        "scim_only": view.effective_scim_only,
        "rules": len(view.rules),
        "version": view.version,
        "redirect_uri": view.redirect_uri,
        "initiate_login_uri": view.initiate_login_uri,
        "ldap": view.ldap.to_json() if view.ldap else None,
        "saml": view.saml.to_json() if view.saml else None,
        "acs_url": view.sp.acs_url if view.sp else None,
        "sp_entity_id": view.sp.entity_id if view.sp else None,
    }


@login_options_app.command("list")
def list_options(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """The password option's state and every OpenID Connect, LDAP and SAML option (never a secret)."""
    public_url = load_settings().public_url
    state: LoginOptionsState = run_read(lambda c, p: options.state(c, p, public_url))
    if as_json:
        found = [_option_json(view) for view in state.options]
        typer.echo(json.dumps({"password_enabled": state.password_enabled, "options": found}))
        return
    typer.echo(f"Password sign-in: {'enabled' if state.password_enabled else 'disabled'}")
    if not state.options:
        typer.echo("No OpenID Connect, LDAP or SAML login options.")
    for view in state.options:
        status = "enabled" if view.enabled else "disabled"
        where = (
            view.ldap.url
            if view.ldap
            else (view.saml.idp_metadata_url or "metadata pasted")
            if view.saml
            else view.issuer
        )
        typer.echo(f"{view.name}\t{view.kind}\t{status}\t{where}\tsecret: {view.secret_source}\tid {view.id}")
        if view.sp is not None:
            typer.echo(f"\tACS URL: {view.sp.acs_url}\tentity ID: {view.sp.entity_id}")
        elif view.kind == "oidc":
            typer.echo(f"\tredirect URI: {view.redirect_uri}")


@login_options_app.command("enable-password")
def enable_password() -> None:
    """Break-glass: turn password sign-in back on (works with the identity provider down)."""

    def work(connection: Connection, principal: Principal) -> bool:
        was = option_store.password_login_enabled(connection)
        options.set_password_login(connection, principal, True)
        return was

    was = run_change(PASSWORD.event, PASSWORD.resource_type, PASSWORD.resource_id, work, summary={"enabled": True})
    if was:
        typer.echo("Password sign-in was already enabled.")
    else:
        typer.echo(f"Password sign-in enabled: sign in at {load_settings().public_url}/login.")
    typer.echo("If no administrator knows their password: gatehouse admin reset-password USERNAME")


@login_options_app.command("disable-password")
def disable_password() -> None:
    """Turn password sign-in off (only while an OpenID Connect option is enabled)."""

    def work(connection: Connection, principal: Principal) -> None:
        options.set_password_login(connection, principal, False)

    run_change(PASSWORD.event, PASSWORD.resource_type, PASSWORD.resource_id, work, summary={"enabled": False})
    typer.echo("Password sign-in disabled: users sign in with another login option.")
    typer.echo("Should the provider be down, run on the server: gatehouse login-options enable-password")


@login_options_app.command("check")
def check(
    option: str = typer.Argument(..., help="The option's name (in any case) or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (the admin API's shape)."),
) -> None:
    """Check an option's provider now, as its page's Check button does (OpenID Connect: discovery and keys;
    LDAP: connect, TLS, service bind, base DN; SAML: the IdP's metadata). Reads only. Exit status 1 when the
    check fails."""
    settings = load_settings()

    def find(connection: Connection, principal: Principal) -> OptionView:
        for view in options.state(connection, principal, settings.public_url).options:
            if option in (view.id, view.name) or view.name.lower() == option.lower():
                return view
        raise NotFound(f"No login option is named {option!r} (gatehouse login-options list shows them).")

    view = run_read(find, settings)
    with open_database(settings) as db:
        result = ProviderCheckOut.of(apart(provider_checks.check(Api(settings, db), view)))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json", exclude_none=True)))
    else:
        typer.echo(f"{view.name} ({view.kind}): {'the check passed' if result.ok else 'the check failed'}")
        for step in result.steps or []:
            typer.echo(f"  {step.step}: {'passed' if step.ok else 'FAILED'}: {step.detail}")
        if result.detail:
            typer.echo(f"  {result.detail}")
    if not result.ok:
        raise typer.Exit(1)


def apart(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end on an event loop of its own thread (the caller may have a loop of its own)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()
