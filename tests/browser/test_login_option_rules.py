"""Role-mapping rules as rows in a real browser, with JavaScript and without: an administrator adds two rules
in the rows of a new login option, then on its page adds a third, moves one up, removes one and saves; a reload
changes nothing (Post/Redirect/Get). Rows with mistakes show every problem beside its field at once, with a
summary linking to each, and the page fits 1280 and 1024 px and passes axe-core in that state too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from support.browser import ADMIN_PASSWORD, LOGIN_OPTIONS_URL, ContextFactory, LiveServer, live_server, screenshot
from support.browser import sign_in as sign_in_as
from support.pages import VIEWPORTS, axe_script, axe_violations, overflow

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: these tests add login options (disabled ones: the sign-in page stays as it is)."""
    with live_server(tmp_path_factory.mktemp("rules-server"), admin_password=ADMIN_PASSWORD) as running:
        yield running


def fill_row(page: Page, index: int, target: str, attribute: str, operation: str, value: str) -> None:
    page.locator(f"#rules-{index}-target").select_option(label=target)
    page.locator(f"#rules-{index}-attribute").fill(attribute)
    page.locator(f"#rules-{index}-operation").select_option(operation)
    page.locator(f"#rules-{index}-value").fill(value)


def rows(page: Page) -> list[tuple[str, str, str]]:
    """The rules the rows show: (role, attribute, value), empty rows left out."""
    found = []
    for index in range(int(page.locator('input[name="rules-count"]').get_attribute("value") or 0)):
        target = page.locator(f"#rules-{index}-target option:checked").inner_text().strip()
        attribute = page.locator(f"#rules-{index}-attribute").input_value()
        value = page.locator(f"#rules-{index}-value").input_value()
        if attribute or value or target != "Choose…":
            found.append((target, attribute, value))
    return found


