"""The integrity check (``gatehouse.store.integrity``) on SQLite and PostgreSQL: clean on a database the
services wrote, and a finding for each kind of damage done on purpose behind their back."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from gatehouse.store import groups as group_store
from gatehouse.store import integrity, migration
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection, Database
from support.pg import fresh_postgres_schema

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def add_user(connection: Connection, name: str, email: str | None = None) -> str:
    doc = {"schemas": [USER], "userName": name, "active": True}
    if email:
        doc["emails"] = [{"value": email, "type": "work", "primary": True}]
    return user_store.insert(connection, user_store.UserWrite(str(uuid.uuid4()), doc), NOW).id


def add_group(connection: Connection, name: str, members: list[str]) -> str:
    group_id = str(uuid.uuid4())
    group_store.insert(connection, group_store.GroupWrite(group_id, {"schemas": [GROUP], "displayName": name}), NOW)
    group_store.add_members(connection, group_id, members, {})
    return group_id


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of its own (the damage below changes the schema, which the shared one must keep)."""
    if request.param == "sqlite":
        db = Database.from_url(f"sqlite:///{tmp_path / 'scratch.db'}", pool_size=2)
        migration.upgrade(db.engine)
        yield db
        db.dispose()
        return
    with fresh_postgres_schema() as url:
        db = Database.from_url(url, pool_size=2)
        migration.upgrade(db.engine)
        yield db
        db.dispose()


@pytest.fixture
def world(scratch: Database) -> dict[str, str]:
    db = scratch
    with db.transaction() as connection:
        ann = add_user(connection, "Ann", "ann@example.com")
        bob = add_user(connection, "bob", "shared@example.com")
        cid = add_user(connection, "cid", "shared@example.com")  # e-mails need not be unique (RFC 7643 §4.1.2)
        ops = add_group(connection, "Ops", [ann, bob])
    return {"ann": ann, "bob": bob, "cid": cid, "ops": ops}


def check(db: Database) -> integrity.Report:
    return integrity.run(db)


def test_a_database_written_by_the_services_is_sound(scratch: Database, world: dict[str, str]) -> None:
    report = check(scratch)
    assert report.ok, report.text()
    assert report.counts["users"] == 3 and report.counts["group_members"] == 2 and report.counts["user_emails"] == 3
    assert len(report.checks) == 6
    assert "OK: no problem found." in report.text()


def _drop_index(connection: Connection, name: str) -> None:
    connection.execute(sa.text(f"DROP INDEX {name}"))


def _duplicate_user_name(connection: Connection, world: dict[str, str]) -> None:
    _drop_index(connection, "uq_users_user_name_lower")
    add_user(connection, "ANN")


def _duplicate_group_name(connection: Connection, world: dict[str, str]) -> None:
    _drop_index(connection, "uq_groups_display_name_lower")
    add_group(connection, "ops", [])


def _lower_case_drift(connection: Connection, world: dict[str, str]) -> None:
    connection.execute(
        sa.text("UPDATE users SET user_name_lower = 'someone else' WHERE id = :id"), {"id": world["bob"]}
    )


def _orphan_member(connection: Connection, world: dict[str, str]) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # not inside a transaction: see the fixture
    else:
        connection.execute(sa.text("ALTER TABLE group_members DROP CONSTRAINT fk_group_members_user_id_users"))
    connection.execute(
        sa.text("INSERT INTO group_members (group_id, user_id) VALUES (:g, 'no-such-user')"), {"g": world["ops"]}
    )


def _broken_document(connection: Connection, world: dict[str, str]) -> None:
    connection.execute(sa.text("UPDATE users SET data = '[1, 2' WHERE id = :id"), {"id": world["ann"]})


def _document_of_another_user(connection: Connection, world: dict[str, str]) -> None:
    connection.execute(
        sa.text("UPDATE users SET data = (SELECT data FROM users WHERE id = :other) WHERE id = :id"),
        {"id": world["ann"], "other": world["bob"]},
    )


def _lost_email_rows(connection: Connection, world: dict[str, str]) -> None:
    connection.execute(sa.text("DELETE FROM user_emails WHERE user_id = :id"), {"id": world["cid"]})


def _count_drift(connection: Connection, world: dict[str, str]) -> None:
    connection.execute(sa.text("UPDATE user_counts SET tally = tally + 2 WHERE source = 'scim' AND shard = 0"))


DAMAGE: dict[str, tuple[Callable[[Connection, dict[str, str]], None], str, str]] = {
    "duplicate userName": (_duplicate_user_name, "uniqueness", "1 userName(s) held by more than one row"),
    "duplicate group name": (_duplicate_group_name, "uniqueness", "group displayName(s) held by more than one row"),
    "lower-case column drift": (_lower_case_drift, "uniqueness", "user_name_lower is not user_name in lower case"),
    "orphaned membership": (_orphan_member, "foreign keys", "user_id names no row of users: 'no-such-user'"),
    "unreadable document": (_broken_document, "documents", "stored documents that are not an object"),
    "another user's document": (_document_of_another_user, "documents", "stored documents that are not an object"),
    "lost e-mail rows": (_lost_email_rows, "documents", "e-mail rows that differ from the user's document"),
    "user counts drift": (_count_drift, "user counts", "scim active: 5 kept, 3 counted"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_done_on_purpose_is_found(scratch: Database, world: dict[str, str], damage: str) -> None:
    db = scratch
    do, kind, words = DAMAGE[damage]
    with db.engine.connect() as connection:
        if damage == "orphaned membership" and connection.dialect.name == "sqlite":
            do(connection, world)  # PRAGMA foreign_keys only changes outside a transaction; autocommit here
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        else:
            with connection.begin():
                do(connection, world)
    report = check(db)
    assert not report.ok
    found = [f for f in report.findings if f.check == kind and words in f.detail]
    assert found, report.text()
    assert f"[{kind}]" in report.text() and "PROBLEMS:" in report.text()


def test_a_schema_behind_its_migrations_is_reported_and_nothing_else_is_run(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        report = check(db)
    finally:
        db.dispose()
    assert [f.check for f in report.findings] == ["migrations"]
    assert "run 'gatehouse db upgrade'" in report.findings[0].detail


def test_sqlite_storage_damage_is_found(tmp_path: Path) -> None:
    """Bytes of an index's page overwritten in the file: PRAGMA integrity_check says so, and the other checks
    still run (or say they could not)."""
    url = f"sqlite:///{tmp_path / 'damaged.db'}"
    db = Database.from_url(url)
    migration.upgrade(db.engine)
    with db.transaction() as connection:
        for index in range(300):
            add_user(connection, f"user-{index:04}", f"user-{index}@example.com")
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        root = connection.exec_driver_sql(
            "SELECT rootpage FROM sqlite_master WHERE name = 'ix_users_email_lower'"
        ).scalar_one()
    db.dispose()
    path = tmp_path / "damaged.db"
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size + 8)
        file.write(b"\xff" * 64)
    db = Database.from_url(url)
    try:
        report = check(db)
    finally:
        db.dispose()
    assert not report.ok
    assert any(f.check == "storage" for f in report.findings), report.text()
