"""Access review: who holds what and how (a report over users, with filters and exports), who may do a given
action on a given resource (over every user, by the same evaluator as every request), revoking from the
report, and recording that a scope was reviewed. Use cases, no HTTP, no commit.

Permissions: the report and the who-may question need ``iam:GetAccessReview`` (on the organization);
recording a review ``iam:CreateAccessReview``; revoking is the change itself — ``iam:UpdateUserRole`` on the user
for a role held directly, by request or by SSO mapping; ``iam:UpdateGroupBinding`` on the group for a role held
through a group (unbinding it takes it from every member, which the page says before).

**Who may.** The answer does not evaluate 100,000 users one by one: users with identical grants (the same roles,
however held, and the same boundaries) decide identically, so every distinct grant set is evaluated once with
:func:`~gatehouse.iam.authorizer.authorize` (the policies parsed once, from the authorizer's cache), and the
users of the allowed sets are listed by username, a page at a time. Active Super Admin accounts are always
allowed; inactive users never. ``bench/who_may_bench.py`` measures it at 100,000 users.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from gatehouse.errors import InvalidInput, NotFound
from gatehouse.iam import roles as rbac
from gatehouse.iam import timed_grants
from gatehouse.iam.authorizer import (
    SUPER_ADMIN_ROLE_ID,
    HeldRole,
    Principal,
    RoleOrigin,
    authorize,
    parsed_documents,
    require,
)
from gatehouse.iam.catalog import ACTIONS, ORGANIZATION, resource_name
from gatehouse.iam.csv_cells import csv_cell
from gatehouse.iam.decisions import parse_checks
from gatehouse.iam.gateway_labels import resolve
from gatehouse.iam.policy import Decision, NamedPolicy
from gatehouse.iam.resource_names import ResourceName
from gatehouse.numerals import whole_number
from gatehouse.store import access_review as store
from gatehouse.store import roles as role_store
from gatehouse.store.access_review import ReviewPage, ReviewQuery, ReviewRecord, UserAccess
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

READ: Final = "iam:GetAccessReview"
RECORD: Final = "iam:CreateAccessReview"
MAX_DAYS: Final = 36_500
EXPORT_LIMIT: Final = 200_000
WHO_MAY_PAGE: Final = 50
MAX_NOTE: Final = 2_000


def review_query(
    role_id: str = "",
    origin: str = "",
    not_signed_in_days: str | int | None = None,
    token_unused_days: str | int | None = None,
    include_inactive: bool = False,
) -> ReviewQuery:
    """A scope from form or query values; a bad value is :class:`InvalidInput` naming it."""
    if origin and origin not in store.ORIGINS:
        raise InvalidInput(f"origin: one of {', '.join(store.ORIGINS)}.")

    def days(value: str | int | None, name: str) -> int | None:
        if value is None or value == "":
            return None
        number = whole_number(value)
        if number is None or not 0 <= number <= MAX_DAYS:
            raise InvalidInput(f"{name}: a number of days, 0 to {MAX_DAYS}.")
        return number

    return ReviewQuery(
        role_id=role_id.strip()[:64] or None,
        origin=origin or None,
        not_signed_in_days=days(not_signed_in_days, "not_signed_in_days"),
        token_unused_days=days(token_unused_days, "token_unused_days"),
        include_inactive=include_inactive,
        super_admin_role=role_id.strip() == SUPER_ADMIN_ROLE_ID,
    )


def report(
    connection: Connection, principal: Principal, query: ReviewQuery, cursor: str | None = None, limit: int = 50
) -> ReviewPage:
    """A page of the users in the scope, with every role and where it comes from, boundaries, last sign-in and
    live API tokens with their last use."""
    require(principal, READ, ORGANIZATION)
    return store.page(connection, query, utcnow(), cursor or None, limit)


def export(connection: Connection, principal: Principal, query: ReviewQuery) -> Iterator[UserAccess]:
    """Every user in the scope, page by page (for CSV and JSON exports)."""
    require(principal, READ, ORGANIZATION)
    now, cursor, sent = utcnow(), None, 0
    while sent < EXPORT_LIMIT:
        found = store.page(connection, query, now, cursor, store.MAX_PAGE)
        yield from found.users
        sent += len(found.users)
        if found.next_cursor is None:
            return
        cursor = found.next_cursor


def origin_text(grant: store.GrantLine) -> str:
    """How a grant is shown and exported: ``direct``, ``group Ops``, ``SSO``, ``access request``, with
    ``until …`` for a time-bound one."""
    text = {"direct": "direct", "request": "access request", "sso": "SSO"}.get(
        grant.origin, f"group {grant.group_name}"
    )
    return text if grant.expires_at is None else f"{text}, until {grant.expires_at.strftime('%Y-%m-%d %H:%M UTC')}"


def flat_rows(user: UserAccess) -> list[dict[str, Any]]:
    """A user's lines for the CSV export: one per grant (or one with no role)."""
    base = {
        "user_id": user.id,
        "username": user.user_name,
        "active": user.active,
        "source": user.source,
        "last_sign_in": user.last_login_at.isoformat() if user.last_login_at else "",
        "boundaries": "; ".join(b.name for b in user.boundaries),
        "api_tokens": "; ".join(
            f"{t.name} (last used {t.last_used_at.isoformat() if t.last_used_at else 'never'})" for t in user.tokens
        ),
    }
    grants = list(user.grants)
    if user.super_admin:
        return [{**base, "role": "Super Admin", "origin": "Super Admin account", "granted_by": "", "expires_at": ""}]
    if not grants:
        return [{**base, "role": "", "origin": "", "granted_by": "", "expires_at": ""}]
    return [
        {
            **base,
            "role": grant.role_name,
            "origin": origin_text(grant),
            "granted_by": grant.granted_by or "",
            "expires_at": grant.expires_at.isoformat() if grant.expires_at else "",
        }
        for grant in grants
    ]


