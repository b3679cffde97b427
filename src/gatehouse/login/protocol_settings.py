"""What the own fields of an LDAP and of a SAML login option have in common: they are stored as JSON (unknown
keys ignored, so that an older row still reads), and checking them trims their text fields.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self


@dataclass(frozen=True, slots=True)
class ProtocolSettings:
    """The base of :class:`~gatehouse.login.ldap.LdapSettings` and :class:`~gatehouse.login.saml.SamlSettings`."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Settings as stored (unknown keys ignored, so an older row still reads)."""
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})

    def trimmed(self, *names: str) -> dict[str, Any]:
        """The text fields ``names`` without their surrounding white space (for :func:`dataclasses.replace`)."""
        return {name: getattr(self, name).strip() for name in names}
