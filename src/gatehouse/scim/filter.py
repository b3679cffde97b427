"""SCIM filters (RFC 7644 §3.4.2.2) and ``sortBy`` (RFC 7644 §3.4.2.3) compiled to SQLAlchemy Core.

A filter is parsed by scim2-models and its syntax tree is walked once, each node becoming a SQL
expression: nothing is ever evaluated in Python, so ``totalResults`` and paging stay in the database.

Attributes come from a fixed whitelist (RFC 7643 §4.1 core User, §4.2 Group, §4.3 enterprise
extension, §3.1 common attributes), looked up case-insensitively (RFC 7643 §2.1), optionally
qualified by their schema URN. Each maps to one of:

* an indexed column (``id``, ``userName``, ``externalId``, ``active``, ``meta.created``, ...);
* a child table reached by a semi-join (``emails``, a user's ``groups``, a group's ``members``);
* a member of the canonical SCIM JSON in ``data`` (``name.givenName``, ``title``, enterprise
  attributes), or an element of one of its arrays (``phoneNumbers``, ``addresses``, ...).

Semantics chosen where RFC 7644 leaves room (each predicate is two-valued, never SQL ``NULL``, so
that ``not (...)`` is the exact complement):

* an absent attribute satisfies no operator but ``ne``: ``title ne "x"`` matches users without a
  title; ``eq null`` means "not present" and ``ne null`` means "present";
* on a multi-valued attribute ``ne`` holds when no value equals the operand
  (``emails.type ne "work"``: no work e-mail), every other operator when some value matches;
* a value filter (``emails[type eq "work" and value co "@x"]``) must hold on one same value;
* strings whose ``caseExact`` is false compare case-insensitively, ``gt``/``lt`` lexically;
* a comparison with a bare multi-valued attribute targets its ``value`` (``emails co "@x"``).

A filter Microsoft Entra sends without quotes (``externalId eq jyoung``) is accepted when the whole
filter is that one comparison: the bare word is quoted and the filter parsed again.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal, TypeAlias

import sqlalchemy as sa
from scim2_models import ScimFilter
from scim2_models.exceptions import InvalidFilterException
from scim2_models.path import (
    ORDERING_OPERATORS,
    STRING_OPERATORS,
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy.dialects import postgresql

from gatehouse.errors import InvalidFilter
from gatehouse.store.tables import group_members, groups, user_emails, users

Resource: TypeAlias = Literal["User", "Group"]
Predicate: TypeAlias = sa.ColumnElement[bool]

__all__ = ["compile_filter", "compile_sort"]

CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"

_DIALECTS = ("sqlite", "postgresql")
_LIKE_ESCAPE = "\\"


class Kind(Enum):
    """The attribute data types of RFC 7643 §2.3 that the whitelist uses."""

    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"
    REFERENCE = "reference"
    BINARY = "binary"


_TEXTUAL = (Kind.STRING, Kind.REFERENCE, Kind.BINARY)


# --------------------------------------------------------------------------- what a name resolves to


@dataclass(frozen=True, slots=True)
class Operand:
    """One comparable value of a row: a column, a JSON member, or a constant.

    ``lowered`` marks a column that already holds the lower-cased value (so the filter value is
    lower-cased instead of wrapping the column in ``lower()``, which keeps its index usable).
    ``bools`` are the SQL values a JSON member holds for false and true (a column uses its type).
    """

    label: str
    expr: sa.ColumnElement[Any]
    kind: Kind = Kind.STRING
    case_exact: bool = False
    lowered: bool = False
    nullable: bool = True
    bools: tuple[Any, Any] | None = None
    constant: str | None = None


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


# --------------------------------------------------------------------------- JSON access per dialect

_JSON_KEY = re.compile(r"\$?[A-Za-z][A-Za-z0-9$_.:-]*")


def _checked(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse a JSON key outside the attribute-name alphabet (keys only come from the whitelist)."""
    for key in keys:
        if not _JSON_KEY.fullmatch(key):
            raise ValueError(f"not a SCIM attribute name: {key!r}")
    return keys


def _sqlite_path(keys: tuple[str, ...]) -> str:
    """A SQLite JSON path with every key quoted: ``$."name"."givenName"``."""
    return "$" + "".join(f'."{key}"' for key in _checked(keys))


