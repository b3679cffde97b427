"""The forward-auth rule table's storage, on both databases: insert at a place, update with a version, move,
delete, and the order they are read in."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gatehouse.errors import NotFound, PreconditionFailed
from gatehouse.store import authz_rules as store
from gatehouse.store.authz_rules import RuleWrite
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow


def write(path: str, **extra: object) -> RuleWrite:
    fields: dict[str, object] = {
        "methods": ("GET",),
        "path": path,
        "action": "gateway:GetGatewayGroup",
        "resource": "arn:api7:gateway:gatewaygroup/{gg}",
        "query": {"gg": "gateway_group_id"},
        "labels": {},
        **extra,
    }
    return RuleWrite(**fields)  # type: ignore[arg-type]


def paths(db: Database) -> list[str]:
    with db.reader() as connection:
        return [rule.path for rule in store.all_rules(connection)]


def add(db: Database, path: str, index: int | None = None) -> str:
    rule_id = str(uuid.uuid4())
    with db.transaction() as connection:
        store.insert(connection, rule_id, write(path), utcnow(), index)
    return rule_id


def test_rules_keep_their_fields(db: Database) -> None:
    labels = {"gateway_group_label": {"env": "{env}"}}
    with db.transaction() as connection:
        stored = store.insert(
            connection, "r1", write("/a/{env}", methods=("PUT", "PATCH"), labels=labels, description="d"), utcnow()
        )
    assert stored.methods == ("PUT", "PATCH") and stored.query == {"gg": "gateway_group_id"}
    assert stored.labels == labels and stored.description == "d" and stored.version == 1 and stored.position == 0
    assert stored.created.tzinfo is not None
    with db.reader() as connection:
        assert store.get(connection, "r1") == stored
        assert store.get(connection, "r2") is None
        assert store.count(connection) == 1


def test_insert_at_a_place_and_move(db: Database) -> None:
    first, second = add(db, "/1"), add(db, "/2")
    third = add(db, "/0", 0)
    add(db, "/1.5", 2)
    add(db, "/end", 99)
    assert paths(db) == ["/0", "/1", "/1.5", "/2", "/end"]
    with db.transaction() as connection:
        store.move(connection, second, 0)
    assert paths(db) == ["/2", "/0", "/1", "/1.5", "/end"]
    with db.transaction() as connection:
        store.move(connection, third, 10)
        assert store.index_of(connection, third) == 4
        assert store.index_of(connection, first) == 1
        assert store.index_of(connection, "nope") is None
    assert paths(db) == ["/2", "/1", "/1.5", "/end", "/0"]
    with db.transaction() as connection, pytest.raises(NotFound):
        store.move(connection, "nope", 0)


def test_update_keeps_the_place_and_counts_versions(db: Database) -> None:
    add(db, "/a")
    rule_id = add(db, "/b")
    later = utcnow() + timedelta(seconds=1)
    with db.transaction() as connection:
        updated = store.update(connection, rule_id, write("/b2", action="gateway:DeleteGatewayGroup"), later, 1)
    assert (updated.path, updated.action, updated.version, updated.position) == (
        "/b2",
        "gateway:DeleteGatewayGroup",
        2,
        1,
    )
    assert updated.updated > updated.created
    with db.transaction() as connection, pytest.raises(PreconditionFailed):
        store.update(connection, rule_id, write("/b3"), utcnow(), 1)
    with db.transaction() as connection, pytest.raises(NotFound):
        store.update(connection, "nope", write("/x"), utcnow())


def test_delete(db: Database) -> None:
    keep, gone = add(db, "/keep"), add(db, "/gone")
    with db.transaction() as connection:
        assert store.delete(connection, gone).path == "/gone"
    assert paths(db) == ["/keep"]
    with db.transaction() as connection, pytest.raises(NotFound):
        store.delete(connection, gone)
    with db.reader() as connection:
        assert store.index_of(connection, keep) == 0
