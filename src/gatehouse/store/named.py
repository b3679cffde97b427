"""Named, versioned records: one repository for the rows of ``roles`` and ``permission_policies``.

Both tables have the same shape and rules: an id; a name unique in any case, decided by a unique index
on ``name_lower`` (so the database settles a race, not a prior SELECT); a ``version`` that every write
increments; a ``built_in`` flag; and RESTRICT foreign keys that make the database refuse to delete a
record still in use. Statements that may violate a constraint run in a savepoint, so the caller's
transaction stays usable on PostgreSQL. :mod:`~gatehouse.store.roles` and
:mod:`~gatehouse.store.policies` each make one :class:`NamedRecords` and publish its methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, NotFound, PreconditionFailed
from gatehouse.store.batches import in_chunks
from gatehouse.store.records import as_utc
from gatehouse.store.write_outcomes import not_written, read_back, refused_as

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def dump_labels(labels: Mapping[str, str]) -> str:
    """Labels as stored: a JSON object with sorted keys."""
    return orjson.dumps(dict(labels), option=orjson.OPT_SORT_KEYS).decode()


def load_labels(text: str) -> dict[str, str]:
    """Stored labels back as a dict."""
    loaded = orjson.loads(text)
    return {str(key): str(value) for key, value in loaded.items()} if isinstance(loaded, dict) else {}


def named_columns(name: str, description: str, labels: Mapping[str, str] | None) -> dict[str, Any]:
    """The columns every named record stores its editable fields in: the name (and ``name_lower``, which
    the unique index is on), the description and the labels."""
    return {
        "name": name,
        "name_lower": name.lower(),
        "description": description,
        "labels": dump_labels(labels or {}),
    }


@dataclass(frozen=True, slots=True)
class NamedRecord:
    """What every named record holds (a role, a permission policy): its columns that :class:`NamedRecords`
    manages. A record type adds its own columns as fields of a subclass."""

    id: str
    name: str
    description: str
    labels: Mapping[str, str]
    built_in: bool
    created: datetime
    updated: datetime
    version: int


class NamedWrite(Protocol):
    """The editable fields of a record, already checked (a ``RoleWrite``, a ``PolicyWrite``)."""

    @property
    def name(self) -> str: ...

    def columns(self) -> dict[str, Any]:
        """The columns they are stored in, ``name_lower`` included."""
        ...


R = TypeVar("R", bound="DataclassInstance")
W = TypeVar("W", bound=NamedWrite)


@dataclass(frozen=True)
class NamedRecords(Generic[R, W]):
    """The repository of one table of named, versioned records (see the module)."""

    table: sa.Table
    record: type[R]
    """The record's dataclass: one field per column read (``labels`` loaded, times in UTC)."""
    noun: str
    """In messages: ``role``, ``permission policy``."""
    short_noun: str
    """In "(role names ignore case)"."""
    in_use: str
    """Why deleting a record the database still references is refused."""
    columns: tuple[sa.Column[Any], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.table.c[f.name] for f in fields(self.record)))

    def to_record(self, values: Mapping[Any, Any]) -> R:
        """A record from a row's mapping (or the values written): every field's column."""
        found = {column.name: values[column.name] for column in self.columns}
        found.update(
            labels=load_labels(found["labels"]),
            built_in=bool(found["built_in"]),
            created=as_utc(found["created"]),
            updated=as_utc(found["updated"]),
        )
        return self.record(**found)

    def gone(self) -> NotFound:
        """The error for a record that is not (or no longer) there."""
        return NotFound(f"There is no such {self.noun}. It may have been deleted.")

    def name_taken(self, name: str) -> Conflict:
        """The error for a taken name."""
        return Conflict(f"A {self.noun} named '{name}' already exists ({self.short_noun} names ignore case).")

    def _values(self, record_id: str, write: W, now: datetime, built_in: bool) -> dict[str, Any]:
        return {**write.columns(), "id": record_id, "built_in": built_in, "created": now, "updated": now, "version": 1}

    def insert(self, connection: Connection, record_id: str, write: W, now: datetime, *, built_in: bool = False) -> R:
        """Insert a record at version 1 and return it (built from what was written, not read back); a taken
        name (in any case) raises :class:`Conflict`, decided by the unique index."""
        values = self._values(record_id, write, now, built_in)
        with refused_as(connection, self.name_taken(write.name)):
            connection.execute(self.table.insert().values(values))
        return self.to_record(values)

    def insert_if_new(
        self, connection: Connection, record_id: str, write: W, now: datetime, *, built_in: bool = False
    ) -> bool:
        """Insert a record unless its id or its name is taken (``INSERT … ON CONFLICT DO NOTHING``: another
        process seeding at the same time got there first); returns whether this call inserted it."""
        insert_fn = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        statement = insert_fn(self.table).values(self._values(record_id, write, now, built_in)).on_conflict_do_nothing()
        return bool(connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount)

    def get(self, connection: Connection, record_id: str, *, for_update: bool = False) -> R | None:
        """The record with this id, or ``None``; ``for_update`` locks its row until the transaction ends
        (PostgreSQL; SQLite's write transaction already holds the only write lock)."""
        query = sa.select(*self.columns).where(self.table.c.id == record_id)
        if for_update:
            query = query.with_for_update()
        row = connection.execute(query).first()
        return self.to_record(row._mapping) if row else None

    def existing(self, connection: Connection, record_id: str, *, for_update: bool = False) -> R:
        """The record with this id (see :meth:`get`); :class:`NotFound` when there is none."""
        record = self.get(connection, record_id, for_update=for_update)
        if record is None:
            raise self.gone()
        return record

    def existing_many(self, connection: Connection, record_ids: Sequence[str]) -> dict[str, R]:
        """The records with these ids, by id; :class:`NotFound` naming every id that is none."""
        found = self.get_many(connection, record_ids)
        missing = [record_id for record_id in record_ids if record_id not in found]
        if missing:
            raise NotFound(f"There is no {self.noun} with id {', '.join(missing)}.")
        return found

    def get_many(self, connection: Connection, record_ids: Iterable[str]) -> dict[str, R]:
        """The records with these ids, by id; missing ids are left out."""
        found: dict[str, R] = {}
        for chunk in in_chunks(record_ids):
            rows = connection.execute(sa.select(*self.columns).where(self.table.c.id.in_(chunk)))
            found.update((row.id, self.to_record(row._mapping)) for row in rows)
        return found

    def get_by_name(self, connection: Connection, name: str) -> R | None:
        """The record with this name, case-insensitively, or ``None``."""
        row = connection.execute(sa.select(*self.columns).where(self.table.c.name_lower == name.lower())).first()
        return self.to_record(row._mapping) if row else None

    def list_all(self, connection: Connection) -> list[R]:
        """Every record, by name (case-insensitively), then id."""
        rows = connection.execute(sa.select(*self.columns).order_by(self.table.c.name_lower, self.table.c.id))
        return [self.to_record(row._mapping) for row in rows]

    def update(
        self, connection: Connection, record_id: str, write: W, now: datetime, expected_version: int | None = None
    ) -> R:
        """Replace a record's editable fields (at ``expected_version`` if given, atomically: the version is in
        the ``UPDATE``'s condition) and bump its version; returns the record as stored. A taken name raises
        :class:`Conflict`, a missing record :class:`NotFound`, another version :class:`PreconditionFailed`."""
        table = self.table
        condition = table.c.id == record_id
        if expected_version is not None:
            condition = sa.and_(condition, table.c.version == expected_version)
        with refused_as(connection, self.name_taken(write.name)):
            result = connection.execute(
                table.update().where(condition).values(**write.columns(), updated=now, version=table.c.version + 1)
            )
        if result.rowcount != 1:
            changed = PreconditionFailed(f"The {self.noun} has changed since you loaded it: reload it and try again.")
            raise not_written(self.get(connection, record_id), self.gone(), changed)
        return read_back(self.get, connection, record_id)

    def delete(self, connection: Connection, record_id: str) -> None:
        """Delete a record. One the database still references is refused (:class:`Conflict` with ``in_use``);
        callers check first to say where it is used. A missing record raises :class:`NotFound`."""
        with refused_as(connection, Conflict(self.in_use)):
            result = connection.execute(self.table.delete().where(self.table.c.id == record_id))
        if result.rowcount != 1:
            raise self.gone()
