"""security_epoch: one counter that every change to what a principal or an API token is moves, in its transaction

A single row whose ``value`` database triggers increment whenever a row that a user's permissions, an API
token's standing, a gateway resource's kept labels or the forward-auth rule table derive from is written: a
user's ``active``, ``super_admin`` or ``user_name``, a role held directly, through a group (membership or
binding) or as a boundary, a role or policy (its name, labels, document or attachments), an API token's
revocation, expiry or owner, a gateway label, a forward-auth rule, a setting (the rule table's preset among
them; settings change rarely). Being written by the database in the same transaction as the change, it cannot be
forgotten by a write path, and no process can see the change without the new value or the value without the
change. A process may keep what it derived while the value stays the same
(:mod:`gatehouse.iam.principal_cache`).

SQLite triggers are per row (with ``WHEN`` where only some columns count); one transaction writes at a time
there. PostgreSQL's are deferred constraint triggers: they move the counter once, as the transaction commits,
so that the row is locked only then, after every other lock the transaction takes (locked at the first
change, it deadlocked with the mass-deprovisioning guard's advisory lock under concurrent deactivations).
On ``users`` and ``api_tokens`` a ``WHEN`` clause keeps a SCIM update of a user's name or e-mail, or a
token's last use, from moving anything.

Revision ID: 0016
Revises: 0015 (sessions' SAML subject)
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BUMP = "UPDATE security_epoch SET value = value + 1 WHERE id = 1"
# Every write counts on these tables.
WHOLE = (
    "user_roles", "user_boundaries", "group_members", "group_role_bindings", "roles", "permission_policies",
    "role_policies", "gateway_labels", "authz_rules", "app_settings",
)  # fmt: skip
# Only these columns count on an update (an insert counts on neither: nothing was derived from an unknown row).
COLUMNS = {
    "users": ("active", "super_admin", "user_name"),
    "api_tokens": ("revoked_at", "expires_at", "user_id", "name"),
}
# A deleted group takes its memberships and bindings with it (their own triggers count those too).
DELETES = ("users", "api_tokens", "groups")


def _changed(table: str) -> str:
    return " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in COLUMNS[table])


def _sqlite() -> None:
    for table in WHOLE:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER security_epoch_{table}_{event.lower()} AFTER {event} ON {table} BEGIN {BUMP}; END"
            )
    for table in COLUMNS:
        when = _changed(table).replace("IS DISTINCT FROM", "IS NOT")
        op.execute(
            f"CREATE TRIGGER security_epoch_{table}_update AFTER UPDATE ON {table} WHEN {when} BEGIN {BUMP}; END"
        )
    for table in DELETES:
        op.execute(f"CREATE TRIGGER security_epoch_{table}_delete AFTER DELETE ON {table} BEGIN {BUMP}; END")


def _postgresql() -> None:
    # At commit, once per transaction: the row is locked only while its transaction commits, after every other
    # lock it takes, so that it orders nothing (taken earlier, it deadlocked with the guard's advisory lock).
    op.execute(
        "CREATE FUNCTION gatehouse_security_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF coalesce(current_setting('gatehouse.epoch_moved', true), '') <> 'yes' THEN "
        f"{BUMP}; PERFORM set_config('gatehouse.epoch_moved', 'yes', true); END IF; RETURN NULL; END $$"
    )
    deferred = "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
    run = "EXECUTE FUNCTION gatehouse_security_epoch_bump()"
    for table in WHOLE:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER security_epoch_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"{deferred} {run}"
        )
    for table in COLUMNS:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER security_epoch_{table}_update AFTER UPDATE ON {table} {deferred} "
            f"WHEN ({_changed(table)}) {run}"
        )
    for table in DELETES:
        op.execute(f"CREATE CONSTRAINT TRIGGER security_epoch_{table}_delete AFTER DELETE ON {table} {deferred} {run}")


def upgrade() -> None:
    op.create_table(
        "security_epoch",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_security_epoch_one_row")),
    )
    op.execute("INSERT INTO security_epoch (id, value) VALUES (1, 0)")
    (_postgresql if op.get_bind().dialect.name == "postgresql" else _sqlite)()


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in WHOLE:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS security_epoch_{table} ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS security_epoch_{table}_{event}")
    for table in (*COLUMNS, *DELETES):
        for suffix in ("update", "delete"):
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS security_epoch_{table}_{suffix}{on}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS gatehouse_security_epoch_bump()")
    op.drop_table("security_epoch")
