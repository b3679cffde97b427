"""The RFC 7644 §3.5.2 PATCH engine over one resource document (a plain dict).

``DocumentPatch`` applies normalised operations, one target at a time, to a private copy of the
document; the caller re-validates the result. Semantics (RFC 7644 §3.5.2.1-3):

- ``add`` on a single-valued attribute replaces it; on a multi-valued one it appends the entries not
  already there; on a complex one it sets the given sub-attributes and keeps the others.
- ``replace`` on a missing attribute adds it; on a multi-valued attribute without a filter it replaces
  all entries; with a filter it replaces each matching entry (or one sub-attribute of each).
- an ``add``/``replace`` whose filter matches nothing creates the entry the filter describes when it is
  ``eq`` comparisons joined by ``and`` (Entra ID's ``emails[type eq "work"].value``); otherwise noTarget.
- ``remove`` of a filter matching nothing is noTarget; removing an absent attribute changes nothing.
- a null value in an ``add``/``replace`` unassigns its target (RFC 7643 §2.5).
- setting ``primary`` true on an entry clears it on the others (RFC 7643 §2.4).
- read-only targets are a mutability error, and so is removing a required attribute (RFC 7643 §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import InvalidInput, Mutability, NoTarget
from gatehouse.json_types import json_type
from gatehouse.scim.attributes import READ_ONLY, AttributeDef, ResourceDef, SchemaDef
from gatehouse.scim.patch_path import Target, described_entry, matches

_JSON_TYPES = {"boolean": "a boolean", "integer": "an integer", "decimal": "a number", "complex": "an object"}


@dataclass(frozen=True, slots=True)
class Operation:
    """One PATCH operation after the quirk normalisations: ``op`` is lower-case, ``path`` None if absent."""

    index: int
    op: str
    path: str | None
    value: Any = None
    has_value: bool = False

    @property
    def label(self) -> str:
        """How error details name the operation, e.g. ``Operations[2] (replace 'name.givenName')``."""
        where = f" {self.path!r}" if self.path is not None else " without path"
        return f"Operations[{self.index}] ({self.op}{where})"


class DocumentPatch:
    """Applies PATCH operations to a copy of a resource document; the input is never mutated."""

    def __init__(self, resource: ResourceDef, doc: Mapping[str, Any]) -> None:
        self.resource = resource
        self.doc: dict[str, Any] = _clone(dict(doc))
        self.touched: dict[str, int] = {}
        """The top-level key (attribute name or extension URN) each operation last changed."""

    def apply(self, op: Operation, target: Target, value: Any) -> None:
        """Apply ``op`` (add, remove or replace) at ``target`` with ``value``."""
        _check_mutability(op.op, target, value)
        attribute = target.attribute
        core = target.schema is self.resource.core
        self.touched[attribute.name if core and attribute is not None else target.schema.urn] = op.index
        if attribute is None:
            self._apply_block(op, target, value)
        elif op.op == "remove":
            self._remove(target, attribute, strict=True)
        elif value is None:
            self._remove(target, attribute, strict=False)
        else:
            self._write(op.op, target, attribute, value)

    def _container(self, schema: SchemaDef) -> dict[str, Any] | None:
        """The object holding ``schema``'s attributes: the document, or an extension block if any."""
        if schema is self.resource.core:
            return self.doc
        block = self.doc.get(schema.urn)
        return block if isinstance(block, dict) else None

    def _writable_container(self, schema: SchemaDef) -> dict[str, Any]:
        """The object holding ``schema``'s attributes, creating an absent extension block."""
        container = self._container(schema)
        if container is None:
            container = self.doc[schema.urn] = {}
        return container

    def _apply_block(self, op: Operation, target: Target, value: Any) -> None:
        """An operation on a whole extension block (path = its URN, RFC 7644 §3.5.2)."""
        if op.op == "remove" or value is None:
            self.doc.pop(target.schema.urn, None)
            return
        if not isinstance(value, dict):
            raise InvalidInput(f"The value for {target.schema.urn!r} must be an object of its attributes.")
        for key, item in value.items():
            attribute = target.schema.attribute(key)
            if attribute is not None and attribute.mutability != READ_ONLY:
                self.apply(op, Target(key, target.schema, attribute), item)

    def _write(self, kind: str, target: Target, attribute: AttributeDef, value: Any) -> None:
        container = self._writable_container(target.schema)
        if target.value_filter is not None:
            _write_selected(kind, container, target, attribute, value)
        elif target.sub_attribute is not None:
            _write_sub_attribute(container, attribute, target.sub_attribute, value)
        elif attribute.multi_valued:
            _write_values(kind, container, attribute, value)
        elif attribute.is_complex:
            container[attribute.name] = _merged(container.get(attribute.name), attribute, value, attribute.name)
        else:
            container[attribute.name] = _checked(attribute, value, attribute.name)

    def _remove(self, target: Target, attribute: AttributeDef, strict: bool) -> None:
        """remove (RFC 7644 §3.5.2.2), or an add/replace with a null value (``strict`` False)."""
        container = self._container(target.schema) or {}
        if target.value_filter is not None:
            entries = _entries(container, attribute)
            selected = [entry for entry in entries if matches(target.value_filter, entry, attribute)]
            if selected:
                _remove_selected(container, attribute, target.sub_attribute, entries, selected)
            elif strict:
                raise NoTarget(f"No value of '{attribute.name}' matches the filter of {target.text!r}.")
        elif target.sub_attribute is not None:
            for entry in _entries(container, attribute):
                entry.pop(target.sub_attribute.name, None)
        else:
            container.pop(attribute.name, None)


