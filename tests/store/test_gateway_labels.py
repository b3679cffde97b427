"""Labels of gateway resources in storage, on both databases: kept, replaced, removed, read many at once."""

from __future__ import annotations

from gatehouse.store import gateway_labels as store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow

GG = "arn:api7:gateway:gatewaygroup"


def test_put_get_replace_remove(db: Database) -> None:
    with db.transaction() as connection:
        store.put(connection, f"{GG}/dev", {"env": "dev", "team": "a"}, "alice", utcnow())
    with db.transaction() as connection:
        found = store.get(connection, f"{GG}/dev")
        assert found is not None and found.labels == {"env": "dev", "team": "a"} and found.updated_by == "alice"
        store.put(connection, f"{GG}/dev", {"env": "staging"}, "bob", utcnow())
    with db.transaction() as connection:
        found = store.get(connection, f"{GG}/dev")
        assert found is not None and found.labels == {"env": "staging"} and found.updated_by == "bob"
        store.put(connection, f"{GG}/dev", {}, "bob", utcnow())
        assert store.get(connection, f"{GG}/dev") is None


def test_many_at_once_and_listing(db: Database) -> None:
    names = [f"{GG}/g{n:04d}" for n in range(1200)]  # more than one IN (…) chunk
    with db.transaction() as connection:
        for n, name in enumerate(names):
            store.put(connection, name, {"n": str(n)}, None, utcnow())
        store.put(connection, f"{GG}/g_x/publishedservice/s%1", {"odd": "name"}, None, utcnow())
    with db.reader() as connection:
        found = store.labels_of(connection, [*names[::3], f"{GG}/missing"])
        assert len(found) == 400 and found[names[3]] == {"n": "3"} and f"{GG}/missing" not in found
        assert len(store.listing(connection, "", 10)) == 10
        assert [item.resource for item in store.listing(connection, f"{GG}/g_x/")] == [
            f"{GG}/g_x/publishedservice/s%1"
        ]  # '_' and '%' in a prefix are literal
        assert store.listing(connection, f"{GG}/g%") == []
