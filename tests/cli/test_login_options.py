"""``gatehouse login-options …`` as real processes: the break-glass ``enable-password`` gets an administrator
back in with the identity provider down and nobody signed in, ``disable-password`` is refused while no
OpenID Connect option is enabled, ``list`` never shows a secret; ``create`` makes OpenID Connect, LDAP and SAML
options (disabled, the secret from standard input stored encrypted or named by its environment variable,
printed as the admin API shows them) and ``update`` changes one; mistakes are one clear line; each change is
in the audit log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import password_login
from gatehouse.login.options import LoginOptionWrite
from gatehouse.secrets_box import SecretBox
from gatehouse.store import login_options as option_store
from gatehouse.store.audit import AuditQuery
from gatehouse.store.audit import search as audit_search
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.api import VIEWER, add_user, token_for
from support.login_options import admin_signed_in_through
from support.servers import cli, cli_env
from support.web import ADMIN_PASSWORD, make_admin, sign_in

PUBLIC_URL = "https://gh.example.com"
DOWN_IDP = "http://127.0.0.1:9"  # nothing listens on the discard port: the provider is "down"


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return cli_env(database_url, public_url=PUBLIC_URL)


@pytest.fixture
def db(file_db: Database) -> Database:
    """The real process's database (tests/cli/conftest.py), under the name the tests use."""
    return file_db


@pytest.fixture
def browser(database_url: str, db: Database) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, public_url=PUBLIC_URL)
    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        yield client


def add_option(db: Database, *, enabled: bool = True) -> str:
    """An OIDC option at a provider that cannot be reached (its secret named by an environment variable)."""
    write = LoginOptionWrite("Okta", DOWN_IDP, "gatehouse", enabled=enabled, client_secret_env="OKTA_SECRET")
    with db.transaction() as connection:
        return option_store.insert(connection, str(uuid.uuid4()), write, utcnow()).id


def password_enabled(db: Database) -> bool:
    with db.reader() as connection:
        return option_store.password_login_enabled(connection)


def audit_of(db: Database) -> list[tuple[str, str, str, dict[str, object]]]:
    """The password switch's records, oldest first: (outcome, actor, source, summary)."""
    with db.reader() as connection:
        found = audit_search(connection, AuditQuery(event=password_login.PASSWORD.event), limit=50).records
    return [(r.outcome, r.actor, r.source, dict(r.summary)) for r in reversed(found)]


