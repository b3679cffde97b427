"""Access requests: a person asks for a requestable role, for a while and with a reason; an approver says yes
or no; a yes grants the role until the time asked for (a ``user_roles`` row with ``source = 'request'`` and an
``expires_at``). Use cases, no HTTP, no commit.

Who may do what:

- marking a role requestable (its longest grant, how long a request waits for an answer), changing or ending
  that: ``iam:UpdateRole`` on the role (its labels as ``role_label``); the built-in Super Admin role never;
- asking, cancelling one's own pending request, giving up one's own time-bound grant early: any active
  signed-in user, for themselves only;
- approving and denying: ``iam:ApproveAccessRequest`` on the role — and **never one's own request**, whatever
  one's permissions (a Super Admin's included);
- reading requests: one's own, or those of roles one may approve or read (``iam:GetAccessRequest``).

A request waits ``answer_within_minutes``; after that it cannot be approved and expires (recorded by
:mod:`gatehouse.iam.grant_expiry`). Two approvers at once: the first decides, the second is told (409).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound, Protected, existing
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID, Principal, allowed, held_roles, require
from gatehouse.iam.catalog import resource_name
from gatehouse.iam.grant_expiry import settle
from gatehouse.store import access_requests as store
from gatehouse.store import grants as grant_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.access_requests import AccessRequest, HeldForAWhile, Requestable
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

APPROVE: Final = "iam:ApproveAccessRequest"
READ: Final = "iam:GetAccessRequest"
MAX_MINUTES: Final = 90 * 24 * 60
"""The longest grant a role may allow: 90 days."""
MAX_ANSWER_MINUTES: Final = 30 * 24 * 60
DEFAULT_ANSWER_MINUTES: Final = 3 * 24 * 60
MAX_REASON: Final = 1_000
MAX_NOTE: Final = 1_000
QUEUE_SIZE: Final = 200


def _role_resource(role_id: str) -> str:
    return resource_name("role", role_id)


def _labels(labels: dict[str, str]) -> dict[str, dict[str, str]]:
    return {"role_label": labels}


def _self(principal: Principal) -> str:
    if not principal.active or not principal.user_id:
        raise Forbidden("Only a signed-in user may ask for access, for themselves (the host operator has no account).")
    return principal.user_id


def _minutes(value: int, most: int, what: str) -> int:
    if not 1 <= value <= most:
        raise InvalidInput(f"{what}: from 1 minute to {most // (24 * 60)} days ({most} minutes).")
    return value


# ------------------------------------------------------------------------------------------ requestable roles


def requestable_roles(connection: Connection, principal: Principal) -> list[Requestable]:
    """The roles anyone signed in may ask for."""
    if not principal.active:
        raise Forbidden("Sign in to see the roles that may be requested.")
    return store.requestable(connection)


def set_requestable(
    connection: Connection, principal: Principal, role_id: str, max_minutes: int, answer_within: int
) -> Requestable:
    """Make a role requestable, or change how long it may be granted and how long a request waits."""
    role = existing(role_store.get(connection, role_id), "There is no such role. It may have been deleted.")
    require(principal, "iam:UpdateRole", _role_resource(role.id), _labels(dict(role.labels)))
    if role.id == SUPER_ADMIN_ROLE_ID or role.built_in:
        raise Protected(f"The built-in role '{role.name}' cannot be requested: it is held by Super Admin accounts.")
    most = _minutes(max_minutes, MAX_MINUTES, "max_minutes")
    wait = _minutes(answer_within, MAX_ANSWER_MINUTES, "answer_within_minutes")
    store.set_requestable(connection, role.id, most, wait, principal.actor, utcnow())
    found = store.get_requestable(connection, role.id)
    assert found is not None
    return found


def unset_requestable(connection: Connection, principal: Principal, role_id: str) -> bool:
    """The role may no longer be asked for (pending requests may still be answered); ``False`` if it was not."""
    role = existing(role_store.get(connection, role_id), "There is no such role. It may have been deleted.")
    require(principal, "iam:UpdateRole", _role_resource(role.id), _labels(dict(role.labels)))
    return store.unset_requestable(connection, role.id)


# ------------------------------------------------------------------------------------------ asking


def request_access(
    connection: Connection, principal: Principal, role_id: str, reason: str, minutes: int
) -> AccessRequest:
    """Ask for a requestable role for ``minutes`` (at most its maximum), with a reason."""
    user_id = _self(principal)
    wanted = existing(
        store.get_requestable(connection, role_id), "This role cannot be requested (or it does not exist)."
    )
    text = reason.strip()
    if not 3 <= len(text) <= MAX_REASON:
        raise InvalidInput(f"reason: say why you need it (3 to {MAX_REASON} characters).")
    if not 1 <= minutes <= wanted.max_minutes:
        raise InvalidInput(f"minutes: {wanted.role_name} may be granted for 1 to {wanted.max_minutes} minutes.")
    for held in held_roles(connection, user_id):
        if held.id == role_id and any(origin.kind != "request" for origin in held.origins):
            raise Conflict(f"You hold {wanted.role_name} already ({held.origins[0].describe()}).")
    now = utcnow()
    settle(connection, now)  # a pending request whose time is up makes way for this one, recorded
    request_id = str(uuid.uuid4())
    answer_by = now + timedelta(minutes=wanted.answer_within_minutes)
    store.insert(connection, request_id, user_id, role_id, text, minutes, now, answer_by)
    found = store.get(connection, request_id)
    assert found is not None
    return found


def _request(connection: Connection, request_id: str) -> AccessRequest:
    return existing(store.get(connection, request_id), "There is no such access request.")


def _still_pending(connection: Connection, request: AccessRequest, now: datetime) -> None:
    if request.status == store.PENDING and request.answer_by <= now:
        raise Conflict("This request waited too long for an answer and has expired; it may be asked again.")
    if request.status != store.PENDING:
        raise Conflict(f"This request is {request.status} already.")


def cancel(connection: Connection, principal: Principal, request_id: str) -> AccessRequest:
    """Withdraw one's own pending request."""
    request = _request(connection, request_id)
    if request.user_id != _self(principal):
        raise Forbidden("Only the person who asked may withdraw a request.")
    now = utcnow()
    _still_pending(connection, request, now)
    if not store.transition(connection, request.id, store.CANCELLED, now, by=principal.actor, by_id=principal.user_id):
        raise Conflict("This request was answered in the meantime.")
    return _request(connection, request.id)


