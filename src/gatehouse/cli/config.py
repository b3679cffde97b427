"""``gatehouse config …``: Gatehouse as code from a terminal (permission-checked and audited: see
:mod:`gatehouse.cli.context`; with ``--token``, exactly what the admin API lets that token do).

- ``export [-o FILE] [--format yaml|json]``: the configuration as it is, deterministic, never a secret
  (``iam:ExportConfig``);
- ``plan -f FILE [--prune] [--json]``: what applying the file would change; exit status 0 when nothing would,
  2 when something would, 1 when the file is invalid or the plan cannot be made (``iam:ExportConfig``);
- ``apply -f FILE [--prune] [--yes] [--plan-id ID] [--issue-tokens] [--json]``: shows the plan, asks (unless
  ``--yes``), then applies it in one transaction (``iam:ApplyConfig``, and each change's own action); refused
  when the configuration changed since the plan shown, or since ``--plan-id``;
- ``schema [-o FILE]``: the JSON Schema of the file, for editors.

``-f -`` reads the file from standard input. Problems are printed one a line, ``FILE:LINE: object, field: why``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gatehouse.cli.context import USER_AGENT, run_change, run_read
from gatehouse.cli.output import echo
from gatehouse.config import load_settings
from gatehouse.errors import PreconditionFailed
from gatehouse.iam import config_apply, config_export, config_file, config_model, config_plan
from gatehouse.iam.audit import Origin
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.config_apply import Applied
from gatehouse.iam.config_file import ConfigError, Locator, Problem
from gatehouse.iam.config_model import ConfigFile
from gatehouse.iam.config_plan import Plan
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

config_app = typer.Typer(
    help="Gatehouse as code: export, plan and apply the whole access configuration from a file.", no_args_is_help=True
)

EXIT_INVALID = 1
EXIT_CHANGES = 2
FILE_HELP = "The configuration file (YAML or JSON); - reads standard input."

ConfigFileOption = Annotated[str, typer.Option("-f", "--file", help=FILE_HELP)]
"""``-f FILE``, which ``plan`` and ``apply`` read."""
PruneOption = Annotated[bool, typer.Option("--prune", help="Also delete what the file's sections do not list.")]
"""``--prune``, of ``plan`` and ``apply``."""
OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write to this file instead of standard output.")
]
"""``-o FILE``, where ``export`` and ``schema`` write (standard output without it)."""


def _read(file: str) -> tuple[Locator, ConfigFile, str]:
    """The file's data, lines and model; :class:`ConfigError` when it cannot be read or is not valid."""
    source = "<stdin>" if file == "-" else file
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise ConfigError([Problem((), f"cannot read the file: {exc.strerror or exc}")], source) from None
    where = config_file.parse(raw, source)
    return where, config_model.validate(where, source), source


def _invalid(exc: ConfigError, as_json: bool) -> typer.Exit:
    """Print every problem (standard error; with ``--json`` also as JSON on standard output): exit status 1."""
    if as_json:
        echo(json.dumps({"valid": False, "problems": [problem.as_dict() for problem in exc.problems]}))
    for line in exc.lines():
        echo(line, err=True)
    return typer.Exit(EXIT_INVALID)


def _plan(file: str, prune: bool, as_json: bool) -> tuple[Locator, ConfigFile, str, Plan]:
    """The file read (as :func:`_read`) and the plan of applying it; an invalid file exits (:func:`_invalid`)."""
    try:
        where, model, source = _read(file)
        found: Plan = run_read(lambda c, p: config_plan.plan(c, p, model, where, prune=prune, source=source))
    except ConfigError as exc:
        raise _invalid(exc, as_json) from None
    return where, model, source, found


def _write(text: str, output: Path | None) -> None:
    if output is None:
        echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@config_app.command("export")
