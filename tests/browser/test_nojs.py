"""Progressive enhancement: with JavaScript disabled, signing in, the Users list, the settings switches
and token generation, regeneration and revocation still work; a new token is shown in the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from support.browser import (
    ADMIN_PASSWORD,
    SETTINGS_URL,
    USERS_URL,
    ContextFactory,
    LiveServer,
    ScimClient,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def page(server: LiveServer, scim_client: ScimClient, new_context: ContextFactory) -> Page:
    """``admin`` signed in, in a browser without JavaScript; SCIM is on with a token."""
    page = new_context(server, javascript=False).new_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    return page


def save_switch(page: Page, name: str, on: bool) -> None:
    """Set a settings switch and press its Save button (which only exists for browsers without JS)."""
    switch = page.get_by_role("switch", name=name)
    switch.set_checked(on)
    switch.locator("xpath=ancestor::form").get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{SETTINGS_URL}*")


def turn_scim_off(page: Page) -> None:
    """Untick Enable and Save: turning SCIM off asks first, on a page of its own, saying what the IdP will get."""
    switch = page.get_by_role("switch", name="Enable")
    switch.set_checked(False)
    switch.locator("xpath=ancestor::form").get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{SETTINGS_URL}/disable")
    expect(page.get_by_role("heading", name="Turn off SCIM provisioning?")).to_be_visible()
    expect(page.get_by_text("403 Forbidden on every SCIM request")).to_be_visible()
    page.get_by_role("button", name="Turn off SCIM provisioning").click()
    page.wait_for_url(f"**{SETTINGS_URL}")


def shown_token(page: Page) -> str:
    """The token on the result page; the dialog stays closed and the copy button hidden."""
    expect(page.get_by_role("dialog")).to_have_count(0)
    block = page.locator("[data-secret-fallback]")
    expect(block).to_be_visible()
    expect(block).to_contain_text("Enter it in your IdP as Bearer <token>")
    expect(block.get_by_role("button", name="Copy")).to_be_hidden()
    return block.locator("code.secret").inner_text().strip()


def test_users_list_without_javascript(page: Page, server: LiveServer) -> None:
    page.goto(USERS_URL)
    page.get_by_role("searchbox", name="Search").fill("admin")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    page.wait_for_url("**q=admin*")
    expect(page.locator("table.users tbody tr")).to_have_count(1)
    page.get_by_role("link", name="admin", exact=True).click()
    expect(page.get_by_role("heading", name="admin", level=1)).to_be_visible()


def test_settings_without_javascript(page: Page, scim_client: ScimClient) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings", exact=True).click()
    page.wait_for_url(f"**{SETTINGS_URL}")  # Organization → Settings opens SCIM Provisioning
    expect(page.get_by_role("switch", name="Enable")).to_be_checked()
    expect(page.locator("#scim-endpoint")).to_have_text(scim_client.endpoint)

    # The Enable switch: off (once confirmed) refuses SCIM at once, and the tokens are kept; on again, they work.
    turn_scim_off(page)
    expect(page.get_by_role("status")).to_contain_text("SCIM provisioning is off: every SCIM request is now refused.")
    expect(page.get_by_role("switch", name="Enable")).not_to_be_checked()
    assert scim_client.probe() == 403
    save_switch(page, "Enable", True)
    expect(page.get_by_role("status")).to_contain_text("SCIM provisioning is on.")
    assert scim_client.probe() == 200

    save_switch(page, "Provisioned users may sign in with a password", True)
    expect(page.get_by_role("status")).to_contain_text("Provisioned users may now sign in with the password")
    save_switch(page, "Provisioned users may sign in with a password", False)
    expect(page.get_by_role("status")).to_contain_text("Provisioned users sign in through SSO only")

    # Generate: the token is on the result page, once.
    page.get_by_label("Token name").fill("Entra ID")
    page.get_by_role("button", name="Generate token").click()
    first = shown_token(page)
    screenshot(page, "token-without-javascript", docs=False)
    with ScimClient(scim_client.endpoint, first) as entra:
        assert entra.probe() == 200

        # Regenerate (a confirmation page, then the new token): the old one stops at once.
        page.goto(SETTINGS_URL)
        expect(page.get_by_text(first)).to_have_count(0)
        page.get_by_role("link", name="Regenerate the token Entra ID").click()
        expect(page.get_by_role("heading", name="Regenerate SCIM token")).to_be_visible()
        page.get_by_role("button", name="Regenerate token").click()
        second = shown_token(page)
        assert second != first
        assert entra.probe() == 401
    with ScimClient(scim_client.endpoint, second) as entra:
        assert entra.probe() == 200
        page.goto(SETTINGS_URL)
        page.get_by_role("link", name="Revoke the token Entra ID").click()
        page.get_by_role("button", name="Revoke token").click()
        expect(page.get_by_role("status")).to_contain_text("The SCIM token “Entra ID” is revoked")
        assert entra.probe() == 401
    assert scim_client.probe() == 200
    tokens = page.get_by_role("table", name="SCIM tokens")
    expect(tokens.get_by_role("row").filter(has_text="Entra ID")).to_have_count(0)
