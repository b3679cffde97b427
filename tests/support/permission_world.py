"""The world the permission matrix runs in: one app on a SQLite file, five signed-in principals (each with
a dashboard session and an API token), and factories for fresh targets so that a destructive request one
principal is allowed to make never changes what the next principal meets.

The five principals and what each may do are written out here as plain sets, independently of the
evaluator under test:

- ``super``: the built-in Super Admin, every action (the gateway's included);
- ``viewer``: the starter Viewer role, every ``iam:Get*`` action except ``iam:GetAnyToken``, plus creating
  and revoking their own API tokens;
- ``denier``: a custom role allowing ``iam:*`` (no gateway action) with a deny statement on
  ``iam:Delete<.*>`` (a regex segment) and on ``iam:UpdateSCIMProvisioning``;
- ``bounded``: the starter Organization Admin role, under a permission boundary that allows only
  ``iam:Get<.*>`` and ``iam:UpdateUserStatus``;
- ``norole``: a signed-in user with no role.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from starlette.testclient import TestClient

from gatehouse.credentials import generate_token, hash_token, token_hint
from gatehouse.iam import api_tokens as token_cases
from gatehouse.iam import gateway_access, policies, scim_control
from gatehouse.iam import roles as rbac
from gatehouse.iam import users as admin_cases
from gatehouse.iam.authorizer import Principal, load_principal
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.catalog import ACTION_NAMES, ORGANIZATION_ADMIN_EXCLUDED
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import LoginOptionWrite
from gatehouse.login.saml import SamlSettings
from gatehouse.store import api_tokens as token_store
from gatehouse.store import login_options as login_option_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.login_options import signed_in_through
from support.web import ADMIN_PASSWORD, csrf_of, make_admin, sign_in

PRINCIPALS: Final = ("super", "viewer", "denier", "bounded", "norole")
PASSWORD: Final = "matrix password 1234"
IDP: Final = "http://127.0.0.1:9"
"""The issuer of the matrix's login options: nothing listens on the discard port, so no request gets an answer
(and none leaves this machine)."""
IDP_SECRET_ENV: Final = "MATRIX_SSO_SECRET"
IDP_METADATA: Final = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://127.0.0.1:9/idp">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="http://127.0.0.1:9/idp/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
)
"""A SAML IdP's metadata for the matrix's SAML options (nothing listens there either)."""
GROUPS: Final = "arn:api7:gateway:gatewaygroup/*"

_ALL = frozenset(ACTION_NAMES)
_GETS = frozenset(a for a in _ALL if a.startswith("iam:Get"))
RIGHTS: Final[dict[str, frozenset[str]]] = {
    "super": _ALL,
    "viewer": (_GETS - {"iam:GetAnyToken"}) | {"iam:CreateToken", "iam:DeleteToken"},
    "denier": frozenset(
        a for a in _ALL if a.startswith("iam:") and not a.startswith("iam:Delete") and a != "iam:UpdateSCIMProvisioning"
    ),
    "bounded": (_ALL - ORGANIZATION_ADMIN_EXCLUDED) & (_GETS | {"iam:UpdateUserStatus"}),
    "norole": frozenset(),
}
"""What each principal may do, written out by hand (see the module)."""

DENIER_POLICY: Final = {
    "statement": [
        {"effect": "allow", "actions": ["iam:*"], "resources": ["*"]},
        {"effect": "deny", "actions": ["iam:Delete<.*>", "iam:UpdateSCIMProvisioning"], "resources": ["*"]},
    ]
}
BOUNDARY_POLICY: Final = {
    "statement": [{"effect": "allow", "actions": ["iam:Get<.*>", "iam:UpdateUserStatus"], "resources": ["*"]}]
}


@dataclass
class Actor:
    """One principal: their user, signed-in browser, the CSRF token of its session, and an API token."""

    name: str
    user_id: str
    browser: TestClient
    csrf: str
    api_token: str


@dataclass
class World:
    app: Any
    db: Database
    actors: dict[str, Actor] = field(default_factory=dict)
    scim_token: str = ""
    group_names: dict[str, str] = field(default_factory=dict)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    # -- who --------------------------------------------------------------------------------------

    def admin(self, connection: Any) -> Principal:
        return load_principal(connection, self.actors["super"].user_id)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="https://testserver")

    @staticmethod
    def credentials(who: str) -> tuple[str, str]:
        """The user name and password a principal signs in with."""
        return ("admin", ADMIN_PASSWORD) if who == "super" else (who, PASSWORD)

    def fresh_session(self, who: str) -> tuple[TestClient, str]:
        """A second browser signed in as ``who`` (for requests that end their session)."""
        browser = self.client()
        assert sign_in(browser, *self.credentials(who)).status_code == 303  # type: ignore[attr-defined]
        return browser, csrf_of(browser.get("/account/password").text)

    # -- fresh targets ----------------------------------------------------------------------------

    def new_user(self, *, active: bool = True) -> str:
        with self.db.transaction() as connection:
            new = admin_cases.new_local_user(self.unique("target"))
            user = admin_cases.create_local_user(
                connection, self.admin(connection), new, admin_cases.OneTimePassword.choose(PASSWORD)
            )
            if not active:
                user_store.set_active(connection, user.id, False, utcnow())
            return user.id

    def new_policy(self, document: Any = None) -> str:
        with self.db.transaction() as connection:
            form = policy_input(self.unique("policy"), document or BOUNDARY_POLICY)
            return policies.create_policy(connection, self.admin(connection), form).id

    def new_role(self, *, assigned: bool = False) -> str:
        with self.db.transaction() as connection:
            role = rbac.create_role(connection, self.admin(connection), role_input(self.unique("role"))).role
        if assigned:
            holder = self.new_user()
            with self.db.transaction() as connection:
                role_store.assign(connection, holder, role.id, role_store.MANUAL, "matrix", utcnow())
        return role.id

    def new_group(self) -> str:
        name = self.unique("group")
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name}
        response = self.client().post(
            "/scim/v2/Groups", json=body, headers={"Authorization": f"Bearer {self.scim_token}"}
        )
        assert response.status_code == 201, response.text
        self.group_names[response.json()["id"]] = name
        return str(response.json()["id"])

    def new_scim_token(self) -> str:
        with self.db.transaction() as connection:
            return scim_control.issue_token(connection, self.unique("idp")).info.id

    def new_authz_rule(self) -> str:
        """A custom forward-auth rule; its id."""
        rule = gateway_access.rule_input("GET", f"/matrix/{self.unique('rule')}", "gateway:GetGatewayGroup", GROUPS)
        with self.db.transaction() as connection:
            return gateway_access.create_rule(connection, self.admin(connection), rule).id

    def new_login_option(self, kind: str = "oidc") -> str:
        """An enabled login option; its id. OIDC: its client secret named by an environment variable; LDAP: a
        directory on the discard port (nothing answers), anonymous; SAML: IdP metadata pasted."""
        write = LoginOptionWrite(self.unique("sso"), IDP, "matrix", client_secret_env=IDP_SECRET_ENV)
        if kind == "ldap":
            settings: Any = LdapSettings(host="127.0.0.1", port=9, base_dn="dc=example,dc=org", timeout=2)
            write = LoginOptionWrite(self.unique("ldap"), "", "", kind="ldap", settings=settings)
        elif kind == "saml":
            write = LoginOptionWrite(
                self.unique("saml"), "", "", kind="saml", settings=SamlSettings(idp_metadata_xml=IDP_METADATA)
            )
        with self.db.transaction() as connection:
            return login_option_store.insert(connection, str(uuid.uuid4()), write, utcnow()).id

    def way_back_in(self) -> str:
        """An enabled login option the Super Admin ``super`` has signed in through (what turning password sign-in
        off requires); its id."""
        option_id = self.new_login_option()
        with self.db.transaction() as connection:
            signed_in_through(connection, option_id, self.actors["super"].user_id)
        return option_id

    def new_api_token(self, owner: str) -> str:
        """A live API token of ``owner`` (a principal's name); its id."""
        with self.db.transaction() as connection:
            now = utcnow()
            secret = generate_token(token_cases.API_TOKEN_PREFIX)
            info = token_store.create(
                connection,
                self.actors[owner].user_id,
                self.unique("token"),
                hash_token(secret),
                token_hint(secret),
                now,
                now + timedelta(days=30),
            )
            return info.id


def build_world(app: Any, db: Database) -> World:
    """Seed the roles, the five principals, SCIM on with a token; sign everyone in."""
    world = World(app, db)
    super_id = make_admin(db)
    with db.transaction() as connection:
        ensure_rbac(connection)
        scim_control.enable(connection)
        world.scim_token = scim_control.issue_token(connection, "matrix").token
        acting = load_principal(connection, super_id)
        ids = {"super": super_id}
        for name in PRINCIPALS[1:]:
            new = admin_cases.new_local_user(name)
            user = admin_cases.create_local_user(connection, acting, new, admin_cases.OneTimePassword.choose(PASSWORD))
            user_store.require_password_change(connection, user.id, False)
            ids[name] = user.id
        viewer = role_store.get_by_name(connection, "Viewer")
        org_admin = role_store.get_by_name(connection, "Organization Admin")
        assert viewer is not None and org_admin is not None
        deny_policy = policies.create_policy(connection, acting, policy_input("matrix-denier", DENIER_POLICY))
        denier = rbac.create_role(connection, acting, role_input("Matrix Denier"), [deny_policy.id])
        boundary = policies.create_policy(connection, acting, policy_input("matrix-boundary", BOUNDARY_POLICY))
        rbac.assign_role(connection, acting, ids["viewer"], viewer.id)
        rbac.assign_role(connection, acting, ids["denier"], denier.role.id)
        rbac.assign_role(connection, acting, ids["bounded"], org_admin.id)
        rbac.set_boundaries(connection, acting, ids["bounded"], [boundary.id])
        secrets = {}
        for name in PRINCIPALS:
            now = utcnow()
            secret = generate_token(token_cases.API_TOKEN_PREFIX)
            token_store.create(
                connection, ids[name], "matrix", hash_token(secret), token_hint(secret), now, now + timedelta(days=1)
            )
            secrets[name] = secret
    for name in PRINCIPALS:
        browser, csrf = world.fresh_session(name)
        world.actors[name] = Actor(name, ids[name], browser, csrf, secrets[name])
    return world
