"""The decision API: may this user do these actions on these resources, and which statement decides?

A caller holding ``iam:CheckAccess`` (on the organization) names a subject — a user id or a user name — and
one to :data:`MAX_CHECKS` checks, each an action, a resource and optionally labels by condition key; the
answers come in the same order. Each is exactly what :func:`~gatehouse.iam.authorizer.authorize` decides for
that user now, as the policy simulator would (:mod:`gatehouse.iam.simulator`): the subject's principal (roles,
group-bound roles, boundaries) is as the database has it at the security epoch this request reads first
(:mod:`gatehouse.iam.principal_cache` keeps it between requests while that epoch stays), so a deactivated or
deleted subject is denied at once, in every process.

Labels: what a check gives, by condition key; for the keys it does not give, the labels Gatehouse keeps for
gateway resources (:func:`gatehouse.iam.gateway_labels.resolve`). API7's spellings are accepted: action
aliases (``iam:UpdateCustomRole``) and ``arn:api7:iam:`` names; answers name them as asked.

Everything but the reads (:func:`check_access`) is pure: :func:`parse_checks` and :func:`decide`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gatehouse.errors import InvalidInput
from gatehouse.iam.authorizer import Labels, Principal, authorize, require
from gatehouse.iam.catalog import ACTION_NAMES, ORGANIZATION, canonical_action
from gatehouse.iam.gateway_labels import resolve
from gatehouse.iam.policy import MAX_LABEL_LENGTH, Decision
from gatehouse.iam.principal_cache import CacheView, PrincipalCache
from gatehouse.iam.resource_names import ResourceName, ResourceNameError, parse_resource
from gatehouse.store.database import Connection

ACTION: Final = "iam:CheckAccess"
MAX_CHECKS: Final = 100
MAX_LABEL_KEYS: Final = 16
MAX_LABELS: Final = 32


@dataclass(frozen=True, slots=True)
class Check:
    """One question: an action (the catalog's name) on a resource, with the labels the caller gave."""

    action: str
    resource: ResourceName
    labels: Labels | None = None
    asked_action: str = ""
    """The action as the caller named it (an alias stays an alias in the answer)."""
    asked_resource: str = ""


def parse_checks(raw: Sequence[Mapping[str, Any]]) -> list[Check]:
    """Check the questions, or raise :class:`InvalidInput` naming the first bad one (``checks[2].action: …``)."""
    if not 1 <= len(raw) <= MAX_CHECKS:
        raise InvalidInput(f"checks: ask 1 to {MAX_CHECKS} questions at a time.")
    return [_check(index, item) for index, item in enumerate(raw)]


def _check(index: int, item: Mapping[str, Any]) -> Check:
    at = f"checks[{index}]"
    action = item.get("action")
    name = canonical_action(action) if isinstance(action, str) else ""
    if name not in ACTION_NAMES:
        raise InvalidInput(f"{at}.action: {action!r} is not an action of the catalog (GET /api/catalog lists them).")
    resource_text = item.get("resource")
    try:
        resource = parse_resource(resource_text if isinstance(resource_text, str) else "")
    except ResourceNameError as exc:
        raise InvalidInput(f"{at}.resource: {exc.detail}") from None
    labels = _labels(item.get("labels"), f"{at}.labels")
    return Check(name, resource, labels, str(action), str(resource_text))


def _labels(raw: object, at: str) -> dict[str, dict[str, str]] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or len(raw) > MAX_LABEL_KEYS:
        raise InvalidInput(
            f'{at}: an object of condition key → labels, e.g. {{"gateway_group_label": {{"env": "dev"}}}}.'
        )
    labels: dict[str, dict[str, str]] = {}
    for key, values in raw.items():
        if not isinstance(key, str) or not key.endswith("_label") or len(key) > 64:
            raise InvalidInput(f"{at}: {key!r} is not a condition key (they end in _label).")
        if not isinstance(values, Mapping) or len(values) > MAX_LABELS:
            raise InvalidInput(f"{at}.{key}: an object of at most {MAX_LABELS} labels (strings).")
        clean = {}
        for label, value in values.items():
            if not isinstance(label, str) or not isinstance(value, str):
                raise InvalidInput(f"{at}.{key}: labels and their values are strings.")
            if not label or len(label) > MAX_LABEL_LENGTH or len(value) > MAX_LABEL_LENGTH:
                raise InvalidInput(f"{at}.{key}: a label or value is 1 to {MAX_LABEL_LENGTH} characters.")
            clean[label] = value
        labels[key] = clean
    return labels


def decide(subject: Principal, checks: Sequence[Check], labels: Sequence[Labels]) -> list[Decision]:
    """Each check decided for ``subject`` with its labels (pure)."""
    return [
        authorize(subject, check.action, check.resource.name, check_labels)
        for check, check_labels in zip(checks, labels, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Subject:
    """Who the checks are about, as found: ``exists`` is false for an unknown id or user name."""

    user_id: str | None
    user_name: str | None
    active: bool
    exists: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """The subject, and one decision per check, in order, with the labels each was decided with."""

    subject: Subject
    checks: list[Check]
    decisions: list[Decision]
    labels: list[Labels]


def find_subject(view: CacheView, user_id: str | None, user_name: str | None) -> tuple[Subject, Principal]:
    """The subject named by id or user name, and what it may do (through the view: read only when nothing is
    kept for the epoch the request read)."""
    found_id = user_id[:64] if user_id else view.user_id_of((user_name or "")[:255])
    principal = view.principal(found_id) if found_id else None
    if principal is None:
        return Subject(user_id, user_name, False, False), Principal.nobody()
    return Subject(principal.user_id, principal.user_name, principal.active, True), principal


def check_access(
    connection: Connection,
    caller: Principal,
    user_id: str | None,
    user_name: str | None,
    raw_checks: Sequence[Mapping[str, Any]],
    cache: PrincipalCache | CacheView | None = None,
) -> Answer:
    """Decide the checks (:func:`parse_checks`) for the subject (see the module); needs ``iam:CheckAccess`` on
    the organization, checked first. ``cache``: the process's kept principals and labels (none: read all), or
    this request's view of them when the caller was read through it (one epoch for both)."""
    require(caller, ACTION, ORGANIZATION)
    if bool(user_id) == bool(user_name):
        raise InvalidInput("subject: name the user by user_id or by username (one of them).")
    checks = parse_checks(raw_checks)
    view = cache if isinstance(cache, CacheView) else (cache or PrincipalCache(max_entries=0)).view(connection)
    subject, principal = find_subject(view, user_id, user_name)
    resources, given = [check.resource for check in checks], [check.labels for check in checks]
    labels: list[Labels] = list(resolve(connection, resources, given, view.labels_of))
    return Answer(subject, list(checks), decide(principal, checks, labels), labels)
