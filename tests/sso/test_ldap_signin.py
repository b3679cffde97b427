"""LDAP sign-in end to end against a real OpenLDAP (Debian's slapd, started by :mod:`support.slapd` with the
memberOf overlay), on SQLite and PostgreSQL: the sign-in page's form, the binds and the search, linking to
the SCIM-provisioned user, role mapping from ``memberOf`` re-applied at every sign-in, and every refusal a
form or page that says why, an audit record, and no session. StartTLS against a CA made for the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.iam.authorizer import held_roles
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import LoginOptionWrite
from gatehouse.secrets_box import SecretBox
from gatehouse.store import audit, login_options, roles
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import sessions
from support.oidc_provider import count
from support.scim import PUBLIC_URL, USER
from support.servers import free_port
from support.slapd import PASSWORD, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Directory, running_slapd
from support.web import csrf_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with running_slapd(tmp_path_factory.mktemp("slapd")) as found:
        found.add_user("twin", under=PEOPLE)
        with found.admin() as connection:
            connection.add(f"ou=contractors,{SUFFIX}", ["organizationalUnit"], {"ou": "contractors"})
        found.add_user("twin", under=f"ou=contractors,{SUFFIX}")  # a second entry with uid=twin
        yield found


@pytest.fixture(scope="module")
def tls_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with running_slapd(tmp_path_factory.mktemp("slapd-tls"), tls=True) as found:
        yield found


def ldap_settings(directory: Directory, **changes: Any) -> LdapSettings:
    fields: dict[str, Any] = {
        "host": "127.0.0.1", "port": directory.port, "base_dn": SUFFIX, "bind_dn": SERVICE_DN,
        "user_filter": "(objectClass=inetOrgPerson)", **changes,
    }  # fmt: skip
    return LdapSettings(**fields)


@dataclass
class World:
    gatehouse: TestClient
    db: Database
    directory: Directory
    option_id: str
    roles: dict[str, str]
    scim_token: str

    def form(self) -> str:
        page = self.gatehouse.get(f"/sso/ldap/{self.option_id}/login")
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def sign_in(self, username: str, password: str = PASSWORD, next_path: str = "") -> Any:
        data = {"username": username, "password": password, "csrf_token": self.form(), "next": next_path}
        return self.gatehouse.post(f"/sso/ldap/{self.option_id}/login", data=data, follow_redirects=False)

    def provision(self, user_name: str, external_id: str) -> str:
        body = {"schemas": [USER], "userName": user_name, "externalId": external_id, "active": True,
                "emails": [{"value": user_name, "primary": True, "type": "work"}]}  # fmt: skip
        headers = {"Authorization": f"Bearer {self.scim_token}"}
        response = self.gatehouse.post("/scim/v2/Users", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def held(self, user_id: str) -> dict[str, set[str]]:
        with self.db.snapshot() as connection:
            return {role.name: {o.kind for o in role.origins} for role in held_roles(connection, user_id)}

    def last_sign_in(self) -> Any:
        with self.db.snapshot() as connection:
            return audit.search(connection, audit.AuditQuery(event="auth:SignIn"), limit=1).records[0]

    def set_rules(self, rules: list[dict[str, str]], **settings: Any) -> None:
        with self.db.transaction() as connection:
            option = login_options.get(connection, self.option_id)
            assert option is not None
            write = option.write()
            kind = option.ldap() if not settings else LdapSettings(**{**option.ldap().to_json(), **settings})
            login_options.update(connection, option.id, _replace(write, role_rules=rules, settings=kind), utcnow())


def _replace(write: LoginOptionWrite, **changes: Any) -> LoginOptionWrite:
    from dataclasses import replace

    return replace(write, **changes)


def add_ldap_option(
    db: Database, box: SecretBox, settings: LdapSettings, *, rules: list[dict[str, str]] | None = None,
    name: str = "Corp LDAP", bind_password: str | None = SERVICE_PASSWORD,
) -> str:  # fmt: skip
    option_id = str(uuid.uuid4())
    secret = box.encrypt(bind_password, option_id) if bind_password else None
    write = LoginOptionWrite(
        name, "", "", client_secret_encrypted=secret, role_rules=rules or [], kind="ldap", settings=settings
    )
    with db.transaction() as connection:
        login_options.insert(connection, option_id, write, utcnow())
    return option_id


def sre_rule(role_id: str) -> dict[str, str]:
    return {"kind": "role", "target_id": role_id, "attribute": "$.memberOf[*]", "operation": "contains_string",
            "value": "cn=sre"}  # fmt: skip


@pytest.fixture
def world(directory: Directory, settings: Settings, db: Database) -> Iterator[World]:
    now = utcnow()
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
        role_ids = {}
        for name in ("SRE", "Developers"):
            role_ids[name] = str(uuid.uuid4())
            roles.insert(connection, role_ids[name], roles.RoleWrite(name), now)
    box = SecretBox.from_config(settings.secret_key_path)
    option_id = add_ldap_option(db, box, ldap_settings(directory), rules=[sre_rule(role_ids["SRE"])])
    with TestClient(create_app(settings, db), base_url=PUBLIC_URL) as client:
        yield World(client, db, directory, option_id, role_ids, token)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------------------------ signing in


def test_a_provisioned_user_signs_in_with_roles_from_their_groups_re_applied_at_every_sign_in(world: World) -> None:
    uid = unique("ada")
    dn = world.directory.add_user(uid, groups=["sre", "dev"])
    user_id = world.provision(f"{uid}@example.org", external_id=world.directory.entry_uuid(dn))

    page = world.gatehouse.get("/login")
    assert f'href="/sso/ldap/{world.option_id}/login"' in page.text and "Sign in with Corp LDAP" in page.text
    landed = world.sign_in(uid, next_path="/organization/users")
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/organization/users"
    assert world.gatehouse.cookies.get("gatehouse_session")
    assert world.held(user_id) == {"SRE": {"sso"}}
    event = world.last_sign_in()
    assert event.outcome == "success" and event.source == "sso" and event.resource_id == user_id
    assert event.summary["method"] == "ldap" and event.summary["linked_by"] == "external_id"
    assert PASSWORD not in str(event.summary)

    # The administrator changes the mapping: it applies at the next sign-in.
    world.set_rules([{"kind": "role", "target_id": world.roles["Developers"], "attribute": "$.memberOf[*]",
                      "operation": "exact_match", "value": f"cn=dev,ou=groups,{SUFFIX}"}])  # fmt: skip
    world.gatehouse.cookies.clear()
    assert world.sign_in(uid).status_code == 303
    assert world.held(user_id) == {"Developers": {"sso"}}

    # Removed from the group in the directory: the role goes at the next sign-in.
    world.directory.set_groups(dn, ["sre"])
    world.gatehouse.cookies.clear()
    assert world.sign_in(uid).status_code == 303
    assert world.held(user_id) == {}


def test_a_user_removed_from_a_group_loses_the_mapped_role_at_the_next_sign_in(world: World) -> None:
    uid = unique("grace")
    dn = world.directory.add_user(uid, groups=["sre"])
    user_id = world.provision(f"{uid}@example.org", external_id=world.directory.entry_uuid(dn))
    assert world.sign_in(uid).status_code == 303
    assert world.held(user_id) == {"SRE": {"sso"}}
    world.directory.set_groups(dn, [])
    world.gatehouse.cookies.clear()
    assert world.sign_in(uid).status_code == 303
    assert world.held(user_id) == {}
    assert world.last_sign_in().summary["roles_removed"] == [world.roles["SRE"]]


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("known", "not the password", "wrong_password"),
        ("nobody-here", PASSWORD, "user_not_found"),
        ("twin", PASSWORD, "ambiguous_user"),
        ("*)(uid=*", PASSWORD, "user_not_found"),  # RFC 4515 escaping: a literal search, not a wildcard
        ("*", PASSWORD, "user_not_found"),
    ],
)
def test_credentials_that_do_not_sign_in_get_the_same_answer_and_an_audit_record(
    world: World, username: str, password: str, reason: str
) -> None:
    if username == "known":
        username = unique("known")
        world.directory.add_user(username)
    response = world.sign_in(username, password)
    assert response.status_code == 401
    assert "Invalid username or password." in response.text and 'id="ldap-form"' in response.text
    assert count(world.db, sessions) == 0
    refused = world.last_sign_in()
    assert refused.outcome == "refused" and refused.summary["reason"] == reason
    assert refused.summary["method"] == "ldap"
    assert password not in str(refused.summary) and password not in (refused.error or "")


def test_an_empty_password_is_refused_before_any_bind(world: World, settings: Settings, db: Database) -> None:
    """With the option aimed at a port where nothing listens, the refusal is about the password, not the
    directory: no connection was attempted (an empty simple bind is an anonymous bind on many servers)."""
    box = SecretBox.from_config(settings.secret_key_path)
    down = add_ldap_option(db, box, LdapSettings(host="127.0.0.1", port=free_port(), base_dn=SUFFIX), name="Down")
    page = world.gatehouse.get(f"/sso/ldap/{down}/login")
    data = {"username": "anyone", "password": "", "csrf_token": csrf_of(page.text)}
    response = world.gatehouse.post(f"/sso/ldap/{down}/login", data=data, follow_redirects=False)
    assert response.status_code == 401 and "Invalid username or password." in response.text
    assert world.last_sign_in().summary["reason"] == "empty_password"


def test_a_directory_that_is_down_gets_a_clear_answer_never_a_500(world: World, settings: Settings) -> None:
    box = SecretBox.from_config(settings.secret_key_path)
    down = add_ldap_option(world.db, box, LdapSettings(host="127.0.0.1", port=free_port(), base_dn=SUFFIX), name="Down")
    page = world.gatehouse.get(f"/sso/ldap/{down}/login")
    data = {"username": "ada", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    response = world.gatehouse.post(f"/sso/ldap/{down}/login", data=data, follow_redirects=False)
    assert response.status_code == 502
    assert "cannot be reached" in response.text and "Connection refused" in response.text
    assert world.last_sign_in().summary["reason"] == "ldap_unreachable"


def test_repeated_failures_lock_the_name_out_as_password_sign_in_does(world: World) -> None:
    uid = unique("locked")
    world.directory.add_user(uid)
    for _ in range(5):
        assert world.sign_in(uid, "wrong").status_code == 401
    locked = world.sign_in(uid, PASSWORD)
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in locked.text


def test_a_disabled_option_or_another_kind_is_not_offered(world: World) -> None:
    with world.db.transaction() as connection:
        option = login_options.get(connection, world.option_id)
        assert option is not None
        login_options.update(connection, option.id, _replace(option.write(), enabled=False), utcnow())
    assert world.gatehouse.get(f"/sso/ldap/{world.option_id}/login").status_code == 404
    assert world.gatehouse.get(f"/sso/saml/{world.option_id}/login").status_code == 404
    assert f"/sso/ldap/{world.option_id}/login" not in world.gatehouse.get("/login").text


def test_a_first_sign_in_without_scim_creates_the_user_from_the_directory(world: World) -> None:
    with world.db.transaction() as connection:
        scim_control.disable(connection)
    uid = unique("newcomer")
    world.directory.add_user(uid, name="New Comer", groups=["sre"])
    assert world.sign_in(uid).status_code == 303
    event = world.last_sign_in()
    assert event.summary["created"] is True and event.summary["roles_granted"] == [world.roles["SRE"]]


def test_starttls_with_the_directory_ca_signs_in_and_a_wrong_ca_fails_at_tls(
    tls_directory: Directory, settings: Settings, db: Database
) -> None:
    assert tls_directory.pki is not None
    uid = unique("tls")
    tls_directory.add_user(uid)
    box = SecretBox.from_config(settings.secret_key_path)
    good = add_ldap_option(db, box, ldap_settings(tls_directory, tls="starttls", ca_bundle=tls_directory.pki.ca_pem))
    wrong = add_ldap_option(db, box, ldap_settings(tls_directory, tls="starttls"), name="No CA")
    over_ldaps = ldap_settings(
        tls_directory, tls="ldaps", port=tls_directory.tls_port, ca_bundle=tls_directory.pki.ca_pem
    )
    ldaps = add_ldap_option(db, box, over_ldaps, name="LDAPS")
    with db.transaction() as connection:
        scim_control.disable(connection)
    with TestClient(create_app(settings, db), base_url=PUBLIC_URL) as client:
        for option_id, status in ((good, 303), (wrong, 502), (ldaps, 303)):
            client.cookies.clear()
            page = client.get(f"/sso/ldap/{option_id}/login")
            data = {"username": uid, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
            response = client.post(f"/sso/ldap/{option_id}/login", data=data, follow_redirects=False)
            assert response.status_code == status, response.text
    with db.snapshot() as connection:
        records = audit.search(connection, audit.AuditQuery(event="auth:SignIn"), limit=10).records
    assert {r.summary.get("reason") for r in records} == {None, "ldap_tls_failed"}


def test_no_state_is_left_behind(world: World) -> None:
    uid = unique("clean")
    world.directory.add_user(uid)
    world.sign_in(uid, "wrong")
    with world.db.snapshot() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM sso_links")).scalar_one() == 0
