"""The LDAP and SAML login options' forms: a stored option as its form shows it, the form as posted, and the
use case's input made from it (the bind password or SP key kept apart: never shown again, never audited).

Pure view helpers beside :mod:`gatehouse.web.login_option_forms` (OpenID Connect's); the fields are checked by
:class:`~gatehouse.login.ldap.LdapSettings`, :class:`~gatehouse.login.saml.SamlSettings` and the use cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request

from gatehouse.errors import Findings, InvalidInput
from gatehouse.iam import login_options as uc
from gatehouse.iam.login_options import OptionInput, OptionView
from gatehouse.iam.role_mapping_rules import rules_from_text
from gatehouse.login.ldap import DEFAULT_PORTS, TLS_MODES, LdapSettings
from gatehouse.login.saml import NAME_ID_CHOICES, SamlSettings
from gatehouse.numerals import whole_number
from gatehouse.web.actions import form_text

COMMON_TEXT: Final = ("name", "rules", "scim_only")
TEXT: Final[Mapping[str, tuple[str, ...]]] = {
    "ldap": (
        "host", "port", "tls", "base_dn", "bind_dn", "identifier", "user_filter", "subject_attribute",
        "username_attribute", "email_attribute", "name_attribute", "groups_attribute", "group_search_base", "timeout",
        "secret_mode", "client_secret_env",
    ),
    "saml": (
        "idp_metadata_url", "entity_id", "sp_root_url", "name_id_format", "username_attribute", "email_attribute",
        "name_attribute", "groups_attribute",
    ),
}  # fmt: skip
LONG_TEXT: Final[Mapping[str, Mapping[str, int]]] = {
    "ldap": {"ca_bundle": 70_000},
    "saml": {"idp_metadata_xml": 530_000, "sp_certificate": 17_000},
}
CHECKBOXES: Final[Mapping[str, tuple[str, ...]]] = {
    "ldap": ("enabled", "verify_certificate", "trust_email"),
    "saml": ("enabled", "sign_requests", "allow_idp_initiated", "trust_email", "single_logout"),
}
SCIM_ONLY: Final[Mapping[str, bool | None]] = {"default": None, "always": True, "never": False}
SAMPLES: Final[Mapping[str, str]] = {
    "ldap": '{\n  "dn": "uid=ada,ou=people,dc=example,dc=org",\n  "uid": ["ada"],\n  "mail": ["ada@example.org"],\n'
    '  "memberOf": ["cn=sre,ou=groups,dc=example,dc=org", "cn=dev,ou=groups,dc=example,dc=org"]\n}',
    "saml": '{\n  "name_id": "00u1a2b3c4",\n  "email": ["ada@example.org"],\n  "displayName": ["Ada Lovelace"],\n'
    '  "groups": ["sre", "dev"]\n}',
}
"""The dry run's sample attributes, as an LDAP or SAML sign-in gives them to the rules."""


def _on(flag: bool) -> str:
    return "on" if flag else ""


def defaults(kind: str) -> dict[str, str]:
    """A new option's form."""
    settings: LdapSettings | SamlSettings = LdapSettings("", "") if kind == "ldap" else SamlSettings()
    values = _settings_values(kind, settings)
    return {**values, "kind": kind, "name": "", "rules": "[]", "scim_only": "default", "enabled": "",
            "secret_mode": "stored", "client_secret_env": ""}  # fmt: skip


def _settings_values(kind: str, settings: LdapSettings | SamlSettings) -> dict[str, str]:
    data = settings.to_json()
    values = {name: str(value) for name, value in data.items() if not isinstance(value, bool)}
    values.update({name: _on(value) for name, value in data.items() if isinstance(value, bool)})
    return values


def values_of(view: OptionView, rules_text: str) -> dict[str, str]:
    """The form's values for a stored LDAP or SAML option (never its secret)."""
    assert view.settings is not None
    scim_only = next(key for key, value in SCIM_ONLY.items() if value is view.scim_only)
    return {
        **_settings_values(view.kind, view.settings), "kind": view.kind, "name": view.name, "rules": rules_text,
        "scim_only": scim_only, "enabled": _on(view.enabled),
        "secret_mode": "env" if view.secret_source == "env" else "stored",
        "client_secret_env": view.client_secret_env or "",
    }  # fmt: skip


