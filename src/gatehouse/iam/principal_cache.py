"""Principals, API tokens and gateway labels kept between requests while the security epoch stays the same.

The hot questions (who is this API token, what may this user do, which labels does this gateway resource
carry, which forward-auth rules apply) are answered from rows that change rarely. Every process keeps what
it read, tagged with the security epoch it read first (:mod:`gatehouse.store.security_epoch`, moved by
database triggers in the transaction of every change those rows see), and serves an entry only to a request
that reads the same epoch: a change made by any process reaches every process on its next request (design
notes §2, "a cache guarded by a cheap change marker"). Entries are tagged, never cleared in place, so
concurrent requests need no lock: one that read an older epoch may store an entry that no newer request
will use.

An entry also ends when what it holds ends without a write: a time-bound grant's end, an API token's expiry,
and :attr:`PrincipalCache.max_age` in any case. Only what exists is kept (an unknown user or token is read
again each time: creating one moves no epoch); a gateway resource without labels is kept as such (adding
labels moves it). A database without the epoch row (-1) keeps nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Final, Generic, TypeVar

from gatehouse.credentials import hash_token
from gatehouse.iam import api_tokens
from gatehouse.iam.api_tokens import TokenCaller
from gatehouse.iam.authorizer import Principal, load_principal
from gatehouse.store import gateway_labels, security_epoch, user_identity
from gatehouse.store.database import Connection

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES: Final = 50_000
"""Per kind of entry; a full table starts again empty (the next requests read their rows again)."""
MAX_AGE: Final = 60.0
"""Seconds an entry serves at most, whatever the epoch says."""


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    epoch: int
    value: V
    until: float
    """Wall-clock time (seconds) from which it no longer serves."""


class _Table(Generic[K, V]):
    """Entries of one kind, each tagged with the epoch it was read under."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[K, _Entry[V]] = {}

    def get(self, key: K, epoch: int, now: float) -> _Entry[V] | None:
        entry = self._entries.get(key)
        return entry if entry is not None and entry.epoch == epoch and now < entry.until else None

    def put(self, key: K, entry: _Entry[V]) -> None:
        if entry.epoch < 0 or self.max_entries <= 0:
            return
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self._entries = {}
        self._entries[key] = entry

    def __len__(self) -> int:
        return len(self._entries)


class PrincipalCache:
    """One process's kept principals, tokens and labels (see the module). :meth:`view` reads the epoch once
    for a request; the view answers from what is kept under that epoch, reading what is not."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_age: float = MAX_AGE, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_age = max_age
        self.clock = clock
        self.principals: _Table[str, Principal] = _Table(max_entries)
        self.user_ids: _Table[str, str] = _Table(max_entries)
        self.tokens: _Table[str, TokenCaller] = _Table(max_entries)
        self.token_principals: _Table[str, Principal] = _Table(max_entries)
        self.labels: _Table[str, dict[str, str] | None] = _Table(max_entries)
        self.tables: _Table[str, object] = _Table(16)

    def view(self, connection: Connection) -> CacheView:
        """This request's view: the epoch read now, before anything derived from it."""
        return CacheView(self, connection, security_epoch.current(connection), self.clock())


@dataclass(slots=True)
class CacheView:
    """What one request reads through the cache, all under the epoch it read first."""

    cache: PrincipalCache
    connection: Connection
    epoch: int
    now: float

    def _until(self, *ends: float | None) -> float:
        return min([self.now + self.cache.max_age, *(end for end in ends if end is not None)])

    def principal(self, user_id: str) -> Principal | None:
        """What the user may do now, as :func:`~gatehouse.iam.authorizer.load_principal` reads it; ``None``
        when there is no such user (an inactive one is a principal denied everything)."""
        table = self.cache.principals
        entry = table.get(user_id, self.epoch, self.now)
        if entry is not None:
            return entry.value
        principal = load_principal(self.connection, user_id)
        if principal.user_name is None:  # no such user: read again next time (a new user moves no epoch)
            return None
        ends = [origin.until.timestamp() for role in principal.roles for origin in role.origins if origin.until]
        table.put(user_id, _Entry(self.epoch, principal, self._until(*ends)))
        return principal

    def user_id_of(self, user_name: str) -> str | None:
        """The id of the user with this user name (any case), or ``None``."""
        key = user_name.lower()
        entry = self.cache.user_ids.get(key, self.epoch, self.now)
        if entry is not None:
            return entry.value
        found = user_identity.by_user_name(self.connection, user_name)
        if found is None:
            return None
        self.cache.user_ids.put(key, _Entry(self.epoch, found.id, self._until()))
        return found.id

    def token(self, presented: str) -> TokenCaller:
        """Who a presented API token acts for (:func:`gatehouse.iam.api_tokens.authenticate`), kept until it
        expires; :class:`~gatehouse.iam.api_tokens.TokenUnauthorized` as that raises it, never kept."""
        api_tokens.check_presented(presented)
        key = hash_token(presented)
        entry = self.cache.tokens.get(key, self.epoch, self.now)
        if entry is not None:
            return entry.value
        caller = api_tokens.authenticate(self.connection, presented)
        expires = None if caller.expires_at is None else caller.expires_at.timestamp()
        self.cache.tokens.put(key, _Entry(self.epoch, caller, self._until(expires)))
        return caller

    def token_principal(self, caller: TokenCaller) -> Principal:
        """The principal a token acts as (denied everything when its user is gone), naming the token; kept
        as long as both the token's entry and its user's may serve."""
        table = self.cache.token_principals
        entry = table.get(caller.token_id, self.epoch, self.now)
        if entry is not None:
            return entry.value
        principal = self.principal(caller.user_id)
        named = replace(principal or Principal.nobody(caller.user_id), token_name=caller.token_name)
        kept = self.cache.principals.get(caller.user_id, self.epoch, self.now)
        if principal is not None and kept is not None:
            expires = None if caller.expires_at is None else caller.expires_at.timestamp()
            table.put(caller.token_id, _Entry(self.epoch, named, min(kept.until, self._until(expires))))
        return named

    def whole(self, name: str, load: Callable[[Connection], V]) -> V:
        """What ``load`` reads of a whole small table (the forward-auth rule table), kept under ``name``."""
        entry = self.cache.tables.get(name, self.epoch, self.now)
        if entry is not None:
            return entry.value  # type: ignore[return-value]  # kept under this name by this same ``load``
        value = load(self.connection)
        self.cache.tables.put(name, _Entry(self.epoch, value, self._until()))
        return value

    def labels_of(self, connection: Connection, names: Iterable[str]) -> dict[str, dict[str, str]]:
        """:func:`gatehouse.store.gateway_labels.labels_of` through the cache (the same answer: the labels of
        each of ``names`` that has some); ``connection`` is the view's."""
        table, found, missing = self.cache.labels, {}, []
        for name in set(names):
            entry = table.get(name, self.epoch, self.now)
            if entry is None:
                missing.append(name)
            elif entry.value is not None:
                found[name] = entry.value
        if missing:
            read = gateway_labels.labels_of(connection, missing)
            for name in missing:
                table.put(name, _Entry(self.epoch, read.get(name), self._until()))
            found.update(read)
        return found
