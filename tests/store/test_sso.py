"""SSO storage on SQLite and PostgreSQL: login options, user links, sign-in states, mapped grants, and the
encryption of client secrets at rest."""

from __future__ import annotations

import base64
import dataclasses
import stat
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse import config, secrets_box
from gatehouse.errors import Conflict, GatehouseError, InvalidInput, NotFound, PreconditionFailed
from gatehouse.iam.retention import purging
from gatehouse.login import options
from gatehouse.login.mapping import MappingError, Operation, Rule
from gatehouse.login.options import LoginOptionWrite
from gatehouse.secrets_box import SecretBox, SecretKeyInvalid, SecretUnreadable
from gatehouse.sso.tokens import new_nonce, new_pkce, new_state
from gatehouse.store import login_options, policies, roles, sessions, sso_links, sso_states, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import login_options as login_options_table
from gatehouse.store.tables import sessions as sessions_table
from gatehouse.store.tables import sso_links as sso_links_table
from gatehouse.store.tables import sso_login_states, user_boundaries, user_roles
from support.coroutines import run_apart

T = TypeVar("T")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
RULE = {"kind": "role", "target_id": "r-ops", "attribute": "$.groups[*]", "operation": "exact_match", "value": "ops"}


def write(db: Database, work: Callable[[Connection], T]) -> T:
    with db.transaction() as connection:
        return work(connection)


def add_user(connection: Connection, name: str) -> str:
    doc = {"schemas": [USER], "userName": name, "active": True}
    return users.insert(connection, users.UserWrite(id=str(uuid.uuid4()), doc=doc, source="scim"), utcnow()).id


def add_option(connection: Connection, name: str = "Okta", **changes: Any) -> options.LoginOption:
    option = LoginOptionWrite(name=name, issuer="https://idp.example.com", client_id="gatehouse")
    return login_options.insert(connection, str(uuid.uuid4()), dataclasses.replace(option, **changes), utcnow())


def add_role(connection: Connection, name: str, *, built_in: bool = False) -> str:
    role_id = str(uuid.uuid4())
    roles.insert(connection, role_id, roles.RoleWrite(name), utcnow(), built_in=built_in)
    return role_id


def add_policy(connection: Connection, name: str) -> str:
    policy_id = str(uuid.uuid4())
    policies.insert(connection, policy_id, policies.PolicyWrite(name, '{"statement": []}'), utcnow())
    return policy_id


