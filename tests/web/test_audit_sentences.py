"""An audit record as a sentence: who did what to which named object, recorded at the time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gatehouse.store.audit import AuditRecord
from gatehouse.web.audit_sentences import sentence


def record(event: str, actor: str, kind: str | None, summary: dict[str, Any], outcome: str = "success") -> AuditRecord:
    return AuditRecord(
        datetime(2026, 12, 5, tzinfo=UTC), "scim" if event.startswith("scim:") else "dashboard", event, actor, None,
        kind, "4db5ff71-0000-4000-8000-000000000000", None, None, outcome, 200 if outcome == "success" else 403,
        None, summary,
    )  # fmt: skip


def test_sentences_name_people_and_objects_not_ids() -> None:
    okta = record("scim:PatchUser", "SCIM token Okta", "user", {"name": "alice@example.com", "active": False})
    assert sentence(okta) == "SCIM token Okta deactivated user alice@example.com"
    created = record("scim:CreateUser", "SCIM token Okta", "user", {"name": "bob@example.com"})
    assert sentence(created) == "SCIM token Okta created user bob@example.com"
    attach = record("iam:UpdateRole", "admin", "role", {"name": "SRE", "attach_policies": ["p1"]})
    assert sentence(attach) == "admin attached a policy to role SRE"
    named = record(
        "iam:UpdateRole", "admin", "role", {"name": "SRE", "attach_policies": ["p1"], "policy_names": ["Viewer"]}
    )
    assert sentence(named) == "admin attached policy Viewer to role SRE"
    two = {"name": "SRE", "detach_policies": ["p1", "p2"], "policy_names": ["Viewer", "Editor"]}
    assert (
        sentence(record("iam:UpdateRole", "admin", "role", two))
        == "admin detached policies Viewer, Editor from role SRE"
    )
    off = record("iam:UpdateSCIMProvisioning", "admin", "organization", {"enabled": False})
    assert sentence(off) == "admin turned SCIM provisioning off"
    token = record("iam:UpdateSCIMProvisioning", "admin", "scimtoken", {"action": "create", "token_name": "Okta"})
    assert sentence(token) == "admin created SCIM token Okta"
    refused = record("iam:DeleteRole", "viewer", "role", {"name": "SRE"}, outcome="refused")
    assert sentence(refused) == "viewer tried: deleted role SRE"
    assert "4db5ff71" not in " ".join(sentence(r) for r in (okta, created, attach, off, token, refused))


def test_single_logout_sentences() -> None:
    by_idp = record("auth:SingleLogout", "ada", "login_option", {"message": "LogoutRequest", "users_signed_out": 1})
    assert sentence(by_idp) == "the identity provider signed ada out"
    answered = record("auth:SingleLogout", "identity provider", "login_option", {"message": "LogoutResponse"})
    assert sentence(answered) == "the identity provider confirmed a sign-out"
    refused = record("auth:SingleLogout", "ada", "login_option", {"reason": "x"}, outcome="failed")
    assert sentence(refused) == "ada tried to sign out with the identity provider (single sign-out)"
