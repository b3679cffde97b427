"""Browser tests: Playwright (Python) driving Debian's chromium against real ``gatehouse serve`` processes.

Never downloads a browser: the executable is ``$GATEHOUSE_CHROMIUM`` or ``/usr/bin/chromium``. When it is
missing the tests fail in CI (``CI`` set) and are skipped elsewhere. Playwright's ``launch`` gives the
browser a fresh temporary user-data dir, removed when it closes. Tests talk only to 127.0.0.1.

Screenshots go to ``test-artifacts/screenshots/`` on every run, and also to ``docs/screenshots/`` when
``GATEHOUSE_UPDATE_SCREENSHOTS=1``. A failing test leaves a screenshot and the HTML of each open page
in ``test-artifacts/failures/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from support.browser import (
    ADMIN_PASSWORD,
    ARTIFACTS,
    ContextFactory,
    LiveServer,
    ScimClient,
    live_server,
    sign_in,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 820}
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """Remember each phase's report on the item, so fixtures can tell that their test failed."""
    report = yield
    setattr(item, f"report_{call.when}", report)
    return report


@pytest.fixture(scope="session", autouse=True)
def chromium_executable() -> str:
    """Debian's chromium; checked before any server starts."""
    path = os.environ.get("GATEHOUSE_CHROMIUM") or "/usr/bin/chromium"
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        message = f"chromium not found at {path} (install Debian's chromium, or set GATEHOUSE_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="package")
def playwright(chromium_executable: str) -> Iterator[Playwright]:
    """Playwright's driver runs an event loop in this thread while it lives: it is torn down when the
    browser tests are done, so that later tests can run their own loops."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium_executable: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def new_context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[ContextFactory]:
    """Open browser contexts (separate cookie jars) on a server; closed after the test.

    ``window.confirm`` prompts are accepted, as a user clicking OK would. On failure, every open page
    is saved (PNG and HTML) under ``test-artifacts/failures/``."""
    opened: list[BrowserContext] = []

    def make(server: LiveServer, *, javascript: bool = True, **options: object) -> BrowserContext:
        context = browser.new_context(
            base_url=server.base,
            viewport=options.pop("viewport", VIEWPORT),  # type: ignore[arg-type]
            locale="en-US",
            timezone_id="UTC",
            java_script_enabled=javascript,
            **options,  # type: ignore[arg-type]
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: page.on("dialog", lambda dialog: dialog.accept()))
        opened.append(context)
        return context

    yield make
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        _save_failure(request.node.name, opened)
    for context in opened:
        context.close()


def _save_failure(test_name: str, contexts: list[BrowserContext]) -> None:
    directory = ARTIFACTS / "failures"
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    for c, context in enumerate(contexts):
        for p, page in enumerate(context.pages):
            name = f"{stem}-{c}-{p}"
            try:
                page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
                (directory / f"{name}.html").write_text(f"<!-- {page.url} -->\n{page.content()}")
            except Exception:  # best effort: the test has failed already
                continue


# -- the shared server: admin with a configured password (no forced change) ------------------------


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One ``gatehouse serve`` for the tests that do not need a first run, on a fresh SQLite database;
    ``admin`` has :data:`ADMIN_PASSWORD`."""
    with live_server(tmp_path_factory.mktemp("shared-server"), admin_password=ADMIN_PASSWORD) as running:
        yield running


@pytest.fixture(scope="session")
def scim_client(server: LiveServer) -> Iterator[ScimClient]:
    """A SCIM client of the shared server (provisioning enabled and a token made with the CLI)."""
    with ScimClient.from_cli(server) as client:
        yield client


@pytest.fixture
def admin_page(server: LiveServer, new_context: ContextFactory) -> Page:
    """A page signed in as ``admin`` on the shared server."""
    page = new_context(server).new_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    return page
