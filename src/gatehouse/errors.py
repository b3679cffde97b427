"""One domain error hierarchy, rendered by each surface (SCIM, dashboard, JSON API) in its own way.

Each class carries the HTTP ``status`` it maps to and, where RFC 7644 §3.12 (Table 9) defines one,
the SCIM ``scim_type``. Services raise these; they never build responses themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


class GatehouseError(Exception):
    """Base of every error that a request may legitimately end with."""

    status: int = 400
    scim_type: str | None = None
    default_detail: str = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidInput(GatehouseError):
    """The request is malformed or a value is not acceptable (RFC 7644 §3.12 ``invalidValue``)."""

    scim_type = "invalidValue"
    default_detail = "A required value was missing, or the value specified was not compatible."


class FieldProblems(InvalidInput):
    """Several fields of one form or body are not acceptable: :attr:`fields` maps each field (dotted for a
    nested one, e.g. ``ldap.host``) to its sentence, so that a surface shows every problem at once, beside
    its field; the detail is the sentences in order."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__(" ".join(self.fields.values()))


class Findings:
    """Collects the problems of a form's fields instead of stopping at the first: :meth:`check` runs one
    field's check, :meth:`add` records a problem found inline, :meth:`done` raises them all together
    (:class:`FieldProblems`). The first problem of a field is the one kept."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, field: str, sentence: str) -> None:
        self.found.setdefault(field, sentence)

    def check(self, field: str, check: Callable[[], T], fallback: T) -> T:
        """``check()``, or ``fallback`` when it refuses. A refusal of several fields (:class:`FieldProblems`)
        is merged under ``field`` (``ldap`` and ``host`` make ``ldap.host``; an empty ``field``: as they are)."""
        try:
            return check()
        except InvalidInput as problem:
            self.take(problem, field)
        return fallback

    def take(self, problem: InvalidInput, field: str = "") -> None:
        """Record a refusal: each field of a :class:`FieldProblems` (under ``field``), else its detail."""
        if isinstance(problem, FieldProblems):
            for name, sentence in problem.fields.items():
                self.add(f"{field}.{name}" if field else name, sentence)
        else:
            self.add(field, problem.detail)

    def done(self) -> None:
        """Raise what was found, if anything."""
        if self.found:
            raise FieldProblems(self.found)


class InvalidSyntax(InvalidInput):
    """The request body could not be parsed (RFC 7644 §3.12 ``invalidSyntax``)."""

    scim_type = "invalidSyntax"
    default_detail = "The request body message structure was invalid."


class InvalidFilter(InvalidInput):
    """The filter is unparseable or uses what is not supported (RFC 7644 §3.12 ``invalidFilter``)."""

    scim_type = "invalidFilter"
    default_detail = "The specified filter syntax was invalid or the attribute is not supported."


class InvalidPath(InvalidInput):
    """A PATCH path is not valid for the resource (RFC 7644 §3.12 ``invalidPath``)."""

    scim_type = "invalidPath"
    default_detail = "The path attribute was invalid or malformed."


class NoTarget(InvalidInput):
    """A PATCH path yielded nothing to operate on (RFC 7644 §3.12 ``noTarget``)."""

    scim_type = "noTarget"
    default_detail = "The specified path did not yield an attribute or attribute value to operate on."


class Mutability(InvalidInput):
    """An attempt to change a read-only or immutable attribute (RFC 7644 §3.12 ``mutability``)."""

    scim_type = "mutability"
    default_detail = "The attempted modification is not compatible with the attribute's mutability."


class Unauthorized(GatehouseError):
    """No valid credentials were presented."""

    status = 401
    default_detail = "Authentication is required: send 'Authorization: Bearer <token>'."


class Forbidden(GatehouseError):
    """The caller is known but may not do this."""

    status = 403
    default_detail = "You are not allowed to perform this operation."


class Protected(Forbidden):
    """A change that built-in roles and policies, or Super Admin accounts, cannot undergo."""


class NotFound(GatehouseError):
    """The resource does not exist (or is invisible to the caller)."""

    status = 404
    default_detail = "Resource not found."


def existing(value: T | None, detail: str) -> T:
    """``value``, what a look-up found; :class:`NotFound` with ``detail`` when it found nothing (``None``)."""
    if value is None:
        raise NotFound(detail)
    return value


class MethodNotAllowed(GatehouseError):
    """The endpoint does not support this HTTP method."""

    status = 405
    default_detail = "This method is not allowed on this endpoint."


class Conflict(GatehouseError):
    """A uniqueness constraint would be violated (RFC 7644 §3.12 ``uniqueness``)."""

    status = 409
    scim_type = "uniqueness"
    default_detail = "One or more of the attribute values are already in use or are reserved."


class PreconditionFailed(GatehouseError):
    """The resource changed since the version the client holds (RFC 7644 §3.14)."""

    status = 412
    default_detail = "The resource has changed: its version does not match If-Match."


class PayloadTooLarge(GatehouseError):
    """The request body exceeds the configured limit (RFC 7644 §3.7.3)."""

    status = 413
    default_detail = "The request body is too large."


class UnsupportedMediaType(GatehouseError):
    """The request body is not JSON."""

    status = 415
    default_detail = "Send application/scim+json or application/json."


class TooManyRequests(GatehouseError):
    """The caller is being throttled."""

    status = 429
    default_detail = "Too many requests; retry later."
    retry_after: int = 60
    """Seconds the caller should wait (``Retry-After``)."""


class NotImplementedFeature(GatehouseError):
    """The endpoint exists in the protocol but is not implemented (RFC 7644 §3.11 ``/Me``)."""

    status = 501
    default_detail = "This operation is not implemented."