def count(connection: Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# ------------------------------------------------------------------------------------------ scopes (pure)


def test_scopes_are_normalized_and_must_include_openid() -> None:
    assert options.parse_scopes("  openid profile\temail openid\n") == "openid profile email"
    assert options.parse_scopes("groups openid") == "groups openid"
    for bad in ("", "profile email", "OpenID profile", 'openid "quoted"', "openid back\\slash", "openid é"):
        with pytest.raises(InvalidInput):
            options.parse_scopes(bad)
    with pytest.raises(InvalidInput, match="At most"):
        options.parse_scopes("openid " + " ".join(f"s{i}" for i in range(60)))


def test_environment_variable_names_are_checked() -> None:
    assert options.check_env_name("OKTA_CLIENT_SECRET") == "OKTA_CLIENT_SECRET"
    for bad in ("", "1ABC", "A-B", "A B", "X" * 101):
        with pytest.raises(InvalidInput):
            options.check_env_name(bad)


# ------------------------------------------------------------------------------------------ login options


def test_insert_and_get_with_defaults(db: Database) -> None:
    option = write(db, lambda c: add_option(c, "Okta", role_rules=[RULE], client_secret_encrypted="v1:x:y"))
    with db.reader() as connection:
        stored = login_options.get(connection, option.id)
        assert login_options.get(connection, "nope") is None
    assert stored == option
    assert (stored.kind, stored.name, stored.enabled, stored.version) == ("oidc", "Okta", True, 1)
    assert stored.scopes == "openid profile email" and stored.scope_list == ("openid", "profile", "email")
    claims = (stored.username_claim, stored.email_claim, stored.name_claim, stored.subject_claim)
    assert claims == ("preferred_username", "email", "name", "sub")
    assert stored.end_session is False and stored.scim_only is None and stored.client_secret_env is None
    assert stored.rules() == (Rule("role", "r-ops", "$.groups[*]", Operation.EXACT_MATCH, "ops"),)
    assert stored.created.tzinfo is not None and stored.created == stored.updated
    assert "v1:x:y" not in repr(stored)
    assert stored.effective_scim_only(True) is True and stored.effective_scim_only(False) is False
    forced = write(db, lambda c: add_option(c, "Entra", scim_only=False))
    assert forced.effective_scim_only(True) is False


def test_invalid_values_are_refused_and_nothing_is_stored(db: Database) -> None:
    bad_rule = {**RULE, "operation": "sounds_like"}
    cases: list[dict[str, Any]] = [
        {"role_rules": [bad_rule]},
        {"scopes": "profile"},
        {"client_secret_encrypted": "v1:a:b", "client_secret_env": "SECRET"},
        {"client_secret_env": "not a name"},
        {"issuer": " "},
        {"client_id": "x" * 256},
        {"username_claim": ""},
    ]
    for changes in cases:
        with pytest.raises(InvalidInput):
            write(db, partial(add_option, **changes))
    with pytest.raises(MappingError, match=r"rules\[0\]\.operation"):
        write(db, lambda c: add_option(c, role_rules=[bad_rule]))
    with db.reader() as connection:
        assert count(connection, login_options_table) == 0


def test_the_database_refuses_two_secrets(db: Database) -> None:
    option = write(db, lambda c: add_option(c, client_secret_env="OKTA_SECRET"))
    with pytest.raises(sa.exc.IntegrityError), db.transaction() as connection:
        connection.execute(
            login_options_table.update()
            .where(login_options_table.c.id == option.id)
            .values(client_secret_encrypted="v1:a:b")
        )


def test_names_are_unique_ignoring_case(db: Database) -> None:
    write(db, lambda c: add_option(c, "Okta"))
    with pytest.raises(Conflict, match="already exists"):
        write(db, lambda c: add_option(c, "OKTA"))
    other = write(db, lambda c: add_option(c, "Entra ID"))
    renamed = dataclasses.replace(other.write(), name=" okta ")
    with pytest.raises(Conflict):
        write(db, lambda c: login_options.update(c, other.id, renamed, utcnow(), other.version))
    with db.reader() as connection:
        assert [o.name for o in login_options.list_all(connection)] == ["Entra ID", "Okta"]


def test_list_by_name_and_enabled_options(db: Database) -> None:
    for name, enabled in (("zeta", True), ("Alpha", False), ("beta", True)):
        write(db, partial(add_option, name=name, enabled=enabled))
    with db.reader() as connection:
        assert [o.name for o in login_options.list_all(connection)] == ["Alpha", "beta", "zeta"]
        assert [o.name for o in login_options.enabled_options(connection)] == ["beta", "zeta"]


def test_update_checks_the_version_and_keeps_the_secret(db: Database) -> None:
    option = write(db, lambda c: add_option(c, client_secret_encrypted="v1:k:data"))
    changed = dataclasses.replace(option.write(), issuer="https://other.example.com", scopes="openid groups")
    updated = write(db, lambda c: login_options.update(c, option.id, changed, utcnow(), option.version))
    assert updated.version == 2 and updated.issuer == "https://other.example.com"
    assert updated.scopes == "openid groups" and updated.client_secret_encrypted == "v1:k:data"
    assert updated.created == option.created and updated.updated >= option.updated
    with pytest.raises(PreconditionFailed):
        write(db, lambda c: login_options.update(c, option.id, changed, utcnow(), option.version))
    unchecked = write(db, lambda c: login_options.update(c, option.id, changed, utcnow()))
    assert unchecked.version == 3
    with pytest.raises(NotFound):
        write(db, lambda c: login_options.update(c, "missing", changed, utcnow(), 1))


def test_delete_cascades_to_links_and_states(db: Database) -> None:
    def setup(connection: Connection) -> tuple[str, str]:
        option, kept = add_option(connection, "Okta"), add_option(connection, "Entra")
        user = add_user(connection, "alice")
        for each in (option, kept):
            sso_links.link(connection, each.id, "sub-alice", user, utcnow())
            sso_states.create(connection, new_state(), each.id, new_nonce(), new_pkce().verifier, "/", utcnow())
        return option.id, kept.id

    option_id, kept_id = write(db, setup)
    write(db, lambda c: login_options.delete(c, option_id))
    with db.reader() as connection:
        assert login_options.get(connection, option_id) is None
        assert sso_links.find(connection, option_id, "sub-alice") is None
        assert sso_links.find(connection, kept_id, "sub-alice") is not None
        assert count(connection, sso_links_table) == 1 and count(connection, sso_login_states) == 1
    with pytest.raises(NotFound):
        write(db, lambda c: login_options.delete(c, option_id))


def test_password_sign_in_may_be_off_only_while_an_option_is_enabled(db: Database) -> None:
    with db.reader() as connection:
        assert login_options.password_login_enabled(connection) is True
    with pytest.raises(Conflict, match="while no other login option is enabled"):
        write(db, lambda c: login_options.set_password_login(c, False))
    disabled = write(db, lambda c: add_option(c, "Disabled", enabled=False))
    with pytest.raises(Conflict):
        write(db, lambda c: login_options.set_password_login(c, False))
    with db.reader() as connection:
        assert login_options.password_login_enabled(connection) is True
    option = write(db, lambda c: add_option(c, "Okta"))
    write(db, lambda c: login_options.set_password_login(c, False))
    off = dataclasses.replace(option.write(), enabled=False)
    with pytest.raises(Conflict):
        write(db, lambda c: login_options.update(c, option.id, off, utcnow(), option.version))
    with pytest.raises(Conflict):
        write(db, lambda c: login_options.delete(c, option.id))
    write(db, lambda c: login_options.delete(c, disabled.id))  # not the last enabled one
    with db.reader() as connection:
        assert login_options.get(connection, option.id) == option
        assert login_options.password_login_enabled(connection) is False
    write(db, lambda c: login_options.set_password_login(c, True))
    assert write(db, lambda c: login_options.update(c, option.id, off, utcnow(), option.version)).enabled is False


# ------------------------------------------------------------------------------------------ links


def test_link_find_touch_list_unlink(db: Database) -> None:
    def setup(connection: Connection) -> tuple[str, str, str]:
        okta, entra, user = (
            add_option(connection, "Okta").id,
            add_option(connection, "Entra").id,
            add_user(connection, "a"),
        )
        return okta, entra, user

    okta, entra, user = write(db, setup)
    linked = write(db, lambda c: sso_links.link(c, okta, "00u1", user, utcnow()))
    assert (linked.option_id, linked.option_name, linked.subject, linked.user_id) == (okta, "Okta", "00u1", user)
    assert linked.last_login_at is None
    write(db, lambda c: sso_links.link(c, entra, "entra-oid", user, utcnow()))
    moment = utcnow()
    assert write(db, lambda c: sso_links.touch(c, okta, "00u1", moment)) is True
    assert write(db, lambda c: sso_links.touch(c, okta, "other", moment)) is False
    with db.reader() as connection:
        found = sso_links.find(connection, okta, "00u1")
        assert found is not None and found.last_login_at == moment
        assert sso_links.find(connection, okta, "entra-oid") is None
        assert sso_links.find_user_link(connection, entra, user) is not None
        assert [(x.option_name, x.subject) for x in sso_links.links_of_user(connection, user)] == [
            ("Entra", "entra-oid"),
            ("Okta", "00u1"),
        ]
    assert write(db, lambda c: sso_links.unlink(c, okta, "00u1")) is True
    assert write(db, lambda c: sso_links.unlink(c, okta, "00u1")) is False
    with db.reader() as connection:
        assert [x.option_id for x in sso_links.links_of_user(connection, user)] == [entra]


def test_link_refusals(db: Database) -> None:
    def setup(connection: Connection) -> tuple[str, str, str]:
        return add_option(connection).id, add_user(connection, "alice"), add_user(connection, "bob")

    option, alice, bob = write(db, setup)
    write(db, lambda c: sso_links.link(c, option, "sub-1", alice, utcnow()))
    with pytest.raises(Conflict, match="already linked to a user"):
        write(db, lambda c: sso_links.link(c, option, "sub-1", bob, utcnow()))
    with pytest.raises(Conflict, match="already linked to another account"):
        write(db, lambda c: sso_links.link(c, option, "sub-2", alice, utcnow()))
    with pytest.raises(NotFound):
        write(db, lambda c: sso_links.link(c, option, "sub-3", "no-such-user", utcnow()))
    with pytest.raises(NotFound):
        write(db, lambda c: sso_links.link(c, "no-such-option", "sub-3", bob, utcnow()))
    with db.reader() as connection:
        assert count(connection, sso_links_table) == 1


def test_deleting_a_user_deletes_their_links(db: Database) -> None:
    def setup(connection: Connection) -> tuple[str, str, str]:
        option, alice, bob = add_option(connection).id, add_user(connection, "alice"), add_user(connection, "bob")
        sso_links.link(connection, option, "sub-a", alice, utcnow())
        sso_links.link(connection, option, "sub-b", bob, utcnow())
        return option, alice, bob

    option, alice, bob = write(db, setup)
    write(db, lambda c: users.delete(c, alice))
    with db.reader() as connection:
        assert sso_links.find(connection, option, "sub-a") is None
        assert sso_links.links_of_user(connection, alice) == []
        assert [x.user_id for x in sso_links.links_of_user(connection, bob)] == [bob]


# ------------------------------------------------------------------------------------------ mapped grants


def test_set_mapped_replaces_only_the_sso_grants(db: Database) -> None:
    def setup(connection: Connection) -> dict[str, str]:
        ids = {name: add_role(connection, name) for name in ("manual", "both", "old", "new")}
        ids["super"] = add_role(connection, "Super Admin", built_in=True)
        ids.update({name: add_policy(connection, name) for name in ("b-manual", "b-old", "b-new")})
        ids["user"] = user = add_user(connection, "alice")
        for role in ("manual", "both"):
            roles.assign(connection, user, ids[role], roles.MANUAL, "admin", utcnow())
        policies.set_boundaries(connection, user, [ids["b-manual"]], roles.MANUAL, "admin", utcnow())
        return ids

    ids = write(db, setup)
    user = ids["user"]
    granted, removed = write(
        db, lambda c: sso_links.set_mapped(c, user, [ids["both"], ids["old"]], [ids["b-old"]], "sso:Okta", utcnow())
    )
    assert granted == sso_links.Grants(frozenset({ids["both"], ids["old"]}), frozenset({ids["b-old"]}))
    assert not removed
    wanted = [ids["both"], ids["new"], ids["super"], "deleted-role"]
    granted, removed = write(
        db, lambda c: sso_links.set_mapped(c, user, wanted, [ids["b-new"], "gone"], "sso:Okta", utcnow())
    )
    assert granted == sso_links.Grants(frozenset({ids["new"]}), frozenset({ids["b-new"]}))
    assert removed == sso_links.Grants(frozenset({ids["old"]}), frozenset({ids["b-old"]}))
    assert write(db, lambda c: sso_links.set_mapped(c, user, wanted, [ids["b-new"]], "sso:Okta", utcnow())) == (
        sso_links.Grants(),
        sso_links.Grants(),
    )
    with db.reader() as connection:
        rows = connection.execute(sa.select(user_roles.c.role_id, user_roles.c.source, user_roles.c.granted_by))
        assert sorted(rows) == sorted(
            [
                (ids["manual"], "manual", "admin"),
                (ids["both"], "manual", "admin"),
                (ids["both"], "sso", "sso:Okta"),
                (ids["new"], "sso", "sso:Okta"),
            ]
        )
        boundaries = connection.execute(sa.select(user_boundaries.c.policy_id, user_boundaries.c.source))
        assert sorted(boundaries) == sorted([(ids["b-manual"], "manual"), (ids["b-new"], "sso")])
        assert sso_links.mapped_of(connection, user) == sso_links.Grants(
            frozenset({ids["both"], ids["new"]}), frozenset({ids["b-new"]})
        )
    _, removed = write(db, lambda c: sso_links.set_mapped(c, user, [], [], "sso:Okta", utcnow()))
    assert removed == sso_links.Grants(frozenset({ids["both"], ids["new"]}), frozenset({ids["b-new"]}))
    with db.reader() as connection:
        held = connection.execute(sa.select(user_roles.c.role_id).where(user_roles.c.user_id == user)).scalars()
        assert sorted(held) == sorted([ids["manual"], ids["both"]])


def test_set_mapped_for_a_missing_user_is_not_found(db: Database) -> None:
    role = write(db, lambda c: add_role(c, "ops"))
    with pytest.raises(NotFound):
        write(db, lambda c: sso_links.set_mapped(c, "no-such-user", [role], [], None, utcnow()))


# ------------------------------------------------------------------------------------------ sign-in states


def test_state_is_stored_hashed_and_taken_once(db: Database) -> None:
    option = write(db, lambda c: add_option(c))
    state, nonce, verifier, now = new_state(), new_nonce(), new_pkce().verifier, utcnow()
    created = write(db, lambda c: sso_states.create(c, state, option.id, nonce, verifier, "/users?page=2", now))
    assert created.state_hash == sso_states.state_hash(state) and created.expires_at == now + timedelta(minutes=10)
    assert verifier not in repr(created) and nonce not in repr(created)
    with db.reader() as connection:
        stored = connection.execute(sa.select(sso_login_states)).one()
        assert state not in [str(value) for value in stored]
    taken = write(db, lambda c: sso_states.take(c, state, utcnow()))
    assert taken == created
    assert write(db, lambda c: sso_states.take(c, state, utcnow())) is None
    assert write(db, lambda c: sso_states.take(c, new_state(), utcnow())) is None


def test_expired_state_is_refused_and_deleted(db: Database) -> None:
    option = write(db, lambda c: add_option(c))
    state, now = new_state(), utcnow()
    write(db, lambda c: sso_states.create(c, state, option.id, "n", "v" * 43, "/", now, timedelta(seconds=60)))
    assert write(db, lambda c: sso_states.take(c, state, now + timedelta(seconds=60))) is None
    with db.reader() as connection:
        assert count(connection, sso_login_states) == 0


def test_state_creation_refusals(db: Database) -> None:
    option = write(db, lambda c: add_option(c))
    for next_path in ("https://evil.example/", "//evil.example/", "/\\evil.example", "users", "/a b", ""):
        with pytest.raises(InvalidInput):
            create = partial(sso_states.create, state=new_state(), option_id=option.id, nonce="n", code_verifier="v")
            write(db, partial(create, next_path=next_path, now=utcnow()))
    with pytest.raises(InvalidInput):
        write(db, lambda c: sso_states.create(c, new_state(), option.id, "n", "v" * 129, "/", utcnow()))
    with pytest.raises(NotFound):
        write(db, lambda c: sso_states.create(c, new_state(), "no-such-option", "n", "v", "/", utcnow()))
    state = new_state()
    write(db, lambda c: sso_states.create(c, state, option.id, "n", "v", "/", utcnow()))
    with pytest.raises(Conflict):
        write(db, lambda c: sso_states.create(c, state, option.id, "n", "v", "/", utcnow()))


def test_purge_expired_in_batches(db: Database) -> None:
    option = write(db, lambda c: add_option(c))
    now = utcnow()

    def setup(connection: Connection) -> str:
        for minutes in range(1, 6):
            past = now - timedelta(minutes=20 + minutes)
            sso_states.create(connection, new_state(), option.id, "n", "v", "/", past)
        live = new_state()
        sso_states.create(connection, live, option.id, "n", "v", "/", now)
        return live

    live = write(db, setup)
    assert write(db, lambda c: sso_states.purge_expired(c, now, batch=2)) == 5
    assert write(db, lambda c: sso_states.purge_expired(c, now, batch=2)) == 0
    assert write(db, lambda c: sso_states.take(c, live, now)) is not None


def test_concurrent_takes_let_exactly_one_win(db: Database) -> None:
    """Two callbacks with one state, on two connections at once: one gets it, the other nothing."""
    option = write(db, lambda c: add_option(c))
    state = new_state()
    write(db, lambda c: sso_states.create(c, state, option.id, "n", "v", "/", utcnow()))
    barrier = threading.Barrier(2, timeout=10)
    results: list[object] = []
    errors: list[BaseException] = []

    def callback() -> None:
        try:
            barrier.wait()
            with db.transaction() as connection:
                results.append(sso_states.take(connection, state, utcnow()))
                time.sleep(0.3)  # hold the row (PostgreSQL) while the other waits for it
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=callback) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(results) == 2 and sum(result is not None for result in results) == 1


