"""The first look at a SAML response posted to the ACS, before the toolkit verifies it: the size, the base64,
no DTD (so no entity expansion and no external entity: an XXE payload is refused here), exactly one assertion
anywhere in the document (a second one, signed or not, is how XML signature wrapping smuggles its own), and
the values the checks need (the response's ``Destination`` and ``InResponseTo``).

Parsed with ``defusedxml`` (DTDs, entities and external references forbidden). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from gatehouse.sso.failure import Reasoned

MAX_RESPONSE_BYTES: Final = 512 * 1024
PROTOCOL: Final = "urn:oasis:names:tc:SAML:2.0:protocol"
ASSERTION: Final = "urn:oasis:names:tc:SAML:2.0:assertion"


class SamlRefused(Reasoned):
    """A SAML response (or request to start one) that signs nobody in; ``reason`` names the check."""

    status = 400
    default_detail = "The identity provider's answer cannot sign you in. Start again from the sign-in page."


@dataclass(frozen=True, slots=True)
class ResponseOutline:
    """What the first look found: the XML text, and the response's ``Destination`` and ``InResponseTo``."""

    xml: str
    destination: str | None
    in_response_to: str | None


def outline(posted: str) -> ResponseOutline:
    """Decode and check a posted ``SAMLResponse`` (see the module); :class:`SamlRefused` otherwise."""
    if not posted or len(posted) > MAX_RESPONSE_BYTES * 4 // 3 + 4:
        raise SamlRefused("response_missing" if not posted else "response_too_large", _detail(bool(posted)))
    try:
        raw = base64.b64decode("".join(posted.split()), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise SamlRefused("response_not_base64", "The SAML response is not valid base64 XML.") from None
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise SamlRefused(
            "xml_forbidden", "The SAML response declares a DTD or entities, which Gatehouse never accepts."
        ) from None
    except ParseError:
        raise SamlRefused("xml_invalid", "The SAML response is not well-formed XML.") from None
    if root.tag != f"{{{PROTOCOL}}}Response":
        raise SamlRefused("not_a_response", "This is not a SAML Response.")
    assertions = _count(root, "Assertion") + _count(root, "EncryptedAssertion")
    if assertions != 1:
        raise SamlRefused(
            "assertion_count", f"The SAML response must carry exactly one assertion; it carries {assertions}."
        )
    return ResponseOutline(text, root.get("Destination"), root.get("InResponseTo"))


def _count(root: Element, name: str) -> int:
    return sum(1 for _ in root.iter(f"{{{ASSERTION}}}{name}"))


def _detail(posted: bool) -> str:
    return "The SAML response is too large." if posted else "The identity provider sent no SAML response."
