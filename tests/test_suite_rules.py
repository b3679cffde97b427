"""Rules the suite keeps so that its tests pass in any order and on any worker."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
RUNNER = TESTS / "support" / "coroutines.py"


def _loop_runs(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("asyncio", "anyio")
    ]


def test_coroutines_run_apart_from_a_browser_tests_event_loop() -> None:
    """Playwright's sync API keeps an event loop running in the worker's main thread once a browser test has
    run there, so ``asyncio.run`` or ``anyio.run`` in a later test on that worker fails;
    ``support.coroutines.run_apart`` runs the coroutine in a thread of its own."""
    offenders = [
        f"{path.relative_to(TESTS)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        if ".node" not in path.parts and path != RUNNER
        for line in _loop_runs(path)
    ]
    assert offenders == []
