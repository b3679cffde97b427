"""The layer contract ("Layers" in docs/reference/architecture.md): import-linter's contracts
(``[tool.importlinter]`` in ``pyproject.toml``) hold for the tree, and they do catch an upward import, a cycle,
or SQL outside the store when one appears."""

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
        ("iam/users.py", "import sqlalchemy", "SQL only in storage"),  # a statement built outside the store
        ("sso/signin.py", "import gatehouse.store.tables", "SQL only in storage"),  # the tables, likewise
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


ROUTES = PACKAGE / "web" / "routes"


def _handlers(tree: ast.Module) -> list[ast.AsyncFunctionDef]:
    """The module's route handlers: its module-level ``async def`` functions."""
    return [node for node in tree.body if isinstance(node, ast.AsyncFunctionDef)]


@pytest.mark.parametrize("module", sorted(path.name for path in ROUTES.glob("*.py") if path.name != "__init__.py"))
def test_dashboard_handlers_are_small_module_level_functions(module: str) -> None:
    """A dashboard route module holds module-level handlers (no routes built in a closure), each at most 40
    lines, in a module of at most 300 lines: parse, one use case, render or redirect."""
    source = (ROUTES / module).read_text()
    tree = ast.parse(source)
    assert len(source.splitlines()) <= 300, f"{module}: more than 300 lines"
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "routes":
            raise AssertionError(f"{module}: routes() builds its handlers in a closure")
    handlers = _handlers(tree)
    assert handlers, f"{module}: no module-level handler"
    for handler in handlers:
        length = (handler.end_lineno or handler.lineno) - handler.lineno + 1
        assert length <= 40, f"{module}: {handler.name} is {length} lines"
    assert "ROUTES" in {
        t.id
        for node in tree.body
        if isinstance(node, ast.AnnAssign | ast.Assign)
        for t in ([node.target] if isinstance(node, ast.AnnAssign) else node.targets)
        if isinstance(t, ast.Name)
    }


def test_dashboard_and_api_handlers_do_not_call_the_store() -> None:
    """Surfaces reach storage through the use cases: a handler module imports store types and constants (for
    annotations and limits) at most, never a repository module or one of its functions."""
    surfaces = [*ROUTES.glob("*.py"), *(PACKAGE / "api" / "routes").glob("*.py")]
    for path in surfaces:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("gatehouse.store"):
                continue
            if node.module == "gatehouse.store.records":  # the records and the clock, no repository
                continue
            called = [a.name for a in node.names if node.module == "gatehouse.store" or not a.name[0].isupper()]
            assert not called, f"{path.relative_to(ROOT)} imports {called} from {node.module}"
