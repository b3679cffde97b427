"""The ``gatehouse`` command line. Command names, options and ``--json`` outputs are a contract."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from typing import Any

import typer
from pydantic import ValidationError

from gatehouse import launcher
from gatehouse.cli.command_groups import CommandGroups
from gatehouse.cli.context import open_database, require_super_admin, run_change, use_token
from gatehouse.cli.output import echo
from gatehouse.config import load_settings, settings_problems
from gatehouse.errors import GatehouseError
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.bootstrap import BOOTSTRAP_USER, ensure_super_admin, has_super_admin
from gatehouse.store import migration
from gatehouse.store.database import Connection
from gatehouse.store.records import StoredUser

app = typer.Typer(
    cls=CommandGroups,  # scim, login-options, authz, access, audit-sinks, config: imported when used
    help="Gatehouse: SCIM provisioning, RBAC and SSO for an API-gateway dashboard.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrator accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")


@app.callback()
def root(
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="GATEHOUSE_API_TOKEN",
        help="Act as this API token's owner, with their permissions. Without it, commands run as the host "
        "operator (full access, recorded as 'operator (CLI)' in the audit log).",
    ),
) -> None:
    """Gatehouse: SCIM provisioning, RBAC and SSO for an API-gateway dashboard."""
    use_token(token)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8080, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    database_url: str | None = typer.Option(None, help="Overrides GATEHOUSE_DATABASE_URL."),
    public_url: str | None = typer.Option(None, help="Overrides GATEHOUSE_PUBLIC_URL."),
    access_log: bool = typer.Option(True, help="Log one JSON line per request (GATEHOUSE_ACCESS_LOG)."),
) -> None:
    """Apply pending migrations (under a lock), then serve HTTP."""
    if database_url:
        os.environ["GATEHOUSE_DATABASE_URL"] = database_url
    if not access_log:
        os.environ["GATEHOUSE_ACCESS_LOG"] = "false"  # read by each worker's app factory (gatehouse.server)
    if public_url:
        os.environ["GATEHOUSE_PUBLIC_URL"] = public_url
    elif "GATEHOUSE_PUBLIC_URL" not in os.environ:
        # Not configured: the address this server listens on is the best guess (a local trial).
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["GATEHOUSE_PUBLIC_URL"] = f"http://{shown_host}:{port}"
    settings = load_settings()
    with open_database(settings) as db:
        revision = migration.upgrade(db.engine)
        with db.transaction() as connection:
            existed = has_super_admin(connection)
            generated = ensure_super_admin(connection, settings.admin_password)
    echo(f"Database at revision {revision}.", err=True)
    if settings.admin_password and not existed:
        echo(f"Created the Super Admin '{BOOTSTRAP_USER}' with the password of GATEHOUSE_ADMIN_PASSWORD.", err=True)
    elif settings.admin_password:
        echo(
            "GATEHOUSE_ADMIN_PASSWORD is set but a Super Admin exists already, so it was not applied "
            f"(to change a password: gatehouse admin reset-password {BOOTSTRAP_USER}).",
            err=True,
        )
    if generated:
        # Standard output only, once: never the log stream.
        echo(
            f"\nCreated the Super Admin '{BOOTSTRAP_USER}' with the one-time password: {generated}\n"
            "Sign in with it; you will be asked to choose your own password.\n"
        )
    echo(f"Gatehouse on http://{host}:{port} — SCIM endpoint {settings.scim_base_url}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = launcher.command(host, port, workers)
    os.execv(argv[0], argv)  # the server: a fresh interpreter in this process (see gatehouse.launcher)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations only."""
    with open_database(load_settings()) as db:
        revision = migration.upgrade(db.engine)
    echo(f"Database at revision {revision}.")


@db_app.command("check")
def db_check(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the database's integrity (read-only): row counts, SQLite integrity_check, foreign keys, the
    uniqueness of userNames, group names and other names, and that stored documents match their rows.
    Exit status 1 when something is wrong."""
    from gatehouse.store import integrity

    with open_database(load_settings()) as db:
        report = integrity.run(db)
    echo(json.dumps(report.as_dict(), indent=2) if as_json else report.text())
    if not report.ok:
        raise typer.Exit(1)


def _break_glass(event: str, what: str, work: Callable[[Connection], StoredUser], **summary: Any) -> StoredUser:
    """A break-glass change of a local account, by the host operator or a Super Admin only (``what``: the
    refusal's words), audited as ``event`` with ``summary`` and the account's id."""

    def guarded(connection: Connection, principal: Principal) -> StoredUser:
        require_super_admin(principal, what)
        return work(connection)

    return run_change(
        event, "user", None, guarded, summary=summary, describe=lambda user, change: change.about(user.id)
    )


@admin_app.command("reset-password")
def admin_reset_password(
    username: str = typer.Argument(..., help="The account whose password to reset."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from standard input instead of generating one."
    ),
) -> None:
    """Break-glass: set a local account's password (a generated one must be changed at sign-in)."""
    from gatehouse.iam.accounts import reset_password

    if password_stdin:
        password, temporary = sys.stdin.readline().rstrip("\r\n"), False
    else:
        password, temporary = secrets.token_urlsafe(15), True

    _break_glass(
        "iam:ResetPassword",
        "reset a password from the command line",
        lambda c: reset_password(c, username, password, temporary=temporary),
        user_name=username,
        temporary=temporary,
    )
    if temporary:
        echo(f"One-time password for '{username}': {password}")
        echo("It must be changed at the next sign-in. Every session of this user has ended.")
    else:
        echo(f"Password of '{username}' changed. Every session of this user has ended.")


@admin_app.command("create")
def admin_create(
    username: str = typer.Argument(..., help="The new Super Admin's username."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a Super Admin (a local account, never visible to SCIM)."""
    from gatehouse.iam.accounts import create_super_admin

    if not password_stdin:
        raise typer.BadParameter("Pass --password-stdin and send the password on standard input.")
    password = sys.stdin.readline().rstrip("\r\n")

    user = _break_glass(
        "iam:InviteUser",
        "create a Super Admin",
        lambda c: create_super_admin(c, username, password),
        user_name=username,
        super_admin=True,
    )
    echo(json.dumps({"id": user.id, "username": user.user_name, "super_admin": True}))


def main() -> None:
    """Entry point of the ``gatehouse`` console script: domain errors become a message and exit 1, a setting
    refused (a bad ``GATEHOUSE_*`` value) a message naming it and exit 2."""
    try:
        app()
    except GatehouseError as exc:
        echo(f"error: {exc.detail}", err=True)
        raise SystemExit(1) from None
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        for line in settings_problems(exc):  # a bad GATEHOUSE_* value: say which, never a traceback
            echo(f"error: {line}", err=True)
        raise SystemExit(2) from None
