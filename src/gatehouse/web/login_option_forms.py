"""The login-option pages' forms: a stored option as the form shows it, the form as posted, the use case's
input and the audit summary made from it (never the client secret), and the dry run's defaults. OpenID
Connect's here; LDAP's and SAML's in :mod:`gatehouse.web.login_option_kinds`, which these dispatch to by the
form's ``kind``.

Pure view helpers of :mod:`gatehouse.web.routes.login_options`; the rules themselves are checked by
:mod:`gatehouse.iam.role_mapping_rules`, and shown as rows by :mod:`gatehouse.web.rule_rows`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from starlette.requests import Request

from gatehouse.errors import Findings, InvalidInput
from gatehouse.iam import login_options as uc
from gatehouse.iam import role_mapping_rules
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.login_options import OptionInput, OptionView
from gatehouse.iam.role_mapping_rules import DryRunView, RuleError, rules_from_text
from gatehouse.login.mapping import Operation, Rule
from gatehouse.login.options import DEFAULT_SCOPES
from gatehouse.store.database import Connection
from gatehouse.web import login_option_kinds as kinds
from gatehouse.web.actions import form_text

T = TypeVar("T")

SCIM_ONLY: Final[Mapping[str, bool | None]] = {"default": None, "always": True, "never": False}
TEXT_FIELDS: Final = (
    "name", "issuer", "client_id", "client_secret_env", "scopes", "username_claim", "email_claim", "name_claim",
    "subject_claim", "rules", "scim_only", "secret_mode",
)  # fmt: skip
CHECKBOXES: Final = ("enabled", "end_session")
DEFAULTS: Final[Mapping[str, str]] = {
    "name": "", "issuer": "", "client_id": "", "client_secret_env": "", "scopes": DEFAULT_SCOPES,
    "username_claim": "preferred_username", "email_claim": "email", "name_claim": "name", "subject_claim": "sub",
    "rules": "[]", "scim_only": "default", "secret_mode": "stored", "enabled": "", "end_session": "",
    "kind": "oidc",
}  # fmt: skip
KINDS: Final = ("oidc", "ldap", "saml")
_SECRET: Final = ("client_secret", "client_secret_env")
FIELD_ORDER: Final[Mapping[str, tuple[str, ...]]] = {
    "oidc": ("name", "issuer", "client_id", *_SECRET, "scopes", "username_claim", "email_claim", "name_claim",
             "subject_claim", "scim_only"),
    "ldap": ("name", "host", "tls", "port", "ca_bundle", "base_dn", "bind_dn", *_SECRET, "identifier", "user_filter",
             "subject_attribute", "username_attribute", "email_attribute", "name_attribute", "groups_attribute",
             "group_search_base", "timeout", "scim_only"),
    "saml": ("name", "idp_metadata_url", "idp_metadata_xml", "entity_id", "sp_root_url", "name_id_format",
             "username_attribute", "email_attribute", "name_attribute", "groups_attribute", "sp_certificate",
             *_SECRET, "scim_only"),
}  # fmt: skip
"""The ids of each kind's fields, in the order its form shows them (its problems are summed up in that order)."""
TEMPLATES: Final = {"oidc": "login_options/form.html", "ldap": "login_options/form_ldap.html",
                    "saml": "login_options/form_saml.html"}  # fmt: skip
SAMPLE_CLAIMS: Final = (
    '{\n  "sub": "00u1a2b3c4",\n  "preferred_username": "ada@example.com",\n  "email": "ada@example.com",\n'
    '  "name": "Ada Lovelace",\n  "groups": ["engineering", "ops"],\n  "department": "Research"\n}'
)
OPERATIONS: Final = tuple(op.value for op in Operation)
MAX_RULES_TEXT: Final = 300_000


def rules_text(rules: Sequence[Rule]) -> str:
    """Rules as the textarea shows them: a JSON array, one rule per line."""
    if not rules:
        return "[]"
    return "[\n" + ",\n".join("  " + json.dumps(rule.to_json(), ensure_ascii=False) for rule in rules) + "\n]"


def defaults(kind: str) -> Mapping[str, str]:
    """A new option's form, for ``kind`` (an unknown kind: OpenID Connect's)."""
    return kinds.defaults(kind) if kind in ("ldap", "saml") else DEFAULTS


def values_of(view: OptionView) -> dict[str, str]:
    """The form's values for a stored option (never its secret)."""
    if view.kind != "oidc":
        return kinds.values_of(view, rules_text(view.rules))
    scim_only = next(key for key, value in SCIM_ONLY.items() if value is view.scim_only)
    return {
        "name": view.name, "issuer": view.issuer, "client_id": view.client_id,
        "client_secret_env": view.client_secret_env or "", "scopes": view.scopes,
        "username_claim": view.username_claim, "email_claim": view.email_claim, "name_claim": view.name_claim,
        "subject_claim": view.subject_claim, "rules": rules_text(view.rules), "scim_only": scim_only,
        "secret_mode": "env" if view.secret_source == "env" else "stored",
        "enabled": "on" if view.enabled else "", "end_session": "on" if view.end_session else "", "kind": "oidc",
    }  # fmt: skip


