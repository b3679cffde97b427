"""``gatehouse login-options …``: list the login options, create and change one, check one's provider, and turn
the built-in password option on or off (permission-checked and audited: see :mod:`gatehouse.cli.context`).
``create`` and ``update`` run the use cases of the dashboard and the admin API
(:func:`gatehouse.iam.login_options.create` and ``update``), audited as theirs are; their flags are
:mod:`gatehouse.cli.option_flags`'s. A new option starts disabled, as in the dashboard: it is enabled on its
page once its provider check passes. Options are also managed as code (``gatehouse config apply``).

``enable-password`` is the way back in when password sign-in is off and the identity provider is down: run
on the server as the host operator (no token), it needs neither the provider nor a signed-in admin, and
with ``gatehouse admin reset-password`` it gets an administrator back in. It is recorded in the audit log
as ``iam:UpdatePasswordLogin`` by ``operator (CLI)``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from gatehouse.api.schemas_sso import LoginOptionOut, ProviderCheckOut
from gatehouse.cli import option_flags as flags
from gatehouse.cli.context import open_database, run_change, run_read
from gatehouse.cli.output import echo
from gatehouse.config import Settings, load_settings
from gatehouse.errors import NotFound
from gatehouse.iam import login_options as options
from gatehouse.iam import password_login
from gatehouse.iam import role_mapping_rules as rules_uc
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.login_options import LoginOptionsState, OptionView
from gatehouse.secrets_box import LazySecretBox
from gatehouse.sso import provider_checks
from gatehouse.store import login_options as option_store
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

login_options_app = typer.Typer(
    help="Login options: password sign-in, OpenID Connect, LDAP and SAML 2.0.", no_args_is_help=True
)

PASSWORD = password_login.PASSWORD
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
        echo(json.dumps({"password_enabled": state.password_enabled, "options": found}))
        return
    echo(f"Password sign-in: {'enabled' if state.password_enabled else 'disabled'}")
    if not state.options:
        echo("No OpenID Connect, LDAP or SAML login options.")
    for view in state.options:
        status = "enabled" if view.enabled else "disabled"
        where = (
            view.ldap.url
            if view.ldap
            else (view.saml.idp_metadata_url or "metadata pasted")
            if view.saml
            else view.issuer
        )
        echo(f"{view.name}\t{view.kind}\t{status}\t{where}\tsecret: {view.secret_source}\tid {view.id}")
        if view.sp is not None:
            echo(f"\tACS URL: {view.sp.acs_url}\tentity ID: {view.sp.entity_id}")
        elif view.kind == "oidc":
            echo(f"\tredirect URI: {view.redirect_uri}")


@login_options_app.command("enable-password")
def enable_password() -> None:
    """Break-glass: turn password sign-in back on (works with the identity provider down)."""

    def work(connection: Connection, principal: Principal) -> bool:
        was = option_store.password_login_enabled(connection)
        password_login.set_password_login(connection, principal, True)
        return was

    was = run_change(PASSWORD.event, PASSWORD.resource_type, PASSWORD.resource_id, work, summary={"enabled": True})
    if was:
        echo("Password sign-in was already enabled.")
    else:
        echo(f"Password sign-in enabled: sign in at {load_settings().public_url}/login.")
    echo("If no administrator knows their password: gatehouse admin reset-password USERNAME")


@login_options_app.command("disable-password")
def disable_password() -> None:
    """Turn password sign-in off (only while an OpenID Connect option is enabled)."""

    def work(connection: Connection, principal: Principal) -> None:
        password_login.set_password_login(connection, principal, False)

    run_change(PASSWORD.event, PASSWORD.resource_type, PASSWORD.resource_id, work, summary={"enabled": False})
    echo("Password sign-in disabled: users sign in with another login option.")
    echo("Should the provider be down, run on the server: gatehouse login-options enable-password")


@login_options_app.command("check")
def check(
    option: str = typer.Argument(..., help="The option's name (in any case) or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (the admin API's shape)."),
) -> None:
    """Check an option's provider now, as its page's Check button does (OpenID Connect: discovery and keys;
    LDAP: connect, TLS, service bind, base DN; SAML: the IdP's metadata). Reads only. Exit status 1 when the
    check fails."""
    from gatehouse.api.context import Api  # the SSO stack, which only this command needs (the CLI starts faster)

    settings = load_settings()
    view = run_read(lambda c, p: _find(c, p, option, settings), settings)
    with open_database(settings) as db:
        result = ProviderCheckOut.of(apart(provider_checks.check(Api(settings, db), view)))
    if as_json:
        echo(json.dumps(result.model_dump(mode="json", exclude_none=True)))
    else:
        echo(f"{view.name} ({view.kind}): {'the check passed' if result.ok else 'the check failed'}")
        for step in result.steps or []:
            echo(f"  {step.step}: {'passed' if step.ok else 'FAILED'}: {step.detail}")
        if result.detail:
            echo(f"  {result.detail}")
        for warning in result.warnings:
            echo(f"  warning: {warning}")
    if not result.ok:
        raise typer.Exit(1)


def _find(connection: Connection, principal: Principal, option: str, settings: Settings) -> OptionView:
    for view in options.state(connection, principal, settings.public_url).options:
        if option in (view.id, view.name) or view.name.lower() == option.lower():
            return view
    raise NotFound(f"No login option is named {option!r} (gatehouse login-options list shows them).")


FIELD_HELP = (
    "LDAP or SAML: one of the kind's fields, NAME=VALUE (NAME=@PATH reads a file); repeatable. LDAP: "
    + ", ".join(flags.field_names("ldap"))
    + ". SAML: "
    + ", ".join(flags.field_names("saml"))
    + "."
)
SECRET_ENV_HELP = "The environment variable that holds the secret (client secret, bind password, SP private key)."
SECRET_STDIN_HELP = "Read the secret from standard input (stored encrypted); a secret is never an argument."


def _out(connection: Connection, principal: Principal, view: OptionView) -> dict[str, Any]:
    """The option as the admin API shows it."""
    described = rules_uc.describe_rules(connection, principal, view.rules)
    return LoginOptionOut.of(view, described).model_dump(mode="json")


def _echo_saved(out: dict[str, Any], verb: str, as_json: bool) -> None:
    if as_json:
        echo(json.dumps(out))
        return
    state = "enabled" if out["enabled"] else "disabled"
    echo(f"Login option {out['name']} ({out['kind']}) {verb}, {state}: id {out['id']}")
    if out.get("sp"):
        echo(f"  ACS URL: {out['sp']['acs_url']}\n  entity ID: {out['sp']['entity_id']}")
    elif out["kind"] == "oidc":
        echo(f"  redirect URI: {out['redirect_uri']}")
    if not out["enabled"]:
        echo(f"  Check it (gatehouse login-options check {out['id']}), then enable it on its page.")


# The options create and update share.
Issuer = Annotated[str | None, typer.Option("--issuer", help="OpenID Connect: the provider's issuer URL (https).")]
ClientId = Annotated[str | None, typer.Option("--client-id", help="OpenID Connect: the client id.")]
Scopes = Annotated[str | None, typer.Option("--scopes", help="OpenID Connect: scopes, space-separated.")]
Fields = Annotated[list[str] | None, typer.Option("--field", help=FIELD_HELP)]
SecretEnv = Annotated[str | None, typer.Option("--secret-env", help=SECRET_ENV_HELP)]
SecretStdin = Annotated[bool, typer.Option("--secret-stdin", help=SECRET_STDIN_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Print the option as the admin API does.")]


@dataclass(frozen=True)
class _Given:
    """What ``create`` and ``update`` read besides the option's fields: the settings, the OpenID Connect flags
    and the secret (from standard input) or the variable naming it, and the box that encrypts a stored one."""

    settings: Settings
    oidc: flags.OidcFlags
    secret: str | None
    env: str | None
    box: LazySecretBox

    @classmethod
    def read(cls, oidc: flags.OidcFlags, secret_env: str | None, secret_stdin: bool) -> _Given:
        settings = load_settings()
        secret, env = flags.secret_choice(secret_env, secret_stdin, sys.stdin.read)
        return cls(settings, oidc, secret, env, LazySecretBox(settings.secret_key_path))


@login_options_app.command("create")
def create(
    kind: str = typer.Option(..., "--kind", help="oidc, ldap or saml."),
    name: str = typer.Option(..., "--name", help="The sign-in button's label, unique ignoring case."),
    issuer: Issuer = None,
    client_id: ClientId = None,
    scopes: Scopes = None,
    end_session: bool = typer.Option(False, "--end-session", help="OpenID Connect: sign out at the provider too."),
    field: Fields = None,
    secret_env: SecretEnv = None,
    secret_stdin: SecretStdin = False,
    as_json: AsJson = False,
) -> None:
    """Create an OpenID Connect, LDAP or SAML login option, disabled (as the dashboard does)."""
    oidc = flags.OidcFlags(issuer, client_id, scopes, end_session)
    flags.check_kind(kind, oidc)  # before a secret is awaited on standard input
    given = _Given.read(oidc, secret_env, secret_stdin)
    data = flags.new_input(kind, name, given.oidc, flags.parse_fields(kind, field or []), given.secret, given.env)

    def work(connection: Connection, principal: Principal) -> dict[str, Any]:
        view = options.create(connection, principal, data, given.box(), given.settings.public_url, utcnow())
        return _out(connection, principal, view)

    out = run_change(
        options.CREATE.event, options.CREATE.resource_type, None, work, summary=options.audit_summary(data),
        describe=lambda done, recorded: recorded.about(done["id"]), settings=given.settings,
    )  # fmt: skip
    _echo_saved(out, "created", as_json)


@login_options_app.command("update")
def update(
    option: str = typer.Argument(..., help="The option's name (in any case) or id."),
    name: str | None = typer.Option(None, "--name", help="A new name."),
    issuer: Issuer = None,
    client_id: ClientId = None,
    scopes: Scopes = None,
    end_session: bool | None = typer.Option(
        None, "--end-session/--no-end-session", help="OpenID Connect: sign out at the provider too."
    ),
    field: Fields = None,
    secret_env: SecretEnv = None,
    secret_stdin: SecretStdin = False,
    as_json: AsJson = False,
) -> None:
    """Change an option's fields (those not given are kept, the secret too unless a new one is given)."""
    given = _Given.read(flags.OidcFlags(issuer, client_id, scopes, end_session), secret_env, secret_stdin)
    settings = given.settings
    summary: dict[str, Any] = {}

    def work(connection: Connection, principal: Principal) -> dict[str, Any]:
        view = _find(connection, principal, option, settings)
        fields = flags.parse_fields(view.kind, field or [])
        data = flags.changed_input(view, name, given.oidc, fields, given.secret, given.env)
        summary.update(options.audit_summary(data))
        now = utcnow()
        box = given.box()
        changed = options.update(connection, principal, view.id, data, box, settings.public_url, now, view.version)
        return _out(connection, principal, changed)

    out = run_change(
        options.UPDATE.event, options.UPDATE.resource_type, None, work,
        describe=lambda done, recorded: recorded.about(done["id"], **summary), settings=settings,
    )  # fmt: skip
    _echo_saved(out, "saved", as_json)


def apart(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end on an event loop of its own thread (the caller may have a loop of its own)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()
