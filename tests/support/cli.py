"""Helpers shared by the CLI tests (``tests/cli/``): the ``gatehouse`` command run in this process, where a
refusal raises the domain error the console script would print. No tests here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup
from typer.testing import CliRunner, Result

from gatehouse.cli.main import app


def invoke(*args: str, input: str | None = None) -> Result:
    """``gatehouse *args``; a domain error (not a usage error's exit) is raised again here."""
    result = CliRunner().invoke(app, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def run(*args: str) -> str:
    """``gatehouse *args``, which must succeed; its output."""
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def as_json(*args: str) -> Any:
    """``gatehouse *args --json``, which must succeed; its output parsed."""
    return json.loads(run(*args, "--json"))


def command_lines() -> list[str]:
    """Every command of ``gatehouse``, as its command line (``gatehouse scim token create``), asked for as the
    console script finds them: lazily imported groups included."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(command, TyperGroup):
            context = typer.Context(command)
            for name in command.list_commands(context):
                child = command.get_command(context, name)
                assert child is not None, f"gatehouse {' '.join((*path, name))} is listed but cannot be found"
                yield from walk(child, (*path, name))
        else:
            yield " ".join(("gatehouse", *path))

    return list(walk(typer.main.get_command(app), ()))
