"""SAML 2.0 Single Logout (Core §3.7, HTTP-Redirect binding) end to end against a real IdP (Debian's
SimpleSAMLphp under ``php -S``, :mod:`support.simplesaml`), with the SLO service registered there and logout
messages signed by the IdP: signing out of Gatehouse ends the IdP's session too (the next sign-in asks for the
password again), unsigned and signed; the IdP's own sign-out ends Gatehouse's session; forged, unsigned and
misdirected answers are refused with a page and an audit record (the local session ended all the same); an
option without Single Logout signs out locally only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.login.options import LoginOptionWrite
from gatehouse.login.saml import SamlSettings, SpAddresses, sp_addresses
from gatehouse.store import audit, login_options
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import sessions
from support import saml_forge as forge
from support.oidc_provider import count, path_of
from support.scim import PUBLIC_URL
from support.simplesaml import Idp, IdpBrowser, key_and_certificate
from support.web import csrf_of

pytestmark = pytest.mark.slow


@dataclass
class World:
    gatehouse: TestClient
    db: Database
    idp: Idp
    browser: IdpBrowser
    option_id: str

    @property
    def sp(self) -> SpAddresses:
        return sp_addresses(PUBLIC_URL, self.option_id)

    def sign_in(self, uid: str) -> None:
        start = self.gatehouse.get(f"/sso/saml/{self.option_id}/login", follow_redirects=False)
        assert start.status_code == 303, start.text[:500]
        form = self.browser.sign_in(start.headers["location"], uid)
        fields = {key: value for key, value in form.items() if key in ("SAMLResponse", "RelayState")}
        landed = self.gatehouse.post(f"/sso/saml/{self.option_id}/acs", data=fields, follow_redirects=False)
        assert landed.status_code == 303, landed.text[:500]

    def sign_out(self) -> Any:
        token = csrf_of(self.gatehouse.get("/account/password").text)
        return self.gatehouse.post("/logout", data={"csrf_token": token}, follow_redirects=False)

    def signed_in(self) -> bool:
        return self.gatehouse.get("/account/password", follow_redirects=False).status_code == 200

    def idp_step(self, url: str) -> str:
        """The browser at the IdP, through its own redirects: the first address elsewhere it sends it to (or,
        when it stops at one of its pages, that page's address)."""
        for _ in range(10):
            answer = self.browser.get(url)
            if answer.status_code not in (302, 303):
                assert answer.status_code == 200, answer.text[:1000]
                return url
            url = str(answer.headers["location"])
            if not url.startswith(self.idp.base):
                return url
        raise AssertionError("the IdP redirects in a loop")

    def at_gatehouse(self, url: str) -> Any:
        assert url.startswith(self.sp.slo_url), url
        return self.gatehouse.get(path_of(url), follow_redirects=False)

    def events(self) -> list[Any]:
        with self.db.snapshot() as connection:
            return audit.search(connection, audit.AuditQuery(event="auth:SingleLogout"), limit=20).records

    def saml_sessions(self) -> list[Any]:
        with self.db.snapshot() as connection:
            return list(connection.execute(sessions.select()).all())


def add_option(db: Database, idp: Idp, *, single_logout: bool, key_env: str | None = None, **settings: Any) -> str:
    option_id = str(uuid.uuid4())
    kind = SamlSettings(**{"idp_metadata_url": idp.metadata_url, "single_logout": single_logout, **settings})
    write = LoginOptionWrite("Corp SAML", "", "", kind="saml", settings=kind, client_secret_env=key_env)
    with db.transaction() as connection:
        login_options.insert(connection, option_id, write, utcnow())
    addresses = sp_addresses(PUBLIC_URL, option_id)
    idp.register_sp(
        addresses.entity_id, addresses.acs_url, certificate=settings.get("sp_certificate") or None,
        single_logout_url=addresses.slo_url if single_logout else None,
    )  # fmt: skip
    return option_id


def make_world(idp: Idp, settings: Settings, db: Database, option_id: str) -> Iterator[World]:
    browser = IdpBrowser()
    try:
        with TestClient(create_app(settings, db), base_url=PUBLIC_URL) as client:
            yield World(client, db, idp, browser, option_id)
    finally:
        browser.close()


@pytest.fixture
def world(idp: Idp, settings: Settings, db: Database) -> Iterator[World]:
    yield from make_world(idp, settings, db, add_option(db, idp, single_logout=True))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def refused(world: World, response: Any, reason: str) -> None:
    """The sign-out page that says why, and its audit record."""
    assert response.status_code == 400, response.text[:500]
    assert 'id="sso-error"' in response.text and reason in response.text and "sign-out refused" in response.text
    last = world.events()[0]
    assert last.outcome == "failed" and last.summary["reason"] == reason


# ------------------------------------------------------------------------------------------ SP-initiated


def test_signing_out_ends_the_gatehouse_session_then_the_idps(world: World) -> None:
    uid = unique("ada")
    world.idp.user(uid)
    world.sign_in(uid)
    assert world.browser.asked_password
    [stored] = world.saml_sessions()
    assert stored.login_option_id == world.option_id and stored.saml_name_id == uid and stored.saml_session_index

    out = world.sign_out()
    assert out.status_code == 303
    to_idp = out.headers["location"]
    assert to_idp.startswith(f"{world.idp.base}/saml2/idp/SingleLogoutService.php?SAMLRequest=")
    request = forge.message_of(to_idp)
    assert f">{uid}</ns1:NameID>" in request and f">{stored.saml_session_index}</ns0:SessionIndex>" in request
    assert count(world.db, sessions) == 0 and not world.signed_in()  # ended before the trip to the IdP

    back = world.at_gatehouse(world.idp_step(to_idp))
    assert back.status_code == 303 and back.headers["location"] == "/login"
    assert "You are signed out." in world.gatehouse.get("/login").text
    assert world.events()[0].outcome == "success" and world.events()[0].summary["message"] == "LogoutResponse"

    world.sign_in(uid)  # the IdP's session is gone too: it asks for the password again
    assert world.browser.asked_password


def test_the_logout_request_is_signed_when_the_option_signs_requests(
    idp: Idp, settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, certificate = key_and_certificate("Gatehouse SP")
    monkeypatch.setenv("GATEHOUSE_TEST_SP_KEY", key)
    option_id = add_option(
        db, idp, single_logout=True, key_env="GATEHOUSE_TEST_SP_KEY", sign_requests=True, sp_certificate=certificate
    )
    for world in make_world(idp, settings, db, option_id):
        uid = unique("bea")
        world.idp.user(uid)
        world.sign_in(uid)
        to_idp = world.sign_out().headers["location"]
        query = parse_qs(urlsplit(to_idp).query)
        assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"] and query["Signature"]
        back = world.at_gatehouse(world.idp_step(to_idp))  # the IdP validates it (validate.logout)
        assert back.status_code == 303 and back.headers["location"] == "/login"
        world.sign_in(uid)
        assert world.browser.asked_password


# ------------------------------------------------------------------------------------------ IdP-initiated


def test_the_idps_sign_out_ends_the_gatehouse_session(world: World) -> None:
    uid = unique("cy")
    world.idp.user(uid)
    world.sign_in(uid)
    assert world.signed_in()

    start = f"{world.idp.base}/saml2/idp/initSLO.php?RelayState={world.idp.base}/saml2/idp/metadata.php"
    to_gatehouse = world.idp_step(start)
    answer = world.at_gatehouse(to_gatehouse)
    assert answer.status_code == 303, answer.text[:500]
    assert count(world.db, sessions) == 0 and not world.signed_in()
    event = world.events()[0]
    assert event.outcome == "success" and event.summary["users_signed_out"] == 1 and event.actor == uid
    response = forge.message_of(answer.headers["location"], "SAMLResponse")
    assert "urn:oasis:names:tc:SAML:2.0:status:Success" in response
    assert world.idp_step(answer.headers["location"]).endswith("/saml2/idp/metadata.php")  # the IdP is done


def test_a_logout_request_ends_only_its_session_index_and_is_used_once(world: World) -> None:
    uid = unique("hal")
    world.idp.user(uid)
    world.sign_in(uid)
    [stored] = world.saml_sessions()
    other = forge.logout_request(issuer=world.idp.entity_id, destination=world.sp.slo_url, name_id=uid,
                                 session_indexes=("_another_sign_in",))  # fmt: skip
    query = forge.redirect_query("SAMLRequest", other, None, world.idp.key_pem)
    assert world.at_gatehouse(f"{world.sp.slo_url}?{query}").status_code == 303
    assert world.signed_in() and world.events()[0].summary["users_signed_out"] == 0

    mine = forge.logout_request(issuer=world.idp.entity_id, destination=world.sp.slo_url, name_id=uid,
                                session_indexes=(stored.saml_session_index,))  # fmt: skip
    query = forge.redirect_query("SAMLRequest", mine, "relay", world.idp.key_pem)
    answer = world.at_gatehouse(f"{world.sp.slo_url}?{query}")
    assert answer.status_code == 303 and not world.signed_in()
    assert forge.relay_state_of(answer.headers["location"]) == "relay"  # the RelayState goes back to the IdP
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "request_replayed")

    expired = forge.logout_request(issuer=world.idp.entity_id, destination=world.sp.slo_url, name_id=uid,
                                   lifetime=-600)  # fmt: skip
    query = forge.redirect_query("SAMLRequest", expired, None, world.idp.key_pem)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "request_expired")
    elsewhere = forge.logout_request(issuer=world.idp.entity_id, destination="https://evil.example/slo", name_id=uid)
    query = forge.redirect_query("SAMLRequest", elsewhere, None, world.idp.key_pem)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "destination_mismatch")


