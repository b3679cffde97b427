"""Gatehouse's access configuration as a file (``gatehouse config export``, ``GET /api/config/export``): every
object by name, sorted, secrets never included, so that the same configuration always gives the same bytes;
and the state a plan is computed against, with its id (a digest of that export).

Exporting is ``iam:ExportConfig`` on the organization: it reads the whole configuration (never a secret), as
``iam:ExportAudits`` reads the whole audit log. The built-in Super Admin role and policy are not exported (they
are the same everywhere and cannot change), nor grants that are not an administrator's (SSO role mapping,
access requests), nor users' directory data (SCIM owns it): a file names users and groups, never creates them.

The ``*_doc`` functions give each object's form in a file; :mod:`gatehouse.iam.config_plan` builds the desired
objects in the same form, so that a plan is a comparison of like with like and applying a file then exporting
gives the file back (normalized).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from gatehouse.iam import gateway_preset
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.config_model import VERSION
from gatehouse.iam.scim_control import is_enabled, password_sign_in
from gatehouse.login.mapping import Rule as MappingRule
from gatehouse.login.options import KIND_OIDC, LoginOption
from gatehouse.store import access_requests, authz_rules, config_state, scim_tokens, settings
from gatehouse.store import login_options as option_store
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store.authz_rules import StoredRule
from gatehouse.store.config_state import GroupBindings, UserGrants
from gatehouse.store.database import Connection
from gatehouse.store.gateway_labels import StoredLabels
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.roles import StoredRole
from gatehouse.store.scim_tokens import TokenInfo

EXPORT_ACTION: Final = "iam:ExportConfig"
APPLY_ACTION: Final = "iam:ApplyConfig"

Doc = dict[str, Any]


def by_name(names: Iterable[str]) -> list[str]:
    """Names as a file lists them: in any case's alphabetical order, then exactly."""
    return sorted(names, key=lambda name: (name.lower(), name))


# ------------------------------------------------------------------------------------------ each object's form


def _named_doc(name: str, description: str, labels: Mapping[str, str]) -> Doc:
    """What a policy's and a role's entries start with: the name, then the description and labels if any."""
    doc: Doc = {"name": name}
    if description:
        doc["description"] = description
    if labels:
        doc["labels"] = dict(sorted(labels.items()))
    return doc


def policy_doc(name: str, description: str, labels: Mapping[str, str], document: Mapping[str, Any]) -> Doc:
    doc = _named_doc(name, description, labels)
    doc["document"] = dict(document)
    return doc


def role_doc(
    name: str,
    description: str,
    labels: Mapping[str, str],
    policies: Iterable[str],
    requestable: tuple[int, int] | None = None,
) -> Doc:
    doc = _named_doc(name, description, labels)
    doc["policies"] = by_name(policies)
    if requestable is not None:
        doc["requestable"] = {"max_minutes": requestable[0], "answer_within_minutes": requestable[1]}
    return doc


Grant = tuple[str, datetime | None]
"""A role's name and until when it is held (``None``: until taken away)."""


def moment(when: datetime) -> str:
    """A moment as a file writes it: ISO 8601 in UTC, ``2026-12-31T18:00:00Z`` (microseconds when there are)."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def grant_items(grants: Iterable[Grant]) -> list[Any]:
    """Grants as a file lists them, by role name: the name alone, or ``{role, expires}`` for a time-bound one."""
    ordered = sorted(grants, key=lambda grant: (grant[0].lower(), grant[0]))
    return [name if until is None else {"role": name, "expires": moment(until)} for name, until in ordered]


def binding_doc(display_name: str, roles: Iterable[Grant]) -> Doc:
    return {"displayName": display_name, "roles": grant_items(roles)}


def grant_doc(user_name: str, roles: Iterable[Grant], boundaries: Iterable[str]) -> Doc:
    doc: Doc = {"userName": user_name, "roles": grant_items(roles)}
    listed = by_name(boundaries)
    if listed:
        doc["boundaries"] = listed
    return doc


def secret_doc(encrypted: bool, env: str | None) -> Doc | None:
    """A login option's secret as a file says where it is: never the secret."""
    if encrypted:
        return {"stored": True}
    return None if env is None else {"env": env}


def mapping_rule_doc(rule: MappingRule, target: str) -> Doc:
    return {rule.kind: target, "attribute": rule.attribute, "operation": str(rule.operation), "value": rule.value}


def option_doc(
    option: LoginOption, rules: Sequence[Doc], *, secret: Doc | bool | None = True, settings_json: Doc | None = None
) -> Doc:
    """A login option as a file has it (``secret=True``: where the stored option's secret is)."""
    doc: Doc = {"name": option.name, "kind": option.kind, "id": option.id, "enabled": option.enabled}
    doc["scim_only"] = option.scim_only
    found = (
        secret_doc(option.client_secret_encrypted is not None, option.client_secret_env) if secret is True else secret
    )
    if isinstance(found, dict):
        doc["secret"] = found
    if option.kind == KIND_OIDC:
        doc.update(option.oidc_json())
    else:
        kind_settings = option.kind_settings()
        assert kind_settings is not None
        doc[option.kind] = settings_json if settings_json is not None else kind_settings.to_json()
    doc["rules"] = list(rules)
    return doc