def _json_member(
    dialect: str, document: sa.ColumnElement[Any], keys: tuple[str, ...]
) -> sa.ColumnElement[Any]:
    """The scalar at ``keys`` in a JSON text column, ``NULL`` when absent.

    SQLite: ``json_extract(doc, '$."a"."b"')``; PostgreSQL: ``CAST(doc AS JSON) #>> '{a,b}'``. The
    path is always a bound parameter.
    """
    if dialect == "sqlite":
        return sa.func.json_extract(document, sa.literal(_sqlite_path(keys), sa.String))
    path = sa.literal(list(_checked(keys)), postgresql.ARRAY(sa.Text))
    return sa.cast(document, postgresql.JSON).op("#>>", return_type=sa.Text)(path)


def _json_elements(dialect: str, document: sa.ColumnElement[Any], key: str) -> sa.TableValuedAlias:
    """The elements of the array at ``key`` of a JSON text column, as a table with a ``value`` column."""
    if dialect == "sqlite":
        rows = sa.func.json_each(document, sa.literal(_sqlite_path((key,)), sa.String))
    else:
        array = sa.cast(document, postgresql.JSON).op("->", return_type=postgresql.JSON)(
            sa.literal(_checked((key,))[0], sa.Text)
        )
        rows = sa.func.json_array_elements(array)
    return rows.table_valued("value").alias("e")


def _element_member(dialect: str, element: sa.ColumnElement[Any], key: str) -> sa.ColumnElement[Any]:
    """A member of one array element (a JSON object)."""
    if dialect == "sqlite":
        return sa.func.json_extract(element, sa.literal(_sqlite_path((key,)), sa.String))
    return element.op("->>", return_type=sa.Text)(sa.literal(_checked((key,))[0], sa.Text))


def _json_bools(dialect: str) -> tuple[Any, Any]:
    """What a JSON ``false``/``true`` reads as: ``json_extract`` gives 0/1, ``->>`` gives text."""
    return (0, 1) if dialect == "sqlite" else ("false", "true")


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
    Attr(n)
    for n in ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
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

_ENTERPRISE_STRINGS = tuple(
    Attr(n) for n in ("employeeNumber", "costCenter", "organization", "division", "department")
)
"""RFC 7643 §4.3 enterprise User attributes."""

_MANAGER_PARTS = (Attr("value"), _reference("$ref"), Attr("displayName"))
"""RFC 7643 §4.3 ``manager``."""

_NEVER_FILTERABLE = {"password"}
"""RFC 7643 §4.1.1: ``password`` is never returned, hence never filtered on."""


def _json_operand(
    dialect: str, label: str, document: sa.ColumnElement[Any], keys: tuple[str, ...], attr: Attr
) -> Operand:
    return Operand(
        label,
        _json_member(dialect, document, keys),
        kind=attr.kind,
        case_exact=attr.case_exact,
        bools=_json_bools(dialect) if attr.kind is Kind.BOOLEAN else None,
    )


def _meta(table: sa.Table, resource: Resource) -> Composite:
    """RFC 7643 §3.1 ``meta``: its dates are columns; ``resourceType`` is known up front."""
    return Composite(
        "meta",
        {
            "created": Operand("meta.created", table.c.created, Kind.DATETIME, nullable=False),
            "lastmodified": Operand(
                "meta.lastModified", table.c.last_modified, Kind.DATETIME, nullable=False
            ),
            "resourcetype": Operand("meta.resourceType", sa.literal(resource), constant=resource),
        },
    )


def _json_collection(dialect: str, name: str, parts: tuple[Attr, ...]) -> Collection:
    """A multi-valued attribute kept as an array in ``users.data``: ``EXISTS`` over its elements."""

    def open_rows() -> Rows:
        elements = _json_elements(dialect, users.c.data, name)
        operands = {
            part.name.lower(): Operand(
                f"{name}.{part.name}",
                _element_member(dialect, elements.c.value, part.name),
                kind=part.kind,
                case_exact=part.case_exact,
                bools=_json_bools(dialect) if part.kind is Kind.BOOLEAN else None,
            )
            for part in parts
        }

        def some(condition: Predicate | None) -> Predicate:
            query: sa.Select[Any] = sa.select(sa.literal_column("1")).select_from(elements).correlate(users)
            return sa.exists(query if condition is None else query.where(condition))

        return Rows(operands, some)

    default = "value" if any(part.name == "value" for part in parts) else None
    return Collection(name, open_rows, default)


