"""The mass-deprovisioning guard in a real browser, on a server of its own (guard threshold 5 users): an IdP
deactivates 10 of 10 SCIM users at once; the first 5 apply and the rest are answered 429. The admin sees the
banner on Organization → Users and on Settings → SCIM Provisioning ("N deprovisioning requests held since HH:MM
— Review"), opens the review page (user, time, token, kind), keeps blocking after a confirmation (the list clears,
a reload keeps the page), sees the IdP's retries held again, then allows them: the retries apply, the users show
as deactivated, and the audit log tells every step. Pages checked at 1280 and 1024 px: no horizontal overflow,
no console error, no serious axe-core violation."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.browser import (
    ADMIN_PASSWORD,
    SETTINGS_URL,
    USERS_URL,
    ContextFactory,
    LiveServer,
    ScimClient,
    live_server,
    okta_person,
    screenshot,
    sign_in,
)
from support.pages import Watch, axe_violations, overflow

pytestmark = pytest.mark.browser

REVIEW = "/organization/settings/scim/guard"
BANNER = re.compile(r"(\d+) deprovisioning requests held since \d\d:\d\d UTC — Review")
PEOPLE = 10
THRESHOLD = 5


@pytest.fixture(scope="module")
def server_with_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``gatehouse serve`` whose guard holds deprovisioning past 5 users within its 10 minutes."""
    directory = tmp_path_factory.mktemp("guard-server")
    settings = {"GATEHOUSE_SCIM_GUARD_MIN_USERS": str(THRESHOLD)}
    with live_server(directory, admin_password=ADMIN_PASSWORD, settings=settings) as running:
        yield running


def deactivate(idp: ScimClient, user_id: str) -> int:
    """Okta's deactivation (PATCH replace active=false); its status, whatever it is."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    response: httpx.Response = idp.http.patch(f"{idp.endpoint}/Users/{user_id}", json=body)
    return response.status_code


def check_page(page: Page, watch: Watch) -> None:
    for width, height in ((1280, 800), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        problems = overflow(page) + axe_violations(page) + watch.take()
        assert not problems, f"{page.url} at {width} px: {problems}"


def test_the_banner_the_review_keep_blocking_and_allow(
    server_with_guard: LiveServer, new_context: ContextFactory
) -> None:
    server = server_with_guard
    with ScimClient.from_cli(server) as idp:
        ids = [
            idp.create(okta_person(f"p{n}@example.com", "Pat", f"Number{n}", f"ext-{n}"))["id"] for n in range(PEOPLE)
        ]
        answers = [deactivate(idp, user_id) for user_id in ids]
        assert answers == [200] * THRESHOLD + [429] * (PEOPLE - THRESHOLD)
        held = ids[THRESHOLD:]

        page = new_context(server, bypass_csp=True).new_page()  # bypass: to inject axe only
        watch = Watch()
        watch.attach(page)
        sign_in(page, "admin", ADMIN_PASSWORD)

        for path in (USERS_URL, SETTINGS_URL):
            page.goto(path)
            banner = page.locator("#guard-banner")
            expect(banner).to_have_text(BANNER)
            assert BANNER.search(banner.inner_text()).group(1) == str(PEOPLE - THRESHOLD)  # type: ignore[union-attr]
        check_page(page, watch)

        page.locator("#guard-banner").get_by_role("link", name="Review").click()
        expect(page).to_have_url(re.compile(f"{REVIEW}$"))
        expect(page.get_by_role("heading", name=f"{PEOPLE - THRESHOLD} held requests")).to_be_visible()
        rows = page.locator("#held tbody tr")
        expect(rows).to_have_count(PEOPLE - THRESHOLD)
        for n in range(THRESHOLD, PEOPLE):
            row = rows.filter(has_text=f"p{n}@example.com")
            expect(row).to_have_count(1)
            expect(row.locator("td").nth(2)).to_have_text("browser-tests")
            expect(row.locator("td").nth(3)).to_have_text("Deactivate")
        check_page(page, watch)
        screenshot(page, "scim-guard", docs=False)

        # Keep blocking, after its own question: the list clears and the guard stays closed.
        page.get_by_role("link", name="Keep blocking").click()
        expect(page.get_by_text(f"Forget {PEOPLE - THRESHOLD} held deprovisioning requests?")).to_be_visible()
        page.get_by_role("button", name="Keep blocking").click()
        expect(page).to_have_url(re.compile(f"{REVIEW}$"))
        expect(page.get_by_text("No deprovisioning requests are held.")).to_be_visible()
        page.reload()  # Post/Redirect/Get: a reload sends nothing again
        expect(page.get_by_text("No deprovisioning requests are held.")).to_be_visible()

        # The IdP retries: held again (nothing applied), the banner back.
        assert [deactivate(idp, user_id) for user_id in held] == [429] * len(held)
        page.goto(USERS_URL)
        expect(page.locator("#guard-banner")).to_have_text(BANNER)

        # Allow: the guard opens for its window; the retries apply.
        page.goto(REVIEW)
        page.get_by_role("link", name="Allow").click()
        expect(page.get_by_text(f"Allow {len(held)} held deprovisioning requests?")).to_be_visible()
        page.get_by_role("button", name="Allow").click()
        expect(page).to_have_url(re.compile(f"{REVIEW}$"))
        expect(page.locator("#guard-allowed")).to_contain_text("Allowed until")
        page.reload()
        expect(page.get_by_text("No deprovisioning requests are held.")).to_be_visible()
        assert [deactivate(idp, user_id) for user_id in held] == [200] * len(held)
        assert all(idp.find(f"p{n}@example.com")["active"] is False for n in range(PEOPLE))  # type: ignore[index]

        page.goto(USERS_URL)
        expect(page.locator("#guard-banner")).to_have_count(0)

        page.goto("/organization/audit-logs")
        log = page.locator("main").inner_text()
        tripped = f"tried to deprovision more than {THRESHOLD} users within 10 minutes"
        assert "admin allowed the deprovisioning held by the guard" in log, log[:3000]
        assert "admin kept blocking the deprovisioning held by the guard" in log, log[:3000]
        assert log.count(tripped) == 1, log[:3000]  # one record per burst (the retries held after blocking are its)
