"""Names kept with a lower-cased copy as their unique key (foundation: imports nothing of Gatehouse).

A role, a permission policy, a login option, an audit sink, a userName and a group's displayName are unique
regardless of case: the database keeps each lower-cased in a column of the same width, with the unique index.
Lower-casing can lengthen text (``"İ".lower()`` is two characters), so a name that fits may have a key that does
not; PostgreSQL then refuses the row (SQLite stores it). :func:`fits_folded` is the one check of both lengths.
"""

from __future__ import annotations


def fits_folded(name: str, limit: int) -> bool:
    """Whether ``name`` and its lower-cased form are each at most ``limit`` characters long."""
    return len(name) <= limit and len(name.lower()) <= limit


def folded_hint(name: str, limit: int) -> str:
    """What a refusal adds when ``name`` fits but its lower-cased form does not (else nothing): why a name of
    ``limit`` characters or fewer is refused."""
    return " (in lower case too, as names are compared)" if len(name) <= limit < len(name.lower()) else ""