def shown_beside_their_fields(page: Page, expected: dict[str, str]) -> None:
    """Each field of ``expected`` is marked invalid and shows its message right beside it, tied to it."""
    for where, message in expected.items():
        field = page.locator(f"#{where}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", f"{where}-error")
        expect(page.locator(f"#{where}-error")).to_contain_text(message)
        expect(page.locator(f"#{where}-error")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_rules_rows_move_remove_save_and_show_every_error(
    rules_server: LiveServer, new_context: ContextFactory, javascript: bool
) -> None:
    name = f"Okta {'js' if javascript else 'nojs'}"
    page = new_context(rules_server, javascript=javascript).new_page()
    sign_in_as(page, "admin", ADMIN_PASSWORD)

    # Two rules in the rows of a new option.
    page.goto(f"{LOGIN_OPTIONS_URL}/new")
    page.locator("#name").fill(name)
    page.locator("#issuer").fill("https://example.okta.com")
    page.locator("#client_id").fill("0oa123")
    page.locator("#client_secret").fill("a-client-secret-0123")
    fill_row(page, 0, "Viewer", "$.groups[*]", "exact_match", "dev")
    fill_row(page, 1, "Organization Admin", "$.groups[*]", "exact_match", "ops")
    page.get_by_role("button", name="Add login option").click()
    expect(page.get_by_role("status")).to_contain_text(f"Login option {name} created, disabled.")
    option_url = page.url
    assert rows(page) == [("Viewer", "$.groups[*]", "dev"), ("Organization Admin", "$.groups[*]", "ops")]
    version = page.locator('input[name="version"]').get_attribute("value")

    # A third rule, then rule 2 moved up: the form again, changed, and nothing saved.
    fill_row(page, 2, "Viewer", "$.department", "contains_string", "Research")
    page.get_by_role("button", name="Move rule 2 up").click()
    page.wait_for_load_state()
    assert rows(page) == [
        ("Organization Admin", "$.groups[*]", "ops"), ("Viewer", "$.groups[*]", "dev"),
        ("Viewer", "$.department", "Research"),
    ]  # fmt: skip
    assert page.locator('input[name="version"]').get_attribute("value") == version
    expect(page.locator("#current-rules tbody tr")).to_have_count(2)  # the saved rules are still the two

    # Rule 2 removed, then saved: Post/Redirect/Get, and a reload changes nothing.
    page.get_by_label("Remove rule 2").check()
    page.get_by_role("button", name="Save login option").click()
    page.wait_for_url(option_url)
    expect(page.get_by_role("status")).to_contain_text(f"Login option {name} saved.")
    saved = [("Organization Admin", "$.groups[*]", "ops"), ("Viewer", "$.department", "Research")]
    assert rows(page) == saved
    saved_version = page.locator('input[name="version"]').get_attribute("value")
    page.reload()
    assert page.url == option_url and rows(page) == saved
    assert page.locator('input[name="version"]').get_attribute("value") == saved_version
    expect(page.locator("#current-rules tbody tr")).to_have_count(2)
    screenshot(page, f"login-option-rules-{'js' if javascript else 'nojs'}", docs=False)

    # Mistakes in three fields of three rules: every one beside its field, at once, and nothing saved.
    page.locator("#rules-0-attribute").fill("groups")
    page.locator("#rules-1-value").fill("")
    fill_row(page, 2, "Viewer", "$.x", "regex", "(a+)+")
    page.locator("#rules-2-value").press("Enter")  # Enter saves: the form's first button is Save, not a Move
    summary = page.locator("#form-error")
    expect(summary).to_contain_text("Nothing was saved. 3 problems need fixing.")
    expected = {
        "rules-0-attribute": "The attribute must be a JSONPath starting with $, such as $.groups[*] or $.department.",
        "rules-1-value": "Give the value to compare with.",
        "rules-2-value": "The value is an unsafe regular expression",
    }
    shown_beside_their_fields(page, expected)
    expect(summary.get_by_role("link")).to_have_count(3)
    summary.get_by_role("link", name="In rule 2, give the value to compare with.").click()
    if javascript:
        expect(page.locator("#rules-1-value")).to_be_focused()
    assert page.url.endswith("#rules-1-value")
    screenshot(page, f"login-option-rules-errors-{'js' if javascript else 'nojs'}", docs=False)
    page.goto(option_url)
    assert rows(page) == saved  # nothing was saved


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_every_wrong_field_shows_beside_it_at_once(
    rules_server: LiveServer, new_context: ContextFactory, javascript: bool
) -> None:
    page = new_context(rules_server, javascript=javascript).new_page()
    sign_in_as(page, "admin", ADMIN_PASSWORD)
    page.goto(f"{LOGIN_OPTIONS_URL}/new")
    name = f"Wrong {'js' if javascript else 'nojs'}"
    page.locator("#name").fill(name)
    page.locator("#issuer").fill("http://idp.example.com")
    page.locator("#client_id").fill("0oa123")
    page.get_by_label("Read it from an environment variable").check()
    page.locator("#scopes").fill("profile email")
    fill_row(page, 0, "Viewer", "groups", "exact_match", "dev")
    page.get_by_role("button", name="Add login option").click()
    summary = page.locator("#form-error")
    expect(summary).to_contain_text("Nothing was saved. 4 problems need fixing.")
    expected = {
        "issuer": "The issuer must use https (http is accepted only for localhost, for tests).",
        "client_secret_env": "Name the environment variable that holds the client secret.",
        "scopes": "The scopes must include 'openid' (OpenID Connect requires it).",
        "rules-0-attribute": "The attribute must be a JSONPath starting with $",
    }
    shown_beside_their_fields(page, expected)
    expect(page.locator("#name")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#issuer")).to_have_value("http://idp.example.com")  # what was typed, kept
    expect(summary.get_by_role("link")).to_have_count(4)
    links = [link.inner_text().strip() for link in summary.get_by_role("link").all()]
    assert links[:3] == [expected["issuer"], expected["client_secret_env"], expected["scopes"]]  # as the form goes
    assert links[3].startswith("In rule 1, the attribute must be a JSONPath")
    summary.get_by_role("link", name=expected["scopes"]).click()
    assert page.url.endswith("#scopes")
    screenshot(page, f"login-option-field-errors-{'js' if javascript else 'nojs'}", docs=False)
    page.goto(LOGIN_OPTIONS_URL)
    expect(page.get_by_text(name)).to_have_count(0)  # nothing was saved


def test_the_rows_fit_and_pass_axe_with_errors(rules_server: LiveServer, new_context: ContextFactory) -> None:
    axe_script()
    for width, viewport in VIEWPORTS.items():
        page = new_context(rules_server, viewport=viewport, bypass_csp=True).new_page()  # bypass: to inject axe
        sign_in_as(page, "admin", ADMIN_PASSWORD)
        page.goto(f"{LOGIN_OPTIONS_URL}/new")
        assert overflow(page) == [] and axe_violations(page) == []
        page.locator("#name").fill("Entra")
        page.locator("#issuer").fill("https://login.microsoftonline.com/tenant/v2.0")
        page.locator("#client_id").fill("app-1")
        fill_row(page, 0, "Viewer", "title", "regex", "(")
        page.locator("#rules-1-attribute").fill("$.groups[*]")
        page.get_by_text("Advanced: edit the rules as JSON").click()
        page.get_by_role("button", name="Add login option").click()
        expect(page.locator("#form-error")).to_contain_text("5 problems need fixing")
        expect(page.locator("#rules-1-target-error")).to_have_text("Choose the role to grant.")
        assert overflow(page) == [], width
        assert axe_violations(page) == [], width
        screenshot(page, f"login-option-rules-errors-{width}", docs=False)
        screenshot(page, f"login-option-rules-summary-{width}", full_page=False, docs=False)
        page.locator("#rules-heading").scroll_into_view_if_needed()
        page.locator("#rules-heading").evaluate("heading => heading.scrollIntoView()")
        screenshot(page, f"login-option-rules-rows-{width}", full_page=False, docs=False)
        page.locator("#rules-json").evaluate("details => details.open = true")
        page.locator("#rules-json").evaluate("details => details.scrollIntoView()")
        screenshot(page, f"login-option-rules-json-{width}", full_page=False, docs=False)
