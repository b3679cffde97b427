"""user_counts: how many users each source has, active and not, kept by the database in the writing transaction

A SCIM listing answers ``totalResults`` on every page (RFC 7644 §3.4.2), and an identity provider's import
pages through every user: at a million users, ``count(*)`` over the ``source`` index was most of a page's
40 ms. This table holds the counts instead, one row per source, state and shard; triggers on ``users`` move
them in the transaction of every insert, delete and change of ``source`` or ``active``, so a count is the sum
of a few rows and is exactly what ``count(*)`` would say once the transaction commits.

SQLite writes one transaction at a time: its triggers move shard 0 only. PostgreSQL's are deferred constraint
triggers that move a random one of :data:`SHARDS` shards as the transaction commits: two concurrent creates
rarely wait on the same row, and the row is locked only while its transaction commits, after every other lock
it takes (see migration 0016 for the deadlock that ordering avoids).

Revision ID: 0017
Revises: 0016 (security epoch)
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SOURCES = ("local", "scim", "sso")
SHARDS = 16
# An update counts only when it changes one of these (SQLite writes IS NOT for IS DISTINCT FROM).
CHANGED = "OLD.source IS DISTINCT FROM NEW.source OR OLD.active IS DISTINCT FROM NEW.active"
MOVE = (
    "UPDATE user_counts SET tally = tally {sign} 1 "
    "WHERE source = {row}.source AND active = {row}.active AND shard = {shard}"
)


def _sqlite() -> None:
    add, drop = MOVE.format(sign="+", row="NEW", shard=0), MOVE.format(sign="-", row="OLD", shard=0)
    op.execute(f"CREATE TRIGGER user_counts_insert AFTER INSERT ON users BEGIN {add}; END")
    op.execute(f"CREATE TRIGGER user_counts_delete AFTER DELETE ON users BEGIN {drop}; END")
    op.execute(
        "CREATE TRIGGER user_counts_update AFTER UPDATE OF source, active ON users "
        f"WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN {drop}; {add}; END"
    )


def _postgresql() -> None:
    # The shard is drawn once a row: random() in the WHERE clause would be drawn again for every row it tests.
    add, drop = MOVE.format(sign="+", row="NEW", shard="pick"), MOVE.format(sign="-", row="OLD", shard="pick")
    op.execute(
        "CREATE FUNCTION gatehouse_user_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"DECLARE pick smallint := floor(random() * {SHARDS}); BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {drop}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {add}; END IF; "
        "RETURN NULL; END $$"
    )
    deferred, run = "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW", "EXECUTE FUNCTION gatehouse_user_counts_move()"
    op.execute(f"CREATE CONSTRAINT TRIGGER user_counts_insert_delete AFTER INSERT OR DELETE ON users {deferred} {run}")
    op.execute(
        "CREATE CONSTRAINT TRIGGER user_counts_update AFTER UPDATE OF source, active ON users "
        f"{deferred} WHEN ({CHANGED}) {run}"
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "user_counts",
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("tally", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("source", "active", "shard", name=op.f("pk_user_counts")),
    )
    table = sa.table(
        "user_counts",
        sa.column("source", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("shard", sa.SmallInteger),
        sa.column("tally", sa.BigInteger),
    )
    shards = range(SHARDS if postgresql else 1)
    op.bulk_insert(
        table,
        [{"source": s, "active": a, "shard": n, "tally": 0} for s in SOURCES for a in (True, False) for n in shards],
    )
    # The users already there, in shard 0 (the same statement on both databases).
    op.execute(
        "UPDATE user_counts SET tally = (SELECT count(*) FROM users "
        "WHERE users.source = user_counts.source AND users.active = user_counts.active) WHERE shard = 0"
    )
    (_postgresql if postgresql else _sqlite)()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS user_counts_insert_delete ON users")
        op.execute("DROP TRIGGER IF EXISTS user_counts_update ON users")
        op.execute("DROP FUNCTION IF EXISTS gatehouse_user_counts_move()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS user_counts_{event}")
    op.drop_table("user_counts")
