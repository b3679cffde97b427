"""Labels of gateway resources, by resource name (see :mod:`gatehouse.iam.gateway_labels`).

Functions take an open connection and never commit. Reading the labels of many names is one indexed query
(the primary key), whatever their number (in chunks of :data:`~gatehouse.store.batches.CHUNK`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.batches import CHUNK
from gatehouse.store.named import dump_labels, load_labels
from gatehouse.store.records import as_utc
from gatehouse.store.tables import gateway_labels


@dataclass(frozen=True, slots=True)
class StoredLabels:
    """The labels kept for one resource, and who set them last."""

    resource: str
    labels: dict[str, str]
    updated: datetime
    updated_by: str | None


_LABELS_OF: Final = sa.select(gateway_labels.c.resource, gateway_labels.c.labels).where(
    gateway_labels.c.resource.in_(sa.bindparam("names", expanding=True))
)
"""What :func:`labels_of` runs per chunk, built once (every decision resolves its resources' labels)."""


def labels_of(connection: Connection, names: Iterable[str]) -> dict[str, dict[str, str]]:
    """The labels kept for each of ``names`` that has some (a name without labels is left out)."""
    wanted = sorted(set(names))
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = connection.execute(_LABELS_OF, {"names": chunk})
        found.update((row.resource, load_labels(row.labels)) for row in rows)
    return found


def get(connection: Connection, name: str) -> StoredLabels | None:
    """The labels kept for one resource, or ``None``."""
    row = connection.execute(sa.select(gateway_labels).where(gateway_labels.c.resource == name)).first()
    return (
        None
        if row is None
        else StoredLabels(row.resource, load_labels(row.labels), as_utc(row.updated), row.updated_by)
    )


def put(connection: Connection, name: str, labels: Mapping[str, str], by: str | None, now: datetime) -> None:
    """Keep ``labels`` for ``name`` (replacing what was kept); no labels at all removes the row."""
    if not labels:
        connection.execute(gateway_labels.delete().where(gateway_labels.c.resource == name))
        return
    values = {"labels": dump_labels(labels), "updated": now, "updated_by": by}
    changed = connection.execute(gateway_labels.update().where(gateway_labels.c.resource == name).values(**values))
    if changed.rowcount == 0:
        connection.execute(gateway_labels.insert().values(resource=name, **values))


def listing(connection: Connection, prefix: str = "", limit: int = 1000) -> list[StoredLabels]:
    """The labelled resources whose name starts with ``prefix``, by name, at most ``limit``."""
    query = sa.select(gateway_labels).order_by(gateway_labels.c.resource).limit(limit)
    if prefix:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(gateway_labels.c.resource.like(f"{escaped}%", escape="\\"))
    return [
        StoredLabels(row.resource, load_labels(row.labels), as_utc(row.updated), row.updated_by)
        for row in connection.execute(query)
    ]
