"""SAML 2.0 sign-in end to end against a real IdP (Debian's SimpleSAMLphp under ``php -S``, started by
:mod:`support.simplesaml`), on SQLite and PostgreSQL: SP-initiated by HTTP-Redirect, back to the ACS by
HTTP-POST, linking to the SCIM-provisioned user, roles from the ``groups`` attribute re-applied at every
sign-in. Then the answers an attacker or a broken IdP would post, built with :mod:`support.saml_forge` (signed
with the IdP's own key where the attack needs it): each is refused with a page that says why, its reason in an
audit record, and no session.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.iam.authorizer import held_roles
from gatehouse.login.options import LoginOptionWrite
from gatehouse.login.saml import SamlSettings, sp_addresses
from gatehouse.store import audit, login_options, roles
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import saml_assertions, sessions
from support import saml_forge as forge
from support.oidc_provider import count, path_of
from support.scim import PUBLIC_URL, USER
from support.simplesaml import Idp, key_and_certificate

pytestmark = pytest.mark.slow


@dataclass
class World:
    gatehouse: TestClient
    db: Database
    idp: Idp
    option_id: str
    roles: dict[str, str]
    scim_token: str

    @property
    def sp(self) -> Any:
        return sp_addresses(PUBLIC_URL, self.option_id)

    def start(self, next_path: str | None = None) -> str:
        query = f"?next={next_path}" if next_path else ""
        response = self.gatehouse.get(f"/sso/saml/{self.option_id}/login{query}", follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    def post(self, form: dict[str, str]) -> Any:
        fields = {key: value for key, value in form.items() if key in ("SAMLResponse", "RelayState")}
        return self.gatehouse.post(f"/sso/saml/{self.option_id}/acs", data=fields, follow_redirects=False)

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

    def forged(self, url: str, **changes: Any) -> dict[str, str]:
        """A response to the request of ``url``, as the IdP would sign it, with ``changes``."""
        fields: dict[str, Any] = {
            "issuer": self.idp.entity_id, "destination": self.sp.acs_url, "audience": self.sp.entity_id,
            "recipient": self.sp.acs_url, "in_response_to": forge.request_id_of(url), "name_id": "mallory",
            "attributes": {"uid": ["mallory"], "groups": ["sre"]}, "key_pem": self.idp.key_pem,
            "certificate_pem": self.idp.certificate_pem, **changes,
        }  # fmt: skip
        return {"SAMLResponse": forge.response(**fields), "RelayState": forge.relay_state_of(url)}


def add_saml_option(db: Database, idp: Idp, rules: list[dict[str, str]], **settings: Any) -> str:
    option_id = str(uuid.uuid4())
    kind = SamlSettings(idp_metadata_url=idp.metadata_url, **settings)
    write = LoginOptionWrite("Corp SAML", "", "", role_rules=rules, kind="saml", settings=kind)
    with db.transaction() as connection:
        login_options.insert(connection, option_id, write, utcnow())
    addresses = sp_addresses(PUBLIC_URL, option_id)
    idp.register_sp(addresses.entity_id, addresses.acs_url)
    return option_id


@pytest.fixture
def world(idp: Idp, settings: Settings, db: Database) -> Iterator[World]:
    now = utcnow()
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
        role_ids = {}
        for name in ("SRE", "Developers"):
            role_ids[name] = str(uuid.uuid4())
            roles.insert(connection, role_ids[name], roles.RoleWrite(name), now)
    rules = [
        {"kind": "role", "target_id": role_ids["SRE"], "attribute": "$.groups[*]", "operation": "exact_match",
         "value": "sre"},
        {"kind": "role", "target_id": role_ids["Developers"], "attribute": "$.groups", "operation":
         "exact_match_in_array", "value": "dev"},
    ]  # fmt: skip
    option_id = add_saml_option(db, idp, rules)
    with TestClient(create_app(settings, db), base_url=PUBLIC_URL) as client:
        yield World(client, db, idp, option_id, role_ids, token)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def refused(world: World, response: Any, reason: str, status: int = 400) -> None:
    """A refusal: the page with its reason, an audit record, no session."""
    assert response.status_code == status, response.text[:500]
    assert 'id="sso-error"' in response.text and reason in response.text
    assert "gatehouse_session" not in response.headers.get("set-cookie", "")
    record = world.last_sign_in()
    assert record.outcome != "success" and record.summary["reason"] == reason and record.summary["method"] == "saml"


# ------------------------------------------------------------------------------------------ the journey


def test_a_provisioned_user_signs_in_through_the_idp_with_roles_from_its_groups(world: World) -> None:
    uid = unique("ada")
    world.idp.user(uid, groups=["sre", "dev"])
    user_id = world.provision(f"{uid}@example.org", external_id=uid)  # the persistent NameID is the uid here

    page = world.gatehouse.get("/login")
    assert f'href="/sso/saml/{world.option_id}/login"' in page.text and "Sign in with Corp SAML" in page.text
    form = world.idp.sign_in(world.start("/organization/users"), uid)
    assert form["action"] == world.sp.acs_url
    landed = world.post(form)
    assert landed.status_code == 303, landed.text[:500]
    assert landed.headers["location"] == "/organization/users"
    assert world.held(user_id) == {"SRE": {"sso"}, "Developers": {"sso"}}
    event = world.last_sign_in()
    assert event.outcome == "success" and event.summary["method"] == "saml" and event.resource_id == user_id
    assert event.summary["linked_by"] == "external_id"

    # The IdP drops the user from sre: the role goes at the next sign-in.
    world.idp.set_groups(uid, ["dev"])
    world.gatehouse.cookies.clear()
    assert world.post(world.idp.sign_in(world.start(), uid)).status_code == 303
    assert world.held(user_id) == {"Developers": {"sso"}}

    # The very same answer posted again: its sign-in state is used up (and its assertion id is recorded).
    world.gatehouse.cookies.clear()
    refused(world, world.post(form), "state_invalid")
    assert count(world.db, saml_assertions) == 2


def test_the_sp_metadata_names_the_acs_and_the_entity_id(world: World) -> None:
    response = world.gatehouse.get(path_of(world.sp.metadata_url))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/samlmetadata+xml")
    assert f'entityID="{world.sp.entity_id}"' in response.text and world.sp.acs_url in response.text


# ------------------------------------------------------------------------------------------ refusals


def test_an_unsigned_response_is_refused(world: World) -> None:
    form = world.forged(world.start(), key_pem=None, certificate_pem=None)
    refused(world, world.post(form), "signature_invalid")


def test_a_response_signed_with_another_key_is_refused(world: World) -> None:
    key, certificate = key_and_certificate("Not the IdP")
    form = world.forged(world.start(), key_pem=key, certificate_pem=certificate)
    refused(world, world.post(form), "signature_invalid")


def test_an_assertion_for_another_audience_is_refused(world: World) -> None:
    form = world.forged(world.start(), audience="https://elsewhere.example/sp")
    refused(world, world.post(form), "audience_mismatch")


def test_an_expired_assertion_is_refused(world: World) -> None:
    issued = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    form = world.forged(world.start(), issued=issued)
    refused(world, world.post(form), "assertion_expired")


def test_a_response_to_another_request_is_refused(world: World) -> None:
    form = world.forged(world.start(), in_response_to="id-someone-elses-request")
    refused(world, world.post(form), "in_response_to_mismatch")


def test_a_response_for_another_acs_is_refused(world: World) -> None:
    form = world.forged(world.start(), destination="https://elsewhere.example/acs")
    refused(world, world.post(form), "destination_mismatch")
    form = world.forged(world.start(), recipient="https://elsewhere.example/acs")
    refused(world, world.post(form), "recipient_mismatch")


def test_xml_signature_wrapping_with_a_second_unsigned_assertion_is_refused(world: World) -> None:
    uid = unique("victim")
    world.idp.user(uid, groups=["sre"])
    form = world.idp.sign_in(world.start(), uid)
    form["SAMLResponse"] = forge.wrap(form["SAMLResponse"], "admin")
    refused(world, world.post(form), "assertion_count")


def test_an_xxe_payload_is_refused_before_any_entity_is_read(world: World) -> None:
    form = world.forged(world.start())
    form["SAMLResponse"] = forge.with_doctype(form["SAMLResponse"])
    response = world.post(form)
    refused(world, response, "xml_forbidden")
    assert "root:" not in response.text


def test_a_replayed_assertion_is_refused_even_where_idp_initiated_sign_in_is_allowed(world: World, idp: Idp) -> None:
    with world.db.transaction() as connection:
        scim_control.disable(connection)
        option = login_options.get(connection, world.option_id)
        assert option is not None
        settings = replace(option.saml(), allow_idp_initiated=True)
        login_options.update(connection, option.id, replace(option.write(), settings=settings), utcnow())
    sp = world.sp
    posted = forge.response(
        issuer=idp.entity_id, destination=sp.acs_url, audience=sp.entity_id, recipient=sp.acs_url,
        in_response_to=None, name_id=unique("idp-init"), attributes={"uid": [unique("idp-init")]},
        key_pem=idp.key_pem, certificate_pem=idp.certificate_pem,
    )  # fmt: skip
    first = world.post({"SAMLResponse": posted})
    assert first.status_code == 303, first.text[:500]
    world.gatehouse.cookies.clear()
    refused(world, world.post({"SAMLResponse": posted}), "assertion_replayed")


def test_idp_initiated_sign_in_is_off_by_default(world: World, idp: Idp) -> None:
    sp = world.sp
    posted = forge.response(
        issuer=idp.entity_id, destination=sp.acs_url, audience=sp.entity_id, recipient=sp.acs_url,
        in_response_to=None, name_id="someone", attributes={}, key_pem=idp.key_pem,
        certificate_pem=idp.certificate_pem,
    )  # fmt: skip
    refused(world, world.post({"SAMLResponse": posted}), "state_invalid")
    assert count(world.db, sessions) == 0


def test_garbage_at_the_acs_gets_a_page_never_a_500(world: World) -> None:
    url = world.start()
    for body in ({}, {"SAMLResponse": "%%%"}, {"SAMLResponse": "PHg+", "RelayState": forge.relay_state_of(url)}):
        response = world.post(body)
        assert 400 <= response.status_code < 500, response.text[:300]
