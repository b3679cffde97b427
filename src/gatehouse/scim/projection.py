"""``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5 and §3.9), applied to rendered resources.

Names are attribute paths resolved against the resource's attribute catalog (:mod:`gatehouse.scim.attributes`),
case-insensitively: ``userName``, ``name.givenName``, URN-qualified ``urn:…:User:manager.value``, the bare URN
of an extension (its whole block), an extension attribute by its short name (``manager``), and a value filter
on a multi-valued attribute, which real clients send although §3.10 does not list it:
``emails[type eq "work"]`` returns (or, excluded, removes) only the matching values, and
``emails[type eq "work"].value`` only that sub-attribute of them. Filters are evaluated over the values of
the one resource being rendered, with the operators of RFC 7644 §3.4.2.2 (:func:`gatehouse.scim.patch_path.matches`).

``id`` and ``schemas`` are always returned (RFC 7643 §3.1 ``returned: always``). An unknown attribute is
ignored, as RFC 7644 §3.4.2.5 lets a provider do; a value filter that cannot be honoured (unparseable, on an
attribute without sub-attributes, or comparing what is not a sub-attribute) is a 400 ``invalidFilter``, never
silently dropped. Nothing is done when neither parameter is given, which keeps the common path free of
JSON parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scim2_models.path import FilterNode

from gatehouse.errors import InvalidFilter, InvalidPath
from gatehouse.resources.schemas import GROUP_SCHEMA, USER_SCHEMA
from gatehouse.scim.attributes import GROUP, USER, AttributeDef, ResourceDef
from gatehouse.scim.patch_path import matches, resolve_path

ALWAYS = frozenset({"id", "schemas"})

_RESOURCES = {USER_SCHEMA.lower(): USER, GROUP_SCHEMA.lower(): GROUP}

MAX_NAMES = 100
"""Attribute names read from one ``attributes`` or ``excludedAttributes`` (each costs a parse)."""


@dataclass(frozen=True, slots=True)
class _Selector:
    """One resolved name: an attribute (or a whole extension block), maybe a sub-attribute, maybe a filter."""

    container: str | None  # the extension URN the attribute lives in, or None for the core schema
    attr: str | None  # the attribute's canonical name; None for the whole extension block
    sub: str | None = None  # the canonical sub-attribute name
    value_filter: FilterNode | None = None
    definition: AttributeDef | None = None

    @property
    def whole(self) -> bool:
        return self.sub is None and self.value_filter is None


def _known_attribute(text: str, resource: ResourceDef) -> bool:
    """Whether ``text`` starts with an attribute (or an extension URN) that the resource has."""
    lowered = text.lower()
    schema = resource.core
    rest = text
    for candidate in resource.schemas:
        urn = candidate.urn.lower()
        if lowered == urn:
            return candidate is not resource.core
        if lowered.startswith(urn + ":"):
            schema, rest = candidate, text[len(urn) + 1 :]
            break
    else:
        if lowered.startswith("urn:"):
            return False
    name = re.split(r"[.\[]", rest, maxsplit=1)[0].strip()
    return schema.attribute(name) is not None or (schema is resource.core and resource.find(name) is not None)


def _selector(raw: str, resource: ResourceDef) -> _Selector | None:
    """Resolve one name; ``None`` for an unknown attribute (ignored), 400 for a filter that cannot be honoured."""
    text = raw.strip()
    if not text:
        return None
    if not _known_attribute(text, resource):
        return None
    try:
        target = resolve_path(text, resource)
    except InvalidFilter as exc:
        raise InvalidFilter(f"Invalid attribute selection {_shown(text)}: {exc.detail}") from None
    except InvalidPath as exc:
        if "[" in text:
            raise InvalidFilter(f"Invalid attribute selection {_shown(text)}: {exc.detail}") from None
        return None  # e.g. a sub-attribute the attribute does not have: unknown, so ignored
    container = None if target.schema is resource.core else target.schema.urn
    if target.attribute is None:
        return _Selector(container, None)
    return _Selector(
        container,
        target.attribute.name,
        target.sub_attribute.name if target.sub_attribute else None,
        target.value_filter,
        target.attribute,
    )


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 200 else repr(text[:200] + "...")


def _lookup(mapping: dict[str, Any], name: str) -> str | None:
    """The key of ``mapping`` for ``name``: the canonical spelling first, else any case."""
    if name in mapping:
        return name
    lowered = name.lower()
    for key in mapping:
        if key.lower() == lowered:
            return key
    return None


@dataclass(frozen=True, slots=True)
class Projection:
    """The attribute selection of one request, resolved once against the resource's catalog.

    :raises InvalidFilter: a name holds a value filter that cannot be honoured.
    """

    core_schema: str
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    _selectors: tuple[_Selector, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        resource = _RESOURCES.get(self.core_schema.lower())
        names = (self.attributes or self.excluded)[:MAX_NAMES]
        found = [] if resource is None else [_selector(name, resource) for name in names]
        object.__setattr__(self, "_selectors", tuple(s for s in found if s is not None))

    @property
    def is_identity(self) -> bool:
        """Whether the resource is returned as is."""
        return not self.attributes and not self.excluded

    def includes(self, attribute: str) -> bool:
        """Whether a top-level core attribute (e.g. ``members``) will be returned, in whole or in part."""
        lowered = attribute.lower()
        if self.attributes:
            return any(s.container is None and (s.attr or "").lower() == lowered for s in self._selectors)
        return not any(s.container is None and (s.attr or "").lower() == lowered and s.whole for s in self._selectors)

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The resource reduced to the selection."""
        if self.attributes:
            return self._select(resource)
        if self.excluded:
            return self._exclude(resource)
        return resource

    def _found(self, resource: dict[str, Any]) -> Iterator[tuple[_Selector, str | None]]:
        """The selectors in order, each with the key of its extension block as ``resource`` spells it (``None``
        for a core attribute); one whose block the resource lacks, or holds as anything but an object, is
        passed over.
        ``resource`` is read as the loop goes: what the loop changed in it counts for the next selectors."""
        for selector in self._selectors:
            if selector.container is None:
                yield selector, None
                continue
            container_key = _lookup(resource, selector.container)
            if container_key is not None and isinstance(resource[container_key], dict):
                yield selector, container_key

    def _select(self, resource: dict[str, Any]) -> dict[str, Any]:
        masks: dict[tuple[str | None, str], Any] = {}  # (container key, attribute key) -> what is kept
        blocks: set[str] = set()  # extension blocks kept whole
        for selector, container_key in self._found(resource):
            if container_key is not None and selector.attr is None:
                blocks.add(container_key)
                continue
            source = resource if container_key is None else resource[container_key]
            assert selector.attr is not None
            key = _lookup(source, selector.attr)
            if key is None:
                continue
            mask = _mask(source[key], selector)
            if mask is not None:
                slot = (container_key, key)
                masks[slot] = _union(masks[slot], mask) if slot in masks else mask
        kept: dict[str, Any] = {key: value for key, value in resource.items() if key in ALWAYS}
        for (container_key, key), mask in masks.items():
            if container_key in blocks:
                continue
            source = resource if container_key is None else resource[container_key]
            value = _materialize(source[key], mask)
            if value is _NOTHING:
                continue
            target = kept if container_key is None else kept.setdefault(container_key, {})
            target[key] = value
        for container_key in blocks:
            kept[container_key] = resource[container_key]
        return _in_order(kept, resource)

    def _exclude(self, resource: dict[str, Any]) -> dict[str, Any]:
        result = dict(resource)
        for selector, container_key in self._found(result):
            if container_key is not None and selector.attr is None:
                del result[container_key]
                continue
            host = result
            if container_key is not None:
                host = result[container_key] = dict(result[container_key])
            assert selector.attr is not None
            key = _lookup(host, selector.attr)
            if key is None or (host is result and key in ALWAYS):
                continue
            remaining = _without(host[key], selector)
            if remaining is _NOTHING:
                del host[key]
            else:
                host[key] = remaining
        return result


