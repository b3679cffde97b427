"""The permission matrix's cases for the governance routes and commands (time-bound access, access requests, the
access review, audit streaming): merged into ``test_permission_matrix.py``'s cases, which check them like every
other route. No tests here."""

from __future__ import annotations

from support.governance_world import (
    audit_sink,
    held_for_a_while,
    others_request,
    own_request,
    pending_request,
    requestable,
    requestable_role,
    tomorrow,
    user_with_role,
)
from support.permission_cases import SIGNED_IN, Case, body, fields, role, role_and_group, unique_fields, user_and_role
from support.permission_world import World

MA = "/account/access"
AR = "/organization/access-requests"
RV = "/organization/access-review"
AS = "/organization/audit-streaming"
U = "/organization/users"
G = "/organization/groups"
A = "/api"

DURATION = {"amount": "1", "unit": "hours"}
SINK_FORM = unique_fields(name="{unique}", kind="file", file="matrix.jsonl", enabled="")
SINK_BODY = body(name="{unique}", kind="file", enabled=False, settings={"file": "matrix.jsonl"})
REVOKE = "?user_id={user_id}&role_id={role_id}&origin=direct&user=u&role=r"

DASHBOARD: dict[tuple[str, str], Case] = {
    # Account → My access (self-service: any signed-in user, for themselves)
    ("GET", MA): Case(SIGNED_IN),
    ("POST", f"{MA}/requests"): Case(
        SIGNED_IN, requestable, fields(role_id="{role_id}", reason="matrix", **DURATION), error_ok=True
    ),
    ("POST", MA + "/requests/{request_id}/cancel"): Case(SIGNED_IN, own_request),
    ("GET", MA + "/roles/{role_id}/give-up"): Case(SIGNED_IN, held_for_a_while),
    ("POST", MA + "/roles/{role_id}/give-up"): Case(SIGNED_IN, held_for_a_while),
    # Organization → Access requests
    ("GET", AR): Case(SIGNED_IN),  # shows what the viewer may answer: nothing, for most
    ("POST", AR + "/{request_id}/approve"): Case("iam:ApproveAccessRequest", others_request, fields(note="ok")),
    ("POST", AR + "/{request_id}/deny"): Case("iam:ApproveAccessRequest", others_request, fields(note="no")),
    ("POST", f"{AR}/requestable"): Case(
        "iam:UpdateRole",
        role,
        fields(role_id="{role_id}", max_amount="2", max_unit="hours", answer_amount="1", answer_unit="days"),
    ),
    ("POST", AR + "/requestable/{role_id}/remove"): Case("iam:UpdateRole", requestable),
    # Time-bound grants from the user's and the group's pages
    ("GET", U + "/{user_id}/roles/timed"): Case("iam:UpdateUserRole", user_and_role),
    ("POST", U + "/{user_id}/roles/timed"): Case(
        "iam:UpdateUserRole", user_and_role, lambda w, p: {"role_id": p["role_id"], "date": tomorrow(), "time": "10:00"}
    ),
    ("GET", G + "/{group_id}/roles/timed"): Case("iam:UpdateGroupBinding", role_and_group),
    ("POST", G + "/{group_id}/roles/timed"): Case(
        "iam:UpdateGroupBinding", role_and_group, lambda w, p: {"role_id": p["role_id"], "date": tomorrow()}
    ),
    # Organization → Access review
    ("GET", RV): Case("iam:GetAccessReview"),
    ("GET", f"{RV}/export"): Case("iam:GetAccessReview", url=f"{RV}/export?format=csv"),
    ("POST", f"{RV}/reviews"): Case("iam:CreateAccessReview", form=fields(note="matrix")),
    ("GET", f"{RV}/revoke"): Case("iam:UpdateUserRole", user_with_role, url=f"{RV}/revoke{REVOKE}"),
    ("POST", f"{RV}/revoke"): Case(
        "iam:UpdateUserRole", user_with_role, fields(user_id="{user_id}", role_id="{role_id}", origin="direct")
    ),
    ("GET", f"{RV}/who-may"): Case(
        "iam:GetAccessReview", url=f"{RV}/who-may?action=iam:GetRole&resource=arn:gatehouse:iam:role/*"
    ),
    # Organization → Audit streaming
    ("GET", AS): Case("iam:GetAuditSink"),
    ("GET", f"{AS}/new"): Case("iam:UpdateAuditSink"),
    ("POST", f"{AS}/new"): Case("iam:UpdateAuditSink", form=SINK_FORM),
    ("GET", AS + "/{sink_id}"): Case("iam:UpdateAuditSink", audit_sink),
    ("POST", AS + "/{sink_id}"): Case("iam:UpdateAuditSink", audit_sink, SINK_FORM),
    ("GET", AS + "/{sink_id}/delete"): Case("iam:UpdateAuditSink", audit_sink),
    ("POST", AS + "/{sink_id}/delete"): Case("iam:UpdateAuditSink", audit_sink),
}

