"""The seed journey, end to end in a real browser on a first-run server.

Sign in as ``admin`` with the one-time password printed at first run → forced password change →
Organization → Settings (its SCIM Provisioning page) → enable SCIM Provisioning → generate a token named
"Okta" → read the SCIM Endpoint URL and the token from the page → an IdP (httpx, Okta's bodies) creates,
updates and deactivates users → Organization → Users shows them with the right status → the deactivated
user, who had a password from the IdP, is signed out and cannot sign in again → Settings → Provisioning
activity lists the IdP's requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from support.browser import (
    ACTIVITY_URL,
    DEACTIVATED,
    SETTINGS_URL,
    USERS_URL,
    ContextFactory,
    LiveServer,
    ScimClient,
    change_password,
    live_server,
    okta_person,
    screenshot,
    sign_in,
)
from support.scim import ENTERPRISE

pytestmark = pytest.mark.browser

NEW_ADMIN_PASSWORD = "my own admin passphrase"
ADA_PASSWORD = "Analytical-Engine-1843"


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server started on an empty database, without GATEHOUSE_ADMIN_PASSWORD."""
    directory: Path = tmp_path_factory.mktemp("first-run")
    with live_server(directory) as running:
        yield running


def nav(page: Page, name: str) -> None:
    """Follow a link of the left navigation (Organization → ``name``)."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def user_row(page: Page, user_name: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=user_name, exact=True))


def test_the_seed_journey(first_run: LiveServer, new_context: ContextFactory) -> None:
    page = new_context(first_run).new_page()

    # 1. First sign-in with the one-time password from the server's standard output.
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in to Gatehouse")).to_be_visible()
    screenshot(page, "sign-in")
    one_time = first_run.generated_password()
    sign_in(page, "admin", one_time, expect_path="/account/password")
    expect(page.get_by_text("You signed in with a one-time password")).to_be_visible()
    screenshot(page, "change-password")
    change_password(page, one_time, NEW_ADMIN_PASSWORD)
    sign_in(page, "admin", NEW_ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_text("No users yet besides you.")).to_be_visible()

    # 2. Organization → Settings → SCIM Provisioning: Enable (the switch saves when it changes).
    nav(page, "Settings")
    page.wait_for_url(f"**{SETTINGS_URL}")
    expect(page.get_by_role("heading", name="SCIM Provisioning")).to_be_visible()
    enable = page.get_by_role("switch", name="Enable")
    expect(enable).not_to_be_checked()
    expect(page.get_by_role("heading", name="SCIM Endpoint URL")).to_have_count(0)
    enable.click()
    expect(page.get_by_role("status")).to_have_text("SCIM provisioning is on.")
    expect(page.get_by_role("switch", name="Enable")).to_be_checked()
    expect(page.get_by_role("heading", name="SCIM Endpoint URL")).to_be_visible()
    endpoint = page.locator("#scim-endpoint").inner_text().strip()
    assert endpoint == f"{first_run.base}/scim/v2"
    expect(page.get_by_role("alert")).to_contain_text(f"IdPs in the cloud cannot reach {endpoint}")

    # The IdP will send a password for one user: let provisioned users sign in with it.
    allow = page.get_by_role("switch", name="Provisioned users may sign in with a password")
    expect(allow).not_to_be_checked()
    allow.click()
    expect(page.get_by_role("status")).to_contain_text("Provisioned users may now sign in with the password")
    expect(page.get_by_role("switch", name="Provisioned users may sign in with a password")).to_be_checked()

    # 3. Generate token "Okta": shown once, in a dialog, with a copy button and how to enter it.
    page.get_by_label("Token name").fill("Okta")
    page.get_by_role("button", name="Generate token").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Your SCIM token “Okta”")
    expect(dialog).to_contain_text("shown only this once")
    expect(dialog).to_contain_text("Enter it in your IdP as Bearer <token>")
    expect(dialog.get_by_role("button", name="Copy")).to_be_visible()
    token = dialog.locator("code.secret").inner_text().strip()
    assert len(token) >= 32 and token not in page.url
    expect(page.locator("[data-secret-fallback]")).to_be_hidden()  # not repeated behind the dialog
    screenshot(page, "token-dialog", full_page=False)
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    tokens = page.get_by_role("table", name="SCIM tokens")
    expect(tokens.get_by_role("row").filter(has_text="Okta")).to_contain_text("Never")
    page.goto(SETTINGS_URL)
    expect(page.get_by_text(token)).to_have_count(0)  # shown once only

    # 4. The IdP uses the URL and token from the page: create, update, deactivate.
    with ScimClient(endpoint, token) as idp:
        ada = idp.create(okta_person("ada.lovelace@example.com", "Ada", "Lovelace", "00u1ada", password=ADA_PASSWORD))
        grace = idp.create(okta_person("grace.hopper@example.com", "Grace", "Hopper", "00u2grace"))
        alan = idp.create(okta_person("alan.turing@example.com", "Alan", "Turing", "00u3alan"))
        # Okta updates a profile with PUT of the whole user (here with attributes mapped to the
        # enterprise extension).
        renamed = okta_person("grace.hopper@example.com", "Grace", "Hopper", "00u2grace")
        renamed.update(
            id=grace["id"],
            displayName="Grace Brewster Hopper",
            title="Rear Admiral",
            phoneNumbers=[{"value": "+1 202 555 0142", "type": "work", "primary": True}],
        )
        renamed["name"]["middleName"] = "Brewster"
        renamed["schemas"] = [*renamed["schemas"], ENTERPRISE]
        renamed[ENTERPRISE] = {
            "department": "Computing Research",
            "organization": "US Navy",
            "manager": {"value": alan["id"]},
        }
        assert idp.put(grace["id"], renamed)["displayName"] == "Grace Brewster Hopper"

        # Ada signs in with the password her IdP sent, in her own browser.
        ada_page = new_context(first_run).new_page()
        sign_in(ada_page, "ada.lovelace@example.com", ADA_PASSWORD, expect_path="/organization/users/*")
        expect(ada_page.get_by_text("No roles")).to_be_visible()  # with no role: her own profile only

        # Okta deactivates with PATCH replace active=false.
        assert idp.deactivate(ada["id"])["active"] is False

    # 5. Ada's session ended at once; signing in again says why it fails.
    ada_page.goto(USERS_URL)
    ada_page.wait_for_url(re.compile(r"/login\?next="))
    expect(ada_page.get_by_role("status")).to_have_text("Your session has ended. Sign in again.")
    sign_in(ada_page, "ada.lovelace@example.com", ADA_PASSWORD, expect_path=None)
    expect(ada_page.get_by_role("alert")).to_have_text(DEACTIVATED)
    assert ada_page.url.endswith("/login")
    screenshot(ada_page, "deactivated-sign-in")

    # 6. Organization → Users shows the provisioned users with their status.
    nav(page, "Users")
    page.wait_for_url(f"**{USERS_URL}")
    expect(page.get_by_role("status")).to_have_text("Showing 1–4 of 4")
    expected = {
        "ada.lovelace@example.com": ("Ada Lovelace", "Deactivated"),
        "alan.turing@example.com": ("Alan Turing", "Active"),
        "grace.hopper@example.com": ("Grace Brewster Hopper", "Active"),
    }
    for user_name, (name, status) in expected.items():
        cells = user_row(page, user_name).get_by_role("cell")
        expect(cells.nth(0)).to_have_text(f"{user_name} (also the e-mail address)")  # Okta's: shown once
        expect(cells.nth(1)).to_have_text(name)
        expect(cells.nth(2)).to_have_text("SCIM")
        expect(cells.nth(3)).to_have_text(status)
    admin_cells = user_row(page, "admin").get_by_role("cell")
    expect(admin_cells.nth(2)).to_have_text("Local")
    expect(admin_cells.nth(3)).to_have_text("Active")
    expect(user_row(page, "ada.lovelace@example.com").get_by_role("cell").nth(4)).not_to_have_text("Never")
    screenshot(page, "users", docs=False)  # the docs picture: test_every_page (50 users)

    # 7. A user's detail: the IdP's attributes, read-only, and the status history.
    page.get_by_role("link", name="grace.hopper@example.com", exact=True).click()
    expect(page.get_by_role("heading", name="Grace Brewster Hopper", level=1)).to_be_visible()
    expect(page.get_by_text("Managed by your identity provider: change these attributes there.")).to_be_visible()
    expect(page.locator("dl.facts").first).to_contain_text("00u2grace")
    profile = page.get_by_role("region", name="Profile")
    expect(profile).to_contain_text("Rear Admiral")
    expect(profile).to_contain_text("+1 202 555 0142")
    enterprise = page.get_by_role("region", name="Enterprise")
    expect(enterprise).to_contain_text("Computing Research")
    expect(enterprise.get_by_role("link")).to_have_attribute("href", f"{USERS_URL}/{alan['id']}")
    screenshot(page, "user-detail")

    page.go_back()
    page.get_by_role("link", name="ada.lovelace@example.com", exact=True).click()
    expect(page.locator(".page-head")).to_contain_text("Deactivated")
    history = page.get_by_role("region", name="Status history").get_by_role("row")
    expect(history.filter(has_text="Created")).to_have_count(1)
    expect(history.filter(has_text="Deactivated")).to_have_count(1)
    expect(page.get_by_role("region", name="Active sessions")).to_contain_text("No active dashboard sessions.")

    # 8. Back on Settings → SCIM Provisioning: the token's last use; then Settings → Provisioning activity.
    nav(page, "Settings")
    page.wait_for_url(f"**{SETTINGS_URL}")
    okta = page.get_by_role("table", name="SCIM tokens").get_by_role("row").filter(has_text="Okta")
    expect(okta).to_contain_text("127.0.0.1")
    expect(okta).to_contain_text("python-httpx")
    screenshot(page, "settings-scim", docs=False)  # the docs picture: test_every_page
    nav(page, "Provisioning activity")
    page.wait_for_url(f"**{ACTIVITY_URL}")
    activity = page.get_by_role("table", name="SCIM requests")
    expect(activity.get_by_role("row").filter(has_text="POST")).to_have_count(3)
    expect(activity.get_by_role("row").filter(has_text="PATCH").first).to_contain_text("200")
