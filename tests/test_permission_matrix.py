"""The permission matrix: every route the app registers, and every CLI command, checked for five
principals (see :mod:`permission_world`) — allowed or denied as their rights say.

The test enumerates the app's routes itself (the root app, its mounts, the SCIM sub-app and the admin
API); a route without a case here fails the run, so a new route cannot ship unchecked. Each case names
the rule that governs it (:mod:`permission_cases` says how a case is exercised):

- an action of the catalog: allowed exactly for the principals whose rights (written out by hand in
  :data:`permission_world.RIGHTS`) include it;
- ``PUBLIC`` (no sign-in needed), ``SIGNED_IN`` (any active user: their own session, password, profile),
  ``SCIM_ONLY`` (only a SCIM token opens it: every principal is refused with 401), ``SCRAPER_ONLY`` (``/metrics``:
  only the metrics token or a loopback peer), ``SUPER_ONLY``.

Allowed means answered without 401/403 (a 400, 404 or 409 on the data is still "allowed"); denied means
401/403 (or, for the user directory, being sent to one's own profile). No request may answer 5xx.
The matrix runs on the embedded SQLite database; the storage it reads and writes is tested on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from gatehouse.app import create_app
from gatehouse.cli.main import app as cli_app
from gatehouse.config import Settings
from gatehouse.errors import Forbidden, Unauthorized
from gatehouse.iam import gateway_preset, scim_control
from gatehouse.store import login_options as login_option_store
from gatehouse.store import migration
from gatehouse.store import settings as setting_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from support import governance_cases as governance
from support.cli import command_lines
from support.permission_cases import (
    PUBLIC,
    SCIM_ONLY,
    SCRAPER_ONLY,
    SIGNED_IN,
    SUPER_ONLY,
    Case,
    Params,
    anonymous_get,
    anonymous_post,
    authz_rule,
    body,
    fields,
    group,
    inactive_user,
    ldap_option,
    login_option,
    own_token,
    policy,
    role,
    role_and_group,
    role_and_policy,
    scim_token,
    then_restore,
    unique_fields,
    user,
    user_and_policy,
    user_and_role,
)
from support.permission_world import IDP, IDP_SECRET_ENV, PRINCIPALS, RIGHTS, World, build_world
from support.routes import registered_routes
from support.scim import PUBLIC_URL
from support.web import sign_in

PASSWORD_FORM = fields(password="a brand new password 1", confirm_password="a brand new password 1")
POLICY_DOC = '{{"statement": [{{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}}]}}'
"""A policy document as a form field (braces doubled: form fields are format strings)."""

LOGIN_OPTION_FORM = unique_fields(
    name="{unique}", issuer=IDP, client_id="matrix", secret_mode="env", client_secret_env=IDP_SECRET_ENV,
    scopes="openid", username_claim="preferred_username", email_claim="email", name_claim="name", rules="[]",
    scim_only="default", enabled="on", version="1",
)  # fmt: skip
"""The fields of a login option's form (``version`` is read by the edit form only)."""

RULE_FORM = unique_fields(
    method="GET", path="/matrix/{unique}", query="", action="gateway:GetGatewayGroup",
    resource="arn:api7:gateway:gatewaygroup/*", labels="", description="", position="", version="1",
)  # fmt: skip
"""The fields of a forward-auth rule's form (``version`` is read by the edit form only)."""
RULE_BODY = body(
    methods=["GET"],
    path="/matrix/{unique}",
    action="gateway:GetGatewayGroup",
    resource="arn:api7:gateway:gatewaygroup/*",
)