def export(
    output: OutputOption = None,
    format: str | None = typer.Option(
        None, "--format", help="yaml or json (default: from the file's extension, else yaml)."
    ),
) -> None:
    """The access configuration as it is now: every object by name, sorted, never a secret."""
    chosen = format or ("json" if output is not None and output.suffix.lower() == ".json" else "yaml")
    if chosen not in ("yaml", "json"):
        raise typer.BadParameter("--format is yaml or json.")
    state: config_export.State = run_read(lambda c, p: config_export.export(c, p))
    _write(config_file.dump(state.data, "json" if chosen == "json" else "yaml"), output)
    if output is not None:
        echo(f"Exported to {output} (configuration {state.plan_id}).", err=True)


@config_app.command("plan")
def plan(
    file: ConfigFileOption,
    prune: PruneOption = False,
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """What applying the file would change, object by object. Exit status: 0 no changes, 2 changes, 1 invalid."""
    _, _, _, found = _plan(file, prune, as_json)
    if as_json:
        echo(json.dumps(found.as_json(), indent=2))
    else:
        echo(found.text(), nl=False)
    raise typer.Exit(EXIT_CHANGES if found.changed else 0)


@config_app.command("apply")
def apply(
    file: ConfigFileOption,
    prune: PruneOption = False,
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
    plan_id: str | None = typer.Option(
        None, "--plan-id", help="The reviewed plan's id: refused if the configuration changed since."
    ),
    issue_tokens: bool = typer.Option(
        False, "--issue-tokens", help="Create the SCIM tokens the file names that do not exist; print each secret once."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (new tokens' secrets included)."),
) -> None:
    """Apply the file in one transaction (all or nothing), after showing its plan."""
    where, model, source, found = _plan(file, prune, as_json)
    if plan_id is not None and plan_id.strip() != found.plan_id:
        raise PreconditionFailed(
            f"The configuration changed since plan {plan_id.strip()} (it is now {found.plan_id}): nothing was applied. "
            "Run plan again, review it, and apply that plan."
        )
    if not as_json:
        echo(found.text())
    if found.changed and not yes:
        if file == "-":
            raise typer.BadParameter("the file comes from standard input, so nobody can answer: pass --yes.")
        typer.confirm("Apply these changes?", abort=True)
    settings = load_settings()

    def work(connection: Connection, principal: Principal) -> Applied:
        origin = Origin("cli", principal.actor, principal.user_id, None, USER_AGENT)
        return config_apply.apply(
            connection, principal, origin, model, where, public_url=settings.public_url, now=utcnow(),
            prune=prune, plan_id=found.plan_id, issue_tokens=issue_tokens, source=source,
        )  # fmt: skip

    change = config_apply.change_set(found.plan_id, prune)
    try:
        applied: Applied = run_change(
            change.event,
            change.resource_type,
            change.resource_id,
            work,
            summary=change.summary,
            describe=lambda done, recorded: recorded.about(**done.summary()),
            settings=settings,
        )
    except ConfigError as exc:
        raise _invalid(exc, as_json) from None
    _report(applied, as_json)


def _report(applied: Applied, as_json: bool) -> None:
    if as_json:
        echo(json.dumps(applied.as_json(), indent=2))
        return
    counts = applied.plan.as_json()["summary"]
    if applied.plan.changed:
        echo(
            f"Applied plan {applied.plan.plan_id}: {counts['create']} created, {counts['update']} updated, "
            f"{counts['delete']} deleted."
        )
    else:
        echo("Nothing to apply.")
    for issued in applied.issued:
        echo(f"\nSCIM token '{issued.name}' (shown once: enter it in the identity provider as Bearer <token>):")
        echo(issued.token)


@config_app.command("schema")
def schema(
    output: OutputOption = None,
) -> None:
    """The JSON Schema of a configuration file (point your editor's YAML or JSON support at it)."""
    document: dict[str, Any] = config_model.json_schema()
    _write(json.dumps(document, indent=2, ensure_ascii=False) + "\n", output)
