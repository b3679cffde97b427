"""Markup from the identity provider is text: a user and a group whose every string attribute carries
``<script>``, ``"><img src=x onerror=…>`` and ``javascript:`` forms are provisioned through SCIM, and every
page that shows them is opened in Chromium. No script runs (any dialog fails the test), no element comes
from the payloads, no link points at ``javascript:``, and the text is shown as typed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page

from support.browser import ScimClient

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert('s')</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
LINK = "javascript:alert(2)"
SVG = "<svg/onload=alert(3)>"


def hostile(tag: str) -> str:
    """A string carrying every form, told apart by ``tag`` so each field can be found on the page."""
    return f"{tag} {SCRIPT} {IMAGE} {SVG} {LINK}"


def hostile_user() -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"mallory{IMAGE}@example.com",
        "externalId": hostile("ext"),
        "name": {"givenName": hostile("given"), "familyName": hostile("family"), "formatted": hostile("formatted")},
        "displayName": hostile("display"),
        "nickName": hostile("nick"),
        "title": hostile("title"),
        "profileUrl": LINK,
        "emails": [{"value": f"mallory+{SCRIPT}@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": hostile("phone"), "type": "work"}],
        "addresses": [{"streetAddress": hostile("street"), "locality": hostile("city"), "type": "work"}],
        "active": True,
    }


@pytest.fixture(scope="module")
def provisioned(scim_client: ScimClient) -> dict[str, str]:
    user = scim_client.create(hostile_user())
    group = scim_client.http.post(
        f"{scim_client.endpoint}/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": hostile("group"),
            "externalId": hostile("gext"),
            "members": [{"value": user["id"], "display": hostile("member")}],
        },
    )
    assert group.status_code == 201, group.text
    return {"user": user["id"], "group": group.json()["id"]}


def visit(page: Page, path: str, dialogs: list[str]) -> str:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert not dialogs, f"a script ran on {path}: {dialogs}"
    injected = page.locator("img[src='x'], svg[onload], script:not([src])")
    assert injected.count() == 0, f"markup from the IdP became elements on {path}"
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(link => link.getAttribute('href'))")
    assert not [href for href in hrefs if re.match(r"\s*javascript:", href, re.IGNORECASE)], path
    return page.inner_text("main") if page.locator("main").count() else page.inner_text("body")


def test_no_page_runs_what_the_identity_provider_sent(provisioned: dict[str, str], admin_page: Page) -> None:
    page = admin_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    user, group = provisioned["user"], provisioned["group"]
    shown = {
        "users": visit(page, "/organization/users?q=mallory", dialogs),
        "user": visit(page, f"/organization/users/{user}", dialogs),
        "groups": visit(page, "/organization/groups", dialogs),
        "group": visit(page, f"/organization/groups/{group}", dialogs),
        "audit": visit(page, "/organization/audit-logs", dialogs),
        "settings": visit(page, "/organization/settings", dialogs),
        "simulator": visit(page, f"/organization/permission-policies/simulator?user={user}", dialogs),
        "tokens": visit(page, f"/organization/tokens?user={user}", dialogs),
    }
    assert f"mallory{IMAGE}@example.com" in shown["users"]
    assert hostile("display") in shown["user"] or hostile("given") in shown["user"]
    assert SCRIPT in shown["user"] and LINK in shown["user"]
    assert hostile("group") in shown["groups"] and hostile("group") in shown["group"]
    assert "mallory" in shown["group"]