U = "/organization/users"
GA = "/organization/gateway-access"
R = "/organization/roles"
LO = "/organization/settings/login-options"
P = "/organization/permission-policies"
G = "/organization/groups"
DASHBOARD: dict[tuple[str, str], Case] = {
    ("GET", "/"): Case(SIGNED_IN),
    ("GET", "/login"): Case(PUBLIC),
    ("POST", "/login"): Case(PUBLIC, call=lambda world, who: sign_in_as(world, who)),
    ("POST", "/logout"): Case(SIGNED_IN, fresh_session=True),
    ("GET", "/account/password"): Case(SIGNED_IN),
    ("POST", "/account/password"): Case(
        SIGNED_IN,
        form=fields(current_password="not it", new_password="x" * 16, confirm_password="x" * 16),
        error_ok=True,
    ),
    ("GET", "/healthz"): Case(PUBLIC),
    ("GET", "/readyz"): Case(PUBLIC),
    ("GET", "/metrics"): Case(SCRAPER_ONLY),  # the matrix's client is no loopback peer and has no metrics token
    ("GET", "/static"): Case(PUBLIC, url="/static/app.css"),
    # Organization → Users
    ("GET", U): Case("iam:GetUser", denied_redirect="{own}"),
    ("GET", f"{U}/new"): Case("iam:InviteUser"),
    ("POST", f"{U}/new"): Case(
        "iam:InviteUser",
        form=unique_fields(
            user_name="{unique}", password="one time password 1", confirm_password="one time password 1"
        ),
    ),
    ("GET", U + "/{user_id}"): Case("iam:GetUser", user),
    ("GET", U + "/{user_id}/password"): Case("iam:ResetPassword", user),
    ("POST", U + "/{user_id}/password"): Case("iam:ResetPassword", user, PASSWORD_FORM),
    ("GET", U + "/{user_id}/deactivate"): Case("iam:UpdateUserStatus", user),
    ("POST", U + "/{user_id}/deactivate"): Case("iam:UpdateUserStatus", user),
    ("POST", U + "/{user_id}/reactivate"): Case("iam:UpdateUserStatus", inactive_user),
    ("GET", U + "/{user_id}/delete"): Case("iam:DeleteUser", user),
    ("POST", U + "/{user_id}/delete"): Case("iam:DeleteUser", user),
    ("GET", U + "/{user_id}/hand-over"): Case("iam:HandOverUser", user),
    ("POST", U + "/{user_id}/hand-over"): Case("iam:HandOverUser", user),
    ("POST", U + "/{user_id}/roles"): Case("iam:UpdateUserRole", user, fields(role_id="")),
    ("POST", U + "/{user_id}/boundaries"): Case("iam:UpdateUserBoundary", user, fields(policy_id="")),
    # Organization → Settings
    ("GET", "/organization/settings"): Case("iam:GetSCIMProvisioning", error_ok=True),  # to a page one may read
    ("GET", "/organization/settings/scim"): Case("iam:GetSCIMProvisioning"),
    ("POST", "/organization/settings/scim"): Case("iam:UpdateSCIMProvisioning", form=fields(enabled="on")),
    ("GET", "/organization/settings/scim/disable"): Case("iam:UpdateSCIMProvisioning"),
    ("POST", "/organization/settings/scim/disable"): Case(
        "iam:UpdateSCIMProvisioning", call=then_restore("/organization/settings/scim/disable")
    ),
    ("GET", "/organization/settings/scim/activity"): Case("iam:GetSCIMProvisioning"),
    ("GET", "/organization/settings/scim/guard"): Case("iam:GetSCIMProvisioning"),
    ("GET", "/organization/settings/scim/guard/allow"): Case("iam:UpdateSCIMProvisioning"),
    ("POST", "/organization/settings/scim/guard/allow"): Case("iam:UpdateSCIMProvisioning"),
    ("GET", "/organization/settings/scim/guard/block"): Case("iam:UpdateSCIMProvisioning"),
    ("POST", "/organization/settings/scim/guard/block"): Case("iam:UpdateSCIMProvisioning"),
    ("POST", "/organization/settings/password-sign-in"): Case("iam:UpdateSCIMProvisioning", form=fields()),
    ("POST", "/organization/settings/tokens"): Case("iam:UpdateSCIMProvisioning", form=unique_fields(name="{unique}")),
    ("GET", "/organization/settings/tokens/{token_id}/revoke"): Case("iam:UpdateSCIMProvisioning", scim_token),
    ("POST", "/organization/settings/tokens/{token_id}/revoke"): Case("iam:UpdateSCIMProvisioning", scim_token),
    ("GET", "/organization/settings/tokens/{token_id}/regenerate"): Case("iam:UpdateSCIMProvisioning", scim_token),
    ("POST", "/organization/settings/tokens/{token_id}/regenerate"): Case("iam:UpdateSCIMProvisioning", scim_token),
    # Organization → Settings → Login options (password sign-in stays on: the matrix signs in with passwords)
    ("GET", LO): Case("iam:GetLoginOption"),
    ("GET", f"{LO}/password"): Case(SIGNED_IN),  # a form's address: to the list of login options
    ("GET", f"{LO}/password/disable"): Case("iam:UpdateLoginOption", error_ok=True),  # 409: no way back in yet
    ("POST", f"{LO}/password/disable"): Case("iam:UpdateLoginOption", call=then_restore(f"{LO}/password/disable")),
    ("GET", f"{LO}/new"): Case("iam:UpdateLoginOption"),
    ("POST", LO): Case("iam:UpdateLoginOption", form=LOGIN_OPTION_FORM),
    ("POST", f"{LO}/password"): Case("iam:UpdateLoginOption", form=fields(enabled="on")),
    ("GET", LO + "/{option_id}"): Case("iam:GetLoginOption", login_option),
    ("POST", LO + "/{option_id}"): Case("iam:UpdateLoginOption", login_option, LOGIN_OPTION_FORM),
    ("GET", LO + "/{option_id}/delete"): Case("iam:UpdateLoginOption", login_option),
    ("POST", LO + "/{option_id}/delete"): Case("iam:UpdateLoginOption", login_option),
    ("GET", LO + "/{option_id}/dry-run"): Case("iam:GetLoginOption", login_option),
    ("POST", LO + "/{option_id}/dry-run"): Case("iam:GetLoginOption", login_option, fields(rules="[]", claims="{{}}")),
    ("GET", LO + "/{option_id}/check"): Case("iam:GetLoginOption", login_option),  # the provider is down
    ("POST", LO + "/{option_id}/check"): Case("iam:GetLoginOption", login_option),  # sent to the GET
    ("POST", LO + "/{option_id}/test-sign-in"): Case(  # binds as a person: only those who manage the option
        "iam:UpdateLoginOption", ldap_option, fields(username="ada", password="not checked: nothing listens")
    ),
    ("GET", LO + "/{option_id}/test-sign-in"): Case("iam:UpdateLoginOption", ldap_option),  # its result, once
    # Single sign-on (public: a browser on its way in; stray requests get a page that says why, never a 5xx)
    ("GET", "/sso/oidc/{option_id}/login"): Case(
        PUBLIC, call=anonymous_get("/sso/oidc/{option_id}/login?iss=https://elsewhere.invalid"), error_ok=True
    ),
    ("GET", "/sso/oidc/{option_id}/callback"): Case(
        PUBLIC, call=anonymous_get("/sso/oidc/{option_id}/callback"), error_ok=True
    ),
    ("GET", "/sso/ldap/{option_id}/login"): Case(PUBLIC, call=anonymous_get("/sso/ldap/{option_id}/login", "ldap")),
    ("POST", "/sso/ldap/{option_id}/login"): Case(  # no such option: 404 (a refused password would be 401)
        PUBLIC, call=anonymous_post("/sso/ldap/{option_id}/login", None, {"username": "x"}), error_ok=True
    ),
    ("GET", "/sso/saml/{option_id}/login"): Case(PUBLIC, call=anonymous_get("/sso/saml/{option_id}/login", "saml")),
    ("POST", "/sso/saml/{option_id}/acs"): Case(
        PUBLIC, call=anonymous_post("/sso/saml/{option_id}/acs", "saml", {"SAMLResponse": "PHg+"}), error_ok=True
    ),
    ("GET", "/sso/saml/{option_id}/metadata"): Case(
        PUBLIC, call=anonymous_get("/sso/saml/{option_id}/metadata", "saml")
    ),
    ("GET", "/sso/saml/{option_id}/slo"): Case(  # unsigned, for an option without Single Logout: refused, 400
        PUBLIC, call=anonymous_get("/sso/saml/{option_id}/slo?SAMLRequest=PHg%2B", "saml"), error_ok=True
    ),
    # Organization → Tokens (one's own) and Audit Logs
    ("GET", "/organization/tokens"): Case("iam:GetToken"),
    ("POST", "/organization/tokens"): Case("iam:CreateToken", form=unique_fields(name="{unique}", expiry="30")),
    ("GET", "/organization/tokens/{token_id}/revoke"): Case("iam:DeleteToken", own_token),
    ("POST", "/organization/tokens/{token_id}/revoke"): Case("iam:DeleteToken", own_token),
    ("GET", "/organization/audit-logs"): Case("iam:GetAudit"),
    ("GET", "/organization/audit-logs/export"): Case(
        "iam:ExportAudits", url="/organization/audit-logs/export?format=csv"
    ),
    # Organization → Roles
    ("GET", R): Case("iam:GetRole"),
    ("GET", f"{R}/new"): Case("iam:CreateRole"),
    ("POST", f"{R}/new"): Case("iam:CreateRole", form=unique_fields(name="{unique}")),
    ("GET", R + "/{role_id}"): Case("iam:GetRole", role),
    ("GET", R + "/{role_id}/edit"): Case("iam:UpdateRole", role),
    ("POST", R + "/{role_id}/edit"): Case("iam:UpdateRole", role, unique_fields(name="{unique}", version="1")),
    ("GET", R + "/{role_id}/delete"): Case("iam:DeleteRole", role),
    ("POST", R + "/{role_id}/delete"): Case("iam:DeleteRole", role),
    ("GET", R + "/{role_id}/policies/attach"): Case("iam:UpdateRole", role_and_policy),
    ("POST", R + "/{role_id}/policies/attach"): Case(
        "iam:UpdateRole", role_and_policy, fields(policy_id="{policy_id}")
    ),
    ("POST", R + "/{role_id}/policies/detach"): Case(
        "iam:UpdateRole", role_and_policy, fields(policy_id="{policy_id}")
    ),
    ("POST", R + "/{role_id}/groups/bind"): Case(
        "iam:UpdateGroupBinding", role_and_group, fields(group="{group_name}")
    ),
    ("POST", R + "/{role_id}/groups/unbind"): Case(
        "iam:UpdateGroupBinding", role_and_group, fields(group_id="{group_id}")
    ),
    # Organization → Permission Policies
    ("GET", P): Case("iam:GetPermissionPolicy"),
    ("GET", f"{P}/simulator"): Case("iam:GetUser", user, url=P + "/simulator?user={user_id}&action=iam:GetRole"),
    ("GET", f"{P}/new"): Case("iam:CreatePermissionPolicy"),
    ("POST", f"{P}/new"): Case("iam:CreatePermissionPolicy", form=unique_fields(name="{unique}", document=POLICY_DOC)),
    ("GET", P + "/{policy_id}"): Case("iam:GetPermissionPolicy", policy),
    ("GET", P + "/{policy_id}/edit"): Case("iam:UpdatePermissionPolicy", policy),
    ("POST", P + "/{policy_id}/edit"): Case(
        "iam:UpdatePermissionPolicy", policy, unique_fields(name="{unique}", document=POLICY_DOC, version="1")
    ),
    ("GET", P + "/{policy_id}/delete"): Case("iam:DeletePermissionPolicy", policy),
    ("POST", P + "/{policy_id}/delete"): Case("iam:DeletePermissionPolicy", policy),
    # Organization → Groups
    ("GET", G): Case("iam:GetGroupBinding"),
    ("GET", G + "/{group_id}"): Case("iam:GetGroupBinding", group),
    ("POST", G + "/{group_id}/roles/bind"): Case("iam:UpdateGroupBinding", role_and_group, fields(role_id="{role_id}")),
    ("POST", G + "/{group_id}/roles/unbind"): Case(
        "iam:UpdateGroupBinding", role_and_group, fields(role_id="{role_id}")
    ),
    # The admin API's documentation (public: it describes, it grants nothing)
    ("GET", "/openapi.json"): Case(PUBLIC),
    ("GET", "/docs"): Case(PUBLIC),
    ("GET", "/docs/init.js"): Case(PUBLIC),
    ("GET", "/docs/static"): Case(PUBLIC, url="/docs/static/swagger-ui.css"),
    # Organization → Gateway access (the forward-auth rule table and its preset)
    ("GET", GA): Case("iam:GetAuthzRule"),
    ("GET", f"{GA}/new"): Case("iam:UpdateAuthzRule"),
    ("POST", f"{GA}/new"): Case("iam:UpdateAuthzRule", form=RULE_FORM),
    ("POST", f"{GA}/preset"): Case("iam:UpdateAuthzRule", form=fields(enabled="on")),
    ("GET", GA + "/{rule_id}/edit"): Case("iam:UpdateAuthzRule", authz_rule),
    ("POST", GA + "/{rule_id}/edit"): Case("iam:UpdateAuthzRule", authz_rule, RULE_FORM),
    ("GET", GA + "/{rule_id}/delete"): Case("iam:UpdateAuthzRule", authz_rule),
    ("POST", GA + "/{rule_id}/delete"): Case("iam:UpdateAuthzRule", authz_rule),
    ("POST", GA + "/{rule_id}/move"): Case("iam:UpdateAuthzRule", authz_rule, fields(direction="up")),
    # Forward authentication: a proxy asks about GET /api/roles/r1, which the preset maps to iam:GetRole
    ("GET", "/authz/forward"): Case("iam:GetRole", call=lambda world, who: forward_as(world, who)),
}


