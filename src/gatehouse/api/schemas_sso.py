"""Request and response bodies of the admin API's login options (API7 parity: Organization → Settings →
Login Options): the built-in password option's switch, OpenID Connect, LDAP and SAML 2.0 options (``kind``;
LDAP's and SAML's own fields in an ``ldap`` or ``saml`` object), and the dry run of their role and
permission-boundary mapping rules.

The option's secret (OIDC client secret, LDAP bind password, SAML SP private key) is write-only, as
``client_secret``: a request may carry it, no response ever does (``secret_source`` says whether one is
stored, named by an environment variable, or missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, model_validator

from gatehouse.api.schemas import Body
from gatehouse.iam.login_options import LoginOptionsState, OptionInput, OptionView
from gatehouse.iam.role_mapping_rules import DryRunView, RuleLine, Target
from gatehouse.login.ldap import MAX_CA_BUNDLE, LdapSettings, TlsMode
from gatehouse.login.mapping import MAX_RULES, Kind, Operation
from gatehouse.login.options import DEFAULT_SCOPES, KindSettings
from gatehouse.login.options import Kind as OptionKind
from gatehouse.login.saml import MAX_CERTIFICATE, MAX_METADATA, NameIdFormat, SamlSettings
from gatehouse.sso.provider_checks import Found

Scopes = str | list[str]
RULES_DESCRIPTION = f"In order, at most {MAX_RULES}; errors name the rule by number (400)."
CLAIMS_DESCRIPTION = 'The claims of an ID token or UserInfo response, e.g. `{"groups": ["ops"]}`.'
VERSION_DESCRIPTION = "The `version` you read: the change is refused with 412 if the option changed since."
SCOPES_DESCRIPTION = (
    "The scopes to request: a list, or one space-separated string. `openid` is required (OIDC Core §3.1.2.1)."
)

# ------------------------------------------------------------------------------------------ rules


class RuleIn(Body):
    """One role or permission-boundary mapping rule, as sent (checked in order; errors name the rule by
    number, 1 for the first)."""

    kind: Kind = Field(default="role", description="`role`: grant a role; `boundary`: set a permission boundary.")
    target_id: str = Field(
        description="The role's (or, for `boundary`, the permission policy's) id or name; stored as its id. The "
        "built-in Super Admin role is never a target.",
    )
    attribute: str = Field(description="An RFC 9535 JSONPath into the sign-in's claims, e.g. `$.groups[*]`.")
    operation: Operation = Field(
        description="`exact_match`, `contains_string`, `exact_match_in_array`, `contains_string_in_array` or "
        "`regex` (the whole value must match)."
    )
    value: str = Field(description="The text compared with (for `regex`, the pattern).")


class RuleOut(BaseModel):
    """A stored mapping rule, with its target's name (`null` when that role or policy no longer exists)."""

    kind: Kind
    target_id: str
    target_name: str | None
    attribute: str
    operation: Operation
    value: str

    @classmethod
    def of(cls, line: RuleLine) -> RuleOut:
        rule = line.rule
        return cls(
            kind=rule.kind,
            target_id=rule.target_id,
            target_name=line.target.name,
            attribute=rule.attribute,
            operation=rule.operation,
            value=rule.value,
        )


def rule_json(rules: list[RuleIn]) -> list[dict[str, object]]:
    return [rule.model_dump(mode="json") for rule in rules]


# ------------------------------------------------------------------------------------------ LDAP and SAML


