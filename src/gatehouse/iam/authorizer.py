"""Who may do what: a request's user becomes a :class:`Principal`, and every action is decided for it.

:func:`load_principal` reads, on every request and in any process, what the user holds now — there is
no per-user cache, so a deactivation, a role change, a boundary change or a SCIM membership change in a
group bound to roles takes effect on the next request everywhere:

1. the user (one primary-key read): missing or inactive → a principal denied everything;
   a Super Admin account holds the built-in Super Admin role (:data:`SUPER_ADMIN_POLICY`, computed, never
   stored in ``user_roles``) and nothing else — no other role's deny and no boundary applies to it;
2. otherwise one indexed query: the roles held directly (``user_roles``) ∪ the roles bound to the groups
   the user is a member of (``group_members`` ⋈ ``group_role_bindings``), each with where it comes from,
   the (id, name, version) of their policies, and the user's permission boundaries. A time-bound grant
   whose ``expires_at`` has passed is not read (it stops counting at that instant, in every process, with
   no job to wait for; :mod:`gatehouse.iam.grant_expiry` records the expiry in the audit log).

Parsed policy documents are cached in-process under (policy id, version): a policy's version moves with
every change of its document, so an entry never goes stale and needs no invalidation across processes;
only misses read documents (a third query).

:func:`authorize` then runs the pure evaluator (:func:`gatehouse.iam.policy.evaluate`); :func:`require`
raises :class:`~gatehouse.errors.Forbidden` with the decision's reason.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

import orjson

from gatehouse.errors import Forbidden
from gatehouse.iam.catalog import SUPER_ADMIN_POLICY
from gatehouse.iam.policy import (
    Decision,
    EvaluationRequest,
    NamedPolicy,
    PolicyDocument,
    PolicyError,
    RolePolicies,
    evaluate,
    parse_policy,
)
from gatehouse.store import holdings
from gatehouse.store import policies as policy_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection

log = logging.getLogger(__name__)

_BUILT_IN = uuid.uuid5(uuid.NAMESPACE_URL, "urn:gatehouse:built-in")

SUPER_ADMIN_ROLE_ID: Final = str(uuid.uuid5(_BUILT_IN, "role:super-admin"))
"""The built-in Super Admin role's fixed id (the same in every installation)."""
SUPER_ADMIN_ROLE_NAME: Final = "Super Admin"
SUPER_ADMIN_POLICY_ID: Final = str(uuid.uuid5(_BUILT_IN, "permissionpolicy:super-admin"))
"""The built-in Super Admin policy's fixed id."""
SUPER_ADMIN_POLICY_NAME: Final = "super-admin-permission-policy"

SUPER_ADMIN_DOCUMENT: Final[PolicyDocument] = parse_policy(SUPER_ADMIN_POLICY)
_DENY_ALL: Final[PolicyDocument] = parse_policy(
    {"statement": [{"effect": "deny", "actions": ["*"], "resources": ["*"]}]}
)

Labels = Mapping[str, Mapping[str, str]]
"""Request labels by condition key: ``{"role_label": {"team": "sre"}}``."""


# ------------------------------------------------------------------------------------------ principal


@dataclass(frozen=True, slots=True)
class RoleOrigin:
    """Why a user holds a role."""

    kind: Literal["super_admin", "direct", "sso", "group", "request"]
    group_id: str | None = None
    group_name: str | None = None
    until: datetime | None = None
    """A time-bound grant's end (``None``: until taken away)."""

    def describe(self) -> str:
        """For display: ``direct``, ``via SSO``, ``via group Ops``, ``Super Admin account``, ``access request``;
        a time-bound one adds ``until 2026-12-01 10:00 UTC``."""
        if self.kind == "group":
            text = f"via group {self.group_name}"
        elif self.kind == "sso":
            text = "via SSO"
        elif self.kind == "super_admin":
            text = "Super Admin account"
        elif self.kind == "request":
            text = "access request"
        else:
            text = "direct"
        return text if self.until is None else f"{text}, until {self.until.strftime('%Y-%m-%d %H:%M UTC')}"


