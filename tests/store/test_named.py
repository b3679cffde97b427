"""Named, versioned records (store/named.py) through the roles and policies repositories, on SQLite and
PostgreSQL: what an insert returns, the seeding insert that tolerates a taken id or name, and the order
of a listing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from gatehouse.errors import Conflict
from gatehouse.store import policies, roles
from gatehouse.store.database import Database
from gatehouse.store.policies import PolicyWrite
from gatehouse.store.records import utcnow
from gatehouse.store.roles import RoleWrite

DOCUMENT = '{"statement":[]}'


def test_an_insert_returns_the_record_as_it_is_read_back(db: Database) -> None:
    with db.transaction() as connection:
        role = roles.insert(connection, str(uuid.uuid4()), RoleWrite("Ops", "runs", {"z": "1", "a": "2"}), utcnow())
        policy = policies.insert(connection, str(uuid.uuid4()), PolicyWrite("p", DOCUMENT), utcnow(), built_in=True)
    with db.snapshot() as connection:
        assert roles.get(connection, role.id) == role and role.version == 1 and not role.built_in
        assert policies.get(connection, policy.id) == policy and policy.built_in and policy.document == DOCUMENT


@pytest.mark.parametrize(
    ("repository", "write", "renamed"),
    [
        (roles, RoleWrite("Seeded", "from the seed"), RoleWrite("SEEDED")),
        (policies, PolicyWrite("Seeded", DOCUMENT, "from the seed"), PolicyWrite("SEEDED", DOCUMENT)),
    ],
    ids=["roles", "policies"],
)
def test_insert_if_new_skips_a_taken_id_or_name_and_keeps_the_transaction(
    db: Database, repository: Any, write: RoleWrite | PolicyWrite, renamed: RoleWrite | PolicyWrite
) -> None:
    seeded_id, other_id = str(uuid.uuid4()), str(uuid.uuid4())
    with db.transaction() as connection:
        assert repository.insert_if_new(connection, seeded_id, write, utcnow(), built_in=True) is True
        assert repository.insert_if_new(connection, seeded_id, renamed, utcnow()) is False  # the id is taken
        assert repository.insert_if_new(connection, other_id, renamed, utcnow()) is False  # the name, in any case
        assert repository.get(connection, other_id) is None
        stored = repository.get(connection, seeded_id)  # and the transaction is still usable
    assert stored is not None and stored.built_in and (stored.name, stored.description) == ("Seeded", "from the seed")
    with db.snapshot() as connection:
        assert repository.get_by_name(connection, "seeded").id == seeded_id


def test_a_taken_name_on_insert_is_a_conflict_naming_the_kind(db: Database) -> None:
    with db.transaction() as connection:
        roles.insert(connection, str(uuid.uuid4()), RoleWrite("Ops"), utcnow())
        policies.insert(connection, str(uuid.uuid4()), PolicyWrite("ops", DOCUMENT), utcnow())
        with pytest.raises(Conflict, match=r"A role named 'OPS' already exists \(role names ignore case\)"):
            roles.insert(connection, str(uuid.uuid4()), RoleWrite("OPS"), utcnow())
        with pytest.raises(Conflict, match=r"A permission policy named 'Ops' already exists \(policy names"):
            policies.insert(connection, str(uuid.uuid4()), PolicyWrite("Ops", DOCUMENT), utcnow())


def test_list_all_is_by_name_in_any_case(db: Database) -> None:
    with db.transaction() as connection:
        for name in ("beta", "Alpha", "gamma"):
            roles.insert(connection, str(uuid.uuid4()), RoleWrite(name), utcnow())
    with db.snapshot() as connection:
        assert [role.name for role in roles.list_all(connection)] == ["Alpha", "beta", "gamma"]
