"""The pure parts of SAML Single Logout (:mod:`gatehouse.sso.saml_redirect`): decoding an HTTP-Redirect message
(SAML 2.0 Bindings §3.4.4.1) with its caps and its refusal of DTDs, reading a LogoutRequest and a
LogoutResponse (Core §3.7.1, §3.7.2), and checking the query string's signature over the octets as sent."""

from __future__ import annotations

import base64
import zlib
from urllib.parse import quote_plus

import pytest

from gatehouse.sso.saml_redirect import (
    MAX_ENCODED,
    SUCCESS,
    inflate,
    raw_parameters,
    read_message,
    signed_octets,
    verify_signature,
)
from gatehouse.sso.saml_xml import SamlRefused
from support import saml_forge as forge
from support.simplesaml import key_and_certificate

IDP = "https://idp.example/metadata"
SLO = "https://gatehouse.test/sso/saml/x/slo"
KEY, CERTIFICATE = key_and_certificate("Test IdP")


def encoded(xml: str) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml.encode()) + compressor.flush()).decode()


def reason(exc: pytest.ExceptionInfo[SamlRefused]) -> str:
    return exc.value.reason


def test_a_logout_request_is_read() -> None:
    xml = forge.logout_request(issuer=IDP, destination=SLO, name_id="ada", session_indexes=("_s1", "_s2"))
    message = read_message(encoded(xml), "LogoutRequest")
    assert message.kind == "LogoutRequest" and message.id.startswith("_q") and message.issuer == IDP
    assert message.destination == SLO and message.name_id == "ada" and message.session_indexes == ("_s1", "_s2")
    assert message.not_on_or_after is not None and message.in_response_to is None


def test_a_logout_response_is_read() -> None:
    xml = forge.logout_response(issuer=IDP, destination=SLO, in_response_to="_r1")
    message = read_message(encoded(xml), "LogoutResponse")
    assert (message.in_response_to, message.status, message.issuer) == ("_r1", SUCCESS, IDP)
    partial = forge.logout_response(issuer=IDP, destination=SLO, in_response_to="_r1", status="Responder")
    assert read_message(encoded(partial), "LogoutResponse").status.endswith(":Responder")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "message_missing"),
        ("%%%", "message_not_encoded"),
        (base64.b64encode(b"not deflated").decode(), "message_not_encoded"),
        ("A" * (MAX_ENCODED + 4), "message_too_large"),
    ],
)
def test_what_is_not_a_message_is_refused(value: str, expected: str) -> None:
    with pytest.raises(SamlRefused) as refused:
        inflate(value)
    assert reason(refused) == expected


def test_a_zip_bomb_is_refused_past_the_cap() -> None:
    with pytest.raises(SamlRefused) as refused:
        inflate(encoded("<a>" + " " * 2_000_000 + "</a>"))
    assert reason(refused) == "message_too_large"


def test_a_dtd_another_message_and_an_id_less_one_are_refused() -> None:
    xml = forge.logout_request(issuer=IDP, destination=SLO, name_id="ada")
    cases = {
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + xml: "xml_forbidden",
        "<unclosed": "xml_invalid",
        forge.logout_response(issuer=IDP, destination=SLO, in_response_to="_r"): "wrong_message",
        xml.replace(' Version="2.0"', ""): "message_invalid",
    }
    for text, expected in cases.items():
        with pytest.raises(SamlRefused) as refused:
            read_message(encoded(text), "LogoutRequest")
        assert reason(refused) == expected, text[:80]


def test_the_signature_is_checked_over_the_octets_as_sent() -> None:
    xml = forge.logout_response(issuer=IDP, destination=SLO, in_response_to="_r")
    query = forge.redirect_query("SAMLResponse", xml, "relay/state+x", KEY)
    verify_signature(query, "LogoutResponse", ["junk", CERTIFICATE])  # one of the metadata's keys suffices
    octets, algorithm, _ = signed_octets(query, "LogoutResponse")
    assert octets.startswith(b"SAMLResponse=") and b"&RelayState=relay%2Fstate%2Bx&SigAlg=" in octets
    assert algorithm.endswith("rsa-sha256")
    body = "".join(line for line in CERTIFICATE.splitlines() if "-----" not in line)
    verify_signature(query, "LogoutResponse", [body])  # base64 DER, as metadata gives it


def test_a_changed_relay_state_another_key_sha1_and_no_signature_are_refused() -> None:
    xml = forge.logout_response(issuer=IDP, destination=SLO, in_response_to="_r")
    query = forge.redirect_query("SAMLResponse", xml, "state", KEY)
    other_key, other_certificate = key_and_certificate("Other")
    cases = {
        query.replace("RelayState=state", "RelayState=other"): ("signature_invalid", [CERTIFICATE]),
        query: ("signature_invalid", [other_certificate]),
        forge.redirect_query("SAMLResponse", xml, "state", KEY, "http://www.w3.org/2000/09/xmldsig#rsa-sha1"): (
            "signature_algorithm", [CERTIFICATE]),
        forge.redirect_query("SAMLResponse", xml, "state", None): ("signature_missing", [CERTIFICATE]),
        query.replace("&Signature=", "&Signature=%21"): ("signature_invalid", [CERTIFICATE]),
    }  # fmt: skip
    for sent, (expected, certificates) in cases.items():
        with pytest.raises(SamlRefused) as refused:
            verify_signature(sent, "LogoutResponse", certificates)
        assert reason(refused) == expected, sent[-60:]
    assert other_key


def test_raw_parameters_keep_the_encoding_and_the_first_of_a_repeated_name() -> None:
    raw = raw_parameters(f"SAMLRequest={quote_plus('a+b/c=')}&RelayState=x&RelayState=y&Flag")
    assert raw == {"SAMLRequest": "a%2Bb%2Fc%3D", "RelayState": "x", "Flag": ""}
