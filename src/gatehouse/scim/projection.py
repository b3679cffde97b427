"""``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5 and §3.9), applied to rendered resources.

Names are case-insensitive and may be URN-qualified (``urn:…:User:manager.value``). ``id`` and
``schemas`` are always returned (RFC 7643 §3.1 ``returned: always``); unknown names are ignored.
Nothing is done when neither parameter is given, which keeps the common path free of JSON parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALWAYS = frozenset({"id", "schemas"})


@dataclass(frozen=True, slots=True)
class _Name:
    container: str | None  # an extension URN (lower-cased), or None for a core attribute
    attr: str  # lower-cased
    sub: str | None  # lower-cased


def _parse(name: str, core_schema: str) -> _Name:
    lowered = name.strip().lower()
    container: str | None = None
    if lowered.startswith("urn:"):
        schema, _, rest = lowered.rpartition(":")
        if schema == core_schema.lower():
            lowered = rest
        else:
            container, lowered = schema, rest
    attr, _, sub = lowered.partition(".")
    return _Name(container, attr, sub or None)


def _lookup(mapping: dict[str, Any], lowered: str) -> str | None:
    for key in mapping:
        if key.lower() == lowered:
            return key
    return None


@dataclass(frozen=True, slots=True)
class Projection:
    """The attribute selection of one request."""

    core_schema: str
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def is_identity(self) -> bool:
        """Whether the resource is returned as is."""
        return not self.attributes and not self.excluded

    def includes(self, attribute: str) -> bool:
        """Whether a top-level core attribute (e.g. ``members``) will be returned."""
        lowered = attribute.lower()
        if self.attributes:
            return any(
                n.container is None and n.attr == lowered
                for n in (_parse(a, self.core_schema) for a in self.attributes)
            )
        return not any(
            n.container is None and n.attr == lowered and n.sub is None
            for n in (_parse(e, self.core_schema) for e in self.excluded)
        )

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The resource reduced to the selection."""
        if self.attributes:
            return self._select(resource)
        if self.excluded:
            return self._exclude(resource)
        return resource

    def _select(self, resource: dict[str, Any]) -> dict[str, Any]:
        kept: dict[str, Any] = {key: value for key, value in resource.items() if key in ALWAYS}
        for raw in self.attributes:
            name = _parse(raw, self.core_schema)
            source, target = resource, kept
            if name.container is not None:
                container_key = _lookup(resource, name.container)
                if container_key is None or not isinstance(resource[container_key], dict):
                    continue
                source = resource[container_key]
                target = kept.setdefault(container_key, {})
            key = _lookup(source, name.attr)
            if key is None:
                continue
            if name.sub is None:
                target[key] = source[key]
            else:
                _copy_sub(source[key], target, key, name.sub)
        return kept

    def _exclude(self, resource: dict[str, Any]) -> dict[str, Any]:
        result = dict(resource)
        for raw in self.excluded:
            name = _parse(raw, self.core_schema)
            host = result
            if name.container is not None:
                container_key = _lookup(result, name.container)
                if container_key is None or not isinstance(result[container_key], dict):
                    continue
                host = result[container_key] = dict(result[container_key])
            key = _lookup(host, name.attr)
            if key is None or (host is result and key in ALWAYS):
                continue
            if name.sub is None:
                del host[key]
            else:
                host[key] = _without_sub(host[key], name.sub)
        return result


def _copy_sub(value: Any, target: dict[str, Any], key: str, sub: str) -> None:
    if isinstance(value, dict):
        sub_key = _lookup(value, sub)
        if sub_key is not None:
            target.setdefault(key, {})[sub_key] = value[sub_key]
    elif isinstance(value, list):
        picked = []
        for item in value:
            if isinstance(item, dict) and (sub_key := _lookup(item, sub)) is not None:
                picked.append({sub_key: item[sub_key]})
        if picked:
            target[key] = picked


def _without_sub(value: Any, sub: str) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k.lower() != sub}
    if isinstance(value, list):
        return [
            {k: v for k, v in item.items() if k.lower() != sub} if isinstance(item, dict) else item for item in value
        ]
    return value
