"""The relational schema, one for SQLite and PostgreSQL (SQLAlchemy Core).

Design (see RFC 7643 §4 for the resources): every attribute an IdP looks resources up by has its own
normalised, indexed column (lower-cased ``userName``, ``externalId``, each email value in a child table,
lower-cased group ``displayName``, ``active``, the ``meta`` timestamps). The rest of a resource is its
canonical SCIM JSON in ``data`` (text), which the read path serves as is. What derives from other rows
(a user's ``groups``, a group's ``members``) lives in ``group_members`` only and is added at read time,
so a membership change costs one row and a group rename rewrites no member.

Uniqueness is enforced by unique indexes, so the database decides concurrent creates. The kinds of column that
several tables share (ids, foreign keys, timestamps, versioned records, tokens...) are declared once, in
:mod:`gatehouse.store.columns`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

from gatehouse.store.columns import (
    actor,
    bearer_token,
    client,
    grant_origin,
    id_column,
    reference,
    secret,
    serial_id_column,
    timestamp,
    token_use,
    unique_name,
    versioned,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: Who owns a user record: created in the dashboard/CLI, provisioned by an IdP, or created at SSO login.
SOURCES = ("local", "scim", "sso")


def _scim_resource(table: str) -> tuple[SchemaItem, ...]:
    """What a stored SCIM resource (a user, a group) ends with: the ``meta`` timestamps and ``version`` (its
    ETag), the canonical JSON (``data``) and ``search_text`` (what a search finds it by), with their indexes."""
    return (
        timestamp("created"),
        timestamp("last_modified"),
        sa.Column("version", sa.Integer, nullable=False, default=1),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False, server_default=""),
        sa.Index(f"ix_{table}_created", "created"),
        sa.Index(f"ix_{table}_last_modified", "last_modified"),
        # Substring search on PostgreSQL (pg_trgm); on SQLite the FTS5 tables of SQLITE_SEARCH_INDEX serve it.
        sa.Index(
            f"ix_{table}_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )


def _link_table(
    name: str, owner: sa.Column[str], linked: sa.Column[str], *extra: SchemaItem, key: tuple[str, ...] = ()
) -> sa.Table:
    """A table of links between two records (a group and a member, a role and a policy): the ``owner`` and
    ``linked`` references, the table's own ``extra`` columns and constraints, a primary key of both (then
    ``key``'s columns), which finds an owner's links, and an index on ``linked``, which finds who links to it."""
    return sa.Table(
        name,
        metadata,
        owner,
        linked,
        *extra,
        sa.PrimaryKeyConstraint(owner.name, linked.name, *key),
        sa.Index(f"ix_{name}_{linked.name}", linked.name),
    )


users = sa.Table(
    "users",
    metadata,
    id_column(),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("user_name", sa.String(255), nullable=False),
    sa.Column("user_name_lower", sa.String(255), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("display_name", sa.String(255), nullable=True),
    sa.Column("name_lower", sa.String(255), nullable=True),
    sa.Column("email_lower", sa.String(320), nullable=True),
    sa.Column("super_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("must_change_password", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    timestamp("last_login_at", nullable=True),
    *_scim_resource("users"),
    sa.CheckConstraint("source IN ('local', 'scim', 'sso')", name="source"),
    sa.CheckConstraint("NOT super_admin OR source = 'local'", name="super_admin_is_local"),
    sa.Index("uq_users_user_name_lower", "user_name_lower", unique=True),
    sa.Index("ix_users_external_id", "external_id"),
    sa.Index("ix_users_source_active", "source", "active"),
    sa.Index("ix_users_source_id", "source", "id"),  # SCIM list pages: WHERE source ORDER BY id
    sa.Index("ix_users_name_lower", "name_lower"),
    sa.Index("ix_users_email_lower", "email_lower"),
    sa.Index("ix_users_last_login_at", "last_login_at"),
    # Prefix search (Organization → Users) on PostgreSQL, whatever the database collation.
    sa.Index(
        "ix_users_user_name_pattern", "user_name_lower", postgresql_ops={"user_name_lower": "varchar_pattern_ops"}
    ).ddl_if(dialect="postgresql"),
    sa.Index("ix_users_name_pattern", "name_lower", postgresql_ops={"name_lower": "varchar_pattern_ops"}).ddl_if(
        dialect="postgresql"
    ),
    sa.Index("ix_users_email_pattern", "email_lower", postgresql_ops={"email_lower": "varchar_pattern_ops"}).ddl_if(
        dialect="postgresql"
    ),
)
"""Users. ``data`` holds the canonical SCIM JSON without ``id``, ``meta``, ``groups`` and ``password``;
``search_text`` what a search finds them by (:func:`gatehouse.resources.search.search_text`)."""

user_emails = sa.Table(
    "user_emails",
    metadata,
    reference("user_id", "users"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("value_lower", sa.String(320), nullable=False),
    sa.Column("type", sa.String(64), nullable=True),
    sa.Column("primary", sa.Boolean, nullable=False, default=False),
    sa.PrimaryKeyConstraint("user_id", "position"),
    sa.Index("ix_user_emails_value_lower", "value_lower"),
)
"""One row per ``emails`` value of a user, so ``emails.value eq`` is an index look-up."""

groups = sa.Table(
    "groups",
    metadata,
    id_column(),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("display_name_lower", sa.String(255), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=True),
    *_scim_resource("groups"),
    sa.Index("uq_groups_display_name_lower", "display_name_lower", unique=True),
    sa.Index("ix_groups_external_id", "external_id"),
)
"""Groups. ``data`` holds the canonical SCIM JSON without ``id``, ``meta`` and ``members``; ``search_text``
what a search finds them by."""

# The substring-search index on SQLite (migration 0009): per searchable table, a side table with an INTEGER
# PRIMARY KEY (a rowid that VACUUM keeps) naming the row and holding a copy of its sort key (lower-cased
# userName or display name) and ``search_text``, and an FTS5 ``trigram`` table over that copy (external
# content). Triggers on ``users`` and ``groups`` keep the side table in step, in the writing transaction, and
# triggers on the side table keep the FTS5 index in step. They are SQLite's only (PostgreSQL has the GIN
# indexes above), so they live outside ``metadata``; a migration that rebuilds ``users`` or ``groups`` (batch
# mode) drops their triggers and must create them again.
search_metadata = sa.MetaData()


def _search_side_table(name: str) -> sa.Table:
    """A side table of the SQLite search index: its rowid, the row it names, the row's sort key and search text."""
    return sa.Table(
        name,
        search_metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.String(36), nullable=False, unique=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
    )


