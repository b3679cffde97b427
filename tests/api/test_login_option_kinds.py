"""LDAP and SAML login options through the admin API on both databases: created with their `ldap` or `saml`
object, read back (the bind password and SP key never returned, nor audited), changed with PATCH, refused
when a field is wrong or the kind would change, and checked (`POST …/check`) against a real slapd and a
directory that is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.config import Settings
from gatehouse.store.database import Database
from support.api import raw_audit_text
from support.scim import PUBLIC_URL
from support.servers import free_port
from support.slapd import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, Directory, running_slapd

L = "/api/login_options"
METADATA = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/x">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, public_url=PUBLIC_URL, secret_key_file=tmp_path / "secret.key")


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with running_slapd(tmp_path_factory.mktemp("slapd")) as found:
        yield found


def ldap_body(port: int, **changes: Any) -> dict[str, Any]:
    return {
        "kind": "ldap", "name": "Corp LDAP", "client_secret": SERVICE_PASSWORD,
        "ldap": {"host": "127.0.0.1", "port": port, "base_dn": PEOPLE, "bind_dn": SERVICE_DN},
        **changes,
    }  # fmt: skip


def test_an_ldap_option_round_trips_without_its_bind_password(
    client: TestClient, admin: dict[str, str], directory: Directory, db: Database
) -> None:
    created = client.post(L, headers=admin, json=ldap_body(directory.port))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "ldap" and body["secret_source"] == "stored" and body["ldap"]["identifier"] == "uid"
    assert body["issuer"] == "" and body["saml"] is None and SERVICE_PASSWORD not in created.text
    assert SERVICE_PASSWORD not in raw_audit_text(db)

    checked = client.post(f"{L}/{body['id']}/check", headers=admin)
    assert checked.status_code == 200 and checked.json()["ok"] is True
    assert [step["step"] for step in checked.json()["steps"]] == ["connect", "service_bind", "search"]

    changed = client.patch(f"{L}/{body['id']}", headers=admin, json={"ldap": {**body["ldap"], "timeout": 3}})
    assert changed.status_code == 200 and changed.json()["ldap"]["timeout"] == 3
    assert changed.json()["secret_source"] == "stored"  # kept

    oidc = client.put(f"{L}/{body['id']}", headers=admin, json={"name": "X", "issuer": "https://a.example",
                                                             "client_id": "c", "client_secret": "s"})  # fmt: skip
    assert oidc.status_code == 400 and "its kind cannot change" in oidc.text


def test_a_directory_that_is_down_is_reported_by_the_check(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post(L, headers=admin, json=ldap_body(free_port(), name="Down"))
    checked = client.post(f"{L}/{created.json()['id']}/check", headers=admin).json()
    assert checked["ok"] is False and checked["reason"] == "ldap_connect_failed"
    assert "Connection refused" in checked["detail"]


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"ldap": None}, 422, "needs its 'ldap' object"),
        ({"ldap": {"host": "ldap://x", "base_dn": PEOPLE}}, 400, "without a scheme"),
        ({"client_secret": None}, 400, "bind password"),
    ],
)
def test_a_wrong_ldap_option_is_refused(
    client: TestClient, admin: dict[str, str], changes: dict[str, Any], status: int, message: str
) -> None:
    response = client.post(L, headers=admin, json=ldap_body(389, **changes))
    assert response.status_code == status and message in response.text, response.text


def test_every_wrong_field_is_named_in_fields(client: TestClient, admin: dict[str, str]) -> None:
    body = ldap_body(389, name=" ", ldap={"host": "ldap://x", "base_dn": " ", "identifier": "u id"})
    response = client.post(L, headers=admin, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and "without a scheme" in error["detail"]
    assert {tuple(found["loc"]): found["type"] for found in error["fields"]} == {
        ("body", "name"): "invalid_value", ("body", "ldap", "host"): "invalid_value",
        ("body", "ldap", "base_dn"): "invalid_value", ("body", "ldap", "identifier"): "invalid_value",
    }  # fmt: skip
    assert client.get(L, headers=admin).json()["items"] == []


def test_single_logout_against_metadata_without_an_slo_service_is_a_warning_of_the_check(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {"kind": "saml", "name": "SLO", "saml": {"idp_metadata_xml": METADATA, "single_logout": True}}
    created = client.post(L, headers=admin, json=body)
    assert created.status_code == 201 and created.json()["saml"]["single_logout"] is True, created.text
    checked = client.post(f"{L}/{created.json()['id']}/check", headers=admin).json()
    assert checked["ok"] is True  # sign-in works; Single Logout would not
    assert checked["warnings"] == [
        "Single Logout is on, but the IdP metadata has no SingleLogoutService for HTTP-Redirect. Signing out ends "
        "Gatehouse's session only."
    ]
    metadata = client.get(f"/sso/saml/{created.json()['id']}/metadata").text
    assert f"/sso/saml/{created.json()['id']}/slo" in metadata  # the SP publishes its own SLO service


def test_a_saml_option_with_pasted_metadata_shows_its_sp_addresses(client: TestClient, admin: dict[str, str]) -> None:
    body = {"kind": "saml", "name": "Corp SAML", "saml": {"idp_metadata_xml": METADATA, "sign_requests": True}}
    created = client.post(L, headers=admin, json=body)
    assert created.status_code == 201, created.text
    found = created.json()
    option_id = found["id"]
    assert found["sp"] == {
        "entity_id": f"{PUBLIC_URL}/sso/saml/{option_id}/metadata",
        "acs_url": f"{PUBLIC_URL}/sso/saml/{option_id}/acs",
        "metadata_url": f"{PUBLIC_URL}/sso/saml/{option_id}/metadata",
        "slo_url": f"{PUBLIC_URL}/sso/saml/{option_id}/slo",
    }
    assert found["saml"]["single_logout"] is False
    assert found["saml"]["sp_certificate"].startswith("-----BEGIN CERTIFICATE-----")  # generated
    assert found["secret_source"] == "stored" and "PRIVATE KEY" not in created.text
    checked = client.post(f"{L}/{option_id}/check", headers=admin).json()
    assert checked["ok"] is True and checked["idp_entity_id"] == "https://idp.example/x"
    assert checked["warnings"] == []  # Single Logout is off
    assert checked["sso_url"] == "https://idp.example/sso"
    metadata = client.get(f"/sso/saml/{option_id}/metadata")
    assert metadata.status_code == 200 and 'AuthnRequestsSigned="true"' in metadata.text