def api_sign_in(world: World, who: str) -> httpx.Response:
    user_name, password = World.credentials(who)
    return world.client().post("/api/auth/sign-in", json={"username": user_name, "password": password})


def api_sign_out(world: World, who: str) -> httpx.Response:
    browser = world.client()
    signed_in = api_sign_in_with(browser, who)
    return browser.post("/api/auth/sign-out", headers={"X-CSRF-Token": signed_in.json()["csrf_token"]})


def api_sign_in_with(browser: TestClient, who: str) -> httpx.Response:
    user_name, password = World.credentials(who)
    response = browser.post("/api/auth/sign-in", json={"username": user_name, "password": password})
    assert response.status_code == 200, response.text
    return response


OPTION_BODY = body(name="{unique}", issuer=IDP, client_id="matrix", client_secret_env=IDP_SECRET_ENV)
DOCUMENT = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}
A = "/api"
API: dict[tuple[str, str], Case] = {
    ("POST", f"{A}/auth/sign-in"): Case(PUBLIC, call=api_sign_in),
    ("POST", f"{A}/auth/sign-out"): Case(SIGNED_IN, call=api_sign_out),
    ("GET", f"{A}/me"): Case(SIGNED_IN),
    ("GET", f"{A}/users"): Case("iam:GetUser"),
    ("POST", f"{A}/users"): Case("iam:InviteUser", form=body(user_name="{unique}")),
    ("GET", A + "/users/{user_id}"): Case("iam:GetUser", user),
    ("PATCH", A + "/users/{user_id}"): Case("iam:UpdateUser", user, body(name="Renamed")),
    ("DELETE", A + "/users/{user_id}"): Case("iam:DeleteUser", user),
    ("POST", A + "/users/{user_id}/password"): Case("iam:ResetPassword", user, body()),
    ("POST", A + "/users/{user_id}/deactivate"): Case("iam:UpdateUserStatus", user),
    ("POST", A + "/users/{user_id}/reactivate"): Case("iam:UpdateUserStatus", inactive_user),
    ("POST", A + "/users/{user_id}/hand-over"): Case("iam:HandOverUser", user),
    ("PUT", A + "/users/{user_id}/roles"): Case("iam:UpdateUserRole", user_and_role, body(role_ids=["{role_id}"])),
    ("PUT", A + "/users/{user_id}/boundaries"): Case(
        "iam:UpdateUserBoundary", user_and_policy, body(policy_ids=["{policy_id}"])
    ),
    ("GET", f"{A}/roles"): Case("iam:GetRole"),
    ("POST", f"{A}/roles"): Case("iam:CreateRole", form=body(name="{unique}")),
    ("GET", A + "/roles/{role_id}"): Case("iam:GetRole", role),
    ("PUT", A + "/roles/{role_id}"): Case("iam:UpdateRole", role, body(name="{unique}")),
    ("DELETE", A + "/roles/{role_id}"): Case("iam:DeleteRole", role),
    ("PUT", A + "/roles/{role_id}/policies"): Case("iam:UpdateRole", role_and_policy, body(policy_ids=["{policy_id}"])),
    ("GET", A + "/roles/{role_id}/groups"): Case("iam:GetRole", role),
    ("GET", f"{A}/groups"): Case("iam:GetGroupBinding"),
    ("GET", A + "/groups/{group_id}/roles"): Case("iam:GetGroupBinding", group),
    ("PUT", A + "/groups/{group_id}/roles"): Case(
        "iam:UpdateGroupBinding", role_and_group, body(role_ids=["{role_id}"])
    ),
    ("GET", f"{A}/permission-policies"): Case("iam:GetPermissionPolicy"),
    ("POST", f"{A}/permission-policies"): Case(
        "iam:CreatePermissionPolicy", form=body(name="{unique}", document=DOCUMENT)
    ),
    ("GET", A + "/permission-policies/{policy_id}"): Case("iam:GetPermissionPolicy", policy),
    ("PUT", A + "/permission-policies/{policy_id}"): Case(
        "iam:UpdatePermissionPolicy", policy, body(name="{unique}", document=DOCUMENT)
    ),
    ("DELETE", A + "/permission-policies/{policy_id}"): Case("iam:DeletePermissionPolicy", policy),
    ("GET", f"{A}/catalog"): Case(SIGNED_IN),
    ("POST", f"{A}/policy-simulations"): Case(
        "iam:GetUser", user, body(user_id="{user_id}", action="iam:GetRole", resource="arn:gatehouse:iam:role/*")
    ),
    ("GET", f"{A}/scim"): Case("iam:GetSCIMProvisioning"),
    ("PUT", f"{A}/scim"): Case("iam:UpdateSCIMProvisioning", form=body(enabled=True)),
    ("POST", f"{A}/scim/tokens"): Case("iam:UpdateSCIMProvisioning", form=body(name="{unique}")),
    ("DELETE", A + "/scim/tokens/{token_id}"): Case("iam:UpdateSCIMProvisioning", scim_token),
    ("POST", A + "/scim/tokens/{token_id}/regenerate"): Case("iam:UpdateSCIMProvisioning", scim_token),
    ("GET", f"{A}/scim/guard"): Case("iam:GetSCIMProvisioning"),
    ("GET", f"{A}/scim/activity"): Case("iam:GetSCIMProvisioning"),
    ("POST", f"{A}/scim/guard/allow"): Case("iam:UpdateSCIMProvisioning"),
    ("POST", f"{A}/scim/guard/block"): Case("iam:UpdateSCIMProvisioning"),
    ("GET", f"{A}/login_options"): Case("iam:GetLoginOption"),
    ("POST", f"{A}/login_options"): Case("iam:UpdateLoginOption", form=OPTION_BODY),
    ("PUT", f"{A}/login_options/password"): Case("iam:UpdateLoginOption", form=body(enabled=True)),
    ("POST", f"{A}/login_options/dry_run"): Case("iam:GetLoginOption", form=body(rules=[], claims={})),
    ("GET", A + "/login_options/{option_id}"): Case("iam:GetLoginOption", login_option),
    ("PUT", A + "/login_options/{option_id}"): Case("iam:UpdateLoginOption", login_option, OPTION_BODY),
    ("PATCH", A + "/login_options/{option_id}"): Case("iam:UpdateLoginOption", login_option, body(enabled=True)),
    ("DELETE", A + "/login_options/{option_id}"): Case("iam:UpdateLoginOption", login_option),
    ("POST", A + "/login_options/{option_id}/check"): Case("iam:GetLoginOption", login_option),
    ("POST", A + "/login_options/{option_id}/dry_run"): Case(
        "iam:GetLoginOption", login_option, body(claims={"groups": ["ops"]})
    ),
    ("GET", f"{A}/tokens"): Case("iam:GetToken"),
    ("POST", f"{A}/tokens"): Case("iam:CreateToken", form=body(name="{unique}", expires_in_days=7)),
    ("GET", A + "/tokens/{token_id}"): Case("iam:GetToken", own_token),
    ("DELETE", A + "/tokens/{token_id}"): Case("iam:DeleteToken", own_token),
    ("GET", f"{A}/audit-logs"): Case("iam:GetAudit"),
    ("GET", f"{A}/audit-logs/export"): Case("iam:ExportAudits"),
    # Gateway authorization: decisions, forward-auth rules, the preset, labels of gateway resources
    ("POST", f"{A}/v1/authz/check"): Case(
        "iam:CheckAccess",
        form=body(
            subject={"username": "viewer"}, checks=[{"action": "iam:GetRole", "resource": "arn:api7:iam:role/*"}]
        ),
    ),
    ("GET", f"{A}/v1/authz/rules"): Case("iam:GetAuthzRule"),
    ("POST", f"{A}/v1/authz/rules"): Case("iam:UpdateAuthzRule", form=RULE_BODY),
    ("GET", A + "/v1/authz/rules/{rule_id}"): Case("iam:GetAuthzRule", authz_rule),
    ("PUT", A + "/v1/authz/rules/{rule_id}"): Case("iam:UpdateAuthzRule", authz_rule, RULE_BODY),
    ("DELETE", A + "/v1/authz/rules/{rule_id}"): Case("iam:UpdateAuthzRule", authz_rule),
    ("GET", f"{A}/v1/authz/preset"): Case("iam:GetAuthzRule"),
    ("PUT", f"{A}/v1/authz/preset"): Case("iam:UpdateAuthzRule", form=body(enabled=True)),
    ("GET", f"{A}/v1/authz/resources"): Case(SIGNED_IN),  # lists only what the caller may read
    ("PUT", f"{A}/v1/authz/resources"): Case(
        "gateway:UpdateGatewayGroup", form=body(resource="arn:api7:gateway:gatewaygroup/{unique}", labels={"env": "x"})
    ),
    # Gatehouse as code: export, plan and apply (apply needs iam:ExportConfig too: it plans first); the file's
    # schema is public, like /openapi.json
    ("GET", f"{A}/config/schema"): Case(PUBLIC),
    ("GET", f"{A}/config/export"): Case("iam:ExportConfig"),
    ("POST", f"{A}/config/plan"): Case("iam:ExportConfig", form=body(config={"version": 1})),
    ("POST", f"{A}/config/apply"): Case("iam:ApplyConfig", form=body(config={"version": 1})),
}


