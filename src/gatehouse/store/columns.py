"""The kinds of column that many tables share, each declared once (see :mod:`gatehouse.store.tables`).

Each function returns new column objects (a column belongs to one table), named and typed as every table that
uses it has them; the tables stay plain lists of what they hold. Nothing here is a table of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

Timestamp = sa.DateTime(timezone=True)
"""Every point in time stored: timezone-aware (SQLite hands back naive UTC: see
:func:`~gatehouse.store.records.as_utc`)."""


def id_column() -> sa.Column[str]:
    """``id``: the primary key of a record whose id the application makes (a UUID as text)."""
    return sa.Column("id", sa.String(36), primary_key=True)


def serial_id_column() -> sa.Column[int]:
    """``id``: a 64-bit primary key the database counts up (an INTEGER on SQLite, the only type it
    auto-increments), for append-only logs."""
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)


def reference(name: str, table: str, *, ondelete: str = "CASCADE") -> sa.Column[str]:
    """A required foreign key to ``table.id`` (a text id): ``CASCADE`` deletes the row with the one it names,
    ``RESTRICT`` makes the database refuse to delete a row still named."""
    return sa.Column(name, sa.String(36), sa.ForeignKey(f"{table}.id", ondelete=ondelete), nullable=False)


def timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    """A point in time (:data:`Timestamp`), required unless ``nullable``."""
    return sa.Column(name, Timestamp, nullable=nullable)


def actor(name: str) -> sa.Column[str]:
    """Who did something, by name as it was then (no foreign key: the record outlives the user); ``NULL`` when
    it was the system."""
    return sa.Column(name, sa.String(255), nullable=True)


def unique_name(table: str) -> tuple[SchemaItem, ...]:
    """``name`` and ``name_lower``, with the unique index on ``name_lower`` that makes a name unique regardless
    of case (the database settles a race between two creates)."""
    return (
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_lower", sa.String(100), nullable=False),
        sa.Index(f"uq_{table}_name_lower", "name_lower", unique=True),
    )


def versioned() -> tuple[sa.Column[Any], ...]:
    """``created``, ``updated`` and ``version``: a record edited under optimistic concurrency (every write
    increments ``version``; an edit names the version it started from)."""
    return (
        timestamp("created"),
        timestamp("updated"),
        sa.Column("version", sa.Integer, nullable=False),
    )


def secret(prefix: str) -> tuple[sa.Column[str], ...]:
    """``<prefix>_encrypted`` and ``<prefix>_env``: a secret stored encrypted (:mod:`gatehouse.secrets_box`) or
    named by an environment variable (a table's ``one_secret`` check allows one at most)."""
    return (
        sa.Column(f"{prefix}_encrypted", sa.Text, nullable=True),
        sa.Column(f"{prefix}_env", sa.String(100), nullable=True),
    )


def client(prefix: str = "") -> tuple[sa.Column[str], ...]:
    """``<prefix>ip`` and ``<prefix>user_agent``: the client a request came from, as far as it is known."""
    return (
        sa.Column(f"{prefix}ip", sa.String(64), nullable=True),
        sa.Column(f"{prefix}user_agent", sa.String(255), nullable=True),
    )


def bearer_token(table: str) -> tuple[SchemaItem, ...]:
    """A bearer token's ``name``, ``token_hash`` (its SHA-256: the token itself is never stored, and the unique
    index finds it) and ``hint`` (its last characters, shown in lists)."""
    return (
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Index(f"uq_{table}_token_hash", "token_hash", unique=True),
    )


def token_use() -> tuple[sa.Column[Any], ...]:
    """When and from where a bearer token was last used, and when it was revoked (a revoked token keeps its row)."""
    return (
        timestamp("last_used_at", nullable=True),
        *client("last_used_"),
        timestamp("revoked_at", nullable=True),
    )


def grant_origin() -> tuple[sa.Column[Any], ...]:
    """``source``, ``granted_at`` and ``granted_by``: how a user came to hold a role or a boundary (a table's
    ``source`` check lists the ways), when and by whom."""
    return (
        sa.Column("source", sa.String(8), nullable=False),
        timestamp("granted_at"),
        actor("granted_by"),
    )
