"""Reads by many ids, one bounded ``IN (…)`` list at a time (store/batches.py)."""

from __future__ import annotations

import uuid

from gatehouse.store import batches, groups, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import group_members

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_in_chunks_keeps_the_first_of_each_id_in_order() -> None:
    ids = [f"id{n:04}" for n in range(batches.CHUNK + 2)]
    chunks = list(batches.in_chunks([*ids, "id0000", "id0001"]))
    assert [len(chunk) for chunk in chunks] == [batches.CHUNK, 2]
    assert [i for chunk in chunks for i in chunk] == ids
    assert list(batches.in_chunks([])) == []


def test_rows_by_groups_the_rows_of_every_id_in_order(db: Database) -> None:
    group_ids = [str(uuid.uuid4()) for _ in range(2)]
    with db.transaction() as connection:
        for number, group_id in enumerate(group_ids):
            groups.insert(connection, groups.GroupWrite(group_id, {"displayName": f"G{number}"}), utcnow())
        user_ids = []
        for number in range(batches.CHUNK + 1):
            user_id = f"{number:04}-{uuid.uuid4().hex[:31]}"  # ids sort in the order they are made
            write = users.UserWrite(id=user_id, doc={"schemas": [USER], "userName": f"u{number}"})
            user_ids.append(users.insert(connection, write, utcnow()).id)
        groups.add_members(connection, group_ids[0], user_ids[:3])
        groups.add_members(connection, group_ids[1], [user_ids[-1]])
    members = group_members.c
    asked = [*user_ids, "no-such-user", user_ids[0]]
    with db.snapshot() as connection:
        found = batches.rows_by(connection, members.user_id, asked, members.group_id)
        by_group = batches.rows_by(connection, members.group_id, reversed(group_ids), members.user_id.desc())
        group_ids_of = batches.records_by(connection, members.user_id, asked, lambda row: row.group_id)
    assert list(found) == [*user_ids, "no-such-user"]  # every id, once, in the order asked
    assert [row.group_id for row in found[user_ids[0]]] == [group_ids[0]]
    assert [row.group_id for row in found[user_ids[-1]]] == [group_ids[1]]  # from the second IN list
    assert found[user_ids[5]] == [] and found["no-such-user"] == []
    assert [row.user_id for row in by_group[group_ids[0]]] == list(reversed(user_ids[:3]))  # in the order given
    assert list(by_group) == list(reversed(group_ids))
    # records_by: the same grouping, each row made a record
    assert group_ids_of == {key: [row.group_id for row in rows] for key, rows in found.items()}
