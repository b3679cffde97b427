"""LDAP and SAML login options in the dashboard, on both databases: the new-option forms, create and edit
through them (the bind password and SP key never shown again nor audited), the addresses a SAML IdP needs
before the option exists, the generated SP key pair, "Test connection" and "Test sign-in as…" against a
real slapd naming the step that failed, the SAML check against a real IdP, and who may use the tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from gatehouse.iam import roles as rbac
from gatehouse.iam import users as admin_cases
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.rbac_forms import role_input
from gatehouse.store import login_options as store
from gatehouse.store import roles, users
from gatehouse.store.database import Database
from gatehouse.store.tables import audit_events
from support.simplesaml import Idp, running_idp
from support.slapd import PASSWORD, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, Directory, running_slapd
from support.web import csrf_of, sign_in

pytestmark = pytest.mark.slow
SETTINGS = "/organization/settings/login-options"  # the list of login options (its own page)
BASE = "/organization/settings/login-options"


@pytest.fixture
def console(console: TestClient, db: Database) -> TestClient:
    """The signed-in Super Admin (the dashboard's ``console``) with a role "Ops" to map to."""
    with db.transaction() as connection:
        admin = load_principal(connection, users.get_by_user_name(connection, "admin").id)  # type: ignore[union-attr]
        rbac.create_role(connection, admin, role_input("Ops", "", None), [])
        viewer = roles.get_by_name(connection, "Viewer")
        new = admin_cases.new_local_user("vera")
        vera = admin_cases.create_local_user(connection, admin, new, admin_cases.OneTimePassword.choose(VERA))
        users.require_password_change(connection, vera.id, False)
        assert viewer is not None
        rbac.assign_role(connection, admin, vera.id, viewer.id)
    return console


VERA = "a viewer's password 12"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with running_slapd(tmp_path_factory.mktemp("slapd")) as found:
        found.add_user("ada", groups=["sre"])
        yield found


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    with running_idp(tmp_path_factory.mktemp("simplesaml")) as found:
        yield found


def ldap_form(directory: Directory, **changes: str) -> dict[str, str]:
    return {
        "kind": "ldap", "name": "Corp LDAP", "host": "127.0.0.1", "port": str(directory.port), "tls": "none",
        "verify_certificate": "on", "ca_bundle": "", "base_dn": PEOPLE, "bind_dn": SERVICE_DN,
        "secret_mode": "stored", "client_secret": SERVICE_PASSWORD, "client_secret_env": "", "identifier": "uid",
        "user_filter": "", "subject_attribute": "entryUUID", "username_attribute": "uid", "email_attribute": "mail",
        "name_attribute": "cn", "groups_attribute": "memberOf", "group_search_base": "", "timeout": "5",
        "trust_email": "on", "scim_only": "default", "enabled": "on",
        "rules": '[{"target_id": "Ops", "attribute": "$.memberOf[*]", "operation": "contains_string", '
        '"value": "cn=sre"}]', **changes,
    }  # fmt: skip


def create(console: TestClient, form: dict[str, str], kind: str) -> httpx.Response:
    page = console.get(f"{BASE}/new?kind={kind}")
    assert page.status_code == 200
    new_id = re.search(r'name="option_id" value="([^"]+)"', page.text)
    assert new_id is not None
    data = {**form, "csrf_token": csrf_of(page.text), "option_id": new_id.group(1)}
    return console.post(BASE, data=data, follow_redirects=False)


def option_id_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:1000]
    return str(response.headers["location"]).rsplit("/", 1)[1]


def post(console: TestClient, url: str, data: dict[str, str], page: str) -> httpx.Response:
    return console.post(url, data={**data, "csrf_token": csrf_of(console.get(page).text)}, follow_redirects=False)


def tried(console: TestClient, option_id: str, username: str, password: str) -> httpx.Response:
    """A test sign-in as the page sends it, then the page it redirects to (Post/Redirect/Get)."""
    page = f"{BASE}/{option_id}"
    sent = post(console, f"{page}/test-sign-in", {"username": username, "password": password}, page)
    assert sent.status_code == 303 and sent.headers["location"] == f"{page}/test-sign-in", sent.text[:300]
    shown = console.get(sent.headers["location"])
    assert shown.status_code == 200
    return shown


# ------------------------------------------------------------------------------------------ LDAP


