"""Apply a configuration file (``gatehouse config apply``, ``POST /api/config/apply``): its plan, computed again
in the caller's one transaction, every change made by the use case the dashboard calls (which checks the
change's own action and every rule once more), one audit record per object changed. All or nothing: the caller
commits only when every change succeeded, and a failure leaves Gatehouse exactly as it was.

Needs ``iam:ApplyConfig`` and, since applying computes the plan, ``iam:ExportConfig``; then each change's own
action (``iam:CreateRole``, ``iam:UpdateLoginOption``, ``gateway:UpdateGatewayGroup``…), as in the dashboard.

- ``plan_id``: the id of the plan that was reviewed (``gatehouse config plan`` prints it). When the configuration
  changed since, the apply is refused (:class:`~gatehouse.errors.PreconditionFailed`) and nothing changes.
- Applies take turns (:func:`gatehouse.store.config_state.lock_apply`).
- SCIM tokens: a token named in the file that does not exist is created only with ``issue_tokens`` (its secret
  is in the result, once); without it, the apply is refused before anything changes, so that no secret is ever
  made where nobody asked to see it.
- The order (:data:`STEPS`): password sign-in turned on first; policies, then roles, then login options created
  and updated; bindings and grants set; then deletions (login options, roles, policies); SCIM; the gateway; and
  password sign-in turned off last, when the options that replace it exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson

from gatehouse.errors import GatehouseError, InvalidInput, PreconditionFailed
from gatehouse.iam import (
    access_requests,
    config_changes,
    gateway_access,
    gateway_labels,
    login_options,
    password_login,
    policies,
    provisioning,
    timed_grants,
)
from gatehouse.iam import roles as rbac
from gatehouse.iam.audit import Change, Origin, record
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.config_changes import ObjectChange
from gatehouse.iam.config_export import APPLY_ACTION
from gatehouse.iam.config_file import Locator
from gatehouse.iam.config_model import ConfigFile, fold
from gatehouse.iam.config_payloads import GrantPayload, OptionPayload, PolicyPayload, RolePayload, TablePayload
from gatehouse.iam.config_plan import Plan, plan
from gatehouse.iam.login_options import OptionInput
from gatehouse.iam.resource_names import LABELLED, parse_resource
from gatehouse.iam.scim_control import IssuedToken
from gatehouse.secrets_box import SecretBox
from gatehouse.store import config_state
from gatehouse.store.database import Connection

EVENT: Final = "iam:ApplyConfig"
KIND: Final = "config"
VIA: Final = "config apply"
MAX_SUMMARY: Final = 8_000
"""A value larger than this (as JSON) is recorded by its size only."""


class _NoSecrets(SecretBox):
    """The box applying hands the login-option use cases: a file never gives a secret, so none is ever stored
    (the plan refuses what would make one, such as a SAML key pair to generate)."""

    __slots__ = ()

    def __init__(self) -> None:  # no key: nothing is ever encrypted with it
        pass

    def encrypt(self, plaintext: str, context: str) -> str:
        raise InvalidInput("A configuration file never stores a secret: reference it with {env: NAME}.")

    def decrypt(self, ciphertext: str, context: str) -> str:
        raise InvalidInput("Applying a configuration file reads no stored secret.")


class TokensNeedConsent(InvalidInput):
    """The file names SCIM tokens that do not exist, and the caller did not ask for new secrets."""


@dataclass(frozen=True)
class Applied:
    """What an apply did: its plan (the changes made), and the SCIM tokens it created with their secrets (once)."""

    plan: Plan
    issued: tuple[IssuedToken, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The plan as JSON, with ``issued_tokens`` (name and secret: shown once)."""
        return {
            **self.plan.as_json(),
            "applied": True,
            "issued_tokens": [{"name": issued.name, "token": issued.token} for issued in self.issued],
        }

    def summary(self) -> dict[str, Any]:
        """The change set's audit summary (never a secret)."""
        return {
            "plan_id": self.plan.plan_id,
            "prune": self.plan.prune,
            "sections": sorted(self.plan.sections),
            **config_changes.counts(self.plan.changes),
            "issued": [issued.name for issued in self.issued],  # SCIM tokens' names (a "token" key is masked)
        }


def change_set(plan_id: str | None = None, prune: bool = False) -> Change:
    """The audit record of a whole apply (completed with :meth:`Applied.summary`)."""
    return Change(EVENT, KIND, plan_id, {"prune": prune, "via": VIA})


