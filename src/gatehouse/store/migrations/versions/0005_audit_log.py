"""audit log: one row per change attempted through the dashboard, the API, SCIM, the CLI or SSO

Revision ID: 0005
Revises: 0004 (users source/id index)
Create Date: 2026-11-29 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=255), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.CheckConstraint("outcome IN ('success', 'refused', 'failed')", name=op.f("ck_audit_events_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at", "id"], unique=False)
    op.create_index("ix_audit_events_event", "audit_events", ["event", "occurred_at"], unique=False)
    op.create_index("ix_audit_events_actor", "audit_events", ["actor", "occurred_at"], unique=False)
    op.create_index("ix_audit_events_resource_id", "audit_events", ["resource_id", "occurred_at"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_events")
