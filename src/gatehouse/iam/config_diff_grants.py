"""A plan's group bindings and user grants (:mod:`gatehouse.iam.config_plan`): the roles (each until when) bound to
each group the file names, and the roles and boundaries granted to each user it names, compared with those held
now. A file never creates a group or a user: it names ones SCIM provisioned or that were invited. Reads only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gatehouse.iam.config_changes import ObjectChange
from gatehouse.iam.config_diff import PlanContext, compare
from gatehouse.iam.config_export import Doc, Grant, binding_doc, grant_doc
from gatehouse.iam.config_file import Path
from gatehouse.iam.config_model import GroupBinding, UserGrant, grant_names
from gatehouse.iam.config_payloads import GrantPayload
from gatehouse.iam.timed_grants import LONGEST
from gatehouse.store import config_state
from gatehouse.store.config_state import GroupRef, UserRef


def binding_changes(plan: PlanContext, given: list[GroupBinding]) -> list[ObjectChange]:
    """The ``group_bindings`` section against the roles bound to groups now."""
    named = config_state.groups_named(plan.connection, [b.displayName for b in given if b.displayName])
    external = config_state.groups_with_external_ids(plan.connection, [b.externalId for b in given if b.externalId])
    current = {b.group.id: doc for b, doc in zip(plan.state.bindings, plan.state.data["group_bindings"], strict=True)}
    changes: list[ObjectChange] = []
    seen: dict[str, int] = {}
    for index, binding in enumerate(given):
        path: Path = ("group_bindings", index)
        group = _group(plan, binding.displayName, binding.externalId, named, external, path)
        roles = _grants(plan, binding.roles, (*path, "roles"))
        if group is None:
            continue
        if group.id in seen:
            plan.problem(path, f"the group '{group.display_name}' is also group_bindings[{seen[group.id]}]")
            continue
        seen[group.id] = index
        after = binding_doc(group.display_name, roles)
        payload = GrantPayload(group.id, tuple(roles), current=_current(current.get(group.id)))
        changes += compare("group_binding", group.display_name, current.get(group.id), after, payload)
    if plan.prune:
        for bound in plan.state.bindings:
            if bound.group.id not in seen:
                payload = GrantPayload(bound.group.id, ())
                changes.append(ObjectChange("group_binding", bound.group.display_name, "delete", payload=payload))
    return changes


def grant_changes(plan: PlanContext, given: list[UserGrant]) -> list[ObjectChange]:
    """The ``user_grants`` section against the roles and boundaries an administrator granted (never a Super
    Admin's: they hold every permission)."""
    found = config_state.users_named(plan.connection, [grant.userName for grant in given])
    current: dict[str, Doc] = {}
    docs = iter(plan.state.data["user_grants"])
    for grants in plan.state.grants:
        if not grants.user.super_admin:
            current[grants.user.id] = next(docs)
    changes: list[ObjectChange] = []
    seen: set[str] = set()
    for index, grant in enumerate(given):
        path: Path = ("user_grants", index)
        user: UserRef | None = found.get(grant.userName.lower())
        roles = _grants(plan, grant.roles, (*path, "roles"))
        boundaries = plan.names("policy", grant.boundaries, (*path, "boundaries"))
        if user is None:
            plan.problem(
                (*path, "userName"),
                f"there is no user '{grant.userName}' (users are provisioned by SCIM or invited; a file grants "
                "them roles, never creates them)",
            )
            continue
        if user.super_admin:
            plan.problem(
                (*path, "userName"),
                f"{user.user_name} is a Super Admin account: it holds every permission, and roles and boundaries "
                "do not apply to it",
            )
            continue
        seen.add(user.id)
        after = grant_doc(user.user_name, roles, boundaries)
        payload = GrantPayload(user.id, tuple(roles), tuple(boundaries), _current(current.get(user.id)))
        changes += compare("user_grant", user.user_name, current.get(user.id), after, payload)
    if plan.prune:
        for grants in plan.state.grants:
            if grants.user.id not in seen and not grants.user.super_admin:
                payload = GrantPayload(grants.user.id, ())
                changes.append(ObjectChange("user_grant", grants.user.user_name, "delete", payload=payload))
    return changes


def _grants(plan: PlanContext, given: Sequence[Any], path: Path) -> list[Grant]:
    """Grants (roles by name, each until when), resolved: a problem for each role that is none or is built in,
    or whose expiry has no time zone or is more than ten years away; a past expiry grants nothing."""
    found: list[Grant] = []
    for index, (name, until) in enumerate(grant_names(list(given))):
        at: Path = (*path, index) if until is None else (*path, index, "role")
        names = plan.names("role", [name], at, built_in_ok=False, index=False)
        if until is not None:
            if until.tzinfo is None:
                plan.problem((*path, index, "expires"), "give a time zone, e.g. 2026-12-31T18:00:00Z")
                continue
            if until - plan.now > LONGEST:  # aware arithmetic: never astimezone's overflow (year 9999 at -05:00)
                plan.problem((*path, index, "expires"), "at most ten years from now")
                continue
            if until <= plan.now:
                continue  # expired: it grants nothing, so the plan gives nothing
            until = until.astimezone(UTC)
        found += [(final, until) for final in names]
    return found


def _current(doc: Doc | None) -> frozenset[Grant]:
    """The grants of an exported binding or user (``roles`` items: a name, or ``{role, expires}``)."""
    items = [] if doc is None else doc["roles"]
    return frozenset(
        (item, None) if isinstance(item, str) else (item["role"], datetime.fromisoformat(item["expires"]))
        for item in items
    )


def _group(
    plan: PlanContext,
    display_name: str | None,
    external_id: str | None,
    named: Mapping[str, GroupRef],
    external: Mapping[str, list[GroupRef]],
    path: Path,
) -> GroupRef | None:
    if display_name is not None:
        group = named.get(display_name.lower())
        if group is None:
            plan.problem(
                (*path, "displayName"),
                f"there is no group named '{display_name}' (groups are provisioned by SCIM; a file binds roles to "
                "them, never creates them)",
            )
        return group
    found = external.get(external_id or "", [])
    if not found:
        plan.problem((*path, "externalId"), f"there is no group with the externalId '{external_id}'")
        return None
    if len(found) > 1:
        names = ", ".join(f"'{group.display_name}'" for group in found)
        plan.problem(
            (*path, "externalId"), f"{len(found)} groups have this externalId ({names}): name one by displayName"
        )
        return None
    return found[0]