class LdapFields(Body):
    """An LDAP option's own fields (API7's names). The bind password is `client_secret`, write-only."""

    host: str = Field(min_length=1, max_length=255, description="Host name or address, without `ldap://`.")
    port: int = Field(default=389, ge=1, le=65535, description="389 (LDAP, StartTLS) or 636 (LDAPS).")
    tls: TlsMode = Field(default="none", description="`none`, `starttls` or `ldaps`.")
    verify_certificate: bool = Field(default=True, description="Verify the server's certificate and name.")
    ca_bundle: str = Field(default="", max_length=MAX_CA_BUNDLE, description="PEM CAs (empty: the system's).")
    base_dn: str = Field(min_length=1, max_length=1000)
    bind_dn: str = Field(default="", max_length=1000, description="The service account (empty: anonymous).")
    identifier: str = Field(default="uid", description="The attribute a username is (AD: `sAMAccountName`).")
    user_filter: str = Field(default="", max_length=500, description="ANDed with the identifier's filter.")
    subject_attribute: str = Field(default="entryUUID", description="Matched with SCIM's externalId.")
    username_attribute: str = "uid"
    email_attribute: str = "mail"
    name_attribute: str = "cn"
    groups_attribute: str = Field(default="memberOf", description="Rules read it as `$.memberOf[*]`.")
    group_search_base: str = Field(default="", max_length=1000, description="Groups with `member=<dn>` there.")
    timeout: int = Field(default=10, ge=1, le=60)
    trust_email: bool = Field(default=True, description="The directory's emails count as verified.")

    def settings(self) -> LdapSettings:
        return LdapSettings(**self.model_dump())


class SamlFields(Body):
    """A SAML option's own fields. The SP private key (PEM) is `client_secret`, write-only."""

    idp_metadata_url: str = Field(default="", max_length=1000)
    idp_metadata_xml: str = Field(default="", max_length=MAX_METADATA, description="Or the metadata, pasted.")
    entity_id: str = Field(default="", max_length=1000, description="The SP's (empty: the SP metadata URL).")
    sp_root_url: str = Field(default="", max_length=1000, description="Empty: GATEHOUSE_PUBLIC_URL.")
    name_id_format: NameIdFormat = "persistent"
    username_attribute: str = Field(default="", max_length=300, description="Empty: the NameID.")
    email_attribute: str = Field(default="email", max_length=300)
    name_attribute: str = Field(default="displayName", max_length=300)
    groups_attribute: str = Field(default="groups", max_length=300)
    sign_requests: bool = Field(default=False, description="Without a key given, a key pair is generated.")
    sp_certificate: str = Field(default="", max_length=MAX_CERTIFICATE)
    allow_idp_initiated: bool = False
    trust_email: bool = Field(default=True, description="The IdP's emails count as verified.")
    single_logout: bool = Field(
        default=False, description="SAML Single Logout: signing out also ends the IdP's session, and the IdP's "
        "LogoutRequests end Gatehouse's sessions (needs a SingleLogoutService in the IdP metadata).",
    )  # fmt: skip

    def settings(self) -> SamlSettings:
        return SamlSettings(**self.model_dump())


class SpOut(BaseModel):
    """What a SAML IdP needs of Gatehouse."""

    entity_id: str
    acs_url: str
    metadata_url: str
    slo_url: str = Field(description="The Single Logout service (HTTP-Redirect), used when Single Logout is on.")


def kind_settings(kind: str, ldap: LdapFields | None, saml: SamlFields | None) -> KindSettings:
    """The LDAP or SAML fields of a body of ``kind`` (``None`` for OIDC)."""
    if kind == "ldap":
        return ldap.settings() if ldap is not None else None
    if kind == "saml":
        return saml.settings() if saml is not None else None
    return None


# ------------------------------------------------------------------------------------------ options


