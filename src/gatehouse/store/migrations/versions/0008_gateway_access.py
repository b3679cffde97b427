"""gateway access: the forward-auth rule table and the labels of gateway resources

Revision ID: 0008
Revises: 0007 (session login option)
Create Date: 2026-12-04 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authz_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("methods", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("resource", sa.String(length=300), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authz_rules")),
    )
    op.create_index("ix_authz_rules_position", "authz_rules", ["position", "id"], unique=False)
    op.create_table(
        "gateway_labels",
        sa.Column("resource", sa.String(length=300), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("resource", name=op.f("pk_gateway_labels")),
    )


def downgrade() -> None:
    op.drop_table("gateway_labels")
    op.drop_index("ix_authz_rules_position", table_name="authz_rules")
    op.drop_table("authz_rules")
