"""scim_activity: resource, User-Agent and the bodies of failed requests, with indexes for the log's filters

Revision ID: 0014
Revises: 0013 (scim_guard)
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_scim_activity_status_at": ["status", "at"],
    "ix_scim_activity_resource_at": ["resource", "at"],
    "ix_scim_activity_token_name_at": ["token_name", "at"],
    "ix_scim_activity_method_at": ["method", "at"],
}


def upgrade() -> None:
    with op.batch_alter_table("scim_activity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource", sa.String(length=20), server_default="other", nullable=False))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("request_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("response_body", sa.Text(), nullable=True))
    # The rows already kept: their resource, from the path as gatehouse.scim.activity.resource_of reads it.
    for resource, patterns in (
        ("Users", ["/scim/v2/Users", "/scim/v2/Users/%", "/scim/v2/Users?%"]),
        ("Groups", ["/scim/v2/Groups", "/scim/v2/Groups/%", "/scim/v2/Groups?%"]),
        (
            "discovery",
            [
                f"/scim/v2/{name}{tail}"
                for name in ("ServiceProviderConfig", "Schemas", "ResourceTypes")
                for tail in ("", "/%", "?%")
            ],
        ),
    ):
        matches = " OR ".join(f"lower(path) LIKE :p{i}" for i in range(len(patterns)))  # as resource_of: any case
        op.get_bind().execute(
            sa.text(f"UPDATE scim_activity SET resource = :resource WHERE {matches}"),
            {"resource": resource, **{f"p{i}": pattern.lower() for i, pattern in enumerate(patterns)}},
        )
    with op.batch_alter_table("scim_activity", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scim_activity", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column("response_body")
        batch_op.drop_column("request_body")
        batch_op.drop_column("user_agent")
        batch_op.drop_column("resource")
