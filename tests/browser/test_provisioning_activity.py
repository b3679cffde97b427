"""The provisioning log in a real browser, on a server of its own: two IdPs (tokens "browser-tests" and "Entra") send
succeeding and failing SCIM requests (a password among them), and a bad token one more; an older failure sits in
the log from two days ago. The admin opens Settings → Provisioning activity and filters by resource, status class,
token, method and time, checking the rows each time; opens a failed request and sees its bodies with the password
redacted and the IdP's User-Agent; then Settings → SCIM Provisioning counts the failures of the last hour and links
to exactly them. Pages checked at 1280 and 1024 px (a failed request open): no horizontal overflow, no console
error, no serious axe-core violation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.scim_activity import write
from support.browser import (
    ACTIVITY_URL,
    ADMIN_PASSWORD,
    SETTINGS_URL,
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

SECRET = "Sup3r-Secret-Passw0rd"
AGENT = "Okta SCIM Client 1.0.0"


@pytest.fixture(scope="module")
def activity_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("activity-server"), admin_password=ADMIN_PASSWORD) as running:
        yield running


def provision(server: LiveServer) -> None:
    """The IdPs' requests (five fail in this hour), and written straight to the log: a 500 of two days ago, and
    half an hour ago 1,480 successful reads counted in one entry (a read flood past the token's budget)."""
    with ScimClient.from_cli(server) as okta:
        okta.http.headers["User-Agent"] = AGENT
        entra_token = server.cli("scim", "token", "create", "--name", "Entra", "--json")
        person = okta_person("pat@example.com", "Pat", "Lee", "ext-pat")
        created = okta.create(person)
        assert okta.http.post(f"{okta.endpoint}/Users", json={**person, "password": SECRET}).status_code == 409
        bad_patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "password", "value": SECRET}, {"op": "explode"}],
        }
        assert okta.http.patch(f"{okta.endpoint}/Users/{created['id']}", json=bad_patch).status_code == 400
        assert okta.http.get(f"{okta.endpoint}/Groups").status_code == 200
        assert okta.http.get(f"{okta.endpoint}/ServiceProviderConfig").status_code == 200
        assert okta.http.get(f"{okta.endpoint}/Users/nope").status_code == 404
        with ScimClient(okta.endpoint, json.loads(entra_token)["token"]) as entra:
            assert entra.probe() == 200
            assert entra.http.put(f"{entra.endpoint}/Users/nope", json=person).status_code == 404
        with ScimClient(okta.endpoint, "not-a-token") as stranger:
            assert stranger.probe() == 401
    db = Database.from_url(server.env["GATEHOUSE_DATABASE_URL"])
    try:
        with db.transaction() as connection:
            old = {"token_name": "Okta", "method": "GET", "path": "/scim/v2/Schemas", "resource": "discovery"}
            write(connection, [{**old, "at": utcnow() - timedelta(days=2), "status": 500}])
            flood = {"token_name": "browser-tests", "method": "GET", "path": "/scim/v2/Users", "resource": "Users"}
            write(connection, [{**flood, "at": utcnow() - timedelta(minutes=30), "status": 200, "repeats": 1480}])
    finally:
        db.dispose()


def shown(page: Page) -> list[str]:
    """The rows listed: "status method path" each (the bodies below a failed row are not rows of their own)."""
    rows = page.locator("table.activity tbody tr:not(.bodies)")
    found: list[str] = []
    for index in range(rows.count()):
        row = rows.nth(index)
        found.append(f"{row.locator('td').nth(3).inner_text()} {row.locator('code.request').inner_text()}")
    return found


def show(page: Page, **choices: str) -> list[str]:
    """Choose in the filter form as a person does, submit, and read the rows."""
    for name in ("status", "resource", "token", "method", "period"):
        page.locator(f"select#activity-{name}").select_option(choices.get(name, ""))
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    for name, value in choices.items():
        expect(page).to_have_url(re.compile(f"[?&]{name}={re.escape(value)}(&|$)"))
    return shown(page)