def test_enable_password_gets_an_admin_back_in_with_the_idp_down(
    env: dict[str, str], db: Database, browser: TestClient
) -> None:
    make_admin(db)
    option_id = add_option(db)
    refused = cli(env, "login-options", "disable-password")  # nobody has signed in through Okta yet
    assert refused.returncode == 1 and "nobody who may change login options has signed in" in refused.stderr
    admin_signed_in_through(db, option_id)
    off = cli(env, "login-options", "disable-password")
    assert off.returncode == 0, off.stderr
    assert "Password sign-in disabled" in off.stdout and "enable-password" in off.stdout
    assert not password_enabled(db)

    page = browser.get("/login")
    assert 'id="password-form"' not in page.text and "Sign in with Okta" in page.text
    token = browser.cookies["gatehouse_login_csrf"]  # the form is gone; a scripted POST /login still fails
    form = {"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token}
    refused = browser.post("/login", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "Password sign-in is turned off" in refused.text
    api_refused = browser.post("/api/auth/sign-in", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert api_refused.status_code == 403

    back = cli(env, "login-options", "enable-password")  # no token: the host operator; the IdP never asked
    assert back.returncode == 0, back.stderr
    assert f"Password sign-in enabled: sign in at {PUBLIC_URL}/login." in back.stdout
    assert "gatehouse admin reset-password" in back.stdout
    assert password_enabled(db)
    assert 'id="password-form"' in browser.get("/login").text
    signed_in = sign_in(browser)
    assert signed_in.status_code == 303  # type: ignore[attr-defined]
    assert browser.get("/organization/settings/login-options", follow_redirects=False).status_code == 200
    assert browser.post("/api/auth/sign-in", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200

    again = cli(env, "login-options", "enable-password")
    assert again.returncode == 0 and "already enabled" in again.stdout
    assert audit_of(db) == [
        ("failed", "operator (CLI)", "cli", {"enabled": False}),
        ("success", "operator (CLI)", "cli", {"enabled": False}),
        ("success", "operator (CLI)", "cli", {"enabled": True}),
        ("success", "operator (CLI)", "cli", {"enabled": True}),
    ]


def test_disable_password_is_refused_while_no_option_is_enabled(env: dict[str, str], db: Database) -> None:
    refused = cli(env, "login-options", "disable-password")
    assert refused.returncode == 1
    assert "error: Password sign-in cannot be turned off while no other login option is enabled" in refused.stderr
    assert password_enabled(db)
    add_option(db, enabled=False)
    assert cli(env, "login-options", "disable-password").returncode == 1
    assert password_enabled(db)
    [first, second] = audit_of(db)
    assert first[:2] == second[:2] == ("failed", "operator (CLI)")


def test_list_shows_options_without_secrets(env: dict[str, str], db: Database) -> None:
    empty = cli(env, "login-options", "list")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.splitlines() == ["Password sign-in: enabled", "No OpenID Connect, LDAP or SAML login options."]
    option_id = add_option(db)
    listed = json.loads(cli(env, "login-options", "list", "--json").stdout)
    assert listed["password_enabled"] is True
    [found] = listed["options"]
    assert (found["id"], found["name"], found["issuer"], found["enabled"]) == (option_id, "Okta", DOWN_IDP, True)
    assert (found["secret_source"], found["client_secret_env"]) == ("env", "OKTA_SECRET")
    assert found["redirect_uri"] == f"{PUBLIC_URL}/sso/oidc/{option_id}/callback"
    assert 'client_secret"' not in json.dumps(listed)
    text = cli(env, "login-options", "list").stdout
    assert f"Okta\toidc\tenabled\t{DOWN_IDP}\tsecret: env\tid {option_id}" in text


def test_a_viewers_token_lists_but_may_not_switch(env: dict[str, str], db: Database) -> None:
    make_admin(db)
    add_option(db)
    viewer = token_for(db, add_user(db, "vera", role=VIEWER))
    assert cli(env, "--token", viewer, "login-options", "list").returncode == 0
    refused = cli(env, "--token", viewer, "login-options", "disable-password")
    assert refused.returncode == 1 and "iam:UpdateLoginOption" in refused.stderr
    assert password_enabled(db)
    assert audit_of(db)[-1][:2] == ("refused", "vera (token ci)")


def test_check_says_what_the_providers_check_found(env: dict[str, str], db: Database) -> None:
    """``login-options check``: the same check as the option's page and the API (reads only); exit status 1 when it
    fails, with the reason; an unknown name is a clear error."""
    add_option(db, enabled=False)
    done = cli(env, "login-options", "check", "okta", "--json")  # any case
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["reason"] == "unreachable" and "could not be reached" in result["detail"]
    text = cli(env, "login-options", "check", "Okta")
    assert text.returncode == 1 and text.stdout.startswith("Okta (oidc): the check failed")
    unknown = cli(env, "login-options", "check", "Nope")
    assert unknown.returncode == 1 and "No login option is named 'Nope'" in unknown.stderr
    assert "Traceback" not in done.stderr + text.stderr + unknown.stderr


# ------------------------------------------------------------------------------------------ create, update

IDP_METADATA = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/x">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
)


@pytest.fixture
def keyed_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The CLI's environment with a secrets key file of the test's (stored secrets are encrypted with it)."""
    return {**env, "GATEHOUSE_SECRET_KEY_FILE": str(tmp_path / "secret.key")}


def created_records(db: Database, event: str = "iam:CreateLoginOption") -> list[Any]:
    with db.reader() as connection:
        return list(reversed(audit_search(connection, AuditQuery(event=event), limit=50).records))


def test_create_an_oidc_option_with_its_secret_from_stdin_prints_it_as_the_api_does(
    keyed_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    secret = "the-client-secret-" + uuid.uuid4().hex
    done = cli(keyed_env, "login-options", "create", "--kind", "oidc", "--name", "Okta", "--issuer",
               "https://okta.example", "--client-id", "gatehouse", "--end-session", "--secret-stdin", "--json",
               stdin=secret + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert secret not in done.stdout + done.stderr
    with db.reader() as connection:
        stored = option_store.get(connection, printed["id"])
    assert stored is not None and stored.enabled is False and stored.end_session is True  # disabled, as the dashboard
    assert stored.client_secret_encrypted is not None and secret not in stored.client_secret_encrypted
    box = SecretBox.from_config(tmp_path / "secret.key")
    assert box.decrypt(stored.client_secret_encrypted, stored.id) == secret  # stored encrypted, the newline gone

    settings = Settings(database_url=keyed_env["GATEHOUSE_DATABASE_URL"], public_url=PUBLIC_URL)
    token = token_for(db, make_admin(db))
    with TestClient(create_app(settings, db), base_url="https://testserver") as api:
        shown = api.get(f"/api/login_options/{printed['id']}", headers={"X-API-KEY": token}).json()
    assert {key: value for key, value in printed.items() if key != "version"} == {
        key: value for key, value in shown.items() if key != "version"
    }
    [record] = created_records(db)
    assert (record.outcome, record.actor, record.source, record.resource_id) == (
        "success", "operator (CLI)", "cli", printed["id"],
    )  # fmt: skip
    assert record.summary["client_auth"] == "stored" and secret not in json.dumps(record.summary)


def test_create_saml_and_ldap_options_from_fields_files_and_an_environment_variable(
    keyed_env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    metadata = tmp_path / "idp.xml"
    metadata.write_text(IDP_METADATA)
    saml = cli(keyed_env, "login-options", "create", "--kind", "saml", "--name", "Corp SAML",
               "--field", f"idp_metadata_xml=@{metadata}", "--field", "single_logout=true",
               "--field", "name_id_format=email")  # fmt: skip
    assert saml.returncode == 0, saml.stderr
    assert saml.stdout.startswith("Login option Corp SAML (saml) created, disabled: id ")
    assert "ACS URL: https://gh.example.com/sso/saml/" in saml.stdout
    ldap = cli(keyed_env, "login-options", "create", "--kind", "ldap", "--name", "Directory", "--field",
               "host=ldap.example.org", "--field", "base_dn=dc=example,dc=org", "--field",
               "bind_dn=cn=gatehouse,dc=example,dc=org", "--field", "port=636", "--field", "tls=ldaps",
               "--secret-env", "LDAP_BIND_PASSWORD", "--json")  # fmt: skip
    assert ldap.returncode == 0, ldap.stderr
    assert json.loads(ldap.stdout)["ldap"]["port"] == 636
    with db.reader() as connection:
        found = {option.name: option for option in option_store.list_all(connection)}
    corp = found["Corp SAML"].saml()
    assert corp.idp_metadata_xml == IDP_METADATA and corp.single_logout and corp.name_id_format == "email"
    directory = found["Directory"]
    assert directory.client_secret_env == "LDAP_BIND_PASSWORD" and directory.client_secret_encrypted is None
    assert directory.ldap().tls == "ldaps" and not directory.enabled
    assert [r.outcome for r in created_records(db)] == ["success", "success"]


def test_update_changes_the_fields_given_and_keeps_the_rest(keyed_env: dict[str, str], db: Database) -> None:
    created = cli(keyed_env, "login-options", "create", "--kind", "oidc", "--name", "Okta",
                  "--issuer", "https://okta.example", "--client-id", "gatehouse", "--secret-env", "OKTA_SECRET",
                  "--json")  # fmt: skip
    option_id = json.loads(created.stdout)["id"]
    done = cli(keyed_env, "login-options", "update", "okta", "--name", "Okta SSO", "--scopes", "openid email",
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["id"], shown["name"], shown["scopes"], shown["version"]) == (
        option_id, "Okta SSO", ["openid", "email"], 2,
    )  # fmt: skip
    assert (shown["issuer"], shown["client_secret_env"], shown["enabled"]) == (
        "https://okta.example", "OKTA_SECRET", False,
    )  # fmt: skip
    [record] = created_records(db, "iam:UpdateLoginOption")
    assert record.outcome == "success" and record.resource_id == option_id and record.summary["name"] == "Okta SSO"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--kind", "saml", "--name", "X", "--field", "nope=1"], None, "--field 'nope': not a SAML field"),
        (["--kind", "saml", "--name", "X", "--field", "sign_requests=maybe"], None, "say true or false"),
        (["--kind", "ldap", "--name", "X", "--field", "host=h", "--field", "port=x"], None, "a whole number"),
        (["--kind", "scim", "--name", "X"], None, "--kind must be oidc, ldap or saml"),
        # The kind is checked before a secret is awaited on standard input.
        (["--kind", "scim", "--name", "X", "--secret-stdin"], "", "--kind must be oidc, ldap or saml"),
        (["--kind", "ldap", "--name", "X", "--issuer", "https://i", "--secret-stdin"], "", "are for OpenID Connect"),
        (["--kind", "oidc", "--name", "X", "--issuer", "https://i.example", "--client-id", "c"], None,
         "Give the client secret"),
        (["--kind", "oidc", "--name", "X", "--secret-env", "A", "--secret-stdin"], "s", "not both"),
        (["--kind", "oidc", "--name", "X", "--secret-stdin"], "\n", "standard input held no secret"),
        (["--kind", "saml", "--name", "X", "--field", "idp_metadata_xml=@/nonexistent/md.xml"], None,
         "cannot read /nonexistent/md.xml"),
        (["--kind", "saml", "--name", "X"], None, "Give the IdP's metadata URL"),
    ],
)  # fmt: skip
def test_create_mistakes_are_one_clear_line(
    keyed_env: dict[str, str], db: Database, args: list[str], stdin: str | None, message: str
) -> None:
    done = cli(keyed_env, "login-options", "create", *args, stdin=stdin)
    assert done.returncode != 0 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    with db.reader() as connection:
        assert option_store.list_all(connection) == []


def test_a_viewers_token_may_not_create_and_the_refusal_is_recorded(keyed_env: dict[str, str], db: Database) -> None:
    make_admin(db)
    viewer = token_for(db, add_user(db, "vera", role=VIEWER))
    refused = cli(keyed_env, "--token", viewer, "login-options", "create", "--kind", "saml", "--name", "X",
                  "--field", "idp_metadata_url=https://idp.example/md")  # fmt: skip
    assert refused.returncode == 1 and "iam:UpdateLoginOption" in refused.stderr
    [record] = created_records(db)
    assert (record.outcome, record.actor, record.source) == ("refused", "vera (token ci)", "cli")
