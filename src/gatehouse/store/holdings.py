"""Which roles the users of one page hold, and how (for the Users list's Roles column).

One query for the whole page: the roles assigned to the users (``user_roles``) and the roles bound to
the groups they are members of (``group_members`` ⋈ ``group_role_bindings``), restricted to the page's
user ids through the ``user_id`` indexes of both tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.tables import group_members, group_role_bindings, groups, roles, user_roles


@dataclass(frozen=True, slots=True)
class Holding:
    """One role of one user: ``via`` is the group's name when it comes through a group, else ``None``."""

    role_id: str
    role_name: str
    source: str
    via: str | None = None

    @property
    def label(self) -> str:
        """``Viewer``, ``Viewer (via SSO)``, ``Viewer (via group Ops)``."""
        if self.via is not None:
            return f"{self.role_name} (via group {self.via})"
        if self.source == "sso":
            return f"{self.role_name} (via SSO)"
        return self.role_name


def roles_of_users(connection: Connection, user_ids: Sequence[str]) -> dict[str, list[Holding]]:
    """Each user's roles, direct ones first, then by role name."""
    found: dict[str, list[Holding]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return found
    direct = (
        sa.select(
            user_roles.c.user_id,
            roles.c.id.label("role_id"),
            roles.c.name.label("role_name"),
            user_roles.c.source,
            sa.cast(sa.null(), sa.String()).label("via"),
        )
        .join(roles, roles.c.id == user_roles.c.role_id)
        .where(user_roles.c.user_id.in_(list(user_ids)))
    )
    through_groups = (
        sa.select(
            group_members.c.user_id,
            roles.c.id,
            roles.c.name,
            sa.literal_column("'group'", sa.String()),
            groups.c.display_name,
        )
        .select_from(
            group_members.join(group_role_bindings, group_role_bindings.c.group_id == group_members.c.group_id)
            .join(groups, groups.c.id == group_members.c.group_id)
            .join(roles, roles.c.id == group_role_bindings.c.role_id)
        )
        .where(group_members.c.user_id.in_(list(user_ids)))
    )
    rows = connection.execute(sa.union_all(direct, through_groups)).all()
    for row in sorted(rows, key=lambda r: (r.via is not None, r.role_name.lower(), (r.via or "").lower())):
        found[row.user_id].append(Holding(row.role_id, row.role_name, row.source, row.via))
    return found
