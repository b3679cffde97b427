"""The scim2-models classes Gatehouse validates resources with (RFC 7643 §4.1, §4.2, §4.3).

They are the library's own models, loosened where real identity providers send values that the
RFC allows but that the library refuses:

- ``emails.value`` is a plain string. RFC 7643 §4.1.2 only says it SHOULD follow RFC 5321, and
  Okta's documented create body uses ``test.user@okta.local``, a special-use domain that a strict
  address validator rejects.
- the enterprise ``manager`` keeps only ``value``. Entra ID sends ``{"value": "<id>"}`` without the
  ``$ref`` that RFC 7643 §4.3 marks REQUIRED, and ``$ref``/``displayName`` are derived by the
  service provider from the referenced user, so they are not stored.
"""

from __future__ import annotations

from typing import Annotated

from scim2_models import (
    CaseExact,
    ComplexAttribute,
    Email,
    EnterpriseUser,
    Group,
    Required,
    User,
)


class EmailAddress(Email):
    """An ``emails`` entry whose ``value`` is any string (RFC 7643 §4.1.2)."""

    value: str | None = None


class ManagerReference(ComplexAttribute):
    """The enterprise ``manager``: the ``id`` of another user (RFC 7643 §4.3)."""

    value: Annotated[str | None, Required.true, CaseExact.true] = None


class EnterpriseExtension(EnterpriseUser):
    """The enterprise user extension (RFC 7643 §4.3) with a ``manager`` that needs no ``$ref``."""

    # The library types it as Manager (value and $ref both required); see ManagerReference.
    manager: ManagerReference | None = None  # type: ignore[assignment]


class UserResource(User[EnterpriseExtension]):
    """A User (RFC 7643 §4.1) with the enterprise extension (RFC 7643 §4.3)."""

    # list is invariant, so mypy sees the narrower entry type as incompatible; it is a subclass.
    emails: list[EmailAddress] | None = None  # type: ignore[assignment]


GroupResource = Group
"""A Group (RFC 7643 §4.2); its members are validated apart, as they are stored apart."""
