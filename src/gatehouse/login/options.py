"""The login-option model every login protocol shares: an option's editable fields and their checks.

Each option has a ``kind``: OpenID Connect (its fields are columns of their own), LDAP or SAML 2.0 (their
fields are typed dataclasses, :class:`~gatehouse.login.ldap.LdapSettings` and
:class:`~gatehouse.login.saml.SamlSettings`, stored as checked JSON in ``settings``). Every kind shares the
name, the switch, the role-mapping rules, the SCIM-only setting and one secret, stored encrypted under the
option's id or named by an environment variable: the OIDC client secret, the LDAP bind password, the SAML
SP's private key. Pure: no I/O; storage is :mod:`gatehouse.store.login_options`, the permission-checked use
cases :mod:`gatehouse.iam.login_options`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

import orjson

from gatehouse.errors import Findings, InvalidInput
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.mapping import Rule, parse_rules
from gatehouse.login.saml import SamlSettings
from gatehouse.names import fits_folded, folded_hint

Kind = Literal["oidc", "ldap", "saml"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
KIND_OIDC: Final = "oidc"
KIND_LDAP: Final = "ldap"
KIND_SAML: Final = "saml"
KIND_NAMES: Final[Mapping[str, str]] = {"oidc": "OpenID Connect", "ldap": "LDAP", "saml": "SAML 2.0"}
KindSettings = LdapSettings | SamlSettings | None

DEFAULT_SCOPES: Final = "openid profile email"
MAX_SCOPES: Final = 50
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,200}")  # RFC 6749 §3.3 scope-token
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_CLAIMS: Final = ("username_claim", "email_claim", "name_claim", "subject_claim")
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
"""Where an OpenID provider may be served over plain http (tests on this machine)."""
_LIMITS: Final = {"name": 100, "issuer": 500, "client_id": 255, **dict.fromkeys(_CLAIMS, 100)}


def parse_scopes(text: str) -> str:
    """Scopes as stored: space-separated tokens (RFC 6749 §3.3), duplicates dropped, ``openid`` required
    (OIDC Core §3.1.2.1). Raises :class:`InvalidInput`."""
    tokens = list(dict.fromkeys(text.split()))
    bad = next((token for token in tokens if not _SCOPE_TOKEN.fullmatch(token)), None)
    if bad is not None:
        raise InvalidInput(f"Scope {bad[:40]!r} is not valid: scopes are printable characters without quotes or \\.")
    if len(tokens) > MAX_SCOPES:
        raise InvalidInput(f"At most {MAX_SCOPES} scopes are allowed.")
    if "openid" not in tokens:
        raise InvalidInput("The scopes must include 'openid' (OpenID Connect requires it).")
    return " ".join(tokens)


def check_issuer(issuer: str) -> str:
    """The issuer identifier (OIDC Discovery §2): https, a host, no query or fragment; http on loopback only."""
    text = issuer.strip()
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("https", "http") or not host or parts.query or parts.fragment:
        raise InvalidInput(
            "The issuer must be an https URL without query or fragment, e.g. https://example.okta.com or "
            "https://login.microsoftonline.com/<tenant id>/v2.0."
        )
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise InvalidInput("The issuer must use https (http is accepted only for localhost, for tests).")
    return text


def check_env_name(name: str) -> str:
    """The name of an environment variable holding a client secret, checked."""
    if not _ENV_NAME.fullmatch(name):
        raise InvalidInput("The environment variable name must be letters, digits and '_' (at most 100).")
    return name


def dump_rules(rules: Sequence[Rule | Mapping[str, object]]) -> str:
    """Role-mapping rules as stored: validated by :func:`parse_rules` (:class:`MappingError` otherwise)."""
    parsed = parse_rules([rule.to_json() if isinstance(rule, Rule) else dict(rule) for rule in rules])
    return orjson.dumps([rule.to_json() for rule in parsed]).decode()


@dataclass(frozen=True, slots=True)
class LoginOptionWrite:
    """The editable fields of a login option (checked by :meth:`columns`)."""

    name: str
    issuer: str
    client_id: str
    scopes: str = DEFAULT_SCOPES
    enabled: bool = True
    client_secret_encrypted: str | None = field(default=None, repr=False)
    client_secret_env: str | None = None
    username_claim: str = "preferred_username"
    email_claim: str = "email"
    name_claim: str = "name"
    subject_claim: str = "sub"
    end_session: bool = False
    scim_only: bool | None = None
    role_rules: Sequence[Rule | Mapping[str, object]] = ()
    kind: str = KIND_OIDC
    settings: KindSettings = None
    """The LDAP or SAML fields (``None`` for OIDC, whose fields are the ones above)."""

    def columns(self) -> dict[str, Any]:
        """The row's columns; values that are not acceptable raise :class:`~gatehouse.errors.FieldProblems`,
        naming every one (an LDAP or SAML field under its kind, e.g. ``ldap.host``)."""
        found = Findings()
        kind_settings = found.check(self.kind, lambda: _settings_json(self.kind, self.settings), "{}")
        values: dict[str, Any] = {key: getattr(self, key).strip() for key in _LIMITS}
        for key, limit in _LIMITS.items():
            if self.kind != KIND_OIDC and key in ("issuer", "client_id"):
                values[key] = ""  # OIDC's own fields
            elif not values[key] or len(values[key]) > limit or (key == "name" and not fits_folded(values[key], limit)):
                folded = folded_hint(values[key], limit)
                found.add(key, f"The {key.replace('_', ' ')} must be 1 to {limit} characters{folded}.")
        if self.client_secret_encrypted is not None and self.client_secret_env is not None:
            found.add("client_secret_env", "Store the client secret or name its environment variable, not both.")
        named = self.client_secret_env
        env = None if named is None else found.check("client_secret_env", lambda: check_env_name(named), named)
        scopes = found.check("scopes", lambda: parse_scopes(self.scopes), "") if self.kind == KIND_OIDC else ""
        found.done()
        return {
            **values,
            "name_lower": values["name"].lower(),
            "enabled": self.enabled,
            "client_secret_encrypted": self.client_secret_encrypted,
            "client_secret_env": env,
            "scopes": scopes,
            "end_session": self.end_session,
            "scim_only": self.scim_only,
            "role_rules": dump_rules(self.role_rules),
            "settings": kind_settings,
        }


def _settings_json(kind: str, settings: KindSettings) -> str:
    """The ``settings`` column of an option of ``kind``: its fields checked, as JSON."""
    if kind not in KINDS:
        raise InvalidInput(f"The kind of login option must be one of {', '.join(KINDS)}.")
    expected = {KIND_OIDC: type(None), KIND_LDAP: LdapSettings, KIND_SAML: SamlSettings}[kind]
    if not isinstance(settings, expected):
        raise InvalidInput(f"A login option of kind {KIND_NAMES[kind]} needs its {KIND_NAMES[kind]} fields.")
    return "{}" if settings is None else orjson.dumps(settings.checked().to_json()).decode()


@dataclass(frozen=True, slots=True)
class ClaimFields:
    """What a stored option and its view share: how the provider is asked and its answer read, and who may
    sign in (``scim_only``: ``None`` follows whether SCIM is on)."""

    id: str
    name: str
    enabled: bool
    issuer: str
    client_id: str
    client_secret_env: str | None
    scopes: str
    username_claim: str
    email_claim: str
    name_claim: str
    subject_claim: str
    end_session: bool
    scim_only: bool | None

    def oidc_json(self) -> dict[str, Any]:
        """The OpenID Connect fields as a configuration file and the API show them (the scopes as a list)."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "scopes": self.scopes.split(),
            "username_claim": self.username_claim,
            "email_claim": self.email_claim,
            "name_claim": self.name_claim,
            "subject_claim": self.subject_claim,
            "end_session": self.end_session,
        }


