"""The dashboard an admin trusts on first use, in Debian's chromium: the API reference opens (Swagger UI 5 reads
the OpenAPI 3.1 document) and a call made from it with an API token succeeds; reloading after a form's POST
changes nothing (Post/Redirect/Get, the new token shown once); a form's address opened as a page leads to its
page; the lockout paths are refused with their reasons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from support.browser import screenshot

pytestmark = pytest.mark.browser


def test_the_api_reference_lists_the_operations_and_a_call_succeeds(admin_page: Page) -> None:
    page = admin_page
    page.goto("/organization/tokens")
    page.get_by_label("Name").fill("API reference")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url("**/organization/tokens")
    token = page.locator("#new-token-dialog-value").inner_text().strip()
    assert token.startswith("gha_")
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path", has_text="/me").first).to_be_visible()
    assert page.locator(".opblock").count() > 40  # every operation is listed
    assert "Unable to render" not in page.content()
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".auth-container input").first.fill(token)
    page.locator(".auth-container").first.locator("button.authorize").click()
    page.locator(".modal-ux button.btn-done").first.click()
    me = page.locator(".opblock-get", has=page.locator(".opblock-summary-path", has_text=re.compile(r"^/me$")))
    me.locator(".opblock-summary").first.click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    expect(me.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(me.locator(".live-responses-table")).to_contain_text('"authenticated_by": "token"')
    screenshot(page, "api-docs")


def test_reload_after_a_post_changes_nothing(admin_page: Page) -> None:
    page = admin_page
    page.goto("/organization/settings/scim")
    if not page.locator("#scim-enabled").is_checked():
        page.locator("#scim-enabled").click()  # the switch submits itself: its page comes back saying so
        expect(page.get_by_role("status")).to_contain_text("SCIM provisioning is on.")
    page.get_by_label("Token name").fill("Reloaded")
    page.get_by_role("button", name="Generate token").click()
    page.wait_for_url("**/organization/settings/scim#tokens")
    token = page.locator("#new-token-dialog-value").inner_text().strip()
    assert token.startswith("ghs_")
    screenshot(page, "token-dialog", docs=False)  # the docs picture: test_journey
    page.reload()
    assert "/organization/settings/scim" in page.url
    assert token not in page.content() and "already exists" not in page.content()
    assert page.locator("tr", has_text="Reloaded").count() == 1
    page.goto("/organization/settings/tokens")  # the form's address: its page, never "Not allowed"
    assert page.url.endswith("/organization/settings/scim")
    page.goto("/organization/settings/login-options/password")
    assert page.url.endswith("/organization/settings/login-options")
    assert "Not allowed" not in page.content()


def test_the_lockout_paths_are_refused_with_their_reasons(admin_page: Page) -> None:
    page = admin_page
    page.goto("/organization/settings/login-options")
    # The switch submits itself and asks on its own page. A click, not uncheck(): the page it leads to has no
    # switch left whose state uncheck() could confirm.
    expect(page.locator("#password-login")).to_be_checked()
    page.locator("#password-login").click()
    page.wait_for_url("**/organization/settings/login-options/password/disable")
    expect(page.get_by_role("alert")).to_contain_text("cannot be turned off")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not done")
    page.goto("/login")
    page.goto("/organization/settings/login-options/new")
    expect(page.get_by_text("A new login option starts")).to_be_visible()
    assert page.locator("input[name=enabled]").count() == 0
    page.goto("/organization/settings/scim")
    if page.locator("#scim-enabled").is_checked():
        page.locator("#scim-enabled").click()
        page.wait_for_url("**/organization/settings/scim/disable")
        expect(page.get_by_text("403 Forbidden on every SCIM request")).to_be_visible()
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator("#scim-enabled")).to_be_checked()