def posted_values(request: Request, kind: str, max_rules: int) -> dict[str, str]:
    """The form as sent, without the secret."""
    values = {name: form_text(request, name, 1000) for name in (*COMMON_TEXT, *TEXT[kind]) if name != "rules"}
    values["rules"] = form_text(request, "rules", max_rules)
    values.update({name: form_text(request, name, limit) for name, limit in LONG_TEXT[kind].items()})
    values.update({name: _on(form_text(request, name, 10) == "on") for name in CHECKBOXES[kind]})
    values["kind"] = kind
    return values


def _number(values: Mapping[str, str], name: str, default: int, found: Findings) -> int:
    text = values.get(name, "").strip()
    if not text:
        return default
    number = whole_number(text, 6)
    if number is None:
        found.add(name, f"The {name} must be a whole number.")
        return default
    return number


def option_input(values: Mapping[str, str], secret: str, found: Findings) -> OptionInput:
    """The use case's input from an LDAP or SAML form (the rules JSON decoded); the form's own problems go to
    ``found``, each with a stand-in value (see :func:`gatehouse.web.login_option_forms.option_input`)."""
    kind = values["kind"]
    if values.get("scim_only") not in SCIM_ONLY:
        found.add("scim_only", "Choose whether only users provisioned by SCIM may sign in.")
    settings: LdapSettings | SamlSettings
    env: str | None = None
    if kind == "ldap":
        tls = values["tls"] if values["tls"] in TLS_MODES else "none"
        settings = LdapSettings(
            host=values["host"], base_dn=values["base_dn"], bind_dn=values["bind_dn"], tls=tls,
            port=_number(values, "port", DEFAULT_PORTS[tls], found),
            verify_certificate=values["verify_certificate"] == "on", ca_bundle=values["ca_bundle"],
            identifier=values["identifier"], user_filter=values["user_filter"],
            subject_attribute=values["subject_attribute"], username_attribute=values["username_attribute"],
            email_attribute=values["email_attribute"], name_attribute=values["name_attribute"],
            groups_attribute=values["groups_attribute"], group_search_base=values["group_search_base"],
            timeout=_number(values, "timeout", 10, found), trust_email=values["trust_email"] == "on",
        )  # fmt: skip
        env = values["client_secret_env"].strip() if values.get("secret_mode") == "env" else None
    else:
        name_id = values["name_id_format"] if values["name_id_format"] in NAME_ID_CHOICES else "persistent"
        settings = SamlSettings(
            idp_metadata_url=values["idp_metadata_url"], idp_metadata_xml=values["idp_metadata_xml"],
            entity_id=values["entity_id"], sp_root_url=values["sp_root_url"], name_id_format=name_id,
            username_attribute=values["username_attribute"], email_attribute=values["email_attribute"],
            name_attribute=values["name_attribute"], groups_attribute=values["groups_attribute"],
            sign_requests=values["sign_requests"] == "on", sp_certificate=values["sp_certificate"],
            allow_idp_initiated=values["allow_idp_initiated"] == "on", trust_email=values["trust_email"] == "on",
            single_logout=values["single_logout"] == "on",
        )  # fmt: skip
    return OptionInput(
        name=values["name"], kind=kind, settings=settings, enabled=values["enabled"] == "on",
        client_secret=secret if env is None and secret.strip() else None, client_secret_env=env,
        scim_only=SCIM_ONLY.get(values["scim_only"]), rules=rules_from_text(values["rules"]),
    )  # fmt: skip


def summary_of(values: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The audit summary of a submitted LDAP or SAML form (never the secret)."""
    try:
        found = Findings()
        data = option_input({**values, "rules": "[]"}, secret, found)
        found.done()
    except InvalidInput:
        return {"kind": values["kind"], "name": values["name"]}
    return {**uc.audit_summary(data), "rules": None}