def apply(
    connection: Connection,
    principal: Principal,
    origin: Origin,
    model: ConfigFile,
    where: Locator,
    *,
    public_url: str,
    now: datetime,
    prune: bool = False,
    plan_id: str | None = None,
    issue_tokens: bool = False,
    source: str | None = None,
) -> Applied:
    """Apply ``model`` in the caller's transaction (see the module); the caller commits."""
    require(principal, APPLY_ACTION, ORGANIZATION)
    config_state.lock_apply(connection)
    found = plan(connection, principal, model, where, prune=prune, source=source)
    if plan_id is not None and plan_id.strip() != found.plan_id:
        raise PreconditionFailed(
            f"The configuration changed since plan {plan_id.strip()} (it is now {found.plan_id}): nothing was applied. "
            "Run plan again, review it, and apply that plan."
        )
    missing = [change.name for change in found.of("scim_token", "create")]
    if missing and not issue_tokens:
        names = ", ".join(f"'{name}'" for name in missing)
        raise TokensNeedConsent(
            f"scim.tokens: {names} do{'es' if len(missing) == 1 else ''} not exist, and creating a SCIM token makes a "
            'new secret: apply with --issue-tokens (API: "issue_tokens": true) to create '
            f"{'it' if len(missing) == 1 else 'them'} and see each secret once, or create them with "
            "`gatehouse scim token create --name NAME`. Nothing was applied."
        )
    run = _Run(connection, principal, origin, found, _NoSecrets(), public_url, now)
    for step in STEPS:
        for change in [change for change in found.changes if step.takes(change)]:
            run.do(step, change)
    return Applied(found, tuple(run.issued))


# ------------------------------------------------------------------------------------------ one run


@dataclass
class _Run:
    connection: Connection
    principal: Principal
    origin: Origin
    plan: Plan
    box: SecretBox
    public_url: str
    now: datetime
    issued: list[IssuedToken] = field(default_factory=list)
    policy_ids: dict[str, str] = field(init=False)
    role_ids: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.policy_ids = {fold(policy.name): policy.id for policy in self.plan.state.policies}
        self.role_ids = {fold(role.name): role.id for role in self.plan.state.roles}

    def do(self, step: Step, change: ObjectChange) -> None:
        try:
            event, resource_type, resource_id = step.work(self, change)
        except GatehouseError as exc:
            raise _named(change, exc) from exc
        summary: dict[str, Any] = {"via": VIA, "plan_id": self.plan.plan_id, "action": change.action}
        summary["name"] = change.name
        if change.fields:
            summary["changes"] = [_small(found.as_dict()) for found in change.fields]
        record(self.connection, self.origin, Change(event, resource_type, resource_id, summary))

    def policies(self, names: Iterable[str]) -> list[str]:
        return [self.policy_ids[fold(name)] for name in names]

    def roles(self, names: Iterable[str]) -> list[str]:
        return [self.role_ids[fold(name)] for name in names]


def _small(value: dict[str, Any]) -> dict[str, Any]:
    def shrink(item: Any) -> Any:
        size = len(orjson.dumps(item))
        return f"({size} characters)" if size > MAX_SUMMARY else item

    return {key: shrink(item) for key, item in value.items()}


def _named(change: ObjectChange, exc: GatehouseError) -> GatehouseError:
    """The error of a change, naming its object (same class and status where it can be)."""
    detail = f"{change.subject}: {exc.detail} Nothing was applied."
    try:
        named = type(exc)(detail)
    except TypeError:
        named = InvalidInput(detail) if exc.status == 400 else GatehouseError(detail)
        named.status = exc.status
    return named


Done = tuple[str, str, str | None]
"""(audit event, resource type, resource id) of a change made."""


@dataclass(frozen=True)
class Step:
    """A kind of change, made in its turn."""

    kind: str
    actions: tuple[str, ...]
    work: Callable[[_Run, ObjectChange], Done]
    when: Callable[[ObjectChange], bool] = lambda change: True

    def takes(self, change: ObjectChange) -> bool:
        return change.kind == self.kind and change.action in self.actions and self.when(change)


# ------------------------------------------------------------------------------------------ each kind


