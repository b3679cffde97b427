"""Okta's documented SCIM create-user body (``idp-wire.md`` §A2), the one source for seeding and POSTs."""

from __future__ import annotations

from typing import Any

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: Okta's deactivation (OIN apps, ``idp-wire.md`` §A3/§A4): lowercase ``op``, no ``path``.
DEACTIVATE = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]}


def create_body(
    user_name: str = "test.user@okta.local",
    *,
    family_name: str = "User",
    display_name: str = "Test User",
    external_id: str = "00ujl29u0le5T6Aj10h7",
) -> dict[str, Any]:
    """Okta's exact POST /Users body; the defaults are the documented values, key order included."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": family_name},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": display_name,
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