user_search = _search_side_table("user_search")
group_search = _search_side_table("group_search")
SQLITE_SEARCH_INDEX = {"users": ("user_search", "user_search_fts"), "groups": ("group_search", "group_search_fts")}
"""Searchable table → (side table, FTS5 table), on SQLite."""
SQLITE_SEARCH_TABLES = frozenset(
    name
    for side, fts in SQLITE_SEARCH_INDEX.values()
    for name in (side, fts, *(f"{fts}_{shadow}" for shadow in ("data", "idx", "docsize", "config")))
)
"""Every table the SQLite search index creates (FTS5 shadow tables included): not part of ``metadata``."""

group_members = _link_table(
    "group_members",
    reference("group_id", "groups"),
    reference("user_id", "users"),
    sa.Column("display", sa.String(255), nullable=True),
)
"""Memberships: adding or removing one member of any group is one row. ``display`` is what the IdP
sent for the member, if anything (shown instead of the user's own name)."""

scim_tokens = sa.Table(
    "scim_tokens",
    metadata,
    id_column(),
    *bearer_token("scim_tokens"),
    timestamp("created"),
    *token_use(),
    sa.Index(
        "uq_scim_tokens_live_name",
        "name",
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
)
"""SCIM bearer tokens: only the SHA-256 of each token is stored; a revoked token keeps its row."""

app_settings = sa.Table(
    "app_settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    timestamp("updated"),
)
"""Settings changed at run time (SCIM on/off, ...), as JSON values keyed by name."""

user_events = sa.Table(
    "user_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    reference("user_id", "users"),
    timestamp("at"),
    sa.Column("event", sa.String(32), nullable=False),
    actor("actor"),
    sa.Index("ix_user_events_user_id_at", "user_id", "at"),
)
"""A user's status history: created, deactivated, reactivated, handed to the IdP… and by whom."""

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    reference("user_id", "users"),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    timestamp("created"),
    timestamp("last_seen"),
    timestamp("expires_at"),
    *client(),
    sa.Column("login_option_id", sa.String(36), nullable=True),  # opened through SSO (end-session sign-out)
    sa.Column("saml_name_id", sa.String(255), nullable=True),  # a SAML sign-in's subject (Single Logout)
    sa.Column("saml_name_id_format", sa.String(255), nullable=True),
    sa.Column("saml_session_index", sa.String(255), nullable=True),
    sa.Index("ix_sessions_user_id", "user_id"),
    sa.Index("ix_sessions_expires_at", "expires_at"),
    sa.Index("ix_sessions_saml_subject", "login_option_id", "saml_name_id"),
)
"""Dashboard sessions, server-side: the cookie holds a random id, the table only its SHA-256."""

