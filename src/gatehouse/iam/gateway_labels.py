"""Labels of gateway resources: set and read them (permission-checked), and the labels a check is decided with.

Gatehouse keeps labels for one gateway group, published service, consumer or service template at a time
(:data:`~gatehouse.iam.resource_names.LABELLED`), for the label conditions of permission policies
(``gateway_group_label``, ``service_label``, ``consumer_label``) when a decision check or a forward-auth rule
gives none. Setting a resource's labels needs its Update action (``gateway:UpdateGatewayGroup`` for a group…)
with its labels as they are **and** as they will be, so that no one can label a resource into or out of
what they may change; reading them needs its Get action.

Which labels a check reads (:func:`resolve`): for each condition key of the resource
(:func:`~gatehouse.iam.resource_names.label_sources`), the labels the caller gave under that key, else the
stored ones: a published service's check gets ``gateway_group_label`` from its group and ``service_label``
from itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gatehouse.errors import InvalidInput, NotFound
from gatehouse.iam.authorizer import Labels, Principal, allowed, require
from gatehouse.iam.rbac_forms import check_labels
from gatehouse.iam.resource_names import LABELLED, ResourceName, label_sources, parse_resource
from gatehouse.store import gateway_labels as store
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

MAX_LISTED: Final = 1000


@dataclass(frozen=True, slots=True)
class LabelledResource:
    """A resource and the labels Gatehouse keeps for it."""

    resource: str
    kind: str
    labels: dict[str, str]
    updated: datetime | None
    updated_by: str | None


def resolve(
    connection: Connection,
    resources: Sequence[ResourceName],
    given: Sequence[Labels | None] | None = None,
    read: Callable[[Connection, Iterable[str]], dict[str, dict[str, str]]] = store.labels_of,
) -> list[dict[str, dict[str, str]]]:
    """The labels each check is decided with (see the module), reading every stored label in one query
    (``read``: :func:`gatehouse.store.gateway_labels.labels_of`, or the same through a cache)."""
    sources = [label_sources(resource) for resource in resources]
    stored = read(connection, {name for found in sources for name in found.values()})
    resolved: list[dict[str, dict[str, str]]] = []
    for index, found in enumerate(sources):
        labels = {key: stored[name] for key, name in found.items() if name in stored}
        extra = given[index] if given is not None else None
        if extra:
            labels.update({key: dict(values) for key, values in extra.items()})
        resolved.append(labels)
    return resolved


def _labelled(text: str) -> ResourceName:
    resource = parse_resource(text)
    if not resource.labelled:
        raise InvalidInput(
            f"resource: labels are kept for one gateway group, published service, consumer or service template "
            f"(no '*'), not for {resource.name}."
        )
    return resource


def set_labels(
    connection: Connection, principal: Principal, resource_text: str, labels: Mapping[str, str] | None
) -> LabelledResource:
    """Keep ``labels`` for a resource (replacing its labels; none removes them): see the module."""
    resource = _labelled(resource_text)
    clean = check_labels(labels)
    key, _, update_action = LABELLED[resource.kind]
    now = resolve(connection, [resource])[0]
    require(principal, update_action, resource.name, now)
    if clean != now.get(key, {}):
        require(principal, update_action, resource.name, {**now, key: clean})
    store.put(connection, resource.name, clean, principal.actor, utcnow())
    found = store.get(connection, resource.name)
    return LabelledResource(
        resource.name, resource.kind, clean, found.updated if found else None, found.updated_by if found else None
    )


def get_labels(connection: Connection, principal: Principal, resource_text: str) -> LabelledResource:
    """The labels kept for one resource (its Get action; :class:`NotFound` if the principal may not read it)."""
    resource = _labelled(resource_text)
    _, get_action, _ = LABELLED[resource.kind]
    if not allowed(principal, get_action, resource.name, resolve(connection, [resource])[0]):
        raise NotFound("There are no labels for this resource that you may read.")
    found = store.get(connection, resource.name)
    return LabelledResource(
        resource.name,
        resource.kind,
        found.labels if found else {},
        found.updated if found else None,
        found.updated_by if found else None,
    )


def list_labels(connection: Connection, principal: Principal, prefix: str = "") -> list[LabelledResource]:
    """The labelled resources the principal may read (their Get action), by name, under ``prefix``."""
    found = store.listing(connection, prefix, MAX_LISTED)
    resources = [parse_resource(item.resource) for item in found]
    labels = resolve(connection, resources)
    return [
        LabelledResource(item.resource, resource.kind, item.labels, item.updated, item.updated_by)
        for item, resource, resolved in zip(found, resources, labels, strict=True)
        if allowed(principal, LABELLED[resource.kind][1], resource.name, resolved)
    ]
