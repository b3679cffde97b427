"""The SAML login option's pure parts: the SP's addresses, the settings' checks, and the claims role mapping
reads from an assertion's attributes."""

from __future__ import annotations

import pytest

from gatehouse.errors import InvalidInput
from gatehouse.login import saml_keys
from gatehouse.login.mapping import evaluate, parse_rules
from gatehouse.login.saml import SamlSettings, claims_of, first, sp_addresses
from support.pem import BROKEN_PEM


def test_the_sp_addresses_derive_from_the_root_url_and_the_option() -> None:
    found = sp_addresses("https://gatehouse.example/", "o1")
    assert found.acs_url == "https://gatehouse.example/sso/saml/o1/acs"
    assert found.entity_id == found.metadata_url == "https://gatehouse.example/sso/saml/o1/metadata"
    assert sp_addresses("https://g.example", "o1", "urn:gatehouse").entity_id == "urn:gatehouse"
    settings = SamlSettings(idp_metadata_url="https://idp.example/md", sp_root_url="https://other.example")
    assert settings.addresses("https://public.example", "o2").acs_url == "https://other.example/sso/saml/o2/acs"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"idp_metadata_url": ""}, "metadata URL, or paste"),
        ({"idp_metadata_url": "ftp://idp.example/md"}, "http\\(s\\) URL"),
        ({"idp_metadata_url": "", "idp_metadata_xml": "<html/>"}, "EntityDescriptor"),
        ({"name_id_format": "transient"}, "NameID format"),
        ({"entity_id": "has space"}, "entity ID"),
        ({"email_attribute": ""}, "email attribute"),
        ({"sp_certificate": "nope"}, "one readable PEM certificate"),
        ({"sp_certificate": BROKEN_PEM}, "one readable PEM certificate"),
    ],
)
def test_settings_that_are_wrong_are_refused(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"idp_metadata_url": "https://idp.example/md", **changes}
    with pytest.raises(InvalidInput, match=message):
        SamlSettings(**fields).checked()  # type: ignore[arg-type]


def test_claims_are_the_attributes_and_the_name_id_and_rules_read_them() -> None:
    claims = claims_of("00u1", {"groups": ["sre", "dev"], "email": ["ada@example.org"]})
    assert first(claims, "") == "00u1" and first(claims, "email") == "ada@example.org" and first(claims, "x") is None
    rules = parse_rules(
        [{"target_id": "r-sre", "attribute": "$.groups[*]", "operation": "exact_match", "value": "sre"}]
    )
    assert dict(evaluate(rules, claims).roles) == {"r-sre": 0}


def test_a_generated_key_pair_belongs_together_and_another_certificate_does_not() -> None:
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    key, certificate = saml_keys.generate("urn:gatehouse", now)
    saml_keys.check_pair(key, certificate)
    _, other = saml_keys.generate("other", now)
    with pytest.raises(InvalidInput, match="not the certificate of this private key"):
        saml_keys.check_pair(key, other)
    with pytest.raises(InvalidInput, match="unencrypted PEM private key"):
        saml_keys.check_pair("junk", certificate)


def test_single_logout_is_off_by_default_and_survives_checks_and_storage() -> None:
    assert SamlSettings(idp_metadata_xml='<EntityDescriptor entityID="x"/>').checked().single_logout is False
    on = SamlSettings(idp_metadata_xml='<EntityDescriptor entityID="x"/>', single_logout=True).checked()
    assert on.single_logout is True and SamlSettings.from_json(on.to_json()).single_logout is True
    older = {key: value for key, value in on.to_json().items() if key != "single_logout"}
    assert SamlSettings.from_json(older).single_logout is False


def test_the_slo_url_sits_beside_the_acs() -> None:
    addresses = sp_addresses("https://gatehouse.example/", "opt")
    assert addresses.acs_url == "https://gatehouse.example/sso/saml/opt/acs"
    assert addresses.slo_url == "https://gatehouse.example/sso/saml/opt/slo"
