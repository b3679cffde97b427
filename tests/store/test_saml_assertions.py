"""Consumed SAML assertion ids, on both databases: taken once (the primary key decides, so a replay in any
process is refused), per login option, purged once expired, and gone with their option."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gatehouse.login.options import LoginOptionWrite
from gatehouse.login.saml import SamlSettings
from gatehouse.store import login_options, saml_assertions
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import saml_assertions as table
from support.oidc_provider import count

METADATA = '<EntityDescriptor entityID="x"/>'


def saml_option(db: Database, name: str = "SAML") -> str:
    option_id = str(uuid.uuid4())
    write = LoginOptionWrite(name, "", "", kind="saml", settings=SamlSettings(idp_metadata_xml=METADATA))
    with db.transaction() as connection:
        login_options.insert(connection, option_id, write, utcnow())
    return option_id


def test_an_assertion_id_is_consumed_once_per_option(db: Database) -> None:
    first, second = saml_option(db), saml_option(db, "Other")
    later = utcnow() + timedelta(minutes=5)
    with db.transaction() as connection:
        assert saml_assertions.consume(connection, first, "_a1", later) is True
    with db.transaction() as connection:
        assert saml_assertions.consume(connection, first, "_a1", later) is False  # a replay
        assert saml_assertions.consume(connection, second, "_a1", later) is True  # another IdP's id space
    assert count(db, table) == 2


def test_expired_ids_are_purged_and_an_option_takes_its_ids_along(db: Database) -> None:
    option_id, now = saml_option(db), utcnow()
    with db.transaction() as connection:
        saml_assertions.consume(connection, option_id, "_old", now - timedelta(seconds=1))
        saml_assertions.consume(connection, option_id, "_live", now + timedelta(minutes=5))
    with db.transaction() as connection:
        assert saml_assertions.purge_expired(connection, now, batch=1) == 1
    assert count(db, table) == 1
    with db.transaction() as connection:
        login_options.delete(connection, option_id)
    assert count(db, table) == 0
