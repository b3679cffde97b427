"""SAML responses built by the tests, signed with ``xmlsec1`` by a key they hold (the IdP's, or another): the
forged, expired, misdirected and replayed answers an attacker or a broken IdP would post to the ACS.

:func:`response` writes a Response with one Assertion (enveloped signature on the assertion when a key is
given); :func:`wrap` adds a second, unsigned assertion to a real signed response (XML signature wrapping);
:func:`with_doctype` puts an external-entity DTD in front (XXE).
"""

from __future__ import annotations

import base64
import datetime
import re
import subprocess
import tempfile
import uuid
import zlib
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, quote_plus, urlsplit

SIGNATURE = """<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>\
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>\
<ds:Reference URI="#{id}"><ds:Transforms>\
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>\
<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>\
<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>\
</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}\
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"""


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_id_of(url: str) -> str:
    """The ID of the AuthnRequest in an HTTP-Redirect URL (deflated, base64)."""
    raw = parse_qs(urlsplit(url).query)["SAMLRequest"][0]
    xml = zlib.decompress(base64.b64decode(raw), -15).decode()
    found = re.search(r'\bID="([^"]+)"', xml)
    assert found is not None, xml
    return found.group(1)


def relay_state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["RelayState"][0]


def response(
    *,
    issuer: str,
    destination: str,
    audience: str,
    recipient: str,
    in_response_to: str | None,
    name_id: str,
    attributes: dict[str, list[str]],
    key_pem: str | None,
    certificate_pem: str | None,
    lifetime: datetime.timedelta = datetime.timedelta(minutes=5),
    issued: datetime.datetime | None = None,
    assertion_id: str | None = None,
) -> str:
    """A base64 SAMLResponse (see the module), signed on the assertion when ``key_pem`` is given."""
    now = issued or datetime.datetime.now(datetime.UTC)
    assertion_id = assertion_id or f"_a{uuid.uuid4().hex}"
    in_response = f' InResponseTo="{escape(in_response_to)}"' if in_response_to else ""
    values = "".join(
        f'<saml:Attribute Name="{escape(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
        + "".join(f'<saml:AttributeValue xsi:type="xs:string">{escape(v)}</saml:AttributeValue>' for v in vals)
        + "</saml:Attribute>"
        for name, vals in attributes.items()
    )
    signature = ""
    if certificate_pem is not None:
        body = "".join(line for line in certificate_pem.splitlines() if "-----" not in line)
        signature = SIGNATURE.format(id=assertion_id, certificate=body)
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'ID="_r{uuid.uuid4().hex}" Version="2.0" IssueInstant="{stamp(now)}" Destination="{escape(destination)}"'
        f"{in_response}><saml:Issuer>{escape(issuer)}</saml:Issuer>"
        '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f'<saml:Assertion ID="{assertion_id}" Version="2.0" IssueInstant="{stamp(now)}">'
        f"<saml:Issuer>{escape(issuer)}</saml:Issuer>{signature}"
        '<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">'
        f"{escape(name_id)}</saml:NameID>"
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData NotOnOrAfter="{stamp(now + lifetime)}" Recipient="{escape(recipient)}"'
        f"{in_response}/></saml:SubjectConfirmation></saml:Subject>"
        f'<saml:Conditions NotBefore="{stamp(now - datetime.timedelta(seconds=30))}" '
        f'NotOnOrAfter="{stamp(now + lifetime)}"><saml:AudienceRestriction>'
        f"<saml:Audience>{escape(audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{stamp(now)}" SessionIndex="_s{uuid.uuid4().hex}">'
        "<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
        "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"<saml:AttributeStatement>{values}</saml:AttributeStatement></saml:Assertion></samlp:Response>"
    )
    if key_pem is not None:
        xml = sign(xml, key_pem)
    return base64.b64encode(xml.encode()).decode()