def test_a_logout_request_signed_by_another_key_ends_nothing(world: World) -> None:
    uid = unique("dee")
    world.idp.user(uid)
    world.sign_in(uid)
    other, _ = key_and_certificate("Not the IdP")
    xml = forge.logout_request(issuer=world.idp.entity_id, destination=world.sp.slo_url, name_id=uid)
    answer = world.at_gatehouse(f"{world.sp.slo_url}?{forge.redirect_query('SAMLRequest', xml, None, other)}")
    refused(world, answer, "signature_invalid")
    assert world.signed_in()

    unsigned = forge.redirect_query("SAMLRequest", xml, None, None)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{unsigned}"), "signature_missing")
    assert world.signed_in()


# ------------------------------------------------------------------------------------------ refusals


def started_sign_out(world: World) -> tuple[str, str]:
    """Sign in, then out: (the RelayState, the LogoutRequest's id) of the trip to the IdP."""
    uid = unique("eve")
    world.idp.user(uid)
    world.sign_in(uid)
    to_idp = world.sign_out().headers["location"]
    assert count(world.db, sessions) == 0
    return forge.relay_state_of(to_idp), forge.request_id_of(to_idp)


def test_a_logout_response_to_another_request_is_refused(world: World) -> None:
    relay, _ = started_sign_out(world)
    xml = forge.logout_response(issuer=world.idp.entity_id, destination=world.sp.slo_url, in_response_to="_other")
    query = forge.redirect_query("SAMLResponse", xml, relay, world.idp.key_pem)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "in_response_to_mismatch")
    assert not world.signed_in()