def _semi_join(
    dialect: str, outer: sa.Column[Any], inner: sa.ColumnElement[Any], rows: sa.FromClause
) -> Callable[[Predicate | None], Predicate]:
    """Build "some child row of the resource satisfies the condition", planned for each database.

    SQLite plans ``outer IN (SELECT inner ... WHERE condition)`` from the child's index (a correlated
    ``EXISTS`` would scan every resource); PostgreSQL turns ``EXISTS`` into a semi-join, and
    ``NOT EXISTS`` into an anti-join where ``NOT IN`` would be a hashed sub-plan.
    """

    def some(condition: Predicate | None) -> Predicate:
        conditions = [] if condition is None else [condition]
        if dialect == "sqlite":
            return outer.in_(sa.select(inner).select_from(rows).where(*conditions))
        query: sa.Select[Any] = sa.select(sa.literal_column("1")).select_from(rows)
        query = query.where(inner == outer, *conditions)
        return sa.exists(query.correlate(outer.table))

    return some


def _emails(dialect: str) -> Collection:
    """``emails``: one ``user_emails`` row per value, semi-joined so ``value eq`` uses its index."""

    def open_rows() -> Rows:
        e = user_emails.alias("e")
        operands = {
            "value": Operand("emails.value", e.c.value_lower, lowered=True, nullable=False),
            "type": Operand("emails.type", e.c.type),
            "primary": Operand("emails.primary", e.c.primary, Kind.BOOLEAN, nullable=False),
        }
        return Rows(operands, _semi_join(dialect, users.c.id, e.c.user_id, e))

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
        return Rows(operands, _semi_join(dialect, users.c.id, gm.c.user_id, rows))

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
        return Rows(operands, _semi_join(dialect, groups.c.id, gm.c.group_id, rows))

    return Collection("members", open_rows)


def _user_core(dialect: str) -> dict[str, Target]:
    """Every filterable core User attribute (RFC 7643 §4.1) and the common ones (§3.1)."""
    data = users.c.data
    attributes: dict[str, Target] = {
        "id": Operand("id", users.c.id, case_exact=True, nullable=False),
        "externalid": Operand("externalId", users.c.external_id, case_exact=True),
        "username": Operand("userName", users.c.user_name_lower, lowered=True, nullable=False),
        "active": Operand("active", users.c.active, Kind.BOOLEAN, nullable=False),
        "meta": _meta(users, "User"),
        "name": Composite(
            "name",
            {
                p.name.lower(): _json_operand(dialect, f"name.{p.name}", data, ("name", p.name), p)
                for p in _NAME_PARTS
            },
        ),
        "emails": Selected(_emails(dialect), None),
        "groups": Selected(_user_groups(dialect), None),
    }
    for attr in _USER_JSON_STRINGS:
        attributes[attr.name.lower()] = _json_operand(dialect, attr.name, data, (attr.name,), attr)
    for name, parts in _USER_JSON_PLURALS.items():
        attributes[name.lower()] = Selected(_json_collection(dialect, name, parts), None)
    return attributes


