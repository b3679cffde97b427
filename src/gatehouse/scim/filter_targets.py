"""What an attribute name in a SCIM filter resolves to, per resource type and SQL dialect.

Attributes come from a fixed whitelist (RFC 7643 §4.1 core User, §4.2 Group, §4.3 enterprise
extension, §3.1 common attributes), looked up case-insensitively (RFC 7643 §2.1), optionally
qualified by their schema URN. Each maps to one of:

* an indexed column (``id``, ``userName``, ``externalId``, ``active``, ``meta.created``, ...);
* a child table reached by a semi-join (``emails``, a user's ``groups``, a group's ``members``);
* a member of the canonical SCIM JSON in ``data`` (``name.givenName``, ``title``, enterprise
  attributes), or an element of one of its arrays (``phoneNumbers``, ``addresses``, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

import sqlalchemy as sa
from scim2_models.path import AttrPath

from gatehouse.errors import InvalidFilter
from gatehouse.resources.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from gatehouse.scim.filter_comparisons import Kind, Operand
from gatehouse.scim.filter_sql import (
    Predicate,
    element_member,
    json_bools,
    json_elements,
    json_member,
    semi_join,
)
from gatehouse.store.tables import group_members, groups, user_emails, users

Resource: TypeAlias = Literal["User", "Group"]


@dataclass(frozen=True, slots=True)
class Composite:
    """A single-valued complex attribute (``name``, ``meta``, ``manager``): only its parts compare."""

    label: str
    parts: Mapping[str, Operand]


@dataclass(frozen=True, slots=True)
class Rows:
    """One use of the values of a multi-valued attribute, as rows of a sub-query.

    ``parts`` maps each lower-cased sub-attribute name to its operand on those rows; ``some`` turns
    a condition on one row into "some value of the resource satisfies it" (a semi-join).
    """

    parts: Mapping[str, Operand]
    some: Callable[[Predicate | None], Predicate]


@dataclass(frozen=True, slots=True)
class Collection:
    """A multi-valued attribute (RFC 7643 §2.4); ``open`` makes a fresh, independently aliased use."""

    label: str
    open: Callable[[], Rows]
    default: str | None = "value"


@dataclass(frozen=True, slots=True)
class Selected:
    """A multi-valued attribute named in a filter, with the sub-attribute it was given (if any)."""

    collection: Collection
    sub_attr: str | None


Target: TypeAlias = Operand | Composite | Selected


# --------------------------------------------------------------------------- the whitelist


@dataclass(frozen=True, slots=True)
class Attr:
    """A simple attribute or sub-attribute kept in JSON, with its RFC 7643 characteristics."""

    name: str
    kind: Kind = Kind.STRING
    case_exact: bool = False


def _reference(name: str) -> Attr:
    """A reference: case-exact (RFC 7643 §2.3.7)."""
    return Attr(name, Kind.REFERENCE, case_exact=True)


_NAME_PARTS = tuple(
    Attr(n) for n in ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
)
"""RFC 7643 §4.1.1 ``name``."""

_USER_JSON_STRINGS = (
    Attr("displayName"),
    Attr("nickName"),
    _reference("profileUrl"),
    Attr("title"),
    Attr("userType"),
    Attr("preferredLanguage"),
    Attr("locale"),
    Attr("timezone"),
)
"""RFC 7643 §4.1.1 singular attributes without a column of their own."""

_PLURAL_PARTS = (Attr("value"), Attr("display"), Attr("type"), Attr("primary", Kind.BOOLEAN))
"""RFC 7643 §2.4 sub-attributes of multi-valued attributes."""

_ADDRESS_PARTS = (
    *(Attr(n) for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")),
    Attr("type"),
    Attr("primary", Kind.BOOLEAN),
)
"""RFC 7643 §4.1.2 ``addresses`` (no ``value``)."""

_USER_JSON_PLURALS: Mapping[str, tuple[Attr, ...]] = {
    "phoneNumbers": _PLURAL_PARTS,
    "ims": _PLURAL_PARTS,
    "photos": (_reference("value"), *_PLURAL_PARTS[1:]),
    "addresses": _ADDRESS_PARTS,
    "entitlements": _PLURAL_PARTS,
    "roles": _PLURAL_PARTS,
    "x509Certificates": (Attr("value", Kind.BINARY, case_exact=True), *_PLURAL_PARTS[1:]),
}
"""RFC 7643 §4.1.2 multi-valued attributes kept as JSON arrays."""

_ENTERPRISE_STRINGS = tuple(Attr(n) for n in ("employeeNumber", "costCenter", "organization", "division", "department"))
"""RFC 7643 §4.3 enterprise User attributes."""

_MANAGER_PARTS = (Attr("value"), _reference("$ref"), Attr("displayName"))
"""RFC 7643 §4.3 ``manager``."""

_NEVER_FILTERABLE = {"password"}
"""RFC 7643 §4.1.1: ``password`` is never returned, hence never filtered on."""


def _json_operand(dialect: str, label: str, expr: sa.ColumnElement[Any], attr: Attr) -> Operand:
    """The operand for a JSON member ``expr`` holding ``attr``."""
    return Operand(
        label,
        expr,
        kind=attr.kind,
        case_exact=attr.case_exact,
        bools=json_bools(dialect) if attr.kind is Kind.BOOLEAN else None,
    )


def _data_operand(dialect: str, label: str, keys: tuple[str, ...], attr: Attr) -> Operand:
    """The operand for ``attr`` at ``keys`` in ``users.data``."""
    return _json_operand(dialect, label, json_member(dialect, users.c.data, keys), attr)


def _meta(table: sa.Table, resource: Resource) -> Composite:
    """RFC 7643 §3.1 ``meta``: its dates are columns; ``resourceType`` is known up front."""
    return Composite(
        "meta",
        {
            "created": Operand("meta.created", table.c.created, Kind.DATETIME, nullable=False),
            "lastmodified": Operand("meta.lastModified", table.c.last_modified, Kind.DATETIME, nullable=False),
            "resourcetype": Operand("meta.resourceType", sa.literal(resource), constant=resource),
        },
    )


def _json_collection(dialect: str, name: str, parts: tuple[Attr, ...]) -> Collection:
    """A multi-valued attribute kept as an array in ``users.data``: ``EXISTS`` over its elements."""

    def open_rows() -> Rows:
        elements = json_elements(dialect, users.c.data, name)
        operands = {
            part.name.lower(): _json_operand(
                dialect, f"{name}.{part.name}", element_member(dialect, elements.c.value, part.name), part
            )
            for part in parts
        }

        def some(condition: Predicate | None) -> Predicate:
            query: sa.Select[Any] = sa.select(sa.literal_column("1")).select_from(elements).correlate(users)
            return sa.exists(query if condition is None else query.where(condition))

        return Rows(operands, some)

    default = "value" if any(part.name == "value" for part in parts) else None
    return Collection(name, open_rows, default)


def _emails(dialect: str) -> Collection:
    """``emails``: one ``user_emails`` row per value, semi-joined so ``value eq`` uses its index."""

    def open_rows() -> Rows:
        e = user_emails.alias("e")
        operands = {
            "value": Operand("emails.value", e.c.value_lower, lowered=True, nullable=False),
            "type": Operand("emails.type", e.c.type),
            "primary": Operand("emails.primary", e.c.primary, Kind.BOOLEAN, nullable=False),
        }
        return Rows(operands, semi_join(dialect, users.c.id, e.c.user_id, e))

    return Collection("emails", open_rows)


def _user_groups(dialect: str) -> Collection:
    """A user's ``groups`` (RFC 7643 §4.1.2): memberships, all direct, with the group's name."""

    def open_rows() -> Rows:
        gm, g = group_members.alias("gm"), groups.alias("g")
        operands = {
            "value": Operand("groups.value", gm.c.group_id, case_exact=True, nullable=False),
            "display": Operand("groups.display", g.c.display_name_lower, lowered=True, nullable=False),
            "type": Operand("groups.type", sa.literal("direct"), constant="direct"),
        }
        rows = gm.join(g, g.c.id == gm.c.group_id)
        return Rows(operands, semi_join(dialect, users.c.id, gm.c.user_id, rows))

    return Collection("groups", open_rows)


def _group_members(dialect: str) -> Collection:
    """A group's ``members`` (RFC 7643 §4.2): users, shown by display name or else ``userName``."""

    def open_rows() -> Rows:
        gm, u = group_members.alias("gm"), users.alias("u")
        display = sa.func.coalesce(u.c.display_name, u.c.user_name)
        operands = {
            "value": Operand("members.value", gm.c.user_id, case_exact=True, nullable=False),
            "display": Operand("members.display", display, nullable=False),
            "type": Operand("members.type", sa.literal("User"), constant="User"),
        }
        rows = gm.join(u, u.c.id == gm.c.user_id)
        return Rows(operands, semi_join(dialect, groups.c.id, gm.c.group_id, rows))

    return Collection("members", open_rows)