def test_an_unsigned_logout_response_is_refused(world: World) -> None:
    relay, request_id = started_sign_out(world)
    xml = forge.logout_response(issuer=world.idp.entity_id, destination=world.sp.slo_url, in_response_to=request_id)
    query = forge.redirect_query("SAMLResponse", xml, relay, None)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "signature_missing")


def test_a_logout_response_from_another_issuer_or_refusing_is_refused(world: World) -> None:
    relay, request_id = started_sign_out(world)
    xml = forge.logout_response(issuer="https://evil.example/idp", destination=world.sp.slo_url,
                                in_response_to=request_id)  # fmt: skip
    query = forge.redirect_query("SAMLResponse", xml, relay, world.idp.key_pem)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "issuer_mismatch")

    relay, request_id = started_sign_out(world)
    xml = forge.logout_response(issuer=world.idp.entity_id, destination=world.sp.slo_url,
                                in_response_to=request_id, status="Responder")  # fmt: skip
    query = forge.redirect_query("SAMLResponse", xml, relay, world.idp.key_pem)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "idp_refused")


def test_a_logout_response_without_its_state_and_garbage_are_refused(world: World) -> None:
    _, request_id = started_sign_out(world)
    xml = forge.logout_response(issuer=world.idp.entity_id, destination=world.sp.slo_url, in_response_to=request_id)
    query = forge.redirect_query("SAMLResponse", xml, "not-the-state", world.idp.key_pem)
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "state_invalid")
    refused(world, world.at_gatehouse(f"{world.sp.slo_url}?SAMLRequest=%%%"), "signature_missing")
    refused(world, world.at_gatehouse(world.sp.slo_url), "signature_missing")