API: dict[tuple[str, str], Case] = {
    ("GET", f"{A}/access/requestable-roles"): Case(SIGNED_IN),
    ("PUT", A + "/roles/{role_id}/requestable"): Case("iam:UpdateRole", role, body(max_minutes=60)),
    ("DELETE", A + "/roles/{role_id}/requestable"): Case("iam:UpdateRole", requestable),
    ("POST", f"{A}/access-requests"): Case(
        SIGNED_IN, requestable, body(role_id="{role_id}", reason="matrix", minutes=30), error_ok=True
    ),
    ("GET", f"{A}/access-requests"): Case(SIGNED_IN),
    ("GET", A + "/access-requests/{request_id}"): Case("iam:GetAccessRequest", others_request),
    ("POST", A + "/access-requests/{request_id}/approve"): Case("iam:ApproveAccessRequest", others_request, body()),
    ("POST", A + "/access-requests/{request_id}/deny"): Case("iam:ApproveAccessRequest", others_request, body()),
    ("POST", A + "/access-requests/{request_id}/cancel"): Case(SIGNED_IN, own_request),
    ("GET", f"{A}/me/access"): Case(SIGNED_IN),
    ("DELETE", A + "/me/access/{role_id}"): Case(SIGNED_IN, held_for_a_while),
    ("PUT", A + "/users/{user_id}/roles/{role_id}"): Case("iam:UpdateUserRole", user_and_role, body(expires_at=None)),
    ("DELETE", A + "/users/{user_id}/roles/{role_id}"): Case("iam:UpdateUserRole", user_with_role),
    ("PUT", A + "/groups/{group_id}/roles/{role_id}"): Case(
        "iam:UpdateGroupBinding", role_and_group, body(expires_at=None)
    ),
    ("DELETE", A + "/groups/{group_id}/roles/{role_id}"): Case("iam:UpdateGroupBinding", role_and_group),
    ("GET", f"{A}/access-review/users"): Case("iam:GetAccessReview"),
    ("GET", f"{A}/access-review/export"): Case("iam:GetAccessReview"),
    ("POST", f"{A}/access-review/who-may"): Case(
        "iam:GetAccessReview", form=body(action="iam:GetRole", resource="arn:gatehouse:iam:role/*")
    ),
    ("POST", f"{A}/access-review/revocations"): Case(
        "iam:UpdateUserRole", user_with_role, body(user_id="{user_id}", role_id="{role_id}", origin="direct")
    ),
    ("GET", f"{A}/access-reviews"): Case("iam:GetAccessReview"),
    ("POST", f"{A}/access-reviews"): Case("iam:CreateAccessReview", form=body(note="matrix")),
    ("GET", f"{A}/audit-sinks"): Case("iam:GetAuditSink"),
    ("POST", f"{A}/audit-sinks"): Case("iam:UpdateAuditSink", form=SINK_BODY),
    ("GET", A + "/audit-sinks/{sink_id}"): Case("iam:GetAuditSink", audit_sink),
    ("PUT", A + "/audit-sinks/{sink_id}"): Case("iam:UpdateAuditSink", audit_sink, SINK_BODY),
    ("DELETE", A + "/audit-sinks/{sink_id}"): Case("iam:UpdateAuditSink", audit_sink),
}

CLI_RULES: dict[str, str] = {
    "access requestable list": SIGNED_IN,
    "access requestable set": "iam:UpdateRole",
    "access requestable unset": "iam:UpdateRole",
    "access request": SIGNED_IN,
    "access requests": SIGNED_IN,
    "access approve": "iam:ApproveAccessRequest",
    "access deny": "iam:ApproveAccessRequest",
    "access cancel": SIGNED_IN,
    "access give-up": SIGNED_IN,
    "access review": "iam:GetAccessReview",
    "access who-may": "iam:GetAccessReview",
    "audit-sinks list": "iam:GetAuditSink",
}


def cli_args(world: World, command: str, who: str) -> list[str] | None:
    """The arguments of a governance command for ``who`` (``None``: not one of these)."""
    if command == "access requestable set":
        return ["access", "requestable", "set", world.new_role(), "--max-minutes", "60"]
    if command == "access requestable unset":
        return ["access", "requestable", "unset", requestable_role(world)]
    if command == "access request":
        return ["access", "request", requestable_role(world), "--reason", "matrix", "--minutes", "30"]
    if command in ("access approve", "access deny"):
        return [*command.split(), pending_request(world)]
    if command == "access cancel":
        return ["access", "cancel", pending_request(world, world.actors[who].user_id)]
    if command == "access give-up":
        return ["access", "give-up", held_for_a_while(world, who)["role_id"]]
    if command == "access who-may":
        return ["access", "who-may", "iam:GetRole", "arn:gatehouse:iam:role/*"]
    if command in CLI_RULES:
        return command.split()
    return None
