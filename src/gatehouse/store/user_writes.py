"""How many times this process added or removed users: what the counts and positions a process keeps about the
users table depend on (:mod:`gatehouse.store.page_anchors`, the guard's population in
:mod:`gatehouse.store.scim_guard`). Other processes' writes are not seen here; those caches expire on their own."""

from __future__ import annotations

_added = 0
_removed = 0


def added() -> None:
    """A user was created, or handed to another source (it joins that source's listing)."""
    global _added
    _added += 1


def removed() -> None:
    """A user was deleted."""
    global _removed
    _removed += 1


def additions() -> int:
    """How many users this process added (created or handed over)."""
    return _added


def generation() -> int:
    """How many times this process added or removed users."""
    return _added + _removed