def posted_values(request: Request, kind: str = "oidc") -> dict[str, str]:
    """The form as sent, without the secret (kept apart so it is never shown again or audited)."""
    if kind in ("ldap", "saml"):
        return kinds.posted_values(request, kind, MAX_RULES_TEXT)
    values = {name: form_text(request, name, 300) for name in TEXT_FIELDS if name != "rules"}
    values["rules"] = form_text(request, "rules", MAX_RULES_TEXT)
    values.update({name: "on" if form_text(request, name, 10) == "on" else "" for name in CHECKBOXES})
    values["kind"] = "oidc"
    return values


def posted_secret(request: Request) -> str:
    """The secret typed into the form: the client secret, bind password or SP key (blank keeps the stored one)."""
    return form_text(request, "client_secret", 17_000)


def option_input(values: Mapping[str, str], secret: str, found: Findings | None = None) -> OptionInput:
    """The use case's input from the form (the rules JSON decoded; errors name the rule and field). The form's
    own problems (a choice or a number that cannot be read) go to ``found`` with a stand-in value, so that the
    use case's checks still run and every problem shows at once; without ``found`` the first is raised."""
    collect = Findings() if found is None else found
    data = _option_input(values, secret, collect)
    if found is None:
        collect.done()
    return data


def _option_input(values: Mapping[str, str], secret: str, found: Findings) -> OptionInput:
    if values.get("kind", "oidc") != "oidc":
        return kinds.option_input(values, secret, found)
    if values["scim_only"] not in SCIM_ONLY:
        found.add("scim_only", "Choose whether only users provisioned by SCIM may sign in.")
    env = values["client_secret_env"].strip()
    return OptionInput(
        name=values["name"],
        issuer=values["issuer"],
        client_id=values["client_id"],
        client_secret=secret if values["secret_mode"] != "env" and secret.strip() else None,
        client_secret_env=env if values["secret_mode"] == "env" else None,  # blank: the use case asks for it
        scopes=values["scopes"],
        enabled=values["enabled"] == "on",
        username_claim=values["username_claim"],
        email_claim=values["email_claim"],
        name_claim=values["name_claim"],
        subject_claim=values["subject_claim"].strip() or "sub",
        end_session=values["end_session"] == "on",
        scim_only=SCIM_ONLY.get(values["scim_only"]),
        rules=rules_from_text(values["rules"]),
    )


def with_every_problem(connection: Connection, principal: Principal, rules: str, save: Callable[[Findings], T]) -> T:
    """``save(found)``, which reads the form into ``found`` first; when the form or the use case refuses a
    field (400), every problem is raised together: the fields' (:class:`FieldProblems`) and the rules'
    (:class:`RuleError`, carrying the fields' too). Nothing is saved then: the write is rolled back."""
    found = Findings()
    try:
        result = save(found)
    except RuleError as exc:
        raise RuleError(exc.problems, {**found.found, **exc.fields}) if found.found else exc from None
    except InvalidInput as exc:
        if exc.status != 400:
            raise
        found.take(exc)
        try:
            problems = role_mapping_rules.problems_of(connection, principal, rules_from_text(rules))
        except RuleError as unreadable:
            problems = list(unreadable.problems)
        if problems:
            raise RuleError(problems, found.found) from None
        found.done()
        raise
    found.done()  # the form's own problems, though the use case took the stand-ins
    return result


def summary_of(values: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The audit summary of a submitted form: what :func:`gatehouse.iam.login_options.audit_summary` keeps."""
    if values.get("kind", "oidc") != "oidc":
        return kinds.summary_of(values, secret)
    try:
        data = option_input({**values, "rules": "[]"}, secret)
    except InvalidInput:
        return {"name": values["name"], "issuer": values["issuer"]}
    return {**uc.audit_summary(data), "rules": None}


def env_missing(view: OptionView | None) -> str | None:
    """The environment variable an option names that this process does not have, if so."""
    if view is None or view.client_secret_env is None or os.environ.get(view.client_secret_env):
        return None
    return view.client_secret_env


def same_rules(result: DryRunView, saved: Sequence[Rule]) -> bool:
    """Whether a dry run tried the saved rules (targets compared once resolved: a name is its id)."""
    tried = [(o.rule.kind, o.target.id, o.rule.attribute, o.rule.operation, o.rule.value) for o in result.outcomes]
    return tried == [(r.kind, r.target_id, r.attribute, r.operation, r.value) for r in saved]