_NOTHING: Any = object()
"""What is left when nothing of an attribute is selected (it is then left out)."""

_WHOLE = "whole"
"""A mask: the value as it is."""


def _entry_mask(entry: Any, selector: _Selector) -> Any:
    """What one value (a complex value or a multi-valued entry) keeps: the whole of it, some of its
    sub-attributes (a set of keys), or nothing (None)."""
    if selector.value_filter is not None:
        if not isinstance(entry, dict) or selector.definition is None:
            return None
        if not matches(selector.value_filter, entry, selector.definition):
            return None
    if selector.sub is None:
        return _WHOLE
    if not isinstance(entry, dict):
        return None
    sub_key = _lookup(entry, selector.sub)
    return None if sub_key is None else {sub_key}


def _mask(value: Any, selector: _Selector) -> Any:
    """What a selector keeps of an attribute's value: :data:`_WHOLE`, a set of sub-attribute keys (a complex
    value), a dict ``index -> entry mask`` (a multi-valued attribute), or None (nothing)."""
    if selector.whole:
        return _WHOLE
    if isinstance(value, list):
        picked = {index: mask for index, entry in enumerate(value) if (mask := _entry_mask(entry, selector))}
        return picked or None
    return _entry_mask(value, selector)


def _union(one: Any, other: Any) -> Any:
    if one == _WHOLE or other == _WHOLE:
        return _WHOLE
    if isinstance(one, set) and isinstance(other, set):
        return one | other
    if isinstance(one, dict) and isinstance(other, dict):
        merged = dict(one)
        for index, mask in other.items():
            merged[index] = _union(merged[index], mask) if index in merged else mask
        return merged
    return _WHOLE  # shapes that cannot meet on one value: keep it whole rather than lose a part


def _materialize(value: Any, mask: Any) -> Any:
    if mask == _WHOLE:
        return value
    if isinstance(mask, set):
        if not isinstance(value, dict):
            return _NOTHING
        picked = {key: item for key, item in value.items() if key in mask}
        return picked or _NOTHING
    if isinstance(mask, dict) and isinstance(value, list):
        entries = [_materialize(value[index], mask[index]) for index in sorted(mask)]
        entries = [entry for entry in entries if entry is not _NOTHING]
        return entries or _NOTHING
    return _NOTHING


def _without(value: Any, selector: _Selector) -> Any:
    """``value`` without what ``selector`` names (``excludedAttributes``); :data:`_NOTHING` when none is left."""
    if selector.whole:
        return _NOTHING
    if isinstance(value, list):
        remaining = []
        for entry in value:
            mask = _entry_mask(entry, selector)
            if mask is None:
                remaining.append(entry)
            elif isinstance(mask, set):
                rest = {key: item for key, item in entry.items() if key not in mask}
                if rest:
                    remaining.append(rest)
        return remaining or _NOTHING
    mask = _entry_mask(value, selector)
    if mask is None:
        return value
    if isinstance(mask, set) and isinstance(value, dict):
        rest = {key: item for key, item in value.items() if key not in mask}
        return rest or _NOTHING
    return _NOTHING


def _in_order(kept: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """``kept`` with its keys in the order of the resource (``schemas`` and ``id`` first, as stored)."""
    return {key: kept[key] for key in resource if key in kept}
