"""users (source, id): SCIM list pages walk it in order instead of sorting every provisioned user

Revision ID: 0004
Revises: 0003 (RBAC)
Create Date: 2026-11-29 02:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_source_id", "users", ["source", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_users_source_id", "users")