class LoginOptionOut(BaseModel):
    """A login option (never its secret): OpenID Connect's fields, and for LDAP and SAML their own."""

    id: str
    kind: OptionKind = "oidc"
    name: str = Field(description="The sign-in button's label, unique ignoring case.")
    enabled: bool
    issuer: str = Field(description="The OpenID provider's issuer URL (discovery reads `/.well-known/...`).")
    client_id: str
    secret_source: Literal["stored", "env", "none"] = Field(
        description="Where the client secret comes from: `stored` (encrypted at rest), `env` (the environment "
        "variable `client_secret_env`), `none`. The secret itself is never returned."
    )
    client_secret_env: str | None
    scopes: list[str]
    username_claim: str
    email_claim: str
    name_claim: str
    subject_claim: str = Field(description="The claim matched with a SCIM user's externalId (default `sub`).")
    end_session: bool = Field(description="Signing out also ends the session at the provider (RP-initiated logout).")
    scim_only: bool | None = Field(
        description="Only SCIM-provisioned users may sign in; `null` follows whether SCIM provisioning is on."
    )
    effective_scim_only: bool
    rules: list[RuleOut] = Field(description="Role and permission-boundary mapping, in order.")
    version: int = Field(description="Send it back as `version` to update only if nobody changed it meanwhile.")
    created: datetime
    updated: datetime
    redirect_uri: str = Field(description="Register it at the provider (Sign-in redirect URI).")
    initiate_login_uri: str = Field(description="Register it at the provider (Initiate login URI), optional.")
    ldap: LdapFields | None = Field(default=None, description="An LDAP option's fields.")
    saml: SamlFields | None = Field(default=None, description="A SAML option's fields.")
    sp: SpOut | None = Field(default=None, description="A SAML option's addresses to register at the IdP.")

    @classmethod
    def of(cls, view: OptionView, rules: list[RuleLine]) -> LoginOptionOut:
        sp = view.sp
        return cls(
            id=view.id,
            kind=cast(OptionKind, view.kind),
            ldap=LdapFields(**view.ldap.to_json()) if view.ldap else None,
            saml=SamlFields(**view.saml.to_json()) if view.saml else None,
            sp=SpOut(entity_id=sp.entity_id, acs_url=sp.acs_url, metadata_url=sp.metadata_url, slo_url=sp.slo_url)
            if sp
            else None,
            name=view.name,
            enabled=view.enabled,
            **view.oidc_json(),
            secret_source=view.secret_source,
            client_secret_env=view.client_secret_env,
            scim_only=view.scim_only,
            effective_scim_only=view.effective_scim_only,
            rules=[RuleOut.of(line) for line in rules],
            version=view.version,
            created=view.created,
            updated=view.updated,
            redirect_uri=view.redirect_uri,
            initiate_login_uri=view.initiate_login_uri,
        )


class LoginOptionList(BaseModel):
    """Every login option: the built-in password option's switch, then the OpenID Connect options by name."""

    password_enabled: bool = Field(description="Whether users may sign in with a username and password.")
    scim_enabled: bool = Field(description="Whether SCIM provisioning is on (the default of `scim_only`).")
    items: list[LoginOptionOut]

    @classmethod
    def of(cls, state: LoginOptionsState, rules: Mapping[str, list[RuleLine]]) -> LoginOptionList:
        return cls(
            password_enabled=state.password_enabled,
            scim_enabled=state.scim_enabled,
            items=[LoginOptionOut.of(view, rules[view.id]) for view in state.options],
        )


class _OptionFields(Body):
    """The fields of an option that every write may carry."""

    client_secret: str | None = Field(
        default=None,
        max_length=1000,
        description="Write-only: stored encrypted, never returned. On update, omit it to keep the current one.",
    )
    client_secret_env: str | None = Field(
        default=None,
        max_length=100,
        description="Or the name of the environment variable that holds the secret (replaces a stored one).",
    )


class LoginOptionFields(_OptionFields):
    """A new login option: fields left out take their defaults. OpenID Connect (the default `kind`) needs
    `issuer`, `client_id` and a client secret (or the environment variable holding it); LDAP its `ldap`
    object (and the bind password when it has a bind DN); SAML its `saml` object."""

    kind: OptionKind = Field(default="oidc", description="`oidc`, `ldap` or `saml`; never changes.")
    name: str = Field(min_length=1, max_length=100, description="The sign-in button's label, unique ignoring case.")
    issuer: str | None = Field(default=None, min_length=1, max_length=500, description="OIDC: an https URL.")
    client_id: str | None = Field(default=None, min_length=1, max_length=255, description="OIDC.")
    scopes: Scopes = Field(default=DEFAULT_SCOPES, description=SCOPES_DESCRIPTION)
    enabled: bool = True
    username_claim: str = Field(default="preferred_username", max_length=100)
    email_claim: str = Field(default="email", max_length=100)
    name_claim: str = Field(default="name", max_length=100)
    subject_claim: str = Field(default="sub", min_length=1, max_length=100)
    end_session: bool = False
    scim_only: bool | None = None
    rules: list[RuleIn] = Field(default_factory=list, description=RULES_DESCRIPTION)
    ldap: LdapFields | None = Field(default=None, description="An LDAP option's fields (`kind` `ldap`).")
    saml: SamlFields | None = Field(default=None, description="A SAML option's fields (`kind` `saml`).")

    @model_validator(mode="after")
    def _kind_fields(self) -> LoginOptionFields:
        if self.kind == "oidc" and (self.issuer is None or self.client_id is None):
            raise ValueError("an OpenID Connect option needs issuer and client_id")
        if self.kind != "oidc" and getattr(self, self.kind) is None:
            raise ValueError(f"a {self.kind} option needs its '{self.kind}' object")
        return self

    def input(self) -> OptionInput:
        return OptionInput(
            kind=self.kind,
            settings=kind_settings(self.kind, self.ldap, self.saml),
            name=self.name,
            issuer=self.issuer or "",
            client_id=self.client_id or "",
            client_secret=self.client_secret,
            client_secret_env=self.client_secret_env,
            scopes=scope_text(self.scopes),
            enabled=self.enabled,
            username_claim=self.username_claim,
            email_claim=self.email_claim,
            name_claim=self.name_claim,
            subject_claim=self.subject_claim,
            end_session=self.end_session,
            scim_only=self.scim_only,
            rules=rule_json(self.rules),
        )