# ------------------------------------------------------------------------------------------ secrets_box


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(base64.urlsafe_b64decode(secrets_box.new_key() + "="))


def test_secret_round_trip_with_fresh_nonces(box: SecretBox) -> None:
    sealed = box.encrypt("s3cr3t-ünïcode", "option-1")
    assert sealed.startswith("v1:") and "s3cr3t" not in sealed
    assert box.decrypt(sealed, "option-1") == "s3cr3t-ünïcode"
    assert box.encrypt("s3cr3t-ünïcode", "option-1") != sealed
    assert box.decrypt(box.encrypt("", "o"), "o") == ""


def test_secret_moved_to_another_option_does_not_decrypt(box: SecretBox) -> None:
    sealed = box.encrypt("hunter2-xyz", "option-1")
    with pytest.raises(SecretUnreadable, match="another login option") as caught:
        box.decrypt(sealed, "option-2")
    assert "hunter2" not in str(caught.value) and caught.value.status == 500


def test_wrong_key_and_damage_are_clear_errors(box: SecretBox) -> None:
    sealed = box.encrypt("secret", "option-1")
    other = SecretBox(b"\x01" * 32)
    with pytest.raises(SecretUnreadable, match="another key"):
        other.decrypt(sealed, "option-1")
    version, key_id, data = sealed.split(":")
    flipped = data[:-2] + ("A" if data[-2] != "A" else "B") + data[-1]
    for damaged in (
        f"{version}:{key_id}:{flipped}",
        f"{version}:{key_id}:AAAA",
        f"{version}:{key_id}:!!",
        "v9:x:y",
        "x",
    ):
        with pytest.raises(SecretUnreadable) as caught:
            box.decrypt(damaged, "option-1")
        assert isinstance(caught.value, GatehouseError) and caught.value.detail


