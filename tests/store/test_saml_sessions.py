"""Sessions of SAML sign-ins, on both databases: they keep whom the assertion named (NameID, its format and the
SessionIndex) for Single Logout, and an IdP's LogoutRequest ends exactly the sessions of that option and NameID,
only those of the SessionIndex values it names when it names some (SAML 2.0 Core §3.7.3.2)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gatehouse.login.saml import SamlSubject
from gatehouse.store import sessions, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from store.test_saml_assertions import saml_option

HOUR = timedelta(hours=1)
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_a_saml_session_keeps_its_subject_and_a_logout_request_ends_its_own(db: Database) -> None:
    option, other_option, now = saml_option(db), saml_option(db, "Other"), utcnow()
    with db.transaction() as connection:
        user_id = users.insert(
            connection, users.UserWrite(str(uuid.uuid4()), {"schemas": [USER], "userName": "ada"}, "scim"), now
        ).id
        opened = {
            name: sessions.create(connection, user_id, now, HOUR, None, None, login_option_id=where, saml=subject)[0]
            for name, where, subject in [
                ("first", option, SamlSubject("ada", "urn:persistent", "_s1")),
                ("second", option, SamlSubject("ada", "urn:persistent", "_s2")),
                ("elsewhere", other_option, SamlSubject("ada", None, "_s1")),
                ("password", None, None),
            ]
        }
    with db.snapshot() as connection:
        first = sessions.lookup(connection, opened["first"], now, HOUR)
        password = sessions.lookup(connection, opened["password"], now, HOUR)
    assert first is not None and first.saml == SamlSubject("ada", "urn:persistent", "_s1")
    assert password is not None and password.saml is None

    with db.transaction() as connection:
        assert sessions.end_for_saml_subject(connection, option, "bob", []) == []
        assert sessions.end_for_saml_subject(connection, option, "ada", ["_s1"]) == [user_id]
    with db.snapshot() as connection:
        alive = {name for name, raw in opened.items() if sessions.lookup(connection, raw, now, HOUR) is not None}
    assert alive == {"second", "elsewhere", "password"}

    with db.transaction() as connection:
        assert sessions.end_for_saml_subject(connection, option, "ada", []) == [user_id]  # every session index
    with db.snapshot() as connection:
        alive = {name for name, raw in opened.items() if sessions.lookup(connection, raw, now, HOUR) is not None}
    assert alive == {"elsewhere", "password"}