@dataclass(frozen=True, slots=True)
class LoginOption(ClaimFields):
    """A login option as stored; ``role_rules`` is the stored JSON (:meth:`rules` parses it)."""

    kind: str
    client_secret_encrypted: str | None = field(repr=False)
    role_rules: str
    created: datetime
    updated: datetime
    version: int
    settings: str = "{}"

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(self.scopes.split())

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    def kind_settings(self) -> KindSettings:
        """The LDAP or SAML fields (``None`` for OIDC)."""
        data = orjson.loads(self.settings or "{}")
        if self.kind == KIND_LDAP:
            return LdapSettings.from_json(data)
        if self.kind == KIND_SAML:
            return SamlSettings.from_json(data)
        return None

    def ldap(self) -> LdapSettings:
        """The LDAP fields of an LDAP option (:class:`ValueError` for another kind)."""
        found = self.kind_settings()
        if not isinstance(found, LdapSettings):
            raise ValueError(f"login option {self.id} is not an LDAP option")
        return found

    def saml(self) -> SamlSettings:
        """The SAML fields of a SAML option (:class:`ValueError` for another kind)."""
        found = self.kind_settings()
        if not isinstance(found, SamlSettings):
            raise ValueError(f"login option {self.id} is not a SAML option")
        return found

    def rules(self) -> tuple[Rule, ...]:
        """The role and boundary mapping rules, in order."""
        return parse_rules(orjson.loads(self.role_rules))

    def effective_scim_only(self, scim_enabled: bool) -> bool:
        """Whether only SCIM-provisioned users may sign in (unset: whether SCIM is enabled)."""
        return scim_enabled if self.scim_only is None else self.scim_only

    def write(self) -> LoginOptionWrite:
        """The current editable fields, to change with :func:`dataclasses.replace`."""
        return LoginOptionWrite(
            self.name, self.issuer, self.client_id, self.scopes, self.enabled, self.client_secret_encrypted,
            self.client_secret_env, self.username_claim, self.email_claim, self.name_claim, self.subject_claim,
            self.end_session, self.scim_only, self.rules(), self.kind, self.kind_settings(),
        )  # fmt: skip