# ------------------------------------------------------------------------------------------ off


def test_without_single_logout_signing_out_is_local_only(idp: Idp, settings: Settings, db: Database) -> None:
    option_id = add_option(db, idp, single_logout=False)
    for world in make_world(idp, settings, db, option_id):
        metadata = world.gatehouse.get(path_of(world.sp.metadata_url)).text
        assert "SingleLogoutService" not in metadata
        uid = unique("fay")
        world.idp.user(uid)
        world.sign_in(uid)
        out = world.sign_out()
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert count(world.db, sessions) == 0
        world.sign_in(uid)  # the IdP's session stands: no password asked
        assert not world.browser.asked_password

        xml = forge.logout_request(issuer=idp.entity_id, destination=world.sp.slo_url, name_id=uid)
        query = forge.redirect_query("SAMLRequest", xml, None, idp.key_pem)
        refused(world, world.at_gatehouse(f"{world.sp.slo_url}?{query}"), "slo_off")
        assert world.signed_in()


def test_an_idp_without_an_slo_service_means_a_local_sign_out_and_an_audit_record(
    idp: Idp, settings: Settings, db: Database
) -> None:
    without_slo = re.sub(r"<md:SingleLogoutService[^>]*/>", "", idp.metadata())
    option_id = add_option(db, idp, single_logout=True, idp_metadata_url="", idp_metadata_xml=without_slo)
    for world in make_world(idp, settings, db, option_id):
        uid = unique("gus")
        world.idp.user(uid)
        world.sign_in(uid)
        out = world.sign_out()
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert count(world.db, sessions) == 0
        [event] = world.events()
        assert event.outcome == "failed" and event.summary == {"direction": "to_idp", "reason": "metadata_no_slo"}


def test_the_sp_metadata_publishes_the_slo_service_when_it_is_on(world: World) -> None:
    metadata = world.gatehouse.get(path_of(world.sp.metadata_url)).text
    assert "SingleLogoutService" in metadata and world.sp.slo_url in metadata
    assert "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" in metadata


def test_the_provider_check_has_no_single_logout_warning_with_the_idps_metadata(world: World) -> None:
    from gatehouse.iam.login_options import view_of
    from gatehouse.sso import provider_checks

    with world.db.snapshot() as connection:
        option = login_options.get(connection, world.option_id)
    assert option is not None
    dashboard = world.gatehouse.app.state.dashboard  # type: ignore[attr-defined]
    found = world.gatehouse.portal.call(provider_checks.check, dashboard, view_of(option, False, PUBLIC_URL))
    assert found.ok and found.warnings == []
