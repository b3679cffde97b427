"""The layer contract of README's "Architecture": import-linter's contracts (``[tool.importlinter]`` in
``pyproject.toml``) hold for the tree, and they do catch an upward import or a cycle when one appears."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "gatehouse"
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(project: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the package under ``source`` with ``project``'s pyproject contracts."""
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=project,
        env={"PYTHONPATH": str(source), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to break on purpose."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "gatehouse", ignore=shutil.ignore_patterns("__pycache__", "*.html"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("store/records.py", "import gatehouse.iam.authorizer", "Imports run downward"),  # storage reaching up
        ("iam/users.py", "import gatehouse.sso.signin", "Imports run downward"),  # rules reaching a protocol
        ("api/errors.py", "import gatehouse.web.dashboard", "Imports run downward"),  # a surface using another
        ("config.py", "import gatehouse.secrets_box", "Imports run downward"),  # the old config/box cycle
        ("iam/catalog.py", "import gatehouse.iam.users", "No import cycle"),  # a cycle inside a package
    ],
)
def test_a_forbidden_import_breaks_a_contract(copy: Path, module: str, line: str, contract: str) -> None:
    target = copy / "src" / "gatehouse" / module
    target.write_text(target.read_text() + f"\n{line}  # added by the test\n")
    result = lint_imports(copy, copy / "src")
    assert result.returncode == 1, result.stdout
    broken = result.stdout.split("Contracts:")[0]
    assert f"{contract}" in broken and "BROKEN" in broken


def test_every_package_says_what_it_is_for_and_what_it_may_import() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if "migrations" in init.parts:
            continue
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        lines = [line for line in docstring.splitlines() if line.strip()]
        assert 2 <= len(lines) <= 6, f"{init.relative_to(ROOT)}: two or three lines, please"
        assert "import" in docstring, f"{init.relative_to(ROOT)}: what may it import?"
