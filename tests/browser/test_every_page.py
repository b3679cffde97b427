"""Every dashboard page, with data (50 users provisioned by SCIM, groups, roles, policies, tokens, audit
records, a login option), at 1280×800 and 1024×768 in Debian's chromium: no horizontal overflow of the page or
of any table, no console error, no failed request, and no serious or critical accessibility violation found
by axe-core (npm, injected from tests/.node). Pages the sidebar links to are visited too, so a page added to
the menu is checked without being listed here. Every page is checked twice: with names as people give them, and
with names of about a hundred characters without a space (users, groups, roles, policies, tokens, a login
option), which must wrap. The guides' screenshots of these pages are taken here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from support.browser import ADMIN_PASSWORD, ContextFactory, LiveServer, ScimClient, live_server, screenshot, sign_in
from support.pages import VIEWPORTS, Watch, axe_script, axe_violations, overflow
from support.scim import GROUP

pytestmark = pytest.mark.browser

DOCUMENT = {"statement": [{"effect": "allow", "actions": ["iam:Get<.*>"], "resources": ["*"]}]}
SCREENSHOTS = {  # page → the guides' picture (at 1280 px)
    "/organization/users": "users",
    "/organization/settings/scim": "settings-scim",
    "/organization/settings/scim/activity": "provisioning-activity",
    "/organization/settings/login-options": "login-options",
    "/organization/audit-logs": "audit-log",
}


@dataclass(frozen=True)
class Names:
    """What the world's records are called: names as people give them, or names as long as Gatehouse takes without
    a space to break at (a group an IdP derives from a directory path, a generated token name), which every page
    must wrap rather than run out of its card or table."""

    stretch: int
    """Characters added to each name without a break."""

    def of(self, name: str, letter: str) -> str:
        """``name``, stretched with ``letter``."""
        return name + letter * self.stretch

    @property
    def domain(self) -> str:
        return "example.com" if not self.stretch else "an-unusually-long-subdomain-of-the-company.example.com"


NAMES = {"usual": Names(0), "long": Names(84)}  # the longest reaches 99 characters (token and policy names: 100)


def person(number: int, names: Names) -> dict[str, Any]:
    """An Okta-like user: the username is the e-mail (the Users list shows it once)."""
    given = names.of(f"Person{number:02d}", "x")[:48]
    family = names.of(f"Longfamilyname{number:02d}", "y")[:48]
    email = f"{given.lower()}.{family.lower()}@{names.domain}"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "externalId": f"00u{number:06d}",
        "name": {"givenName": given, "familyName": family},
        "displayName": f"{given} {family}",
        "emails": [{"value": email, "type": "work", "primary": True}],
        "active": number % 7 != 0,
    }


@pytest.fixture(scope="module", params=list(NAMES))
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server with data on every page, named as :data:`NAMES` says, and the ids the pages need."""
    names: Names = NAMES[request.param]
    with live_server(tmp_path_factory.mktemp("every-page"), admin_password=ADMIN_PASSWORD) as server:
        ids: dict[str, Any] = {"server": server, "names": request.param}
        with ScimClient.from_cli(server) as scim:
            users = [scim.create(person(n, names))["id"] for n in range(1, 51)]
            groups = (names.of("Platform engineers", "e"), names.of("SRE on call", "o"), names.of("Finance", "f"))
            for index, name in enumerate(groups):
                members = [{"value": user} for user in users[index * 10 : index * 10 + 10]]
                body = {"schemas": [GROUP], "displayName": name, "members": members}
                response = scim.http.post(f"{scim.endpoint}/Groups", json=body)
                assert response.status_code == 201, response.text
                ids.setdefault("group", response.json()["id"])
            scim.deactivate(users[1])
            assert scim.probe() == 200
        ids["user"] = users[0]
        with httpx.Client(base_url=server.base, timeout=10) as api:
            signed_in = api.post("/api/auth/sign-in", json={"username": "admin", "password": ADMIN_PASSWORD})
            assert signed_in.status_code == 200, signed_in.text
            api.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
            policy = api.post(
                "/api/permission-policies", json={"name": names.of("Read everything", "e"), "document": DOCUMENT}
            )
            assert policy.status_code == 201, policy.text
            ids["policy"] = policy.json()["id"]
            role = api.post("/api/roles", json={"name": names.of("SRE", "r"), "policy_ids": [ids["policy"]]})
            assert role.status_code == 201, role.text
            ids["role"] = role.json()["id"]
            for name in (names.of("CI deploy", "d"), names.of("Terraform", "t")):
                assert api.post("/api/tokens", json={"name": name, "expires_in_days": 30}).status_code == 201
            option = api.post(
                "/api/login_options",
                json={"name": names.of("Okta", "k"), "issuer": "https://example.okta.com", "client_id": "0oa1",
                      "client_secret": "a client secret", "enabled": False},
            )  # fmt: skip
            assert option.status_code == 201, option.text
            ids["option"] = option.json()["id"]
            local = api.post(
                "/api/users", json={"user_name": names.of("dana.local", "l"), "email": f"dana@{names.domain}"}
            )
            assert local.status_code == 201, local.text
            ids["local_user"] = local.json()["id"]
            scim_settings = api.get("/api/scim")
            assert scim_settings.status_code == 200, scim_settings.text
            ids["scim_token"] = scim_settings.json()["tokens"][0]["id"]
        yield ids


