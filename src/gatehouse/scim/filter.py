"""SCIM filters (RFC 7644 §3.4.2.2) and ``sortBy`` (RFC 7644 §3.4.2.3) compiled to SQLAlchemy Core.

A filter is parsed by scim2-models and its syntax tree is walked once, each node becoming a SQL
expression: nothing is ever evaluated in Python, so ``totalResults`` and paging stay in the database.

Attribute names resolve through a fixed whitelist (``filter_targets``) to columns, child tables or
members of the canonical SCIM JSON; each comparison is compiled by the type of its attribute
(``filter_comparisons``), with the SQL that differs between SQLite and PostgreSQL in ``filter_sql``.

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

import re
from typing import Any

import sqlalchemy as sa
from scim2_models import ScimFilter
from scim2_models.exceptions import InvalidFilterException
from scim2_models.path import (
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

from gatehouse.errors import InvalidFilter
from gatehouse.scim.filter_comparisons import TEXTUAL, Operand, compare, compare_null, present, quote
from gatehouse.scim.filter_sql import DIALECTS, Predicate, SortKey
from gatehouse.scim.filter_targets import (
    RESOURCE_SCHEMAS,
    Composite,
    Resource,
    Scope,
    Selected,
    Target,
    ValueScope,
    resource_scope,
    value_part,
)
from gatehouse.store.tables import users

__all__ = ["compile_filter", "compile_sort"]


# --------------------------------------------------------------------------- the tree walk


class _Compiler(FilterVisitor[Predicate]):
    """Turn each node of a parsed filter into a two-valued SQL predicate."""

    def __init__(self, scope: Scope, dialect: str) -> None:
        self.scope = scope
        self.dialect = dialect

    def visit_comparison(self, node: Comparison) -> Predicate:
        target = self.scope.resolve(node.attr_path)
        if isinstance(target, Operand):
            return compare(node.op, target, node.value, self.dialect)
        if isinstance(target, Composite):
            raise _complex_error(node.attr_path, target)
        return self._compare_values(node, target)

    def _compare_values(self, node: Comparison, target: Selected) -> Predicate:
        """A multi-valued attribute matches when one value does; ``ne`` when none equals the operand."""
        collection = target.collection
        name = target.sub_attr or collection.default
        if name is None:
            raise InvalidFilter(
                f"'{node.attr_path}' has no 'value' to compare: name a sub-attribute, e.g. '{collection.label}.type'."
            )
        rows = collection.open()
        operand = value_part(collection, rows, name)
        if node.value is None:
            return compare_null(node.op, operand, rows.some(present(operand)))
        if node.op is CompareOperator.ne:
            return sa.not_(rows.some(compare(CompareOperator.eq, operand, node.value, self.dialect)))
        return rows.some(compare(node.op, operand, node.value, self.dialect))

    def visit_present(self, node: Present) -> Predicate:
        target = self.scope.resolve(node.attr_path)
        if isinstance(target, Operand):
            return present(target)
        if isinstance(target, Composite):
            return sa.or_(*(present(part) for part in target.parts.values()))
        rows = target.collection.open()
        if target.sub_attr is None:
            return rows.some(None)
        return rows.some(present(value_part(target.collection, rows, target.sub_attr)))

    def visit_not(self, node: Not) -> Predicate:
        return sa.not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Predicate:
        terms = [self.visit(term) for term in node.terms]
        return sa.and_(*terms) if node.op is LogicalOperator.and_ else sa.or_(*terms)

    def visit_value_path(self, node: ValuePath) -> Predicate:
        """``attr[filter]``: one same value of ``attr`` satisfies the whole inner filter."""
        target = self.scope.resolve(node.attr_path)
        if not isinstance(target, Selected):
            raise InvalidFilter(f"'{node.attr_path}[...]': a value filter only applies to a multi-valued attribute.")
        rows = target.collection.open()
        inner = _Compiler(ValueScope(target.collection, rows), self.dialect).visit(node.val_filter)
        return rows.some(inner)


def _complex_error(path: AttrPath, target: Composite) -> InvalidFilter:
    parts = ", ".join(f"{target.label}.{op.sub_name}" for op in target.parts.values())
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
        quoted = f"{bare['path']} {bare['op']} {quote(bare['value'])}"
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
    if resource not in RESOURCE_SCHEMAS:
        raise ValueError(f"unknown resource type {resource!r}")
    if dialect not in DIALECTS:
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
    return _Compiler(resource_scope(resource, dialect), dialect).visit(node)


def compile_sort(sort_by: str | None, resource: Resource, dialect: str) -> SortKey | None:
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
        target = resource_scope(resource, dialect).resolve(node.attr_path)
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
    if target.kind in TEXTUAL and not target.case_exact and not target.lowered:
        return sa.func.lower(target.expr)
    return target.expr
