"""A plan's sign-in configuration (:mod:`gatehouse.iam.config_plan`): password sign-in on or off, and the login
options (OpenID Connect, LDAP, SAML) by name, each checked as the dashboard checks it, its role mapping rules'
targets resolved by name, its secret only ever a reference (an environment variable, or the one stored). Password
sign-in is never left off with no other enabled option. Reads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

from gatehouse.errors import InvalidInput
from gatehouse.iam.config_changes import ObjectChange
from gatehouse.iam.config_diff import PlanContext, compare, parts, setting_change
from gatehouse.iam.config_export import Doc
from gatehouse.iam.config_file import Path
from gatehouse.iam.config_model import LdapOption, Login, OidcOption, SamlOption, fold
from gatehouse.iam.config_payloads import OptionPayload
from gatehouse.login import mapping
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import KIND_OIDC, LoginOption, LoginOptionWrite, check_issuer, parse_scopes
from gatehouse.login.saml import SamlSettings

_OIDC_TEXT: Final = ("issuer", "client_id", "scopes", "username_claim", "email_claim", "name_claim", "subject_claim")

_OptionModel = OidcOption | LdapOption | SamlOption


def login_changes(plan: PlanContext, login: Login) -> list[ObjectChange]:
    """The ``login`` section: password sign-in, then the login options."""
    changes = setting_change("password_sign_in", "password", plan.state.password, login.password)
    if login.options is not None:
        changes += _options(plan, login.options)
    _sign_in_left(plan, login.password, login.options)
    return changes


def _options(plan: PlanContext, given: Sequence[_OptionModel]) -> list[ObjectChange]:
    stored = {fold(option.name): option for option in plan.state.options}
    by_id = {option.id: option for option in plan.state.options}
    current = {fold(doc["name"]): doc for doc in plan.state.data["login"]["options"]}
    changes: list[ObjectChange] = []
    seen: set[str] = set()
    for index, option in enumerate(given):
        path: Path = ("login", "options", index)
        key = fold(option.name)
        existing = stored.get(key)
        if existing is not None and option.id is not None and option.id != existing.id:
            plan.problem(
                (*path, "id"),
                f"the login option '{existing.name}' has the id {existing.id}: an id cannot change (its URLs are "
                "registered at the identity provider); leave id out or write that one",
            )
            continue
        if existing is None and option.id in by_id:
            other = by_id[option.id]
            plan.problem((*path, "id"), f"this id is the login option '{other.name}''s (renaming is not supported)")
            continue
        if existing is not None and existing.kind != option.kind:
            plan.problem(
                (*path, "kind"),
                f"the login option '{existing.name}' is of kind {existing.kind_name}: its kind cannot change",
            )
            continue
        payload = _option(plan, option, existing, path)
        if payload is None:
            continue
        seen.add(key)
        changes += compare("login_option", payload.name, current.get(key), _option_doc(payload, existing), payload)
    if plan.prune:
        for key, found in stored.items():
            if key not in seen:
                payload = OptionPayload(found.id, found.kind, found.name, found.enabled, None, None, {}, None, ())
                changes.append(ObjectChange("login_option", found.name, "delete", payload=payload))
    return changes


def _option(plan: PlanContext, option: _OptionModel, existing: LoginOption | None, path: Path) -> OptionPayload | None:
    before = len(plan.problems)
    env = option.secret.env if option.secret is not None else None
    stored = option.secret is not None and option.secret.stored is not None
    has_stored = existing is not None and existing.client_secret_encrypted is not None
    settings: LdapSettings | SamlSettings | None = None
    fields: dict[str, Any] = {}
    if stored and not has_stored:
        plan.problem(
            (*path, "secret"),
            "there is no stored secret to keep: a file never holds a secret, so reference an environment variable "
            "(secret: {env: NAME}), or store the secret in the dashboard or the API first",
        )
    removed = option.secret is None and existing is not None and bool(has_stored or existing.client_secret_env)
    if removed:
        plan.problem(
            (*path, "secret"),
            "this option has a secret in Gatehouse and a file cannot remove it: write secret: {stored: true} to "
            "keep it, or {env: NAME}",
        )
    if isinstance(option, OidcOption):
        fields = _oidc(plan, option, path)
        if option.secret is None and not removed:
            plan.problem((*path, "secret"), "an OpenID Connect option needs its client secret: secret: {env: NAME}")
    else:
        settings = _settings(plan, option, path)
    if isinstance(settings, LdapSettings) and settings.bind_dn and option.secret is None and not removed:
        plan.problem((*path, "secret"), "a bind DN needs its bind password: secret: {env: NAME}")
    if isinstance(settings, SamlSettings) and settings.sign_requests and not (stored and has_stored):
        plan.problem(
            (*path, "saml", "sign_requests"),
            "signing requests needs the SP's private key stored in Gatehouse: create or change this option in the "
            "dashboard or the API, then keep secret: {stored: true}",
        )
    rules = _mapping_rules(plan, option, path)
    claims = {key: fields[key] for key in _OIDC_TEXT if key in fields}
    if len(plan.problems) == before:  # the columns' own checks, once the fields they are built from passed
        write = LoginOptionWrite(option.name, "", "", kind=option.kind, settings=settings, client_secret_env=env)
        try:
            replace(write, **claims).columns()
        except InvalidInput as exc:
            plan.refused(path, exc)
    if len(plan.problems) > before:
        return None
    option_id = existing.id if existing is not None else option.id
    name = option.name.strip()
    return OptionPayload(option_id, option.kind, name, option.enabled, option.scim_only, env, fields, settings, rules)


def _oidc(plan: PlanContext, option: OidcOption, path: Path) -> dict[str, Any]:
    fields: dict[str, Any] = {"client_id": option.client_id.strip()}
    try:
        fields["issuer"] = check_issuer(option.issuer)
    except InvalidInput as exc:
        plan.problem((*path, "issuer"), exc.detail)
    try:
        fields["scopes"] = parse_scopes(" ".join(option.scopes))
    except InvalidInput as exc:
        plan.problem((*path, "scopes"), exc.detail)
    for claim in ("username_claim", "email_claim", "name_claim", "subject_claim"):
        fields[claim] = getattr(option, claim).strip()
    fields["end_session"] = option.end_session
    return fields


def _settings(plan: PlanContext, option: LdapOption | SamlOption, path: Path) -> LdapSettings | SamlSettings | None:
    try:
        if isinstance(option, LdapOption):
            return LdapSettings(**_fields(option.ldap)).checked()
        return SamlSettings(**_fields(option.saml)).checked()
    except InvalidInput as exc:
        plan.problem((*path, option.kind), exc.detail)
        return None


def _mapping_rules(plan: PlanContext, option: _OptionModel, path: Path) -> tuple[tuple[str, str, str, str, str], ...]:
    raw = [
        {
            "kind": "role" if rule.role is not None else "boundary",
            "target_id": rule.role if rule.role is not None else rule.boundary,
            "attribute": rule.attribute,
            "operation": rule.operation,
            "value": rule.value,
        }
        for rule in option.rules
    ]
    if len(raw) > mapping.MAX_RULES:
        plan.problem((*path, "rules"), f"at most {mapping.MAX_RULES} rules are allowed, got {len(raw)}")
        return ()
    parsed: list[tuple[int, mapping.Rule]] = []
    for index, item in enumerate(raw):  # every rule's problem named, not the first only
        try:
            parsed.append((index, mapping.parse_rule(f"rules[{index}]", item)))
        except mapping.MappingError as exc:
            plan.problem((*path, *parts(exc.location)), exc.reason)
    found = []
    for index, rule in parsed:
        kind = "role" if rule.kind == "role" else "policy"
        rule_path = (*path, "rules", index, rule.kind)
        names = plan.names(kind, [rule.target_id], rule_path, built_in_ok=rule.kind != "role", index=False)
        if names:
            found.append((rule.kind, names[0], rule.attribute, str(rule.operation), rule.value))
    return tuple(found)


def _sign_in_left(plan: PlanContext, password: bool | None, options: Sequence[Any] | None) -> None:
    """Password sign-in off needs another enabled option after the plan."""
    final_password = plan.state.password if password is None else password
    if final_password:
        return
    enabled = {fold(o.name) for o in plan.state.options if o.enabled}
    if options is not None:
        given = {fold(o.name): o.enabled for o in options}
        enabled = {key for key in enabled if key not in given and not plan.prune} | {
            key for key, on in given.items() if on
        }
    if not enabled:
        plan.problem(
            ("login", "password"),
            "password sign-in cannot be turned off while no other login option would be enabled: enable an OpenID "
            "Connect, LDAP or SAML option in the same file, so that people can still sign in",
        )


def _option_doc(payload: OptionPayload, existing: LoginOption | None) -> Doc:
    """The desired option in the export's form (:func:`~gatehouse.iam.config_export.option_doc`)."""
    doc: Doc = {"name": payload.name, "kind": payload.kind, "id": payload.id, "enabled": payload.enabled}
    doc["scim_only"] = payload.scim_only
    if payload.env is not None:
        doc["secret"] = {"env": payload.env}
    elif existing is not None and existing.client_secret_encrypted is not None:
        doc["secret"] = {"stored": True}
    if payload.kind == KIND_OIDC:
        doc.update(payload.fields)
        doc["scopes"] = str(payload.fields["scopes"]).split()
    else:
        assert payload.settings is not None
        settings = payload.settings
        if isinstance(settings, SamlSettings) and existing is not None and not settings.sp_certificate:
            kept = existing.kind_settings()
            if isinstance(kept, SamlSettings) and existing.client_secret_encrypted is not None:
                settings = replace(settings, sp_certificate=kept.sp_certificate)
        doc[payload.kind] = settings.to_json()
    doc["rules"] = [
        {kind: target, "attribute": attribute, "operation": operation, "value": value}
        for kind, target, attribute, operation, value in payload.rules
    ]
    return doc


def _fields(model: Any) -> dict[str, Any]:
    """The fields of a model of a protocol's settings (:data:`~gatehouse.iam.config_model.LdapFields`)."""
    found: dict[str, Any] = model.model_dump()
    return found
