"""Resource names read from outside (the decision API, forward-auth rules, resource labels): checked, put in
Gatehouse's spelling, and taken apart into kind and ids. Pure.

A name is one of (``<id>`` any printable text without ``/`` or white space, or ``*`` for every object):

- ``arn:gatehouse:iam:<kind>/<id>`` for the IAM kinds (``arn:api7:iam:…`` is the same name in API7's
  spelling), and the organization's one name ``arn:gatehouse:iam:organization/*``;
- ``arn:api7:gateway:gatewaygroup/<id>``, ``…/gatewaygroup/<id>/publishedservice/<id>``,
  ``…/gatewaygroup/<id>/consumer/<id>``, ``arn:api7:gateway:servicetemplate/<id>``, and the single names
  ``arn:api7:gateway:gatewaysetting/*`` and ``arn:api7:gateway:alert/*``.

A ``*`` in a name is a literal character, not a wildcard (names are matched *by* patterns, never used as
one): ``gatewaygroup/*`` asks about every group at once, and only a statement allowing every group allows it.

Labels. Gatehouse keeps labels of gateway groups, published services, consumers and service templates
(:data:`LABELLED`); :func:`label_sources` says which stored labels a check on a name reads, under which
condition key: a published service carries its own as ``service_label`` and its group's as
``gateway_group_label``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from gatehouse.errors import InvalidInput
from gatehouse.iam.catalog import (
    ANY_ID,
    ORGANIZATION,
    RESOURCE_KINDS,
    RESOURCE_PREFIX,
    Kind,
    canonical_resource,
    resource_name,
)
from gatehouse.iam.catalog_gateway import ALERT, CONSUMER, GATEWAY_GROUP, GATEWAY_SETTING, PUBLISHED_SERVICE
from gatehouse.iam.catalog_gateway import SERVICE_TEMPLATE as SERVICE_TEMPLATE_PREFIX
from gatehouse.iam.policy_patterns import MAX_NAME_LENGTH

LABELLED: Final[dict[str, tuple[str, str, str]]] = {
    "gatewaygroup": ("gateway_group_label", "gateway:GetGatewayGroup", "gateway:UpdateGatewayGroup"),
    "publishedservice": ("service_label", "gateway:GetPublishedService", "gateway:UpdatePublishedService"),
    "consumer": ("consumer_label", "gateway:GetConsumer", "gateway:UpdateConsumer"),
    "servicetemplate": ("service_label", "gateway:GetServiceTemplate", "gateway:UpdateServiceTemplate"),
}
"""The kinds whose labels Gatehouse keeps: (their condition key, the action to read them, to set them)."""

EXAMPLES: Final = (
    f"{GATEWAY_GROUP}<id>, {GATEWAY_GROUP}<id>/{PUBLISHED_SERVICE}/<id>, {GATEWAY_GROUP}<id>/{CONSUMER}/<id>, "
    f"{SERVICE_TEMPLATE_PREFIX}<id>, {GATEWAY_SETTING}, {ALERT}, {RESOURCE_PREFIX}<kind>/<id>"
)


@dataclass(frozen=True, slots=True)
class ResourceName:
    """A checked resource name in Gatehouse's spelling."""

    name: str
    kind: Kind
    group: str | None = None
    """The gateway group's id: of a group itself, or of the group a published service or consumer is in."""
    id: str | None = None
    """The object's own id (``*`` for every one); ``None`` for a single name (the organization, settings)."""

    @property
    def labelled(self) -> bool:
        """Whether Gatehouse keeps labels for this very name (one object of a labelled kind, not ``*``)."""
        return self.kind in LABELLED and self.id not in (None, ANY_ID) and self.group != ANY_ID


PARSED_KEPT: Final = 4096
"""Resource names (and their label sources) kept parsed, per process."""


class ResourceNameError(InvalidInput):
    """A resource name that names nothing Gatehouse knows; the message says what names look like."""


def _id(text: str, name: str) -> str:
    if not text or "/" in text or not text.isprintable() or any(char.isspace() for char in text):
        raise ResourceNameError(
            f"{name!r} is not a resource name: an id is printable text without '/' or spaces (names look like "
            f"{EXAMPLES})."
        )
    return text


def parse_resource(text: str) -> ResourceName:
    """Check ``text`` and take it apart (API7's ``arn:api7:iam:`` spelling becomes Gatehouse's), or raise
    :class:`ResourceNameError`. Pure, so the last :data:`PARSED_KEPT` names parsed are kept (a decision asks the
    same few again and again; a refused one is not kept)."""
    if not isinstance(text, str) or not text:
        raise ResourceNameError(f"A resource name is required; names look like {EXAMPLES}.")
    return _parsed(text)


@functools.lru_cache(maxsize=PARSED_KEPT)
def _parsed(text: str) -> ResourceName:
    if len(text) > MAX_NAME_LENGTH:
        raise ResourceNameError(f"A resource name is at most {MAX_NAME_LENGTH} characters.")
    name = canonical_resource(text)
    if name.startswith(RESOURCE_PREFIX):
        kind, slash, rest = name[len(RESOURCE_PREFIX) :].partition("/")
        if not slash or kind not in RESOURCE_KINDS:
            raise ResourceNameError(
                f"{text!r} is not a resource name: IAM names look like {RESOURCE_PREFIX}<kind>/<id>, with kind one "
                f"of {', '.join(RESOURCE_KINDS)}."
            )
        if kind == "organization":
            if name != ORGANIZATION:
                raise ResourceNameError(f"{text!r} is not a resource name: the organization is {ORGANIZATION}.")
            return ResourceName(name, "organization")
        return ResourceName(name, kind, None, _id(rest, text))  # type: ignore[arg-type]
    if name in (GATEWAY_SETTING, ALERT):
        return ResourceName(name, "gatewaysetting" if name == GATEWAY_SETTING else "alert")
    if name.startswith(SERVICE_TEMPLATE_PREFIX):
        return ResourceName(name, "servicetemplate", None, _id(name[len(SERVICE_TEMPLATE_PREFIX) :], text))
    if name.startswith(GATEWAY_GROUP):
        parts = name[len(GATEWAY_GROUP) :].split("/")
        if len(parts) == 1:
            return ResourceName(name, "gatewaygroup", _id(parts[0], text), parts[0])
        if len(parts) == 3 and parts[1] in (PUBLISHED_SERVICE, CONSUMER):
            nested: Kind = "publishedservice" if parts[1] == PUBLISHED_SERVICE else "consumer"
            return ResourceName(name, nested, _id(parts[0], text), _id(parts[2], text))
    raise ResourceNameError(f"{text!r} is not a resource name: names look like {EXAMPLES}.")


@functools.lru_cache(maxsize=PARSED_KEPT)
def label_sources(resource: ResourceName) -> Mapping[str, str]:
    """The stored labels a check on ``resource`` reads: condition key → the name they are kept under.

    A group gives its ``gateway_group_label`` to itself and to what lives in it; a published service or a
    consumer adds its own. Nothing is read for ``*`` (no one object) or for other kinds."""
    sources: dict[str, str] = {}
    if resource.group not in (None, ANY_ID):
        sources["gateway_group_label"] = resource_name("gatewaygroup", resource.group)  # type: ignore[arg-type]
    if resource.labelled and resource.kind != "gatewaygroup":
        sources[LABELLED[resource.kind][0]] = resource.name
    return sources