def rule_doc(
    methods: Sequence[str],
    path: str,
    action: str,
    resource: str,
    query: Mapping[str, str],
    labels: Mapping[str, Mapping[str, str]],
    description: str,
) -> Doc:
    doc: Doc = {"methods": list(methods), "path": path}
    if query:
        doc["query"] = dict(sorted(query.items()))
    doc.update(action=action, resource=resource)
    if labels:
        doc["labels"] = {key: dict(sorted(values.items())) for key, values in sorted(labels.items())}
    if description:
        doc["description"] = description
    return doc


def stored_rule_doc(rule: StoredRule) -> Doc:
    return rule_doc(rule.methods, rule.path, rule.action, rule.resource, rule.query, rule.labels, rule.description)


def labels_doc(resource: str, labels: Mapping[str, str]) -> Doc:
    return {"resource": resource, "labels": dict(sorted(labels.items()))}


# ------------------------------------------------------------------------------------------ the state


@dataclass(frozen=True)
class State:
    """What Gatehouse holds now, as a plan needs it: the stored objects and their export (:attr:`data`)."""

    policies: list[StoredPolicy]
    roles: list[StoredRole]
    role_policies: dict[str, list[str]]
    grants: list[UserGrants]
    bindings: list[GroupBindings]
    options: list[LoginOption]
    password: bool
    scim_enabled: bool
    scim_password_sign_in: bool
    tokens: list[TokenInfo]
    preset: bool
    rules: list[StoredRule]
    labels: list[StoredLabels]
    requestable: dict[str, tuple[int, int]]
    """(max_minutes, answer_within_minutes) of each requestable role, by role id."""
    data: dict[str, Any]

    @property
    def plan_id(self) -> str:
        """The digest of the export: a plan's id, which an apply given it checks still holds."""
        return state_id(self.data)

    def policy_name(self, policy_id: str) -> str:
        return next((p.name for p in self.policies if p.id == policy_id), policy_id)

    def role_name(self, role_id: str) -> str:
        return next((r.name for r in self.roles if r.id == role_id), role_id)


def state_id(data: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of a configuration's canonical JSON (keys sorted)."""
    return "sha256:" + hashlib.sha256(orjson.dumps(dict(data), option=orjson.OPT_SORT_KEYS)).hexdigest()


def read_state(connection: Connection) -> State:
    """Everything a configuration holds, read in the caller's transaction (no permission check: see
    :func:`export`)."""
    policies = policy_store.list_all(connection)
    roles = role_store.list_all(connection)
    attached = role_store.policy_ids_of(connection, [role.id for role in roles])
    grants = config_state.user_grants(connection)
    bindings = config_state.group_bindings(connection)
    options = option_store.list_all(connection)
    tokens = sorted(scim_tokens.live(connection), key=lambda token: (token.name.lower(), token.name))
    rules = authz_rules.all_rules(connection)
    labels = config_state.all_labels(connection)
    requestable = {
        found.role_id: (found.max_minutes, found.answer_within_minutes)
        for found in access_requests.requestable(connection)
    }
    policy_names = {policy.id: policy.name for policy in policies}
    role_names = {role.id: role.name for role in roles}
    data: dict[str, Any] = {
        "version": VERSION,
        "permission_policies": [
            policy_doc(p.name, p.description, p.labels, orjson.loads(p.document)) for p in policies if not p.built_in
        ],
        "roles": [
            role_doc(
                r.name, r.description, r.labels, [policy_names.get(i, i) for i in attached[r.id]], requestable.get(r.id)
            )
            for r in roles
            if not r.built_in
        ],
        "group_bindings": [
            binding_doc(b.group.display_name, [(role_names.get(i, i), until) for i, until in b.roles]) for b in bindings
        ],
        "user_grants": [
            grant_doc(
                g.user.user_name,
                [(role_names.get(i, i), until) for i, until in g.roles],
                [policy_names.get(i, i) for i in g.policy_ids],
            )
            for g in grants
            if not g.user.super_admin
        ],
        "login": {
            "password": option_store.password_login_enabled(connection),
            "options": [option_doc(o, _mapping_docs(o, role_names, policy_names)) for o in options],
        },
        "scim": {
            "enabled": is_enabled(connection),
            "password_sign_in": password_sign_in(connection),
            "tokens": [token.name for token in tokens],
        },
        "gateway": {
            "preset": bool(settings.get(connection, gateway_preset.SETTING, False)),
            "rules": [stored_rule_doc(rule) for rule in rules],
            "resource_labels": [labels_doc(item.resource, item.labels) for item in labels],
        },
    }
    return State(
        policies=policies,
        roles=roles,
        role_policies=attached,
        grants=grants,
        bindings=bindings,
        options=options,
        password=data["login"]["password"],
        scim_enabled=data["scim"]["enabled"],
        scim_password_sign_in=data["scim"]["password_sign_in"],
        tokens=tokens,
        preset=data["gateway"]["preset"],
        rules=rules,
        labels=labels,
        requestable=requestable,
        data=data,
    )


def _mapping_docs(option: LoginOption, roles: Mapping[str, str], policies: Mapping[str, str]) -> list[Doc]:
    """An option's role-mapping rules with their targets by name (a target that no longer exists by its id)."""
    return [
        mapping_rule_doc(rule, (roles if rule.kind == "role" else policies).get(rule.target_id, rule.target_id))
        for rule in option.rules()
    ]


def export(connection: Connection, principal: Principal) -> State:
    """The configuration as it is now (``iam:ExportConfig``)."""
    require(principal, EXPORT_ACTION, ORGANIZATION)
    return read_state(connection)
