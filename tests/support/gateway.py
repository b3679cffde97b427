"""Helpers of the gateway-authorization tests: gateway permissions granted through the use cases, labels kept
for gateway resources, forward-auth headers. No tests here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatehouse.iam import policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import Principal, super_admin_role
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import gateway_labels
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow

ROOT = Principal("root-id", "root", True, True, (super_admin_role(),))
GG = "arn:api7:gateway:gatewaygroup"


def new_policy(connection: Connection, name: str, document: Mapping[str, Any]) -> str:
    return policies.create_policy(connection, ROOT, policy_input(name, dict(document))).id


def grant_in(connection: Connection, user_id: str, name: str, *documents: Mapping[str, Any]) -> str:
    """A role ``name`` made of one policy per document, assigned to ``user_id``; the role's id."""
    policy_ids = [new_policy(connection, f"{name}-{n}", document) for n, document in enumerate(documents)]
    role = rbac.create_role(connection, ROOT, role_input(name), policy_ids).role
    rbac.assign_role(connection, ROOT, user_id, role.id)
    return role.id


def grant(db: Database, user_id: str, name: str, *documents: Mapping[str, Any]) -> str:
    with db.transaction() as connection:
        return grant_in(connection, user_id, name, *documents)


def bound_in(connection: Connection, user_id: str, name: str, document: Mapping[str, Any]) -> str:
    """A permission boundary on ``user_id``; the policy's id."""
    policy_id = new_policy(connection, name, document)
    rbac.set_boundaries(connection, ROOT, user_id, [policy_id])
    return policy_id


def label(db: Database, resource: str, **labels: str) -> None:
    """Keep ``labels`` for a gateway resource (straight to storage)."""
    with db.transaction() as connection:
        gateway_labels.put(connection, resource, labels, "test", utcnow())


def nginx(method: str, uri: str) -> dict[str, str]:
    """The headers nginx's ``auth_request`` sends with our configuration."""
    return {"X-Original-Method": method, "X-Original-URI": uri}


def caddy(method: str, uri: str, host: str = "gw.example") -> dict[str, str]:
    """The headers Caddy's ``forward_auth`` (and Traefik's ForwardAuth) send."""
    return {
        "X-Forwarded-Method": method,
        "X-Forwarded-Uri": uri,
        "X-Forwarded-Host": host,
        "X-Forwarded-Proto": "https",
    }


def allow(actions: list[str], resources: list[str], **conditions: dict[str, str]) -> dict[str, Any]:
    """A one-statement allowing document; ``conditions`` as ``gateway_group_label={"env": "dev"}``."""
    statement: dict[str, Any] = {"effect": "allow", "actions": actions, "resources": resources}
    if conditions:
        statement["conditions"] = {
            key: {
                "type": "MatchLabel",
                "options": [{"key": k, "operator": "exact_match", "value": v} for k, v in values.items()],
            }
            for key, values in conditions.items()
        }
    return {"statement": [statement]}
