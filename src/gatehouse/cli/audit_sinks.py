"""``gatehouse audit-sinks list``: the audit streaming sinks and how delivery is going (``iam:GetAuditSink``):
records waiting, lag, last delivery, last error. Sinks are created and changed in the dashboard or the API."""

from __future__ import annotations

import json

import typer

from gatehouse.cli.context import run_read
from gatehouse.cli.output import echo
from gatehouse.iam import audit_sinks as sinks
from gatehouse.store.records import utcnow

audit_sinks_app = typer.Typer(help="Audit streaming sinks and their lag.", no_args_is_help=True)


@audit_sinks_app.command("list")
def list_sinks(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Every sink with its status."""
    now = utcnow()
    found = [view.as_dict(now) for view in run_read(lambda c, p: sinks.list_sinks(c, p))]
    if as_json:
        echo(json.dumps(found))
        return
    if not found:
        echo("No audit sink: records stay in Gatehouse's audit log only.")
    for sink in found:
        status = sink["status"]
        state = "enabled" if sink["enabled"] else "disabled"
        error = f"\tlast error: {status['last_error']}" if status["failures"] else ""
        echo(
            f"{sink['name']}\t{sink['kind']}\t{state}\twaiting {status['waiting']}\tlag {status['lag_seconds']:.0f} s"
            f"\tdelivered {status['delivered_total']}{error}"
        )