def api_call(world: World, who: str, method: str, path: str, case: Case) -> httpx.Response:
    """An admin API request authenticated with the principal's API token."""
    if case.call is not None:
        return case.call(world, who)
    params = case.prepare(world, who)
    actor = world.actors[who]
    json = case.form(world, params) if case.form else None
    client = world.client()
    return client.request(method, fill(path, params), json=json, headers={"X-API-KEY": actor.api_token})


# ------------------------------------------------------------------------------------------ plumbing


def expected_allowed(rule: str, who: str) -> bool:
    if rule in (PUBLIC, SIGNED_IN):
        return True
    if rule in (SCIM_ONLY, SCRAPER_ONLY):
        return False
    if rule == SUPER_ONLY:
        return who == "super"
    assert rule in RIGHTS["super"], f"unknown rule {rule}"
    return rule in RIGHTS[who]


def fill(path: str, params: Params) -> str:
    for key, value in params.items():
        path = path.replace("{" + key + "}", value)
    assert "{" not in path, f"unfilled path parameter in {path}"
    return path


def forward_as(world: World, who: str) -> httpx.Response:
    """What nginx's auth_request asks with the principal's browser session, the preset on."""
    with world.db.transaction() as connection:
        setting_store.put(connection, gateway_preset.SETTING, True)
    headers = {"X-Original-Method": "GET", "X-Original-URI": f"/api/roles/{uuid.uuid4()}"}
    return world.actors[who].browser.get("/authz/forward", headers=headers)


