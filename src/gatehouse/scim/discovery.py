"""Discovery documents (RFC 7644 §4, RFC 7643 §5–§7), rendered once per app.

They describe exactly what this server does: PATCH, filtering (up to ``maxResults``), sorting and
ETags are supported; bulk and password change are not; one authentication scheme, the bearer token.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    User,
)

from gatehouse.scim.render import LIST_RESPONSE

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def _dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", scim_ctx=Context.RESOURCE_QUERY_RESPONSE, exclude_none=True))


def service_provider_config(base_url: str, max_results: int) -> dict[str, Any]:
    """The ServiceProviderConfig resource (RFC 7643 §5)."""
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A SCIM token generated in Gatehouse (Organization → Settings → SCIM Provisioning), "
                "sent as 'Authorization: Bearer <token>'.",
                spec_uri="https://www.rfc-editor.org/rfc/rfc6750",  # type: ignore[arg-type]
                primary=True,
            )
        ],
    )
    body = _dump(config)
    body["meta"] = {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"}
    return body


SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

RFC7643_SCHEMAS = "rfc7643_schemas.json"
"""The schema representation of RFC 7643 §8.7.1 (User, Group, EnterpriseUser), in ``gatehouse.resources``:
the RFC's JSON, each string that the RFC wraps over several lines joined with one space."""

CHARACTERISTIC_DEFAULTS: dict[str, Any] = {
    "required": False,
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}
"""RFC 7643 §2.2: the characteristics an attribute has when its definition leaves them out. §8.7.1 leaves
some out (``caseExact`` of booleans and complex attributes, most ``uniqueness`` of complex ones); the served
definitions state every one."""

_KEY_ORDER = (
    "name",
    "type",
    "multiValued",
    "description",
    "required",
    "caseExact",
    "canonicalValues",
    "referenceTypes",
    "mutability",
    "returned",
    "uniqueness",
    "subAttributes",
)

_REFERENCE = "Gatehouse compares references exactly, as RFC 7643 §2.3.7 says of the reference type."
_ID = "Gatehouse compares resource ids exactly (ids are case-sensitive)."

GATEHOUSE_DIFFERENCES: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("User", "profileUrl", {"caseExact": True}, _REFERENCE),
    ("User", "photos.value", {"caseExact": True}, _REFERENCE),
    ("User", "x509Certificates.value", {"caseExact": True}, "Gatehouse compares binary values exactly."),
    ("User", "groups.value", {"caseExact": True}, _ID),
    (
        "User",
        "groups.$ref",
        {"caseExact": True, "referenceTypes": ["Group"]},
        "Gatehouse groups are never nested: a user's groups are Group resources only. " + _REFERENCE,
    ),
    (
        "Group",
        "displayName",
        {"required": True, "uniqueness": "server"},
        "Gatehouse requires it and keeps it unique, compared case-insensitively (Okta and Entra ID match groups "
        "by it).",
    ),
    ("Group", "members.value", {"caseExact": True}, "Gatehouse members are Users; " + _ID),
    (
        "Group",
        "members.$ref",
        {"caseExact": True, "referenceTypes": ["User"]},
        "Gatehouse groups hold users only, never groups.",
    ),
    ("Group", "members.type", {"canonicalValues": ["User"]}, "Gatehouse groups hold users only, never groups."),
    (
        "EnterpriseUser",
        "manager.value",
        {"required": True},
        "Gatehouse refuses a manager without it.",
    ),
    (
        "EnterpriseUser",
        "manager.$ref",
        {"caseExact": True},
        "Gatehouse derives it from value: a $ref sent by a client is replaced by the location of the user that "
        "value names. " + _REFERENCE,
    ),
)
"""Where Gatehouse truly differs from RFC 7643 §8.7.1: (schema name, attribute path, changed characteristics,
why). The reason is appended to the attribute's RFC description, after "Gatehouse:"."""

_GROUP_MEMBER_DISPLAY: dict[str, Any] = {
    "name": "display",
    "type": "string",
    "multiValued": False,
    "description": "A human-readable name, primarily used for display purposes. Gatehouse: RFC 7643 §4.2 names it "
    "but §8.7.1 leaves it out; it is the display the identity provider sent with the member, kept as sent, else "
    "the user's name.",
    "required": False,
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}
"""``members.display``, which Gatehouse returns (RFC 7643 §4.2) and §8.7.1 does not define."""


