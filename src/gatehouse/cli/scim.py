"""``gatehouse scim …``: turn provisioning on/off, manage SCIM tokens and the guard, read the provisioning log
(``scim activity``) (permission-checked and audited: see :mod:`gatehouse.cli.context`)."""

from __future__ import annotations

import json

import typer

from gatehouse.cli.context import run_change, run_read
from gatehouse.cli.output import echo
from gatehouse.config import load_settings
from gatehouse.errors import NotFound
from gatehouse.iam import provisioning, provisioning_activity, scim_control, scim_guard
from gatehouse.iam.authorizer import Principal
from gatehouse.store.database import Connection

scim_app = typer.Typer(help="SCIM provisioning.", no_args_is_help=True)
token_app = typer.Typer(help="SCIM bearer tokens.", no_args_is_help=True)
guard_app = typer.Typer(help="The mass-deprovisioning guard.", no_args_is_help=True)
scim_app.add_typer(token_app, name="token")
scim_app.add_typer(guard_app, name="guard")

UPDATE = provisioning.UPDATE


def _issued(issued: scim_control.IssuedToken, as_json: bool) -> None:
    endpoint = load_settings().scim_base_url
    if as_json:
        echo(json.dumps({"endpoint": endpoint, "token": issued.token, "token_name": issued.name}))
        return
    echo(f"SCIM Endpoint URL: {endpoint}")
    echo(f"SCIM Token ({issued.name}), shown once: {issued.token}")
    echo("Enter it in your IdP as: Bearer <token>")


@scim_app.command("enable")
def enable(
    as_json: bool = typer.Option(False, "--json", help="Print endpoint and token as JSON."),
    name: str | None = typer.Option(None, "--name", help="Name of the token to create (implies --new-token)."),
    new_token: bool = typer.Option(
        False, "--new-token", help="Create a token even when live ones exist (each is shown once, only when made)."
    ),
) -> None:
    """Turn SCIM provisioning on; create a token when none is live (or with --new-token / --name).

    Tokens are stored as hashes, so an existing one cannot be shown again: a second run leaves them as they are
    and prints ``"token": null`` unless asked for a new one."""

    def work(connection: Connection, principal: Principal) -> scim_control.IssuedToken | None:
        provisioning.set_enabled(connection, principal, True)
        if not (new_token or name) and provisioning.state(connection, principal).tokens:
            return None
        return provisioning.issue_token(connection, principal, name or "")

    issued = run_change(
        UPDATE,
        "organization",
        "scim",
        work,
        summary={"enabled": True, "token_name": name},
        describe=lambda result, change: (
            change.about(token_name=result.name, token_id=result.info.id) if result is not None else change
        ),
    )
    if issued is not None:
        _issued(issued, as_json)
        return
    endpoint = load_settings().scim_base_url
    echo("SCIM provisioning is on; its live tokens are kept (run with --new-token for another).", err=True)
    echo(json.dumps({"endpoint": endpoint, "token": None, "token_name": None}) if as_json else endpoint)


@scim_app.command("disable")
def disable() -> None:
    """Turn SCIM provisioning off (tokens are kept and work again once it is re-enabled)."""
    run_change(
        UPDATE, "organization", "scim", lambda c, p: provisioning.set_enabled(c, p, False), summary={"enabled": False}
    )
    echo("SCIM provisioning disabled.")


@token_app.command("create")
def token_create(
    name: str = typer.Option(..., "--name", help="A name for the token, e.g. the IdP's name."),
    as_json: bool = typer.Option(False, "--json", help="Print endpoint and token as JSON."),
) -> None:
    """Create a new SCIM token (shown once)."""
    issued = run_change(
        UPDATE,
        "scimtoken",
        None,
        lambda c, p: provisioning.issue_token(c, p, name, while_off=True),
        summary={"action": "create", "token_name": name},
        describe=lambda result, change: change.about(result.info.id),
    )
    _issued(issued, as_json)


@token_app.command("revoke")
def token_revoke(name: str = typer.Argument(..., help="The token's name.")) -> None:
    """Revoke a token: it stops working at once, in every process."""

    def work(connection: Connection, principal: Principal) -> str:
        found = next((t for t in provisioning.state(connection, principal).tokens if t.name == name), None)
        if found is None:
            raise NotFound(f"No live SCIM token is named '{name}'.")
        return provisioning.revoke_token(connection, principal, found.id)

    run_change(UPDATE, "scimtoken", None, work, summary={"action": "revoke", "token_name": name})
    echo(f"SCIM token '{name}' revoked.")