def _user_core(dialect: str) -> dict[str, Target]:
    """Every filterable core User attribute (RFC 7643 §4.1) and the common ones (§3.1)."""
    attributes: dict[str, Target] = {
        "id": Operand("id", users.c.id, case_exact=True, nullable=False),
        "externalid": Operand("externalId", users.c.external_id, case_exact=True),
        "username": Operand("userName", users.c.user_name_lower, lowered=True, nullable=False),
        "active": Operand("active", users.c.active, Kind.BOOLEAN, nullable=False),
        "meta": _meta(users, "User"),
        "name": Composite(
            "name",
            {p.name.lower(): _data_operand(dialect, f"name.{p.name}", ("name", p.name), p) for p in _NAME_PARTS},
        ),
        "emails": Selected(_emails(dialect), None),
        "groups": Selected(_user_groups(dialect), None),
    }
    for attr in _USER_JSON_STRINGS:
        attributes[attr.name.lower()] = _data_operand(dialect, attr.name, (attr.name,), attr)
    for name, parts in _USER_JSON_PLURALS.items():
        attributes[name.lower()] = Selected(_json_collection(dialect, name, parts), None)
    return attributes


def _user_enterprise(dialect: str) -> dict[str, Target]:
    """The enterprise User extension (RFC 7643 §4.3), kept under its URN in ``data``."""
    urn = ENTERPRISE_SCHEMA
    attributes: dict[str, Target] = {
        attr.name.lower(): _data_operand(dialect, attr.name, (urn, attr.name), attr) for attr in _ENTERPRISE_STRINGS
    }
    attributes["manager"] = Composite(
        "manager",
        {
            p.name.lower(): _data_operand(dialect, f"manager.{p.name}", (urn, "manager", p.name), p)
            for p in _MANAGER_PARTS
        },
    )
    return attributes


