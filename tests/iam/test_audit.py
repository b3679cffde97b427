"""The audit log core on SQLite and PostgreSQL: search filters, keyset paging, cursors, masking of secrets,
audited() recording a success with its work and a refusal or failure on its own, and the retention purge
(batched, and run by the background task as the app starts)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound
from gatehouse.iam import audit
from gatehouse.iam.audit import MASK, Change, Origin, audited, mask, outcome_of, purge_expired, record
from gatehouse.iam.retention import purging
from gatehouse.store import audit as store
from gatehouse.store.audit import AuditQuery, AuditRecord
from gatehouse.store.database import Database
from gatehouse.store.tables import app_settings, audit_events
from support.coroutines import run_apart

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALICE = Origin("dashboard", "alice", "id-alice", "203.0.113.7", "Firefox/130")
BOB = Origin("api", "bob (token ci)", "id-bob", "198.51.100.2", "curl/8")
OKTA = Origin("scim", "SCIM token okta", None, "192.0.2.9", "Okta SCIM Client")


def add(
    db: Database, origin: Origin, change: Change, when: datetime, status: int = 200, error: str | None = None
) -> None:
    with db.transaction() as connection:
        record(connection, origin, change, status=status, error=error, now=when)


def search(db: Database, limit: int = 50, cursor: str | None = None, **filters: Any) -> store.AuditPage:
    with db.reader() as connection:
        return store.search(connection, AuditQuery(**filters), limit, cursor)


def events(db: Database, **filters: Any) -> list[str]:
    return [r.event for r in search(db, **filters).records]


def everything(db: Database) -> list[AuditRecord]:
    return search(db, limit=store.MAX_PAGE_SIZE).records


def count(db: Database) -> int:
    with db.reader() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


@pytest.fixture
def sample(db: Database) -> Database:
    """Six records a minute apart (newest last): three surfaces, three outcomes."""
    add(db, ALICE, Change("iam:CreateToken", "token", "tok-1", {"name": "ci"}), T0)
    add(db, BOB, Change("iam:UpdateUserStatus", "user", "user-9", {"active": False}), T0 + timedelta(minutes=1))
    add(db, OKTA, Change("scim:CreateUser", "user", "user-9"), T0 + timedelta(minutes=2))
    add(db, ALICE, Change("iam:DeleteAnyToken", "token", "tok-2"), T0 + timedelta(minutes=3), 403, "not allowed")
    add(db, OKTA, Change("scim:Create_Group", "group", "grp-1"), T0 + timedelta(minutes=4), 409, "taken")
    add(db, BOB, Change("auth:SignIn"), T0 + timedelta(minutes=5))
    return db


# ------------------------------------------------------------------------------------------ search


def test_records_come_back_newest_first_with_every_field(sample: Database) -> None:
    found = everything(sample)
    assert [r.event for r in found] == [
        "auth:SignIn",
        "scim:Create_Group",
        "iam:DeleteAnyToken",
        "scim:CreateUser",
        "iam:UpdateUserStatus",
        "iam:CreateToken",
    ]
    refused = found[2]
    assert (refused.source, refused.actor, refused.actor_id) == ("dashboard", "alice", "id-alice")
    assert (refused.resource_type, refused.resource_id) == ("token", "tok-2")
    assert (refused.ip, refused.user_agent) == ("203.0.113.7", "Firefox/130")
    assert (refused.outcome, refused.status, refused.error) == ("refused", 403, "not allowed")
    assert refused.occurred_at == T0 + timedelta(minutes=3) and refused.occurred_at.tzinfo is not None
    assert found[-1].summary == {"name": "ci"} and found[-1].outcome == "success"
    assert found[1].outcome == "failed" and found[1].status == 409
    assert found[-1].as_dict()["occurred_at"] == T0.isoformat()


def test_event_filter_is_exact_or_a_prefix_ending_in_a_star(sample: Database) -> None:
    assert events(sample, event="scim:CreateUser") == ["scim:CreateUser"]
    assert events(sample, event="scim:Create") == []  # exact unless it ends in *
    assert events(sample, event="iam:*") == ["iam:DeleteAnyToken", "iam:UpdateUserStatus", "iam:CreateToken"]
    assert events(sample, event="scim:*") == ["scim:Create_Group", "scim:CreateUser"]
    # LIKE wildcards in the prefix are literal: "_" matches an underscore only, "%" nothing special
    assert events(sample, event="scim:Create_*") == ["scim:Create_Group"]
    assert events(sample, event="scim:%*") == []
    assert events(sample, event="*") == [r.event for r in everything(sample)]


def test_actor_resource_source_and_outcome_filters(sample: Database) -> None:
    assert events(sample, actor="alice") == ["iam:DeleteAnyToken", "iam:CreateToken"]
    assert events(sample, actor="id-bob") == ["auth:SignIn", "iam:UpdateUserStatus"]  # or by user id
    assert events(sample, actor="ALICE") == []  # the name as logged, exactly
    assert events(sample, resource_id="user-9") == ["scim:CreateUser", "iam:UpdateUserStatus"]
    assert events(sample, source="scim") == ["scim:Create_Group", "scim:CreateUser"]
    assert events(sample, outcome="refused") == ["iam:DeleteAnyToken"]
    assert events(sample, outcome="failed") == ["scim:Create_Group"]
    assert events(sample, source="api", outcome="success", actor="bob (token ci)") == [
        "auth:SignIn",
        "iam:UpdateUserStatus",
    ]
    assert events(sample, source="cli") == []


def test_time_range_includes_since_and_excludes_until(sample: Database) -> None:
    since, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)
    assert events(sample, since=since, until=until) == ["scim:CreateUser", "iam:UpdateUserStatus"]
    assert events(sample, since=T0 + timedelta(minutes=5)) == ["auth:SignIn"]
    assert events(sample, until=T0 + timedelta(seconds=1)) == ["iam:CreateToken"]
    other_zone = (T0 + timedelta(minutes=4)).astimezone(datetime.now().astimezone().tzinfo)
    assert events(sample, since=other_zone) == ["auth:SignIn", "scim:Create_Group"]
    assert events(sample, since=T0 + timedelta(days=1)) == []


# ------------------------------------------------------------------------------------------ paging


def test_keyset_paging_visits_every_record_once_even_with_equal_timestamps(db: Database) -> None:
    """23 records on 5 distinct instants: pages of 4 walk them all, newest first, no duplicate, no gap."""
    for i in range(23):
        add(db, ALICE, Change(f"iam:Event{i:02d}", "user", f"u{i}"), T0 + timedelta(seconds=i // 5))
    seen: list[AuditRecord] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = search(db, limit=4, cursor=cursor)
        pages += 1
        assert len(page.records) <= 4
        seen.extend(page.records)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 6 and len(seen) == 23
    assert len({r.id for r in seen}) == 23
    keys = [(r.occurred_at, r.id) for r in seen]
    assert keys == sorted(keys, reverse=True)
    assert {r.event for r in seen} == {f"iam:Event{i:02d}" for i in range(23)}
    exact = search(db, limit=23)
    assert len(exact.records) == 23 and exact.next_cursor is None  # no empty last page
    filtered: list[str] = []
    cursor = None
    while True:  # paging keeps the filters
        page = search(db, limit=2, cursor=cursor, since=T0 + timedelta(seconds=3))
        filtered += [r.event for r in page.records]
        if not (cursor := page.next_cursor):
            break
    assert sorted(filtered) == [f"iam:Event{i:02d}" for i in range(15, 23)]


def test_the_export_iterator_reads_page_by_page_up_to_its_limit(db: Database) -> None:
    for i in range(12):
        add(db, BOB, Change("iam:Thing", "user", f"u{i}"), T0 + timedelta(seconds=i % 3))
    with db.reader() as connection:
        every = list(store.iterate(connection, AuditQuery(), limit=100, batch=5))
        some = list(store.iterate(connection, AuditQuery(), limit=7, batch=5))
    assert len(every) == 12 and len({r.id for r in every}) == 12
    assert [r.id for r in some] == [r.id for r in every[:7]]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
        base64.urlsafe_b64encode(b'["yesterday", 5]').decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["2026-03-01T12:00:00+00:00", "x"]').decode(),
    ],
)
def test_an_invalid_cursor_is_invalid_input(db: Database, cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        search(db, cursor=cursor)


def test_a_cursor_round_trips() -> None:
    cursor = store.encode_cursor(T0, 42)
    assert store.decode_cursor(cursor) == (T0, 42) and "=" not in cursor


# ------------------------------------------------------------------------------------------ masking


def test_secrets_are_masked_at_any_depth_but_not_token_names() -> None:
    summary = {
        "password": "hunter2",
        "name": "ci",
        "token_name": "ci",
        "token_id": "tok-1",
        "hint": "…abcd",
        "settings": {
            "client_secret": "s3cret",
            "Authorization": "Bearer x",
            "providers": [{"api_key": "k", "issuer": "https://idp"}, {"private_key": "-----BEGIN"}],
        },
        "new_password": "",  # empty: nothing to hide, shown as empty
        "token": None,
        "scim_token": "ghs_abc",
        "credentials": {"user": "u"},
    }
    masked = mask(summary)
    assert masked["password"] == MASK and masked["scim_token"] == MASK and masked["credentials"] == MASK
    assert masked["name"] == "ci" and masked["token_name"] == "ci" and masked["token_id"] == "tok-1"
    assert masked["hint"] == "…abcd" and masked["new_password"] == "" and masked["token"] is None
    settings = masked["settings"]
    assert settings["client_secret"] == MASK and settings["Authorization"] == MASK
    assert settings["providers"] == [{"api_key": MASK, "issuer": "https://idp"}, {"private_key": MASK}]
    assert summary["password"] == "hunter2"  # the input is not modified
    long = mask({"note": "x" * 2_000})["note"]
    assert len(long) == audit.MAX_SUMMARY_TEXT + 1 and long.endswith("…")


def test_a_stored_summary_never_holds_the_secret(db: Database) -> None:
    secret = "gha_S3cr3tValueThatMustNeverBeStored"
    add(db, ALICE, Change("iam:CreateToken", "token", "t", {"name": "ci", "token": secret, "x": {"password": "p"}}), T0)
    with db.reader() as connection:
        raw = connection.execute(sa.select(audit_events.c.summary)).scalar_one()
    assert secret not in raw and '"p"' not in raw
    assert orjson.loads(raw) == {"name": "ci", "token": MASK, "x": {"password": MASK}}


def test_outcomes_and_long_errors() -> None:
    assert [outcome_of(s) for s in (200, 201, 303, 400, 401, 403, 404, 409, 500)] == [
        "success",
        "success",
        "success",
        "failed",
        "refused",
        "refused",
        "failed",
        "failed",
        "failed",
    ]


def test_a_long_error_is_cut(db: Database) -> None:
    add(db, ALICE, Change("iam:Thing"), T0, 400, "e" * 5_000)
    assert len(everything(db)[0].error or "") == audit.MAX_ERROR


# ------------------------------------------------------------------------------------------ audited()


def setting(db: Database, key: str) -> Any:
    with db.reader() as connection:
        return connection.execute(sa.select(app_settings.c.value).where(app_settings.c.key == key)).scalar()


def put_setting(key: str) -> Callable[[Connection], str]:
    def work(connection: Connection) -> str:
        connection.execute(app_settings.insert().values(key=key, value='"v"', updated=T0))
        return f"id-of-{key}"

    return work


def test_a_success_is_recorded_with_its_work(db: Database) -> None:
    change = Change("iam:CreateRole", "role", summary={"name": "ops"})
    result = run_apart(audited(db, ALICE, change, put_setting("k1"), describe=lambda made, c: c.about(made, extra=1)))
    assert result == "id-of-k1" and setting(db, "k1") == '"v"'
    [only] = everything(db)
    assert (only.event, only.outcome, only.status, only.error) == ("iam:CreateRole", "success", 200, None)
    assert only.resource_id == "id-of-k1" and only.summary == {"name": "ops", "extra": 1}
    assert (only.actor, only.source, only.ip) == ("alice", "dashboard", "203.0.113.7")


def test_the_record_is_in_the_works_transaction(db: Database) -> None:
    """When the record cannot be written (here: describe fails), the work is not committed either."""

    def broken(made: Any, change: Change) -> Change:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_apart(audited(db, ALICE, Change("iam:CreateRole", "role"), put_setting("k2"), describe=broken))
    assert setting(db, "k2") is None
    [failure] = everything(db)
    assert (failure.outcome, failure.status, failure.error) == ("failed", 500, "internal error")


@pytest.mark.parametrize(
    ("error", "outcome", "status"),
    [
        (Forbidden("You are not allowed to perform iam:DeleteRole"), "refused", 403),
        (Conflict("The role is still assigned."), "failed", 409),
        (NotFound("No such role."), "failed", 404),
        (InvalidInput("name: too long"), "failed", 400),
    ],
)
def test_a_refusal_or_failure_rolls_the_work_back_and_is_recorded_on_its_own(
    db: Database, error: Exception, outcome: str, status: int
) -> None:
    def work(connection: Connection) -> None:
        put_setting("k3")(connection)  # written, then the error: all of it rolls back
        raise error

    change = Change("iam:DeleteRole", "role", "role-1", {"name": "ops"})
    with pytest.raises(type(error)):
        run_apart(audited(db, BOB, change, work))
    assert setting(db, "k3") is None
    [only] = everything(db)
    assert (only.event, only.outcome, only.status, only.error) == ("iam:DeleteRole", outcome, status, str(error))
    assert (only.resource_id, only.summary, only.actor) == ("role-1", {"name": "ops"}, "bob (token ci)")


def test_audited_sync_behaves_the_same(db: Database) -> None:
    assert audit.audited_sync(db, ALICE, Change("iam:CreateRole"), put_setting("k4")) == "id-of-k4"

    def refused(connection: Connection) -> None:
        put_setting("k5")(connection)
        raise Forbidden("no")

    with pytest.raises(Forbidden):
        audit.audited_sync(db, ALICE, Change("iam:DeleteRole"), refused)
    assert setting(db, "k4") == '"v"' and setting(db, "k5") is None
    assert [(r.event, r.outcome) for r in everything(db)] == [
        ("iam:DeleteRole", "refused"),
        ("iam:CreateRole", "success"),
    ]


# ------------------------------------------------------------------------------------------ retention


def test_purge_deletes_only_older_records_oldest_first_in_batches(db: Database) -> None:
    for i in range(10):
        add(db, ALICE, Change(f"iam:Old{i}"), T0 - timedelta(days=100, minutes=-i))
    add(db, ALICE, Change("iam:Edge"), T0 - timedelta(days=60))  # exactly at the limit: kept
    add(db, ALICE, Change("iam:New"), T0 - timedelta(days=1))
    before = T0 - timedelta(days=60)
    with db.transaction() as connection:
        assert store.purge(connection, before, batch=3) == 3
    assert sorted(r.event for r in everything(db) if r.event.startswith("iam:Old")) == [
        f"iam:Old{i}" for i in range(3, 10)
    ]


def test_purge_expired_goes_batch_by_batch(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(10):
        add(db, ALICE, Change(f"iam:Old{i}"), T0 - timedelta(days=61, seconds=i))
    add(db, ALICE, Change("iam:Recent"), T0 - timedelta(days=59))
    batches: list[int] = []
    original = store.purge

    def small_batches(connection: Connection, before: datetime, batch: int = 4) -> int:
        gone = original(connection, before, batch=4)
        batches.append(gone)
        return gone

    monkeypatch.setattr(store, "PURGE_BATCH", 4)
    monkeypatch.setattr(store, "purge", small_batches)
    assert run_apart(purge_expired(db, timedelta(days=60), now=T0)) == 10
    assert batches == [4, 4, 2]
    assert [r.event for r in everything(db)] == ["iam:Recent"]
    assert run_apart(purge_expired(db, timedelta(days=60), now=T0)) == 0


def test_the_retention_task_purges_when_it_starts(db: Database) -> None:
    now = datetime.now(UTC)
    add(db, OKTA, Change("scim:CreateUser"), now - timedelta(days=90))
    add(db, OKTA, Change("scim:UpdateUser"), now - timedelta(days=31))
    add(db, OKTA, Change("scim:DeleteUser"), now - timedelta(minutes=5))

    async def main() -> None:
        async with purging(db, timedelta(days=30), interval=3600):
            with anyio.fail_after(5):
                while count(db) > 1:
                    await anyio.sleep(0.02)

    run_apart(main())
    assert [r.event for r in everything(db)] == ["scim:DeleteUser"]


def test_the_retention_task_survives_a_database_error(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing purge is logged and retried at the next run; the task keeps going."""
    add(db, OKTA, Change("scim:CreateUser"), datetime.now(UTC) - timedelta(days=90))
    calls: list[int] = []
    original = audit.purge_expired

    async def flaky(database: Database, retention: timedelta, now: datetime | None = None) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("DELETE", {}, Exception("database is locked"))
        return await original(database, retention, now)

    monkeypatch.setattr("gatehouse.iam.retention.purge_expired", flaky)

    async def main() -> None:
        async with purging(db, timedelta(days=30), interval=0.05):
            with anyio.fail_after(5):
                while count(db):
                    await anyio.sleep(0.02)

    run_apart(main())
    assert len(calls) >= 2 and count(db) == 0