def sign(xml: str, key_pem: str) -> str:
    """The document with its assertion's signature template filled in by ``xmlsec1`` with ``key_pem``."""
    with tempfile.TemporaryDirectory() as private:
        key, source, signed = Path(private) / "key.pem", Path(private) / "in.xml", Path(private) / "out.xml"
        key.write_text(key_pem)
        source.write_text(xml)
        done = subprocess.run(
            ["xmlsec1", "--sign", "--privkey-pem", str(key), "--id-attr:ID",
             "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--output", str(signed), str(source)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return signed.read_text()


def decoded(posted: str) -> str:
    return base64.b64decode(posted).decode()


def wrap(posted: str, name_id: str) -> str:
    """XML signature wrapping: a second, unsigned assertion for ``name_id`` before the signed one."""
    xml = decoded(posted)
    start = xml.index("<saml:Assertion")
    end = xml.index("</saml:Assertion>") + len("</saml:Assertion>")
    original = xml[start:end]
    evil = re.sub(r"<ds:Signature.*?</ds:Signature>", "", original, flags=re.S)
    evil = re.sub(r'ID="[^"]+"', 'ID="_evil"', evil, count=1)
    evil = re.sub(r"(<saml:NameID[^>]*>)[^<]*", rf"\g<1>{name_id}", evil)
    return base64.b64encode((xml[:start] + evil + xml[start:]).encode()).decode()


def with_doctype(posted: str) -> str:
    """An XXE attempt: a DTD with an external entity, used in the document."""
    xml = decoded(posted)
    if xml.startswith("<?xml"):
        xml = xml[xml.index("?>") + 2 :]
    dtd = '<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    xml = dtd + xml.replace("</saml:Issuer>", "&xxe;</saml:Issuer>", 1)
    return base64.b64encode(xml.encode()).decode()


def redirect_query(parameter: str, xml: str, relay_state: str | None, key_pem: str | None, sigalg: str = "") -> str:
    """An HTTP-Redirect query string (SAML 2.0 Bindings §3.4.4.1): the message DEFLATEd and base64, then the
    RelayState, and signed over those octets with ``key_pem`` when one is given."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(xml.encode()) + compressor.flush()
    parts = [f"{parameter}={quote_plus(base64.b64encode(deflated).decode())}"]
    if relay_state is not None:
        parts.append(f"RelayState={quote_plus(relay_state)}")
    if key_pem is None:
        return "&".join(parts)
    algorithm = sigalg or "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    parts.append(f"SigAlg={quote_plus(algorithm)}")
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    digest = hashes.SHA1() if algorithm.endswith("rsa-sha1") else hashes.SHA256()  # SHA-1: to test its refusal
    signature = key.sign("&".join(parts).encode(), padding.PKCS1v15(), digest)
    return "&".join(parts) + f"&Signature={quote_plus(base64.b64encode(signature).decode())}"


def logout_response(*, issuer: str, destination: str, in_response_to: str, status: str = "Success") -> str:
    """A LogoutResponse (SAML 2.0 Core §3.7.2) as an IdP writes it."""
    return (
        '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l{uuid.uuid4().hex}" Version="2.0" '
        f'IssueInstant="{stamp(datetime.datetime.now(datetime.UTC))}" Destination="{escape(destination)}" '
        f'InResponseTo="{escape(in_response_to)}"><saml:Issuer>{escape(issuer)}</saml:Issuer>'
        f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:{status}"/></samlp:Status>'
        "</samlp:LogoutResponse>"
    )


def logout_request(
    *, issuer: str, destination: str, name_id: str, session_indexes: tuple[str, ...] = (), lifetime: int = 300
) -> str:
    """A LogoutRequest (SAML 2.0 Core §3.7.1) as an IdP writes it."""
    now = datetime.datetime.now(datetime.UTC)
    indexes = "".join(f"<samlp:SessionIndex>{escape(index)}</samlp:SessionIndex>" for index in session_indexes)
    return (
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_q{uuid.uuid4().hex}" Version="2.0" '
        f'IssueInstant="{stamp(now)}" Destination="{escape(destination)}" '
        f'NotOnOrAfter="{stamp(now + datetime.timedelta(seconds=lifetime))}"><saml:Issuer>{escape(issuer)}'
        '</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">'
        f"{escape(name_id)}</saml:NameID>{indexes}</samlp:LogoutRequest>"
    )


def message_of(url: str, parameter: str = "SAMLRequest") -> str:
    """The XML of an HTTP-Redirect message in ``url``."""
    raw = parse_qs(urlsplit(url).query)[parameter][0]
    return zlib.decompress(base64.b64decode(raw), -15).decode()