def _group_core(dialect: str) -> dict[str, Target]:
    """Every filterable Group attribute (RFC 7643 §4.2) and the common ones (§3.1)."""
    return {
        "id": Operand("id", groups.c.id, case_exact=True, nullable=False),
        "externalid": Operand("externalId", groups.c.external_id, case_exact=True),
        "displayname": Operand("displayName", groups.c.display_name_lower, lowered=True, nullable=False),
        "meta": _meta(groups, "Group"),
        "members": Selected(_group_members(dialect), None),
    }


RESOURCE_SCHEMAS: Mapping[str, tuple[tuple[str, Callable[[str], dict[str, Target]]], ...]] = {
    "User": ((USER_SCHEMA, _user_core), (ENTERPRISE_SCHEMA, _user_enterprise)),
    "Group": ((GROUP_SCHEMA, _group_core),),
}
"""The schemas of each resource type, in look-up order, with the builder of their attributes."""


# --------------------------------------------------------------------------- name resolution


class Scope(Protocol):
    """Where attribute names are looked up: a resource, or the values of a value filter."""

    def resolve(self, path: AttrPath) -> Target: ...


@dataclass(frozen=True, slots=True)
class ResourceScope:
    """The attributes of a User or a Group, unqualified or qualified by their schema URN.

    ``schemas`` holds the attributes of each schema by lower-cased URN, in look-up order.
    """

    resource: Resource
    schemas: Mapping[str, Mapping[str, Target]]

    def resolve(self, path: AttrPath) -> Target:
        attr = path.attr.lower()
        if attr in _NEVER_FILTERABLE:
            raise InvalidFilter(f"'{path}' can never be filtered on (RFC 7643 §4.1.1: it is never returned).")
        if path.uri is None:
            tables = list(self.schemas.values())
        elif path.uri.lower() in self.schemas:
            tables = [self.schemas[path.uri.lower()]]
        else:
            known = ", ".join(repr(urn) for urn, _ in RESOURCE_SCHEMAS[self.resource])
            raise InvalidFilter(f"Unknown schema '{path.uri}' in '{path}': {self.resource} has {known}.")
        for table in tables:
            if attr in table:
                return _descend(table[attr], path)
        raise InvalidFilter(f"Unknown attribute '{path}': {self.resource} resources have no such attribute.")


@functools.cache
def resource_scope(resource: Resource, dialect: str) -> ResourceScope:
    """The attribute names of a resource type, for one dialect.

    Built once per resource type and dialect: the expressions are immutable, and each use of a
    multi-valued attribute opens its own aliases.
    """
    schemas = {urn.lower(): build(dialect) for urn, build in RESOURCE_SCHEMAS[resource]}
    return ResourceScope(resource, schemas)


def _descend(target: Target, path: AttrPath) -> Target:
    """Apply the sub-attribute of ``path`` (``name.givenName``, ``emails.type``) to what ``attr`` names."""
    sub = path.sub_attr
    if sub is None:
        return target
    if isinstance(target, Composite):
        if sub.lower() not in target.parts:
            raise InvalidFilter(f"Unknown attribute '{path}': '{target.label}' has no sub-attribute '{sub}'.")
        return target.parts[sub.lower()]
    if isinstance(target, Selected):
        return Selected(target.collection, sub)
    raise InvalidFilter(f"Unknown attribute '{path}': '{target.label}' has no sub-attributes.")


@dataclass(frozen=True, slots=True)
class ValueScope:
    """Inside ``attr[...]``: names are sub-attributes of the one value being tested."""

    collection: Collection
    rows: Rows

    def resolve(self, path: AttrPath) -> Target:
        label = self.collection.label
        if path.uri is not None or path.sub_attr is not None:
            raise InvalidFilter(f"'{path}' inside '{label}[...]' must be a plain sub-attribute name of '{label}'.")
        return value_part(self.collection, self.rows, path.attr)


def value_part(collection: Collection, rows: Rows, name: str) -> Operand:
    """The sub-attribute ``name`` of the values of ``collection``, on ``rows``."""
    if name.lower() not in rows.parts:
        known = ", ".join(sorted(op.sub_name for op in rows.parts.values()))
        raise InvalidFilter(f"Unknown attribute '{collection.label}.{name}': filterable sub-attributes are {known}.")
    return rows.parts[name.lower()]
