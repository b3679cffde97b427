"""A plan's permission policies and roles (:mod:`gatehouse.iam.config_plan`): each one the file gives, checked as
the dashboard checks it and compared with the stored one by name; with ``prune``, the stored ones the file leaves
out are deleted (never the built-in Super Admin role and policy). Reads only.
"""

from __future__ import annotations

from gatehouse.errors import InvalidInput
from gatehouse.iam.access_requests import MAX_ANSWER_MINUTES, MAX_MINUTES
from gatehouse.iam.config_changes import ObjectChange
from gatehouse.iam.config_diff import PlanContext, compare, parts
from gatehouse.iam.config_export import policy_doc, role_doc
from gatehouse.iam.config_file import Path
from gatehouse.iam.config_model import PermissionPolicy, Role, fold
from gatehouse.iam.config_payloads import PolicyPayload, RolePayload
from gatehouse.iam.policy import PolicyError
from gatehouse.iam.rbac_forms import policy_input, role_input


def policy_changes(plan: PlanContext, policies: list[PermissionPolicy]) -> list[ObjectChange]:
    """The ``permission_policies`` section against the stored policies."""
    stored = {fold(p.name): p for p in plan.state.policies if not p.built_in}
    current = {fold(doc["name"]): doc for doc in plan.state.data["permission_policies"]}
    changes: list[ObjectChange] = []
    seen: set[str] = set()
    for index, given in enumerate(policies):
        path: Path = ("permission_policies", index)
        if plan.policies.built_in(given.name):
            continue
        try:
            form = policy_input(given.name, given.document, given.description, given.labels)
        except PolicyError as exc:
            plan.problem((*path, "document", *parts(exc.location)), exc.reason)
            continue
        except InvalidInput as exc:
            plan.refused(path, exc)
            continue
        key = fold(form.name)
        seen.add(key)
        after = policy_doc(form.name, form.description, form.labels, form.document.as_dict())
        existing = stored.get(key)
        payload = PolicyPayload(form, existing.id if existing else None)
        changes += compare("permission_policy", form.name, current.get(key), after, payload)
    if plan.prune:
        for key, policy in stored.items():
            if key not in seen and key in plan.policies.deleted:
                changes.append(ObjectChange("permission_policy", policy.name, "delete", payload=policy.id))
    return changes


def role_changes(plan: PlanContext, roles: list[Role]) -> list[ObjectChange]:
    """The ``roles`` section against the stored roles (their policies by name, whether users may request them)."""
    stored = {fold(r.name): r for r in plan.state.roles if not r.built_in}
    current = {fold(doc["name"]): doc for doc in plan.state.data["roles"]}
    changes: list[ObjectChange] = []
    for index, given in enumerate(roles):
        path: Path = ("roles", index)
        if plan.roles.built_in(given.name):
            continue
        try:
            form = role_input(given.name, given.description, given.labels)
        except InvalidInput as exc:
            plan.refused(path, exc)
            continue
        policies = plan.names("policy", given.policies, (*path, "policies"))
        requestable = None
        if given.requestable is not None:
            requestable = (given.requestable.max_minutes, given.requestable.answer_within_minutes)
            _check_requestable(plan, requestable, (*path, "requestable"))
        key = fold(form.name)
        after = role_doc(form.name, form.description, form.labels, policies, requestable)
        existing = stored.get(key)
        payload = RolePayload(form, tuple(policies), existing.id if existing else None, requestable)
        changes += compare("role", form.name, current.get(key), after, payload)
    if plan.prune:
        for key, role in stored.items():
            if key in plan.roles.deleted:
                changes.append(ObjectChange("role", role.name, "delete", payload=role.id))
    return changes


def _check_requestable(plan: PlanContext, requestable: tuple[int, int], path: Path) -> None:
    most, wait = requestable
    if most > MAX_MINUTES:
        plan.problem((*path, "max_minutes"), f"at most {MAX_MINUTES} minutes ({MAX_MINUTES // 1440} days)")
    if wait > MAX_ANSWER_MINUTES:
        message = f"at most {MAX_ANSWER_MINUTES} minutes ({MAX_ANSWER_MINUTES // 1440} days)"
        plan.problem((*path, "answer_within_minutes"), message)
