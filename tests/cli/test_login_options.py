"""``gatehouse login-options …`` as real processes: the break-glass ``enable-password`` gets an administrator
back in with the identity provider down and nobody signed in, ``disable-password`` is refused while no
OpenID Connect option is enabled, ``list`` never shows a secret; each change is in the audit log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import login_options as options
from gatehouse.login.options import LoginOptionWrite
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
        found = audit_search(connection, AuditQuery(event=options.PASSWORD.event), limit=50).records
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
