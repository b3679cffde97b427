"""governance: time-bound role grants and group bindings (expires_at), user_roles.source 'request', requestable
roles and access requests, access reviews, audit sinks and the audit outbox

Revision ID: 0012
Revises: 0011 (session reveals)
Create Date: 2026-12-10 09:00:00

On SQLite the CHECK constraint of ``user_roles.source`` changes by rebuilding the table (batch mode), foreign
keys off around it as in 0010 (nothing references ``user_roles``; they are checked afterwards).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SOURCES_BEFORE = "source IN ('manual', 'sso')"
SOURCES_AFTER = "source IN ('manual', 'sso', 'request')"
TIME = sa.DateTime(timezone=True)


@contextmanager
def _rebuilding() -> Iterator[None]:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if sqlite:
            problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            bind.exec_driver_sql("PRAGMA foreign_keys=ON")
            if problems:
                raise RuntimeError(f"foreign keys broken by the rebuild of user_roles: {problems[:5]}")


def _user_roles(check: str, expires: bool) -> None:
    with _rebuilding(), op.batch_alter_table("user_roles") as batch:
        batch.drop_constraint(op.f("ck_user_roles_source"), type_="check")
        batch.create_check_constraint("source", check)
        if expires:
            batch.add_column(sa.Column("expires_at", TIME, nullable=True))
        else:
            batch.drop_index("ix_user_roles_expires_at")
            batch.drop_column("expires_at")


def upgrade() -> None:
    _user_roles(SOURCES_AFTER, expires=True)
    op.create_index("ix_user_roles_expires_at", "user_roles", ["expires_at"], unique=False)
    op.add_column("group_role_bindings", sa.Column("expires_at", TIME, nullable=True))
    op.create_index("ix_group_role_bindings_expires_at", "group_role_bindings", ["expires_at"], unique=False)

    op.create_table(
        "requestable_roles",
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("max_minutes", sa.Integer(), nullable=False),
        sa.Column("answer_within_minutes", sa.Integer(), nullable=False),
        sa.Column("updated", TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_requestable_roles_role_id_roles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("role_id", name=op.f("pk_requestable_roles")),
    )
    op.create_table(
        "access_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("answer_by", TIME, nullable=False),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_by_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("granted_until", TIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'cancelled', 'expired')",
            name=op.f("ck_access_requests_status"),
        ),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_access_requests_minutes")),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_access_requests_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_access_requests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index("ix_access_requests_user_id_created", "access_requests", ["user_id", "created"], unique=False)
    op.create_index("ix_access_requests_role_id_status", "access_requests", ["role_id", "status"], unique=False)
    op.create_index("ix_access_requests_status_answer_by", "access_requests", ["status", "answer_by"], unique=False)
    op.create_index(
        "uq_access_requests_pending",
        "access_requests",
        ["user_id", "role_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "access_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reviewed_at", TIME, nullable=False),
        sa.Column("reviewer_id", sa.String(length=36), nullable=True),
        sa.Column("reviewer", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("users_in_scope", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_reviews")),
    )
    op.create_index("ix_access_reviews_reviewed_at", "access_reviews", ["reviewed_at"], unique=False)
    op.create_table(
        "audit_sinks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_lower", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("secret_env", sa.String(length=100), nullable=True),
        sa.Column("created", TIME, nullable=False),
        sa.Column("updated", TIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("delivered_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_delivered_sequence", sa.BigInteger(), nullable=True),
        sa.Column("last_delivered_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", TIME, nullable=True),
        sa.CheckConstraint("kind IN ('webhook', 'syslog', 'file')", name=op.f("ck_audit_sinks_kind")),
        sa.CheckConstraint("secret_encrypted IS NULL OR secret_env IS NULL", name=op.f("ck_audit_sinks_one_secret")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_sinks")),
    )
    op.create_index("uq_audit_sinks_name_lower", "audit_sinks", ["name_lower"], unique=True)
    op.create_table(
        "audit_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("sink_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("enqueued_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["sink_id"], ["audit_sinks.id"], name=op.f("fk_audit_outbox_sink_id_audit_sinks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_outbox_sink_id_id", "audit_outbox", ["sink_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_outbox")
    op.drop_table("audit_sinks")
    op.drop_table("access_reviews")
    op.drop_table("access_requests")
    op.drop_table("requestable_roles")
    op.drop_index("ix_group_role_bindings_expires_at", table_name="group_role_bindings")
    with _rebuilding(), op.batch_alter_table("group_role_bindings") as batch:
        batch.drop_column("expires_at")
    op.execute("DELETE FROM user_roles WHERE source = 'request'")
    _user_roles(SOURCES_BEFORE, expires=False)
