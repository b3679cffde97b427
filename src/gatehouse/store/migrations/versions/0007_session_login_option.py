"""sessions.login_option_id: the login option a session was opened through (for end-session sign-out)

Revision ID: 0007
Revises: 0006 (sso)
Create Date: 2026-11-29 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign key: a session outlives the deletion of its option (it then signs out locally only).
    op.add_column("sessions", sa.Column("login_option_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("login_option_id")
