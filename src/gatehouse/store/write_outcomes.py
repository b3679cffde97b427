"""What the outcome of a write means, said once for every repository: a constraint the database refused it by,
a conditional write that found no row to change, the row as the write left it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import PreconditionFailed

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def refused_as(connection: Connection, error: Exception) -> Iterator[None]:
    """Run the block in a savepoint; should the database refuse it by a constraint (a unique index, a foreign
    key), raise ``error`` instead. The savepoint keeps the caller's transaction usable (PostgreSQL)."""
    try:
        with connection.begin_nested():
            yield
    except IntegrityError as exc:
        raise error from exc


def not_written(found: object | None, gone: Exception, changed: Exception | None = None) -> Exception:
    """Why a write conditioned on a row's id (and version) changed no row, given that row as it is now: ``gone``
    when there is none, else ``changed`` (by default :class:`PreconditionFailed`: another version)."""
    if found is None:
        return gone
    return changed if changed is not None else PreconditionFailed()


def read_back(read: Callable[P, T | None], *args: P.args, **kwargs: P.kwargs) -> T:
    """The row a write has just made or changed, read by ``read(*args, **kwargs)``: the caller's transaction
    wrote it, so it is there."""
    stored = read(*args, **kwargs)
    assert stored is not None
    return stored
