"""SSO in a real browser: an administrator sets up an OpenID Connect login option in Organization → Settings
→ Login Options and enables it once it is registered at the provider (a new option starts disabled); a user
provisioned by SCIM signs in through the provider (Canaille from pytest-iam, on localhost: its own sign-in
and consent pages) and lands with exactly the roles the rules give; the provider moves them to another group,
they sign in again, and the roles follow. A deactivated user is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from pytest_iam import Server

from support.browser import (
    ADMIN_PASSWORD,
    LOGIN_OPTIONS_URL,
    ContextFactory,
    LiveServer,
    ScimClient,
    enable_login_option,
    live_server,
    okta_person,
    screenshot,
    sign_in,
)
from support.oidc_provider import Provider

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROVIDER_PASSWORD = "correct horse battery staple"
RULES = """[
  {"kind": "role", "target_id": "Organization Admin", "attribute": "$.groups[*]",
   "operation": "exact_match", "value": "ops"},
  {"kind": "role", "target_id": "Viewer", "attribute": "$.groups",
   "operation": "exact_match_in_array", "value": "dev"}
]"""


@pytest.fixture
def sso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: this test adds a login option, which changes the sign-in page."""
    with live_server(tmp_path_factory.mktemp("sso-server"), admin_password=ADMIN_PASSWORD) as running:
        yield running


def sign_in_at_provider(page: Page, login: str) -> None:
    """The provider's own pages: login, password, then consent (the first time)."""
    page.get_by_label("Login").fill(login)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_sso_sign_in_with_role_mapping_in_the_browser(
    sso_server: LiveServer, iam_server: Server, new_context: ContextFactory
) -> None:
    provider = Provider(iam_server)
    client_id, secret = provider.register_client("http://127.0.0.1/placeholder")  # the app made at the IdP

    # The administrator adds the login option.
    admin = new_context(sso_server).new_page()
    sign_in(admin, "admin", ADMIN_PASSWORD)
    admin.goto(LOGIN_OPTIONS_URL)
    login_options = admin.locator("#login-options")
    expect(login_options).to_contain_text("Username and password")
    login_options.get_by_role("link", name="Add Login Option").click()
    admin.get_by_label("Name", exact=False).first.fill("Canaille")
    admin.get_by_label("Issuer URL").fill(provider.issuer)
    admin.get_by_label("Client ID").fill(client_id)
    admin.get_by_label("Client secret").fill(secret)
    admin.get_by_label("Scopes").fill("openid profile email groups")
    admin.get_by_text("Advanced: edit the rules as JSON").click()
    admin.get_by_label("Rules as JSON").fill(RULES)
    admin.get_by_role("button", name="Save with these JSON rules").click()
    expect(admin.get_by_role("status")).to_contain_text("Login option Canaille created, disabled.")

    # The setup page shows the URIs to register at the provider, and the rule as stated.
    redirect = admin.locator("#redirect-uri").inner_text().strip()
    option_id = redirect.split("/sso/oidc/")[1].split("/")[0]
    assert redirect == f"{sso_server.base}/sso/oidc/{option_id}/callback"
    expect(admin.locator("#initiate-login-uri")).to_have_text(f"{sso_server.base}/sso/oidc/{option_id}/login")
    expect(admin.locator("body")).to_contain_text("Roles granted by hand or through group bindings")
    screenshot(admin, "login-option-setup")
    provider.register_redirect(client_id, redirect)
    enable_login_option(admin, "Canaille")  # registered at the provider: now on the sign-in page

    # The IdP provisions the user by SCIM; the provider knows them with the same subject.
    login = f"ada{uuid.uuid4().hex[:6]}"
    at_idp = provider.user(login, email=f"{login}@example.org", groups=("ops",))
    with ScimClient.from_cli(sso_server) as scim:
        user = scim.create(okta_person(f"{login}@example.org", "Ada", "Lovelace", external_id=login))

        # The user signs in through the provider.
        page = new_context(sso_server).new_page()
        page.goto("/login")
        expect(page.get_by_role("link", name="Sign in with Canaille")).to_be_visible()
        screenshot(page, "sign-in-sso")
        page.get_by_role("link", name="Sign in with Canaille").click()
        sign_in_at_provider(page, login)
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url(f"{sso_server.base}/**")
        page.goto(f"/organization/users/{user['id']}")
        mapped = page.locator("#mapped-grants")
        expect(mapped).to_have_text("Organization Admin (role, mapped at SSO sign-in)")
        expect(page.locator("#sso-links")).to_contain_text(login)
        screenshot(page, "user-sso-roles")

        # The provider moves the user from ops to dev; at the next sign-in the roles follow.
        provider.set_groups(at_idp, ("dev",))
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login")
        page.get_by_role("link", name="Sign in with Canaille").click()  # the provider's session is still open
        page.wait_for_url(f"{sso_server.base}/**")
        page.goto(f"/organization/users/{user['id']}")
        expect(page.locator("#mapped-grants")).to_have_text("Viewer (role, mapped at SSO sign-in)")

        # Deactivated by the IdP: signed out at once, and the provider's say-so no longer gets them in.
        scim.deactivate(user["id"])
        page.reload()
        page.wait_for_url("**/login**")
        page.get_by_role("link", name="Sign in with Canaille").click()
        expect(page.locator("#sso-error")).to_contain_text("deactivated")
        screenshot(page, "sso-refused-deactivated")

    # The refusal is in the audit log.
    admin.goto("/organization/audit-logs?event=auth:SignIn&outcome=refused")
    expect(admin.locator("main")).to_contain_text("deactivated")
