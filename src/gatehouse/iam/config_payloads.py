"""What applying a planned change needs (:mod:`gatehouse.iam.config_apply`): the payload of each change, by kind
of object, as a plan (:mod:`gatehouse.iam.config_plan`) leaves it on the change
(:attr:`~gatehouse.iam.config_changes.ObjectChange.payload`). Pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatehouse.iam.config_export import Grant
from gatehouse.iam.gateway_rules import Rule
from gatehouse.iam.rbac_forms import PolicyInput, RoleInput
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.saml import SamlSettings


@dataclass(frozen=True)
class PolicyPayload:
    form: PolicyInput
    id: str | None


@dataclass(frozen=True)
class RolePayload:
    form: RoleInput
    policies: tuple[str, ...]
    """The names of its policies (their ids are known once the plan's new policies exist)."""
    id: str | None
    requestable: tuple[int, int] | None = None
    """(max_minutes, answer_within_minutes) when users may request the role."""


@dataclass(frozen=True)
class GrantPayload:
    target_id: str
    """The group's or the user's id."""
    roles: tuple[Grant, ...]
    """Each role by name, with until when it is held."""
    boundaries: tuple[str, ...] = ()
    current: frozenset[Grant] = frozenset()
    """The grants as they are (unexpired): a grant of ``roles`` not among them is given (again) with its expiry."""


@dataclass(frozen=True)
class OptionPayload:
    """A login option to create or update: its fields (``rules`` with targets by name) and where its secret is."""

    id: str | None
    """The stored option's id (update, delete), or the id the new option keeps (from an export), or ``None``."""
    kind: str
    name: str
    enabled: bool
    scim_only: bool | None
    env: str | None
    """The environment variable of its secret (``None``: the stored one is kept, or there is none)."""
    fields: Mapping[str, Any]
    """The OIDC fields (issuer, client_id, scopes as text, the claims, end_session)."""
    settings: LdapSettings | SamlSettings | None
    rules: tuple[tuple[str, str, str, str, str], ...]
    """(kind, target name, attribute, operation, value) of each mapping rule."""


@dataclass(frozen=True)
class TablePayload:
    rules: tuple[Rule, ...]
    current: tuple[str, ...]
    """The ids of the stored rules, in order."""
