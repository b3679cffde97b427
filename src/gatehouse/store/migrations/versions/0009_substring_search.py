"""substring search: users.search_text and groups.search_text, indexed by trigrams (pg_trgm GIN on PostgreSQL,
FTS5 trigram tables kept in step by triggers on SQLite), built for the existing rows

Revision ID: 0009
Revises: 0008 (gateway access)
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from gatehouse.resources.search import search_text
from gatehouse.store.search import require_pg_trgm
from gatehouse.store.users import user_search_text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHUNK = 5000
SEARCHABLE = {"users": "user_search", "groups": "group_search"}
KEYS = {"users": "user_name_lower", "groups": "display_name_lower"}


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    trgm_schema = require_pg_trgm(bind) if postgres else None  # before any change: a clear error, nothing done
    for table in SEARCHABLE:
        op.add_column(table, sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    _fill(bind, "users", _user_text)
    _fill(bind, "groups", _group_text)
    if postgres:
        for table in SEARCHABLE:
            # The operator class named with the extension's schema: the role's search_path may not hold it.
            ops = f'"{trgm_schema}".gin_trgm_ops'
            op.create_index(
                f"ix_{table}_search_trgm",
                table,
                ["search_text"],
                postgresql_using="gin",
                postgresql_ops={"search_text": ops},
            )
    else:
        for table, side in SEARCHABLE.items():
            _create_sqlite_index(table, side)


def _user_text(row: Any) -> str:
    doc = orjson.loads(row.data)
    return user_search_text(doc, row.display_name)


def _group_text(row: Any) -> str:
    return search_text([row.display_name], [])


def _fill(bind: sa.Connection, table: str, text_of: Any) -> None:
    """Compute ``search_text`` for every row, a chunk at a time (by id), and write it."""
    columns = "id, data, display_name"
    after = ""
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("CREATE TEMPORARY TABLE search_fill (id VARCHAR(36) PRIMARY KEY, t TEXT) ON COMMIT DROP")
    while True:
        rows = bind.execute(
            sa.text(f"SELECT {columns} FROM {table} WHERE id > :after ORDER BY id LIMIT :n"),
            {"after": after, "n": CHUNK},
        ).all()
        if not rows:
            break
        values = [{"id": row.id, "t": text_of(row)} for row in rows]
        if bind.dialect.name == "postgresql":
            bind.execute(sa.text("INSERT INTO search_fill (id, t) VALUES (:id, :t)"), values)
        else:
            bind.execute(sa.text(f"UPDATE {table} SET search_text = :t WHERE id = :id"), values)
        after = rows[-1].id
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(f"UPDATE {table} SET search_text = f.t FROM search_fill f WHERE {table}.id = f.id")
        bind.exec_driver_sql("DROP TABLE search_fill")


def _create_sqlite_index(table: str, side: str) -> None:
    """The side table (a stable INTEGER PRIMARY KEY per row, the row's sort key and search text), its FTS5
    trigram index (external content), both filled from ``table``, then the triggers that keep them in step
    with every later write, in the writing transaction."""
    fts, key = f"{side}_fts", KEYS[table]
    op.execute(
        f"CREATE TABLE {side} (id INTEGER NOT NULL PRIMARY KEY, owner_id VARCHAR(36) NOT NULL UNIQUE, "
        "key VARCHAR(255) NOT NULL, search_text TEXT NOT NULL)"
    )
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{side}', content_rowid='id', "
        "tokenize='trigram case_sensitive 1', columnsize=0)"
    )
    op.execute(f"INSERT INTO {side} (owner_id, key, search_text) SELECT id, {key}, search_text FROM {table}")
    op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
    op.execute(
        f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {side} (owner_id, key, search_text) VALUES (new.id, new.{key}, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF search_text, {key} ON {table} "
        f"WHEN old.search_text IS NOT new.search_text OR old.{key} IS NOT new.{key} BEGIN "
        f"UPDATE {side} SET key = new.{key}, search_text = new.search_text WHERE owner_id = new.id; END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {side} WHERE owner_id = old.id; END"
    )
    op.execute(
        f"CREATE TRIGGER {side}_insert AFTER INSERT ON {side} BEGIN "
        f"INSERT INTO {fts} (rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {side}_update AFTER UPDATE OF search_text ON {side} "
        f"WHEN old.search_text IS NOT new.search_text BEGIN "
        f"INSERT INTO {fts} ({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts} (rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {side}_delete AFTER DELETE ON {side} BEGIN "
        f"INSERT INTO {fts} ({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
    )


def downgrade() -> None:
    bind = op.get_bind()
    for table, side in SEARCHABLE.items():
        if bind.dialect.name == "postgresql":
            op.drop_index(f"ix_{table}_search_trgm", table)
        else:
            for trigger in (f"{table}_search_insert", f"{table}_search_update", f"{table}_search_delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            op.execute(f"DROP TABLE IF EXISTS {side}_fts")
            op.execute(f"DROP TABLE IF EXISTS {side}")
        with op.batch_alter_table(table) as batch:
            batch.drop_column("search_text")
