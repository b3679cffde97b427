"""One ``attr op value`` or ``attr pr`` of a SCIM filter against one operand (RFC 7644 §3.4.2.2).

Each predicate is two-valued, never SQL ``NULL``, so that ``not (...)`` is its exact complement: an
absent attribute satisfies no operator but ``ne``, ``eq null`` means "not present" and ``ne null``
"present". Strings whose ``caseExact`` is false compare case-insensitively, ``gt``/``lt`` lexically;
dates chronologically; booleans take ``eq`` and ``ne`` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from scim2_models.path import ORDERING_OPERATORS, STRING_OPERATORS, CompareOperator

from gatehouse.errors import InvalidFilter
from gatehouse.scim.filter_sql import Predicate
from gatehouse.store.records import utc_instant

_LIKE_ESCAPE = "\\"


class Kind(Enum):
    """The attribute data types of RFC 7643 §2.3 that the whitelist uses."""

    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"
    REFERENCE = "reference"
    BINARY = "binary"


TEXTUAL = (Kind.STRING, Kind.REFERENCE, Kind.BINARY)


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

    @property
    def sub_name(self) -> str:
        """The sub-attribute part of the label (``givenName`` of ``name.givenName``)."""
        return self.label.split(".", 1)[1]


def quote(value: Any) -> str:
    """A filter value as it would be written in a filter (JSON)."""
    return json.dumps(value)


def _holds(operand: Operand, predicate: Predicate) -> Predicate:
    """``predicate``, false (never ``NULL``) where the attribute is absent."""
    return sa.and_(operand.expr.is_not(None), predicate) if operand.nullable else predicate


def _fails(operand: Operand, predicate: Predicate) -> Predicate:
    """``predicate``, true (never ``NULL``) where the attribute is absent."""
    return sa.or_(operand.expr.is_(None), predicate) if operand.nullable else predicate


def _two_valued(op: CompareOperator, operand: Operand, predicate: Predicate) -> Predicate:
    """``predicate`` made never ``NULL``: an absent attribute satisfies ``ne`` and no other operator."""
    return _fails(operand, predicate) if op is CompareOperator.ne else _holds(operand, predicate)


def present(operand: Operand) -> Predicate:
    """RFC 7644 §3.4.2.2 ``pr``: a non-null value, and for strings a non-empty one."""
    if operand.constant is not None:
        return sa.true()
    if operand.kind in TEXTUAL:
        return _holds(operand, operand.expr != "")
    return operand.expr.is_not(None) if operand.nullable else sa.true()


def compare_null(op: CompareOperator, operand: Operand, presence: Predicate) -> Predicate:
    """``eq null`` is "not present", ``ne null`` is "present"; nothing else orders against null.

    ``presence`` is what "present" means for the attribute: :func:`present` of the operand, or of
    some value of a multi-valued attribute.
    """
    if op is CompareOperator.eq:
        return sa.not_(presence)
    if op is CompareOperator.ne:
        return presence
    raise InvalidFilter(f"'{operand.label} {op.value} null': null can only be compared with eq or ne.")


def compare(op: CompareOperator, operand: Operand, value: Any, dialect: str) -> Predicate:
    """One ``attr op value`` against one operand, by the type of the attribute (RFC 7644 §3.4.2.2)."""
    if value is None:
        return compare_null(op, operand, present(operand))
    if operand.constant is not None:
        return _compare_constant(op, operand, value)
    if operand.kind is Kind.BOOLEAN:
        return _compare_boolean(op, operand, value)
    if operand.kind is Kind.DATETIME:
        return _compare_datetime(op, operand, value)
    return _compare_string(op, operand, value, dialect)


_ORDERINGS: Mapping[CompareOperator, Callable[[Any, Any], Any]] = {
    CompareOperator.eq: lambda a, b: a == b,
    CompareOperator.ne: lambda a, b: a != b,
    CompareOperator.gt: lambda a, b: a > b,
    CompareOperator.ge: lambda a, b: a >= b,
    CompareOperator.lt: lambda a, b: a < b,
    CompareOperator.le: lambda a, b: a <= b,
}


def _compare_boolean(op: CompareOperator, operand: Operand, value: Any) -> Predicate:
    """Booleans take eq and ne only (RFC 7644 §3.4.2.2); ``"true"``/``"false"`` strings are accepted."""
    if op not in (CompareOperator.eq, CompareOperator.ne):
        raise InvalidFilter(
            f"'{operand.label} {op.value}': {operand.label} is a boolean, which only eq, ne and pr apply to."
        )
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidFilter(f"'{operand.label} {op.value} {quote(value)}': {operand.label} is a boolean.")
    sql_value = operand.bools[value] if operand.bools is not None else value
    return _two_valued(op, operand, _ORDERINGS[op](operand.expr, sql_value))


def _parse_datetime(operand: Operand, value: Any) -> datetime:
    """An RFC 7643 §2.3.5 dateTime (ISO 8601), in UTC; one without an offset is taken as UTC."""
    try:
        # RFC 3339 §5.6 allows a lower-case "t" and "z"; fromisoformat does not.
        moment = datetime.fromisoformat(value.upper()) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidFilter(
            f"{operand.label} is a dateTime: {quote(value)} is not an ISO 8601 date-time such as "
            '"2011-05-13T04:42:34Z" (RFC 7643 §2.3.5).'
        )
    found = utc_instant(moment)
    if found is None:
        raise InvalidFilter(f"{operand.label}: {quote(value)} lies outside the years 1 to 9999 in UTC.")
    return found


def _compare_datetime(op: CompareOperator, operand: Operand, value: Any) -> Predicate:
    """Dates compare chronologically (RFC 7644 §3.4.2.2); co, sw and ew do not apply to them."""
    if op in STRING_OPERATORS:
        raise InvalidFilter(
            f"'{operand.label} {op.value}': {operand.label} is a dateTime; co, sw and ew do not apply to it."
        )
    moment = sa.literal(_parse_datetime(operand, value), operand.expr.type)
    return _two_valued(op, operand, _ORDERINGS[op](operand.expr, moment))


def _as_text(op: CompareOperator, operand: Operand, value: Any) -> str:
    """The string operand; an integer is read as its decimal digits (``employeeNumber eq 42``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidFilter(
        f"'{operand.label} {op.value} {quote(value)}': {operand.label} is a string; compare it with a quoted string."
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


def _pattern(op: CompareOperator, escaped: str, wildcard: str) -> str:
    """``escaped`` with ``wildcard`` where co, sw or ew leave the value open."""
    prefix = "" if op is CompareOperator.sw else wildcard
    suffix = "" if op is CompareOperator.ew else wildcard
    return prefix + escaped + suffix


def _like_pattern(op: CompareOperator, text: str) -> str:
    """A LIKE pattern for co/sw/ew, with ``%``, ``_`` and the escape character escaped."""
    return _pattern(op, re.sub(r"([%_\\])", r"\\\1", text), "%")


def _glob_pattern(op: CompareOperator, text: str) -> str:
    """A SQLite GLOB pattern for co/sw/ew, each of ``*``, ``?`` and ``[`` made literal in brackets."""
    return _pattern(op, re.sub(r"([*?\[])", r"[\1]", text), "*")


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
    return _two_valued(op, operand, _ORDERINGS[op](left, right))


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