def test_key_file_is_created_once_with_0600(tmp_path: Path) -> None:
    key_path = tmp_path / "data" / "secret.key"
    first = secrets_box.load_key(key_path, environ={})
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert secrets_box.load_key(key_path, environ={}) == first and len(first) == 32
    sealed = SecretBox.from_config(key_path, environ={}).encrypt("secret", "o")
    assert SecretBox.from_config(key_path, environ={}).decrypt(sealed, "o") == "secret"
    assert [p.name for p in key_path.parent.iterdir()] == ["secret.key"]


def test_environment_key_wins_and_is_checked(tmp_path: Path) -> None:
    key_path = tmp_path / "secret.key"
    text = secrets_box.new_key()
    assert secrets_box.load_key(key_path, environ={secrets_box.KEY_ENV: text}) == base64.urlsafe_b64decode(text + "=")
    assert secrets_box.load_key(key_path, environ={secrets_box.KEY_ENV: text + "="}) == base64.urlsafe_b64decode(
        text + "="
    )
    assert not key_path.exists()
    for bad in ("short", "!" * 43, secrets_box.new_key() + "AAAA"):
        with pytest.raises(SecretKeyInvalid, match=secrets_box.KEY_ENV):
            secrets_box.load_key(key_path, environ={secrets_box.KEY_ENV: bad})
    key_path.write_text("garbage\n")
    with pytest.raises(SecretKeyInvalid, match="key file"):
        secrets_box.load_key(key_path, environ={})