session_reveals = sa.Table(
    "session_reveals",
    metadata,
    sa.Column("session_hash", sa.String(64), sa.ForeignKey("sessions.id_hash", ondelete="CASCADE"), primary_key=True),
    sa.Column("sealed", sa.Text, nullable=False),
    timestamp("created"),
)
"""A secret shown once (a new SCIM or API token) between the POST that made it and the page it redirects to:
sealed with a key derived from the session cookie (which the database never holds), taken by the next page."""

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    timestamp("window_start"),
    timestamp("locked_until", nullable=True),
)
"""Failed sign-in counters per account (``user:<name>``) and per client IP (``ip:<addr>``)."""

scim_activity = sa.Table(
    "scim_activity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    timestamp("at"),
    sa.Column("token_name", sa.String(100), nullable=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("detail", sa.String(500), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("resource", sa.String(20), nullable=False, server_default="other"),
    sa.Column("user_agent", sa.String(300), nullable=True),
    sa.Column("request_body", sa.Text, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("repeats", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_scim_activity_at", "at"),
    sa.Index("ix_scim_activity_status_at", "status", "at"),
    sa.Index("ix_scim_activity_resource_at", "resource", "at"),
    sa.Index("ix_scim_activity_token_name_at", "token_name", "at"),
    sa.Index("ix_scim_activity_method_at", "method", "at"),
)
"""Recent SCIM requests, so an admin can see why an IdP's test failed: the resource (``Users``, ``Groups``,
``discovery``, ``other``) derived from the path, the IdP's User-Agent and, for failed requests only, the
request and response bodies, capped and with secrets redacted (no header, no token, no password). A row stands
for ``repeats`` requests: more than one only for the successful reads counted past a token's budget a second."""

# ------------------------------------------------------------------------------------------ RBAC
#
# Roles are made of permission policies; users hold roles directly (``user_roles``) or through the SCIM
# groups they are members of (``group_role_bindings``), and may be limited by permission boundaries
# (``user_boundaries``). The built-in Super Admin role is never a row of ``user_roles``: every user
# with ``users.super_admin`` holds it. What may not disappear while in use (a role someone holds, a
# policy a role or a boundary uses) is protected by a RESTRICT foreign key, so the database refuses a
# delete that races an assignment.

#: How a user came to hold a role or a boundary: set by an administrator, or by SSO role mapping; a role also
#: through an approved access request (``request``, roles only, always time-bound).
GRANT_SOURCES = ("manual", "sso")
ROLE_GRANT_SOURCES = ("manual", "sso", "request")


def _named_record_table(name: str, *extra: sa.Column[str]) -> sa.Table:
    """A table of named, described, labelled records (roles, permission policies): an id, a name unique
    regardless of case, a description, ``labels`` (a JSON object of strings), the table's own ``extra``
    columns, whether it is built in, and its timestamps and version."""
    return sa.Table(
        name,
        metadata,
        id_column(),
        *unique_name(name),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        *extra,
        sa.Column("built_in", sa.Boolean, nullable=False),
        *versioned(),
    )


roles = _named_record_table("roles")
"""Roles. ``labels`` is a JSON object of strings (for ``role_label`` conditions)."""

permission_policies = _named_record_table("permission_policies", sa.Column("document", sa.Text, nullable=False))
"""Permission policies. ``document`` is the canonical JSON of a validated policy document; every change
of it increments ``version``, so a parsed document may be cached under (id, version) by any process."""

role_policies = _link_table(
    "role_policies", reference("role_id", "roles"), reference("policy_id", "permission_policies", ondelete="RESTRICT")
)
"""The policies attached to each role."""

user_roles = _link_table(
    "user_roles",
    reference("user_id", "users"),
    reference("role_id", "roles", ondelete="RESTRICT"),
    *grant_origin(),
    timestamp("expires_at", nullable=True),  # time-bound: no longer counts from then (migration 0012)
    sa.CheckConstraint("source IN ('manual', 'sso', 'request')", name="source"),
    sa.Index("ix_user_roles_expires_at", "expires_at"),
    key=("source",),
)
"""Roles held directly: assigned by an administrator (``manual``), by SSO role mapping (``sso``) or by an
approved access request (``request``). A row whose ``expires_at`` has passed grants nothing (every read
filters it out) and is deleted, with its ``iam:GrantExpired`` audit record, by :mod:`gatehouse.iam.grant_expiry`."""

user_boundaries = _link_table(
    "user_boundaries",
    reference("user_id", "users"),
    reference("policy_id", "permission_policies", ondelete="RESTRICT"),
    *grant_origin(),
    sa.CheckConstraint("source IN ('manual', 'sso')", name="source"),
    key=("source",),
)
"""Permission boundaries: policies that every action of the user must also be allowed by."""

group_role_bindings = _link_table(
    "group_role_bindings",
    reference("group_id", "groups"),
    reference("role_id", "roles", ondelete="RESTRICT"),
    timestamp("created"),
    actor("created_by"),
    timestamp("expires_at", nullable=True),  # time-bound, as user_roles.expires_at (migration 0012)
    sa.Index("ix_group_role_bindings_expires_at", "expires_at"),
)
"""Roles bound to SCIM groups: members hold them while they are members (no copy per member)."""

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    id_column(),
    reference("user_id", "users"),
    *bearer_token("api_tokens"),
    timestamp("created"),
    timestamp("expires_at"),
    *token_use(),
    sa.Index("ix_api_tokens_user_id", "user_id"),
    sa.Index(
        "uq_api_tokens_live_name",
        "user_id",
        "name",
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
)
"""Personal API tokens: only the SHA-256 of each is stored; a revoked token keeps its row (for the list),
a deleted user's tokens go with it."""

audit_events = sa.Table(
    "audit_events",
    metadata,
    serial_id_column(),
    timestamp("occurred_at"),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("actor_id", sa.String(36), nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("resource_type", sa.String(32), nullable=True),
    sa.Column("resource_id", sa.String(255), nullable=True),
    *client(),
    sa.Column("outcome", sa.String(8), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("summary", sa.Text, nullable=False),
    sa.CheckConstraint("outcome IN ('success', 'refused', 'failed')", name="outcome"),
    sa.Index("ix_audit_events_occurred_at", "occurred_at", "id"),
    sa.Index("ix_audit_events_event", "event", "occurred_at"),
    sa.Index("ix_audit_events_actor", "actor", "occurred_at"),
    sa.Index("ix_audit_events_resource_id", "resource_id", "occurred_at"),
)
"""The audit log: one row per change attempted through any surface (successes, refusals and failures).
No foreign keys: a record outlives the user, token or role it names; retention purges by ``occurred_at``."""

# ------------------------------------------------------------------------------------------ SSO
#
# OpenID Connect login options, the (option, subject) links of users to their IdP accounts, and the
# short-lived state of each sign-in in flight. Roles and boundaries granted by SSO role mapping are rows of
# ``user_roles`` / ``user_boundaries`` with ``source = 'sso'`` (see :mod:`gatehouse.store.login_options`).

login_options = sa.Table(
    "login_options",
    metadata,
    id_column(),
    sa.Column("kind", sa.String(16), nullable=False),
    *unique_name("login_options"),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("issuer", sa.String(500), nullable=False),
    sa.Column("client_id", sa.String(255), nullable=False),
    *secret("client_secret"),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("username_claim", sa.String(100), nullable=False),
    sa.Column("email_claim", sa.String(100), nullable=False),
    sa.Column("name_claim", sa.String(100), nullable=False),
    sa.Column("subject_claim", sa.String(100), nullable=False),
    sa.Column("end_session", sa.Boolean, nullable=False),
    sa.Column("scim_only", sa.Boolean, nullable=True),
    sa.Column("role_rules", sa.Text, nullable=False),
    *versioned(),
    sa.Column("settings", sa.Text, nullable=False, server_default="{}"),  # LDAP's or SAML's own fields (JSON)
    sa.CheckConstraint("kind IN ('oidc', 'ldap', 'saml')", name="kind"),
    sa.CheckConstraint("client_secret_encrypted IS NULL OR client_secret_env IS NULL", name="one_secret"),
)
"""SSO login options: OpenID Connect, LDAP and SAML 2.0 (``kind``). The option's secret (OIDC client secret,
LDAP bind password, SAML SP private key) is stored encrypted (:mod:`gatehouse.secrets_box`) or named by an
environment variable, never both; ``scim_only`` NULL follows whether SCIM is enabled; ``role_rules`` is the
JSON list of :func:`gatehouse.login.mapping.parse_rules`; ``settings`` the JSON of the kind's own fields
(:mod:`gatehouse.login.ldap`, :mod:`gatehouse.login.saml`; ``{}`` for OIDC, whose fields are columns, and
``issuer``/``client_id`` empty for the other kinds)."""

sso_links = sa.Table(
    "sso_links",
    metadata,
    reference("option_id", "login_options"),
    sa.Column("subject", sa.String(255), nullable=False),
    reference("user_id", "users"),
    timestamp("created"),
    timestamp("last_login_at", nullable=True),
    sa.PrimaryKeyConstraint("option_id", "subject"),
    sa.Index("uq_sso_links_option_id_user_id", "option_id", "user_id", unique=True),
    sa.Index("ix_sso_links_user_id", "user_id"),
)
"""Which user an IdP account (login option, ``sub``) signs in as: one user per subject, one subject per user
and option. Deleting the option or the user deletes the link."""

sso_login_states = sa.Table(
    "sso_login_states",
    metadata,
    sa.Column("state_hash", sa.String(64), primary_key=True),
    reference("option_id", "login_options"),
    sa.Column("nonce", sa.String(128), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("next_path", sa.String(500), nullable=False),
    timestamp("created"),
    timestamp("expires_at"),
    sa.Index("ix_sso_login_states_expires_at", "expires_at"),
    sa.Index("ix_sso_login_states_option_id", "option_id"),
)
"""Sign-ins in flight, keyed by the SHA-256 of their ``state``: taken (deleted) once by the callback."""

saml_assertions = sa.Table(
    "saml_assertions",
    metadata,
    reference("option_id", "login_options"),
    sa.Column("assertion_id", sa.String(255), nullable=False),
    timestamp("expires_at"),
    sa.PrimaryKeyConstraint("option_id", "assertion_id"),
    sa.Index("ix_saml_assertions_expires_at", "expires_at"),
)
"""SAML assertions already consumed, kept until they expire: a second use of one is a replay (the primary key
decides, in every process on the database)."""

# ------------------------------------------------------------------------------------------ gateway access
#
# The forward-auth rule table (custom rules, in order; the built-in preset is code, switched on by a row of
# ``app_settings``) and the labels Gatehouse keeps for gateway resources (see :mod:`gatehouse.iam.gateway_rules`).

authz_rules = sa.Table(
    "authz_rules",
    metadata,
    id_column(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("methods", sa.String(100), nullable=False),
    sa.Column("path", sa.String(512), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("resource", sa.String(300), nullable=False),
    sa.Column("labels", sa.Text, nullable=False),
    sa.Column("description", sa.String(300), nullable=False),
    *versioned(),
    sa.Index("ix_authz_rules_position", "position", "id"),
)
"""Custom forward-auth rules, applied by ``position`` (then id). ``methods`` is comma-separated; ``query`` and
``labels`` are JSON objects (part → query parameter; condition key → label templates)."""

user_counts = sa.Table(
    "user_counts",
    metadata,
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("shard", sa.SmallInteger, nullable=False),
    sa.Column("tally", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("source", "active", "shard"),
)
"""How many users each source has, active and not: the sum of a source's and state's shards. Database triggers
(migration 0017) move them in the transaction of every insert, delete and change of ``source`` or ``active`` on
``users``, so a listing's total is a few rows rather than a count over every user
(:mod:`gatehouse.store.user_counts`)."""

security_epoch = sa.Table(
    "security_epoch",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1", name="one_row"),
)
"""One row (``id`` 1): a counter that database triggers move in the transaction of every change that a
principal, an API token's standing or a gateway label derives from (migration 0016 lists them). While it
stays the same, what a process derived from those rows holds (:mod:`gatehouse.iam.principal_cache`)."""

gateway_labels = sa.Table(
    "gateway_labels",
    metadata,
    sa.Column("resource", sa.String(300), primary_key=True),
    sa.Column("labels", sa.Text, nullable=False),
    timestamp("updated"),
    actor("updated_by"),
)
"""Labels of gateway resources (a group, a published service, a consumer, a service template), by resource
name: what label conditions test when a check or a rule gives none."""
