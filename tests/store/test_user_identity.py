"""Small look-ups of who a user is (the decision API's subject, forward-auth headers), on both databases."""

from __future__ import annotations

import uuid

from gatehouse.store import user_identity
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_by_id_and_by_user_name(db: Database) -> None:
    doc = {
        "schemas": [USER],
        "userName": "Ann",
        "active": False,
        "emails": [{"value": "Ann@Example.com", "primary": True}],
    }
    with db.transaction() as connection:
        user = user_store.insert(
            connection, user_store.UserWrite(id=str(uuid.uuid4()), doc=doc, source="scim"), utcnow()
        )
    with db.reader() as connection:
        found = user_identity.by_id(connection, user.id)
        assert found == user_identity.Identity(user.id, "Ann", "ann@example.com", False)
        assert user_identity.by_user_name(connection, "aNN") == found
        assert user_identity.by_id(connection, "nope") is None
        assert user_identity.by_user_name(connection, "nope") is None