def test_default_key_path() -> None:
    assert config.default_key_path("sqlite:////srv/gh/gatehouse.db") == Path("/srv/gh/secret.key")
    assert config.default_key_path("sqlite:///data/gatehouse.db") == Path("data/secret.key")
    pg = "postgresql+psycopg://u@h/db"
    assert config.default_key_path(pg, Path("/var/lib/gh")) == Path("/var/lib/gh/secret.key")
    assert config.default_key_path("sqlite://") == Path("data/secret.key")


def test_housekeeping_purges_abandoned_sign_ins_and_dead_sessions(db: Database) -> None:
    now = utcnow()

    def setup(connection: Connection) -> str:
        option = add_option(connection)
        user_id = add_user(connection, "sam")
        sso_states.create(connection, "old-state", option.id, "n" * 43, "v" * 43, "/", now - timedelta(hours=1))
        sso_states.create(connection, "live-state", option.id, "n" * 43, "v" * 43, "/", now)
        sessions.create(connection, user_id, now - timedelta(days=2), timedelta(hours=12), None, None)  # expired
        sessions.create(connection, user_id, now, timedelta(hours=12), None, None)  # live
        return user_id

    write(db, setup)

    async def main() -> None:
        async with purging(db, timedelta(days=60), interval=3600, idle=timedelta(minutes=60)):
            with anyio.fail_after(5):
                while write(db, lambda c: count(c, sso_login_states) + count(c, sessions_table)) > 2:
                    await anyio.sleep(0.02)

    run_apart(main())
    with db.snapshot() as connection:
        assert sso_states.take(connection, "live-state", utcnow()) is not None
        assert count(connection, sessions_table) == 1