def sign_in_as(world: World, who: str) -> httpx.Response:
    return sign_in(world.client(), *World.credentials(who))  # type: ignore[return-value]


def dashboard_call(world: World, who: str, method: str, path: str, case: Case) -> httpx.Response:
    if case.call is not None:
        return case.call(world, who)
    params = case.prepare(world, who)
    actor = world.actors[who]
    browser, csrf = world.fresh_session(who) if case.fresh_session else (actor.browser, actor.csrf)
    url = fill(case.url or path, params)
    if method == "GET":
        return browser.get(url, follow_redirects=False)
    data = {"csrf_token": csrf, **(case.form(world, params) if case.form else {})}
    return browser.request(method, url, data=data, follow_redirects=False)


def verdict(world: World, who: str, response: httpx.Response, case: Case) -> bool:
    """Whether the response says the request was allowed."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if response.status_code in (401, 403):
        return False
    if case.denied_redirect and response.status_code == 303:
        own = f"{U}/{world.actors[who].user_id}"
        return response.headers["location"] != case.denied_redirect.format(own=own)
    return True


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("matrix") / "matrix.db"
    settings = Settings(database_url=f"sqlite:///{path}", public_url=PUBLIC_URL)
    db = Database.from_url(settings.database_url)
    migration.upgrade(db.engine)
    app = create_app(settings, db)
    with TestClient(app, base_url="https://testserver"):
        yield build_world(app, db)
    db.dispose()


def cases() -> dict[tuple[str, str], Case]:
    return {**DASHBOARD, **API, **governance.DASHBOARD, **governance.API}


# ------------------------------------------------------------------------------------------ tests


def test_every_registered_route_has_a_case(world: World) -> None:
    """A route added without a matrix case fails here (SCIM routes are covered as a whole, below)."""
    known = cases()
    missing = [
        (method, path)
        for surface, method, path in registered_routes(world.app)
        if surface != "scim" and (method, path) not in known
    ]
    assert missing == []
    stale = set(known) - {(method, path) for _, method, path in registered_routes(world.app)}
    assert stale == set(), "cases for routes that no longer exist"


def check_surface(world: World, who: str, surface: str) -> None:
    wrong = []
    call = api_call if surface == "api" else dashboard_call
    for found_surface, method, path in registered_routes(world.app):
        if found_surface != surface:
            continue
        case = cases().get((method, path))
        if case is None:
            continue  # reported by test_every_registered_route_has_a_case
        response = call(world, who, method, path, case)
        allowed = verdict(world, who, response, case)
        expected = expected_allowed(case.rule, who)
        if allowed and expected and response.status_code >= 400 and not case.error_ok:
            wrong.append(f"{method} {path} ({case.rule}): allowed but failed with {response.status_code}")
        elif allowed != expected:
            wrong.append(
                f"{method} {path} ({case.rule}): got {response.status_code}, expected "
                f"{'allowed' if expected else 'denied'}"
            )
    assert not wrong, "\n" + "\n".join(wrong)


@pytest.mark.parametrize("who", PRINCIPALS)
def test_dashboard_routes(world: World, who: str) -> None:
    check_surface(world, who, "dashboard")


@pytest.mark.parametrize("who", PRINCIPALS)
def test_api_routes(world: World, who: str) -> None:
    check_surface(world, who, "api")


def test_sso_routes_answer_stray_requests_with_a_page(world: World) -> None:
    """The public SSO routes need no session, and a request that cannot start or finish a sign-in gets a page
    that says why (never a 5xx, never a session)."""
    option_id, browser = world.new_login_option(), world.client()
    no_state = browser.get(f"/sso/oidc/{option_id}/callback", follow_redirects=False)
    assert no_state.status_code == 400 and "no valid state" in no_state.text, no_state.text[:300]
    elsewhere = browser.get(f"/sso/oidc/{option_id}/login?iss=https://elsewhere.invalid", follow_redirects=False)
    assert elsewhere.status_code == 400 and "another identity provider" in elsewhere.text
    assert browser.get(f"/sso/oidc/{uuid.uuid4()}/login", follow_redirects=False).status_code == 404
    assert "set-cookie" not in no_state.headers or "gatehouse_session" not in no_state.headers["set-cookie"]


@pytest.mark.parametrize("who", PRINCIPALS)
def test_scim_routes_refuse_every_user_credential(world: World, who: str) -> None:
    """The SCIM endpoints answer only to SCIM tokens: a user's session or API token gets 401."""
    actor = world.actors[who]
    scim_routes = [(m, p) for surface, m, p in registered_routes(world.app) if surface == "scim"]
    assert len(scim_routes) >= 10
    for method, path in scim_routes:
        url = path.replace("{id}", "some-id").replace("{urn}", "urn:x").replace("{name}", "User")
        url = url.replace("{collection}", "Users")
        for headers in ({"Authorization": f"Bearer {actor.api_token}"}, {"X-API-KEY": actor.api_token}, {}):
            response = actor.browser.request(method, url, headers=headers, json={})
            assert response.status_code == 401, (method, path, response.status_code)


