"""What the browser tests share: live servers, a SCIM client over HTTP, signing in, screenshots."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from support import servers
from support.scim import USER, okta_user, patch
from support.servers import cli, cli_env, running_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"

ADMIN_PASSWORD = "browser admin passphrase"
USERS_URL = "/organization/users"
SETTINGS_URL = "/organization/settings/scim"
"""Organization → Settings → SCIM Provisioning, where Organization → Settings (``/organization/settings``) leads."""
ACTIVITY_URL = "/organization/settings/scim/activity"
"""Organization → Settings → Provisioning activity."""
LOGIN_OPTIONS_URL = "/organization/settings/login-options"
"""Organization → Settings → Login Options."""
DEACTIVATED = "This account is deactivated. Ask an administrator to reactivate it."
_ONE_TIME = re.compile(r"one-time password: (\S+)")

ContextFactory = Callable[..., BrowserContext]
"""``new_context(server, javascript=True, **options)``: a fresh browser context on a server."""


@dataclass
class LiveServer:
    """A running ``gatehouse serve``: its base URL (also its public URL), environment and output log."""

    base: str
    env: dict[str, str]
    log: Path

    def generated_password(self) -> str:
        """The one-time Super Admin password printed on standard output at first run."""
        match = _ONE_TIME.search(self.log.read_text())
        assert match, f"no one-time password in the server output:\n{self.log.read_text()}"
        return match.group(1)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run a ``gatehouse`` command on this server's database; its standard output."""
        done = cli(self.env, *args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout


@contextmanager
def live_server(
    directory: Path, admin_password: str | None = None, settings: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """``gatehouse serve`` on a free port and a fresh SQLite database in ``directory`` (``settings``: more
    ``GATEHOUSE_*`` variables, for the server and the CLI alike).

    The public URL is the server's own address, so the SCIM Endpoint URL the dashboard shows is the
    one a client can use. ``running_server`` picks its port itself: the chosen one is handed to it."""
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(f"sqlite:///{directory / 'gatehouse.db'}", public_url=base)
    for name in ("GATEHOUSE_ADMIN_PASSWORD", "GATEHOUSE_TRUSTED_PROXIES"):
        env.pop(name, None)
    if admin_password:
        env["GATEHOUSE_ADMIN_PASSWORD"] = admin_password
    env.update(settings or {})
    log = directory / "serve.log"
    with ExitStack() as stack:
        with mock.patch.object(servers, "free_port", return_value=port):
            url = stack.enter_context(running_server(env, output=log))
        assert url == base
        yield LiveServer(base, env, log)


@dataclass
class ScimClient:
    """An IdP's view: the SCIM Endpoint URL and a bearer token, over httpx."""

    endpoint: str
    token: str
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        assert self.endpoint.startswith("http://127.0.0.1:"), self.endpoint
        self.http = httpx.Client(
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}, timeout=10
        )

    @classmethod
    def from_cli(cls, server: LiveServer) -> ScimClient:
        issued = json.loads(server.cli("scim", "enable", "--json", "--name", "browser-tests"))
        assert issued["endpoint"] == f"{server.base}/scim/v2"
        return cls(issued["endpoint"], issued["token"])

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"{self.endpoint}/Users", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def patch(self, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
        response = self.http.patch(f"{self.endpoint}/Users/{user_id}", json=patch(*operations))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def put(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.put(f"{self.endpoint}/Users/{user_id}", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def deactivate(self, user_id: str) -> dict[str, Any]:
        """Okta's deactivation: PATCH replace active=false."""
        return self.patch(user_id, {"op": "replace", "value": {"active": False}})

    def probe(self) -> int:
        """The status of a plain list request, as an IdP's "Test API Credentials" sends."""
        return self.http.get(f"{self.endpoint}/Users", params={"count": "1"}).status_code

    def find(self, user_name: str) -> dict[str, Any] | None:
        response = self.http.get(f"{self.endpoint}/Users", params={"filter": f'userName eq "{user_name}"'})
        assert response.status_code == 200, response.text
        resources = response.json().get("Resources", [])
        return dict(resources[0]) if resources else None


def okta_person(user_name: str, given: str, family: str, external_id: str, **extra: Any) -> dict[str, Any]:
    """Okta's create body for a named person."""
    body = okta_user(user_name, external_id)
    body["name"] = {"givenName": given, "familyName": family}
    body["displayName"] = f"{given} {family}"
    body.pop("password")
    body.update(extra)
    assert body["schemas"] == [USER]
    return body


# -- pages --------------------------------------------------------------------------------------------


def sign_in(page: Page, username: str, password: str, *, expect_path: str | None = USERS_URL) -> None:
    """Fill and submit the sign-in form; by default wait for the Users page."""
    page.goto("/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    if expect_path:
        page.wait_for_url(f"**{expect_path}")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def change_password(page: Page, current: str, new: str) -> None:
    """Complete the Change password form and wait for the sign-in page it sends you back to."""
    page.get_by_label("Current password").fill(current)
    page.get_by_label(re.compile(r"^New password \(")).fill(new)
    page.get_by_label("New password, again").fill(new)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/login")
    expect(page.get_by_role("status")).to_contain_text("Password changed")


def enable_login_option(page: Page, name: str) -> None:
    """On a login option's own page: tick Enabled and save. A new option starts disabled, and saving enables it
    only when its provider check passes: wait for the page to say it did."""
    page.get_by_label("Enabled (shown on the sign-in page)").check()
    page.get_by_role("button", name="Save login option").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Login option {name} saved and enabled: its provider check passed."
    )
    expect(page.locator(".page-head .badges")).to_contain_text("Enabled")


def tamper_csrf(page: Page, form: str = "form") -> None:
    """Overwrite the hidden csrf_token of the matching forms in the DOM, as a forged form would carry."""
    page.locator(f"{form} input[name=csrf_token]").evaluate_all(
        "inputs => inputs.forEach(input => { input.value = 'forged-' + input.value.slice(7); })"
    )


def screenshot(page: Page, name: str, *, full_page: bool = True, docs: bool = True) -> Path:
    """Save ``name``.png under test-artifacts/screenshots/, and (``docs``) under docs/screenshots/ when
    ``GATEHOUSE_UPDATE_SCREENSHOTS=1``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    if docs and os.environ.get("GATEHOUSE_UPDATE_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_SCREENSHOTS / path.name)
    return path