def test_an_ldap_option_is_created_edited_and_tested_from_its_page(
    console: TestClient, db: Database, directory: Directory
) -> None:
    settings = console.get(SETTINGS)
    assert f'href="{BASE}/new?kind=ldap"' in settings.text and f'href="{BASE}/new?kind=saml"' in settings.text
    option_id = option_id_of(create(console, ldap_form(directory), "ldap"))
    page = console.get(f"{BASE}/{option_id}")
    assert page.status_code == 200 and "Test connection" in page.text and 'name="kind" value="ldap"' in page.text
    assert SERVICE_PASSWORD not in page.text and "stored (encrypted)" in page.text
    with db.snapshot() as connection:
        stored = store.get(connection, option_id)
        assert stored is not None and stored.kind == "ldap" and stored.ldap().port == directory.port
        summaries = [str(row.summary) for row in connection.execute(audit_events.select())]
    assert not any(SERVICE_PASSWORD in summary for summary in summaries)

    connection_test = console.get(f"{BASE}/{option_id}/check")
    assert connection_test.status_code == 200 and "Every step passed." in connection_test.text
    assert "Bind as the service account</strong>: passed" in connection_test.text
    older = post(console, f"{BASE}/{option_id}/check", {}, f"{BASE}/{option_id}")  # a form of an older page
    assert older.status_code == 303 and older.headers["location"] == f"{BASE}/{option_id}/check"

    signed = tried(console, option_id, "ada", PASSWORD)
    assert signed.status_code == 200 and "Every step passed." in signed.text
    assert "The rules grant Ops." in signed.text and PASSWORD not in signed.text
    wrong = tried(console, option_id, "ada", "nope")
    assert "Failed at: Bind as the user." in wrong.text
    injected = tried(console, option_id, "*)(uid=*", "x")
    assert "Failed at: Find the user." in injected.text and r"(uid=\2a\29\28uid=\2a)" in injected.text
    again = console.get(f"{BASE}/{option_id}/test-sign-in", follow_redirects=False)  # a reload: nothing again
    assert again.status_code == 303 and again.headers["location"] == f"{BASE}/{option_id}"

    # Edit: a wrong bind password is kept out of the page and makes the service bind fail, by name.
    edited = post(console, f"{BASE}/{option_id}", {**ldap_form(directory, client_secret="wrong"), "version": "1"},
                  f"{BASE}/{option_id}")  # fmt: skip
    assert edited.status_code == 303, edited.text[:500]
    failed = console.get(f"{BASE}/{option_id}/check")
    assert "Failed at: Bind as the service account." in failed.text and "invalidCredentials" in failed.text


def test_an_ldap_option_aimed_at_nothing_says_the_connection_failed(console: TestClient, directory: Directory) -> None:
    from support.servers import free_port

    option_id = option_id_of(create(console, ldap_form(directory, port=str(free_port()), name="Down"), "ldap"))
    failed = console.get(f"{BASE}/{option_id}/check")
    assert failed.status_code == 200 and "Failed at: Connect." in failed.text


def test_the_ldap_form_refuses_what_is_wrong_and_shows_it_again(console: TestClient, directory: Directory) -> None:
    for changes, message in (
        ({"host": "ldap://x"}, "without a scheme"),
        ({"base_dn": ""}, "base DN is required"),
        ({"user_filter": "objectClass=person"}, "user filter must be one LDAP filter"),
        ({"identifier": "u id"}, "identifier must be an LDAP attribute name"),
        ({"client_secret": ""}, "bind password"),
    ):
        response = create(console, ldap_form(directory, name=f"Bad {message}", **changes), "ldap")
        assert response.status_code == 400 and message in response.text, (changes, response.text[:300])


def test_every_wrong_field_of_the_ldap_form_shows_beside_it_at_once(console: TestClient, directory: Directory) -> None:
    wrong = {
        "host": "ldap://x", "port": "38a9", "base_dn": "", "identifier": "u id", "timeout": "99",
        "rules": '[{"target_id": "Ops", "attribute": "memberOf", "operation": "exact_match", "value": "x"}]',
    }  # fmt: skip
    response = create(console, ldap_form(directory, name="Every problem", **wrong), "ldap")
    assert response.status_code == 400
    page = response.text
    assert "Nothing was saved. 6 problems need fixing." in page
    for field, message in (
        ("host", "The host must be a host name or an address, without a scheme"),
        ("port", "The port must be a whole number."),
        ("base_dn", "The base DN is required"),
        ("identifier", "The identifier must be an LDAP attribute name"),
        ("timeout", "The timeout must be 1 to 60 seconds."),
    ):
        assert re.search(rf'id="{field}" aria-invalid="true" aria-describedby="{field}-error"', page), field
        assert re.search(rf'<p class="field-error" id="{field}-error">{re.escape(message)}', page), field
        assert f'<a href="#{field}">{message}' in page, field  # the summary links to it
    assert 'id="rules-0-attribute-error"' in page  # and the rule's own problem, beside its field
    assert 'id="name" aria-invalid' not in page and 'value="38a9"' in page  # what was typed, shown again
    assert "Every problem" not in console.get(SETTINGS).text  # nothing was saved