def _policy(run: _Run, change: ObjectChange) -> Done:
    c, p = run.connection, run.principal
    if change.action == "delete":
        policies.delete_policy(c, p, change.payload)
        return "iam:DeletePermissionPolicy", "permissionpolicy", change.payload
    payload: PolicyPayload = change.payload
    if payload.id is None:
        created = policies.create_policy(c, p, payload.form)
        run.policy_ids[fold(created.name)] = created.id
        return "iam:CreatePermissionPolicy", "permissionpolicy", created.id
    policies.update_policy(c, p, payload.id, payload.form)
    return "iam:UpdatePermissionPolicy", "permissionpolicy", payload.id


def _role(run: _Run, change: ObjectChange) -> Done:
    c, p = run.connection, run.principal
    if change.action == "delete":
        _settle_expired(run, change.payload)
        rbac.delete_role(c, p, change.payload)
        return "iam:DeleteRole", "role", change.payload
    payload: RolePayload = change.payload
    if payload.id is None:
        view = rbac.create_role(c, p, payload.form, run.policies(payload.policies))
        run.role_ids[fold(view.role.name)] = view.role.id
        role_id = view.role.id
    else:
        rbac.update_role(c, p, payload.id, payload.form, run.policies(payload.policies))
        role_id = payload.id
    if payload.requestable is not None and payload.requestable != run.plan.state.requestable.get(role_id):
        access_requests.set_requestable(c, p, role_id, *payload.requestable)
    elif payload.requestable is None and role_id in run.plan.state.requestable:
        access_requests.unset_requestable(c, p, role_id)
    return ("iam:CreateRole" if payload.id is None else "iam:UpdateRole"), "role", role_id


def _settle_expired(run: _Run, role_id: str) -> None:
    """Take away the expired grants of a role about to be deleted (they grant nothing, but their rows would keep
    it from being deleted until the expiry job settles them), each through its use case."""
    held, bound = config_state.expired_rows(run.connection, role_id, run.now)
    for user_id, source in held:
        timed_grants.revoke_grant(run.connection, run.principal, user_id, role_id, source)
    for group_id in bound:
        rbac.unbind_group_role(run.connection, run.principal, group_id, role_id)


def _binding(run: _Run, change: ObjectChange) -> Done:
    """The group's roles made the file's (:func:`~gatehouse.iam.roles.set_group_roles`), then each binding whose
    expiry is not the file's bound again until then (:func:`~gatehouse.iam.timed_grants.bind_group_role_until`)."""
    payload: GrantPayload = change.payload
    c, p = run.connection, run.principal
    rbac.set_group_roles(c, p, payload.target_id, run.roles(name for name, _ in payload.roles))
    for name, until in payload.roles:
        if (name, until) not in payload.current:
            timed_grants.bind_group_role_until(c, p, payload.target_id, run.role_ids[fold(name)], until)
    return "iam:UpdateGroupBinding", "group", payload.target_id


def _grant(run: _Run, change: ObjectChange) -> Done:
    """The user's roles and boundaries made the file's (as :func:`_binding`, for a user)."""
    payload: GrantPayload = change.payload
    c, p = run.connection, run.principal
    roles = change.action != "update" or change.changed("roles") is not None
    boundaries = change.action != "update" or change.changed("boundaries") is not None
    if roles:
        rbac.set_user_roles(c, p, payload.target_id, run.roles(name for name, _ in payload.roles))
        for name, until in payload.roles:
            if (name, until) not in payload.current:
                timed_grants.grant_role_until(c, p, payload.target_id, run.role_ids[fold(name)], until)
    if boundaries:
        rbac.set_boundaries(c, p, payload.target_id, run.policies(payload.boundaries))
    return "iam:UpdateUserRole" if roles else "iam:UpdateUserBoundary", "user", payload.target_id