def pages_of(ids: dict[str, Any]) -> list[str]:
    return [
        "/organization/users",
        "/organization/users?status=active&sort=created&order=desc",
        f"/organization/users/{ids['user']}",
        "/organization/users/new",
        f"/organization/users/{ids['user']}/deactivate",
        f"/organization/users/{ids['local_user']}/delete",
        f"/organization/users/{ids['local_user']}/hand-over",
        "/organization/groups",
        f"/organization/groups/{ids['group']}",
        "/organization/roles",
        "/organization/roles/new",
        f"/organization/roles/{ids['role']}",
        f"/organization/roles/{ids['role']}/edit",
        "/organization/permission-policies",
        "/organization/permission-policies/new",
        f"/organization/permission-policies/{ids['policy']}",
        f"/organization/permission-policies/simulator?user={ids['user']}&action=iam:GetRole",
        "/organization/tokens",
        "/organization/audit-logs",
        "/organization/gateway-access",
        "/organization/gateway-access/new",
        "/organization/settings/scim",
        "/organization/settings/scim/activity",
        f"/organization/settings/tokens/{ids['scim_token']}/revoke",
        f"/organization/settings/tokens/{ids['scim_token']}/regenerate",
        "/organization/settings/login-options",
        "/organization/settings/login-options/new",
        "/organization/settings/login-options/new?kind=ldap",
        "/organization/settings/login-options/new?kind=saml",
        f"/organization/settings/login-options/{ids['option']}",
        f"/organization/settings/login-options/{ids['option']}/dry-run",
        "/account/password",
    ]


def check(page: Page, watch: Watch, path: str) -> list[str]:
    response = page.goto(path)
    assert response is not None
    problems = [] if response.status < 400 else [f"answered {response.status}"]
    page.wait_for_load_state("networkidle")
    problems += overflow(page) + axe_violations(page) + watch.take()
    return [f"{path}: {problem}" for problem in problems]


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_page_fits_and_passes_axe(world: dict[str, Any], new_context: ContextFactory, width: str) -> None:
    axe_script()
    server: LiveServer = world["server"]
    context = new_context(server, viewport=VIEWPORTS[width], bypass_csp=True)  # bypass: to inject axe only
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.goto("/login")
    problems = [f"/login: {p}" for p in overflow(page) + axe_violations(page) + watch.take()]
    sign_in(page, "admin", ADMIN_PASSWORD)
    listed = pages_of(world)
    menu = page.locator("nav.sidenav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    listed += [href for href in menu if href not in listed and href.startswith("/")]
    for path in listed:
        problems += check(page, watch, path)
        if width == "1280" and path in SCREENSHOTS and world["names"] == "usual":
            screenshot(page, SCREENSHOTS[path])
    assert not problems, "\n" + "\n".join(problems)
    assert len(listed) >= len(pages_of(world))


@pytest.mark.parametrize("world", ["usual"], indirect=True)
def test_the_users_list_fits_with_every_column_visible(world: dict[str, Any], new_context: ContextFactory) -> None:
    """At 1024 px: Status and Roles are on screen, rows stay one or two lines, an Okta username that is the
    e-mail is shown once, truncated text has its full value on hover and focus; the page size and every
    sortable column work."""
    server: LiveServer = world["server"]
    page = new_context(server, viewport=VIEWPORTS["1024"]).new_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    page.goto("/organization/users?per_page=25")
    table = page.locator("table.users")
    for header in ("Status", "Roles"):
        box = table.get_by_role("columnheader", name=re.compile(header)).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1024, header
    heights = page.locator("table.users tbody tr").evaluate_all("rows => rows.map(r => r.offsetHeight)")
    assert len(heights) == 25 and max(heights) <= 64, heights
    okta_rows = page.locator("table.users tbody tr", has=page.locator(".same-as-email"))
    assert okta_rows.count() >= 20  # username = e-mail: shown once
    assert okta_rows.first.locator(".email").count() == 0
    truncated = page.locator("table.users .truncate").first
    assert truncated.get_attribute("title")
    for column in ("Username", "Name", "Source", "Status", "Created"):
        page.locator("table.users thead").get_by_role("link", name=re.compile(column)).first.click()
        page.wait_for_load_state()
        assert "sort=" in page.url or "order=" in page.url, column
        assert page.locator("table.users th[aria-sort]").count() == 1, column
    assert page.locator("#per-page").count() == 1


@pytest.mark.parametrize("world", ["usual"], indirect=True)
@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_error_pages_and_lists_opened_with_a_bad_page_number(
    world: dict[str, Any], new_context: ContextFactory, width: str
) -> None:
    """An address with no page: the 404 page with the menu, fitting and axe-clean; a list opened at page "²"
    (digits to str.isdigit, not to int) is its first page, never the 500 page."""
    axe_script()
    server: LiveServer = world["server"]
    page = new_context(server, viewport=VIEWPORTS[width], bypass_csp=True).new_page()
    watch = Watch()
    watch.attach(page)
    sign_in(page, "admin", ADMIN_PASSWORD)
    missing = page.goto("/organization/no-such-page")
    assert missing is not None and missing.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.locator("nav.sidenav").is_visible()  # the way back
    logged = [p for p in watch.take() if "status of 404" not in p]  # Chromium logs the document's own 404
    problems = overflow(page) + axe_violations(page) + logged
    screenshot(page, f"error-404-{width}", docs=False)
    for path in (
        "/organization/users?page=²",
        "/organization/groups?page=²",
        "/organization/settings/scim/activity?page=²",
    ):
        listed = page.goto(path)
        assert listed is not None and listed.status == 200, path
        assert "Something went wrong" not in page.content(), path
        problems += [f"{path}: {p}" for p in overflow(page) + watch.take()]
    screenshot(page, f"activity-bad-page-number-{width}", docs=False)
    assert not problems, "\n" + "\n".join(problems)
