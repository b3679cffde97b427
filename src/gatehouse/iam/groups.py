"""SCIM groups as administrators see them: the list with the roles bound to each, and a group's page.

Groups come from the identity provider; here they are only read, and bound to roles by the use cases of
:mod:`gatehouse.iam.roles`. Reading needs ``iam:GetGroupBinding`` on ``group/*`` (the list) or on the group;
a group's members are shown to those who may read users (``iam:GetUser``). No commit, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gatehouse.errors import Forbidden, existing
from gatehouse.iam.authorizer import Principal, allowed
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.iam.roles import list_roles, roles_of_group
from gatehouse.store import group_directory
from gatehouse.store.database import Connection
from gatehouse.store.group_directory import GroupPage, GroupSummary
from gatehouse.store.records import Reference
from gatehouse.store.roles import StoredRole

READ = "iam:GetGroupBinding"
MAX_SEARCH = group_directory.MAX_SEARCH
"""The longest search taken."""
PAGE_SIZE = group_directory.PAGE_SIZE
"""Groups per page, unless asked otherwise."""


@dataclass(frozen=True, slots=True)
class GroupListing:
    """A page of groups and the roles bound to those whose bindings the principal may see."""

    result: GroupPage
    roles: Mapping[str, list[Reference]]

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when none)."""
        return self.result.first

    @property
    def last(self) -> int:
        """1-based position of the last row shown (0 when none)."""
        return self.result.last


def list_groups(
    connection: Connection,
    principal: Principal,
    search: str = "",
    page: int = 1,
    per_page: int = 0,
    cursor: str = "",
) -> GroupListing:
    """A page of the groups, each with its bound roles where the principal may see them: by display name, or
    with a ``search``, those whose display name holds it (any case, any accent; a prefix for a term of one or
    two characters), by relevance, the page ``cursor`` names. Refused without ``iam:GetGroupBinding`` on
    ``group/*``."""
    if not allowed(principal, READ, resource_name("group", ANY_ID)):
        raise Forbidden("You are not allowed to view groups and their roles (iam:GetGroupBinding).")
    size = per_page or group_directory.PAGE_SIZE
    result = group_directory.list_groups(connection, search, page, size, cursor)
    visible = [row.id for row in result.rows if allowed(principal, READ, resource_name("group", row.id))]
    return GroupListing(result, group_directory.bound_roles(connection, visible))


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group's page: the group, its bound roles, the roles it could still be bound to, and what the
    principal may do there."""

    group: GroupSummary
    roles: list[StoredRole]
    bindable: list[StoredRole]
    may_bind: bool
    may_see_members: bool


def view_group(connection: Connection, principal: Principal, group_id: str) -> GroupView:
    """A group's page (``iam:GetGroupBinding`` on the group); :class:`NotFound` for an unknown group."""
    bound = roles_of_group(connection, principal, group_id)
    summary = existing(
        group_directory.group_summary(connection, group_id),
        "There is no such group. It may have been deleted by the identity provider.",
    )
    may_bind = allowed(principal, "iam:UpdateGroupBinding", resource_name("group", group_id))
    bindable: list[StoredRole] = []
    if may_bind:
        taken = {role.id for role in bound}
        bindable = [r for r in list_roles(connection, principal) if not r.built_in and r.id not in taken]
    may_see_members = allowed(principal, "iam:GetUser", resource_name("user", ANY_ID))
    return GroupView(summary, bound, bindable, may_bind, may_see_members)
