"""Helpers of the configuration-as-code tests (``tests/*/test_config*.py``): a directory of users and groups, a
rich organization configured through the admin API, files to plan and apply, a dump of every table (to show that
a failed apply changed nothing) and generated questions for the policy simulator. No tests here."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.iam import config_apply, config_file, config_model, config_plan
from gatehouse.iam.audit import Origin
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.config_apply import Applied
from gatehouse.iam.config_plan import Plan
from gatehouse.iam.simulator import simulate
from gatehouse.store import migration
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import metadata
from support.iam import add_group, add_user
from support.pg import fresh_postgres_schema

ORIGIN = Origin("cli", "operator (CLI)", None, None, "tests")
PUBLIC_URL = "https://gatehouse.example.com"
USERS = tuple(f"user{index:02d}" for index in range(12))
GROUPS = {"ops": USERS[:4], "dev": USERS[3:8], "sec": USERS[8:], "auditors": ()}
GG = "arn:api7:gateway:gatewaygroup"
IDP_METADATA = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com">'
    "<md:IDPSSODescriptor/></md:EntityDescriptor>"
)


# ------------------------------------------------------------------------------------------ a directory


def directory(db: Database) -> dict[str, str]:
    """The same users (SCIM-provisioned) and groups in any database: user and group ids by name."""
    ids: dict[str, str] = {}
    with db.transaction() as connection:
        for name in USERS:
            ids[name] = add_user(connection, name)
        for group, members in GROUPS.items():
            ids[group] = add_group(connection, group, tuple(ids[member] for member in members))
    return ids


# ------------------------------------------------------------------------------------------ files


def load(text: str) -> tuple[config_file.Locator, config_model.ConfigFile]:
    where = config_file.parse(text, "gatehouse.yaml")
    return where, config_model.validate(where, "gatehouse.yaml")


def plan_text(db: Database, principal: Principal, text: str, *, prune: bool = False) -> Plan:
    where, model = load(text)
    with db.snapshot() as connection:
        return config_plan.plan(connection, principal, model, where, prune=prune, source="gatehouse.yaml")


def apply_text(
    db: Database,
    principal: Principal,
    text: str,
    *,
    prune: bool = False,
    plan_id: str | None = None,
    issue_tokens: bool = False,
) -> Applied:
    """Apply in one transaction, as a surface does (without its change-set record)."""
    where, model = load(text)
    with db.transaction() as connection:
        return config_apply.apply(
            connection, principal, ORIGIN, model, where, public_url=PUBLIC_URL, now=utcnow(), prune=prune,
            plan_id=plan_id, issue_tokens=issue_tokens, source="gatehouse.yaml",
        )  # fmt: skip


def problems(error: config_file.ConfigError) -> list[str]:
    return error.lines()


# ------------------------------------------------------------------------------------------ every table


def dump(
    db: Database, *, skip: tuple[str, ...] = ("audit_events", "security_epoch", "user_counts")
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but ``skip`` (by default the audit log, the epoch that any change moves, and the
    user counts, whose shards PostgreSQL picks at random), sorted: equal dumps are equal databases."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with db.snapshot() as connection:
        for table in metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = connection.execute(sa.select(table)).all()
            found[table.name] = sorted(tuple(str(value) for value in row) for row in rows)
    return found


# ------------------------------------------------------------------------------------------ another database


@contextmanager
def other_database(backend: str, tmp: Any) -> Iterator[Database]:
    """A fresh, migrated database of ``backend`` (``sqlite`` or ``postgres``), disposed afterwards."""
    if backend == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp / f'other-{uuid.uuid4().hex[:8]}.db'}", pool_size=2)
        migration.upgrade(database.engine)
        try:
            yield database
        finally:
            database.dispose()
        return
    with fresh_postgres_schema() as url:
        database = Database.from_url(url, pool_size=2)
        migration.upgrade(database.engine)
        try:
            yield database
        finally:
            database.dispose()


# ------------------------------------------------------------------------------------------ a rich organization


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def statement(effect: str, actions: list[str], resources: list[str], **conditions: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"effect": effect, "actions": actions, "resources": resources}
    if conditions:
        found["conditions"] = conditions
    return found


def label_is(key: str, value: str) -> dict[str, Any]:
    return {"type": "MatchLabel", "options": {"key": key, "operator": "exact_match", "value": value}}


POLICIES: dict[str, dict[str, Any]] = {
    "read iam": {"statement": [statement("allow", ["iam:Get<.*>"], ["*"])]},
    "users admin": {
        "statement": [statement("allow", ["iam:GetUser", "iam:UpdateUserStatus", "iam:ResetPassword"], ["*"])]
    },
    "no platform roles": {
        "statement": [
            statement(
                "deny",
                ["iam:UpdateRole", "iam:DeleteRole"],
                ["arn:gatehouse:iam:role/*"],
                role_label=label_is("team", "platform"),
            )
        ]
    },
    "roles admin": {"statement": [statement("allow", ["iam:<.*Role>"], ["arn:gatehouse:iam:role/*"])]},
    "gateway read": {"statement": [statement("allow", ["gateway:Get<.*>"], [f"{GG}/*", f"{GG}/*/publishedservice/*"])]},
    "dev groups": {
        "statement": [
            statement(
                "allow",
                ["gateway:<.*>"],
                [f"{GG}/<.*>", f"{GG}/<.*>/publishedservice/<.*>"],
                gateway_group_label=label_is("env", "dev"),
            )
        ]
    },
    "publish to prod": {"statement": [statement("allow", ["gateway:PublishServices"], [f"{GG}/prod"])]},
    "api7 custom roles": {"statement": [statement("allow", ["iam:UpdateCustomRole"], ["arn:api7:iam:role/*"])]},
    "audit readers": {"statement": [statement("allow", ["iam:GetAudit", "iam:ExportAudits"], ["*"])]},
    "deny deletes": {"statement": [statement("deny", ["iam:Delete<.*>", "gateway:Delete<.*>"], ["*"])]},
}
ROLES: dict[str, tuple[list[str], dict[str, str]]] = {
    "Platform": (["roles admin", "no platform roles", "read iam"], {"team": "platform"}),
    "Helpdesk": (["users admin", "read iam"], {}),
    "Gateway readers": (["gateway read"], {"team": "gw"}),
    "Dev editors": (["dev groups", "gateway read"], {"team": "dev"}),
    "Release": (["publish to prod", "api7 custom roles", "deny deletes"], {}),
    "Auditors": (["audit readers", "read iam"], {"team": "sec"}),
}


def configure_rich(client: TestClient, headers: dict[str, str], ids: dict[str, str]) -> None:
    """Through the admin API: 10 policies, 6 roles (one requestable), group bindings (one time-bound), direct
    grants (one time-bound) and boundaries, an OpenID Connect and an LDAP login option with mapping rules, SCIM on
    with two tokens, three forward-auth rules, the preset and two labelled gateway resources."""
    policy = {
        name: _ok(client.post("/api/permission-policies", headers=headers, json={
            "name": name, "document": document, "labels": {"kind": "test"} if index % 3 == 0 else {},
            "description": f"policy {index}" if index % 2 else "",
        }), 201)["id"]
        for index, (name, document) in enumerate(POLICIES.items())
    }  # fmt: skip
    role = {
        name: _ok(client.post("/api/roles", headers=headers, json={
            "name": name, "labels": labels, "policy_ids": [policy[p] for p in attached], "description": f"{name}.",
        }), 201)["id"]
        for name, (attached, labels) in ROLES.items()
    }  # fmt: skip
    _ok(client.put(f"/api/roles/{role['Release']}/requestable", headers=headers, json={"max_minutes": 240}))
    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat()
    _ok(client.put(f"/api/groups/{ids['ops']}/roles", headers=headers, json={"role_ids": [role["Platform"]]}))
    _ok(client.put(f"/api/groups/{ids['dev']}/roles", headers=headers, json={"role_ids": [role["Dev editors"]]}))
    _ok(client.put(f"/api/groups/{ids['sec']}/roles/{role['Auditors']}", headers=headers, json={"expires_at": later}))
    for index, name in enumerate(USERS[:6]):
        wanted = [role["Helpdesk"]] if index % 2 else [role["Gateway readers"], role["Release"]]
        _ok(client.put(f"/api/users/{ids[name]}/roles", headers=headers, json={"role_ids": wanted}))
    _ok(client.put(f"/api/users/{ids[USERS[6]]}/roles/{role['Auditors']}", headers=headers, json={"expires_at": later}))
    boundary = [policy["read iam"], policy["gateway read"]]
    _ok(client.put(f"/api/users/{ids[USERS[1]]}/boundaries", headers=headers, json={"policy_ids": boundary}))
    _ok(client.post("/api/login_options", headers=headers, json={
        "name": "Okta", "issuer": "https://example.okta.com", "client_id": "gatehouse",
        "client_secret_env": "OKTA_CLIENT_SECRET", "scopes": ["openid", "profile", "email", "groups"],
        "subject_claim": "sub", "end_session": True, "scim_only": True,
        "rules": [
            {"kind": "role", "target_id": "Dev editors", "attribute": "$.groups[*]", "operation": "exact_match",
             "value": "developers"},
            {"kind": "boundary", "target_id": "gateway read", "attribute": "$.department", "operation": "regex",
             "value": "^(Finance|Legal)$"},
        ],
    }), 201)  # fmt: skip
    _ok(client.post("/api/login_options", headers=headers, json={
        "kind": "ldap", "name": "Corp directory", "client_secret_env": "LDAP_BIND_PASSWORD", "enabled": False,
        "ldap": {"host": "ldap.example.com", "port": 636, "tls": "ldaps", "base_dn": "ou=people,dc=example,dc=org",
                 "bind_dn": "cn=gatehouse,dc=example,dc=org", "identifier": "sAMAccountName",
                 "user_filter": "(objectClass=person)", "subject_attribute": "objectGUID"},
        "rules": [{"kind": "role", "target_id": "Helpdesk", "attribute": "$.memberOf[*]",
                   "operation": "contains_string", "value": "cn=helpdesk"}],
    }), 201)  # fmt: skip
    _ok(client.put("/api/scim", headers=headers, json={"enabled": True, "password_sign_in": False}))
    for token in ("okta", "entra"):
        _ok(client.post("/api/scim/tokens", headers=headers, json={"name": token}), 201)
    rules = [
        {"methods": ["GET"], "path": "/api/gateway_groups/{gg}", "action": "gateway:GetGatewayGroup",
         "resource": f"{GG}/{{gg}}"},
        {"methods": ["PUT", "PATCH"], "path": "/apisix/admin/routes/{id}", "query": {"gg": "gateway_group_id"},
         "action": "gateway:UpdatePublishedService", "resource": f"{GG}/{{gg}}/publishedservice/*",
         "description": "routes"},
        {"methods": ["*"], "path": "/api/gateway_groups/{gg}/services/**", "action": "gateway:GetPublishedService",
         "resource": f"{GG}/{{gg}}/publishedservice/*", "labels": {"gateway_group_label": {"env": "dev"}}},
    ]  # fmt: skip
    for rule in rules:
        _ok(client.post("/api/v1/authz/rules", headers=headers, json=rule), 201)
    _ok(client.put("/api/v1/authz/preset", headers=headers, json={"enabled": True}))
    for name, env in (("dev", "dev"), ("prod", "prod")):
        body = {"resource": f"{GG}/{name}", "labels": {"env": env}}
        _ok(client.put("/api/v1/authz/resources", headers=headers, json=body))


# ------------------------------------------------------------------------------------------ the simulator


def questions(seed: int, count: int, role_names: list[str], policy_names: list[str]) -> list[tuple[str, str, str]]:
    """(user name, action, resource) questions for the simulator, ids left as ``role:<name>`` placeholders."""
    from gatehouse.iam.catalog import ACTION_NAMES

    rng = random.Random(seed)
    actions = sorted(ACTION_NAMES)
    kinds = [
        lambda: f"role:{rng.choice(role_names)}",
        lambda: f"policy:{rng.choice(policy_names)}",
        lambda: "arn:gatehouse:iam:role/*",
        lambda: "arn:gatehouse:iam:organization/*",
        lambda: f"{GG}/{rng.choice(['dev', 'prod', 'staging'])}",
        lambda: f"{GG}/{rng.choice(['dev', 'prod'])}/publishedservice/{rng.choice(['billing', 'search'])}",
        lambda: "arn:api7:gateway:servicetemplate/t1",
    ]
    return [(rng.choice(USERS), rng.choice(actions), rng.choice(kinds)()) for _ in range(count)]


def answers(db: Database, principal: Principal, asked: list[tuple[str, str, str]]) -> list[tuple[Any, ...]]:
    """The simulator's answers in ``db`` (ids replaced by names, so two databases compare)."""
    found = []
    with db.snapshot() as connection:
        users = {row.user_name: row.id for row in connection.execute(sa.text("SELECT id, user_name FROM users"))}
        roles = {row.name: row.id for row in connection.execute(sa.text("SELECT id, name FROM roles"))}
        policies = {row.name: row.id for row in connection.execute(sa.text("SELECT id, name FROM permission_policies"))}
        for user, action, resource in asked:
            if resource.startswith("role:"):
                resource = f"arn:gatehouse:iam:role/{roles[resource[5:]]}"
            elif resource.startswith("policy:"):
                resource = f"arn:gatehouse:iam:permissionpolicy/{policies[resource[7:]]}"
            decision = simulate(connection, principal, users[user], action, resource).decision
            ref = decision.statement
            found.append(
                (
                    decision.allowed,
                    decision.outcome,
                    decision.boundary_name,
                    None if ref is None else (ref.policy_name, ref.role_name, ref.index, ref.effect),
                )
            )
    return found


def expiry(days: int = 30) -> str:
    """A moment ``days`` from now, as a file writes it."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
