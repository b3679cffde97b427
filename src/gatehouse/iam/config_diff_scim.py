"""A plan's SCIM provisioning (:mod:`gatehouse.iam.config_plan`): whether SCIM is on and whether provisioned users
may sign in with a password, and the SCIM tokens by name. A token the file names that does not exist is created
only when the apply says so (its secret is shown once); with ``prune``, one it leaves out is revoked. Reads only.
"""

from __future__ import annotations

from gatehouse.iam.config_changes import ObjectChange, field_changes
from gatehouse.iam.config_diff import PlanContext
from gatehouse.iam.config_model import Scim


def scim_changes(plan: PlanContext, scim: Scim) -> list[ObjectChange]:
    """The ``scim`` section: its settings, then its tokens."""
    changes: list[ObjectChange] = []
    before = {"enabled": plan.state.scim_enabled, "password_sign_in": plan.state.scim_password_sign_in}
    after = {
        "enabled": before["enabled"] if scim.enabled is None else scim.enabled,
        "password_sign_in": before["password_sign_in"] if scim.password_sign_in is None else scim.password_sign_in,
    }
    if before != after:
        changes.append(ObjectChange("scim_settings", "", "update", field_changes(before, after), payload=after))
    if scim.tokens is not None:
        live = {token.name: token for token in plan.state.tokens}
        wanted = [token.strip() for token in scim.tokens]
        for index, name in enumerate(wanted):
            if not name or len(name) > 100:
                plan.problem(("scim", "tokens", index), "a token name is 1 to 100 characters")
            elif name not in live:
                note = "apply --issue-tokens creates it and shows its secret once; apply refuses it otherwise"
                changes.append(ObjectChange("scim_token", name, "create", notes=(note,), payload=name))
        if plan.prune:
            for name, token in live.items():
                if name not in wanted:
                    note = "revoked: it stops working at once"
                    changes.append(ObjectChange("scim_token", name, "delete", notes=(note,), payload=token.id))
    return changes
