"""The changes a configuration plan lists, object by object: what each object is, whether it is created, updated
(with the fields that change, before and after) or deleted, and how a plan reads in a terminal and as JSON.
Pure: no I/O.

The terminal form follows Terraform's: ``+`` create, ``~`` update, ``-`` delete, one object a line, the fields
that change under it (lists of names as ``+ added`` / ``- removed``, labels key by key, policy documents as a
diff of their JSON), then the counts.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

Action = Literal["create", "update", "delete"]
ACTIONS: Final[tuple[Action, ...]] = ("create", "update", "delete")
SIGNS: Final[Mapping[Action, str]] = {"create": "+", "update": "~", "delete": "-"}
NOUNS: Final[Mapping[str, str]] = {
    "permission_policy": "permission policy",
    "role": "role",
    "group_binding": "roles of group",
    "user_grant": "grants of user",
    "password_sign_in": "password sign-in",
    "login_option": "login option",
    "scim_settings": "SCIM provisioning",
    "scim_token": "SCIM token",
    "authz_preset": "forward-auth preset",
    "authz_rules": "forward-auth rule table",
    "resource_labels": "labels of",
}
"""How each kind of object is called in a plan."""
NESTED: Final = frozenset({"ldap", "saml"})
"""Fields whose own fields are compared one by one (``ldap.host``)."""
_NAME_LISTS: Final = frozenset({"policies", "roles", "boundaries", "scopes", "methods"})
_DIFF_LINES: Final = 60


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of an object that changes."""

    field: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ObjectChange:
    """One object a plan creates, updates or deletes. ``payload`` is what applying it needs (never shown)."""

    kind: str
    name: str
    action: Action
    fields: tuple[FieldChange, ...] = ()
    notes: tuple[str, ...] = ()
    payload: Any = field(default=None, compare=False, repr=False)

    @property
    def subject(self) -> str:
        """``role 'Dev editors'``, ``forward-auth rule table``."""
        noun = NOUNS.get(self.kind, self.kind)
        return f"{noun} '{self.name}'" if self.name else noun

    def changed(self, name: str) -> FieldChange | None:
        """The change of field ``name``, if it changes."""
        return next((found for found in self.fields if found.field == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "fields": [change.as_dict() for change in self.fields],
            "notes": list(self.notes),
        }


def field_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], ignore: Iterable[str] = ()
) -> tuple[FieldChange, ...]:
    """The fields whose values differ, in ``after``'s order then ``before``'s (``ldap`` and ``saml`` field by field)."""
    skipped = set(ignore)
    changes: list[FieldChange] = []
    for key in [*after, *(key for key in before if key not in after)]:
        if key in skipped:
            continue
        old, new = before.get(key), after.get(key)
        if key in NESTED and isinstance(old, Mapping) and isinstance(new, Mapping):
            changes.extend(
                FieldChange(f"{key}.{change.field}", change.before, change.after) for change in field_changes(old, new)
            )
        elif old != new:
            changes.append(FieldChange(key, old, new))
    return tuple(changes)


def counts(changes: Sequence[ObjectChange]) -> dict[str, int]:
    return {action: sum(1 for change in changes if change.action == action) for action in ACTIONS}


def summary_text(changes: Sequence[ObjectChange]) -> str:
    found = counts(changes)
    if not any(found.values()):
        return "No changes: Gatehouse's configuration matches the file."
    return f"{found['create']} to create, {found['update']} to update, {found['delete']} to delete."


# ------------------------------------------------------------------------------------------ the terminal form


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def _field_lines(change: FieldChange) -> list[str]:
    name, before, after = change.field, change.before, change.after
    leaf = name.rsplit(".", 1)[-1]
    if leaf in _NAME_LISTS and isinstance(before, list | type(None)) and isinstance(after, list | type(None)):
        old_items: list[Any] = before or []
        new_items: list[Any] = after or []
        old, new = old_items, new_items
        added = [f"+ {_show(item)}" for item in new if item not in old]
        removed = [f"- {_show(item)}" for item in old if item not in new]
        moved = [] if added or removed else [f"order: {_show(old)} → {_show(new)}"]
        return [f"{name}: {', '.join([*added, *removed, *moved])}"]
    if leaf == "labels" and isinstance(before, dict | type(None)) and isinstance(after, dict | type(None)):
        old_labels: dict[str, Any] = before or {}
        new_labels: dict[str, Any] = after or {}
        old, new = old_labels, new_labels  # type: ignore[assignment]
        parts = [f"+ {key}={new[key]!r}" for key in new if key not in old]
        parts += [f"{key}: {old[key]!r} → {new[key]!r}" for key in new if key in old and old[key] != new[key]]
        parts += [f"- {key}" for key in old if key not in new]
        return [f"{name}: {', '.join(parts)}"]
    if isinstance(before, dict | list) and isinstance(after, dict | list):
        old_lines = json.dumps(before, indent=2, ensure_ascii=False).splitlines()
        new_lines = json.dumps(after, indent=2, ensure_ascii=False).splitlines()
        diff = list(difflib.unified_diff(old_lines, new_lines, lineterm="", n=1))[2:]
        shown = diff[:_DIFF_LINES] + ([f"… {len(diff) - _DIFF_LINES} more lines"] if len(diff) > _DIFF_LINES else [])
        return [f"{name}:", *(f"  {line}" for line in shown)]
    return [f"{name}: {_show(before)} → {_show(after)}"]


def text(plan_id: str, prune: bool, changes: Sequence[ObjectChange]) -> str:
    """A plan as a terminal shows it (see the module)."""
    lines = [f"Plan {plan_id} (--prune {'on' if prune else 'off'})", ""]
    for change in changes:
        lines.append(f"  {SIGNS[change.action]} {change.subject}")
        if change.action == "update":
            for found in change.fields:
                lines.extend(f"      {line}" for line in _field_lines(found))
        for note in change.notes:
            lines.append(f"      ({note})")
    if changes:
        lines.append("")
    lines.append(summary_text(changes))
    return "\n".join(lines) + "\n"


def as_json(plan_id: str, prune: bool, sections: Iterable[str], changes: Sequence[ObjectChange]) -> dict[str, Any]:
    """A plan as JSON (``gatehouse config plan --json``, ``POST /api/config/plan``)."""
    return {
        "plan_id": plan_id,
        "prune": prune,
        "sections": list(sections),
        "changed": bool(changes),
        "summary": counts(changes),
        "changes": [change.as_dict() for change in changes],
    }
