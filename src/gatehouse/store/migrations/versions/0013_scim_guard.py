"""scim_deprovisions: the SCIM deactivations and deletions applied and held by the mass-deprovisioning guard

Revision ID: 0013
Revises: 0012 (governance)
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scim_deprovisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.String(length=36), nullable=True),
        sa.Column("token_name", sa.String(length=100), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('deactivate', 'delete')", name=op.f("ck_scim_deprovisions_kind")),
        sa.PrimaryKeyConstraint("id", name="pk_scim_deprovisions"),
    )
    op.create_index("ix_scim_deprovisions_held_at", "scim_deprovisions", ["held", "at"])


def downgrade() -> None:
    op.drop_index("ix_scim_deprovisions_held_at", table_name="scim_deprovisions")
    op.drop_table("scim_deprovisions")