# ------------------------------------------------------------------------------------------ answering


def may_approve(principal: Principal, request: AccessRequest) -> bool:
    """Whether the principal may answer this request (the use cases check again)."""
    if principal.user_id is not None and principal.user_id == request.user_id:
        return False
    return allowed(principal, APPROVE, _role_resource(request.role_id), _labels(request.role_labels))


def _answerable(connection: Connection, principal: Principal, request_id: str) -> AccessRequest:
    request = _request(connection, request_id)
    require(principal, APPROVE, _role_resource(request.role_id), _labels(request.role_labels))
    if principal.user_id is not None and principal.user_id == request.user_id:
        raise Forbidden("Nobody approves or denies their own request: another approver must answer it.")
    return request


def approve(
    connection: Connection, principal: Principal, request_id: str, note: str = "", minutes: int | None = None
) -> AccessRequest:
    """Approve a pending request: the role is granted from now until now + the time asked for (or less, when
    ``minutes`` shortens it). A grant by an earlier request that lasts longer is kept."""
    request = _answerable(connection, principal, request_id)
    now = utcnow()
    _still_pending(connection, request, now)
    granted = request.minutes if minutes is None else minutes
    if not 1 <= granted <= request.minutes:
        raise InvalidInput(f"minutes: from 1 to the {request.minutes} minutes asked for.")
    user = user_store.get(connection, request.user_id)
    if user is None or not user.active:
        raise Conflict(f"{request.user_name} is deactivated: the request cannot be approved.")
    until = now + timedelta(minutes=granted)
    settle(connection, now)  # an earlier grant by request that has ended is recorded before this one replaces it
    current = grant_store.grant_of(connection, request.user_id, request.role_id, store.REQUEST, now)
    if current is not None and current.expires_at is not None and current.expires_at > until:
        until = current.expires_at
    if not store.transition(
        connection, request.id, store.APPROVED, now,
        by=principal.actor, by_id=principal.user_id, note=note.strip()[:MAX_NOTE] or None, granted_until=until,
    ):  # fmt: skip
        raise Conflict("This request was answered in the meantime.")
    grant_store.grant_role(connection, request.user_id, request.role_id, store.REQUEST, principal.actor, now, until)
    return _request(connection, request.id)