def as_json(user: UserAccess) -> dict[str, Any]:
    """A user's entry of the JSON export and of the API."""
    return {
        "id": user.id,
        "username": user.user_name,
        "display_name": user.display_name,
        "source": user.source,
        "active": user.active,
        "super_admin": user.super_admin,
        "last_sign_in": user.last_login_at.isoformat() if user.last_login_at else None,
        "roles": [
            {
                "role_id": g.role_id,
                "role": g.role_name,
                "origin": g.origin,
                "group_id": g.group_id,
                "group": g.group_name,
                "granted_at": g.granted_at.isoformat() if g.granted_at else None,
                "granted_by": g.granted_by,
                "expires_at": g.expires_at.isoformat() if g.expires_at else None,
            }
            for g in user.grants
        ],
        "boundaries": [{"policy_id": b.policy_id, "name": b.name, "source": b.source} for b in user.boundaries],
        "api_tokens": [
            {
                "id": t.id,
                "name": t.name,
                "created": t.created.isoformat(),
                "expires_at": t.expires_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            }
            for t in user.tokens
        ],
    }


# ------------------------------------------------------------------------------------------ who may


@dataclass(frozen=True, slots=True)
class AllowedSet:
    """A grant set that is allowed: its roles and boundaries (names), how many users hold it, and why."""

    roles: tuple[str, ...]
    boundaries: tuple[str, ...]
    users: int
    reason: str


@dataclass(frozen=True, slots=True)
class WhoMay:
    """The answer: the question, the labels it was decided with, the allowed sets, the users of a page."""

    action: str
    resource: str
    labels: Mapping[str, Mapping[str, str]]
    total: int
    super_admins: int
    sets: list[AllowedSet]
    users: list[tuple[str, str, str | None]]
    """(id, username, display name) of this page's users, by username."""
    evaluated_sets: int
    next_cursor: str | None


