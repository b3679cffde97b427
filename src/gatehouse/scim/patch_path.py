"""PATCH paths (RFC 7644 §3.5.2): resolution against the attribute catalog, and value filters.

The path grammar is ``PATH = attrPath / valuePath [subAttr]`` with ``attrPath = [URI ":"] ATTRNAME
*1subAttr``. The schema URN prefix is matched here against the resource's schemas (so the dots of
``...:2.0:User`` are never read as sub-attributes); the rest is parsed by scim2-models' ``Path``
grammar. Names resolve case-insensitively to their canonical catalog entries (RFC 7643 §2.1).

Value filters (``emails[type eq "work"]``) are evaluated in Python over the entries of one resource's
own multi-valued attribute, with the operators of RFC 7644 §3.4.2.2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidFilterException, InvalidPathException, Path
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from gatehouse.errors import InvalidFilter, InvalidPath
from gatehouse.scim.attributes import AttributeDef, ResourceDef, SchemaDef


@dataclass(frozen=True, slots=True)
class Target:
    """What a PATCH path designates.

    ``attribute`` None means the whole block of an extension schema (the path is its bare URN).
    ``sub_attribute`` is the sub-attribute after a dot or after the filter's closing bracket.
    """

    text: str
    schema: SchemaDef
    attribute: AttributeDef | None
    sub_attribute: AttributeDef | None = None
    value_filter: FilterNode | None = None


def resolve_path(text: str, resource: ResourceDef) -> Target:
    """Resolve a PATCH ``path`` for ``resource``, or raise InvalidPath / InvalidFilter."""
    schema, rest = _split_schema(text, resource)
    if not rest:
        if schema is resource.core:
            raise InvalidPath(f"The path {text!r} names the core schema, not an attribute.")
        return Target(text, schema, None)
    node = _parse(rest, text)
    if isinstance(node, ValuePath):
        return _value_path_target(text, schema, node, resource)
    if isinstance(node, AttrPath) and node.uri is None:
        schema, attribute = _attribute(schema, node.attr, text, resource)
        sub = _sub_attribute(attribute, node.sub_attr, text)
        return Target(text, schema, attribute, sub)
    raise InvalidPath(f"The path {text!r} is not an attribute path such as 'name.givenName' or 'emails[...]'.")


def _split_schema(text: str, resource: ResourceDef) -> tuple[SchemaDef, str]:
    """Take a leading schema URN off ``text``: ``urn:...:enterprise:2.0:User:manager`` → manager."""
    lowered = text.lower()
    for schema in resource.schemas:
        urn = schema.urn.lower()
        if lowered == urn or lowered.startswith(urn + ":"):
            return schema, text[len(urn) + 1 :]
    if lowered.startswith("urn:"):
        raise InvalidPath(f"The path {text!r} names a schema that {resource.name} resources do not have.")
    return resource.core, text


def _parse(rest: str, text: str) -> Any:
    """Parse the part of a path after its schema, telling a bad filter from a bad path."""
    try:
        return Path(rest).ast
    except (InvalidPathException, InvalidFilterException, ValueError) as exc:
        reason = getattr(exc, "detail", None) or str(exc)
        if "[" in rest and _is_attribute_path(rest.split("[", 1)[0]):
            raise InvalidFilter(f"The value filter of path {text!r} is not valid: {reason}.") from None
        raise InvalidPath(f"The path {text!r} is not valid: {reason}.") from None


def _is_attribute_path(text: str) -> bool:
    try:
        return isinstance(Path(text).ast, AttrPath)
    except (InvalidPathException, InvalidFilterException, ValueError):
        return False


def _attribute(schema: SchemaDef, name: str, text: str, resource: ResourceDef) -> tuple[SchemaDef, AttributeDef]:
    """The attribute ``name`` of ``schema``; unqualified names may also be extension attributes."""
    attribute = schema.attribute(name)
    if attribute is not None:
        return schema, attribute
    if schema is resource.core:
        found = resource.find(name)
        if found is not None:
            return found
    raise InvalidPath(f"The path {text!r} names no attribute of {resource.name}: {name!r} is unknown.")


def _sub_attribute(attribute: AttributeDef, name: str | None, text: str) -> AttributeDef | None:
    if name is None:
        return None
    sub = attribute.sub_attribute(name)
    if sub is None:
        if not attribute.is_complex:
            raise InvalidPath(f"The path {text!r}: '{attribute.name}' has no sub-attributes.")
        raise InvalidPath(f"The path {text!r}: '{attribute.name}' has no sub-attribute {name!r}.")
    return sub


def _value_path_target(text: str, schema: SchemaDef, node: ValuePath, resource: ResourceDef) -> Target:
    attr_path = node.attr_path
    if attr_path.uri is not None or attr_path.sub_attr is not None:
        raise InvalidPath(f"The path {text!r} filters something that is not an attribute.")
    schema, attribute = _attribute(schema, attr_path.attr, text, resource)
    if not attribute.is_complex:
        raise InvalidPath(f"The path {text!r} filters '{attribute.name}', which has no sub-attributes.")
    _check_filter(node.val_filter, attribute, text)
    sub = _sub_attribute(attribute, node.sub_attr, text)
    return Target(text, schema, attribute, sub, node.val_filter)


def _check_filter(node: FilterNode, attribute: AttributeDef, text: str) -> None:
    """Every attribute a value filter compares must be a sub-attribute of the filtered attribute."""
    if isinstance(node, LogicalExpr):
        for term in node.terms:
            _check_filter(term, attribute, text)
    elif isinstance(node, Not):
        _check_filter(node.expr, attribute, text)
    elif isinstance(node, Comparison | Present):
        compared = node.attr_path
        if compared.uri is not None or compared.sub_attr is not None or not attribute.sub_attribute(compared.attr):
            raise InvalidFilter(
                f"The filter of path {text!r} compares {str(compared)!r}, "
                f"which is not a sub-attribute of '{attribute.name}'."
            )
    else:
        raise InvalidFilter(f"The filter of path {text!r} cannot hold a nested value filter.")


def matches(node: FilterNode, entry: Mapping[str, Any], attribute: AttributeDef) -> bool:
    """Whether one entry of ``attribute`` satisfies a value filter (RFC 7644 §3.4.2.2)."""
    if isinstance(node, LogicalExpr):
        results = (matches(term, entry, attribute) for term in node.terms)
        return all(results) if node.op == LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not matches(node.expr, entry, attribute)
    if isinstance(node, Present):
        return _sub_value(entry, attribute, node.attr_path)[1] not in (None, "", [], {})
    if isinstance(node, Comparison):
        sub, actual = _sub_value(entry, attribute, node.attr_path)
        return _compare(node.op, actual, node.value, sub is not None and sub.case_exact)
    return False


def _sub_value(
    entry: Mapping[str, Any], attribute: AttributeDef, compared: AttrPath
) -> tuple[AttributeDef | None, Any]:
    sub = attribute.sub_attribute(compared.attr)
    return sub, None if sub is None else entry.get(sub.name)


def _compare(op: CompareOperator, actual: Any, expected: Any, case_exact: bool) -> bool:
    """Compare one value with a filter's operand; strings fold case unless ``caseExact`` (RFC 7643 §2.2)."""
    if isinstance(actual, str) and isinstance(expected, str) and not case_exact:
        actual, expected = actual.lower(), expected.lower()
    if op == CompareOperator.eq:
        return actual is not None and _same(actual, expected)
    if op == CompareOperator.ne:
        return actual is None or not _same(actual, expected)
    if isinstance(actual, str) and isinstance(expected, str):
        return _compare_strings(op, actual, expected)
    if _is_number(actual) and _is_number(expected):
        return _order(op, actual, expected)
    return False


