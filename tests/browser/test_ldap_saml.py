"""LDAP and SAML login options in a real browser: an administrator adds each one in Organization → Settings →
Login Options, tests the directory from the option's page, enables it (a new option starts disabled), and a
person signs in through it end to end (a real slapd; a real SimpleSAMLphp with its own login page), landing
with the role the rules give. The pictures of the LDAP and SAML guides are taken here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from support.browser import (
    ADMIN_PASSWORD,
    LOGIN_OPTIONS_URL,
    ContextFactory,
    LiveServer,
    enable_login_option,
    live_server,
    screenshot,
    sign_in,
)
from support.pages import VIEWPORTS, axe_script, axe_violations, overflow
from support.pem import BROKEN_PEM
from support.simplesaml import PASSWORD as IDP_PASSWORD
from support.simplesaml import Idp, running_idp
from support.slapd import PASSWORD, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, Directory, running_slapd

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAML_RULES = """[
  {"kind": "role", "target_id": "Viewer", "attribute": "$.groups[*]", "operation": "exact_match", "value": "sre"}
]"""


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: this test adds login options, which change the sign-in page."""
    with live_server(tmp_path_factory.mktemp("ldap-saml-server"), admin_password=ADMIN_PASSWORD) as running:
        yield running


@pytest.fixture
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with running_slapd(tmp_path_factory.mktemp("slapd")) as found:
        yield found


@pytest.fixture
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    with running_idp(tmp_path_factory.mktemp("simplesaml")) as found:
        yield found


def add_option(admin: Page, kind: str) -> None:
    admin.goto(LOGIN_OPTIONS_URL)
    admin.locator("#login-options").get_by_role("link", name=f"Add {kind}").click()


def test_a_cut_ca_bundle_is_refused_beside_its_field_and_nothing_is_saved(
    own_server: LiveServer, new_context: ContextFactory
) -> None:
    axe_script()
    for width, viewport in VIEWPORTS.items():
        admin = new_context(own_server, viewport=viewport, bypass_csp=True).new_page()  # bypass: to inject axe
        sign_in(admin, "admin", ADMIN_PASSWORD)
        add_option(admin, "LDAP")
        admin.locator("#name").fill(f"Corp LDAP {width}")
        admin.locator("#host").fill("ldap.example.org")
        admin.locator("#base_dn").fill(PEOPLE)
        admin.locator("#ca_bundle").fill(BROKEN_PEM)
        admin.get_by_role("button", name="Add login option").click()
        expect(admin.locator("#ca_bundle-error")).to_contain_text("The CA bundle must be readable PEM certificates")
        expect(admin.locator("#ca_bundle")).to_have_attribute("aria-invalid", "true")
        expect(admin.locator("#ca_bundle")).to_have_value(BROKEN_PEM)  # what was pasted, kept to be mended
        assert overflow(admin) == [], width
        assert axe_violations(admin) == [], width
        screenshot(admin, f"login-option-ldap-ca-refused-{width}", docs=False)
        admin.goto(LOGIN_OPTIONS_URL)
        expect(admin.get_by_text(f"Corp LDAP {width}")).to_have_count(0)


def test_ldap_option_set_up_tested_and_used_to_sign_in(
    own_server: LiveServer, directory: Directory, new_context: ContextFactory
) -> None:
    uid = f"ada{uuid.uuid4().hex[:6]}"
    directory.add_user(uid, name="Ada Lovelace", groups=["sre"])

    admin = new_context(own_server).new_page()
    sign_in(admin, "admin", ADMIN_PASSWORD)
    add_option(admin, "LDAP")
    admin.locator("#name").fill("Corp LDAP")
    admin.locator("#host").fill("127.0.0.1")
    admin.locator("#port").fill(str(directory.port))
    admin.locator("#base_dn").fill(PEOPLE)
    admin.locator("#bind_dn").fill(SERVICE_DN)
    admin.locator("#client_secret").fill(SERVICE_PASSWORD)
    admin.locator("#rules-0-target").select_option(label="Viewer")  # the rule as a row
    admin.locator("#rules-0-attribute").fill("$.memberOf[*]")
    admin.locator("#rules-0-operation").select_option("contains_string")
    admin.locator("#rules-0-value").fill("cn=sre")
    admin.get_by_role("button", name="Add login option").click()
    expect(admin.locator("h1")).to_have_text("Corp LDAP")

    admin.get_by_role("button", name="Test connection").click()
    expect(admin.locator("#steps-result")).to_contain_text("Every step passed.")
    admin.locator("#test-username").fill(uid)
    admin.locator("#test-password").fill(PASSWORD)
    admin.get_by_role("button", name="Test sign-in").click()
    expect(admin.locator("#steps-result")).to_contain_text("The rules grant Viewer.")
    screenshot(admin, "login-option-ldap")
    enable_login_option(admin, "Corp LDAP")  # tested: now on the sign-in page

    page = new_context(own_server).new_page()
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Corp LDAP").click()
    page.locator("#username").fill(uid)
    page.locator("#password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#ldap-error")).to_have_text("Invalid username or password.")
    page.locator("#password").fill(PASSWORD)
    screenshot(page, "sign-in-ldap")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{own_server.base}/organization/**")
    expect(page.locator("body")).to_contain_text(uid)


def test_saml_option_set_up_and_used_to_sign_in_through_the_idp(
    own_server: LiveServer, idp: Idp, new_context: ContextFactory
) -> None:
    uid = f"grace{uuid.uuid4().hex[:6]}"
    idp.user(uid, groups=["sre"], name="Grace Hopper")

    admin = new_context(own_server).new_page()
    sign_in(admin, "admin", ADMIN_PASSWORD)
    add_option(admin, "SAML 2.0")
    acs = admin.locator("#acs-url").inner_text().strip()
    assert acs.startswith(f"{own_server.base}/sso/saml/") and acs.endswith("/acs")
    admin.locator("#name").fill("Corp SAML")
    admin.locator("#idp_metadata_url").fill(idp.metadata_url)
    admin.locator("#username_attribute").fill("uid")
    admin.get_by_text("Advanced: edit the rules as JSON").click()  # the rules as JSON
    admin.locator("#rules").fill(SAML_RULES)
    admin.get_by_role("button", name="Save with these JSON rules").click()
    expect(admin.locator("h1")).to_have_text("Corp SAML")
    expect(admin.locator("#acs-url")).to_have_text(acs)  # what was registered before saving stays right
    idp.register_sp(admin.locator("#sp-entity-id").inner_text().strip(), acs)
    admin.get_by_role("button", name="Check the IdP").click()
    expect(admin.locator("#check-result")).to_contain_text("The IdP's metadata is usable")
    screenshot(admin, "login-option-saml")
    enable_login_option(admin, "Corp SAML")  # registered at the IdP and checked: now on the sign-in page

    page = new_context(own_server).new_page()
    page.goto("/login")
    screenshot(page, "sign-in-options")
    page.get_by_role("link", name="Sign in with Corp SAML").click()
    page.locator("#username").fill(uid)
    page.locator("#password").fill(IDP_PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url(f"{own_server.base}/organization/**")
    expect(page.locator("body")).to_contain_text(uid)
