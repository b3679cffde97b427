"""Keyset paging under SCIM's index paging: ``GET /Users?startIndex=N&count=C`` without a filter or a sort, the
listing identity providers page through on a full import (RFC 7644 §3.4.2.4).

An ``OFFSET N`` walks N index entries, so a page deep in a million users costs a hundred times the first one. Here
each page served leaves **anchors**: the id it started with (position N) and the id it ended with (the row before
position N + C). A later request for one of those positions seeks past its anchor on the primary key
(``id > anchor``, or ``id >= anchor``) instead: an identity provider paging 1, 101, 201… and a client asking the
same deep page again both cost what the first page costs. A position without an anchor of its own seeks past the
nearest anchor below it and walks only the rows between (``id > anchor OFFSET gap``): pages opened at random
positions leave anchors that shorten the walks of the pages after them.

What an anchor may cost in exactness: positions are those of the moment the anchor was set. RFC 7644 §3.4.2.4
says index paging need not stay consistent while resources change; a seek even makes it steadier (a user added
or removed before the anchor shifts no row of the next page). All the same, anchors are dropped when this process
adds or removes users (:mod:`gatehouse.store.user_writes`), expire after :data:`TTL_SECONDS`, are kept per engine
(a database of its own per test or tenant never sees another's), and serve only positions from :data:`SEEK_FROM`
on: below that an ``OFFSET`` is cheap and exact.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import Final

from sqlalchemy.engine import Engine

from gatehouse.store import user_writes

SEEK_FROM: Final = 1000
"""The smallest 0-based position served from an anchor."""

TTL_SECONDS: Final = 600.0
"""How long an anchor is believed."""

MAX_ANCHORS: Final = 4096
"""Anchors kept per engine (the least recently used go first)."""

Anchor = tuple[str, bool, float, int]
"""(id, inclusive, when it was set, the write generation it was set at)."""

_lock = threading.Lock()
_anchors: weakref.WeakKeyDictionary[Engine, OrderedDict[tuple[str, int], Anchor]] = weakref.WeakKeyDictionary()


def find(engine: Engine, source: str, position: int) -> tuple[str, bool, int] | None:
    """The anchor nearest at or below ``position`` (0-based) among ``source``'s users by id: ``(id, inclusive,
    skip)``, the page then starting ``skip`` rows past it (0 for an anchor of ``position`` itself); or None.

    Without an anchor of its own, a position seeks past the nearest one below and walks only the gap: a client
    opening pages at random positions leaves anchors that shorten the walks of the pages after it."""
    if position < SEEK_FROM:
        return None
    with _lock:
        kept = _anchors.get(engine)
        if not kept:
            return None
        exact = _live(kept, (source, position))
        if exact is not None:
            kept.move_to_end((source, position))
            return exact[0], exact[1], 0
        below = [at for (of, at) in list(kept) if of == source and SEEK_FROM <= at < position]
        for at in sorted(below, reverse=True):
            anchor = _live(kept, (source, at))
            if anchor is not None:
                return anchor[0], anchor[1], position - at
        return None


def _live(kept: OrderedDict[tuple[str, int], Anchor], where: tuple[str, int]) -> tuple[str, bool] | None:
    """The anchor kept at ``where`` while it holds (same write generation, not expired); an old one is dropped."""
    anchor = kept.get(where)
    if anchor is None:
        return None
    key, inclusive, at, generation = anchor
    if generation != user_writes.generation() or time.monotonic() - at > TTL_SECONDS:
        del kept[where]
        return None
    return key, inclusive


def remember(engine: Engine, source: str, position: int, ids: list[str]) -> None:
    """A page of ``ids`` was served from ``position``: its first id anchors ``position`` (inclusive), its last
    the position after the page (exclusive)."""
    if not ids:
        return
    now, generation = time.monotonic(), user_writes.generation()
    with _lock:
        kept = _anchors.setdefault(engine, OrderedDict())
        for at_position, anchor in ((position, (ids[0], True)), (position + len(ids), (ids[-1], False))):
            if at_position >= SEEK_FROM:
                kept[(source, at_position)] = (*anchor, now, generation)
                kept.move_to_end((source, at_position))
        while len(kept) > MAX_ANCHORS:
            kept.popitem(last=False)