# ------------------------------------------------------------------------------------------ the CLI

CLI_RULES: dict[str, str] = {
    "scim enable": "iam:UpdateSCIMProvisioning",
    "scim disable": "iam:UpdateSCIMProvisioning",
    "scim token create": "iam:UpdateSCIMProvisioning",
    "scim token revoke": "iam:UpdateSCIMProvisioning",
    "scim token list": "iam:GetSCIMProvisioning",
    "scim password-sign-in": "iam:UpdateSCIMProvisioning",
    "scim guard status": "iam:GetSCIMProvisioning",
    "scim activity": "iam:GetSCIMProvisioning",
    "scim guard allow": "iam:UpdateSCIMProvisioning",
    "scim guard block": "iam:UpdateSCIMProvisioning",
    "admin create": SUPER_ONLY,
    "admin reset-password": SUPER_ONLY,
    "login-options list": "iam:GetLoginOption",
    "login-options check": "iam:GetLoginOption",
    "login-options create": "iam:UpdateLoginOption",
    "login-options update": "iam:UpdateLoginOption",
    "login-options disable-password": "iam:UpdateLoginOption",
    "login-options enable-password": "iam:UpdateLoginOption",  # after disable: the matrix signs in with passwords
    "authz rules list": "iam:GetAuthzRule",
    "authz rules add": "iam:UpdateAuthzRule",
    "authz rules delete": "iam:UpdateAuthzRule",
    "authz preset enable": "iam:UpdateAuthzRule",
    "authz preset disable": "iam:UpdateAuthzRule",
    "config export": "iam:ExportConfig",
    "config plan": "iam:ExportConfig",
    "config apply": "iam:ApplyConfig",
}
CLI_RULES.update(governance.CLI_RULES)  # gatehouse access …, gatehouse audit-sinks …
"""Every CLI command that reads or changes organization data, and the rule it runs under."""

