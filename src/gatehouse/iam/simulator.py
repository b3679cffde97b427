"""The policy simulator: would this user be allowed this action on this resource, and which statement
decides? It evaluates exactly what :func:`~gatehouse.iam.authorizer.require` would for that user now
(their roles, their group-bound roles, their boundaries), without doing anything.

Simulating for a user shows what they may do, so it needs ``iam:GetUser`` on that user.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from gatehouse.errors import InvalidInput, NotFound
from gatehouse.iam.authorizer import Labels, Principal, authorize, load_principal, require
from gatehouse.iam.catalog import ACTION_NAMES, RESOURCE_PREFIX, resource_name
from gatehouse.iam.policy import Decision
from gatehouse.store import users as user_store

MAX_RESOURCE = 512


@dataclass(frozen=True, slots=True)
class Simulation:
    """The question and the answer."""

    user_id: str
    user_name: str
    action: str
    resource: str
    decision: Decision


def simulate(
    connection: Connection,
    principal: Principal,
    user_id: str,
    action: str,
    resource: str,
    labels: Labels | None = None,
) -> Simulation:
    """Decide ``action`` on ``resource`` for ``user_id`` as the authorizer would now."""
    require(principal, "iam:GetUser", resource_name("user", user_id))
    if action not in ACTION_NAMES:
        raise InvalidInput(f"Unknown action {action!r}: pick one from the catalog.")
    resource = resource.strip()
    if not resource.startswith(RESOURCE_PREFIX) or len(resource) > MAX_RESOURCE:
        raise InvalidInput(
            f"A resource is a name such as {resource_name('user', '<id>')} (at most {MAX_RESOURCE} characters)."
        )
    user = user_store.get(connection, user_id)
    if user is None:
        raise NotFound("There is no such user. They may have been deleted.")
    subject = load_principal(connection, user_id)
    return Simulation(user.id, user.user_name, action, resource, authorize(subject, action, resource, labels))
