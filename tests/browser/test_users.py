"""Organization → Users in a real browser: search (substring, by relevance, highlighted), filters and paging
over 120 provisioned users, and a local user's session ended by an admin's deactivation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from support.browser import (
    DEACTIVATED,
    USERS_URL,
    ContextFactory,
    LiveServer,
    ScimClient,
    change_password,
    okta_person,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

CREW = 120
GIVEN = ("Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven")


def crew_name(number: int) -> str:
    return f"crew.{number:03d}@example.com"


@pytest.fixture(scope="module")
def crew(scim_client: ScimClient) -> None:
    """120 users from the IdP; every tenth (000, 010, …, 110) deactivated."""
    for number in range(CREW):
        given = GIVEN[number % len(GIVEN)]
        body = okta_person(crew_name(number), given, f"Crew{number:03d}", f"00ucrew{number:03d}")
        created = scim_client.create(body)
        if number % 10 == 0:
            scim_client.deactivate(created["id"])


def counts(page: Page) -> str:
    return page.locator(".result-count").inner_text()


def search(page: Page, text: str, status: str = "All") -> None:
    page.get_by_role("searchbox", name="Search").fill(text)
    page.get_by_label("Status").select_option(label=status)
    page.get_by_role("search").get_by_role("button", name="Search").click()
    page.wait_for_load_state()


def user_names(page: Page) -> list[str]:
    return [name.strip() for name in page.locator("table.users tbody tr td:first-child a").all_inner_texts()]


def test_search_filter_and_paging(crew: None, admin_page: Page) -> None:
    """Search on username, name and email; the status filter; pages of 50 with the total, by cursor."""
    page = admin_page
    search(page, "crew.01")
    expect(page.locator(".result-count")).to_have_text("Showing 1–10 of 10")
    assert user_names(page) == [crew_name(n) for n in range(10, 20)]
    assert "q=crew.01" in page.url  # a GET form: the result has its own address

    search(page, "CREW.", status="Deactivated")  # any case
    expect(page.locator(".result-count")).to_have_text("Showing 1–12 of 12")
    assert user_names(page) == [crew_name(n) for n in range(0, CREW, 10)]
    expect(page.locator("table.users tbody").get_by_text("Active", exact=True)).to_have_count(0)

    search(page, "crew.", status="Active")
    expect(page.locator(".result-count")).to_have_text("Showing 1–50 of 108")

    search(page, "nadia")  # a name prefix: every sixth of the crew
    expect(page.locator(".result-count")).to_have_text("Showing 1–20 of 20")

    search(page, "crew.")
    expect(page.locator(".result-count")).to_have_text("Showing 1–50 of 120")
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text("Page 1 of 3")
    pager.get_by_role("link", name="Next").click()
    expect(page.locator(".result-count")).to_have_text("Showing 51–100 of 120")
    expect(pager).to_contain_text("Page 2 of 3")
    assert user_names(page) == [crew_name(n) for n in range(50, 100)]
    assert "q=crew." in page.url and "cursor=" in page.url  # a search pages by keyset
    pager.get_by_role("link", name="Last").click()
    expect(page.locator(".result-count")).to_have_text("Showing 101–120 of 120")
    expect(pager.get_by_role("link", name="Next")).to_have_count(0)
    pager.get_by_role("link", name="Previous").click()
    expect(page.locator(".result-count")).to_have_text("Showing 51–100 of 120")

    # With a search the order is relevance, and the page says so: the column headers do not sort.
    expect(page.locator(".ranked-order")).to_contain_text("Sorted by relevance")
    expect(page.get_by_role("columnheader", name="Username").get_by_role("link")).to_have_count(0)

    # Without one, a column sorts the list; a second click reverses the order.
    page.get_by_role("search").get_by_role("link", name="Clear").click()
    page.get_by_role("columnheader", name="Username").get_by_role("link", name="Username", exact=True).click()
    expect(page.get_by_role("columnheader", name="Username")).to_have_attribute("aria-sort", "descending")
    listed = user_names(page)
    assert listed == sorted(listed, key=str.lower, reverse=True) and crew_name(CREW - 1) in listed

    search(page, "nobody-has-this-prefix")
    expect(page.locator(".result-count")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("No users match “nobody-has-this-prefix”")


def test_a_substring_search_finds_the_user_and_highlights_the_match(
    crew: None, scim_client: ScimClient, admin_page: Page
) -> None:
    """'urney' is not the beginning of anything: it is inside the username and e-mail, and the beginning of
    the family name. The user is found and every match is marked in the row."""
    # An e-mail address other than the username: the list shows it under the username (not when they are equal).
    email = {"primary": True, "value": "journey.581629@example.org", "type": "work"}
    scim_client.create(
        okta_person("journey.581629.0@example.com", "Journey", "Urney581629", "00ujourney581629", emails=[email])
    )
    page = admin_page
    search(page, "urney")
    expect(page.locator(".result-count")).to_have_text("Showing 1–1 of 1")
    row = page.locator("table.users tbody tr")
    expect(row).to_have_count(1)
    assert user_names(page) == ["journey.581629.0@example.com"]
    marks = row.locator("mark")
    expect(marks).to_have_count(4)  # username, e-mail (under it), display name (twice)
    assert [text.lower() for text in marks.all_inner_texts()] == ["urney"] * 4
    expect(row.get_by_role("cell").nth(1)).to_have_text("Journey Urney581629")
    expect(row.get_by_role("cell").nth(1).locator("mark").nth(1)).to_have_text("Urney")
    screenshot(page, "users-search", docs=False)

    search(page, "581629")  # digits inside the username and e-mail
    assert user_names(page) == ["journey.581629.0@example.com"]
    search(page, "URNÉY")  # any case, any accent
    assert user_names(page) == ["journey.581629.0@example.com"]


def test_deactivation_ends_a_signed_in_users_session(
    server: LiveServer, admin_page: Page, new_context: ContextFactory
) -> None:
    """An admin invites a local user, who signs in in another browser; the admin deactivates them; their
    next navigation lands on the sign-in page, and signing in says the account is deactivated."""
    admin = admin_page
    admin.get_by_role("link", name="Invite user").click()
    admin.get_by_label("Username").fill("dora")
    admin.get_by_label(re.compile(r"^Email")).fill("dora@example.com")
    admin.get_by_label(re.compile(r"^Name")).fill("Dora Local")
    admin.get_by_label(re.compile(r"^One-time password \(")).fill("dora one-time pass")
    admin.get_by_label("One-time password, again").fill("dora one-time pass")
    admin.get_by_role("button", name="Create user").click()
    expect(admin.get_by_role("heading", name="Dora Local", level=1)).to_be_visible()
    detail_url = admin.url

    dora = new_context(server).new_page()
    sign_in(dora, "dora@example.com", "dora one-time pass", expect_path="/account/password")
    change_password(dora, "dora one-time pass", "dora's own passphrase")
    sign_in(dora, "dora", "dora's own passphrase", expect_path="/organization/users/*")

    admin.reload()
    expect(admin.get_by_role("region", name="Active sessions").get_by_role("row")).to_have_count(2)  # header + 1
    admin.get_by_role("link", name="Deactivate").click()
    expect(admin.get_by_role("heading", name="Deactivate dora?")).to_be_visible()
    admin.get_by_role("button", name="Deactivate").click()
    admin.wait_for_url(detail_url)
    expect(admin.get_by_role("status")).to_have_text("dora is deactivated and cannot sign in. 1 session(s) ended.")

    dora.get_by_role("navigation", name="Main").get_by_role("link", name="Change password").click()
    dora.wait_for_url(re.compile(r"/login\?next=/account/password$"))
    expect(dora.get_by_role("status")).to_have_text("Your session has ended. Sign in again.")
    sign_in(dora, "dora", "dora's own passphrase", expect_path=None)
    expect(dora.get_by_role("alert")).to_have_text(DEACTIVATED)

    admin.get_by_role("button", name="Reactivate").click()
    expect(admin.get_by_role("status")).to_have_text("dora is active again.")
    sign_in(dora, "dora", "dora's own passphrase", expect_path="/organization/users/*")
    admin.goto(f"{USERS_URL}?q=dora")
    expect(admin.locator("table.users tbody tr")).to_have_count(1)
    expect(admin.locator("table.users tbody tr")).to_contain_text("Local")
