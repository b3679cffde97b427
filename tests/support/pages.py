"""What the "every page" browser test checks on a page, and the axe-core it injects: no horizontal overflow of
the page or of a table, no console error, no failed request, no serious or critical accessibility violation.

axe-core comes from npm (``tests/.node``: ``npm ci`` there; ``.ci/run`` does it when it is missing). Without it
the checks fail in CI (``CI`` set) and skip elsewhere, as chromium's absence does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / ".node" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
VIEWPORTS = {"1280": {"width": 1280, "height": 800}, "1024": {"width": 1024, "height": 768}}
"""The widths every page is looked at in (the dashboard's two layouts' edges)."""


def axe_script() -> Path:
    """The local axe-core; fails in CI and skips elsewhere when it is not installed."""
    if not AXE.is_file():
        message = f"axe-core is not installed at {AXE} (run: cd tests/.node && npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE


@dataclass
class Watch:
    """Console errors and failed requests of a page, collected while it is open."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Request) -> None:
        if request.failure == "net::ERR_ABORTED":
            return  # the browser cancelled it: the page navigated away before it ended (a favicon, often)
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    def take(self) -> list[str]:
        found, self.problems = self.problems, []
        return found


_OVERFLOW = """() => {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) out.push(`page: ${root.scrollWidth}px wide in ${root.clientWidth}px`);
  document.querySelectorAll("table").forEach((table, i) => {
    const box = table.getBoundingClientRect();
    const parent = table.parentElement.getBoundingClientRect();
    const room = parent.right - parseFloat(getComputedStyle(table.parentElement).paddingRight);  // its content box
    if (table.offsetParent !== null && (box.right > room + 1 || box.right > root.clientWidth + 1)) {
      const name = table.className || table.getAttribute("aria-label") || "";
      out.push(`table ${i} (${name}): ${Math.round(box.right - parent.left)}px in ${Math.round(room - parent.left)}px`);
    }
  });
  document.querySelectorAll("h1, h2, h3, p, dd, li").forEach((block) => {
    if (block.offsetParent !== null && block.scrollWidth > block.clientWidth + 1) {
      const text = block.textContent.trim().slice(0, 40);
      out.push(`${block.tagName.toLowerCase()} "${text}": ${block.scrollWidth}px of text in ${block.clientWidth}px`);
    }
  });
  document.querySelectorAll(".table-wrap").forEach((wrap, i) => {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      out.push(`table-wrap ${i} scrolls: ${wrap.scrollWidth}px in ${wrap.clientWidth}px`);
    }
  });
  return out;
}"""


def overflow(page: Page) -> list[str]:
    """What is wider than its room: the page, a table (past its parent's padding edge), a heading or paragraph
    whose text runs out of its box (a long username without a break), a scrolling table wrapper."""
    found: list[str] = page.evaluate(_OVERFLOW)
    return found


def axe_violations(page: Page) -> list[str]:
    """The serious and critical violations axe-core finds on the page, one line each."""
    page.add_script_tag(path=str(axe_script()))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for violation in result["violations"]:
        if violation.get("impact") in SERIOUS:
            targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
            lines.append(f"{violation['impact']} {violation['id']}: {violation['help']} at {targets}")
    return lines
