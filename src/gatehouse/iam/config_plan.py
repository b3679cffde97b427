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

This module assembles the plan and checks what its deletions leave; each section's objects are compared by a
diff of their own (:mod:`~gatehouse.iam.config_diff_rbac`, :mod:`~gatehouse.iam.config_diff_grants`,
:mod:`~gatehouse.iam.config_diff_login`, :mod:`~gatehouse.iam.config_diff_scim`,
:mod:`~gatehouse.iam.config_diff_gateway`) over what they share (:mod:`~gatehouse.iam.config_diff`); what each
change carries for applying is in :mod:`~gatehouse.iam.config_payloads`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gatehouse.iam import config_changes
from gatehouse.iam.authorizer import Principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.config_changes import ObjectChange
from gatehouse.iam.config_diff import PlanContext
from gatehouse.iam.config_diff_gateway import gateway_changes
from gatehouse.iam.config_diff_grants import binding_changes, grant_changes
from gatehouse.iam.config_diff_login import login_changes
from gatehouse.iam.config_diff_rbac import policy_changes, role_changes
from gatehouse.iam.config_diff_scim import scim_changes
from gatehouse.iam.config_export import EXPORT_ACTION, State, by_name, read_state
from gatehouse.iam.config_file import ConfigError, Locator, Path
from gatehouse.iam.config_model import SECTIONS, ConfigFile, sections_given
from gatehouse.store import config_state
from gatehouse.store.database import Connection


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

_DIFFS: Final[tuple[tuple[str, Callable[[PlanContext, Any], list[ObjectChange]]], ...]] = (
    ("permission_policies", policy_changes),
    ("roles", role_changes),
    ("group_bindings", binding_changes),
    ("user_grants", grant_changes),
    ("login", login_changes),
    ("scim", scim_changes),
    ("gateway", gateway_changes),
)
"""Each section the file may give, with the diff that compares it (given the section; one the file leaves out is
not compared), in the order a plan lists them."""


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
    context = PlanContext(connection, state, model, where, prune)
    changes = _changes(context)
    if context.problems:
        raise ConfigError(context.problems, source)
    return Plan(state.plan_id, prune, sections_given(model), tuple(changes), state)


def _changes(context: PlanContext) -> list[ObjectChange]:
    model = context.model
    # names first: what each section refers to is what the file gives and what Gatehouse keeps
    if model.permission_policies is not None:
        context.declare(context.policies, [p.name for p in model.permission_policies], "permission_policies")
    if model.roles is not None:
        context.declare(context.roles, [r.name for r in model.roles], "roles")
    changes: list[ObjectChange] = []
    for section, diff in _DIFFS:
        given = getattr(model, section)
        if given is not None:
            changes += diff(context, given)
    _still_used(context, changes)
    return changes


# -- what the deletions leave ------------------------------------------------------------------------------------


def _still_used(context: PlanContext, changes: Sequence[ObjectChange]) -> None:
    """A role or policy the plan deletes must be used by nothing the plan leaves (see the module)."""
    state, connection = context.state, context.connection
    managed_users = context.model.user_grants is not None and context.prune
    managed_groups = context.model.group_bindings is not None and context.prune
    managed_roles = context.model.roles is not None and context.prune
    for change in changes:
        if change.action != "delete":
            continue
        if change.kind == "role":
            role_id = change.payload
            holders = [g.user.user_name for g in state.grants if role_id in g.role_ids]
            groups = [b.group.display_name for b in state.bindings if role_id in b.role_ids]
            uses = [
                *_unmanaged(holders, "user", managed_users, "assigned to", "user_grants section to remove that"),
                *_unmanaged(groups, "group", managed_groups, "bound to", "group_bindings section"),
                *_elsewhere(config_state.other_role_holders(connection, role_id), "held by",
                            "through SSO role mapping or an access request"),
            ]  # fmt: skip
            _in_use(context, ("roles",), "role", change.name, uses)
        elif change.kind == "permission_policy":
            policy_id = change.payload
            roles = [role.name for role in state.roles if policy_id in state.role_policies.get(role.id, [])]
            bounded = [g.user.user_name for g in state.grants if policy_id in g.policy_ids]
            uses = [
                *_unmanaged(roles, "role", managed_roles, "attached to", "roles section"),
                *_unmanaged(bounded, "user", managed_users, "the boundary of", "user_grants section"),
                *_elsewhere(config_state.other_boundary_holders(connection, policy_id), "the boundary of",
                            "through SSO role mapping"),
            ]  # fmt: skip
            _in_use(context, ("permission_policies",), "permission policy", change.name, uses)


def _unmanaged(names: Sequence[str], noun: str, managed: bool, how: str, section: str) -> list[str]:
    """A use by ``names`` that the file does not manage (``managed``: it gives the section, with ``prune``)."""
    return [f"{how} {_names(names, noun)}, and the file has no {section}"] if names and not managed else []


def _elsewhere(found: tuple[int, Sequence[str]], how: str, where: str) -> list[str]:
    """A use that no file manages: how many hold it (``found``: the count and some names) and where from."""
    count, names = found
    return [f"{how} {_names(names, total=count)} {where}"] if count else []


def _in_use(context: PlanContext, path: Path, noun: str, name: str, uses: list[str]) -> None:
    if uses:
        context.problem(
            path,
            f"{noun} '{name}' would be deleted (--prune, it is not in the file) but it is still "
            f"{'; and '.join(uses)}: it is not deleted until the same plan removes those",
        )


def _names(names: Sequence[str], noun: str = "user", total: int | None = None) -> str:
    count = len(names) if total is None else total
    shown = ", ".join(f"'{name}'" for name in by_name(names)[:5])
    more = f" and {count - min(len(names), 5)} more" if count > min(len(names), 5) else ""
    return f"{count} {noun}{'s' if count != 1 else ''} ({shown}{more})"