class LoginOptionChanges(_OptionFields):
    """Change some fields of an option (`PATCH`): fields left out are unchanged; `scim_only: null` follows
    SCIM again."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    issuer: str | None = Field(default=None, min_length=1, max_length=500)
    client_id: str | None = Field(default=None, min_length=1, max_length=255)
    scopes: Scopes | None = Field(default=None, description=SCOPES_DESCRIPTION)
    enabled: bool | None = None
    username_claim: str | None = Field(default=None, max_length=100)
    email_claim: str | None = Field(default=None, max_length=100)
    name_claim: str | None = Field(default=None, max_length=100)
    subject_claim: str | None = Field(default=None, min_length=1, max_length=100)
    end_session: bool | None = None
    scim_only: bool | None = None
    rules: list[RuleIn] | None = Field(default=None, description="All the rules, replaced. " + RULES_DESCRIPTION)
    version: int | None = Field(default=None, ge=1, description=VERSION_DESCRIPTION)
    ldap: LdapFields | None = Field(default=None, description="An LDAP option's fields, all replaced.")
    saml: SamlFields | None = Field(default=None, description="A SAML option's fields, all replaced.")

    def applied_to(self, view: OptionView) -> OptionInput:
        """The option's current fields with these changes (the stored secret kept unless one is given)."""
        given = self.model_fields_set

        def pick(name: str, current: Any) -> Any:
            value = getattr(self, name)
            return value if name in given and value is not None else current

        return OptionInput(
            kind=view.kind,
            settings=kind_settings(view.kind, self.ldap, self.saml) or view.settings,
            name=pick("name", view.name),
            issuer=pick("issuer", view.issuer),
            client_id=pick("client_id", view.client_id),
            client_secret=self.client_secret,
            client_secret_env=self.client_secret_env,
            scopes=scope_text(pick("scopes", view.scopes)),
            enabled=pick("enabled", view.enabled),
            username_claim=pick("username_claim", view.username_claim),
            email_claim=pick("email_claim", view.email_claim),
            name_claim=pick("name_claim", view.name_claim),
            subject_claim=pick("subject_claim", view.subject_claim),
            end_session=pick("end_session", view.end_session),
            scim_only=self.scim_only if "scim_only" in given else view.scim_only,
            rules=rule_json(self.rules) if self.rules is not None else [r.to_json() for r in view.rules],
        )


class LoginOptionReplace(LoginOptionFields):
    """An OpenID Connect login option, whole (`PUT`): fields left out take their defaults, except the client
    secret, which is kept unless `client_secret` or `client_secret_env` is given."""

    version: int | None = Field(default=None, ge=1, description=VERSION_DESCRIPTION)


def scope_text(scopes: Scopes) -> str:
    return scopes if isinstance(scopes, str) else " ".join(scopes)


# ------------------------------------------------------------------------------------------ password option


class PasswordLogin(Body):
    """The built-in username/password option: on, or off (only while an OIDC option is enabled)."""

    enabled: bool


class PasswordLoginOut(BaseModel):
    """Whether users may sign in with a username and password."""

    enabled: bool


# ------------------------------------------------------------------------------------------ dry run


class DryRunRequest(Body):
    """Rules to try against sample claims; nothing is saved."""

    rules: list[RuleIn] = Field(description=RULES_DESCRIPTION)
    claims: dict[str, Any] = Field(description=CLAIMS_DESCRIPTION)


