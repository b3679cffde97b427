"""Organization → Gateway access in a real browser with JavaScript off, on a server of its own: the admin adds
forward-auth rules through the form (a wrong one first: the form comes back with why), moves one up, turns the
API7 preset on, and deletes a rule after its confirmation page. The picture of the table goes to the guides
(``docs/screenshots/gateway-access.png`` with ``GATEHOUSE_UPDATE_SCREENSHOTS=1``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from support.browser import ADMIN_PASSWORD, ContextFactory, LiveServer, live_server, screenshot, sign_in

pytestmark = pytest.mark.browser

BASE = "/organization/gateway-access"


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("gateway-server"), admin_password=ADMIN_PASSWORD) as running:
        yield running


def add_rule(page: Page, methods: list[str], path: str, action: str, resource: str, **extra: str) -> None:
    page.get_by_role("link", name="Add rule").click()
    page.wait_for_url(f"**{BASE}/new")
    for method in ("GET", *methods):  # GET is ticked to start with
        box = page.get_by_role("checkbox", name=method, exact=True)
        box.set_checked(method in methods)
    page.get_by_label("Path", exact=False).first.fill(path)
    if "query" in extra:
        page.get_by_label("Parts from the query").fill(extra["query"])
    page.get_by_label("Action").select_option(action)
    page.get_by_label("Resource", exact=False).first.fill(resource)
    if "description" in extra:
        page.get_by_label("Description").fill(extra["description"])
    page.get_by_role("button", name="Add rule").click()


def rule_paths(page: Page) -> list[str]:
    return page.locator("table.authz-rules code.path").all_inner_texts()


def test_the_rule_table(gateway_server: LiveServer, new_context: ContextFactory) -> None:
    page = new_context(gateway_server, javascript=False).new_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Gateway access").click()
    page.wait_for_url(f"**{BASE}")
    expect(page.get_by_role("heading", name="Gateway access", level=1)).to_be_visible()
    expect(
        page.get_by_text("No custom rules. With the preset off too, every proxied request is denied.")
    ).to_be_visible()

    # a resource naming a part the path does not define: the form comes back, as typed, with why
    add_rule(page, ["GET"], "/api/gateway_groups/{gg}/services/{sid}", "gateway:GetPublishedService",
             "arn:api7:gateway:gatewaygroup/{gg}/publishedservice/{service}")  # fmt: skip
    expect(page.get_by_role("alert")).to_contain_text("resource: {service} is not a part of the path or query")
    page.get_by_label("Resource", exact=False).first.fill("arn:api7:gateway:gatewaygroup/{gg}/publishedservice/{sid}")
    page.get_by_role("button", name="Add rule").click()
    page.wait_for_url(f"**{BASE}")
    expect(page.get_by_role("status")).to_contain_text("Rule 1 added: GET /api/gateway_groups/{gg}/services/{sid}.")

    page.get_by_role("link", name="Add rule").click()
    page.get_by_role("link", name="Cancel").click()
    add_rule(page, ["PUT", "PATCH", "DELETE"], "/apisix/admin/routes/{id}", "gateway:UpdatePublishedService",
             "arn:api7:gateway:gatewaygroup/{gg}/publishedservice/*", query="gg=gateway_group_id",
             description="A route's service is not in its URL: every service of the group")  # fmt: skip
    page.wait_for_url(f"**{BASE}")
    add_rule(page, ["POST"], "/api/gateway_groups/{gg}/instance_token", "gateway:CreateGatewayInstance",
             "arn:api7:gateway:gatewaygroup/{gg}")  # fmt: skip
    page.wait_for_url(f"**{BASE}")
    assert rule_paths(page) == [
        "/api/gateway_groups/{gg}/services/{sid}",
        "/apisix/admin/routes/{id}",
        "/api/gateway_groups/{gg}/instance_token",
    ]

    # order: the last one up, once
    page.get_by_role("button", name="Up (rule 3)").click()
    page.wait_for_url(f"**{BASE}")
    assert rule_paths(page)[1] == "/api/gateway_groups/{gg}/instance_token"
    expect(page.get_by_role("button", name="Up (rule 1)")).to_be_disabled()

    # the preset, after the rules
    page.get_by_role("button", name="Turn the preset on").click()
    page.wait_for_url(f"**{BASE}")
    expect(page.get_by_role("status")).to_contain_text("The API7 / APISIX preset is on")
    expect(page.get_by_text("The preset is on.")).to_be_visible()
    screenshot(page, "gateway-access")

    # delete, after its own page
    page.get_by_role("link", name="Delete rule 2").click()
    expect(page.get_by_role("heading", name="Delete rule 2?")).to_be_visible()
    page.get_by_role("button", name="Delete rule").click()
    page.wait_for_url(f"**{BASE}")
    assert rule_paths(page) == ["/api/gateway_groups/{gg}/services/{sid}", "/apisix/admin/routes/{id}"]