def rfc7643_schemas() -> list[dict[str, Any]]:
    """RFC 7643 §8.7.1's schema representation, as published (User, Group, EnterpriseUser)."""
    text = resources.files("gatehouse.resources").joinpath(RFC7643_SCHEMAS).read_text(encoding="utf-8")
    documents: list[dict[str, Any]] = orjson.loads(text)
    return documents


def _completed(attribute: dict[str, Any]) -> dict[str, Any]:
    """An attribute definition stating every characteristic (RFC 7643 §2.2 defaults where §8.7.1 is silent)."""
    full = {**CHARACTERISTIC_DEFAULTS, **attribute}
    if "subAttributes" in full:
        full["subAttributes"] = [_completed(sub) for sub in full["subAttributes"]]
    ordered = {key: full[key] for key in _KEY_ORDER if key in full}
    ordered.update((key, value) for key, value in full.items() if key not in ordered)
    return ordered


def _find(attributes: list[dict[str, Any]], path: str) -> dict[str, Any]:
    name, _, sub = path.partition(".")
    attribute = next(a for a in attributes if a["name"] == name)
    return _find(attribute["subAttributes"], sub) if sub else attribute


def served_schemas() -> list[dict[str, Any]]:
    """The schemas Gatehouse serves: RFC 7643 §8.7.1, complete, with :data:`GATEHOUSE_DIFFERENCES`."""
    documents = []
    for rfc in rfc7643_schemas():
        document = {"schemas": [SCHEMA_SCHEMA], **rfc}
        document["attributes"] = [_completed(attribute) for attribute in rfc["attributes"]]
        for schema_name, path, changes, why in GATEHOUSE_DIFFERENCES:
            if schema_name == document["name"]:
                attribute = _find(document["attributes"], path)
                attribute.update(changes)
                attribute["description"] = f"{attribute['description']} Gatehouse: {why}"
        if document["name"] == "Group":
            _find(document["attributes"], "members")["subAttributes"].append(dict(_GROUP_MEMBER_DISPLAY))
        documents.append(document)
    return documents


def _schema_documents(base_url: str) -> list[dict[str, Any]]:
    documents = []
    for schema in served_schemas():
        schema["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema['id']}"}
        documents.append(schema)
    return documents


def _resource_type_documents(base_url: str) -> list[dict[str, Any]]:
    documents = []
    for model in (User[EnterpriseUser], Group):  # type: ignore[misc]
        document = _dump(ResourceType.from_resource(model))
        if document["id"] == "User":
            document["description"] = "User Account"  # RFC 7643 §8.6, as the User schema's description
        document["meta"] = {
            "resourceType": "ResourceType",
            "location": f"{base_url}/ResourceTypes/{document['id']}",
        }
        documents.append(document)
    return documents


class Discovery:
    """The discovery endpoints' bodies, prepared once."""

    def __init__(self, base_url: str, max_results: int) -> None:
        self.service_provider_config = orjson.dumps(service_provider_config(base_url, max_results))
        self.schemas = {doc["id"]: orjson.dumps(doc) for doc in _schema_documents(base_url)}
        self.resource_types = {doc["id"]: orjson.dumps(doc) for doc in _resource_type_documents(base_url)}
        self.schemas_list = _list(list(self.schemas.values()))
        self.resource_types_list = _list(list(self.resource_types.values()))

    def schema(self, urn: str) -> bytes | None:
        """A schema by URN (case-insensitively)."""
        for key, value in self.schemas.items():
            if key.lower() == urn.lower():
                return value
        return None

    def resource_type(self, name: str) -> bytes | None:
        """A resource type by name (case-insensitively)."""
        for key, value in self.resource_types.items():
            if key.lower() == name.lower():
                return value
        return None


def _list(resources: list[bytes]) -> bytes:
    head = orjson.dumps(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
        }
    )
    return head[:-1] + b',"Resources":[' + b",".join(resources) + b"]}"