@token_app.command("list")
def token_list(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the live tokens (never their secrets)."""
    tokens = run_read(lambda c, p: provisioning.state(c, p).tokens)
    if as_json:
        echo(
            json.dumps(
                [
                    {
                        "name": t.name,
                        "hint": t.hint,
                        "created": t.created.isoformat(),
                        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                        "last_used_ip": t.last_used_ip,
                    }
                    for t in tokens
                ]
            )
        )
        return
    if not tokens:
        echo("No SCIM tokens. Create one with: gatehouse scim token create --name NAME")
    for t in tokens:
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        echo(f"{t.name}\t{t.hint}\tcreated {t.created.isoformat(timespec='seconds')}\tlast used {used}")


@scim_app.command("password-sign-in")
def password_sign_in(
    state: str | None = typer.Argument(None, help="'on' or 'off'; omit to show the current state."),
) -> None:
    """Whether provisioned users may sign in with the password their IdP sends (default off: SSO)."""
    if state is None:
        current = run_read(lambda c, p: provisioning.state(c, p).password_sign_in)
    elif state.lower() in ("on", "off"):
        current = state.lower() == "on"
        run_change(
            UPDATE,
            "organization",
            "scim",
            lambda c, p: provisioning.set_password_sign_in(c, p, current),
            summary={"password_sign_in": current},
        )
    else:
        raise typer.BadParameter("Say 'on' or 'off'.")
    echo(f"Password sign-in for provisioned users: {'on' if current else 'off'}")


def _policy() -> scim_guard.Policy:
    return scim_guard.Policy.of(load_settings())


@guard_app.command("status")
def guard_status(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """What the guard counts and holds: the threshold, what applied within the window, the held requests."""
    policy = _policy()
    status = run_read(lambda c, p: scim_guard.status(c, p, policy))
    if as_json:
        echo(json.dumps(status.as_dict()))
        return
    state = "on" if status.enabled else "off"
    echo(
        f"Guard {state}: at most {status.threshold} deactivations and deletions within {status.window_minutes} "
        f"minutes ({status.applied_in_window} applied)."
    )
    if status.allowed_until:
        echo(f"Allowed until {status.allowed_until.isoformat(timespec='seconds')}.")
    if not status.held:
        echo("No requests held.")
        return
    echo(f"{status.held_count} requests held:")
    for h in status.held:
        echo(f"{h.at.isoformat(timespec='seconds')}\t{h.kind}\t{h.user_name}\ttoken {h.token_name or '-'}")


@guard_app.command("allow")
def guard_allow(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Allow: the guard opens until its window passes, and the IdP's retries of the held requests apply."""
    policy = _policy()
    cleared = run_change(
        UPDATE,
        "organization",
        "scim",
        lambda c, p: scim_guard.allow(c, p, policy),
        summary={"operation": "allow_deprovisioning"},
        describe=lambda result, change: change.about(held=result),
    )
    if as_json:
        echo(json.dumps({"allowed": True, "held": cleared, "window_minutes": policy.window_minutes}))
        return
    echo(f"Allowed {cleared} held requests: the guard is open for {policy.window_minutes} minutes.")


@guard_app.command("block")
def guard_block(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Keep blocking: the held requests are forgotten and the guard stays closed."""
    cleared = run_change(
        UPDATE,
        "organization",
        "scim",
        scim_guard.block,
        summary={"operation": "block_deprovisioning"},
        describe=lambda result, change: change.about(held=result),
    )
    if as_json:
        echo(json.dumps({"allowed": False, "held": cleared}))
        return
    echo(f"Kept blocking: {cleared} held requests cleared; the guard stays closed.")


@scim_app.command("activity")
def activity(
    as_json: bool = typer.Option(False, "--json", help="Print as JSON (with the bodies of failed requests)."),
    status: str = typer.Option("", "--status", help="failed (4xx, 5xx), succeeded, 2xx, 3xx, 4xx or 5xx."),
    token: str = typer.Option("", "--token", help="A SCIM token's name."),
    method: str = typer.Option("", "--method", help="GET, POST, PUT, PATCH or DELETE."),
    resource: str = typer.Option("", "--resource", help="Users, Groups, discovery or other."),
    period: str = typer.Option("", "--period", help="1h, 24h or 7d: the last hour, day or week."),
    since: str = typer.Option("", "--since", help="From this time (ISO 8601, UTC if no zone)."),
    until: str = typer.Option("", "--until", help="Before this time (ISO 8601)."),
    limit: int = typer.Option(50, "--limit", help=f"At most this many (1 to {provisioning_activity.MAX_LIMIT})."),
    offset: int = typer.Option(0, "--offset", help="Skip this many of the newest first."),
) -> None:
    """The provisioning log: the SCIM requests recorded, newest first, filtered (bodies of failed ones with --json)."""
    wanted = provisioning_activity.wanted_of(status, token, method, resource, period, since, until)
    found = run_read(lambda c, p: provisioning_activity.log(c, p, wanted, offset, limit))
    if as_json:
        items = [item.as_dict() for item in found.items]
        echo(json.dumps({"items": items, "total": found.total, "offset": offset, "limit": limit}))
        return
    if not found.items:
        echo("No SCIM request matches.")
        return
    for a in found.items:
        at = a.at.isoformat(timespec="seconds")
        request = f"{a.method} {a.path}" + (f" ×{a.repeats} (counted reads)" if a.repeats > 1 else "")
        echo(f"{at}\t{a.status}\t{request}\ttoken {a.token_name or '-'}\t{a.ip or '-'}\t{a.detail or ''}")
    echo(f"{len(found.items)} of {found.total} entries.", err=True)