def _same(actual: Any, expected: Any) -> bool:
    """Equality that does not take ``true`` for ``1`` (JSON booleans are not numbers)."""
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    return type(actual) is type(expected) and bool(actual == expected)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare_strings(op: CompareOperator, actual: str, expected: str) -> bool:
    if op == CompareOperator.co:
        return expected in actual
    if op == CompareOperator.sw:
        return actual.startswith(expected)
    if op == CompareOperator.ew:
        return actual.endswith(expected)
    return _order(op, actual, expected)


def _order(op: CompareOperator, actual: Any, expected: Any) -> bool:
    if op == CompareOperator.gt:
        return bool(actual > expected)
    if op == CompareOperator.ge:
        return bool(actual >= expected)
    if op == CompareOperator.lt:
        return bool(actual < expected)
    if op == CompareOperator.le:
        return bool(actual <= expected)
    return False


def described_entry(node: FilterNode, attribute: AttributeDef) -> dict[str, Any] | None:
    """The entry a filter describes, if it is ``eq`` comparisons on sub-attributes joined by ``and``.

    Entra ID sends ``{"op": "replace", "path": "emails[type eq \\"work\\"].value", ...}`` to a user
    who has no work email yet, and expects the entry to be created (RFC 7644 §3.5.2.3 would answer
    noTarget): the entry gets the compared values, then the operation writes its value.
    """
    terms = node.terms if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_ else (node,)
    entry: dict[str, Any] = {}
    for term in terms:
        if not isinstance(term, Comparison) or term.op != CompareOperator.eq or term.value is None:
            return None
        sub = attribute.sub_attribute(term.attr_path.attr)
        if sub is None or entry.get(sub.name, term.value) != term.value:
            return None
        entry[sub.name] = term.value
    return entry
