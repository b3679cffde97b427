"""Discovery documents (RFC 7644 §4, RFC 7643 §5–§7), rendered once per app.

They describe exactly what this server does: PATCH, filtering (up to ``maxResults``), sorting and
ETags are supported; bulk and password change are not; one authentication scheme, the bearer token.
"""

from __future__ import annotations

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


def _schema_documents(base_url: str) -> list[dict[str, Any]]:
    documents = []
    for model in (User, EnterpriseUser, Group):
        schema = _dump(model.to_schema())
        if model is Group:
            for attribute in schema["attributes"]:
                if attribute["name"] == "members":
                    for sub in attribute.get("subAttributes", []):
                        if sub["name"] == "$ref":
                            sub["referenceTypes"] = ["User"]
                        if sub["name"] == "type":
                            sub["canonicalValues"] = ["User"]
        schema["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema['id']}"}
        documents.append(schema)
    return documents


def _resource_type_documents(base_url: str) -> list[dict[str, Any]]:
    documents = []
    for model in (User[EnterpriseUser], Group):  # type: ignore[misc]
        document = _dump(ResourceType.from_resource(model))
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