def _write_selected(kind: str, container: dict[str, Any], target: Target, attribute: AttributeDef, value: Any) -> None:
    """add/replace at ``attr[filter]`` or ``attr[filter].sub`` (RFC 7644 §3.5.2.1, §3.5.2.3)."""
    value_filter = target.value_filter
    if value_filter is None:
        return
    entries = _entries(container, attribute)
    selected = [entry for entry in entries if matches(value_filter, entry, attribute)]
    created = not selected
    if created:
        entry = described_entry(value_filter, attribute) if attribute.multi_valued else None
        if entry is None:
            raise NoTarget(f"No value of '{attribute.name}' matches the filter of {target.text!r}.")
        entries.append(entry)
        container[attribute.name] = entries
        selected = [entry]
    sub = target.sub_attribute
    for entry in selected:
        if sub is not None:
            entry[sub.name] = _checked(sub, value, f"{attribute.name}.{sub.name}")
        else:
            base = {} if kind == "replace" and not created else entry
            merged = _merged(base, attribute, value, attribute.name)
            entry.clear()
            entry.update(merged)
    _settle_primary(entries, selected)


def _check_mutability(kind: str, target: Target, value: Any) -> None:
    """Refuse changes to read-only attributes and removals of required ones (RFC 7643 §2.2, §7)."""
    attribute = target.attribute
    if attribute is None:
        return
    sub = target.sub_attribute
    if attribute.mutability == READ_ONLY or (sub is not None and sub.mutability == READ_ONLY):
        name = attribute.name if sub is None else f"{attribute.name}.{sub.name}"
        raise Mutability(f"'{name}' is read-only and cannot be changed (RFC 7643 §7).")
    whole = sub is None and target.value_filter is None
    if attribute.required and whole and (kind == "remove" or value is None):
        raise Mutability(f"'{attribute.name}' is required and cannot be removed (RFC 7643 §7).")


def _entries(container: dict[str, Any], attribute: AttributeDef) -> list[dict[str, Any]]:
    """The entries a filter selects from: a multi-valued attribute's, or a single complex value."""
    current = container.get(attribute.name)
    if attribute.multi_valued:
        return [entry for entry in current if isinstance(entry, dict)] if isinstance(current, list) else []
    return [current] if isinstance(current, dict) else []


def _remove_selected(
    container: dict[str, Any],
    attribute: AttributeDef,
    sub: AttributeDef | None,
    entries: list[dict[str, Any]],
    selected: list[dict[str, Any]],
) -> None:
    if sub is not None:
        for entry in selected:
            entry.pop(sub.name, None)
    elif attribute.multi_valued:
        container[attribute.name] = [entry for entry in entries if not _contains(selected, entry)]
    else:
        container.pop(attribute.name, None)


