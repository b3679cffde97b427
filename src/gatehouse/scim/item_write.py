"""A write to one resource: PUT (RFC 7644 §3.5.1) or PATCH (§3.5.2) of ``/Users/{id}`` or ``/Groups/{id}``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gatehouse.scim.auth import ScimClient
from gatehouse.scim.preconditions import Precondition
from gatehouse.scim.projection import Projection
from gatehouse.store.database import Connection


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


S = TypeVar("S", bound=Versioned)


@dataclass(frozen=True, slots=True)
class ItemWrite:
    """The request's resource id, its body, its ``If-Match`` (§3.14), the attributes to answer with (§3.9), and
    the client that sent it. ``answer`` is false when the response carries no resource (a Group PATCH that
    asked for none answers 204)."""

    resource_id: str
    body: object
    precondition: Precondition | None
    projection: Projection
    caller: ScimClient | None = None
    answer: bool = True

    def expected(self, current_version: int) -> int:
        """The version to write at: the stored one, once ``If-Match`` (when sent) accepts it (else 412)."""
        return self.precondition.check(current_version) if self.precondition else current_version

    def locked(
        self, connection: Connection, lock: Callable[[Connection, str], object], load: Callable[[Connection, str], S]
    ) -> tuple[S, int]:
        """Lock the resource's row (concurrent writes of one resource queue up, so none fails with 412 unasked),
        load it (404 if gone): the stored resource and the version to write at."""
        lock(connection, self.resource_id)
        stored = load(connection, self.resource_id)
        return stored, self.expected(stored.version)
