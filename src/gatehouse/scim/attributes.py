"""The attribute catalog of the resources Gatehouse serves, for PATCH paths and values.

Each resource is described by its core schema and its extension schemas (RFC 7643 §3), each schema by
its attributes and their characteristics (RFC 7643 §2.2, §7): type, plurality, mutability, whether
required, case-exactness and sub-attributes. The catalog is derived once, at import, from the same
scim2-models classes that validate the resources (``gatehouse.resources.models``), plus the common
attributes of RFC 7643 §3.1 that those classes leave out of their published schemas.

Attribute names are case-insensitive (RFC 7643 §2.1): every look-up takes any spelling and answers
the canonical camelCase definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from scim2_models import Attribute, CaseExact, Required, Schema

from gatehouse.resources.models import EnterpriseExtension, GroupResource, UserResource
from gatehouse.resources.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

READ_ONLY = "readOnly"
WRITE_ONLY = "writeOnly"
COMPLEX = "complex"


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute or sub-attribute and the characteristics PATCH needs (RFC 7643 §2.2)."""

    name: str
    type: str
    multi_valued: bool = False
    mutability: str = "readWrite"
    required: bool = False
    case_exact: bool = False
    sub_attributes: Mapping[str, AttributeDef] = field(default_factory=dict)

    @property
    def is_complex(self) -> bool:
        """Whether the attribute holds sub-attributes (RFC 7643 §2.3.8)."""
        return self.type == COMPLEX

    def sub_attribute(self, name: str) -> AttributeDef | None:
        """The sub-attribute called ``name`` in any case, or None."""
        return self.sub_attributes.get(name.lower())


@dataclass(frozen=True, slots=True)
class SchemaDef:
    """A schema (RFC 7643 §7): its URN and its attributes, keyed by lower-cased name."""

    urn: str
    attributes: Mapping[str, AttributeDef]

    def attribute(self, name: str) -> AttributeDef | None:
        """The attribute called ``name`` in any case, or None."""
        return self.attributes.get(name.lower())


@dataclass(frozen=True, slots=True)
class ResourceDef:
    """A resource type (RFC 7643 §6): its core schema and its schema extensions."""

    name: str
    core: SchemaDef
    extensions: tuple[SchemaDef, ...] = ()

    @property
    def schemas(self) -> tuple[SchemaDef, ...]:
        """The core schema, then the extensions."""
        return (self.core, *self.extensions)

    def schema(self, urn: str) -> SchemaDef | None:
        """The schema whose URN is ``urn`` in any case (URNs compare case-insensitively), or None."""
        lowered = urn.lower()
        return next((schema for schema in self.schemas if schema.urn.lower() == lowered), None)

    def extension(self, urn: str) -> SchemaDef | None:
        """The extension schema whose URN is ``urn`` in any case, or None."""
        schema = self.schema(urn)
        return None if schema is self.core else schema

    def find(self, name: str) -> tuple[SchemaDef, AttributeDef] | None:
        """Resolve an unqualified attribute name: the core schema first, then the extensions.

        RFC 7644 §3.10 asks clients to qualify extension attributes with their schema URN, but
        Entra ID's older tutorial sends ``"path": "manager"``; an unambiguous short name is taken.
        """
        for schema in self.schemas:
            attribute = schema.attribute(name)
            if attribute is not None:
                return schema, attribute
        return None


def _from_scim2(attribute: Attribute) -> AttributeDef:
    """Convert a scim2-models schema attribute into a catalog entry."""
    subs = [_from_scim2(sub) for sub in attribute.sub_attributes or ()]
    return AttributeDef(
        name=attribute.name or "",
        type=str(attribute.type.value) if attribute.type else "string",
        multi_valued=bool(attribute.multi_valued),
        mutability=str(attribute.mutability.value) if attribute.mutability else "readWrite",
        required=attribute.required == Required.true,
        case_exact=attribute.case_exact == CaseExact.true,
        sub_attributes=_keyed(subs),
    )


def _keyed(attributes: Iterable[AttributeDef]) -> Mapping[str, AttributeDef]:
    return MappingProxyType({attribute.name.lower(): attribute for attribute in attributes})


def _read_only(name: str, type_: str = "string", multi_valued: bool = False) -> AttributeDef:
    return AttributeDef(name, type_, multi_valued=multi_valued, mutability=READ_ONLY, case_exact=True)


_META = AttributeDef(
    "meta",
    COMPLEX,
    mutability=READ_ONLY,
    sub_attributes=_keyed(
        [
            _read_only("resourceType"),
            _read_only("created", "dateTime"),
            _read_only("lastModified", "dateTime"),
            _read_only("location", "reference"),
            _read_only("version"),
        ]
    ),
)

COMMON_ATTRIBUTES = (
    _read_only("schemas", multi_valued=True),
    _read_only("id"),
    AttributeDef("externalId", "string", case_exact=True),
    _META,
)
"""RFC 7643 §3 and §3.1: ``schemas``, ``id``, ``externalId`` and ``meta``, on every resource."""


def _schema(urn: str, attributes: Iterable[AttributeDef]) -> SchemaDef:
    return SchemaDef(urn, _keyed(attributes))


def _declared(schema: Schema) -> list[AttributeDef]:
    """The attributes a scim2-models class publishes in its schema."""
    return [_from_scim2(attribute) for attribute in schema.attributes or ()]


USER = ResourceDef(
    "User",
    _schema(USER_SCHEMA, [*COMMON_ATTRIBUTES, *_declared(UserResource.to_schema())]),
    (_schema(ENTERPRISE_SCHEMA, _declared(EnterpriseExtension.to_schema())),),
)
"""The User resource type (RFC 7643 §4.1) with the enterprise extension (RFC 7643 §4.3)."""

GROUP = ResourceDef(
    "Group",
    _schema(GROUP_SCHEMA, [*COMMON_ATTRIBUTES, *_declared(GroupResource.to_schema())]),
)
"""The Group resource type (RFC 7643 §4.2)."""