def _labels_for(connection: Connection, resource: ResourceName, given: Any) -> dict[str, dict[str, str]]:
    labels = resolve(connection, [resource], [given])[0]
    if resource.kind == "role" and resource.id not in (None, "*") and "role_label" not in labels:
        role = role_store.get(connection, str(resource.id))
        if role is not None:
            labels["role_label"] = dict(role.labels)
    return labels


def _principals(
    role_policies: Mapping[str, tuple[str, list[Any]]], bounds: Mapping[str, Any], documents: Mapping[str, Any]
) -> Callable[[frozenset[str], frozenset[str]], Principal]:
    """The principal of a grant set (roles, boundaries), each role and boundary built once for every set."""
    held_of = {
        role_id: HeldRole(
            role_id, name, (RoleOrigin("direct"),), tuple(NamedPolicy(p.id, p.name, documents[p.id]) for p in attached)
        )
        for role_id, (name, attached) in role_policies.items()
    }
    limit_of = {b: NamedPolicy(bound.id, bound.name, documents[bound.id]) for b, bound in bounds.items()}

    def principal(roles_held: frozenset[str], boundaries: frozenset[str]) -> Principal:
        held = tuple(held_of[role_id] for role_id in sorted(roles_held) if role_id in held_of)
        limits = tuple(limit_of[b] for b in sorted(boundaries) if b in limit_of)
        return Principal("grant-set", None, True, False, held, limits)

    return principal


def who_may(
    connection: Connection,
    principal: Principal,
    action: str,
    resource: str,
    labels: Mapping[str, Any] | None = None,
    cursor: str | None = None,
    limit: int = WHO_MAY_PAGE,
) -> WhoMay:
    """Every active user who may do ``action`` on ``resource`` (with ``labels``) now (see the module)."""
    require(principal, READ, ORGANIZATION)
    try:
        [check] = parse_checks([{"action": action, "resource": resource, "labels": labels}])
    except InvalidInput as exc:  # one question, not a list of checks: name the field as the form and API do
        raise InvalidInput(exc.detail.removeprefix("checks[0].")) from None
    decided_labels = _labels_for(connection, check.resource, check.labels)
    sets = store.grant_sets(connection, utcnow())
    role_ids = {role_id for roles_held, _ in sets.sets for role_id in roles_held}
    boundary_ids = {policy_id for _, bounds in sets.sets for policy_id in bounds}
    role_policies = store.role_policies_of(connection, role_ids)
    bounds = store.policy_versions(connection, boundary_ids)
    versions = {p.id: p.version for _, attached in role_policies.values() for p in attached}
    versions.update({p.id: p.version for p in bounds.values()})
    documents = parsed_documents(connection, versions)
    allowed_sets: list[AllowedSet] = []
    members: list[tuple[str, str]] = list(sets.super_admins)
    principal_of = _principals(role_policies, bounds, documents)
    for (roles_held, boundaries), users in sets.sets.items():
        decision: Decision = authorize(
            principal_of(roles_held, boundaries), check.action, check.resource.name, decided_labels
        )
        if decision.allowed:
            names = tuple(sorted(role_policies[r][0] for r in roles_held if r in role_policies))
            limits = tuple(sorted(bounds[b].name for b in boundaries if b in bounds))
            allowed_sets.append(AllowedSet(names, limits, len(users), decision.reason))
            members.extend(users)
    members.sort()
    start = 0
    if cursor:
        start = next((i for i, (name, _) in enumerate(members) if name > cursor), len(members))
    limit = min(max(limit, 1), store.MAX_PAGE)
    shown = members[start : start + limit]
    named = store.users_named(connection, [user_id for _, user_id in shown])
    page_users = [(user_id, *named[user_id][:2]) for _, user_id in shown if user_id in named]
    more = start + limit < len(members)
    allowed_sets.sort(key=lambda found: (-found.users, found.roles))
    return WhoMay(
        check.action,
        check.resource.name,
        decided_labels,
        len(members),
        len(sets.super_admins),
        allowed_sets,
        page_users,  # type: ignore[arg-type]
        len(sets.sets),
        shown[-1][0] if more and shown else None,
    )


