"""What may be bound to a statement (``gatehouse.store.parameters``), on SQLite and PostgreSQL: a NUL, a lone
surrogate or an integer beyond 64 bits is refused with 400 before any statement runs, the same on both
databases, through SQLAlchemy and through the hot path's DBAPI cursor alike; records of requests are kept
whatever they hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from gatehouse.errors import InvalidInput
from gatehouse.store import driver, lookups, scim_activity
from gatehouse.store import users as store
from gatehouse.store.audit import AuditRecord, insert
from gatehouse.store.database import Database
from gatehouse.store.parameters import check, clean_text
from gatehouse.store.tables import audit_events, users
from gatehouse.store.tables import scim_activity as activity_table

BAD = ["a\x00b", "\ud800", "x\udfff", 2**63, -(2**63) - 1, 2**70]
GOOD = ["", "ünïcödé 😀", "\ufffd", 2**63 - 1, -(2**63), 0, 1.5, True, None, b"\x00", datetime(2026, 1, 1)]


@pytest.mark.parametrize("value", BAD)
def test_unbindable_values_are_refused(value: Any) -> None:
    for parameters in ({"v": value}, (value,), [{"v": value}], [(1, value)]):
        with pytest.raises(InvalidInput):
            check(parameters)


def test_bindable_values_pass() -> None:
    check({f"v{i}": value for i, value in enumerate(GOOD)})
    check(tuple(GOOD))
    check(None)


def test_clean_text_makes_any_string_storable() -> None:
    assert clean_text("a\x00b\ud800c") == "a\ufffdb\ufffd\ufffd\ufffdc"
    assert clean_text("plain") == "plain"
    assert clean_text(None) is None


@pytest.mark.parametrize("value", BAD)
def test_both_databases_refuse_them_the_same_way(db: Database, value: Any) -> None:
    with db.reader() as connection:
        with pytest.raises(InvalidInput):
            connection.execute(sa.select(users.c.id).where(users.c.user_name == value))
        with pytest.raises(InvalidInput):
            driver.fetch_one(
                connection, f"SELECT id FROM users WHERE id = {driver.mark(connection, 'id')}", {"id": value}
            )
        if isinstance(value, str):
            with pytest.raises(InvalidInput):
                lookups.user_by_name(connection, value)
        assert connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 0  # still usable


def test_a_write_refused_leaves_the_transaction_usable_for_its_rollback(db: Database) -> None:
    doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a\x00b"}
    with pytest.raises(InvalidInput), db.transaction() as connection:
        store.insert(connection, store.UserWrite(str(uuid.uuid4()), doc), datetime.now(UTC))
    with db.reader() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 0


def test_records_of_requests_are_kept_whatever_they_hold(db: Database) -> None:
    record = AuditRecord(
        occurred_at=datetime.now(UTC),
        source="scim",
        event="scim:GetUser\x00",
        actor="SCIM token \ud800",
        actor_id=None,
        resource_type="user",
        resource_id="a\x00b" * 200,
        ip="127.0.0.1",
        user_agent="agent\x00",
        outcome="refused",
        status=400,
        error="bad \x00 value \udc00",
        summary={"path": "/scim/v2/Users/a\x00b\ud800"},
    )
    with db.transaction() as connection:
        insert(connection, record)
        scim_activity.write(
            connection,
            [
                {
                    "at": datetime.now(UTC),
                    "token_name": "t\x00",
                    "method": "GET",
                    "path": "/Users/\x00",
                    "status": 400,
                    "detail": "\ud800",
                    "ip": None,
                }
            ],
        )
    with db.reader() as connection:
        stored = connection.execute(sa.select(audit_events.c.resource_id, audit_events.c.error)).one()
        assert stored.resource_id.startswith("a\ufffdb") and len(stored.resource_id) == 255
        assert stored.error == "bad \ufffd value \ufffd\ufffd\ufffd"
        path = connection.execute(sa.select(activity_table.c.path)).scalar_one()
        assert path == "/Users/\ufffd"