def _option(run: _Run, change: ObjectChange) -> Done:
    payload: OptionPayload = change.payload
    c, p = run.connection, run.principal
    if change.action == "delete":
        assert payload.id is not None
        login_options.delete(c, p, payload.id)
        return login_options.DELETE.event, "login_option", payload.id
    current = next((o for o in run.plan.state.options if change.action == "update" and o.id == payload.id), None)
    claims: Mapping[str, Any] = payload.fields
    if current is not None and payload.kind != "oidc":  # the OIDC fields an LDAP or SAML option keeps unchanged
        claims = {name: getattr(current, name) for name in ("username_claim", "email_claim", "name_claim")}
        claims = {**claims, "subject_claim": current.subject_claim}
    rules = [
        {"kind": kind, "target_id": (run.role_ids if kind == "role" else run.policy_ids)[fold(target)],
         "attribute": attribute, "operation": operation, "value": value}
        for kind, target, attribute, operation, value in payload.rules
    ]  # fmt: skip
    data = OptionInput(
        name=payload.name,
        kind=payload.kind,
        settings=payload.settings,
        client_secret_env=payload.env,
        enabled=payload.enabled,
        scim_only=payload.scim_only,
        rules=rules,
        **{key: value for key, value in claims.items() if key in OptionInput.__dataclass_fields__},
    )
    if current is None:
        view = login_options.create(c, p, data, run.box, run.public_url, run.now, option_id=payload.id)
        return login_options.CREATE.event, "login_option", view.id
    assert payload.id is not None
    login_options.update(c, p, payload.id, data, run.box, run.public_url, run.now)
    return login_options.UPDATE.event, "login_option", payload.id


def _password(run: _Run, change: ObjectChange) -> Done:
    password_login.set_password_login(run.connection, run.principal, bool(change.payload))
    return password_login.PASSWORD.event, "login_option", "password"


def _scim(run: _Run, change: ObjectChange) -> Done:
    wanted: dict[str, bool] = change.payload
    if change.changed("enabled") is not None:
        provisioning.set_enabled(run.connection, run.principal, wanted["enabled"])
    if change.changed("password_sign_in") is not None:
        provisioning.set_password_sign_in(run.connection, run.principal, wanted["password_sign_in"])
    return provisioning.UPDATE, "organization", None


def _token(run: _Run, change: ObjectChange) -> Done:
    if change.action == "delete":
        provisioning.revoke_token(run.connection, run.principal, change.payload)
        return provisioning.UPDATE, "scim_token", change.payload
    issued = provisioning.issue_token(run.connection, run.principal, change.payload, while_off=True)
    run.issued.append(issued)
    return provisioning.UPDATE, "scim_token", issued.info.id


def _preset(run: _Run, change: ObjectChange) -> Done:
    gateway_access.set_preset(run.connection, run.principal, bool(change.payload))
    return gateway_access.PRESET.event, "authz_preset", gateway_access.PRESET.resource_id


def _table(run: _Run, change: ObjectChange) -> Done:
    """The rule table made the file's, place by place (a rule in the same place and the same is untouched)."""
    payload: TablePayload = change.payload
    c, p = run.connection, run.principal
    for index, rule_id in enumerate(payload.current):
        if index >= len(payload.rules):
            gateway_access.delete_rule(c, p, rule_id)
        elif change.changed(f"rules[{index}]") is not None:
            gateway_access.update_rule(c, p, rule_id, payload.rules[index])
    for rule in payload.rules[len(payload.current) :]:
        gateway_access.create_rule(c, p, rule)
    return gateway_access.UPDATE_ACTION, "authz_rule", None


def _labels(run: _Run, change: ObjectChange) -> Done:
    name, labels = change.payload
    gateway_labels.set_labels(run.connection, run.principal, name, labels)
    return LABELLED[parse_resource(name).kind][2], "gateway_resource", name[:255]


def _turning_on(change: ObjectChange) -> bool:
    return bool(change.payload)


def _enabling_first(change: ObjectChange) -> bool:
    return isinstance(change.payload, OptionPayload) and change.payload.enabled


STEPS: Final[tuple[Step, ...]] = (
    Step("password_sign_in", ("update",), _password, _turning_on),
    Step("permission_policy", ("create", "update"), _policy),
    Step("role", ("create", "update"), _role),
    Step("login_option", ("create", "update"), _option, _enabling_first),
    Step("login_option", ("create", "update"), _option, lambda change: not _enabling_first(change)),
    Step("group_binding", ("create", "update", "delete"), _binding),
    Step("user_grant", ("create", "update", "delete"), _grant),
    Step("login_option", ("delete",), _option),
    Step("role", ("delete",), _role),
    Step("permission_policy", ("delete",), _policy),
    Step("scim_settings", ("update",), _scim),
    Step("scim_token", ("create", "delete"), _token),
    Step("authz_preset", ("update",), _preset),
    Step("authz_rules", ("update",), _table),
    Step("resource_labels", ("create", "update", "delete"), _labels),
    Step("password_sign_in", ("update",), _password, lambda change: not _turning_on(change)),
)
"""Every kind of change, in the order they are made (see the module)."""