def deny(connection: Connection, principal: Principal, request_id: str, note: str = "") -> AccessRequest:
    """Deny a pending request (a note says why)."""
    request = _answerable(connection, principal, request_id)
    now = utcnow()
    _still_pending(connection, request, now)
    if not store.transition(
        connection, request.id, store.DENIED, now,
        by=principal.actor, by_id=principal.user_id, note=note.strip()[:MAX_NOTE] or None,
    ):  # fmt: skip
        raise Conflict("This request was answered in the meantime.")
    return _request(connection, request.id)


# ------------------------------------------------------------------------------------------ holding


def give_up(connection: Connection, principal: Principal, role_id: str) -> HeldForAWhile:
    """End one's own time-bound grant of a role (by request) now, before it expires."""
    user_id = _self(principal)
    now = utcnow()
    held = [grant for grant in store.held_for_a_while(connection, user_id, now) if grant.role_id == role_id]
    if not held or not store.give_up(connection, user_id, role_id):
        raise NotFound("You do not hold this role through an access request (it may have expired already).")
    return held[0]


# ------------------------------------------------------------------------------------------ pages


@dataclass(frozen=True, slots=True)
class Offer:
    """A requestable role as offered to one person: whether they hold it otherwise or have asked already."""

    role: Requestable
    held_otherwise: bool
    pending: AccessRequest | None


@dataclass(frozen=True, slots=True)
class MyAccess:
    """A person's access page: what they may ask for, what they asked, what they hold for a while."""

    offers: list[Offer]
    pending: list[AccessRequest]
    active: list[HeldForAWhile]
    history: list[AccessRequest]


def my_access(connection: Connection, principal: Principal) -> MyAccess:
    """The signed-in user's own access page (what has expired shows as expired, settled or not)."""
    user_id = _self(principal)
    now = utcnow()
    mine = store.of_user(connection, user_id)
    pending = [request for request in mine if request.waiting(now)]
    held = held_roles(connection, user_id)
    otherwise = {role.id for role in held if any(origin.kind != "request" for origin in role.origins)}
    offers = [
        Offer(role, role.role_id in otherwise, next((r for r in pending if r.role_id == role.role_id), None))
        for role in store.requestable(connection)
    ]
    history = [request for request in mine if not request.waiting(now)]
    return MyAccess(offers, pending, store.held_for_a_while(connection, user_id, now), history)


@dataclass(frozen=True, slots=True)
class Queue:
    """The approver's page: pending requests they may answer, and recent answers they may read."""

    pending: list[AccessRequest]
    own_pending: list[AccessRequest]
    decided: list[AccessRequest]


def _readable(principal: Principal, request: AccessRequest) -> bool:
    labels = _labels(request.role_labels)
    resource = _role_resource(request.role_id)
    return (
        request.user_id == principal.user_id
        or allowed(principal, READ, resource, labels)
        or allowed(principal, APPROVE, resource, labels)
    )


def queue(connection: Connection, principal: Principal) -> Queue:
    """Pending requests the principal may answer (and their own, which others must answer), recent answers."""
    now = utcnow()
    pending = [r for r in store.listed(connection, [store.PENDING], limit=QUEUE_SIZE) if r.waiting(now)]
    decided = store.listed(connection, [store.APPROVED, store.DENIED, store.EXPIRED, store.CANCELLED], limit=100)
    return Queue(
        [r for r in pending if may_approve(principal, r)],
        [r for r in pending if r.user_id == principal.user_id],
        [r for r in decided if _readable(principal, r)],
    )


def visible_requests(connection: Connection, principal: Principal, status: str | None) -> list[AccessRequest]:
    """The requests the principal may read (their own, or of roles they may read or approve), in a status or
    all; refused (403) unless they are signed in."""
    if principal.user_id is None:
        require(principal, READ, _role_resource("*"))
    if status is not None and status not in store.STATUSES:
        raise InvalidInput(f"status: one of {', '.join(store.STATUSES)}.")
    now = utcnow()
    found = store.listed(connection, [status] if status else list(store.STATUSES), limit=QUEUE_SIZE)
    return [r for r in found if _readable(principal, r) and (status is None or r.state(now) == status)]


def get_request(connection: Connection, principal: Principal, request_id: str) -> AccessRequest:
    """One request, for its requester or whoever may read or answer it."""
    request = _request(connection, request_id)
    if not _readable(principal, request):
        raise Forbidden("You may not read this access request (iam:GetAccessRequest on its role).")
    return request
