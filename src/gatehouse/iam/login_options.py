"""Organization → Settings → Login Options as an administrator manages them (dashboard, admin API, CLI): the
permission-checked use cases over :mod:`gatehouse.store.login_options`. No I/O but the connection given.

Reading is ``iam:GetLoginOption`` (views never carry a client secret: only where it comes from);
creating, changing and deleting options are ``iam:UpdateLoginOption``, as is the built-in password option's
switch (:mod:`gatehouse.iam.password_login`). Both are checked on the organization
(:data:`~gatehouse.iam.catalog.ORGANIZATION`).
What the sign-in page offers (:func:`sign_in_choices`) is public: it is read before anyone signs in.

Rules beyond permissions:

- Options are of three kinds (``oidc``, ``ldap``, ``saml``; :mod:`gatehouse.login.options`), which never
  change once created. Each has one secret, stored encrypted with the option's id as context
  (:class:`~gatehouse.secrets_box.SecretBox`) or named by an environment variable: giving one clears the
  other; giving neither on update keeps what is stored.
- OIDC: Gatehouse signs in as a *confidential* client (OIDC Core §9, ``client_secret_basic`` or ``_post``),
  so the client secret is required. LDAP: the bind password is required when a bind DN is given (else the
  service search binds anonymously). SAML: the SP's private key (PEM) signs the requests when "sign
  requests" is on; without an uploaded key and certificate, a pair is generated.
- The issuer is an ``https`` URL without query or fragment (``http`` only on a loopback host, for local
  tests: :func:`gatehouse.login.options.check_issuer`); discovery reads
  ``{issuer}/.well-known/openid-configuration``.
- Role-mapping rules are checked, and their targets resolved to ids, by
  :mod:`gatehouse.iam.role_mapping_rules`.
- :func:`audit_summary` is what the audit log may keep of an input: never the secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Final, Literal

from gatehouse.errors import Conflict, Findings, InvalidInput, existing
from gatehouse.iam import scim_control
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.role_mapping_rules import RuleLine, check_rules, describe_rules
from gatehouse.login import options, saml_keys
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.mapping import Rule
from gatehouse.login.options import (
    DEFAULT_SCOPES,
    KIND_LDAP,
    KIND_NAMES,
    KIND_OIDC,
    KIND_SAML,
    ClaimFields,
    KindSettings,
    LoginOption,
    LoginOptionWrite,
)
from gatehouse.login.saml import SamlSettings, SpAddresses
from gatehouse.login.urls import initiate_login_uri, redirect_uri
from gatehouse.secrets_box import SecretBox
from gatehouse.store import login_options as store
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store.database import Connection
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.roles import StoredRole

GET_ACTION: Final = "iam:GetLoginOption"
UPDATE_ACTION: Final = "iam:UpdateLoginOption"
CREATE: Final = Change("iam:CreateLoginOption", "login_option")
UPDATE: Final = Change("iam:UpdateLoginOption", "login_option")
DELETE: Final = Change("iam:DeleteLoginOption", "login_option")

SecretSource = Literal["stored", "env", "none"]
MAX_SECRET_LENGTH: Final = 16_000  # a PEM private key (SAML) is longer than a client secret


# ------------------------------------------------------------------------------------------ input and views


@dataclass(frozen=True)
class OptionInput:
    """What an administrator submits for a login option (dashboard form or API body): the common fields, OIDC's
    (``issuer``, ``client_id``, scopes, claims, end-session) and, for LDAP and SAML, ``settings``."""

    name: str
    issuer: str = ""
    client_id: str = ""
    client_secret: str | None = None
    """A new secret to store encrypted (OIDC client secret, LDAP bind password, SAML SP private key in PEM);
    ``None`` (or empty) keeps the stored one on update."""
    client_secret_env: str | None = None
    """Or the name of the environment variable holding it."""
    scopes: str = DEFAULT_SCOPES
    enabled: bool = True
    username_claim: str = "preferred_username"
    email_claim: str = "email"
    name_claim: str = "name"
    end_session: bool = False
    scim_only: bool | None = None
    rules: Sequence[Mapping[str, object]] = ()
    """Rule JSON objects, in order (``target_id`` an id or a name, see the module)."""
    subject_claim: str = "sub"
    """The claim that identifies the user at the provider and is matched with a SCIM user's ``externalId``
    (``sub``; Entra ID's ``oid`` when its SCIM mapping sends the objectId as externalId)."""
    kind: str = KIND_OIDC
    settings: KindSettings = None
    """The LDAP or SAML fields (``None`` for OIDC)."""

    def __repr__(self) -> str:  # never the secret, even in a traceback's locals
        return f"OptionInput(kind={self.kind!r}, name={self.name!r}, issuer={self.issuer!r})"


@dataclass(frozen=True)
class OptionView(ClaimFields):
    """A login option as shown: never its secret, only where it comes from."""

    secret_source: SecretSource
    effective_scim_only: bool
    rules: tuple[Rule, ...]
    version: int
    created: datetime
    updated: datetime
    redirect_uri: str
    initiate_login_uri: str
    kind: str = KIND_OIDC
    settings: KindSettings = None
    sp: SpAddresses | None = None
    """A SAML option's SP addresses (entity id, ACS URL, SP metadata URL) to register at the IdP."""

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    @property
    def ldap(self) -> LdapSettings | None:
        return self.settings if isinstance(self.settings, LdapSettings) else None

    @property
    def saml(self) -> SamlSettings | None:
        return self.settings if isinstance(self.settings, SamlSettings) else None


@dataclass(frozen=True)
class LoginOptionsState:
    """The built-in password option, whether SCIM is on (the SCIM-only default) and every other option."""

    password_enabled: bool
    scim_enabled: bool
    options: list[OptionView]


def secret_source(option: LoginOption) -> SecretSource:
    if option.client_secret_encrypted is not None:
        return "stored"
    return "env" if option.client_secret_env is not None else "none"


def view_of(option: LoginOption, scim_enabled: bool, public_url: str) -> OptionView:
    """The view of a stored option (no permission check: callers have checked)."""
    settings = option.kind_settings()
    sp = settings.addresses(public_url, option.id) if isinstance(settings, SamlSettings) else None
    return OptionView(
        kind=option.kind,
        settings=settings,
        sp=sp,
        **{shared.name: getattr(option, shared.name) for shared in fields(ClaimFields)},
        secret_source=secret_source(option),
        effective_scim_only=option.effective_scim_only(scim_enabled),
        rules=option.rules(),
        version=option.version,
        created=option.created,
        updated=option.updated,
        redirect_uri=redirect_uri(public_url, option.id),
        initiate_login_uri=initiate_login_uri(public_url, option.id),
    )


def audit_summary(data: OptionInput) -> dict[str, Any]:
    """What the audit log keeps of an input: the fields and where the secret comes from, never the secret."""
    source = "environment" if _blank(data.client_secret_env) is not None else None
    if _blank(data.client_secret) is not None:
        source = "stored"
    if data.kind != KIND_OIDC:
        return {
            "kind": data.kind, "name": data.name, "enabled": data.enabled, "secret": source or "unchanged",
            "env_variable": _blank(data.client_secret_env), "scim_only": data.scim_only,
            "settings": _settings_summary(data.settings),
            "rules": len(data.rules) if isinstance(data.rules, Sequence) else None,
        }  # fmt: skip
    return {
        "name": data.name,
        "issuer": data.issuer,
        "client_id": data.client_id,
        "client_auth": source or "unchanged",
        "env_variable": _blank(data.client_secret_env),
        "scopes": data.scopes,
        "enabled": data.enabled,
        "claims": [data.username_claim, data.email_claim, data.name_claim, data.subject_claim],
        "end_session": data.end_session,
        "scim_only": data.scim_only,
        "rules": len(data.rules) if isinstance(data.rules, Sequence) else None,
    }


def _settings_summary(settings: KindSettings) -> dict[str, Any] | None:
    """LDAP or SAML fields for the audit log: every field but the pasted documents, which are only counted."""
    if settings is None:
        return None
    data = settings.to_json()
    for bulky in ("ca_bundle", "idp_metadata_xml", "sp_certificate"):
        if bulky in data:
            data[bulky] = f"{len(data[bulky])} characters" if data[bulky] else ""
    return data


# ------------------------------------------------------------------------------------------ reading


def state(connection: Connection, principal: Principal, public_url: str) -> LoginOptionsState:
    """The password option's switch, whether SCIM is on and every OIDC option (by name)."""
    require(principal, GET_ACTION, ORGANIZATION)
    scim_enabled = scim_control.is_enabled(connection)
    return LoginOptionsState(
        store.password_login_enabled(connection),
        scim_enabled,
        [view_of(option, scim_enabled, public_url) for option in store.list_all(connection)],
    )


def get(connection: Connection, principal: Principal, option_id: str, public_url: str) -> OptionView:
    """One option; :class:`NotFound` if there is none."""
    require(principal, GET_ACTION, ORGANIZATION)
    return view_of(_load(connection, option_id), scim_control.is_enabled(connection), public_url)


def mapping_targets(connection: Connection, principal: Principal) -> tuple[list[StoredRole], list[StoredPolicy]]:
    """The roles (the built-in ones left out) and permission policies rules may name, by name."""
    require(principal, GET_ACTION, ORGANIZATION)
    return [r for r in role_store.list_all(connection) if not r.built_in], policy_store.list_all(connection)


@dataclass(frozen=True, slots=True)
class SetupPage:
    """What a login option's setup page shows besides its form: the option (``None`` on the new option's
    form), whether SCIM is on (the SCIM-only default), its rules numbered and named, and the roles and
    policies a rule may name."""

    option: OptionView | None
    scim_enabled: bool
    rules: list[RuleLine]
    roles: list[StoredRole]
    policies: list[StoredPolicy]


def setup_page(
    connection: Connection, principal: Principal, option_id: str | None, public_url: str, *, changing: bool = False
) -> SetupPage:
    """A login option's setup page (``iam:GetLoginOption``; :class:`NotFound` if there is none), or with
    ``option_id`` ``None`` the new option's form, the form of a change (``iam:UpdateLoginOption`` first), as
    it is ``changing`` (its rules moved or rows added before saving) too."""
    if option_id is None or changing:
        require(principal, UPDATE_ACTION, ORGANIZATION)
    current = state(connection, principal, public_url)
    option = get(connection, principal, option_id, public_url) if option_id is not None else None
    lines = describe_rules(connection, principal, option.rules) if option is not None else []
    roles, policies = mapping_targets(connection, principal)
    return SetupPage(option, current.scim_enabled, lines, roles, policies)


def option_to_delete(connection: Connection, principal: Principal, option_id: str, public_url: str) -> OptionView:
    """The option a deletion would remove, for its confirmation page: refused (403) without
    ``iam:UpdateLoginOption``, then :class:`NotFound` if there is none."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    return get(connection, principal, option_id, public_url)


def option_to_test(connection: Connection, principal: Principal, option_id: str, public_url: str) -> OptionView:
    """The LDAP option a test sign-in is about: refused (403) without ``iam:UpdateLoginOption`` (it binds as a
    person with their password), :class:`NotFound` if there is none, :class:`InvalidInput` for another kind."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    view = get(connection, principal, option_id, public_url)
    if view.kind != KIND_LDAP:
        raise InvalidInput("Only an LDAP login option has a test sign-in.")
    return view


@dataclass(frozen=True, slots=True)
class SignInChoices:
    """What the sign-in page offers."""

    password: bool
    options: list[tuple[str, str, str]]
    """(id, name, kind) of each enabled login option, by name."""


def sign_in_choices(connection: Connection) -> SignInChoices:
    """The enabled ways to sign in, read in one go (public: no principal yet)."""
    options = [(option.id, option.name, option.kind) for option in store.enabled_options(connection)]
    return SignInChoices(store.password_login_enabled(connection), options)


def _load(connection: Connection, option_id: str) -> LoginOption:
    return existing(store.get(connection, option_id), "There is no such login option. It may have been deleted.")


# ------------------------------------------------------------------------------------------ changes


def create(
    connection: Connection,
    principal: Principal,
    data: OptionInput,
    box: SecretBox,
    public_url: str,
    now: datetime,
    *,
    option_id: str | None = None,
) -> OptionView:
    """Create a login option; a taken name (any case) is a :class:`~gatehouse.errors.Conflict`.

    ``option_id`` (a random UUID from :func:`new_option_id`) lets the setup page show the redirect URI
    before the option exists, as providers ask for it when their app is created; by default a new one.
    """
    require(principal, UPDATE_ACTION, ORGANIZATION)
    option_id = new_option_id() if option_id is None else check_option_id(option_id)
    if store.get(connection, option_id) is not None:
        raise Conflict("This login option was created already (the form was sent twice): open it in Settings.")
    found = Findings()
    secret, env = _secret_choice(data, found)
    if data.kind == KIND_SAML:
        unchanged: tuple[OptionInput, str | None] = (data, None)
        data, secret = found.check("client_secret", lambda: _saml_key(data, secret, None, now), unchanged)
    named = {"client_secret", "client_secret_env"} & found.found.keys()  # a secret given, though refused
    if secret is None and env is None and _needs_secret(data) and not named:
        found.add("client_secret", _SECRET_REQUIRED[data.kind])
    write = _write(connection, data, None, found)
    write = replace(
        write, client_secret_encrypted=None if secret is None else box.encrypt(secret, option_id), client_secret_env=env
    )
    stored = store.insert(connection, option_id, write, now)
    return view_of(stored, scim_control.is_enabled(connection), public_url)


def new_option_id() -> str:
    """A new login option id (a random UUID, like the other ids of Gatehouse)."""
    return str(uuid.uuid4())


def check_option_id(text: str) -> str:
    """An id proposed for a new option: a random UUID in its canonical form."""
    try:
        parsed = uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        parsed = None
    if parsed is None or parsed.version != 4 or str(parsed) != text:
        raise InvalidInput("The login option id must be a random UUID (reload the page to get a new one).")
    return text


def update(
    connection: Connection,
    principal: Principal,
    option_id: str,
    data: OptionInput,
    box: SecretBox,
    public_url: str,
    now: datetime,
    expected_version: int | None = None,
    *,
    keep: Literal["any", "stored"] = "any",
) -> OptionView:
    """Replace an option's fields (the secret kept unless a new one or an environment variable is given).

    ``keep="stored"`` (the dashboard's form, set to store a secret) keeps only a stored secret: giving neither
    a secret nor an environment variable to an option whose secret is not stored is
    :class:`~gatehouse.errors.InvalidInput`. A stale ``expected_version`` is
    :class:`~gatehouse.errors.PreconditionFailed`; disabling the last enabled option while password sign-in
    is off is :class:`~gatehouse.errors.Conflict`.
    """
    require(principal, UPDATE_ACTION, ORGANIZATION)
    current = _load(connection, option_id)
    if data.kind != current.kind:
        raise InvalidInput(
            f"This login option is of kind {current.kind_name}; its kind cannot change (add a new option instead)."
        )
    found = Findings()
    secret, env = _secret_choice(data, found, blank_env=keep == "stored")
    if data.kind == KIND_SAML:
        unchanged: tuple[OptionInput, str | None] = (data, None)
        data, secret = found.check("client_secret", lambda: _saml_key(data, secret, current, now), unchanged)
    given = secret is not None or env is not None or bool({"client_secret", "client_secret_env"} & found.found.keys())
    if keep == "stored" and not given and secret_source(current) != "stored" and _needs_secret(data):
        found.add("client_secret", _TO_STORE[data.kind])
    write = _write(connection, data, current, found)
    if secret is not None:
        write = replace(write, client_secret_encrypted=box.encrypt(secret, option_id), client_secret_env=None)
    elif env is not None:
        write = replace(write, client_secret_encrypted=None, client_secret_env=env)
    stored = store.update(connection, option_id, write, now, expected_version)
    return view_of(stored, scim_control.is_enabled(connection), public_url)


def set_enabled(
    connection: Connection, principal: Principal, option_id: str, enabled: bool, public_url: str, now: datetime
) -> OptionView:
    """Enable or disable an option and nothing else. The dashboard enables one only after its provider check
    passed; disabling the last enabled option while password sign-in is off is :class:`Conflict`."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    current = _load(connection, option_id)
    stored = store.update(connection, option_id, replace(current.write(), enabled=enabled), now)
    return view_of(stored, scim_control.is_enabled(connection), public_url)


def delete(connection: Connection, principal: Principal, option_id: str) -> str:
    """Delete an option with its user links; its name. Mapped grants stay until the users' next SSO sign-in;
    :class:`NotFound` if there is none."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    name = _load(connection, option_id).name
    store.delete(connection, option_id)
    return name


def _blank(text: str | None) -> str | None:
    return None if text is None or not text.strip() else text.strip()


def _secret_choice(data: OptionInput, found: Findings, blank_env: bool = True) -> tuple[str | None, str | None]:
    """(new secret, environment variable name), each ``None`` when not given; both is refused (in ``found``),
    and so is, with ``blank_env``, an environment variable chosen (not ``None``) but left blank without a
    secret (an update through the API: blank keeps what is stored)."""
    secret = None if data.client_secret is None or not data.client_secret.strip() else data.client_secret
    env = _blank(data.client_secret_env)
    if blank_env and data.client_secret_env is not None and env is None and secret is None:
        found.add("client_secret_env", f"Name the environment variable that holds the {_SECRET_NAMES[data.kind]}.")
    if secret is not None and env is not None:
        found.add("client_secret_env", "Store the client secret or name its environment variable, not both.")
    if secret is not None and len(secret) > MAX_SECRET_LENGTH:
        found.add("client_secret", f"The client secret must be at most {MAX_SECRET_LENGTH} characters.")
        secret = None
    if env is None:
        return secret, None
    named = env
    return secret, found.check("client_secret_env", lambda: options.check_env_name(named), None)


_SECRET_NAMES: Final = {KIND_OIDC: "client secret", KIND_LDAP: "bind password", KIND_SAML: "SP private key"}

_SECRET_REQUIRED: Final = {
    KIND_OIDC: "Give the client secret, or the name of the environment variable that holds it: Gatehouse signs in "
    "as a confidential client.",
    KIND_LDAP: "Give the bind password of the bind DN, or the name of the environment variable that holds it "
    "(or leave the bind DN empty to search anonymously).",
    KIND_SAML: "Give the SP's private key (PEM) to sign requests with.",
}


_TO_STORE: Final = {
    KIND_OIDC: "Enter the client secret to store, or choose an environment variable.",
    KIND_LDAP: "Enter the bind password to store, or choose an environment variable.",
    KIND_SAML: "Give the SP's private key (PEM) to sign requests with.",
}


def _needs_secret(data: OptionInput) -> bool:
    """Whether an option needs its secret: OIDC always, LDAP with a bind DN, SAML when it signs requests."""
    if isinstance(data.settings, LdapSettings):
        return bool(data.settings.bind_dn.strip())
    if isinstance(data.settings, SamlSettings):
        return data.settings.sign_requests
    return data.kind == KIND_OIDC


def _saml_key(
    data: OptionInput, secret: str | None, current: LoginOption | None, now: datetime
) -> tuple[OptionInput, str | None]:
    """A SAML option's SP key and certificate: an uploaded pair checked; none, while requests are signed and
    no key is stored, a pair generated; else the stored key kept (with the certificate shown)."""
    settings = data.settings
    if not isinstance(settings, SamlSettings):
        raise InvalidInput("A SAML 2.0 login option needs its SAML fields.")
    stored = current is not None and current.client_secret_encrypted is not None
    if secret is not None:
        saml_keys.check_pair(secret, settings.sp_certificate)
        return data, secret
    if settings.sign_requests and not stored:
        key, certificate = saml_keys.generate(settings.entity_id or data.name, now)
        return replace(data, settings=replace(settings, sp_certificate=certificate)), key
    if current is not None and not settings.sp_certificate.strip():
        kept = current.kind_settings()
        if isinstance(kept, SamlSettings):
            return replace(data, settings=replace(settings, sp_certificate=kept.sp_certificate)), None
    return data, None


def _write(connection: Connection, data: OptionInput, current: LoginOption | None, found: Findings) -> LoginOptionWrite:
    """The row to write for ``data``: every field checked, each problem in ``found`` with those found before,
    raised together (:class:`~gatehouse.errors.FieldProblems`); only then the rules (:class:`RuleError`)."""
    base = current.write() if current is not None else LoginOptionWrite(data.name, data.issuer, data.client_id)
    oidc = data.kind == KIND_OIDC
    write = replace(
        base,
        kind=data.kind,
        settings=data.settings,
        name=data.name,
        issuer=found.check("issuer", lambda: options.check_issuer(data.issuer), data.issuer) if oidc else "",
        client_id=data.client_id,
        scopes=data.scopes if oidc else DEFAULT_SCOPES,
        enabled=data.enabled,
        username_claim=data.username_claim,
        email_claim=data.email_claim,
        name_claim=data.name_claim,
        subject_claim=data.subject_claim,
        end_session=data.end_session,
        scim_only=data.scim_only,
        role_rules=(),
    )
    found.check("", write.columns, None)
    found.done()
    return replace(write, role_rules=check_rules(connection, data.rules))
