"""sessions.saml_name_id, saml_name_id_format, saml_session_index: whom a SAML sign-in named (Single Logout)

The NameID and SessionIndex of the assertion a session was opened with, kept server-side so that signing out
sends the IdP a LogoutRequest naming them, and an IdP's LogoutRequest finds the sessions it ends (SAML 2.0 Core
§3.7); indexed by option and NameID for that look-up.

Revision ID: 0015
Revises: 0014 (SCIM activity bodies)
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("saml_name_id", sa.String(length=255), nullable=True))
    op.add_column("sessions", sa.Column("saml_name_id_format", sa.String(length=255), nullable=True))
    op.add_column("sessions", sa.Column("saml_session_index", sa.String(length=255), nullable=True))
    op.create_index("ix_sessions_saml_subject", "sessions", ["login_option_id", "saml_name_id"])


def downgrade() -> None:
    op.drop_index("ix_sessions_saml_subject", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("saml_session_index")
        batch.drop_column("saml_name_id_format")
        batch.drop_column("saml_name_id")
