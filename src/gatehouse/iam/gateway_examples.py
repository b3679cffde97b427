"""Example permission policies for API7's gateway, offered by the policy editor to start from (pure data).

Each is a valid document (checked when imported, and in the tests) in API7's own names, so it reads the same
in Gatehouse and in API7.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from gatehouse.iam.policy import parse_policy

_GROUPS: Final = "arn:api7:gateway:gatewaygroup/*"


@dataclass(frozen=True, slots=True)
class ExamplePolicy:
    """A document to start from: a key, a title and the document."""

    key: str
    title: str
    document: Mapping[str, object]


GATEWAY_READ_ONLY: Final[Mapping[str, object]] = {
    "statement": [{"effect": "allow", "actions": ["gateway:Get<.*>"], "resources": [_GROUPS]}]
}
"""Read every gateway group and everything in it (instances, published services, consumers, certificates…);
change nothing. ``gatewaygroup/*`` matches the names below a group too (``*`` spans ``/``)."""

DEV_GROUPS_FULL_CONTROL: Final[Mapping[str, object]] = {
    "statement": [
        {
            "effect": "allow",
            "actions": ["gateway:*"],
            "resources": [_GROUPS],
            "conditions": {
                "gateway_group_label": {
                    "type": "MatchLabel",
                    "options": {"key": "env", "operator": "exact_match", "value": "dev"},
                }
            },
        }
    ]
}
"""Everything on the gateway groups labelled ``env=dev`` and on what they hold; nothing on other groups (the
label is the group's ``gateway_group_label``: set it with ``PUT /api/v1/authz/resources``)."""

PUBLISH_TO_ONE_GROUP: Final[Mapping[str, object]] = {
    "statement": [
        {
            "effect": "allow",
            "actions": ["gateway:GetServiceTemplate"],
            "resources": ["arn:api7:gateway:servicetemplate/*"],
        },
        {
            "effect": "allow",
            "actions": ["gateway:GetGatewayGroup"],
            "resources": ["arn:api7:gateway:gatewaygroup/team-x"],
        },
        {
            "effect": "allow",
            "actions": ["gateway:PublishServices", "gateway:GetPublishedService", "gateway:UpdatePublishedService"],
            "resources": ["arn:api7:gateway:gatewaygroup/team-x/publishedservice/*"],
        },
    ]
}
"""Publish services of the hub to the gateway group ``team-x`` only (and read and update what is published
there); put your group's id in place of ``team-x``."""

EXAMPLES: Final[tuple[ExamplePolicy, ...]] = (
    ExamplePolicy("gateway-read-only", "Read-only on every gateway group", GATEWAY_READ_ONLY),
    ExamplePolicy("gateway-dev", "Full control of gateway groups labelled env=dev", DEV_GROUPS_FULL_CONTROL),
    ExamplePolicy("gateway-publish", "Publish services to gateway group team-x only", PUBLISH_TO_ONE_GROUP),
)

for _example in EXAMPLES:  # an invalid example fails at import, not in front of a user
    parse_policy(_example.document)