def _user_enterprise(dialect: str) -> dict[str, Target]:
    """The enterprise User extension (RFC 7643 §4.3), kept under its URN in ``data``."""
    data, urn = users.c.data, ENTERPRISE_USER_URN
    attributes: dict[str, Target] = {
        attr.name.lower(): _json_operand(dialect, attr.name, data, (urn, attr.name), attr)
        for attr in _ENTERPRISE_STRINGS
    }
    attributes["manager"] = Composite(
        "manager",
        {
            p.name.lower(): _json_operand(dialect, f"manager.{p.name}", data, (urn, "manager", p.name), p)
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


@functools.cache
def _schemas(resource: Resource, dialect: str) -> Mapping[str, Mapping[str, Target]]:
    """The attributes of a resource type by lower-cased schema URN, in look-up order.

    Built once per resource type and dialect: the expressions are immutable, and each use of a
    multi-valued attribute opens its own aliases.
    """
    if resource == "User":
        return {
            CORE_USER_URN.lower(): _user_core(dialect),
            ENTERPRISE_USER_URN.lower(): _user_enterprise(dialect),
        }
    return {CORE_GROUP_URN.lower(): _group_core(dialect)}


# --------------------------------------------------------------------------- name resolution


class _Scope:
    """Where attribute names are looked up: a resource, or the values of a value filter."""

    def resolve(self, path: AttrPath) -> Target:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _ResourceScope(_Scope):
    """The attributes of a User or a Group, unqualified or qualified by their schema URN."""

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
            known = ", ".join(repr(urn) for urn in _schema_names(self.resource))
            raise InvalidFilter(f"Unknown schema '{path.uri}' in '{path}': {self.resource} has {known}.")
        for table in tables:
            if attr in table:
                return _descend(table[attr], path)
        raise InvalidFilter(f"Unknown attribute '{path}': {self.resource} resources have no such attribute.")


def _schema_names(resource: Resource) -> tuple[str, ...]:
    return (CORE_USER_URN, ENTERPRISE_USER_URN) if resource == "User" else (CORE_GROUP_URN,)


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
class _ValueScope(_Scope):
    """Inside ``attr[...]``: names are sub-attributes of the one value being tested."""

    collection: Collection
    rows: Rows

    def resolve(self, path: AttrPath) -> Target:
        label = self.collection.label
        if path.uri is not None or path.sub_attr is not None:
            raise InvalidFilter(
                f"'{path}' inside '{label}[...]' must be a plain sub-attribute name of '{label}'."
            )
        return _part(self.collection, self.rows, path.attr)


def _part(collection: Collection, rows: Rows, name: str) -> Operand:
    if name.lower() not in rows.parts:
        known = ", ".join(sorted(op.label.split(".", 1)[1] for op in rows.parts.values()))
        raise InvalidFilter(
            f"Unknown attribute '{collection.label}.{name}': filterable sub-attributes are {known}."
        )
    return rows.parts[name.lower()]


# --------------------------------------------------------------------------- comparisons


def _quote(value: Any) -> str:
    return json.dumps(value)


def _holds(operand: Operand, predicate: Predicate) -> Predicate:
    """``predicate``, false (never ``NULL``) where the attribute is absent."""
    return sa.and_(operand.expr.is_not(None), predicate) if operand.nullable else predicate


def _fails(operand: Operand, predicate: Predicate) -> Predicate:
    """``predicate``, true (never ``NULL``) where the attribute is absent."""
    return sa.or_(operand.expr.is_(None), predicate) if operand.nullable else predicate


def _present(operand: Operand) -> Predicate:
    """RFC 7644 §3.4.2.2 ``pr``: a non-null value, and for strings a non-empty one."""
    if operand.constant is not None:
        return sa.true()
    if operand.kind in _TEXTUAL:
        return _holds(operand, operand.expr != "")
    return operand.expr.is_not(None) if operand.nullable else sa.true()


def _compare(op: CompareOperator, operand: Operand, value: Any, dialect: str) -> Predicate:
    """One ``attr op value`` against one operand, by the type of the attribute (RFC 7644 §3.4.2.2)."""
    if value is None:
        return _compare_null(op, operand)
    if operand.constant is not None:
        return _compare_constant(op, operand, value)
    if operand.kind is Kind.BOOLEAN:
        return _compare_boolean(op, operand, value)
    if operand.kind is Kind.DATETIME:
        return _compare_datetime(op, operand, value)
    return _compare_string(op, operand, value, dialect)


def _compare_null(op: CompareOperator, operand: Operand) -> Predicate:
    """``eq null`` is "not present", ``ne null`` is "present"; nothing else orders against null."""
    if op is CompareOperator.eq:
        return sa.not_(_present(operand))
    if op is CompareOperator.ne:
        return _present(operand)
    raise InvalidFilter(f"'{operand.label} {op.value} null': null can only be compared with eq or ne.")


def _compare_boolean(op: CompareOperator, operand: Operand, value: Any) -> Predicate:
    """Booleans take eq and ne only (RFC 7644 §3.4.2.2); ``"true"``/``"false"`` strings are accepted."""
    if op not in (CompareOperator.eq, CompareOperator.ne):
        raise InvalidFilter(
            f"'{operand.label} {op.value}': {operand.label} is a boolean, which only eq, ne and pr apply to."
        )
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidFilter(f"'{operand.label} {op.value} {_quote(value)}': {operand.label} is a boolean.")
    sql_value = operand.bools[value] if operand.bools is not None else value
    if op is CompareOperator.eq:
        return _holds(operand, operand.expr == sql_value)
    return _fails(operand, operand.expr != sql_value)


def _parse_datetime(operand: Operand, value: Any) -> datetime:
    """An RFC 7643 §2.3.5 dateTime (ISO 8601), in UTC; one without an offset is taken as UTC."""
    try:
        # RFC 3339 §5.6 allows a lower-case "t" and "z"; fromisoformat does not.
        moment = datetime.fromisoformat(value.upper()) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidFilter(
            f"{operand.label} is a dateTime: {_quote(value)} is not an ISO 8601 date-time such as "
            '"2011-05-13T04:42:34Z" (RFC 7643 §2.3.5).'
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_ORDERINGS: Mapping[CompareOperator, Callable[[Any, Any], Any]] = {
    CompareOperator.eq: lambda a, b: a == b,
    CompareOperator.ne: lambda a, b: a != b,
    CompareOperator.gt: lambda a, b: a > b,
    CompareOperator.ge: lambda a, b: a >= b,
    CompareOperator.lt: lambda a, b: a < b,
    CompareOperator.le: lambda a, b: a <= b,
}


def _compare_datetime(op: CompareOperator, operand: Operand, value: Any) -> Predicate:
    """Dates compare chronologically (RFC 7644 §3.4.2.2); co, sw and ew do not apply to them."""
    if op in STRING_OPERATORS:
        raise InvalidFilter(
            f"'{operand.label} {op.value}': {operand.label} is a dateTime; co, sw and ew do not apply to it."
        )
    moment = sa.literal(_parse_datetime(operand, value), operand.expr.type)
    predicate: Predicate = _ORDERINGS[op](operand.expr, moment)
    return _fails(operand, predicate) if op is CompareOperator.ne else _holds(operand, predicate)


def _as_text(op: CompareOperator, operand: Operand, value: Any) -> str:
    """The string operand; an integer is read as its decimal digits (``employeeNumber eq 42``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidFilter(
        f"'{operand.label} {op.value} {_quote(value)}': {operand.label} is a string; "
        "compare it with a quoted string."
    )


def _fold(operand: Operand, text: str) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """Both sides of a string comparison, case-folded when ``caseExact`` is false (RFC 7643 §2.1).

    A column that holds lower-cased values is compared with the value lower-cased in Python, as it
    was stored, so that its index applies; any other one is compared with ``lower()`` on both sides.
    """
    if operand.case_exact:
        return operand.expr, sa.literal(text, sa.String)
    if operand.lowered:
        return operand.expr, sa.literal(text.lower(), sa.String)
    return sa.func.lower(operand.expr), sa.func.lower(sa.literal(text, sa.String))


def _like_pattern(op: CompareOperator, text: str) -> str:
    """A LIKE pattern for co/sw/ew, with ``%``, ``_`` and the escape character escaped."""
    escaped = re.sub(r"([%_\\])", r"\\\1", text)
    prefix = "" if op is CompareOperator.sw else "%"
    suffix = "" if op is CompareOperator.ew else "%"
    return prefix + escaped + suffix


def _glob_pattern(op: CompareOperator, text: str) -> str:
    """A SQLite GLOB pattern for co/sw/ew, each of ``*``, ``?`` and ``[`` made literal in brackets."""
    escaped = re.sub(r"([*?\[])", r"[\1]", text)
    prefix = "" if op is CompareOperator.sw else "*"
    suffix = "" if op is CompareOperator.ew else "*"
    return prefix + escaped + suffix


def _substring(op: CompareOperator, operand: Operand, text: str, dialect: str) -> Predicate:
    """co, sw, ew (RFC 7644 §3.4.2.2) as LIKE with an explicit ESCAPE.

    SQLite's LIKE ignores ASCII case, so a case-exact attribute uses GLOB there instead.
    """
    if operand.case_exact and dialect == "sqlite":
        return operand.expr.op("GLOB", return_type=sa.Boolean)(sa.literal(_glob_pattern(op, text), sa.String))
    left, _ = _fold(operand, text)
    _, pattern = _fold(operand, _like_pattern(op, text))
    return left.like(pattern, escape=_LIKE_ESCAPE)


def _compare_string(op: CompareOperator, operand: Operand, value: Any, dialect: str) -> Predicate:
    """Strings: equality, substring and lexical order (RFC 7644 §3.4.2.2).

    On PostgreSQL, ordering compares with the ``"C"`` collation, byte-wise as SQLite does, so the
    result does not depend on the database's locale.
    """
    text = _as_text(op, operand, value)
    if op in ORDERING_OPERATORS and operand.kind is Kind.BINARY:
        raise InvalidFilter(f"'{operand.label} {op.value}': gt, ge, lt and le do not apply to binary values.")
    if op in STRING_OPERATORS:
        return _holds(operand, _substring(op, operand, text, dialect))
    left, right = _fold(operand, text)
    if op in ORDERING_OPERATORS and dialect == "postgresql":
        left = sa.collate(left, "C")
    predicate: Predicate = _ORDERINGS[op](left, right)
    return _fails(operand, predicate) if op is CompareOperator.ne else _holds(operand, predicate)


_IN_PYTHON: Mapping[CompareOperator, Callable[[str, str], bool]] = {
    **_ORDERINGS,
    CompareOperator.co: lambda a, b: b in a,
    CompareOperator.sw: lambda a, b: a.startswith(b),
    CompareOperator.ew: lambda a, b: a.endswith(b),
}


def _compare_constant(op: CompareOperator, operand: Operand, value: Any) -> Predicate:
    """An attribute every row shares (``meta.resourceType``) folds to true or false, case-insensitively."""
    assert operand.constant is not None
    matched = _IN_PYTHON[op](operand.constant.lower(), _as_text(op, operand, value).lower())
    return sa.true() if matched else sa.false()


# --------------------------------------------------------------------------- the tree walk


class _Compiler(FilterVisitor[Predicate]):
    """Turn each node of a parsed filter into a two-valued SQL predicate."""

    def __init__(self, scope: _Scope, dialect: str) -> None:
        self.scope = scope
        self.dialect = dialect

    def visit_comparison(self, node: Comparison) -> Predicate:
        target = self.scope.resolve(node.attr_path)
        if isinstance(target, Operand):
            return _compare(node.op, target, node.value, self.dialect)
        if isinstance(target, Composite):
            raise _complex_error(node.attr_path, target)
        return self._compare_values(node, target)

    def _compare_values(self, node: Comparison, target: Selected) -> Predicate:
        """A multi-valued attribute matches when one value does; ``ne`` when none equals the operand."""
        collection = target.collection
        name = target.sub_attr or collection.default
        if name is None:
            raise InvalidFilter(
                f"'{node.attr_path}' has no 'value' to compare: name a sub-attribute, "
                f"e.g. '{collection.label}.type'."
            )
        rows = collection.open()
        operand = _part(collection, rows, name)
        if node.value is None:
            return self._null_values(node.op, operand, rows)
        if node.op is CompareOperator.ne:
            return sa.not_(rows.some(_compare(CompareOperator.eq, operand, node.value, self.dialect)))
        return rows.some(_compare(node.op, operand, node.value, self.dialect))

    @staticmethod
    def _null_values(op: CompareOperator, operand: Operand, rows: Rows) -> Predicate:
        present = rows.some(_present(operand))
        if op is CompareOperator.eq:
            return sa.not_(present)
        if op is CompareOperator.ne:
            return present
        raise InvalidFilter(f"'{operand.label} {op.value} null': null can only be compared with eq or ne.")

    def visit_present(self, node: Present) -> Predicate:
        target = self.scope.resolve(node.attr_path)
        if isinstance(target, Operand):
            return _present(target)
        if isinstance(target, Composite):
            return sa.or_(*(_present(part) for part in target.parts.values()))
        rows = target.collection.open()
        if target.sub_attr is None:
            return rows.some(None)
        return rows.some(_present(_part(target.collection, rows, target.sub_attr)))

    def visit_not(self, node: Not) -> Predicate:
        return sa.not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Predicate:
        terms = [self.visit(term) for term in node.terms]
        return sa.and_(*terms) if node.op is LogicalOperator.and_ else sa.or_(*terms)

    def visit_value_path(self, node: ValuePath) -> Predicate:
        """``attr[filter]``: one same value of ``attr`` satisfies the whole inner filter."""
        target = self.scope.resolve(node.attr_path)
        if not isinstance(target, Selected):
            raise InvalidFilter(
                f"'{node.attr_path}[...]': a value filter only applies to a multi-valued attribute."
            )
        rows = target.collection.open()
        inner = _Compiler(_ValueScope(target.collection, rows), self.dialect).visit(node.val_filter)
        return rows.some(inner)


def _complex_error(path: AttrPath, target: Composite) -> InvalidFilter:
    parts = ", ".join(f"{target.label}.{op.label.split('.', 1)[1]}" for op in target.parts.values())
    return InvalidFilter(f"'{path}' is a complex attribute: compare one of its sub-attributes ({parts}).")


# --------------------------------------------------------------------------- parsing

_BARE_COMPARISON = re.compile(
    r"\s*(?P<path>[^\s\"()\[\]]+)\s+(?P<op>eq|ne|co|sw|ew|gt|ge|lt|le)\s+(?P<value>[^\s\"()\[\]]+)\s*",
    re.IGNORECASE,
)
"""The one unquoted shape accepted, ``attr op bareword`` as the whole filter (Microsoft Entra)."""

_KEYWORDS = {"and", "or", "not"}


def _parse(expression: str) -> FilterNode:
    """Parse with scim2-models; a lone ``attr op bareword`` is retried with the word quoted."""
    try:
        return ScimFilter(expression).ast
    except InvalidFilterException as exc:
        failure = exc
    bare = _BARE_COMPARISON.fullmatch(expression)
    if bare is not None and bare["value"].lower() not in _KEYWORDS:
        quoted = f"{bare['path']} {bare['op']} {_quote(bare['value'])}"
        try:
            return ScimFilter(quoted).ast
        except InvalidFilterException:
            pass
    shown = expression if len(expression) <= 200 else expression[:200] + "..."
    raise InvalidFilter(
        f"Invalid filter {shown!r}: {failure.detail}. A filter compares an attribute with a value, "
        'e.g. userName eq "bjensen" (RFC 7644 §3.4.2.2).'
    ) from failure


def _check(resource: str, dialect: str) -> None:
    if resource not in ("User", "Group"):
        raise ValueError(f"unknown resource type {resource!r}")
    if dialect not in _DIALECTS:
        raise ValueError(f"unsupported SQL dialect {dialect!r}")


# --------------------------------------------------------------------------- public API


def compile_filter(expression: str, resource: Resource, dialect: str) -> Predicate:
    """The SQL condition selecting the ``resource`` rows that ``expression`` matches (RFC 7644 §3.4.2.2).

    The condition applies to the ``users`` table (``"User"``) or ``groups`` (``"Group"``); ``dialect``
    is ``"sqlite"`` or ``"postgresql"``. Every value is a bound parameter.

    :raises InvalidFilter: the filter is not valid, or names an attribute or compares it in a way
        that is not supported. Nothing else is raised for any filter text.
    """
    _check(resource, dialect)
    node = _parse(expression)
    scope = _ResourceScope(resource, _schemas(resource, dialect))
    return _Compiler(scope, dialect).visit(node)


def compile_sort(sort_by: str | None, resource: Resource, dialect: str) -> sa.ColumnElement[Any] | None:
    """The ``ORDER BY`` key for ``sortBy`` (RFC 7644 §3.4.2.3), or ``None`` to keep the default order.

    Strings whose ``caseExact`` is false sort case-insensitively. The primary e-mail stands for
    ``emails``. An unknown, multi-valued or complex attribute is ignored (``None``), as RFC 7644
    §3.4.2.3 lets a provider do; the caller adds ``id`` as the final tie-break.
    """
    _check(resource, dialect)
    if sort_by is None or not sort_by.strip():
        return None
    try:
        node = ScimFilter(f"{sort_by.strip()} pr").ast
        if not isinstance(node, Present):
            return None
        target = _ResourceScope(resource, _schemas(resource, dialect)).resolve(node.attr_path)
    except (InvalidFilterException, InvalidFilter):
        return None
    return _sort_key(target, resource)


def _sort_key(target: Target, resource: Resource) -> sa.ColumnElement[Any] | None:
    if isinstance(target, Selected):
        is_email = resource == "User" and target.collection.label == "emails"
        is_value = target.sub_attr is None or target.sub_attr.lower() == "value"
        return users.c.email_lower if is_email and is_value else None
    if isinstance(target, Composite) or target.constant is not None:
        return None
    if target.kind in _TEXTUAL and not target.case_exact and not target.lowered:
        return sa.func.lower(target.expr)
    return target.expr