def check_page(page: Page, watch: Watch) -> None:
    for width, height in ((1280, 800), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        problems = overflow(page) + axe_violations(page) + watch.take()
        assert not problems, f"{page.url} at {width} px: {problems}"


def test_filters_bodies_and_the_count_of_failures(activity_server: LiveServer, new_context: ContextFactory) -> None:
    server = activity_server
    provision(server)
    page = new_context(server, bypass_csp=True).new_page()  # bypass: to inject axe only
    watch = Watch()
    watch.attach(page)
    sign_in(page, "admin", ADMIN_PASSWORD)
    page.goto(ACTIVITY_URL)
    expect(page.get_by_role("heading", name="Provisioning activity")).to_be_visible()
    everything = shown(page)
    assert len(everything) == 11 and everything[-1] == "500 GET /scim/v2/Schemas", everything
    assert everything[-2] == "200 GET /scim/v2/Users"
    counted = page.locator("table.activity tbody tr").filter(has_text="× 1,480 reads")
    expect(counted).to_have_count(1)
    expect(page.locator("#chart-caption")).to_contain_text("Last 24 hours: 1489 requests, 5 failed")  # 9 + 1,480
    check_page(page, watch)
    for width, height in ((1280, 800), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"provisioning-activity-{width}", docs=False)

    assert show(page, resource="Groups") == ["200 GET /scim/v2/Groups"]
    assert show(page, resource="discovery") == ["200 GET /scim/v2/ServiceProviderConfig", "500 GET /scim/v2/Schemas"]
    assert show(page, status="4xx") == [
        "401 GET /scim/v2/Users?count=1", "404 PUT /scim/v2/Users/nope", "404 GET /scim/v2/Users/nope",
        f"400 PATCH {_patched(everything)}", "409 POST /scim/v2/Users",
    ]  # fmt: skip
    assert show(page, status="5xx") == ["500 GET /scim/v2/Schemas"]
    assert show(page, status="5xx", period="1h") == []
    expect(page.get_by_text("No request matches these filters.")).to_be_visible()
    assert show(page, token="Entra") == ["404 PUT /scim/v2/Users/nope", "200 GET /scim/v2/Users?count=1"]
    assert show(page, token="Entra", method="PUT") == ["404 PUT /scim/v2/Users/nope"]
    assert len(show(page, period="1h")) == 10 and len(show(page, period="7d")) == 11
    assert show(page, status="failed", token="browser-tests", method="PATCH", resource="Users", period="24h") == [
        f"400 PATCH {_patched(everything)}"
    ]

    # The failed PATCH opens to its bodies: the password redacted, the IdP's User-Agent and the SCIM error.
    details = page.locator("tr.bodies details")
    expect(details).to_have_count(1)
    details.get_by_text("Request and response of this 400").click()
    request = details.get_by_label("Request body")
    expect(request).to_be_visible()
    expect(request).to_contain_text('"value": "[redacted]"')
    expect(request).to_contain_text('"op": "explode"')
    expect(details.get_by_label("Response body")).to_contain_text('"status": "400"')
    expect(details).to_contain_text(AGENT)
    assert SECRET not in page.content()
    check_page(page, watch)
    screenshot(page, "provisioning-activity-failed", docs=False)

    # Settings → SCIM Provisioning: the failures of the last hour, linked to exactly them.
    page.goto(SETTINGS_URL)
    count = page.locator("#scim-failures").get_by_role("link")
    expect(count).to_have_text("5 failed requests (4xx/5xx) in the last hour")
    check_page(page, watch)
    count.click()
    expect(page).to_have_url(re.compile(r"status=failed&period=1h"))
    expect(page.get_by_label("Status")).to_have_value("failed")
    expect(page.get_by_label("Time")).to_have_value("1h")
    listed = shown(page)
    assert len(listed) == 5 and all(row[0] == "4" for row in listed)


def _patched(rows: list[Any]) -> str:
    """The PATCH's path, with the user's id the server gave."""
    [row] = [row for row in rows if " PATCH " in row]
    return str(row.split(" ", 2)[2])
