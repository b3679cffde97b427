"""``gatehouse access …`` on both databases: which roles may be requested (as the host operator), a request made with
a token, listed and answered with ``--json``, withdrawn, given up early; nobody answers their own; the review
exported as CSV and JSON; "who may?" with ``--json``. Every change is in the audit log with the CLI as its
source; a refused one raises the domain error the console script prints."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import ORG_ADMIN, add_user, roleless, token_for
from support.cli import as_json, invoke, run
from support.governance import SINKS_READ, close_to, custom_role, may, records, requests_of


class Org:
    """Sink readers, requestable; ``ana`` asks (a token, no role); ``olga`` approves (Organization Admin)."""

    def __init__(self, db: Database) -> None:
        self.role_id = custom_role(db, "Sink readers", [SINKS_READ])
        self.ana_id, self.ana = roleless(db, "ana")
        self.olga_id = add_user(db, "olga", role=ORG_ADMIN)
        self.olga = token_for(db, self.olga_id)


@pytest.fixture
def org(cli_db: Database) -> Org:
    return Org(cli_db)


def test_requestable_roles_as_the_host_operator(org: Org, cli_db: Database) -> None:
    assert run("access", "requestable", "set", "Sink readers", "--max-minutes", "240",
               "--answer-within-minutes", "60") == "Sink readers may be requested for up to 240 minutes.\n"  # fmt: skip
    listed = as_json("--token", org.ana, "access", "requestable", "list")
    assert listed == [{"role_id": org.role_id, "role": "Sink readers", "max_minutes": 240, "answer_within_minutes": 60}]
    for bad in ("0", "-5", "ten"):
        result = invoke("access", "requestable", "set", "Sink readers", "--max-minutes", bad)
        assert result.exit_code == 2 and "--max-minutes" in result.output
    with pytest.raises(InvalidInput, match="max_minutes: from 1 minute to 90 days"):
        run("access", "requestable", "set", "Sink readers", "--max-minutes", str(10**9))
    with pytest.raises(NotFound, match="no role with the id or name 'Nope'"):
        run("access", "requestable", "set", "Nope", "--max-minutes", "60")
    with pytest.raises(Forbidden):
        run("--token", org.ana, "access", "requestable", "set", "Sink readers", "--max-minutes", "60")
    assert as_json("access", "requestable", "list")[0]["max_minutes"] == 240  # unchanged
    run("access", "requestable", "unset", org.role_id)
    assert as_json("--token", org.ana, "access", "requestable", "list") == []
    [made, *_] = records(cli_db, "iam:UpdateRole", outcome="success")
    assert made.source == "cli" and made.actor == "operator (CLI)"


def test_request_approve_and_the_role_counts_until_then(org: Org, cli_db: Database) -> None:
    run("access", "requestable", "set", org.role_id, "--max-minutes", "480")
    made = as_json("--token", org.ana, "access", "request", "Sink readers", "--reason", "INC-12 hotfix",
                   "--minutes", "45")  # fmt: skip
    assert (made["status"], made["username"], made["role"], made["minutes"]) == ("pending", "ana", "Sink readers", 45)
    assert not may(cli_db, org.ana_id)
    [pending] = [json.loads(line) for line in run("--token", org.olga, "access", "requests", "--status", "pending",
                                                  "--json").splitlines()]  # fmt: skip
    assert pending["id"] == made["id"] and pending["reason"] == "INC-12 hotfix"

    with pytest.raises(Forbidden, match="no statement allows iam:ApproveAccessRequest"):
        run("--token", org.ana, "access", "approve", made["id"])
    own = as_json("--token", org.olga, "access", "request", org.role_id, "--reason", "me too", "--minutes", "5")
    with pytest.raises(Forbidden, match="Nobody approves or denies their own request"):
        run("--token", org.olga, "access", "approve", own["id"])
    assert [r.status for r in requests_of(cli_db, org.olga_id)] == ["pending"]
    done = as_json("--token", org.olga, "access", "approve", made["id"], "--note", "ok", "--minutes", "30")
    assert done["status"] == "approved" and done["decided_by"] == "olga (token ci)" and done["note"] == "ok"
    assert close_to(datetime.fromisoformat(done["granted_until"]), utcnow() + timedelta(minutes=30))
    assert may(cli_db, org.ana_id)
    with pytest.raises(Conflict, match="approved already"):
        run("--token", org.olga, "access", "deny", made["id"])
    [recorded] = records(cli_db, "iam:ApproveAccessRequest", outcome="success")
    assert recorded.source == "cli" and recorded.summary["user"] == "ana"

    assert run("--token", org.ana, "access", "give-up", "Sink readers") == "You gave up Sink readers.\n"
    assert not may(cli_db, org.ana_id)
    with pytest.raises(NotFound):
        run("--token", org.ana, "access", "give-up", "Sink readers")


def test_deny_cancel_and_bad_requests(org: Org, cli_db: Database) -> None:
    run("access", "requestable", "set", org.role_id, "--max-minutes", "60")
    for minutes in ("0", "-1", "soon"):
        result = invoke(
            "--token", org.ana, "access", "request", "Sink readers", "--reason", "why not", "--minutes", minutes
        )
        assert result.exit_code == 2 and "--minutes" in result.output
    with pytest.raises(InvalidInput, match="minutes: Sink readers may be granted for 1 to 60 minutes"):
        run("--token", org.ana, "access", "request", "Sink readers", "--reason", "why not", "--minutes", "61")
    with pytest.raises(InvalidInput, match="reason"):
        run("--token", org.ana, "access", "request", "Sink readers", "--reason", " ", "--minutes", "5")
    with pytest.raises(Forbidden, match="Only a signed-in user may ask"):  # the host operator has no account
        run("access", "request", "Sink readers", "--reason", "operator", "--minutes", "5")
    assert requests_of(cli_db, org.ana_id) == []

    first = as_json("--token", org.ana, "access", "request", "Sink readers", "--reason", "first", "--minutes", "5")
    denied = as_json("--token", org.olga, "access", "deny", first["id"], "--note", "use the runbook")
    assert denied["status"] == "denied" and denied["note"] == "use the runbook"
    second = as_json("--token", org.ana, "access", "request", "Sink readers", "--reason", "second", "--minutes", "5")
    with pytest.raises(Forbidden, match="Only the person who asked"):
        run("--token", org.olga, "access", "cancel", second["id"])
    assert run("--token", org.ana, "access", "cancel", second["id"]).split("\t")[1] == "cancelled"
    with pytest.raises(InvalidInput, match="status: one of"):
        run("--token", org.ana, "access", "requests", "--status", "lost")
    mine = [json.loads(line) for line in run("--token", org.ana, "access", "requests", "--json").splitlines()]
    assert sorted(r["status"] for r in mine) == ["cancelled", "denied"]
    assert not may(cli_db, org.ana_id)


def test_the_review_export_and_who_may(org: Org, cli_db: Database) -> None:
    run("access", "requestable", "set", org.role_id, "--max-minutes", "60")
    made = as_json("--token", org.ana, "access", "request", "Sink readers", "--reason", "review me", "--minutes", "60")
    run("--token", org.olga, "access", "approve", made["id"])

    exported = run("access", "review", "--role", "Sink readers")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["username"], r["role"], r["origin"].split(",")[0]) for r in rows] == [("ana", "Sink readers",
                                                                                      "access request")]  # fmt: skip
    assert rows[0]["expires_at"] and rows[0]["granted_by"] == "olga (token ci)"
    as_list = json.loads(run("access", "review", "--origin", "request", "--format", "json"))
    assert [entry["username"] for entry in as_list] == ["ana"] and as_list[0]["roles"][0]["origin"] == "request"
    with pytest.raises(InvalidInput, match="origin: one of"):
        run("access", "review", "--origin", "magic")
    result = invoke("access", "review", "--not-signed-in-days", "-1")
    assert result.exit_code == 2
    assert [r.summary["export"] for r in records(cli_db, "iam:GetAccessReview", outcome="success")] == ["json", "csv"]

    answer = as_json("access", "who-may", SINKS_READ, "arn:gatehouse:iam:organization/*")
    assert set(answer["users"]) == {"admin", "ana", "olga"} and answer["total"] == 3 and answer["super_admins"] == 1
    assert any(s["roles"] == ["Sink readers"] and s["users"] == 1 for s in answer["grant_sets"])
    plain = run("access", "who-may", SINKS_READ, "arn:gatehouse:iam:organization/*")
    assert plain.startswith("3 user(s) may do iam:GetAuditSink on arn:gatehouse:iam:organization/*")
    with pytest.raises(InvalidInput, match="labels: JSON by condition key"):
        run("access", "who-may", SINKS_READ, "arn:gatehouse:iam:organization/*", "--labels", "{nope")
    with pytest.raises(Forbidden):
        run("--token", org.ana, "access", "who-may", SINKS_READ, "arn:gatehouse:iam:organization/*")


def test_a_reason_that_holds_terminal_controls_is_printed_inert(org: Org, cli_db: Database) -> None:
    """A request's reason is typed by whoever asks; the approver's terminal must not obey what it holds: control
    characters come out written as \\xNN (an escape sequence, a carriage return that would overwrite the line)."""
    run("access", "requestable", "set", org.role_id, "--max-minutes", "60")
    reason = "fix \x1b]52;c;ZXZpbA==\x07 now\rapproved by CEO\x9b2J"
    as_json("--token", org.ana, "access", "request", "Sink readers", "--reason", reason, "--minutes", "5")
    listed = run("--token", org.olga, "access", "requests", "--status", "pending")
    assert "\x1b" not in listed and "\x07" not in listed and "\r" not in listed and "\x9b" not in listed
    assert "fix \\x1b]52;c;ZXZpbA==\\x07 now\\x0dapproved by CEO\\x9b2J" in listed and listed.count("\n") == 1
    [as_data] = [json.loads(line) for line in run("--token", org.olga, "access", "requests", "--json").splitlines()]
    assert as_data["reason"] == reason  # JSON keeps the text as it was, escaped by JSON itself
