"""Entity tags in ``If-Match`` / ``If-None-Match`` (RFC 7644 §3.14, RFC 9110 §13.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gatehouse.errors import PreconditionFailed

_VERSION = re.compile(r"[0-9]{1,30}")
"""A version in an entity tag; more digits than any version has are no version at all."""


@dataclass(frozen=True, slots=True)
class Precondition:
    """A parsed ``If-Match`` header: any version (``*``), or a set of acceptable versions."""

    any: bool
    versions: frozenset[int]

    def check(self, current_version: int) -> int:
        """Return the version to write against, or raise 412 when it does not match."""
        if self.any or current_version in self.versions:
            return current_version
        raise PreconditionFailed(f'The resource is at version W/"{current_version}", which does not match If-Match.')


def _versions(header: str) -> frozenset[int]:
    found: set[int] = set()
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith(("W/", "w/")):
            tag = tag[2:]
        tag = tag.strip().strip('"')
        if _VERSION.fullmatch(tag):  # ASCII digits only: str.isdigit() takes "²", which int() refuses
            found.add(int(tag))
    return frozenset(found)


def if_match(header: str | None) -> Precondition | None:
    """Parse ``If-Match``; ``None`` when absent. Weak comparison, as SCIM versions are weak tags."""
    if header is None or not header.strip():
        return None
    if header.strip() == "*":
        return Precondition(True, frozenset())
    return Precondition(False, _versions(header))


def none_match(header: str | None, current_version: int) -> bool:
    """Whether ``If-None-Match`` names the current version (the GET then answers 304)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return current_version in _versions(header)
