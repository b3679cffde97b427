"""LDAP and SAML login options: login_options.kind may be 'ldap' or 'saml', their own fields in
login_options.settings (JSON); saml_assertions, the consumed assertion ids kept against replay

Revision ID: 0010
Revises: 0009 (substring search)
Create Date: 2026-12-07 09:00:00

On SQLite the CHECK constraint changes by rebuilding ``login_options`` (batch mode). Dropping the old table
would run its ``ON DELETE CASCADE`` into ``sso_links`` and ``sso_login_states`` if foreign keys were on, so
they are switched off around the rebuild (Gatehouse's migrations run outside a transaction on SQLite, where
the pragma takes effect) and the foreign keys are checked afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('oidc')"
KINDS_AFTER = "kind IN ('oidc', 'ldap', 'saml')"


@contextmanager
def _rebuilding() -> Iterator[None]:
    """Foreign keys off around a SQLite table rebuild (see the module), checked afterwards."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if sqlite:
            problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            bind.exec_driver_sql("PRAGMA foreign_keys=ON")
            if problems:
                raise RuntimeError(f"foreign keys broken by the rebuild of login_options: {problems[:5]}")


def _set_kinds(check: str) -> None:
    with _rebuilding(), op.batch_alter_table("login_options") as batch:
        batch.drop_constraint(op.f("ck_login_options_kind"), type_="check")
        batch.create_check_constraint("kind", check)


def upgrade() -> None:
    op.add_column("login_options", sa.Column("settings", sa.Text(), server_default="{}", nullable=False))
    _set_kinds(KINDS_AFTER)
    op.create_table(
        "saml_assertions",
        sa.Column("option_id", sa.String(length=36), nullable=False),
        sa.Column("assertion_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["login_options.id"],
            name=op.f("fk_saml_assertions_option_id_login_options"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("option_id", "assertion_id", name=op.f("pk_saml_assertions")),
    )
    op.create_index("ix_saml_assertions_expires_at", "saml_assertions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("saml_assertions")
    op.execute("DELETE FROM login_options WHERE kind <> 'oidc'")
    _set_kinds(KINDS_BEFORE)
    with _rebuilding(), op.batch_alter_table("login_options") as batch:
        batch.drop_column("settings")
