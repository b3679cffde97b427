"""The guides (``docs/``, ``mkdocs.yml``) build as ``make docs`` builds them: ``mkdocs build --strict``, so a broken
link, a link to a missing heading, a missing picture or a page left out of the nav fails the build (and this test).

The built site works offline: every page of the nav is produced, and no page loads a stylesheet, script, font,
picture or frame from another host (Material's theme with ``font: false``, its offline plugin, the iframe-worker
shim vendored under ``docs/assets/``). Material's bundle still *names* two CDN addresses, which it fetches only
for a browser without ``ResizeObserver`` or a page with a Mermaid diagram: neither happens here.

And the guides stay true to the code: every setting of :class:`gatehouse.config.Settings` is in the configuration
reference, every ``gatehouse`` command in the CLI reference, every policy shown in the RBAC guide is valid, the
gateway guide shows the nginx, Caddy and Traefik configurations (``test_forward_auth_proxies.py`` reads and runs
them from there, so what is shown is what is tested), and every dashboard picture the guides use is one a browser
test takes (``make screenshots`` retakes them all).

The README stays short: what Gatehouse is, the two commands, and links to the guides, where everything else lives.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatehouse.config import Settings
from gatehouse.iam.policy import parse_policy
from gatehouse.secrets_box import KEY_ENV
from support.cli import command_lines
from support.pg import in_ci

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mkdocs.yml"
DOCS = ROOT / "docs"
BROWSER_TESTS = ROOT / "tests" / "browser"

# A tag that makes the browser fetch something, and the attributes that say from where (links, <a>, are not loads).
LOADING_TAG = re.compile(r"<(?:link|script|img|iframe|source|video|audio|embed|object)\b[^>]*>", re.IGNORECASE)
LOADING_ATTRIBUTE = re.compile(r"""\b(?:href|src|srcset|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", re.IGNORECASE)
CSS_REMOTE = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"')\s]+)""", re.IGNORECASE)
PICTURE = re.compile(r"\]\((?:\.\./)*screenshots/([\w-]+)\.png\)")


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``, with this interpreter (the venv's mkdocs)."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's banner about its future, not a warning of ours
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module", autouse=True)
def mkdocs_installed() -> None:
    """MkDocs and Material come with the dev extras; without them the build tests fail in CI, skip elsewhere."""
    missing = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: pip install -e '.[dev]'"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = build(CONFIG, out)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def nav_pages(entries: Any) -> Iterator[str]:
    """The Markdown files the nav of ``mkdocs.yml`` lists, at any depth."""
    if isinstance(entries, str):
        if entries.endswith(".md"):
            yield entries
    elif isinstance(entries, list):
        for entry in entries:
            yield from nav_pages(entry)
    elif isinstance(entries, dict):
        for value in entries.values():
            yield from nav_pages(value)


def built_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# -- the build ---------------------------------------------------------------------------------------------------


def test_every_page_of_the_nav_is_built(site: Path) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    pages = list(nav_pages(config["nav"]))
    assert len(pages) >= 15, pages
    for page in pages:
        assert (DOCS / page).is_file(), f"the nav lists {page}, which is not in docs/"
        built = site / Path(page).with_suffix(".html")  # use_directory_urls: false, so the site opens from disk
        assert built.is_file(), f"{page} was not built into {built.relative_to(site)}"
    assert (site / "search" / "search_index.js").is_file(), "the offline plugin's search index is missing"


def test_nothing_is_loaded_from_another_host(site: Path) -> None:
    remote = []
    for page in built_pages(site):
        text = page.read_text(encoding="utf-8")
        for tag in LOADING_TAG.findall(text):
            remote += [f"{page.relative_to(site)}: {url} in {tag[:120]}" for url in LOADING_ATTRIBUTE.findall(tag)]
        for host in ("fonts.googleapis.com", "fonts.gstatic.com", "unpkg.com", "cdn.jsdelivr.net", "cdnjs"):
            if host in text:
                remote.append(f"{page.relative_to(site)} names {host}")
    for sheet in sorted(site.rglob("*.css")):
        remote += [f"{sheet.relative_to(site)}: {url}" for url in CSS_REMOTE.findall(sheet.read_text(encoding="utf-8"))]
    assert not remote, "the site must work offline:\n" + "\n".join(remote)


def test_every_picture_resolves(site: Path) -> None:
    seen = 0
    for page in built_pages(site):
        for source in re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", page.read_text(encoding="utf-8")):
            seen += 1
            assert (page.parent / source).resolve().is_file(), f"{page.relative_to(site)}: {source} is missing"
    assert seen >= 20, "the guides show the dashboard's pictures"


def test_a_broken_link_a_missing_picture_or_a_page_left_out_fails_the_build(tmp_path: Path) -> None:
    shutil.copy(CONFIG, tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    index = tmp_path / "docs" / "index.md"
    index.write_text(
        index.read_text()
        + "\n[gone](no-such-page.md)\n\n![gone](screenshots/no-such-picture.png)\n\n"
        + "[no heading](getting-started.md#no-such-heading)\n"
    )
    (tmp_path / "docs" / "orphan-page.md").write_text("# Not in the nav\n")
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for culprit in ("no-such-page.md", "no-such-picture.png", "no-such-heading", "orphan-page.md"):
        assert culprit in output, f"the strict build did not report {culprit}:\n{output}"


# -- the guides stay true to the code ----------------------------------------------------------------------------


def test_the_configuration_reference_names_every_setting() -> None:
    reference = (DOCS / "reference" / "configuration.md").read_text()
    names = [f"GATEHOUSE_{name.upper()}" for name in Settings.model_fields] + [KEY_ENV, "GATEHOUSE_API_TOKEN"]
    missing = [name for name in names if f"`{name}`" not in reference]
    assert not missing, f"docs/reference/configuration.md does not describe {missing}"


def test_the_cli_reference_names_every_command() -> None:
    reference = (DOCS / "reference" / "cli.md").read_text()
    commands = command_lines()
    assert "gatehouse config apply" in commands
    missing = [command for command in commands if f"`{command}" not in reference]
    assert not missing, f"docs/reference/cli.md does not describe {missing}"


def test_the_policies_shown_are_valid() -> None:
    guide = (DOCS / "guides" / "rbac.md").read_text()
    documents = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", guide, re.DOTALL)]
    policies = [document for document in documents if "statement" in document]
    assert len(policies) >= 5
    for policy in policies:
        parse_policy(policy)  # raises on an invalid document


def proxy_snippet(text: str, name: str) -> str | None:
    found = re.search(rf"<!-- forward-auth:{name} -->\n```\w+\n(.*?)\n```", text, re.DOTALL)
    return found.group(1) if found else None


@pytest.mark.parametrize("proxy", ["nginx", "caddy", "traefik"])
def test_the_gateway_guide_shows_the_tested_proxy_configurations(proxy: str) -> None:
    """``test_forward_auth_proxies.py`` runs the snippet this block holds: the guide must keep it, where it reads it."""
    shown = proxy_snippet((DOCS / "guides" / "gateway.md").read_text(), proxy)
    assert shown, f"docs/guides/gateway.md has no forward-auth:{proxy} snippet, which the proxy tests run"
    assert "127.0.0.1:8080" in shown and "127.0.0.1:9180" in shown  # the addresses the tests replace


def test_the_readme_is_short_and_points_to_the_guides() -> None:
    readme = (ROOT / "README.md").read_text()
    lines = readme.splitlines()
    assert len(lines) <= 80, f"README.md has {len(lines)} lines: keep it to what Gatehouse is, the two commands, links"
    assert "make run" in readme and "make test" in readme, "the README names the two set-up commands"
    assert "make docs" in readme and "site/index.html" in readme, "the README says how to build the guides"
    linked = set(re.findall(r"\]\((docs/[\w/.-]+\.md)\)", readme))
    assert "docs/index.md" in linked
    missing = [page for page in linked if not (ROOT / page).is_file()]
    assert not missing, f"README.md links to {missing}, which are not in docs/"
    config = yaml.safe_load(CONFIG.read_text())
    unlisted = sorted(f"docs/{page}" for page in nav_pages(config["nav"]) if f"docs/{page}" not in linked)
    assert not unlisted, f"README.md does not link to {unlisted}: list every page of the guides"


def pictures_taken() -> set[str]:
    """The names of the pictures the browser tests copy into docs/screenshots/ (``docs=False`` ones are not)."""
    taken = set()
    for test in BROWSER_TESTS.glob("*.py"):
        text = test.read_text()
        for name, rest in re.findall(r"screenshot\(\s*\w+,\s*\"([\w-]+)\"([^)]*)\)", text):
            if "docs=False" not in rest:
                taken.add(name)
        mapping = re.search(r"^SCREENSHOTS\s*=\s*\{(.*?)^\}", text, re.DOTALL | re.MULTILINE)
        if mapping:  # test_every_page.py: page → picture
            taken.update(re.findall(r":\s*\"([\w-]+)\"", mapping.group(1)))
    return taken


def test_every_dashboard_picture_is_taken_by_a_browser_test() -> None:
    used = {name for page in DOCS.rglob("*.md") for name in PICTURE.findall(page.read_text())}
    assert {"settings-scim", "token-dialog", "rbac-simulator"} <= used
    untaken = sorted(used - pictures_taken())
    assert not untaken, f"no browser test takes {untaken}: add a screenshot() call, then run `make screenshots`"
