"""Request bodies that real IdPs send (from their documentation; see shared/reference/idp-wire.md)."""

from __future__ import annotations

from typing import Any

PUBLIC_URL = "https://gatehouse.test"
SCIM = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def okta_user(user_name: str = "test.user@okta.local", external_id: str = "00ujl29u0le5T6Aj10h7") -> dict[str, Any]:
    """Okta's exact create body (SCIM 2.0 reference)."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }


def entra_user(
    user_name: str = "Test_User_1", external_id: str = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
) -> dict[str, Any]:
    """Entra ID's create body (provisioning tutorial), with the nulls another example sends."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "addresses": None,
        "phoneNumbers": None,
        "emails": [{"primary": True, "type": "work", "value": f"{user_name.lower()}@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp request body."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """The response is a SCIM Error (RFC 7644 §3.12) with this status (as a string) and scimType."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body
