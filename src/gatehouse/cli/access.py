"""``gatehouse access …``: time-bound access, access requests and the access review from a terminal (permission
checked and audited: see :mod:`gatehouse.cli.context`). Requesting, withdrawing and giving up need a token
(``--token``: the host operator has no account to grant to); approving and denying need
``iam:ApproveAccessRequest`` on the role and are never one's own; ``review`` and ``who-may`` need
``iam:GetAccessReview``. A role is named by its id or its name.
"""

from __future__ import annotations

import json
import sys

import typer

from gatehouse.cli.context import run_change, run_read
from gatehouse.cli.output import echo, shown
from gatehouse.errors import NotFound
from gatehouse.iam import access_requests as access
from gatehouse.iam import access_review as review
from gatehouse.iam.authorizer import Principal
from gatehouse.store import roles as role_store
from gatehouse.store.access_requests import AccessRequest
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

access_app = typer.Typer(help="Time-bound access: requests, approvals, the access review.", no_args_is_help=True)
requestable_app = typer.Typer(help="Which roles may be requested.", no_args_is_help=True)
access_app.add_typer(requestable_app, name="requestable")


def _role_id(connection: Connection, ref: str) -> str:
    found = role_store.get(connection, ref) or role_store.get_by_name(connection, ref)
    if found is None:
        raise NotFound(f"There is no role with the id or name {ref!r}.")
    return found.id


def _request_json(found: AccessRequest) -> dict[str, object]:
    def time(value: object) -> object:
        return value.isoformat() if hasattr(value, "isoformat") else value

    return {
        "id": found.id, "username": found.user_name, "role": found.role_name, "role_id": found.role_id,
        "reason": found.reason, "minutes": found.minutes, "status": found.state(utcnow()),
        "created": time(found.created), "answer_by": time(found.answer_by), "decided_by": found.decided_by,
        "note": found.note, "granted_until": time(found.granted_until),
    }  # fmt: skip


def _echo(found: AccessRequest, as_json: bool) -> None:
    shown = _request_json(found)
    if as_json:
        echo(json.dumps(shown))
    else:
        until = f" until {shown['granted_until']}" if shown["granted_until"] else ""
        echo(f"{found.id}\t{shown['status']}{until}\t{found.user_name}\t{found.role_name}\t{found.reason}")


