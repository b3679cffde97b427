"""sso: OpenID Connect login options, links of users to IdP subjects, sign-in states in flight

Revision ID: 0006
Revises: 0005 (audit log)
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_options",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_lower", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("client_secret_env", sa.String(length=100), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("username_claim", sa.String(length=100), nullable=False),
        sa.Column("email_claim", sa.String(length=100), nullable=False),
        sa.Column("name_claim", sa.String(length=100), nullable=False),
        sa.Column("subject_claim", sa.String(length=100), nullable=False),
        sa.Column("end_session", sa.Boolean(), nullable=False),
        sa.Column("scim_only", sa.Boolean(), nullable=True),
        sa.Column("role_rules", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('oidc')", name=op.f("ck_login_options_kind")),
        sa.CheckConstraint(
            "client_secret_encrypted IS NULL OR client_secret_env IS NULL", name=op.f("ck_login_options_one_secret")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_options")),
    )
    op.create_index("uq_login_options_name_lower", "login_options", ["name_lower"], unique=True)

    op.create_table(
        "sso_links",
        sa.Column("option_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["login_options.id"],
            name=op.f("fk_sso_links_option_id_login_options"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sso_links_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("option_id", "subject", name=op.f("pk_sso_links")),
    )
    op.create_index("uq_sso_links_option_id_user_id", "sso_links", ["option_id", "user_id"], unique=True)
    op.create_index("ix_sso_links_user_id", "sso_links", ["user_id"], unique=False)

    op.create_table(
        "sso_login_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("option_id", sa.String(length=36), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["login_options.id"],
            name=op.f("fk_sso_login_states_option_id_login_options"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_sso_login_states")),
    )
    op.create_index("ix_sso_login_states_expires_at", "sso_login_states", ["expires_at"], unique=False)
    op.create_index("ix_sso_login_states_option_id", "sso_login_states", ["option_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sso_login_states")
    op.drop_table("sso_links")
    op.drop_table("login_options")