# ------------------------------------------------------------------------------------------ revoking, recording


REVOCABLE: Final = ("direct", "request", "sso", "group")


def revoke(
    connection: Connection, principal: Principal, user_id: str, role_id: str, origin: str, group_id: str = ""
) -> str:
    """Take away one way a user holds a role, from the report; what was done, in words. A role held through a
    group is unbound from that group (every member loses it)."""
    if origin not in REVOCABLE:
        raise InvalidInput(f"origin: one of {', '.join(REVOCABLE)}.")
    if origin == "group":
        if not rbac.unbind_group_role(connection, principal, group_id, role_id):
            raise NotFound("That role is no longer bound to that group.")
        return "The role was unbound from the group: none of its members holds it through the group any more."
    source = {"direct": "manual"}.get(origin, origin)
    if not timed_grants.revoke_grant(connection, principal, user_id, role_id, source):
        raise NotFound("The user no longer holds that role that way.")
    if origin == "sso":
        return "The mapped role was removed; the user's next SSO sign-in maps it again unless the rules change."
    return "The role was taken away."


def may_revoke(principal: Principal, user_id: str, origin: str, group_id: str) -> None:
    """Refused (403) unless the principal may make this revocation: before asking to confirm it."""
    if origin == "group":
        require(principal, "iam:UpdateGroupBinding", resource_name("group", group_id or "*"))
    else:
        require(principal, "iam:UpdateUserRole", resource_name("user", user_id or "*"))


def record_review(connection: Connection, principal: Principal, query: ReviewQuery, note: str) -> ReviewRecord:
    """Record that the principal reviewed the users of ``query``'s scope now."""
    require(principal, RECORD, ORGANIZATION)
    now = utcnow()
    in_scope = store.count(connection, query, now)
    return store.record_review(
        connection, principal.user_id, principal.actor, query.as_dict(), in_scope, note.strip()[:MAX_NOTE], now
    )


def reviews(connection: Connection, principal: Principal, limit: int = 50) -> list[ReviewRecord]:
    """The reviews recorded, newest first."""
    require(principal, READ, ORGANIZATION)
    return store.reviews(connection, limit)


def role_choices(connection: Connection, principal: Principal) -> list[tuple[str, str]]:
    """(id, name) of every role, for the report's role filter."""
    require(principal, READ, ORGANIZATION)
    return [(role.id, role.name) for role in role_store.list_all(connection)]


# ------------------------------------------------------------------------------------------ exports

CSV_COLUMNS: Final = (
    "user_id", "username", "active", "source", "last_sign_in", "role", "origin", "granted_by", "expires_at",
    "boundaries", "api_tokens",
)  # fmt: skip


def to_csv(users: Iterable[UserAccess]) -> str:
    """The report as CSV (RFC 4180): one line per user and role held (see :func:`flat_rows`); cells a
    spreadsheet would run as formulas are escaped as the audit log's export does."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for user in users:
        for row in flat_rows(user):
            writer.writerow([csv_cell(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


def to_json(users: Iterable[UserAccess]) -> bytes:
    """The report as a JSON array of :func:`as_json` entries."""
    return orjson.dumps([as_json(user) for user in users])


ORIGIN_NAMES: Final = {"direct": "assigned directly", "request": "by access request", "sso": "mapped at SSO sign-in",
                       "group": "through a group"}  # fmt: skip


def parse_labels_text(text: str) -> dict[str, dict[str, str]] | None:
    """The who-may form's labels: JSON by condition key (``{"role_label": {"team": "sre"}}``), or empty."""
    if not text.strip():
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidInput('labels: JSON by condition key, e.g. {"gateway_group_label": {"env": "prod"}}.') from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InvalidInput('labels: JSON by condition key, e.g. {"gateway_group_label": {"env": "prod"}}.')
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in value.items()}


def action_names() -> list[str]:
    """Every action of the catalog, for the who-may form."""
    return [action.name for action in ACTIONS]
