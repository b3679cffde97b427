"""scim_activity: ``repeats``, the successful reads one row stands for

A read flood (an identity provider's import, a load test) would otherwise fill the provisioning log, which keeps
its newest rows only, with thousands of identical successful ``GET`` rows a second, and push out within seconds
the failures and changes an admin opens it for. Past a per-token budget a second, successful reads are counted
instead, one row a second standing for them all (:mod:`gatehouse.scim.activity`); every earlier row stands for
one request.

Revision ID: 0018
Revises: 0017 (user counts)
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scim_activity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeats", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("scim_activity", schema=None) as batch_op:
        batch_op.drop_column("repeats")