class ClaimsSample(Body):
    """Sample claims to try an option's stored rules against."""

    claims: dict[str, Any] = Field(description=CLAIMS_DESCRIPTION)


class TargetOut(BaseModel):
    """A rule's target, named; `problem` says why a sign-in would not grant it (it does not exist, or is built-in)."""

    kind: Kind
    id: str
    name: str | None
    problem: str | None

    @classmethod
    def of(cls, target: Target) -> TargetOut:
        return cls(kind=target.kind, id=target.id, name=target.name, problem=target.problem)


class RuleOutcomeOut(BaseModel):
    """One rule's outcome: whether it matched, and which claim value (at which JSONPath node) matched."""

    number: int = Field(description="The rule's number, 1 for the first.")
    kind: Kind
    attribute: str
    operation: Operation
    value: str
    target: TargetOut
    matched: bool
    matched_value: str | None
    matched_at: str | None


class GrantOut(TargetOut):
    """A role or boundary the rules grant, with the number of the first rule granting it."""

    rule: int


class DryRunResult(BaseModel):
    """What the rules would grant at a sign-in with these claims."""

    rules: list[RuleOutcomeOut]
    roles: list[GrantOut]
    boundaries: list[GrantOut]

    @classmethod
    def of(cls, view: DryRunView) -> DryRunResult:
        return cls(
            rules=[
                RuleOutcomeOut(
                    number=o.number,
                    kind=o.rule.kind,
                    attribute=o.rule.attribute,
                    operation=o.rule.operation,
                    value=o.rule.value,
                    target=TargetOut.of(o.target),
                    matched=o.matched,
                    matched_value=o.value,
                    matched_at=o.location,
                )
                for o in view.outcomes
            ],
            roles=[GrantOut(**TargetOut.of(g.target).model_dump(), rule=g.rule) for g in view.roles],
            boundaries=[GrantOut(**TargetOut.of(g.target).model_dump(), rule=g.rule) for g in view.boundaries],
        )


class StepOut(BaseModel):
    """One step of an LDAP test: `connect`, `tls`, `service_bind`, `search`, `user_bind`, `groups`, `mapping`."""

    step: str
    ok: bool
    detail: str


class ProviderCheckOut(BaseModel):
    """What a check of an option's provider found (its discovery document and keys, fetched now)."""

    ok: bool = Field(description="Whether discovery and the keys could be read and used.")
    reason: str | None = Field(default=None, description="When not ok: a stable code (`unreachable`, `timeout`…).")
    detail: str | None = Field(default=None, description="When not ok: what is wrong, for an administrator.")
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    token_auth_method: str | None = None
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    signing_algs: list[str] = Field(default_factory=list)
    signing_keys: int = 0
    warnings: list[str] = Field(default_factory=list, description="What will not work as the option is configured.")
    steps: list[StepOut] = Field(default_factory=list, description="LDAP: each step of the test, in order.")
    idp_entity_id: str | None = Field(default=None, description="SAML: the IdP's entity id, from its metadata.")
    sso_url: str | None = Field(default=None, description="SAML: where sign-ins are sent (HTTP-Redirect).")

    @classmethod
    def of(cls, found: Found) -> ProviderCheckOut:
        """A check's result (:func:`gatehouse.sso.provider_checks.check`) as the API says it."""
        discovered = found.oidc.metadata if found.oidc is not None else None
        return cls(
            ok=found.ok, reason=found.reason, detail=found.detail, warnings=found.warnings,
            authorization_endpoint=discovered.authorization_endpoint if discovered else None,
            token_endpoint=discovered.token_endpoint if discovered else None,
            token_auth_method=discovered.token_auth_method if discovered else None,
            userinfo_endpoint=discovered.userinfo_endpoint if discovered else None,
            end_session_endpoint=discovered.end_session_endpoint if discovered else None,
            signing_algs=list(discovered.signing_algs) if discovered else [],
            signing_keys=found.oidc.signing_keys if found.oidc is not None else 0,
            steps=[StepOut(step=step.step, ok=step.ok, detail=step.detail) for step in found.steps],
            idp_entity_id=found.idp_entity_id, sso_url=found.sso_url,
        )  # fmt: skip
