"""The schema URIs of the resources Gatehouse stores (RFC 7643 §8.7.1, §8.7.2, §4.3)."""

from __future__ import annotations

from typing import Final

USER_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
"""The core User schema (RFC 7643 §4.1)."""

GROUP_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
"""The core Group schema (RFC 7643 §4.2)."""

ENTERPRISE_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
"""The Enterprise User extension (RFC 7643 §4.3)."""
