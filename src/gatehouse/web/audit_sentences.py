"""An audit record as a sentence a person reads ("Okta deactivated alice@example.com", "admin attached a
policy to role SRE"), made from what the record holds: its actor, event, outcome and the names its summary
kept at the time. Ids stay in the record's details; a record without a name says what kind of object it was.
Pure view helpers of :mod:`gatehouse.web.routes.audit`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from gatehouse.store.audit import AuditRecord

KINDS: Final = {
    "user": "user", "role": "role", "permissionpolicy": "permission policy", "token": "API token",
    "scimtoken": "SCIM token", "group": "group", "login_option": "login option", "organization": "the organization",
    "authz_rule": "gateway access rule",
}  # fmt: skip
_VERBS: Final = {
    "Create": "created", "Replace": "replaced", "Patch": "changed", "Delete": "deleted", "Update": "changed",
    "Invite": "invited", "Reset": "reset the password of", "HandOver": "handed to the IdP",
    "Export": "exported", "Test": "tested", "Check": "checked", "Apply": "applied",
}  # fmt: skip
_NAME_KEYS: Final = ("user_name", "userName", "name", "token_name", "group_name", "displayName", "display_name")
_EVENT: Final = re.compile(r"^(?P<area>[a-z]+):(?P<verb>[A-Z][a-z]+(?:Over)?)(?P<rest>[A-Za-z]*)$")


def _name(summary: Mapping[str, Any]) -> str | None:
    for key in _NAME_KEYS:
        value = summary.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:120]
    return None


def _object(record: AuditRecord) -> str:
    """What the record is about: its kind and the name recorded at the time, else just the kind."""
    kind = KINDS.get(record.resource_type or "", (record.resource_type or "").replace("_", " "))
    name = _name(record.summary)
    if kind == "the organization":
        return "the organization's settings"
    if name:
        return f"{kind} {name}".strip()
    return f"a {kind}" if kind else "something"


def _scim(record: AuditRecord, actor: str) -> str:
    kind = "group" if record.event.endswith("Group") else "user"
    name = _name(record.summary)
    who = f"{kind} {name}" if name else f"a {kind}"
    active = record.summary.get("active")
    if record.event == "scim:PatchUser" and active is False:
        return f"{actor} deactivated {who}"
    if record.event == "scim:PatchUser" and active is True:
        return f"{actor} reactivated {who}"
    verb = next((v for k, v in _VERBS.items() if record.event.startswith(f"scim:{k}")), "changed")
    return f"{actor} {verb} {who}"


_GUARD_DECISIONS: Final = {"allow_deprovisioning": "allowed", "block_deprovisioning": "kept blocking"}
"""The mass-deprovisioning guard's decisions (:mod:`gatehouse.iam.scim_guard`)."""


def _single_logout(record: AuditRecord, actor: str, summary: Mapping[str, Any]) -> str:
    """SAML Single Logout (:mod:`gatehouse.sso.saml_logout`): a LogoutRequest from the IdP, its LogoutResponse,
    or Gatehouse's LogoutRequest that could not be sent."""
    if record.outcome != "success":
        return f"{actor} tried to sign out with the identity provider (single sign-out)"
    if summary.get("message") == "LogoutRequest":
        return f"the identity provider signed {actor} out"
    return "the identity provider confirmed a sign-out"


def _special(record: AuditRecord, actor: str, summary: Mapping[str, Any]) -> str | None:
    event = record.event
    if event == "auth:SignIn":
        return f"{actor} signed in" if record.outcome == "success" else f"{actor} tried to sign in"
    if event == "auth:SignOut":
        return f"{actor} signed out"
    if event == "auth:SingleLogout":
        return _single_logout(record, actor, summary)
    if event == "auth:ChangePassword":
        return f"{actor} changed their password"
    if event == "iam:UpdateUserStatus" and isinstance(summary.get("active"), bool):
        return f"{actor} {'reactivated' if summary['active'] else 'deactivated'} {_object(record)}"
    if event == "iam:UpdatePasswordLogin" and isinstance(summary.get("enabled"), bool):
        return f"{actor} turned password sign-in {'on' if summary['enabled'] else 'off'}"
    if event == "iam:UpdateSCIMProvisioning" and isinstance(summary.get("enabled"), bool):
        return f"{actor} turned SCIM provisioning {'on' if summary['enabled'] else 'off'}"
    if event == "iam:UpdateSCIMProvisioning" and summary.get("action") in ("create", "revoke", "regenerate"):
        verbs = {"create": "created", "revoke": "revoked", "regenerate": "regenerated"}
        token = summary.get("token_name")
        return f"{actor} {verbs[summary['action']]} {f'SCIM token {token}' if token else 'a SCIM token'}"
    if event == "iam:UpdateSCIMProvisioning" and summary.get("operation") in _GUARD_DECISIONS:
        return f"{actor} {_GUARD_DECISIONS[summary['operation']]} the deprovisioning held by the guard"
    if event == "scim:GuardTripped":
        return (
            f"{actor} tried to deprovision more than {summary.get('threshold')} users within "
            f"{summary.get('window_minutes')} minutes: the mass-deprovisioning guard holds the rest"
        )
    if event == "iam:UpdateRole" and (summary.get("attach_policies") or summary.get("detach_policies")):
        attached = bool(summary.get("attach_policies"))
        count = len(summary.get("attach_policies") or summary.get("detach_policies") or [])
        named = [str(n)[:120] for n in summary.get("policy_names") or [] if isinstance(n, str)]
        what = "a policy" if count == 1 else f"{count} policies"
        if named and len(named) == count:  # the names recorded at the time
            what = f"policy {named[0]}" if count == 1 else f"policies {', '.join(named)}"
        direction = "to" if attached else "from"
        return f"{actor} {'attached' if attached else 'detached'} {what} {direction} {_object(record)}"
    return None


def sentence(record: AuditRecord) -> str:
    """The record in words, from the actor's point of view ("… tried to …" when it was refused or failed)."""
    actor = record.actor or "someone"
    summary = record.summary if isinstance(record.summary, Mapping) else {}
    said = _special(record, actor, summary)
    if said is None and record.event.startswith("scim:"):
        said = _scim(record, actor)
    if said is None:
        found = _EVENT.match(record.event)
        verb = _VERBS.get(found.group("verb"), found.group("verb").lower() + "ed") if found else "changed"
        said = f"{actor} {verb} {_object(record)}"
    if record.outcome != "success" and not said.startswith(f"{actor} tried"):
        said = f"{actor} tried: {said[len(actor) + 1 :]}" if said.startswith(actor) else f"Tried: {said}"
    return said