@requestable_app.command("list")
def requestable_list(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """The roles that may be requested, with their limits."""
    found = run_read(lambda c, p: access.requestable_roles(c, p))
    rows = [
        {"role_id": r.role_id, "role": r.role_name, "max_minutes": r.max_minutes,
         "answer_within_minutes": r.answer_within_minutes}
        for r in found
    ]  # fmt: skip
    if as_json:
        echo(json.dumps(rows))
        return
    for row in rows:
        echo(f"{row['role']}\tup to {row['max_minutes']} min\tanswered within {row['answer_within_minutes']} min")


@requestable_app.command("set")
def requestable_set(
    role: str = typer.Argument(..., help="The role's id or name."),
    max_minutes: int = typer.Option(..., "--max-minutes", min=1, help="The longest grant a request may ask for."),
    answer_within_minutes: int = typer.Option(access.DEFAULT_ANSWER_MINUTES, "--answer-within-minutes", min=1),
) -> None:
    """Make a role requestable (or change its limits): iam:UpdateRole on the role."""

    def work(connection: Connection, principal: Principal) -> object:
        return access.set_requestable(
            connection, principal, _role_id(connection, role), max_minutes, answer_within_minutes
        )

    summary = {"role": role, "max_minutes": max_minutes, "answer_within_minutes": answer_within_minutes}
    run_change("iam:UpdateRole", "role", None, work, summary={"requestable": summary})
    echo(f"{role} may be requested for up to {max_minutes} minutes.")


@requestable_app.command("unset")
def requestable_unset(role: str = typer.Argument(..., help="The role's id or name.")) -> None:
    """The role may no longer be requested (pending requests may still be answered)."""
    run_change(
        "iam:UpdateRole",
        "role",
        None,
        lambda c, p: access.unset_requestable(c, p, _role_id(c, role)),
        summary={"requestable": False, "role": role},
    )
    echo(f"{role} may no longer be requested.")


@access_app.command("request")
def request(
    role: str = typer.Argument(..., help="The role's id or name."),
    reason: str = typer.Option(..., "--reason", help="Why you need it."),
    minutes: int = typer.Option(..., "--minutes", min=1, help="For how long, once approved."),
    as_json: bool = typer.Option(False, "--json", help="Print the request as JSON."),
) -> None:
    """Ask for a requestable role, for yourself (needs --token)."""
    found: AccessRequest = run_change(
        "iam:RequestAccess",
        "access_request",
        None,
        lambda c, p: access.request_access(c, p, _role_id(c, role), reason, minutes),
        summary={"role": role, "reason": reason, "minutes": minutes},
        describe=lambda done, recorded: recorded.about(done.id, role=done.role_name),
    )
    _echo(found, as_json)


@access_app.command("requests")
def requests(
    status: str | None = typer.Option(None, "--status", help="pending, approved, denied, cancelled or expired."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON lines."),
) -> None:
    """Your requests and those you may read or answer."""
    for found in run_read(lambda c, p: access.visible_requests(c, p, status)):
        _echo(found, as_json)


def _answer(event: str, request_id: str, work: object, as_json: bool) -> None:
    found: AccessRequest = run_change(
        event,
        "access_request",
        request_id,
        work,  # type: ignore[arg-type]
        describe=lambda done, recorded: recorded.about(user=done.user_name, role=done.role_name),
    )
    _echo(found, as_json)


@access_app.command("approve")
def approve(
    request_id: str = typer.Argument(...),
    note: str = typer.Option("", "--note"),
    minutes: int | None = typer.Option(None, "--minutes", min=1, help="Approve for less time than asked."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Approve a request (iam:ApproveAccessRequest on its role; never your own)."""
    _answer(
        "iam:ApproveAccessRequest", request_id, lambda c, p: access.approve(c, p, request_id, note, minutes), as_json
    )


@access_app.command("deny")
def deny(
    request_id: str = typer.Argument(...),
    note: str = typer.Option("", "--note"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Deny a request (iam:ApproveAccessRequest on its role; never your own)."""
    _answer("iam:DenyAccessRequest", request_id, lambda c, p: access.deny(c, p, request_id, note), as_json)


@access_app.command("cancel")
def cancel(request_id: str = typer.Argument(...)) -> None:
    """Withdraw your own pending request."""
    _answer("iam:CancelAccessRequest", request_id, lambda c, p: access.cancel(c, p, request_id), False)


@access_app.command("give-up")
def give_up(role: str = typer.Argument(..., help="The role's id or name.")) -> None:
    """End your time-bound grant of a role now."""

    def work(connection: Connection, principal: Principal) -> object:
        return access.give_up(connection, principal, _role_id(connection, role))

    run_change("iam:GiveUpAccess", "user", None, work, summary={"role": role})
    echo(f"You gave up {role}.")


@access_app.command("review")
def export_review(
    role: str = typer.Option("", "--role", help="Users holding this role (id or name)."),
    origin: str = typer.Option("", "--origin", help="direct, request, sso, group, timebound or super_admin."),
    not_signed_in_days: int | None = typer.Option(None, "--not-signed-in-days", min=0),
    token_unused_days: int | None = typer.Option(None, "--token-unused-days", min=0),
    output: str = typer.Option("csv", "--format", help="csv or json."),
) -> None:
    """Export the access review of a scope (CSV or JSON on standard output); recorded in the audit log."""

    def work(connection: Connection, principal: Principal) -> bytes:
        role_id = _role_id(connection, role) if role else ""
        query = review.review_query(role_id, origin, not_signed_in_days, token_unused_days)
        found = list(review.export(connection, principal, query))
        return review.to_json(found) if output == "json" else review.to_csv(found).encode()

    summary = {"export": output, "role": role, "origin": origin}
    body: bytes = run_change(review.READ, "organization", None, work, summary=summary)
    text = body.decode()
    sys.stdout.write(shown(text) if sys.stdout.isatty() else text)  # a file gets the data as it is
    sys.stdout.flush()


@access_app.command("who-may")
def who_may(
    action: str = typer.Argument(..., help="A catalog action, e.g. gateway:UpdatePublishedService."),
    resource: str = typer.Argument(..., help="A resource name, e.g. arn:api7:gateway:gatewaygroup/prod."),
    labels: str = typer.Option("", "--labels", help='JSON by condition key: {"gateway_group_label": {"env": "prod"}}.'),
    limit: int = typer.Option(1_000, "--limit", min=1, max=1_000, help="Users listed."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Every active user who may do ACTION on RESOURCE now (iam:GetAccessReview)."""
    parsed = review.parse_labels_text(labels)
    found = run_read(lambda c, p: review.who_may(c, p, action, resource, parsed, None, limit))
    if as_json:
        echo(json.dumps({
            "total": found.total, "super_admins": found.super_admins,
            "grant_sets": [{"roles": s.roles, "boundaries": s.boundaries, "users": s.users, "reason": s.reason}
                           for s in found.sets],
            "users": [name for _, name, _ in found.users],
        }))  # fmt: skip
        return
    echo(f"{found.total} user(s) may do {found.action} on {found.resource} ({found.evaluated_sets} grant sets).")
    for _, name, _ in found.users:
        echo(name)
