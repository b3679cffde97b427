"""PATCH /Users/{id} and PATCH /Groups/{id} (RFC 7644 §3.5.2), without I/O.

A PatchOp body is read into operations, each normalised by ``gatehouse.resources.quirks`` (case of
``op``, string booleans, Entra ID's dotted and URN keys, Okta's ``id`` in a rename, Entra ID's
``remove`` with a value list, the manager forms), then applied by the one RFC-shaped engine of
``gatehouse.scim.patch_document`` to a copy of the stored document, which is re-validated at the
end. The engine never sees two things the store keeps apart: a user's ``password`` (returned in
``PatchedUser.password``) and a group's ``members`` (returned as ``MemberOp`` steps, in request
order, for the store to apply and to check the ids of).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator

from gatehouse.errors import (
    GatehouseError,
    InvalidFilter,
    InvalidInput,
    InvalidPath,
    InvalidSyntax,
    Mutability,
    NoTarget,
)
from gatehouse.resources import quirks
from gatehouse.resources.documents import GROUP_READ_ONLY, USER_READ_ONLY, Problem, check_group_doc, check_user_doc
from gatehouse.scim.attributes import GROUP, READ_ONLY, USER, WRITE_ONLY, ResourceDef
from gatehouse.scim.patch_document import DocumentPatch, Operation
from gatehouse.scim.patch_path import Target, resolve_path
from gatehouse.scim.payload import member_displays_of, member_ids_of

_MEMBERS_FILTER_HELP = (
    "only 'value eq \"<id>\"' comparisons, alone or joined by 'or', are supported in a members filter"
)


@dataclass(frozen=True)
class PatchedUser:
    """The patched user document, and the password the patch set (None if it set none)."""

    doc: dict[str, Any]
    password: str | None


@dataclass(frozen=True)
class MemberOp:
    """One change to a group's members: ``add``/``remove``/``replace`` these ids, or ``clear`` all."""

    kind: Literal["add", "remove", "replace", "clear"]
    ids: tuple[str, ...]
    displays: Mapping[str, str] = field(default_factory=dict)
    """The ``display`` sent with some of the ids (add and replace only)."""


@dataclass(frozen=True)
class PatchedGroup:
    """The patched group document, and the member changes in request order."""

    doc: dict[str, Any]
    member_ops: tuple[MemberOp, ...]


def patch_user(doc: dict[str, Any], body: object) -> PatchedUser:
    """Apply a PatchOp ``body`` to a user document (RFC 7644 §3.5.2; RFC 7643 §4.1, §4.3)."""
    operations = read_operations(body, USER)
    patch = DocumentPatch(USER, quirks.drop_read_only(doc, (*USER_READ_ONLY, "password")))
    password = None
    for operation in operations:
        with _located(operation):
            password = _apply_user_operation(patch, operation) or password
    return PatchedUser(_revalidated(patch, check_user_doc), password)


def patch_group(doc: dict[str, Any], body: object) -> PatchedGroup:
    """Apply a PatchOp ``body`` to a group document (RFC 7644 §3.5.2; RFC 7643 §4.2)."""
    operations = read_operations(body, GROUP)
    patch = DocumentPatch(GROUP, quirks.drop_read_only(doc, (*GROUP_READ_ONLY, "members")))
    member_ops: list[MemberOp] = []
    for operation in operations:
        with _located(operation):
            member_ops.extend(_apply_group_operation(patch, operation))
    return PatchedGroup(_revalidated(patch, check_group_doc), tuple(member_ops))