@dataclass(frozen=True, slots=True)
class HeldRole:
    """A role a user holds, every way they hold it, and its policies (parsed)."""

    id: str
    name: str
    origins: tuple[RoleOrigin, ...]
    policies: tuple[NamedPolicy, ...]

    @property
    def direct(self) -> bool:
        """Whether it is assigned to the user themselves (not only through groups)."""
        return any(origin.kind in ("direct", "sso", "super_admin", "request") for origin in self.origins)


@dataclass(frozen=True, slots=True)
class Principal:
    """A user as the authorizer sees them for one request."""

    user_id: str | None
    user_name: str | None
    active: bool
    super_admin: bool
    roles: tuple[HeldRole, ...] = ()
    boundaries: tuple[NamedPolicy, ...] = ()
    token_name: str | None = None
    """The API token the request authenticated with, if any (for the audit log)."""
    _evaluated: tuple[RolePolicies, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        held = tuple(RolePolicies(role.id, role.name, role.policies) for role in self.roles)
        object.__setattr__(self, "_evaluated", held)

    @classmethod
    def nobody(cls, user_id: str | None = None, user_name: str | None = None) -> Principal:
        """A principal denied everything: a missing or inactive user."""
        return cls(user_id, user_name, False, False)

    @property
    def actor(self) -> str:
        """How the audit log and ``granted_by`` columns name this principal."""
        name = self.user_name or "unknown user"
        return f"{name} (token {self.token_name})" if self.token_name else name


# ------------------------------------------------------------------------------------------ decisions


def authorize(principal: Principal, action: str, resource: str, labels: Labels | None = None) -> Decision:
    """Decide ``action`` on ``resource`` (a :func:`~gatehouse.iam.catalog.resource_name`) for the principal."""
    if not principal.active:
        return Decision(False, "not_allowed", "the user is inactive or does not exist")
    request = EvaluationRequest(action, resource, labels or {})
    return evaluate(request, principal._evaluated, principal.boundaries)


def allowed(principal: Principal, action: str, resource: str, labels: Labels | None = None) -> bool:
    """Whether the principal may (to show or hide a button; the action itself still calls :func:`require`)."""
    return authorize(principal, action, resource, labels).allowed


def require(principal: Principal, action: str, resource: str, labels: Labels | None = None) -> None:
    """Raise :class:`Forbidden` unless the principal may do ``action`` on ``resource``."""
    decision = authorize(principal, action, resource, labels)
    if not decision.allowed:
        raise Forbidden(f"You are not allowed to perform {action} on {resource}: {decision.reason}.")


# ------------------------------------------------------------------------------------------ loading


def super_admin_role() -> HeldRole:
    """The built-in Super Admin role as held by a Super Admin account."""
    policy = NamedPolicy(SUPER_ADMIN_POLICY_ID, SUPER_ADMIN_POLICY_NAME, SUPER_ADMIN_DOCUMENT)
    return HeldRole(SUPER_ADMIN_ROLE_ID, SUPER_ADMIN_ROLE_NAME, (RoleOrigin("super_admin"),), (policy,))


def load_principal(connection: Connection, user_id: str | None, *, token_name: str | None = None) -> Principal:
    """What ``user_id`` may do now (see the module); a missing or inactive user is denied everything."""
    if not user_id:
        return Principal.nobody()
    user = user_store.standing(connection, user_id)
    if user is None:
        return Principal.nobody(user_id)
    if not user.active:
        return Principal.nobody(user_id, user.user_name)
    if user.super_admin:
        return Principal(user_id, user.user_name, True, True, (super_admin_role(),), (), token_name)
    held, boundaries = _grants(connection, user_id)
    return Principal(user_id, user.user_name, True, False, held, boundaries, token_name)


def held_roles(connection: Connection, user_id: str) -> tuple[HeldRole, ...]:
    """The roles a user holds and where from, whatever their status (for the user's page)."""
    user = user_store.standing(connection, user_id)
    if user is None:
        return ()
    if user.super_admin:
        return (super_admin_role(),)
    return _grants(connection, user_id)[0]


def _grants(connection: Connection, user_id: str) -> tuple[tuple[HeldRole, ...], tuple[NamedPolicy, ...]]:
    grants = holdings.grants_of(connection, user_id)
    policies = [grant.policy for grant in grants.roles if grant.policy is not None] + grants.boundaries
    parsed = _documents(connection, {policy.id: policy.version for policy in policies})

    role_names: dict[str, str] = {}
    origins: dict[str, dict[tuple[str, str | None], RoleOrigin]] = {}
    role_policy_ids: dict[str, dict[str, str]] = {}
    for grant in grants.roles:
        role_names[grant.role_id] = grant.role_name
        origin = _origin(grant)
        origins.setdefault(grant.role_id, {})[(origin.kind, origin.group_id)] = origin
        attached = role_policy_ids.setdefault(grant.role_id, {})
        if grant.policy is not None:
            attached[grant.policy.id] = grant.policy.name
    boundary_names = {policy.id: policy.name for policy in grants.boundaries}

    held = tuple(
        HeldRole(
            role_id,
            role_names[role_id],
            tuple(sorted(origins[role_id].values(), key=_origin_order)),
            tuple(
                NamedPolicy(policy_id, name, parsed[policy_id])
                for policy_id, name in sorted(
                    role_policy_ids[role_id].items(), key=lambda item: (item[1].lower(), item[0])
                )
            ),
        )
        for role_id in sorted(role_names, key=lambda rid: (role_names[rid].lower(), rid))
    )
    boundaries = tuple(
        NamedPolicy(policy_id, name, parsed[policy_id])
        for policy_id, name in sorted(boundary_names.items(), key=lambda item: (item[1].lower(), item[0]))
    )
    return held, boundaries


def _origin(grant: holdings.RoleGrant) -> RoleOrigin:
    if grant.origin == "group":
        return RoleOrigin("group", grant.group_id, grant.group_name, grant.expires_at)
    kind: Literal["sso", "request", "direct"] = grant.origin if grant.origin in ("sso", "request") else "direct"  # type: ignore[assignment]
    return RoleOrigin(kind, until=grant.expires_at)


def _origin_order(origin: RoleOrigin) -> tuple[int, str, str]:
    rank = {"super_admin": 0, "direct": 1, "request": 2, "sso": 3, "group": 4}[origin.kind]
    return rank, (origin.group_name or "").lower(), origin.group_id or ""


# ------------------------------------------------------------------------------------------ documents


class DocumentCache:
    """Parsed policy documents by (policy id, version): immutable entries, least recently used evicted."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, int], PolicyDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> PolicyDocument | None:
        with self._lock:
            document = self._entries.get(key)
            if document is not None:
                self._entries.move_to_end(key)
            return document

    def put(self, key: tuple[str, int], document: PolicyDocument) -> None:
        with self._lock:
            self._entries[key] = document
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


documents_cache = DocumentCache()
"""The process's cache of parsed documents (safe across processes: see the module)."""


def parsed_documents(connection: Connection, versions: Mapping[str, int]) -> dict[str, PolicyDocument]:
    """The parsed document of each policy at the version given (cached like the ones :func:`load_principal`
    reads): for evaluating a grant set that is not one user's (:mod:`gatehouse.iam.access_review`)."""
    return _documents(connection, versions)


def _documents(connection: Connection, versions: Mapping[str, int]) -> dict[str, PolicyDocument]:
    """The parsed document of each policy at the version read, from the cache or the database."""
    found: dict[str, PolicyDocument] = {}
    missing: list[str] = []
    for policy_id, version in versions.items():
        cached = documents_cache.get((policy_id, version))
        if cached is None:
            missing.append(policy_id)
        else:
            found[policy_id] = cached
    if missing:
        stored = policy_store.documents(connection, missing)
        for policy_id in missing:
            if policy_id not in stored:  # deleted between the two reads: it grants nothing
                found[policy_id] = PolicyDocument(())
                continue
            version, text = stored[policy_id]
            document = parse_stored(policy_id, text)
            documents_cache.put((policy_id, version), document)
            found[policy_id] = document
    return found


def parse_stored(policy_id: str, text: str) -> PolicyDocument:
    """A stored document, parsed. One that no longer validates (an action removed from the catalog by an
    upgrade, say) denies everything, so that a broken policy never silently drops a deny statement."""
    try:
        return parse_policy(orjson.loads(text))
    except (PolicyError, orjson.JSONDecodeError) as exc:
        log.error("permission policy %s no longer validates (%s): it denies everything until fixed", policy_id, exc)
        return _DENY_ALL
