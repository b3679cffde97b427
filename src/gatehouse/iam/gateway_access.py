"""Organization → Gateway access as an administrator manages it (dashboard, admin API, CLI): the forward-auth
rule table and the preset switch, permission-checked; and the table the forward-auth endpoint applies.

Reading the table is ``iam:GetAuthzRule``; adding, editing, ordering and deleting rules and switching the
preset are ``iam:UpdateAuthzRule``, both on the organization. Rules are checked when written
(:func:`~gatehouse.iam.gateway_rules.compile_rule`); the table the proxy's requests meet is the custom rules
in order, then the preset's when it is on (:func:`active_rules`), read on every request in any process.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import orjson

from gatehouse.errors import Conflict, GatehouseError, existing
from gatehouse.iam import gateway_preset
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal, allowed, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.gateway_rules import MAX_RULES, Rule, compile_rule
from gatehouse.store import authz_rules as store
from gatehouse.store import settings
from gatehouse.store.authz_rules import RuleWrite, StoredRule
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

log = logging.getLogger(__name__)

GET_ACTION: Final = "iam:GetAuthzRule"
UPDATE_ACTION: Final = "iam:UpdateAuthzRule"
RULE_CHANGE: Final = Change("iam:UpdateAuthzRule", "authz_rule")
"""The audit record of a rule's change (with ``about(rule id, ...)``)."""
PRESET: Final = Change("iam:UpdateAuthzRule", "authz_preset", gateway_preset.SETTING)

Direction = Literal["up", "down", "top", "bottom"]


@dataclass(frozen=True, slots=True)
class RuleView:
    """A custom rule as listed: compiled, with its place (0 first) and version."""

    rule: Rule
    position: int
    version: int
    created: datetime
    updated: datetime

    @property
    def id(self) -> str:
        assert self.rule.id is not None
        return self.rule.id


@dataclass(frozen=True, slots=True)
class RuleTable:
    """The whole table as the page shows it: the custom rules in order, the preset and its switch."""

    rules: list[RuleView]
    preset_enabled: bool
    preset_name: str = gateway_preset.NAME
    preset: tuple[Rule, ...] = gateway_preset.RULES
    may_update: bool = False


rule_input = compile_rule
"""Check a rule's fields before any transaction: :func:`~gatehouse.iam.gateway_rules.compile_rule`."""


def rule_write(rule: Rule) -> RuleWrite:
    """A checked rule as storage keeps it."""
    return RuleWrite(rule.methods, rule.path, rule.action, rule.resource, rule.query, rule.labels, rule.description)


@functools.lru_cache(maxsize=2048)
def _compiled(rule_id: str, version: int, fields: str) -> Rule:
    methods, path, action, resource, query, labels, description = orjson.loads(fields)
    return compile_rule(methods, path, action, resource, query, labels, description, rule_id)


def compiled(stored: StoredRule) -> Rule:
    """A stored rule, compiled (cached under its id, version and fields)."""
    fields = (
        stored.methods,
        stored.path,
        stored.action,
        stored.resource,
        stored.query,
        stored.labels,
        stored.description,
    )
    return _compiled(stored.id, stored.version, orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode())


def _view(stored: StoredRule, position: int) -> RuleView:
    return RuleView(compiled(stored), position, stored.version, stored.created, stored.updated)


# ------------------------------------------------------------------------------------------ reading


def may_update(principal: Principal) -> bool:
    """Whether the principal may change the table (to offer the buttons; the changes check again)."""
    return allowed(principal, UPDATE_ACTION, ORGANIZATION)


def require_update(principal: Principal) -> None:
    """:class:`~gatehouse.errors.Forbidden` unless the principal may change the table (before showing a form)."""
    require(principal, UPDATE_ACTION, ORGANIZATION)


def preset_enabled(connection: Connection) -> bool:
    """Whether the "API7 / APISIX admin API" preset applies (after the custom rules)."""
    return bool(settings.get(connection, gateway_preset.SETTING, False))


def rule_table(connection: Connection, principal: Principal) -> RuleTable:
    """The custom rules in order, the preset and whether it is on (``iam:GetAuthzRule``)."""
    require(principal, GET_ACTION, ORGANIZATION)
    rules = [_view(stored, position) for position, stored in enumerate(store.all_rules(connection))]
    return RuleTable(rules, preset_enabled(connection), may_update=may_update(principal))


