"""Organization → Settings → Login Options over HTTP as an admin's browser uses it, on both databases: the
settings section, the setup page (URIs to register, the secret never shown), create, edit, delete, the
password option's switch, the rules and their dry run, refusals, and mapped roles on the user's page."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.iam import policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.login import options
from gatehouse.passwords import hash_password
from gatehouse.store import login_options as store
from gatehouse.store import roles as role_store
from gatehouse.store import sso_links
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import audit_events
from support.web import ADMIN_PASSWORD, csrf_of, make_admin, sign_in

SETTINGS = "/organization/settings/login-options"  # the list of login options (its own page)
BASE = "/organization/settings/login-options"
SECRET = "very-secret-client-value-42"
OPS_RULE = {"target_id": "Ops", "attribute": "$.groups[*]", "operation": "exact_match", "value": "ops"}
READ_ONLY = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}
SCIM_ONLY_POLICY = {"statement": [{"effect": "allow", "actions": ["iam:GetSCIMProvisioning"], "resources": ["*"]}]}


@pytest.fixture
def console(app_client: TestClient, db: Database) -> TestClient:
    """RBAC seeded, a role "Ops" and a policy "read-only", signed in as the Super Admin ``admin``."""
    make_admin(db)
    with db.transaction() as connection:
        admin = _admin(connection)
        rbac.create_role(connection, admin, role_input("Ops", "", None), [])
        policies.create_policy(connection, admin, policy_input("read-only", READ_ONLY))
    assert sign_in(app_client).status_code == 303
    return app_client


def _admin(connection: sa.Connection) -> Any:
    found = user_store.get_by_user_name(connection, "admin")
    assert found is not None
    return load_principal(connection, found.id)


def add_user(db: Database, name: str, role: str | None = None) -> str:
    with db.transaction() as connection:
        doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": True}
        secret = hash_password(ADMIN_PASSWORD)
        write = user_store.UserWrite(str(uuid.uuid4()), doc, source="local", password_hash=secret)
        user_id = user_store.insert(connection, write, utcnow()).id
        if role is not None:
            found = role_store.get_by_name(connection, role)
            assert found is not None
            rbac.assign_role(connection, _admin(connection), user_id, found.id)
    return user_id


def browser(client: TestClient, user_name: str) -> TestClient:
    other = TestClient(client.app, base_url="https://testserver")
    assert sign_in(other, user_name).status_code == 303
    return other


def post(client: TestClient, url: str, data: dict[str, Any] | None = None, page: str = SETTINGS) -> httpx.Response:
    """Post a form with the CSRF token of ``page``, as a browser would (redirects not followed)."""
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def form(**changes: Any) -> dict[str, Any]:
    """The new-option form as an admin fills it in."""
    values = {
        "name": "Okta", "issuer": "https://example.okta.com", "client_id": "0oa123", "secret_mode": "stored",
        "client_secret": SECRET, "client_secret_env": "", "scopes": "openid profile email groups",
        "username_claim": "preferred_username", "email_claim": "email", "name_claim": "name",
        "scim_only": "default", "enabled": "on", "rules": orjson.dumps([OPS_RULE]).decode(),
    }  # fmt: skip
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def create(client: TestClient, **changes: Any) -> httpx.Response:
    page = client.get(f"{BASE}/new")
    assert page.status_code == 200
    option_id = re.search(r'name="option_id" value="([0-9a-f-]{36})"', page.text)
    assert option_id
    return client.post(
        BASE, data={"csrf_token": csrf_of(page.text), "option_id": option_id.group(1), **form(**changes)},
        follow_redirects=False,
    )  # fmt: skip


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def audit(db: Database, event: str) -> list[dict[str, Any]]:
    with db.snapshot() as connection:
        rows = connection.execute(sa.select(audit_events).where(audit_events.c.event == event)).mappings()
        return [dict(row) for row in rows]


def stored(db: Database, option_id: str) -> options.LoginOption | None:
    with db.snapshot() as connection:
        return store.get(connection, option_id)


# ------------------------------------------------------------------------------------------ tests


def test_the_settings_page_lists_the_password_option_and_offers_to_add_one(console: TestClient) -> None:
    page = console.get(SETTINGS)
    assert page.status_code == 200
    assert 'id="login-options"' in page.text and "Username and password" in page.text
    assert 'action="/organization/settings/login-options/password"' in page.text
    assert 'id="password-login" name="enabled" value="on" role="switch"' in page.text
    assert f'href="{BASE}/new"' in page.text and "No OpenID Connect, LDAP or SAML login options yet" in page.text


def test_the_new_page_shows_the_uris_before_the_option_exists(console: TestClient, db: Database) -> None:
    page = console.get(f"{BASE}/new")
    proposed = re.search(r'name="option_id" value="([0-9a-f-]{36})"', page.text)
    assert proposed
    option_id = proposed.group(1)
    assert f'<code id="redirect-uri">https://gatehouse.test/sso/oidc/{option_id}/callback</code>' in page.text
    assert f'<code id="initiate-login-uri">https://gatehouse.test/sso/oidc/{option_id}/login</code>' in page.text
    assert "Okta: Sign-in redirect URIs" in page.text and "Entra ID: Redirect URI (Web)" in page.text
    assert 'value="openid profile email"' in page.text and 'value="preferred_username"' in page.text
    assert "/.well-known/openid-configuration" in page.text and "recomputed from these rules" in page.text
    assert "Ops" in page.text and "read-only" in page.text  # the targets an admin can map to
    response = console.post(
        BASE, data={"csrf_token": csrf_of(page.text), "option_id": option_id, **form()}, follow_redirects=False
    )
    assert created_id(response) == option_id


def test_create_then_the_setup_page_never_shows_the_secret(console: TestClient, db: Database) -> None:
    option_id = created_id(create(console))
    page = console.get(f"{BASE}/{option_id}")
    assert page.status_code == 200 and "Login option Okta created, disabled." in page.text
    assert f"https://gatehouse.test/sso/oidc/{option_id}/callback" in page.text
    assert "stored (encrypted)" in page.text and SECRET not in page.text
    assert 'name="client_secret" type="password" value=""' in page.text
    option = stored(db, option_id)
    assert option is not None and option.scopes == "openid profile email groups"
    assert not option.enabled  # a new option starts disabled, whatever the form says
    assert option.client_secret_encrypted and SECRET not in option.client_secret_encrypted
    [rule] = option.rules()
    with db.snapshot() as connection:
        ops = role_store.get_by_name(connection, "Ops")
    assert ops is not None and rule.target_id == ops.id  # the name was saved as the id
    assert '<a href="/organization/roles/' + ops.id + '">Ops</a>' in page.text  # the rules table
    [record] = audit(db, "iam:CreateLoginOption")
    assert record["outcome"] == "success" and record["resource_id"] == option_id
    assert SECRET not in record["summary"] and orjson.loads(record["summary"])["client_auth"] == "stored"
    listing = console.get(SETTINGS).text
    assert "Sign in with Okta" in listing and f'href="{BASE}/{option_id}"' in listing


def test_the_subject_claim_and_the_sign_out_uri(console: TestClient, db: Database) -> None:
    option_id = created_id(create(console, subject_claim="oid"))
    option = stored(db, option_id)
    assert option is not None and option.subject_claim == "oid"
    page = console.get(f"{BASE}/{option_id}")
    assert 'id="subject_claim" name="subject_claim" value="oid"' in page.text
    assert '<code id="sign-out-redirect-uri">https://gatehouse.test/login</code>' in page.text
    defaulted = stored(db, created_id(create(console, name="Entra", subject_claim=None)))
    assert defaulted is not None and defaulted.subject_claim == "sub"


def test_invalid_forms_are_shown_again_with_the_reason(console: TestClient, db: Database) -> None:
    missing = create(console, client_secret="")
    assert missing.status_code == 400 and "confidential client" in missing.text
    assert 'value="Okta"' in missing.text and 'value="0oa123"' in missing.text
    bad_rule = create(console, rules=orjson.dumps([OPS_RULE, {**OPS_RULE, "target_id": "Nope"}]).decode())
    assert bad_rule.status_code == 400
    assert "In rule 2, there is no role with the id or name “Nope”." in bad_rule.text
    assert SECRET not in bad_rule.text  # the secret typed is not sent back
    admin_rule = create(console, rules=orjson.dumps([{**OPS_RULE, "target_id": "Super Admin"}]).decode())
    assert admin_rule.status_code == 400 and "Super Admin accounts only" in admin_rule.text
    no_openid = create(console, scopes="profile")
    assert no_openid.status_code == 400 and "must include &#39;openid&#39;" in no_openid.text
    with db.snapshot() as connection:
        assert store.list_all(connection) == []
    assert [r["outcome"] for r in audit(db, "iam:CreateLoginOption")] == ["failed"] * 4


def test_edit_keeps_or_switches_the_secret_and_refuses_a_stale_form(console: TestClient, db: Database) -> None:
    option_id = created_id(create(console))
    url = f"{BASE}/{option_id}"
    page = console.get(url).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    saved = post(console, url, {**form(name="Okta prod", client_secret=""), "version": version.group(1)}, url)
    assert saved.status_code == 303 and saved.headers["location"] == url
    before = stored(db, option_id)
    assert before is not None and before.name == "Okta prod" and before.client_secret_encrypted

    stale = post(console, url, {**form(name="Old tab", client_secret=""), "version": version.group(1)}, url)
    assert stale.status_code == 412 and "changed since you loaded it" in stale.text
    assert "Reload the current settings" in stale.text and 'value="Old tab"' in stale.text

    env = post(console, url, form(name="Okta prod", secret_mode="env", client_secret_env="GH_TEST_UNSET_SECRET"), url)
    assert env.status_code == 303
    after = console.get(url).text
    assert "from environment variable <code>GH_TEST_UNSET_SECRET</code>" in after
    assert "is not set for this Gatehouse process" in after
    option = stored(db, option_id)
    assert option is not None and option.client_secret_encrypted is None

    blank = post(console, url, form(name="Okta prod", client_secret=""), url)  # "store" chosen, nothing typed
    assert blank.status_code == 400 and "Enter the client secret" in blank.text
    assert all(SECRET not in r["summary"] for r in audit(db, "iam:UpdateLoginOption"))


def test_delete_asks_first(console: TestClient, db: Database) -> None:
    option_id = created_id(create(console))
    confirm = console.get(f"{BASE}/{option_id}/delete")
    assert confirm.status_code == 200 and "Delete the login option Okta?" in confirm.text
    assert "Roles and boundaries mapped at their last sign-in stay" in confirm.text
    gone = post(console, f"{BASE}/{option_id}/delete", page=f"{BASE}/{option_id}")
    assert gone.status_code == 303 and gone.headers["location"] == SETTINGS
    assert stored(db, option_id) is None
    assert console.get(f"{BASE}/{option_id}").status_code == 404
    [record] = audit(db, "iam:DeleteLoginOption")
    assert orjson.loads(record["summary"]) == {"name": "Okta"}


def test_password_sign_in_turns_off_only_with_a_way_back_in(console: TestClient, db: Database) -> None:
    """The switch asks on its own page; that page refuses, saying why, until an enabled option has signed in
    someone who may change login options; then it names them, and only the confirming POST turns it off."""
    off = f"{BASE}/password/disable"
    asked = post(console, f"{BASE}/password", page=SETTINGS)  # no "enabled": off
    assert asked.status_code == 303 and asked.headers["location"] == off
    refused = console.get(off)
    assert refused.status_code == 409 and "while no other login option is enabled" in refused.text
    forced = post(console, off, page=SETTINGS)  # the confirming POST without a page that offered it
    assert forced.status_code == 409 and "while no other login option is enabled" in forced.text

    option_id = created_id(create(console))
    with db.transaction() as connection:  # the option enabled (its provider check passed), nobody signed in yet
        current = store.get(connection, option_id)
        assert current is not None
        store.update(connection, option_id, replace(current.write(), enabled=True), utcnow())
    refused = console.get(off)
    assert refused.status_code == 409 and "nobody who may change login options has signed in" in refused.text
    assert "(Okta)" in refused.text and "Nothing was changed." in refused.text
    with db.transaction() as connection:  # admin signs in through Okta once
        admin_id = user_store.get_by_user_name(connection, "admin").id  # type: ignore[union-attr]
        sso_links.link(connection, option_id, "okta-subject-1", admin_id, utcnow())
        sso_links.touch(connection, option_id, "okta-subject-1", utcnow())
    confirm = console.get(off)
    assert confirm.status_code == 200 and "Turn off password sign-in?" in confirm.text
    assert "admin (through Okta)" in confirm.text and "gatehouse login-options enable-password" in confirm.text
    with db.snapshot() as connection:
        assert store.password_login_enabled(connection)  # asking changed nothing
    done = console.post(off, data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == SETTINGS
    page = console.get(SETTINGS).text
    assert "Password sign-in is off" in page and "The built-in option is <strong>off</strong>" in page
    assert console.get(off, follow_redirects=False).status_code == 303  # off already: nothing to ask
    assert post(console, f"{BASE}/password", {"enabled": "on"}, SETTINGS).status_code == 303
    with db.snapshot() as connection:
        assert store.password_login_enabled(connection)
    outcomes = [(orjson.loads(r["summary"]), r["outcome"]) for r in audit(db, "iam:UpdatePasswordLogin")]
    assert outcomes == [({"enabled": False}, "failed"), ({"enabled": False}, "success"), ({"enabled": True}, "success")]


def test_the_dry_run_names_the_matching_rule_and_the_resulting_roles(console: TestClient) -> None:
    rules = [OPS_RULE, {"kind": "boundary", "target_id": "read-only", "attribute": "$.department",
                        "operation": "contains_string", "value": "Sales"}]  # fmt: skip
    option_id = created_id(create(console, rules=orjson.dumps(rules).decode()))
    url = f"{BASE}/{option_id}/dry-run"
    page = console.get(url)
    assert page.status_code == 200 and "&#34;$.groups[*]&#34;" in page.text and "&#34;sub&#34;" in page.text
    claims = {"sub": "1", "groups": ["eng", "ops"], "department": "Support"}
    saved_rules = re.search(r'<textarea id="rules" name="rules"[^>]*>([^<]*)</textarea>', page.text)
    assert saved_rules
    sent = {"claims": orjson.dumps(claims).decode(), "rules": _unescape(saved_rules.group(1))}
    result = post(console, url, sent, url)
    assert result.status_code == 200
    html = result.text
    roles = html.split('id="result-roles-heading"')[1].split("</ul>")[0]
    assert ">Ops</a>" in roles and "by rule 1" in roles
    assert "No boundaries." in html
    rule_one = html.split('id="rule-1"')[1].split("</tr>")[0]
    assert "Matched" in rule_one and "<code>ops</code> at <code>$[&#39;groups&#39;][1]</code>" in rule_one
    assert "No match" in html.split('id="rule-2"')[1].split("</tr>")[0]
    assert "These are edited rules" not in html
    by_name = post(console, url, {"claims": sent["claims"], "rules": orjson.dumps(rules).decode()}, url)
    assert "These are edited rules" not in by_name.text  # names resolve to the saved ids

    edited = post(console, url, {"claims": '{"department": "Sales"}', "rules": orjson.dumps(rules[1:]).decode()}, url)
    assert "These are edited rules" in edited.text and ">read-only</a>" in edited.text
    bad = post(console, url, {"claims": "[]", "rules": "[]"}, url)
    assert bad.status_code == 400 and "The sample claims must be a JSON object" in bad.text
    # The page's form is a GET (a dry run reads only): the same answers, at an address a reload shows again.
    assert '<form method="get" action="' + url + '"' in page.text and "csrf_token" not in page.text.split(url)[1][:200]
    again = console.get(url, params=sent)
    assert again.status_code == 200 and ">Ops</a>" in again.text.split('id="result-roles-heading"')[1]
    assert console.get(url, params={"claims": "[]", "rules": "[]"}).status_code == 400


def _unescape(text: str) -> str:
    return text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<")


def test_a_viewer_sees_options_read_only_and_is_refused_every_change(console: TestClient, db: Database) -> None:
    option_id = created_id(create(console))
    add_user(db, "vera", "Viewer")
    viewer = browser(console, "vera")
    settings = viewer.get(SETTINGS).text
    assert 'id="login-options"' in settings and "Okta" in settings
    assert f'href="{BASE}/new"' not in settings and 'id="password-login"' not in settings
    page = viewer.get(f"{BASE}/{option_id}")
    assert page.status_code == 200 and "<fieldset disabled>" in page.text and "Save login option" not in page.text
    assert viewer.get(f"{BASE}/{option_id}/dry-run").status_code == 200
    assert viewer.get(f"{BASE}/new").status_code == 403
    assert viewer.get(f"{BASE}/{option_id}/delete").status_code == 403
    for url, data in [(BASE, form(name="Mine")), (f"{BASE}/{option_id}", form(name="Hijacked")),
                      (f"{BASE}/{option_id}/delete", {}), (f"{BASE}/password", {})]:  # fmt: skip
        assert post(viewer, url, data, SETTINGS).status_code == 403, url
    option = stored(db, option_id)
    assert option is not None and option.name == "Okta"
    with db.snapshot() as connection:
        assert [o.name for o in store.list_all(connection)] == ["Okta"] and store.password_login_enabled(connection)


def test_without_the_get_permission_there_is_no_section_and_every_route_is_refused(
    console: TestClient, db: Database
) -> None:
    option_id = created_id(create(console))
    with db.transaction() as connection:
        admin = _admin(connection)
        policy = policies.create_policy(connection, admin, policy_input("scim-readers", SCIM_ONLY_POLICY))
        rbac.create_role(connection, admin, role_input("SCIM reader", "", None), [policy.id])
    add_user(db, "sam", "SCIM reader")
    sam = browser(console, "sam")
    settings = sam.get("/organization/settings")  # opens SCIM Provisioning, the part sam may read
    assert settings.status_code == 200 and "SCIM Provisioning" in settings.text
    assert 'href="/organization/settings/login-options"' not in settings.text  # not in the menu either
    assert sam.get(SETTINGS).status_code == 403
    for url in (f"{BASE}/new", f"{BASE}/{option_id}", f"{BASE}/{option_id}/dry-run", f"{BASE}/{option_id}/delete"):
        assert sam.get(url).status_code == 403, url
    dry = post(sam, f"{BASE}/{option_id}/dry-run", {"claims": "{}", "rules": "[]"}, SETTINGS)
    assert dry.status_code == 403


def test_with_only_the_login_option_permission_settings_shows_login_options_alone(
    console: TestClient, db: Database
) -> None:
    create(console)
    document = '{"statement": [{"effect": "allow", "actions": ["iam:GetLoginOption"], "resources": ["*"]}]}'
    with db.transaction() as connection:
        admin = _admin(connection)
        policy = policies.create_policy(connection, admin, policy_input("login-readers", document))
        rbac.create_role(connection, admin, role_input("Login reader", "", None), [policy.id])
    add_user(db, "lou", "Login reader")
    lou = browser(console, "lou")
    settings = lou.get(SETTINGS)
    assert settings.status_code == 200 and 'id="login-options"' in settings.text and "Okta" in settings.text
    assert 'id="scim"' not in settings.text and "SCIM Endpoint URL" not in settings.text
    assert 'href="/organization/settings"' in settings.text  # the menu entry


def test_every_form_needs_its_csrf_token(console: TestClient) -> None:
    option_id = created_id(create(console))
    for url in (BASE, f"{BASE}/{option_id}", f"{BASE}/{option_id}/delete", f"{BASE}/password",
                f"{BASE}/{option_id}/dry-run"):  # fmt: skip
        assert console.post(url, data=form(), follow_redirects=False).status_code == 403, url


def test_the_user_page_shows_mapped_roles_and_links_apart(console: TestClient, db: Database) -> None:
    option_id = created_id(create(console))
    user_id = add_user(db, "ada", "Viewer")
    with db.transaction() as connection:
        ops = role_store.get_by_name(connection, "Ops")
        policy = policies.list_policies(connection, _admin(connection))
        boundary = next(p for p in policy if p.name == "read-only")
        assert ops is not None
        sso_links.link(connection, option_id, "00u-ada", user_id, utcnow())
        sso_links.touch(connection, option_id, "00u-ada", utcnow())
        sso_links.set_mapped(connection, user_id, [ops.id], [boundary.id], "sso", utcnow())
    html = console.get(f"/organization/users/{user_id}").text
    held = html.split('aria-label="Roles held"')[1].split("</ul>")[0]
    assert "Viewer" in held and "Ops" not in held
    mapped = html.split('id="mapped-grants"')[1].split("</ul>")[0]
    assert '>Ops</a> <span class="muted">(role, mapped at SSO sign-in)' in mapped
    assert '>read-only</a> <span class="muted">(permission boundary, mapped at SSO sign-in)' in mapped
    assert "Mapped at SSO sign-in" in html and "recomputed from that option&#39;s rules" in html
    assert "lasts only until this user's next SSO sign-in" in html
    links = html.split('id="sso-links"')[1].split("</table>")[0]
    assert f'href="{BASE}/{option_id}">Okta</a>' in links and "<code>00u-ada</code>" in links and "Never" not in links
    # the hand-set boundary form does not count the mapped boundary as set by hand
    assert f'name="policy_id" value="{boundary.id}" checked' not in html
    assert "No boundary set by hand" in html


def test_a_user_without_sso_has_no_mapped_section(console: TestClient, db: Database) -> None:
    with db.transaction() as connection:
        ensure_rbac(connection)
    user_id = add_user(db, "bob", "Viewer")
    html = console.get(f"/organization/users/{user_id}").text
    assert "Mapped at SSO sign-in" not in html and 'id="sso-links"' not in html


def test_an_option_is_enabled_only_while_its_provider_check_passes(
    console: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new option starts disabled (an "enabled" sent with the new form is ignored); ticking Enabled saves the
    form, runs the provider check, and enables the option only if it passes: else it stays disabled and the
    page says why. The sign-in page never offers an option whose check failed."""
    new = console.get(f"{BASE}/new")
    assert 'name="enabled"' not in new.text and "A new login option starts <strong>disabled</strong>" in new.text
    option_id = created_id(create(console, issuer="http://127.0.0.1:9", enabled="on"))
    option = stored(db, option_id)
    assert option is not None and not option.enabled
    page = console.get(f"{BASE}/{option_id}")
    assert "Enabling it checks the provider first" in page.text
    url = f"{BASE}/{option_id}"
    failed = post(console, url, form(issuer="http://127.0.0.1:9", client_secret="", enabled="on", version="1"), url)
    assert failed.status_code == 303 and failed.headers["location"] == url
    shown = console.get(url).text
    assert "Saved, but Okta stays disabled: its provider check failed." in shown
    assert stored(db, option_id).enabled is False  # type: ignore[union-attr]
    assert "Sign in with Okta" not in console.get("/login").text

    async def passes(issuer: str) -> object:
        return object()

    monkeypatch.setattr(console.app.state.dashboard.provider, "check", passes)  # type: ignore[attr-defined]
    version = str(stored(db, option_id).version)  # type: ignore[union-attr]
    enabled = post(
        console, url, form(issuer="http://127.0.0.1:9", client_secret="", enabled="on", version=version), url
    )
    assert enabled.status_code == 303
    assert "saved and enabled: its provider check passed" in console.get(url).text
    assert stored(db, option_id).enabled is True  # type: ignore[union-attr]
    records = [orjson.loads(r["summary"]) for r in audit(db, "iam:UpdateLoginOption")]
    assert {"enabled": True, "provider_check": "passed"} in records