def _contains(entries: list[dict[str, Any]], entry: dict[str, Any]) -> bool:
    return any(candidate is entry for candidate in entries)


def _write_sub_attribute(container: dict[str, Any], attribute: AttributeDef, sub: AttributeDef, value: Any) -> None:
    """``name.givenName``, or ``emails.type`` (then every entry, or one new entry if there is none)."""
    checked = _checked(sub, value, f"{attribute.name}.{sub.name}")
    if not attribute.multi_valued:
        current = container.get(attribute.name)
        container[attribute.name] = {**(current if isinstance(current, dict) else {}), sub.name: checked}
        return
    entries = _entries(container, attribute)
    if not entries:
        entries.append({})
    for entry in entries:
        entry[sub.name] = checked
    container[attribute.name] = entries


def _write_values(kind: str, container: dict[str, Any], attribute: AttributeDef, value: Any) -> None:
    """add (append what is new) or replace (all) the entries of a multi-valued attribute."""
    items = value if isinstance(value, list) else [value]
    new: list[Any] = []
    for index, item in enumerate(items):
        entry = _new_entry(attribute, item, f"{attribute.name}[{index}]")
        if entry not in (None, {}, "") and entry not in new:
            new.append(entry)
    current = container.get(attribute.name) if kind == "add" else None
    entries = list(current) if isinstance(current, list) else []
    added = [entry for entry in new if entry not in entries]
    entries.extend(added)
    container[attribute.name] = entries
    _settle_primary(entries, added)


def _new_entry(attribute: AttributeDef, item: Any, where: str) -> Any:
    if attribute.is_complex:
        return {key: sub for key, sub in _complex_value(attribute, item, where).items() if sub is not None}
    return None if item is None else _checked(attribute, item, where)


def _merged(existing: Any, attribute: AttributeDef, value: Any, where: str) -> dict[str, Any]:
    """Set the given sub-attributes of a complex value, keep the others; null unassigns one."""
    merged = dict(existing) if isinstance(existing, dict) else {}
    for name, sub in _complex_value(attribute, value, where).items():
        if sub is None:
            merged.pop(name, None)
        else:
            merged[name] = sub
    return merged


def _complex_value(attribute: AttributeDef, value: Any, where: str) -> dict[str, Any]:
    """A complex value with canonical sub-attribute names; unknown and read-only ones are ignored."""
    if not isinstance(value, dict):
        raise InvalidInput(f"'{where}' must be an object of sub-attributes of '{attribute.name}'.")
    result: dict[str, Any] = {}
    for key, item in value.items():
        sub = attribute.sub_attribute(key)
        if sub is not None and sub.mutability != READ_ONLY:
            result[sub.name] = None if item is None else _checked(sub, item, f"{where}.{sub.name}")
    return result


def _checked(attribute: AttributeDef, value: Any, where: str) -> Any:
    """``value`` if its JSON type suits ``attribute`` (RFC 7643 §2.3), else invalidValue."""
    if attribute.is_complex:
        return _new_entry(attribute, value, where)
    kind = attribute.type
    if kind == "boolean":
        valid = isinstance(value, bool)
    elif kind == "integer":
        valid = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "decimal":
        valid = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        valid = isinstance(value, str)
    if not valid:
        raise InvalidInput(f"'{where}' must be {_JSON_TYPES.get(kind, 'a string')}, not {json_type(value)}.")
    return value


def _settle_primary(entries: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    """Keep one ``primary`` true per attribute: the entry this operation set wins (RFC 7643 §2.4)."""
    winners = [entry for entry in changed if isinstance(entry, dict) and entry.get("primary") is True]
    if not winners:
        return
    keep = winners[-1]
    for entry in entries:
        if entry is not keep and isinstance(entry, dict) and entry.get("primary") is True:
            entry["primary"] = False


def _clone(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists and scalars)."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    return value
