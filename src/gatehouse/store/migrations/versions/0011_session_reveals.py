"""session_reveals: a secret shown once survives the redirect after the POST that made it (Post/Redirect/Get)

Revision ID: 0011
Revises: 0010 (LDAP and SAML login options)
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_reveals",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_hash"],
            ["sessions.id_hash"],
            name="fk_session_reveals_session_hash_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_hash", name="pk_session_reveals"),
    )


def downgrade() -> None:
    op.drop_table("session_reveals")
