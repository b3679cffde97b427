"""What applying a configuration file would change (``gatehouse config plan``, ``POST /api/config/plan``): the
file's objects, checked and put in the export's form, compared with the configuration as it is now, object by
object. Reads only; ``iam:ExportConfig`` on the organization.

Objects are matched by name (names ignore case), groups by displayName or externalId, users by userName, login
options by name (their ``id``, kept from an export, cannot change), gateway resources by name. An object in the
file and not in Gatehouse is created; in both and different, updated; in Gatehouse and not in a section the file
gives, deleted only with ``prune`` (the forward-auth rule table is one object: the file's list is the table).
Renaming is deleting and creating (with ``prune``). A name a file refers to (a role's policies, a grant's roles,
a mapping rule's target) is one the file gives or one Gatehouse keeps after the plan.

What the dashboard refuses, a plan refuses too, naming the object and the field (and the line): the built-in
Super Admin role and policy in a file (they cannot change), the Super Admin role granted or bound or mapped,
roles or policies deleted while something the plan does not remove still uses them, password sign-in turned off
with no other enabled option, a secret a file cannot give (``{stored: true}`` for an option with no stored
secret). Applying (:mod:`gatehouse.iam.config_apply`) runs every change through the dashboard's use cases, which
check all of it once more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from gatehouse.errors import InvalidInput
from gatehouse.iam import config_changes
from gatehouse.iam.access_requests import MAX_ANSWER_MINUTES, MAX_MINUTES
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.config_changes import ObjectChange, field_changes
from gatehouse.iam.config_export import (
    EXPORT_ACTION,
    Doc,
    Grant,
    State,
    binding_doc,
    by_name,
    grant_doc,
    labels_doc,
    policy_doc,
    read_state,
    role_doc,
    rule_doc,
    stored_rule_doc,
)
from gatehouse.iam.config_file import ConfigError, Locator, Path, Problem
from gatehouse.iam.config_model import (
    SECTIONS,
    ConfigFile,
    LdapOption,
    OidcOption,
    SamlOption,
    fold,
    grant_names,
    sections_given,
)
from gatehouse.iam.gateway_rules import MAX_RULES, Rule, RuleError, compile_rule
from gatehouse.iam.login_options import check_issuer
from gatehouse.iam.policy import PolicyError
from gatehouse.iam.rbac_forms import PolicyInput, RoleInput, check_labels, policy_input, role_input
from gatehouse.iam.resource_names import parse_resource
from gatehouse.iam.timed_grants import LONGEST
from gatehouse.login import mapping
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import KIND_OIDC, LoginOption, LoginOptionWrite, parse_scopes
from gatehouse.login.saml import SamlSettings
from gatehouse.store import config_state
from gatehouse.store.config_state import GroupRef, UserRef
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

_OIDC_TEXT: Final = ("issuer", "client_id", "scopes", "username_claim", "email_claim", "name_claim", "subject_claim")
_LOCATION: Final = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
_FIELD_PREFIX: Final = re.compile(r"([A-Za-z_][\w.]*): (.*)", re.DOTALL)


# ------------------------------------------------------------------------------------------ what applying needs


@dataclass(frozen=True)
class PolicyPayload:
    form: PolicyInput
    id: str | None


@dataclass(frozen=True)
class RolePayload:
    form: RoleInput
    policies: tuple[str, ...]
    """The names of its policies (their ids are known once the plan's new policies exist)."""
    id: str | None
    requestable: tuple[int, int] | None = None
    """(max_minutes, answer_within_minutes) when users may request the role."""


@dataclass(frozen=True)
class GrantPayload:
    target_id: str
    """The group's or the user's id."""
    roles: tuple[Grant, ...]
    """Each role by name, with until when it is held."""
    boundaries: tuple[str, ...] = ()
    current: frozenset[Grant] = frozenset()
    """The grants as they are (unexpired): a grant of ``roles`` not among them is given (again) with its expiry."""


@dataclass(frozen=True)
class OptionPayload:
    """A login option to create or update: its fields (``rules`` with targets by name) and where its secret is."""

    id: str | None
    """The stored option's id (update, delete), or the id the new option keeps (from an export), or ``None``."""
    kind: str
    name: str
    enabled: bool
    scim_only: bool | None
    env: str | None
    """The environment variable of its secret (``None``: the stored one is kept, or there is none)."""
    fields: Mapping[str, Any]
    """The OIDC fields (issuer, client_id, scopes as text, the claims, end_session)."""
    settings: LdapSettings | SamlSettings | None
    rules: tuple[tuple[str, str, str, str, str], ...]
    """(kind, target name, attribute, operation, value) of each mapping rule."""


@dataclass(frozen=True)
class TablePayload:
    rules: tuple[Rule, ...]
    current: tuple[str, ...]
    """The ids of the stored rules, in order."""


# ------------------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Plan:
    """The changes, the configuration they were computed against (its id) and the sections the file manages."""

    plan_id: str
    prune: bool
    sections: frozenset[str]
    changes: tuple[ObjectChange, ...]
    state: State

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def of(self, kind: str, action: str | None = None) -> list[ObjectChange]:
        return [c for c in self.changes if c.kind == kind and (action is None or c.action == action)]

    def text(self) -> str:
        return config_changes.text(self.plan_id, self.prune, self.changes)

    def as_json(self) -> dict[str, Any]:
        ordered = [section for section in SECTION_ORDER if section in self.sections]
        return config_changes.as_json(self.plan_id, self.prune, ordered, self.changes)


SECTION_ORDER: Final = SECTIONS


def plan(
    connection: Connection,
    principal: Principal,
    model: ConfigFile,
    where: Locator,
    *,
    prune: bool = False,
    source: str | None = None,
) -> Plan:
    """What applying ``model`` would change (``iam:ExportConfig``); :class:`ConfigError` naming every problem."""
    require(principal, EXPORT_ACTION, ORGANIZATION)
    state = read_state(connection)
    planner = _Planner(connection, state, model, where, prune)
    changes = planner.run()
    if planner.problems:
        raise ConfigError(planner.problems, source)
    return Plan(state.plan_id, prune, sections_given(model), tuple(changes), state)


# ------------------------------------------------------------------------------------------ the planner


class _Names:
    """The objects of one kind (policies or roles) a file may refer to after the plan, by folded name."""

    def __init__(self, stored: Mapping[str, tuple[str, str, bool]]) -> None:
        self.stored = dict(stored)  # fold → (id, name, built_in)
        self.desired: dict[str, str] = {}  # fold → name as the file gives it
        self.deleted: set[str] = set()

    def final(self, name: str) -> str | None:
        key = fold(name)
        if key in self.desired:
            return self.desired[key]
        if key in self.stored and key not in self.deleted:
            return self.stored[key][1]
        return None

    def built_in(self, name: str) -> bool:
        found = self.stored.get(fold(name))
        return found is not None and found[2]


class _Planner:
    def __init__(self, connection: Connection, state: State, model: ConfigFile, where: Locator, prune: bool) -> None:
        self.now = utcnow()
        self.connection = connection
        self.state = state
        self.model = model
        self.where = where
        self.prune = prune
        self.problems: list[Problem] = []
        self.policies = _Names({fold(p.name): (p.id, p.name, p.built_in) for p in state.policies})
        self.roles = _Names({fold(r.name): (r.id, r.name, r.built_in) for r in state.roles})

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _current(doc: Doc | None) -> frozenset[Grant]:
        """The grants of an exported binding or user (``roles`` items: a name, or ``{role, expires}``)."""
        items = [] if doc is None else doc["roles"]
        return frozenset(
            (item, None) if isinstance(item, str) else (item["role"], datetime.fromisoformat(item["expires"]))
            for item in items
        )

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(self.where.problem(path, message))

    def refused(self, path: Path, exc: InvalidInput) -> None:
        """A use case's refusal of a field: ``labels.team: …`` names the field under ``path``."""
        found = _FIELD_PREFIX.fullmatch(exc.detail)
        if found and " " not in found.group(1):
            self.problem((*path, *_parts(found.group(1))), found.group(2))
        else:
            self.problem(path, exc.detail)

    def names(
        self, kind: str, given: Iterable[str], path: Path, *, built_in_ok: bool = True, index: bool = True
    ) -> list[str]:
        """Names referred to, resolved to the final objects' names (a problem for each one that is none);
        ``index``: ``path`` is the list's (else the one name's)."""
        names = self.policies if kind == "policy" else self.roles
        noun = "permission policy" if kind == "policy" else "role"
        found: list[str] = []
        for position, name in enumerate(given):
            at = (*path, position) if index else path
            final = names.final(name)
            if final is None:
                pruned = fold(name) in names.deleted
                why = " (--prune deletes it: it is not in the file)" if pruned else " in the file or in Gatehouse"
                self.problem(at, f"there is no {noun} named '{name}'{why}")
            elif not built_in_ok and names.built_in(name):
                self.problem(
                    at,
                    f"the built-in role '{final}' is held by Super Admin accounts only: it cannot be granted, bound or "
                    "mapped (create a Super Admin with `gatehouse admin create`)",
                )
            else:
                found.append(final)
        return found

    # -- the whole plan ---------------------------------------------------------------------------

    def run(self) -> list[ObjectChange]:
        model = self.model
        # names first: what each section refers to is what the file gives and what Gatehouse keeps
        if model.permission_policies is not None:
            self._declare(self.policies, [p.name for p in model.permission_policies], "permission_policies")
        if model.roles is not None:
            self._declare(self.roles, [r.name for r in model.roles], "roles")
        changes: list[ObjectChange] = []
        if model.permission_policies is not None:
            changes += self._policies()
        if model.roles is not None:
            changes += self._roles()
        if model.group_bindings is not None:
            changes += self._bindings()
        if model.user_grants is not None:
            changes += self._grants()
        if model.login is not None:
            changes += self._login()
        if model.scim is not None:
            changes += self._scim()
        if model.gateway is not None:
            changes += self._gateway()
        self._still_used(changes)
        return changes

    def _declare(self, names: _Names, given: Sequence[str], section: str) -> None:
        for index, name in enumerate(given):
            key = fold(name)
            if names.built_in(name):
                noun = "permission policy" if names is self.policies else "role"
                self.problem(
                    (section, index, "name"),
                    f"the built-in {noun} '{names.stored[key][1]}' cannot be changed or removed: leave it out of "
                    "the file",
                )
                continue
            names.desired[key] = " ".join(name.split())
        if self.prune:
            names.deleted = {key for key, (_, _, built_in) in names.stored.items() if not built_in} - set(names.desired)

    # -- permission policies ----------------------------------------------------------------------

    def _policies(self) -> list[ObjectChange]:
        assert self.model.permission_policies is not None
        stored = {fold(p.name): p for p in self.state.policies if not p.built_in}
        current = {fold(doc["name"]): doc for doc in self.state.data["permission_policies"]}
        changes: list[ObjectChange] = []
        seen: set[str] = set()
        for index, given in enumerate(self.model.permission_policies):
            path: Path = ("permission_policies", index)
            if self.policies.built_in(given.name):
                continue
            try:
                form = policy_input(given.name, given.document, given.description, given.labels)
            except PolicyError as exc:
                self.problem((*path, "document", *_parts(exc.location)), exc.reason)
                continue
            except InvalidInput as exc:
                self.refused(path, exc)
                continue
            key = fold(form.name)
            seen.add(key)
            after = policy_doc(form.name, form.description, form.labels, form.document.as_dict())
            existing = stored.get(key)
            payload = PolicyPayload(form, existing.id if existing else None)
            changes += _compare("permission_policy", form.name, current.get(key), after, payload)
        if self.prune:
            for key, policy in stored.items():
                if key not in seen and key in self.policies.deleted:
                    changes.append(ObjectChange("permission_policy", policy.name, "delete", payload=policy.id))
        return changes

    # -- roles ------------------------------------------------------------------------------------

    def _roles(self) -> list[ObjectChange]:
        assert self.model.roles is not None
        stored = {fold(r.name): r for r in self.state.roles if not r.built_in}
        current = {fold(doc["name"]): doc for doc in self.state.data["roles"]}
        changes: list[ObjectChange] = []
        for index, given in enumerate(self.model.roles):
            path: Path = ("roles", index)
            if self.roles.built_in(given.name):
                continue
            try:
                form = role_input(given.name, given.description, given.labels)
            except InvalidInput as exc:
                self.refused(path, exc)
                continue
            policies = self.names("policy", given.policies, (*path, "policies"))
            requestable = None
            if given.requestable is not None:
                requestable = (given.requestable.max_minutes, given.requestable.answer_within_minutes)
                self._requestable(requestable, (*path, "requestable"))
            key = fold(form.name)
            after = role_doc(form.name, form.description, form.labels, policies, requestable)
            existing = stored.get(key)
            payload = RolePayload(form, tuple(policies), existing.id if existing else None, requestable)
            changes += _compare("role", form.name, current.get(key), after, payload)
        if self.prune:
            for key, role in stored.items():
                if key in self.roles.deleted:
                    changes.append(ObjectChange("role", role.name, "delete", payload=role.id))
        return changes

    def _requestable(self, requestable: tuple[int, int], path: Path) -> None:
        most, wait = requestable
        if most > MAX_MINUTES:
            self.problem((*path, "max_minutes"), f"at most {MAX_MINUTES} minutes ({MAX_MINUTES // 1440} days)")
        if wait > MAX_ANSWER_MINUTES:
            message = f"at most {MAX_ANSWER_MINUTES} minutes ({MAX_ANSWER_MINUTES // 1440} days)"
            self.problem((*path, "answer_within_minutes"), message)

    def grants(self, given: Sequence[Any], path: Path) -> list[Grant]:
        """Grants (roles by name, each until when), resolved: a problem for each role that is none or is built in,
        or whose expiry has no time zone or is more than ten years away; a past expiry grants nothing."""
        found: list[Grant] = []
        for index, (name, until) in enumerate(grant_names(list(given))):
            at: Path = (*path, index) if until is None else (*path, index, "role")
            names = self.names("role", [name], at, built_in_ok=False, index=False)
            if until is not None:
                if until.tzinfo is None:
                    self.problem((*path, index, "expires"), "give a time zone, e.g. 2026-12-31T18:00:00Z")
                    continue
                until = until.astimezone(UTC)
                if until - self.now > LONGEST:
                    self.problem((*path, index, "expires"), "at most ten years from now")
                    continue
                if until <= self.now:
                    continue  # expired: it grants nothing, so the plan gives nothing
            found += [(final, until) for final in names]
        return found

    # -- group bindings ---------------------------------------------------------------------------

    def _bindings(self) -> list[ObjectChange]:
        assert self.model.group_bindings is not None
        given = self.model.group_bindings
        named = config_state.groups_named(self.connection, [b.displayName for b in given if b.displayName])
        external = config_state.groups_with_external_ids(self.connection, [b.externalId for b in given if b.externalId])
        current = {
            b.group.id: doc for b, doc in zip(self.state.bindings, self.state.data["group_bindings"], strict=True)
        }
        changes: list[ObjectChange] = []
        seen: dict[str, int] = {}
        for index, binding in enumerate(given):
            path: Path = ("group_bindings", index)
            group = self._group(binding.displayName, binding.externalId, named, external, path)
            roles = self.grants(binding.roles, (*path, "roles"))
            if group is None:
                continue
            if group.id in seen:
                self.problem(path, f"the group '{group.display_name}' is also group_bindings[{seen[group.id]}]")
                continue
            seen[group.id] = index
            after = binding_doc(group.display_name, roles)
            payload = GrantPayload(group.id, tuple(roles), current=self._current(current.get(group.id)))
            changes += _compare("group_binding", group.display_name, current.get(group.id), after, payload)
        if self.prune:
            for bound in self.state.bindings:
                if bound.group.id not in seen:
                    payload = GrantPayload(bound.group.id, ())
                    changes.append(ObjectChange("group_binding", bound.group.display_name, "delete", payload=payload))
        return changes

    def _group(
        self,
        display_name: str | None,
        external_id: str | None,
        named: Mapping[str, GroupRef],
        external: Mapping[str, list[GroupRef]],
        path: Path,
    ) -> GroupRef | None:
        if display_name is not None:
            group = named.get(display_name.lower())
            if group is None:
                self.problem(
                    (*path, "displayName"),
                    f"there is no group named '{display_name}' (groups are provisioned by SCIM; a file binds roles to "
                    "them, never creates them)",
                )
            return group
        found = external.get(external_id or "", [])
        if not found:
            self.problem((*path, "externalId"), f"there is no group with the externalId '{external_id}'")
            return None
        if len(found) > 1:
            names = ", ".join(f"'{group.display_name}'" for group in found)
            self.problem(
                (*path, "externalId"), f"{len(found)} groups have this externalId ({names}): name one by displayName"
            )
            return None
        return found[0]

    # -- user grants ------------------------------------------------------------------------------

    def _grants(self) -> list[ObjectChange]:
        assert self.model.user_grants is not None
        given = self.model.user_grants
        found = config_state.users_named(self.connection, [grant.userName for grant in given])
        current: dict[str, Doc] = {}
        docs = iter(self.state.data["user_grants"])
        for grants in self.state.grants:
            if not grants.user.super_admin:
                current[grants.user.id] = next(docs)
        changes: list[ObjectChange] = []
        seen: set[str] = set()
        for index, grant in enumerate(given):
            path: Path = ("user_grants", index)
            user: UserRef | None = found.get(grant.userName.lower())
            roles = self.grants(grant.roles, (*path, "roles"))
            boundaries = self.names("policy", grant.boundaries, (*path, "boundaries"))
            if user is None:
                self.problem(
                    (*path, "userName"),
                    f"there is no user '{grant.userName}' (users are provisioned by SCIM or invited; a file grants "
                    "them roles, never creates them)",
                )
                continue
            if user.super_admin:
                self.problem(
                    (*path, "userName"),
                    f"{user.user_name} is a Super Admin account: it holds every permission, and roles and boundaries "
                    "do not apply to it",
                )
                continue
            seen.add(user.id)
            after = grant_doc(user.user_name, roles, boundaries)
            payload = GrantPayload(user.id, tuple(roles), tuple(boundaries), self._current(current.get(user.id)))
            changes += _compare("user_grant", user.user_name, current.get(user.id), after, payload)
        if self.prune:
            for grants in self.state.grants:
                if grants.user.id not in seen and not grants.user.super_admin:
                    payload = GrantPayload(grants.user.id, ())
                    changes.append(ObjectChange("user_grant", grants.user.user_name, "delete", payload=payload))
        return changes

    # -- login ------------------------------------------------------------------------------------

    def _login(self) -> list[ObjectChange]:
        login = self.model.login
        assert login is not None
        changes: list[ObjectChange] = []
        if login.password is not None and login.password != self.state.password:
            change = config_changes.FieldChange("password", self.state.password, login.password)
            changes.append(ObjectChange("password_sign_in", "", "update", (change,), payload=login.password))
        if login.options is not None:
            changes += self._options(login.options)
        self._sign_in_left(login.password, login.options)
        return changes

    def _options(self, given: Sequence[OidcOption | LdapOption | SamlOption]) -> list[ObjectChange]:
        stored = {fold(option.name): option for option in self.state.options}
        by_id = {option.id: option for option in self.state.options}
        current = {fold(doc["name"]): doc for doc in self.state.data["login"]["options"]}
        changes: list[ObjectChange] = []
        seen: set[str] = set()
        for index, option in enumerate(given):
            path: Path = ("login", "options", index)
            key = fold(option.name)
            existing = stored.get(key)
            if existing is not None and option.id is not None and option.id != existing.id:
                self.problem(
                    (*path, "id"),
                    f"the login option '{existing.name}' has the id {existing.id}: an id cannot change (its URLs are "
                    "registered at the identity provider); leave id out or write that one",
                )
                continue
            if existing is None and option.id in by_id:
                other = by_id[option.id]
                self.problem((*path, "id"), f"this id is the login option '{other.name}''s (renaming is not supported)")
                continue
            if existing is not None and existing.kind != option.kind:
                self.problem(
                    (*path, "kind"),
                    f"the login option '{existing.name}' is a {existing.kind_name} option: its kind cannot change",
                )
                continue
            payload = self._option(option, existing, path)
            if payload is None:
                continue
            seen.add(key)
            changes += _compare("login_option", payload.name, current.get(key), _option_doc(payload, existing), payload)
        if self.prune:
            for key, found in stored.items():
                if key not in seen:
                    payload = OptionPayload(found.id, found.kind, found.name, found.enabled, None, None, {}, None, ())
                    changes.append(ObjectChange("login_option", found.name, "delete", payload=payload))
        return changes

    def _option(
        self, option: OidcOption | LdapOption | SamlOption, existing: LoginOption | None, path: Path
    ) -> OptionPayload | None:
        before = len(self.problems)
        env = option.secret.env if option.secret is not None else None
        stored = option.secret is not None and option.secret.stored is not None
        has_stored = existing is not None and existing.client_secret_encrypted is not None
        settings: LdapSettings | SamlSettings | None = None
        fields: dict[str, Any] = {}
        if stored and not has_stored:
            self.problem(
                (*path, "secret"),
                "there is no stored secret to keep: a file never holds a secret, so reference an environment variable "
                "(secret: {env: NAME}), or store the secret in the dashboard or the API first",
            )
        if option.secret is None and existing is not None and (has_stored or existing.client_secret_env):
            self.problem(
                (*path, "secret"),
                "this option has a secret in Gatehouse and a file cannot remove it: write secret: {stored: true} to "
                "keep it, or {env: NAME}",
            )
        if isinstance(option, OidcOption):
            fields = self._oidc(option, path)
        else:
            settings = self._settings(option, path)
        if isinstance(settings, LdapSettings) and settings.bind_dn and option.secret is None:
            self.problem((*path, "secret"), "a bind DN needs its bind password: secret: {env: NAME}")
        if isinstance(settings, SamlSettings) and settings.sign_requests and not (stored and has_stored):
            self.problem(
                (*path, "saml", "sign_requests"),
                "signing requests needs the SP's private key stored in Gatehouse: create or change this option in the "
                "dashboard or the API, then keep secret: {stored: true}",
            )
        rules = self._mapping_rules(option, path)
        claims = {key: fields[key] for key in _OIDC_TEXT if key in fields}
        write = LoginOptionWrite(option.name, "", "", kind=option.kind, settings=settings, client_secret_env=env)
        try:
            replace(write, **claims).columns()
        except InvalidInput as exc:
            self.refused(path, exc)
        if len(self.problems) > before:
            return None
        option_id = existing.id if existing is not None else option.id
        name = option.name.strip()
        return OptionPayload(
            option_id, option.kind, name, option.enabled, option.scim_only, env, fields, settings, rules
        )

    def _oidc(self, option: OidcOption, path: Path) -> dict[str, Any]:
        fields: dict[str, Any] = {"client_id": option.client_id.strip()}
        try:
            fields["issuer"] = check_issuer(option.issuer)
        except InvalidInput as exc:
            self.problem((*path, "issuer"), exc.detail)
        try:
            fields["scopes"] = parse_scopes(" ".join(option.scopes))
        except InvalidInput as exc:
            self.problem((*path, "scopes"), exc.detail)
        for claim in ("username_claim", "email_claim", "name_claim", "subject_claim"):
            fields[claim] = getattr(option, claim).strip()
        fields["end_session"] = option.end_session
        if option.secret is None:
            self.problem((*path, "secret"), "an OpenID Connect option needs its client secret: secret: {env: NAME}")
        return fields

    def _settings(self, option: LdapOption | SamlOption, path: Path) -> LdapSettings | SamlSettings | None:
        try:
            if isinstance(option, LdapOption):
                return LdapSettings(**_fields(option.ldap)).checked()
            return SamlSettings(**_fields(option.saml)).checked()
        except InvalidInput as exc:
            self.problem((*path, option.kind), exc.detail)
            return None

    def _mapping_rules(
        self, option: OidcOption | LdapOption | SamlOption, path: Path
    ) -> tuple[tuple[str, str, str, str, str], ...]:
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
        try:
            parsed = mapping.parse_rules(raw)
        except mapping.MappingError as exc:
            self.problem((*path, *_parts(exc.location)), exc.reason)
            return ()
        found = []
        for index, rule in enumerate(parsed):
            kind = "role" if rule.kind == "role" else "policy"
            rule_path = (*path, "rules", index, rule.kind)
            names = self.names(kind, [rule.target_id], rule_path, built_in_ok=rule.kind != "role", index=False)
            if names:
                found.append((rule.kind, names[0], rule.attribute, str(rule.operation), rule.value))
        return tuple(found)

    def _sign_in_left(self, password: bool | None, options: Sequence[Any] | None) -> None:
        """Password sign-in off needs another enabled option after the plan."""
        final_password = self.state.password if password is None else password
        if final_password:
            return
        enabled = {fold(o.name) for o in self.state.options if o.enabled}
        if options is not None:
            given = {fold(o.name): o.enabled for o in options}
            enabled = {key for key in enabled if key not in given and not self.prune} | {
                key for key, on in given.items() if on
            }
        if not enabled:
            self.problem(
                ("login", "password"),
                "password sign-in cannot be turned off while no other login option would be enabled: enable an OpenID "
                "Connect, LDAP or SAML option in the same file, so that people can still sign in",
            )

    # -- SCIM ------------------------------------------------------------------------------------

    def _scim(self) -> list[ObjectChange]:
        scim = self.model.scim
        assert scim is not None
        changes: list[ObjectChange] = []
        before = {"enabled": self.state.scim_enabled, "password_sign_in": self.state.scim_password_sign_in}
        after = {
            "enabled": before["enabled"] if scim.enabled is None else scim.enabled,
            "password_sign_in": before["password_sign_in"] if scim.password_sign_in is None else scim.password_sign_in,
        }
        if before != after:
            changes.append(ObjectChange("scim_settings", "", "update", field_changes(before, after), payload=after))
        if scim.tokens is not None:
            live = {token.name: token for token in self.state.tokens}
            wanted = [token.strip() for token in scim.tokens]
            for index, name in enumerate(wanted):
                if not name or len(name) > 100:
                    self.problem(("scim", "tokens", index), "a token name is 1 to 100 characters")
                elif name not in live:
                    note = "apply --issue-tokens creates it and shows its secret once; apply refuses it otherwise"
                    changes.append(ObjectChange("scim_token", name, "create", notes=(note,), payload=name))
            if self.prune:
                for name, token in live.items():
                    if name not in wanted:
                        note = "revoked: it stops working at once"
                        changes.append(ObjectChange("scim_token", name, "delete", notes=(note,), payload=token.id))
        return changes

    # -- gateway ---------------------------------------------------------------------------------

    def _gateway(self) -> list[ObjectChange]:
        gateway = self.model.gateway
        assert gateway is not None
        changes: list[ObjectChange] = []
        if gateway.preset is not None and gateway.preset != self.state.preset:
            change = config_changes.FieldChange("enabled", self.state.preset, gateway.preset)
            changes.append(ObjectChange("authz_preset", "", "update", (change,), payload=gateway.preset))
        if gateway.rules is not None:
            changes += self._rules(gateway.rules)
        if gateway.resource_labels is not None:
            changes += self._labels(gateway.resource_labels)
        return changes

    def _rules(self, given: Sequence[Any]) -> list[ObjectChange]:
        if len(given) > MAX_RULES:
            self.problem(("gateway", "rules"), f"the table holds at most {MAX_RULES} rules")
            return []
        compiled: list[Rule] = []
        for index, rule in enumerate(given):
            path: Path = ("gateway", "rules", index)
            try:
                compiled.append(
                    compile_rule(rule.methods, rule.path, rule.action, rule.resource, rule.query, rule.labels,
                                 rule.description)
                )  # fmt: skip
            except RuleError as exc:
                self.refused(path, exc)
        if len(compiled) != len(given):
            return []
        before = [stored_rule_doc(rule) for rule in self.state.rules]
        after = [
            rule_doc(rule.methods, rule.path, rule.action, rule.resource, rule.query, rule.labels, rule.description)
            for rule in compiled
        ]
        if before == after:
            return []
        fields = tuple(
            config_changes.FieldChange(f"rules[{index}]", before[index] if index < len(before) else None,
                                       after[index] if index < len(after) else None)
            for index in range(max(len(before), len(after)))
            if (before[index] if index < len(before) else None) != (after[index] if index < len(after) else None)
        )  # fmt: skip
        payload = TablePayload(tuple(compiled), tuple(rule.id for rule in self.state.rules))
        return [ObjectChange("authz_rules", "", "update", fields, payload=payload)]

    def _labels(self, given: Sequence[Any]) -> list[ObjectChange]:
        current = {item.resource: labels_doc(item.resource, item.labels) for item in self.state.labels}
        changes: list[ObjectChange] = []
        seen: set[str] = set()
        for index, item in enumerate(given):
            path: Path = ("gateway", "resource_labels", index)
            try:
                resource = parse_resource(item.resource)
            except InvalidInput as exc:
                self.problem((*path, "resource"), exc.detail)
                continue
            if not resource.labelled:
                self.problem(
                    (*path, "resource"),
                    "labels are kept for one gateway group, published service, consumer or service template (no '*'), "
                    f"not for {resource.name}",
                )
                continue
            try:
                labels = check_labels(item.labels)
            except InvalidInput as exc:
                self.refused(path, exc)
                continue
            if resource.name in seen:
                self.problem((*path, "resource"), f"'{resource.name}' is listed twice (names in API7's spelling too)")
                continue
            seen.add(resource.name)
            after = labels_doc(resource.name, labels)
            if not labels and resource.name not in current:
                continue
            if not labels:
                changes.append(ObjectChange("resource_labels", resource.name, "delete", payload=(resource.name, {})))
                continue
            changes += _compare("resource_labels", resource.name, current.get(resource.name), after,
                                (resource.name, labels))  # fmt: skip
        if self.prune:
            for name in current:
                if name not in seen:
                    changes.append(ObjectChange("resource_labels", name, "delete", payload=(name, {})))
        return changes

    # -- what the deletions leave ----------------------------------------------------------------

    def _still_used(self, changes: Sequence[ObjectChange]) -> None:
        """A role or policy the plan deletes must be used by nothing the plan leaves (see the module)."""
        managed_users = self.model.user_grants is not None and self.prune
        managed_groups = self.model.group_bindings is not None and self.prune
        managed_roles = self.model.roles is not None and self.prune
        for change in changes:
            if change.kind == "role" and change.action == "delete":
                uses = []
                holders = [g.user.user_name for g in self.state.grants if change.payload in g.role_ids]
                if holders and not managed_users:
                    uses.append(
                        f"assigned to {_names(holders)}, and the file has no user_grants section to remove that"
                    )
                groups = [b.group.display_name for b in self.state.bindings if change.payload in b.role_ids]
                if groups and not managed_groups:
                    uses.append(f"bound to {_names(groups, 'group')}, and the file has no group_bindings section")
                count, names = config_state.other_role_holders(self.connection, change.payload)
                if count:
                    uses.append(f"held by {_names(names, total=count)} through SSO role mapping or an access request")
                self._in_use(("roles",), "role", change.name, uses)
            elif change.kind == "permission_policy" and change.action == "delete":
                uses = []
                roles = [
                    role.name
                    for role in self.state.roles
                    if change.payload in self.state.role_policies.get(role.id, []) and not managed_roles
                ]
                if roles:
                    uses.append(f"attached to {_names(roles, 'role')}, and the file has no roles section")
                bounded = [g.user.user_name for g in self.state.grants if change.payload in g.policy_ids]
                if bounded and not managed_users:
                    uses.append(f"the boundary of {_names(bounded)}, and the file has no user_grants section")
                count, names = config_state.other_boundary_holders(self.connection, change.payload)
                if count:
                    uses.append(f"the boundary of {_names(names, total=count)} through SSO role mapping")
                self._in_use(("permission_policies",), "permission policy", change.name, uses)

    def _in_use(self, path: Path, noun: str, name: str, uses: list[str]) -> None:
        if uses:
            self.problem(
                path,
                f"{noun} '{name}' would be deleted (--prune, it is not in the file) but it is still "
                f"{'; and '.join(uses)}: it is not deleted until the same plan removes those",
            )


# ------------------------------------------------------------------------------------------ helpers


def _compare(kind: str, name: str, before: Doc | None, after: Doc, payload: Any) -> list[ObjectChange]:
    if before is None:
        return [ObjectChange(kind, name, "create", payload=payload)]
    fields = field_changes(before, after)
    return [ObjectChange(kind, name, "update", fields, payload=payload)] if fields else []


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


def _parts(location: str) -> Path:
    """``statement[0].actions[1]`` → ``("statement", 0, "actions", 1)``."""
    return tuple(int(index) if index else name for name, index in _LOCATION.findall(location))


def _names(names: Sequence[str], noun: str = "user", total: int | None = None) -> str:
    count = len(names) if total is None else total
    shown = ", ".join(f"'{name}'" for name in by_name(names)[:5])
    more = f" and {count - min(len(names), 5)} more" if count > min(len(names), 5) else ""
    return f"{count} {noun}{'s' if count != 1 else ''} ({shown}{more})"
