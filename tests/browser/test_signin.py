"""Signing in, the keyboard, the forced password change and CSRF, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from support.browser import (
    ADMIN_PASSWORD,
    SETTINGS_URL,
    USERS_URL,
    ContextFactory,
    LiveServer,
    ScimClient,
    change_password,
    sign_in,
    tamper_csrf,
)

pytestmark = pytest.mark.browser


def post_status(page: Page, path: str, submit: Callable[[], None]) -> int:
    """Do ``submit`` and return the status of the POST to ``path`` it sends."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(path)) as posted:
        submit()
    return posted.value.status


def test_sign_in_page_and_a_wrong_password(server: LiveServer, new_context: ContextFactory) -> None:
    """The sign-in page is labelled; a wrong password says so without telling which part was wrong."""
    page = new_context(server).new_page()
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))
    expect(page).to_have_title(re.compile("Sign in"))
    expect(page.get_by_role("heading", name="Sign in to Gatehouse")).to_be_visible()
    page.get_by_label("Username or email").fill("admin")
    page.get_by_label("Password", exact=True).fill("not the password at all")
    assert post_status(page, "/login", page.get_by_role("button", name="Sign in").click) == 401
    expect(page.get_by_role("alert")).to_have_text("Invalid username or password.")
    expect(page.get_by_label("Username or email")).to_have_value("admin")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")


def test_sign_in_with_the_keyboard_only(server: LiveServer, new_context: ContextFactory) -> None:
    """The username field has the focus; Tab reaches the password, Enter submits."""
    page = new_context(server).new_page()
    page.goto("/login")
    expect(page.get_by_label("Username or email")).to_be_focused()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{USERS_URL}")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The skip link is the first stop of the signed-in page, and it leads to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_a_one_time_password_forces_a_change(server: LiveServer, new_context: ContextFactory) -> None:
    """A one-time password (here from ``gatehouse admin reset-password``) signs in only to the Change
    password page; every other page sends back there until the password is changed."""
    server.cli("admin", "create", "oncall", "--password-stdin", stdin="an initial passphrase\n")
    printed = server.cli("admin", "reset-password", "oncall")
    one_time = re.search(r"One-time password for 'oncall': (\S+)", printed)
    assert one_time, printed
    page = new_context(server).new_page()
    sign_in(page, "oncall", one_time.group(1), expect_path="/account/password")
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    expect(page.get_by_text("You signed in with a one-time password")).to_be_visible()

    page.goto("/")
    page.wait_for_url("**/account/password")
    expect(page.get_by_role("status")).to_have_text("Choose a new password to continue.")

    page.get_by_label("Current password").fill(one_time.group(1))
    page.get_by_label(re.compile(r"^New password \(")).fill("the new passphrase")
    page.get_by_label("New password, again").fill("not the same passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The two new passwords differ.")

    change_password(page, one_time.group(1), "the new passphrase")
    sign_in(page, "oncall", one_time.group(1), expect_path=None)
    expect(page.get_by_role("alert")).to_have_text("Invalid username or password.")
    sign_in(page, "oncall", "the new passphrase")
    expect(page.get_by_role("heading", name="Change password")).to_have_count(0)


def test_a_tampered_sign_in_form_is_refused(server: LiveServer, new_context: ContextFactory) -> None:
    """A sign-in form whose CSRF token does not match its cookie is refused; no session opens."""
    page = new_context(server).new_page()
    page.goto("/login")
    page.get_by_label("Username or email").fill("admin")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    tamper_csrf(page)
    assert post_status(page, "/login", page.get_by_role("button", name="Sign in").click) == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("This form has expired or did not come from Gatehouse")).to_be_visible()
    page.goto("/account/password")
    page.wait_for_url(re.compile(r"/login\?next="))


def test_a_tampered_form_of_a_signed_in_admin_is_refused(admin_page: Page) -> None:
    """Sign out with a forged CSRF token is refused with 403 and the session stays open."""
    page = admin_page
    tamper_csrf(page, "form[action='/logout']")
    assert post_status(page, "/logout", page.get_by_role("button", name="Sign out").click) == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto("/account/password")
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")


def test_tampered_settings_forms_change_nothing(admin_page: Page, scim_client: ScimClient) -> None:
    """A forged Enable switch or Generate token form is refused; SCIM stays on and no token is made."""
    page = admin_page
    page.goto(SETTINGS_URL)
    tamper_csrf(page, "form[action='/organization/settings/scim']")
    assert (
        post_status(page, "/organization/settings/scim", page.get_by_role("switch", name="Enable").click) == 403
    )  # saves on change
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert scim_client.probe() == 200

    page.goto(SETTINGS_URL)
    expect(page.get_by_role("switch", name="Enable")).to_be_checked()
    page.get_by_label("Token name").fill("Forged")
    tamper_csrf(page, "form[action='/organization/settings/tokens']")
    assert (
        post_status(page, "/organization/settings/tokens", page.get_by_role("button", name="Generate token").click)
        == 403
    )
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.goto(SETTINGS_URL)
    expect(page.get_by_role("table", name="SCIM tokens").get_by_role("row").filter(has_text="Forged")).to_have_count(0)
