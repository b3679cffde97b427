"""The tables of governance and provisioning safety (migrations 0012 and 0013): requestable roles and access
requests, access reviews, audit streaming sinks and their outbox, and the SCIM deprovisioning guard's held requests.
They share :data:`gatehouse.store.tables.metadata`.
"""

from __future__ import annotations

import sqlalchemy as sa

from gatehouse.store.columns import (
    actor,
    id_column,
    reference,
    secret,
    serial_id_column,
    timestamp,
    unique_name,
    versioned,
)
from gatehouse.store.tables import metadata

# ------------------------------------------------------------------------------------------ governance
#
# Time-bound access and access requests (migration 0012): the roles people may request, with the longest
# grant and how long a request waits for an answer; the requests themselves. An approved request is a row of
# ``user_roles`` with ``source = 'request'`` and an ``expires_at``. Access reviews: who reviewed which scope,
# when. Audit streaming: the configured sinks (with their delivery state) and the outbox of records still to
# deliver to each (see :mod:`gatehouse.store.audit_outbox`).

REQUEST_STATUSES = ("pending", "approved", "denied", "cancelled", "expired")

requestable_roles = sa.Table(
    "requestable_roles",
    metadata,
    sa.Column("role_id", sa.String(36), sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("max_minutes", sa.Integer, nullable=False),
    sa.Column("answer_within_minutes", sa.Integer, nullable=False),
    timestamp("updated"),
    actor("updated_by"),
)
"""Roles that users may request for a while: the longest grant (``max_minutes``) and how long a request waits
for an answer before it expires (``answer_within_minutes``). Approvers are whoever holds
``iam:ApproveAccessRequest`` on the role."""

access_requests = sa.Table(
    "access_requests",
    metadata,
    id_column(),
    reference("user_id", "users"),
    reference("role_id", "roles"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("minutes", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    timestamp("created"),
    timestamp("answer_by"),
    timestamp("decided_at", nullable=True),
    actor("decided_by"),
    sa.Column("decided_by_id", sa.String(36), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    timestamp("granted_until", nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'denied', 'cancelled', 'expired')", name="status"),
    sa.CheckConstraint("minutes > 0", name="minutes"),
    sa.Index("ix_access_requests_user_id_created", "user_id", "created"),
    sa.Index("ix_access_requests_role_id_status", "role_id", "status"),
    sa.Index("ix_access_requests_status_answer_by", "status", "answer_by"),
    sa.Index(
        "uq_access_requests_pending",
        "user_id",
        "role_id",
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
)
"""Access requests: one pending request per user and role (a unique partial index decides races); a pending
request past ``answer_by`` is expired (:mod:`gatehouse.iam.grant_expiry`). ``granted_until``: until when an
approved request grants the role."""

access_reviews = sa.Table(
    "access_reviews",
    metadata,
    id_column(),
    timestamp("reviewed_at"),
    sa.Column("reviewer_id", sa.String(36), nullable=True),
    sa.Column("reviewer", sa.String(255), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("users_in_scope", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Index("ix_access_reviews_reviewed_at", "reviewed_at"),
)
"""Access reviews recorded: who reviewed which scope (the report's filters, JSON) and when. No foreign key: a
review outlives its reviewer."""

SINK_KINDS = ("webhook", "syslog", "file")

audit_sinks = sa.Table(
    "audit_sinks",
    metadata,
    id_column(),
    *unique_name("audit_sinks"),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    *secret("secret"),
    *versioned(),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    timestamp("lease_until", nullable=True),
    timestamp("next_attempt_at", nullable=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("delivered_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_delivered_sequence", sa.BigInteger, nullable=True),
    timestamp("last_delivered_at", nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    timestamp("last_error_at", nullable=True),
    sa.CheckConstraint("kind IN ('webhook', 'syslog', 'file')", name="kind"),
    sa.CheckConstraint("secret_encrypted IS NULL OR secret_env IS NULL", name="one_secret"),
)
"""Where audit records are streamed: a webhook, a syslog server or a JSON-lines file (``settings``, JSON), with
the webhook's HMAC key stored encrypted or named by an environment variable; and each sink's delivery state:
the process delivering it (a lease), when to try again after a failure, what was delivered last, the last
error."""

audit_outbox = sa.Table(
    "audit_outbox",
    metadata,
    serial_id_column(),
    reference("sink_id", "audit_sinks"),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    timestamp("enqueued_at"),
    sa.Index("ix_audit_outbox_sink_id_id", "sink_id", "id"),
    sqlite_autoincrement=True,  # ids never reused, even once every row has been delivered
)
"""Audit records still to deliver, one row per enabled sink, written in the transaction of the record itself;
delivered in ``id`` order per sink (ids are taken in commit order), deleted once delivered. ``sequence`` is the
audit record's id; ``payload`` the JSON delivered."""

scim_deprovisions = sa.Table(
    "scim_deprovisions",
    metadata,
    serial_id_column(),
    timestamp("at"),
    sa.Column("token_id", sa.String(36), nullable=True),
    sa.Column("token_name", sa.String(100), nullable=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("user_name", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("held", sa.Boolean, nullable=False),
    sa.CheckConstraint("kind IN ('deactivate', 'delete')", name="kind"),
    sa.Index("ix_scim_deprovisions_held_at", "held", "at"),
)
"""SCIM deactivations and deletions of users, for the mass-deprovisioning guard (:mod:`gatehouse.iam.scim_guard`):
the ones applied (``held`` false), counted over the guard's window, and the ones held (answered 429), listed for
review until an administrator allows or keeps blocking them. Applied rows older than a day are deleted when a new
burst begins."""