def test_a_viewer_may_test_the_connection_but_not_sign_in_as_someone(
    console: TestClient, db: Database, directory: Directory
) -> None:
    option_id = option_id_of(create(console, ldap_form(directory, name="Viewable"), "ldap"))
    viewer = TestClient(console.app, base_url="https://testserver")
    assert sign_in(viewer, "vera", VERA).status_code == 303  # type: ignore[attr-defined]
    page = f"{BASE}/{option_id}"
    assert "Test connection" in viewer.get(page).text and 'id="test-sign-in"' not in viewer.get(page).text
    assert viewer.get(f"{page}/check").status_code == 200
    refused = post(viewer, f"{page}/test-sign-in", {"username": "ada", "password": PASSWORD}, page)
    assert refused.status_code == 403


# ------------------------------------------------------------------------------------------ SAML


def saml_form(idp: Idp, **changes: str) -> dict[str, str]:
    return {
        "kind": "saml", "name": "Corp SAML", "idp_metadata_url": idp.metadata_url, "idp_metadata_xml": "",
        "entity_id": "", "sp_root_url": "", "name_id_format": "persistent", "username_attribute": "uid",
        "email_attribute": "email", "name_attribute": "displayName", "groups_attribute": "groups",
        "sp_certificate": "", "client_secret": "", "trust_email": "on", "scim_only": "default", "enabled": "on",
        "rules": "[]", **changes,
    }  # fmt: skip


def test_a_saml_option_shows_its_addresses_first_and_checks_the_idp(console: TestClient, idp: Idp) -> None:
    page = console.get(f"{BASE}/new?kind=saml")
    new_id = re.search(r'name="option_id" value="([^"]+)"', page.text)
    assert new_id is not None
    assert f"https://gatehouse.test/sso/saml/{new_id.group(1)}/acs" in page.text  # before the option exists
    option_id = option_id_of(create(console, saml_form(idp), "saml"))
    shown = console.get(f"{BASE}/{option_id}")
    assert f"/sso/saml/{option_id}/metadata" in shown.text and 'id="acs-url"' in shown.text
    checked = console.get(f"{BASE}/{option_id}/check")
    assert "The IdP's metadata is usable" in checked.text and idp.entity_id in checked.text


def test_the_single_logout_checkbox_is_kept_and_its_url_shown_with_a_copy_button(
    console: TestClient, idp: Idp, db: Database
) -> None:
    option_id = option_id_of(create(console, saml_form(idp, name="With SLO", single_logout="on"), "saml"))
    with db.snapshot() as connection:
        stored = store.get(connection, option_id)
    assert stored is not None and stored.saml().single_logout is True
    shown = console.get(f"{BASE}/{option_id}")
    slo = f"https://gatehouse.test/sso/saml/{option_id}/slo"
    assert f'<code id="slo-url">{slo}</code>' in shown.text and 'data-copy="#slo-url"' in shown.text
    assert re.search(r'name="single_logout" value="on" checked', shown.text)
    assert slo in console.get(f"/sso/saml/{option_id}/metadata").text


def test_signing_requests_generates_a_key_pair_published_in_the_sp_metadata(
    console: TestClient, idp: Idp, db: Database
) -> None:
    option_id = option_id_of(create(console, saml_form(idp, name="Signed", sign_requests="on"), "saml"))
    with db.snapshot() as connection:
        stored = store.get(connection, option_id)
    assert stored is not None and stored.client_secret_encrypted is not None
    certificate = stored.saml().sp_certificate
    assert certificate.startswith("-----BEGIN CERTIFICATE-----")
    metadata = console.get(f"/sso/saml/{option_id}/metadata")
    body = "".join(line for line in certificate.splitlines() if "-----" not in line)
    assert metadata.status_code == 200 and body[:60] in metadata.text
    assert 'AuthnRequestsSigned="true"' in metadata.text
    page = console.get(f"{BASE}/{option_id}").text
    assert "PRIVATE KEY" not in page
    # Saving the form again (the key field blank) keeps the key and its certificate.
    again = post(console, f"{BASE}/{option_id}", {**saml_form(idp, name="Signed", sign_requests="on"), "version": "1"},
                 f"{BASE}/{option_id}")  # fmt: skip
    assert again.status_code == 303, again.text[:500]
    with db.snapshot() as connection:
        kept = store.get(connection, option_id)
    assert kept is not None and kept.saml().sp_certificate == certificate


def test_the_saml_form_refuses_an_option_without_metadata(console: TestClient, idp: Idp) -> None:
    response = create(console, saml_form(idp, idp_metadata_url="", name="No metadata"), "saml")
    assert response.status_code == 400 and "metadata URL, or paste its metadata XML" in response.text


def test_an_uploaded_key_must_match_its_certificate(console: TestClient, idp: Idp) -> None:
    from support.simplesaml import key_and_certificate

    key, _ = key_and_certificate("one")
    _, other = key_and_certificate("two")
    response = create(console, saml_form(idp, name="Mismatch", client_secret=key, sp_certificate=other), "saml")
    assert response.status_code == 400 and "not the certificate of this private key" in response.text