def read_operations(body: object, resource: ResourceDef) -> list[Operation]:
    """The normalised operations of a PatchOp message (RFC 7644 §3.5.2), or invalidSyntax."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The PATCH body must be a JSON object: a PatchOp message (RFC 7644 §3.5.2).")
    key = next((key for key in body if key.lower() == "operations"), None)
    if key is None:
        raise InvalidSyntax("The PATCH body has no 'Operations' array: it is not a PatchOp message (RFC 7644 §3.5.2).")
    raw = body[key]
    if not isinstance(raw, list):
        raise InvalidSyntax("'Operations' must be an array of operations (RFC 7644 §3.5.2).")
    if not raw:
        raise InvalidSyntax("'Operations' must hold at least one operation (RFC 7644 §3.5.2).")
    operations = (_operation(index, item, resource) for index, item in enumerate(raw))
    return [operation for operation in operations if operation is not None]


def _operation(index: int, item: object, resource: ResourceDef) -> Operation | None:
    """Check the shape of one operation and apply the quirk normalisations to it."""
    where = f"Operations[{index}]"
    if not isinstance(item, dict):
        raise InvalidSyntax(f"{where} must be an object with 'op', 'path' and 'value' members.")
    fields = {key.lower(): value for key, value in item.items()}
    op = quirks.normalize_op_name(fields.get("op"))
    if op is None:
        raise InvalidSyntax(f"{where}.op must be 'add', 'remove' or 'replace', not {fields.get('op')!r}.")
    path = fields.get("path")
    if path is not None and not isinstance(path, str):
        raise InvalidSyntax(f"{where}.path must be a string.")
    path = (path or "").strip() or None
    if path is None:
        return _pathless_operation(index, op, fields.get("value"), resource)
    if op != "remove" and "value" not in fields:
        raise InvalidSyntax(f"{where} ({op} {path!r}) has no 'value' (RFC 7644 §3.5.2.1, §3.5.2.3).")
    return _pathed_operation(index, op, path, "value" in fields, fields.get("value"))


def _pathless_operation(index: int, op: str, value: Any, resource: ResourceDef) -> Operation:
    """An operation on the resource itself: its value holds the attributes to add or replace."""
    if op == "remove":
        raise NoTarget(f"Operations[{index}] is a 'remove' without 'path' (RFC 7644 §3.5.2.2).")
    if not isinstance(value, dict):
        raise InvalidSyntax(
            f"Operations[{index}] ({op} without path) needs a 'value' object holding the attributes to {op}."
        )
    value = quirks.coerce_boolean_strings(value)
    value = quirks.expand_pathless_keys(value, resource.core.urn, [schema.urn for schema in resource.extensions])
    read_only = USER_READ_ONLY if resource is USER else GROUP_READ_ONLY
    return Operation(index, op, None, quirks.drop_read_only(quirks.drop_schemas(value), read_only), True)


def _pathed_operation(index: int, op: str, path: str, has_value: bool, value: Any) -> Operation | None:
    """An operation with a path; None for a ``remove`` listing no entries, which removes nothing."""
    value = quirks.unwrap_manager_list(path, quirks.coerce_boolean_at_path(path, value))
    if op != "remove":
        if quirks.is_manager_removal(path, value):
            return Operation(index, "remove", path)
        return Operation(index, op, path, value, has_value)
    if value is None or "[" in path:  # RFC 7644 §3.5.2.2: the path alone says what to remove
        return Operation(index, op, path)
    if value == []:
        return None
    filtered = quirks.remove_value_as_filter(path, value)
    if filtered is None:
        raise InvalidInput(
            f"Operations[{index}] (remove {path!r}): a 'remove' takes no value, or a list of objects "
            'selecting the entries to remove, such as [{"value": "<id>"}].'
        )
    return Operation(index, op, filtered)


@contextmanager
def _located(operation: Operation) -> Iterator[None]:
    """Prefix the detail of any error with the operation it came from."""
    try:
        yield
    except GatehouseError as exc:
        raise type(exc)(f"{operation.label}: {exc.detail}") from None


_BOOLEAN_ONLY = frozenset({"active"})


def _revalidated(
    patch: DocumentPatch, check: Callable[[Mapping[str, Any]], dict[str, Any] | Problem]
) -> dict[str, Any]:
    """Re-validate the patched document (RFC 7644 §3.5.2: the result must be a valid resource).

    A patch that only set booleans in :data:`_BOOLEAN_ONLY` (Okta's and Entra's deactivation and
    reactivation, the most frequent PATCH there is) leaves the rest of an already valid, canonical
    document untouched: re-validating it all would cost a full model round trip for nothing.
    """
    simple = patch.touched and set(patch.touched) <= _BOOLEAN_ONLY
    if simple and all(isinstance(patch.doc.get(name, False), bool) for name in patch.touched):
        return dict(patch.doc)
    result = check(patch.doc)
    if isinstance(result, Problem):
        index = patch.touched.get(result.attribute) if result.attribute else None
        culprit = f" (last changed by Operations[{index}])" if index is not None else ""
        raise InvalidInput(f"The patched resource is not valid{culprit}: {result.detail}")
    return result


def _apply_pathless(patch: DocumentPatch, operation: Operation, key: str, value: Any) -> None:
    """Apply one attribute of a pathless add/replace; unknown and read-only keys are ignored."""
    resource = patch.resource
    extension = resource.extension(key) if key.lower().startswith("urn:") else None
    if extension is not None:
        patch.apply(operation, Target(key, extension, None), value)
        return
    found = resource.find(key)
    if found is not None and found[1].mutability != READ_ONLY:
        patch.apply(operation, Target(key, *found), value)


def _apply_user_operation(patch: DocumentPatch, operation: Operation) -> str | None:
    """Apply one operation to a user; return the password it sets, if any."""
    if operation.path is None:
        password = None
        for key, value in operation.value.items():
            if key.lower() == "password":
                password = _password(operation.op, value)
            else:
                _apply_pathless(patch, operation, key, value)
        return password
    target = resolve_path(operation.path, USER)
    if target.attribute is not None and target.attribute.mutability == WRITE_ONLY:
        return _password(operation.op, operation.value)
    patch.apply(operation, target, operation.value)
    return None


def _password(op: str, value: Any) -> str:
    """The password an add/replace sets (RFC 7643 §4.1.1: writeOnly, never in the document)."""
    if op == "remove":
        raise Mutability("'password' can be set but not removed.")
    if not isinstance(value, str) or not value:
        raise InvalidInput("'password' must be a non-empty string.")
    return value


def _apply_group_operation(patch: DocumentPatch, operation: Operation) -> list[MemberOp]:
    """Apply one operation to a group; return the member changes it makes."""
    if operation.path is None:
        member_ops: list[MemberOp] = []
        for key, value in operation.value.items():
            if key.lower() == "members":
                member_ops.extend(_members_written(operation.op, value, "members"))
            else:
                _apply_pathless(patch, operation, key, value)
        return member_ops
    target = resolve_path(operation.path, GROUP)
    if target.attribute is not None and target.attribute.name == "members":
        return _member_ops(operation, target)
    patch.apply(operation, target, operation.value)
    return []


def _member_ops(operation: Operation, target: Target) -> list[MemberOp]:
    """The member changes of an operation whose path is ``members`` (RFC 7644 §3.5.2, Okta, Entra ID)."""
    if target.sub_attribute is not None:
        raise InvalidPath("Members are added and removed by 'value': their sub-attributes cannot be patched.")
    if operation.op == "remove":
        if target.value_filter is not None:
            return [MemberOp("remove", _filtered_ids(target.value_filter))]
        return [MemberOp("clear", ())]  # remove + path, no value: all members (RFC 7644 §3.5.2.2)
    if target.value_filter is not None:
        raise InvalidPath(f"A filter on 'members' only selects members to remove; {operation.op} takes a value list.")
    return _members_written(operation.op, operation.value, "value")


def _members_written(op: str, value: Any, where: str) -> list[MemberOp]:
    """An add or replace of members; a null replace clears them (RFC 7643 §2.5)."""
    if value is None:
        return [MemberOp("clear", ())] if op == "replace" else []
    ids = tuple(member_ids_of(value, where))
    displays = member_displays_of(value)
    if op == "replace":
        return [MemberOp("replace", ids, displays)]
    return [MemberOp("add", ids, displays)] if ids else []


def _filtered_ids(node: FilterNode) -> tuple[str, ...]:
    """The ids of ``members[value eq "a" or value eq "b"]``; any other filter is invalidFilter."""
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        ids = [member_id for term in node.terms for member_id in _filtered_ids(term)]
        return tuple(dict.fromkeys(ids))
    if isinstance(node, Comparison) and node.op == CompareOperator.eq and _is_value(node.attr_path):
        if isinstance(node.value, str) and node.value.strip():
            return (node.value,)
        raise InvalidInput("A member id in a members filter must be a non-empty string.")
    raise InvalidFilter(f"The members filter is not supported: {_MEMBERS_FILTER_HELP}.")


def _is_value(attr_path: AttrPath) -> bool:
    return attr_path.uri is None and attr_path.sub_attr is None and attr_path.attr.lower() == "value"
