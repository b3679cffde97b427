"""Single Logout messages that come by the HTTP-Redirect binding (SAML 2.0 Bindings §3.4): their first look, and
the signature of their query string.

* :func:`read_message` decodes a ``SAMLRequest`` or ``SAMLResponse`` query parameter (base64 of the DEFLATEd
  XML, Bindings §3.4.4.1), with a size cap on both sides of the inflation, parses it with ``defusedxml`` (no
  DTD, no entity) and returns what the checks of Core §3.7 need: a ``LogoutRequest``'s id, issuer,
  destination, ``NameID``, ``SessionIndex`` elements and ``NotOnOrAfter`` (§3.7.1); a ``LogoutResponse``'s
  ``InResponseTo``, issuer, destination and top-level status code (§3.2.2).
* :func:`verify_signature` checks the signature that Bindings §3.4.4.1 puts in the query string: over the
  octets ``SAMLRequest=…&RelayState=…&SigAlg=…`` (``SAMLResponse`` for a response) exactly as the sender
  URL-encoded them, hence read from the raw query string, never re-encoded; with one of the IdP's signing
  certificates (from its metadata); RSA with SHA-256, SHA-384 or SHA-512 (SHA-1 is refused).

Pure: no I/O. Every refusal is a :class:`~gatehouse.sso.saml_xml.SamlRefused` with its reason.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote_plus
from xml.etree.ElementTree import ParseError

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from gatehouse.sso.saml_xml import ASSERTION, PROTOCOL, SamlRefused

MAX_ENCODED: Final = 64 * 1024
MAX_XML: Final = 256 * 1024
SUCCESS: Final = "urn:oasis:names:tc:SAML:2.0:status:Success"
SIGNATURE_ALGORITHMS: Final[dict[str, hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256(),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384(),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512(),
}
MessageKind = Literal["LogoutRequest", "LogoutResponse"]
PARAMETER: Final[dict[MessageKind, str]] = {"LogoutRequest": "SAMLRequest", "LogoutResponse": "SAMLResponse"}


@dataclass(frozen=True, slots=True)
class LogoutMessage:
    """What the first look found in a ``LogoutRequest`` or ``LogoutResponse``."""

    kind: MessageKind
    id: str
    issuer: str | None
    destination: str | None
    in_response_to: str | None = None
    status: str | None = None
    name_id: str | None = None
    session_indexes: tuple[str, ...] = ()
    not_on_or_after: str | None = None


def inflate(encoded: str) -> str:
    """The XML of an HTTP-Redirect message (base64, then DEFLATE without header: Bindings §3.4.4.1)."""
    if not encoded:
        raise SamlRefused("message_missing", "The identity provider sent no Single Logout message.")
    if len(encoded) > MAX_ENCODED:
        raise SamlRefused("message_too_large", "The Single Logout message is too large.")
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
        inflater = zlib.decompressobj(-15)
        xml = inflater.decompress(raw, MAX_XML)
        if inflater.unconsumed_tail:
            raise SamlRefused("message_too_large", "The Single Logout message is too large.")
        return xml.decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError):
        raise SamlRefused("message_not_encoded", "The Single Logout message is not DEFLATEd base64 XML.") from None


def read_message(encoded: str, kind: MessageKind) -> LogoutMessage:
    """Decode and parse a message that must be a ``kind`` (see the module); :class:`SamlRefused` otherwise."""
    text = inflate(encoded)
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise SamlRefused("xml_forbidden", "The Single Logout message declares a DTD or entities.") from None
    except ParseError:
        raise SamlRefused("xml_invalid", "The Single Logout message is not well-formed XML.") from None
    if root.tag != f"{{{PROTOCOL}}}{kind}":
        raise SamlRefused("wrong_message", f"This is not a SAML {kind}.")
    message_id = root.get("ID") or ""
    if not message_id or root.get("Version") != "2.0":
        raise SamlRefused("message_invalid", f"The {kind} has no ID or is not SAML 2.0.")
    issuer = root.find(f"{{{ASSERTION}}}Issuer")
    common = {
        "kind": kind, "id": message_id, "issuer": (issuer.text or "").strip() if issuer is not None else None,
        "destination": root.get("Destination"),
    }  # fmt: skip
    if kind == "LogoutResponse":
        code = root.find(f"{{{PROTOCOL}}}Status/{{{PROTOCOL}}}StatusCode")
        return LogoutMessage(**common, in_response_to=root.get("InResponseTo"),
                             status=code.get("Value") if code is not None else None)  # fmt: skip
    name_id = root.find(f"{{{ASSERTION}}}NameID")
    indexes = tuple((found.text or "").strip() for found in root.findall(f"{{{PROTOCOL}}}SessionIndex"))
    return LogoutMessage(
        **common, name_id=(name_id.text or "").strip() if name_id is not None else None,
        session_indexes=tuple(index for index in indexes if index), not_on_or_after=root.get("NotOnOrAfter"),
    )  # fmt: skip


def raw_parameters(query: str) -> dict[str, str]:
    """The query string's parameters as sent (still URL-encoded); the first of a repeated name."""
    found: dict[str, str] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        found.setdefault(unquote_plus(name), value)
    return found


def signed_octets(query: str, kind: MessageKind) -> tuple[bytes, str, bytes]:
    """(the octets signed, the ``SigAlg``, the signature) of a message's query string (Bindings §3.4.4.1);
    :class:`SamlRefused` when it carries no signature."""
    raw = raw_parameters(query)
    parameter = PARAMETER[kind]
    if "Signature" not in raw or "SigAlg" not in raw:
        raise SamlRefused("signature_missing", f"The {kind} is not signed; Gatehouse requires a signed one.")
    parts = [f"{parameter}={raw.get(parameter, '')}"]
    if "RelayState" in raw:
        parts.append(f"RelayState={raw['RelayState']}")
    parts.append(f"SigAlg={raw['SigAlg']}")
    try:
        signature = base64.b64decode(unquote_plus(raw["Signature"]), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRefused("signature_invalid", f"The {kind}'s signature is not base64.") from None
    return "&".join(parts).encode("ascii", errors="replace"), unquote_plus(raw["SigAlg"]), signature


def verify_signature(query: str, kind: MessageKind, certificates: Sequence[str]) -> None:
    """Check the query string's signature with one of ``certificates`` (PEM or base64 DER, from the IdP's
    metadata); :class:`SamlRefused` when it is missing, of another algorithm, or by no such key."""
    octets, algorithm, signature = signed_octets(query, kind)
    digest = SIGNATURE_ALGORITHMS.get(algorithm)
    if digest is None:
        raise SamlRefused("signature_algorithm", f"The {kind} is signed with an algorithm Gatehouse refuses.")
    for certificate in certificates:
        key = _public_key(certificate)
        if key is None:
            continue
        try:
            key.verify(signature, octets, padding.PKCS1v15(), digest)
        except InvalidSignature:
            continue
        return
    raise SamlRefused("signature_invalid", f"The {kind} is not signed by the identity provider.")


def _public_key(certificate: str) -> rsa.RSAPublicKey | None:
    text = certificate.strip()
    try:
        if "-----BEGIN" in text:
            loaded = x509.load_pem_x509_certificate(text.encode())
        else:
            loaded = x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except ValueError:
        return None
    key = loaded.public_key()
    return key if isinstance(key, rsa.RSAPublicKey) else None
