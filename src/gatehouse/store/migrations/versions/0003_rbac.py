"""rbac: roles, permission policies, assignments, boundaries, group bindings, API tokens

Revision ID: 0003
Revises: 0002 (dashboard sessions and activity)
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_LIVE = "revoked_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_lower", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("built_in", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
    )
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.create_index("uq_roles_name_lower", ["name_lower"], unique=True)

    op.create_table(
        "permission_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_lower", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("built_in", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_policies")),
    )
    with op.batch_alter_table("permission_policies", schema=None) as batch_op:
        batch_op.create_index("uq_permission_policies_name_lower", ["name_lower"], unique=True)

    op.create_table(
        "role_policies",
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["permission_policies.id"],
            name=op.f("fk_role_policies_policy_id_permission_policies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_role_policies_role_id_roles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("role_id", "policy_id", name=op.f("pk_role_policies")),
    )
    with op.batch_alter_table("role_policies", schema=None) as batch_op:
        batch_op.create_index("ix_role_policies_policy_id", ["policy_id"], unique=False)

    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint("source IN ('manual', 'sso')", name=op.f("ck_user_roles_source")),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_user_roles_role_id_roles"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", "source", name=op.f("pk_user_roles")),
    )
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.create_index("ix_user_roles_role_id", ["role_id"], unique=False)

    op.create_table(
        "user_boundaries",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint("source IN ('manual', 'sso')", name=op.f("ck_user_boundaries_source")),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["permission_policies.id"],
            name=op.f("fk_user_boundaries_policy_id_permission_policies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_boundaries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "policy_id", "source", name=op.f("pk_user_boundaries")),
    )
    with op.batch_alter_table("user_boundaries", schema=None) as batch_op:
        batch_op.create_index("ix_user_boundaries_policy_id", ["policy_id"], unique=False)

    op.create_table(
        "group_role_bindings",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_role_bindings_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_group_role_bindings_role_id_roles"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("group_id", "role_id", name=op.f("pk_group_role_bindings")),
    )
    with op.batch_alter_table("group_role_bindings", schema=None) as batch_op:
        batch_op.create_index("ix_group_role_bindings_role_id", ["role_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_ip", sa.String(length=64), nullable=True),
        sa.Column("last_used_user_agent", sa.String(length=255), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_api_tokens_user_id", ["user_id"], unique=False)
        batch_op.create_index("uq_api_tokens_token_hash", ["token_hash"], unique=True)
        batch_op.create_index(
            "uq_api_tokens_live_name",
            ["user_id", "name"],
            unique=True,
            sqlite_where=sa.text(_LIVE),
            postgresql_where=sa.text(_LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_api_tokens_live_name", sqlite_where=sa.text(_LIVE), postgresql_where=sa.text(_LIVE))
        batch_op.drop_index("uq_api_tokens_token_hash")
        batch_op.drop_index("ix_api_tokens_user_id")
    op.drop_table("api_tokens")
    for table, index in (
        ("group_role_bindings", "ix_group_role_bindings_role_id"),
        ("user_boundaries", "ix_user_boundaries_policy_id"),
        ("user_roles", "ix_user_roles_role_id"),
        ("role_policies", "ix_role_policies_policy_id"),
        ("permission_policies", "uq_permission_policies_name_lower"),
        ("roles", "uq_roles_name_lower"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
        op.drop_table(table)