HOST_ONLY = {
    "serve": "starts the server; changes no data (its first-run Super Admin is bootstrap, not a request)",
    "db upgrade": "migrates the schema; host maintenance, changes no organization data",
    "db check": "checks the database's integrity, read-only; host maintenance with the database credentials",
    "config schema": "prints the configuration file's JSON Schema: a format, no organization data",
}
"""Commands outside the matrix, with the reason."""


def test_every_cli_command_has_a_rule() -> None:
    assert sorted(command.removeprefix("gatehouse ") for command in command_lines()) == sorted([*CLI_RULES, *HOST_ONLY])


def cli_args(world: World, command: str, who: str = "super") -> tuple[list[str], str | None]:
    name = world.unique("cli")
    governed = governance.cli_args(world, command, who)
    if governed is not None:
        return governed, None
    if command == "scim token create":
        return ["scim", "token", "create", "--name", name], None
    if command == "scim token revoke":
        with world.db.transaction() as connection:
            scim_control.issue_token(connection, name)
        return ["scim", "token", "revoke", name], None
    if command == "scim password-sign-in":
        return ["scim", "password-sign-in", "off"], None
    if command == "admin create":
        return ["admin", "create", name, "--password-stdin"], "a long enough password\n"
    if command == "admin reset-password":
        target = world.new_user()
        with world.db.snapshot() as connection:
            stored = user_store.get(connection, target)
            assert stored is not None
        return ["admin", "reset-password", stored.user_name], None
    if command == "scim enable":
        return ["scim", "enable", "--name", name], None
    if command == "login-options disable-password":
        world.way_back_in()  # an enabled option the Super Admin signed in through, else it may not be turned off (409)
    if command == "login-options check":  # an OIDC option at a provider that does not answer: exit status 1
        return ["login-options", "check", world.new_login_option()], None
    if command == "login-options create":  # a SAML option: no secret needed
        return ["login-options", "create", "--kind", "saml", "--name", name, "--field",
                "idp_metadata_url=https://idp.example/metadata"], None  # fmt: skip
    if command == "login-options update":
        return ["login-options", "update", world.new_login_option(), "--name", name], None
    if command == "authz rules add":
        resource = "arn:api7:gateway:gatewaygroup/*"
        return [
            "authz",
            "rules",
            "add",
            "--path",
            f"/{name}",
            "--action",
            "gateway:GetGatewayGroup",
            "--resource",
            resource,
        ], None
    if command == "authz rules delete":
        return ["authz", "rules", "delete", world.new_authz_rule()], None
    if command == "config plan":
        return ["config", "plan", "-f", "-"], "version: 1\n"
    if command == "config apply":
        return ["config", "apply", "-f", "-", "--yes"], "version: 1\n"
    return command.split(), None


@pytest.mark.parametrize("who", PRINCIPALS)
def test_cli_commands(world: World, who: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", str(world.db.engine.url))
    monkeypatch.setenv("GATEHOUSE_PUBLIC_URL", PUBLIC_URL)
    runner = CliRunner()
    wrong = []
    for command, rule in CLI_RULES.items():
        args, stdin = cli_args(world, command, who)
        result = runner.invoke(cli_app, ["--token", world.actors[who].api_token, *args], input=stdin)
        refused = isinstance(result.exception, Forbidden | Unauthorized)
        if result.exception is not None and not refused and not isinstance(result.exception, SystemExit):
            raise result.exception
        if refused == expected_allowed(rule, who):
            wrong.append(f"{command} ({rule}): {'refused' if refused else 'allowed'}; {result.output[:200]}")
    assert not wrong, "\n" + "\n".join(wrong)
    with world.db.transaction() as connection:  # leave provisioning and password sign-in on for the others
        scim_control.enable(connection)
        login_option_store.set_password_login(connection, True)
