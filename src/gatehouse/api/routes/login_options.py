"""Login options (API7 parity: Organization → Settings → Login Options; ``/api/login_options``): the
built-in password option's switch, OpenID Connect, LDAP and SAML 2.0 options, and dry runs of their mapping
rules.

Thin routes over :mod:`gatehouse.iam.login_options`: reading and dry runs are ``iam:GetLoginOption``,
every change ``iam:UpdateLoginOption`` (both on the organization); changes run through the audit log as
``iam:CreateLoginOption``, ``iam:UpdateLoginOption``, ``iam:DeleteLoginOption`` and
``iam:UpdatePasswordLogin``, with secret-free summaries. The client secret is write-only: stored
encrypted (with the key of :attr:`Api.secrets <gatehouse.api.context.Api.secrets>`), never returned.

Optimistic concurrency follows the rest of the API: a response carries the option's ``version``; a
``PUT`` or ``PATCH`` sending it back is refused with 412 if the option changed meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from gatehouse.api.auth import CallerDep
from gatehouse.api.context import Api, ApiDep, Caller
from gatehouse.api.errors import responses
from gatehouse.api.params import id_in_path
from gatehouse.api.schemas_sso import (
    ClaimsSample,
    DryRunRequest,
    DryRunResult,
    LoginOptionChanges,
    LoginOptionFields,
    LoginOptionList,
    LoginOptionOut,
    LoginOptionReplace,
    PasswordLogin,
    PasswordLoginOut,
    ProviderCheckOut,
    rule_json,
)
from gatehouse.iam import login_options as options
from gatehouse.iam import password_login
from gatehouse.iam import role_mapping_rules as rules_uc
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.login_options import OptionInput, OptionView
from gatehouse.sso import provider_checks
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

router = APIRouter(prefix="/login_options", tags=["Login options"])
OptionId = Annotated[str, id_in_path("The login option's id.")]


def _out(connection: Connection, principal: Principal, view: OptionView) -> LoginOptionOut:
    return LoginOptionOut.of(view, rules_uc.describe_rules(connection, principal, view.rules))


def _changes_summary(body: LoginOptionChanges) -> dict[str, Any]:
    """What the audit log keeps of a ``PATCH``: the fields sent, the rules counted, never the secret (as
    :func:`gatehouse.iam.login_options.audit_summary` does for a whole option)."""
    sent = body.model_dump(mode="json", exclude_unset=True, exclude={"client_secret", "client_secret_env", "version"})
    if body.rules is not None:
        sent["rules"] = len(body.rules)
    if body.client_secret:
        sent["client_auth"] = "stored"
    elif body.client_secret_env:
        sent.update(client_auth="environment", env_variable=body.client_secret_env)
    return sent


# ------------------------------------------------------------------------------------------ reading


@router.get("", summary="List login options", responses=responses(401, 403))
async def list_login_options(caller: CallerDep, api: ApiDep) -> LoginOptionList:
    """The built-in password option's switch and every OpenID Connect option, by name, without client secrets
    (`iam:GetLoginOption`)."""

    def read(connection: Connection) -> LoginOptionList:
        state = options.state(connection, caller.principal, api.settings.public_url)
        rules = {view.id: rules_uc.describe_rules(connection, caller.principal, view.rules) for view in state.options}
        return LoginOptionList.of(state, rules)

    return await api.db.read(read)


@router.get("/{option_id}", summary="A login option", responses=responses(401, 403, 404, 422))
async def get_login_option(option_id: OptionId, caller: CallerDep, api: ApiDep) -> LoginOptionOut:
    """One OpenID Connect option, with the redirect and initiate-login URIs to register at the provider; never its
    client secret (`iam:GetLoginOption`)."""

    def read(connection: Connection) -> LoginOptionOut:
        view = options.get(connection, caller.principal, option_id, api.settings.public_url)
        return _out(connection, caller.principal, view)

    return await api.db.read(read)


# ------------------------------------------------------------------------------------------ changes


@router.post("", status_code=201, summary="Create a login option", responses=responses(400, 401, 403, 409, 422))
async def create_login_option(body: LoginOptionFields, caller: CallerDep, api: ApiDep) -> LoginOptionOut:
    """An OpenID Connect option (`iam:UpdateLoginOption`). Send the client secret (stored encrypted, never returned) or
    the name of the environment variable holding it. Scopes without `openid`, an issuer that is not https, or a rule
    that is not acceptable is 400 (naming the rule by number); a taken name (any case) is 409."""
    data = body.input()

    def work(connection: Connection) -> LoginOptionOut:
        url = api.settings.public_url
        view = options.create(connection, caller.principal, data, api.secrets(), url, utcnow())
        return _out(connection, caller.principal, view)

    return await api.change(
        caller,
        options.CREATE.about(None, **options.audit_summary(data)),
        work,
        describe=lambda done, recorded: recorded.about(done.id),
        status=201,
    )


@router.put("/password", summary="Turn password sign-in on or off", responses=responses(401, 403, 409, 422))
async def set_password_option(body: PasswordLogin, caller: CallerDep, api: ApiDep) -> PasswordLoginOut:
    """The built-in username/password option (`iam:UpdateLoginOption`). It may be off only while an OpenID Connect
    option is enabled (409 otherwise). If the provider is down while it is off, the host operator runs `gatehouse
    login-options enable-password`."""
    await api.change(
        caller,
        password_login.PASSWORD.about(enabled=body.enabled),
        lambda c: password_login.set_password_login(c, caller.principal, body.enabled),
    )
    return PasswordLoginOut(enabled=body.enabled)


async def _update(
    caller: Caller, api: Api, option_id: str, data: OptionInput | LoginOptionChanges, version: int | None
) -> LoginOptionOut:
    """Replace the option's fields with ``data`` (a :class:`LoginOptionChanges` applies to the current option,
    read in the same transaction, at its version unless the caller sent one)."""
    summary = options.audit_summary(data) if isinstance(data, OptionInput) else _changes_summary(data)

    def work(connection: Connection) -> LoginOptionOut:
        url, expected = api.settings.public_url, version
        if isinstance(data, OptionInput):
            given = data
        else:
            current = options.get(connection, caller.principal, option_id, url)
            given, expected = data.applied_to(current), version or current.version
        view = options.update(
            connection, caller.principal, option_id, given, api.secrets(), url, utcnow(), expected_version=expected
        )
        return _out(connection, caller.principal, view)

    change = options.UPDATE.about(option_id, **summary, expected_version=version)
    return await api.change(caller, change, work, describe=lambda done, recorded: recorded.about(version=done.version))


@router.put("/{option_id}", summary="Replace a login option", responses=responses(400, 401, 403, 404, 409, 412, 422))
async def replace_login_option(
    option_id: OptionId, body: LoginOptionReplace, caller: CallerDep, api: ApiDep
) -> LoginOptionOut:
    """Every field of an OpenID Connect option (`iam:UpdateLoginOption`); the client secret is kept unless
    `client_secret` or `client_secret_env` is given (either replaces the other). With `version`, 412 if the option
    changed since. Disabling the last enabled option while password sign-in is off is 409."""
    return await _update(caller, api, option_id, body.input(), body.version)


@router.patch("/{option_id}", summary="Change a login option", responses=responses(400, 401, 403, 404, 409, 412, 422))
async def change_login_option(
    option_id: OptionId, body: LoginOptionChanges, caller: CallerDep, api: ApiDep
) -> LoginOptionOut:
    """The fields sent; the others are unchanged (`iam:UpdateLoginOption`). `rules`, when sent, replaces all the rules.
    With `version`, 412 if the option changed since."""
    return await _update(caller, api, option_id, body, body.version)


@router.delete(
    "/{option_id}",
    status_code=204,
    summary="Delete a login option",
    responses=responses(401, 403, 404, 409, 422),
)
async def delete_login_option(option_id: OptionId, caller: CallerDep, api: ApiDep) -> Response:
    """The option, its users' links to their provider accounts and its sign-ins in flight (`iam:UpdateLoginOption`);
    roles it mapped stay until each user's next SSO sign-in. Deleting the last enabled option while password sign-in is
    off is 409."""
    return await api.change_no_content(
        caller,
        options.DELETE.about(option_id),
        lambda c: options.delete(c, caller.principal, option_id),
        describe=lambda name, recorded: recorded.about(name=name),
    )


# ------------------------------------------------------------------------------------------ dry runs


@router.post("/dry_run", summary="Try mapping rules", responses=responses(400, 401, 403, 422))
async def dry_run(body: DryRunRequest, caller: CallerDep, api: ApiDep) -> DryRunResult:
    """Which roles and permission boundaries these rules (targets by id or name) would grant at a sign-in with these
    claims, rule by rule. Nothing is saved (`iam:GetLoginOption`). A rule that is not acceptable is 400, naming it by
    number."""
    rules = rule_json(body.rules)
    found = await api.db.read(lambda c: rules_uc.dry_run(c, caller.principal, rules, body.claims))
    return DryRunResult.of(found)


@router.post("/{option_id}/dry_run", summary="Try an option's rules", responses=responses(400, 401, 403, 404, 422))
async def dry_run_option(option_id: OptionId, body: ClaimsSample, caller: CallerDep, api: ApiDep) -> DryRunResult:
    """Which roles and permission boundaries the option's stored rules would grant at a sign-in with these claims, rule
    by rule. Nothing is saved (`iam:GetLoginOption`)."""

    def read(connection: Connection) -> DryRunResult:
        view = options.get(connection, caller.principal, option_id, api.settings.public_url)
        rules = [rule.to_json() for rule in view.rules]
        return DryRunResult.of(rules_uc.dry_run(connection, caller.principal, rules, body.claims))

    return await api.db.read(read)


@router.post("/{option_id}/check", summary="Check an option's provider", responses=responses(401, 403, 404, 422))
async def check_provider(option_id: OptionId, caller: CallerDep, api: ApiDep) -> ProviderCheckOut:
    """OpenID Connect: fetches the provider's discovery document and signing keys now, as a sign-in would. LDAP:
    connects, starts TLS, binds as the bind DN and reads the base DN (`steps`, the failed one last). SAML: reads the IdP
    metadata and builds a request. Says what was found or what is wrong (`ok: false` with a reason). Changes nothing
    (`iam:GetLoginOption`)."""
    view = await api.db.read(lambda c: options.get(c, caller.principal, option_id, api.settings.public_url))
    return ProviderCheckOut.of(await provider_checks.check(api, view))