def get_rule(connection: Connection, principal: Principal, rule_id: str) -> RuleView:
    """One custom rule (``iam:GetAuthzRule``), or :class:`NotFound`."""
    require(principal, GET_ACTION, ORGANIZATION)
    stored = existing(store.get(connection, rule_id[:36]), "There is no such rule. It may have been deleted.")
    position = store.index_of(connection, stored.id)
    return _view(stored, position or 0)


@dataclass(frozen=True, slots=True)
class ActiveRules:
    """What the forward-auth endpoint applies: the rules in order, and the stored rules that no longer
    compile (then every request is denied until they are fixed: failing closed)."""

    rules: tuple[Rule, ...]
    broken: tuple[str, ...] = ()


def active_rules(connection: Connection) -> ActiveRules:
    """The custom rules in order, then the preset's when it is on (no permission: the proxy's requests)."""
    rules: list[Rule] = []
    broken: list[str] = []
    for stored in store.all_rules(connection):
        try:
            rules.append(compiled(stored))
        except GatehouseError as exc:
            log.error("forward-auth rule %s no longer validates (%s): every request is denied", stored.id, exc)
            broken.append(stored.id)
    if preset_enabled(connection):
        rules.extend(gateway_preset.RULES)
    return ActiveRules(tuple(rules), tuple(broken))


# ------------------------------------------------------------------------------------------ changes


def create_rule(connection: Connection, principal: Principal, rule: Rule, index: int | None = None) -> RuleView:
    """Add a rule at ``index`` (0 first; ``None``: last) (``iam:UpdateAuthzRule``)."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    if store.count(connection) >= MAX_RULES:
        raise Conflict(f"The table has {MAX_RULES} rules already: delete one first.")
    stored = store.insert(connection, str(uuid.uuid4()), rule_write(rule), utcnow(), index)
    return _view(stored, store.index_of(connection, stored.id) or 0)


def update_rule(
    connection: Connection,
    principal: Principal,
    rule_id: str,
    rule: Rule,
    index: int | None = None,
    version: int | None = None,
) -> RuleView:
    """Replace a rule's fields, and move it to ``index`` if given (``iam:UpdateAuthzRule``); ``version``: the
    version it was read at (a change since is :class:`~gatehouse.errors.PreconditionFailed`)."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    stored = store.update(connection, rule_id[:36], rule_write(rule), utcnow(), version)
    if index is not None:
        stored = store.move(connection, stored.id, index)
    return _view(stored, store.index_of(connection, stored.id) or 0)


def move_rule(connection: Connection, principal: Principal, rule_id: str, direction: Direction) -> RuleView:
    """Move a rule one place up or down, or to the top or the bottom (``iam:UpdateAuthzRule``)."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    position = existing(store.index_of(connection, rule_id[:36]), "There is no such rule. It may have been deleted.")
    wanted = {"up": position - 1, "down": position + 1, "top": 0, "bottom": store.count(connection) - 1}[direction]
    stored = store.move(connection, rule_id[:36], wanted)
    return _view(stored, store.index_of(connection, stored.id) or 0)


def delete_rule(connection: Connection, principal: Principal, rule_id: str) -> RuleView:
    """Delete a rule (``iam:UpdateAuthzRule``); the rule deleted."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    position = store.index_of(connection, rule_id[:36])
    deleted = store.delete(connection, rule_id[:36])
    return _view(deleted, position or 0)


def set_preset(connection: Connection, principal: Principal, enabled: bool) -> bool:
    """Switch the preset on or off (``iam:UpdateAuthzRule``); whether it was on."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    was = preset_enabled(connection)
    settings.put(connection, gateway_preset.SETTING, bool(enabled))
    return was


def rule_summary(rule: Rule) -> dict[str, object]:
    """What the audit log keeps of a rule."""
    return {
        "methods": list(rule.methods),
        "path": rule.path,
        "query": dict(rule.query),
        "action": rule.action,
        "resource": rule.resource,
        "labels": {key: dict(values) for key, values in rule.labels.items()},
    }
