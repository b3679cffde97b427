"""A SAML 2.0 login option's own fields (Gatehouse is the service provider), and the addresses an IdP needs.

Fields as API7 names them (IdP metadata URL, SP root URL, Entity ID, sign requests, private key and
certificate, attribute mapping), with the IdP's metadata pasted as XML as an alternative to its URL, the
NameID format, whether IdP-initiated sign-in is allowed (off by default: an unsolicited response carries
no request id to match), and whether Single Logout (SAML 2.0 Core §3.7, HTTP-Redirect binding, Bindings §3.4)
is on: off by default, so that signing out of Gatehouse ends its own session only. The SP's private key
is the option's secret (stored encrypted, :mod:`gatehouse.login.options`), never a field here.

Pure: no I/O. The SP is :mod:`gatehouse.sso.saml_sp`, the sign-in :mod:`gatehouse.sso.saml_signin`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

from gatehouse.certificates import readable_certificates
from gatehouse.errors import Findings, InvalidInput
from gatehouse.login.protocol_settings import ProtocolSettings

NameIdFormat = Literal["persistent", "email", "unspecified"]
NAME_ID_FORMATS: Final[Mapping[NameIdFormat, str]] = {
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "email": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
}
NAME_ID_CHOICES: Final[tuple[NameIdFormat, ...]] = get_args(NameIdFormat)
MAX_METADATA: Final = 512 * 1024
MAX_CERTIFICATE: Final = 16 * 1024
NAME_ID: Final = "name_id"
"""The claim that holds the assertion's NameID (for the attribute mapping and role rules)."""

LOGIN_PATH: Final = "/sso/saml/{option_id}/login"
ACS_PATH: Final = "/sso/saml/{option_id}/acs"
METADATA_PATH: Final = "/sso/saml/{option_id}/metadata"
SLO_PATH: Final = "/sso/saml/{option_id}/slo"
_MAPPED: Final = ("username_attribute", "email_attribute", "name_attribute", "groups_attribute")
"""The attributes a sign-in maps (each trimmed when checked; all but the username's required)."""


@dataclass(frozen=True, slots=True)
class SpAddresses:
    """What the IdP is told about Gatehouse: its entity id, the ACS URL (HTTP-POST), the SP metadata URL, and
    the URL that starts a sign-in (an IdP's app tile may link to it), and the Single Logout service's URL
    (HTTP-Redirect, SAML 2.0 Bindings §3.4; used when the option's Single Logout is on)."""

    entity_id: str
    acs_url: str
    metadata_url: str
    login_url: str
    slo_url: str


def sp_addresses(root_url: str, option_id: str, entity_id: str = "") -> SpAddresses:
    """The SP's addresses under ``root_url`` (the option's SP root URL, else ``GATEHOUSE_PUBLIC_URL``); the
    entity id defaults to the SP metadata URL, as Okta and Entra ID suggest."""
    root = root_url.rstrip("/")
    metadata = root + METADATA_PATH.format(option_id=option_id)
    return SpAddresses(
        entity_id=entity_id or metadata,
        acs_url=root + ACS_PATH.format(option_id=option_id),
        metadata_url=metadata,
        login_url=root + LOGIN_PATH.format(option_id=option_id),
        slo_url=root + SLO_PATH.format(option_id=option_id),
    )


@dataclass(frozen=True, slots=True)
class SamlSubject:
    """Whom a SAML sign-in named, kept with its session for Single Logout (Core §3.7.1): the NameID, its
    format, and the assertion's SessionIndex (each at most 255 characters)."""

    name_id: str
    name_id_format: str | None = None
    session_index: str | None = None


def _check_url(label: str, url: str, *, required: bool = False) -> str:
    url = url.strip()
    if not url and not required:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise InvalidInput(f"The {label} must be an http(s) URL without fragment.")
    if len(url) > 1000:
        raise InvalidInput(f"The {label} must be at most 1000 characters.")
    return url


@dataclass(frozen=True, slots=True)
class SamlSettings(ProtocolSettings):
    """The fields of a SAML login option besides the common ones (name, enabled, rules, SCIM-only)."""

    idp_metadata_url: str = ""
    idp_metadata_xml: str = ""
    """The IdP's metadata pasted as XML (used when there is no URL)."""
    entity_id: str = ""
    """Gatehouse's SP entity id (empty: the SP metadata URL)."""
    sp_root_url: str = ""
    """The base of the SP's addresses (empty: ``GATEHOUSE_PUBLIC_URL``)."""
    name_id_format: NameIdFormat = "persistent"
    username_attribute: str = ""
    """The attribute holding the username (empty: the NameID)."""
    email_attribute: str = "email"
    name_attribute: str = "displayName"
    groups_attribute: str = "groups"
    sign_requests: bool = False
    sp_certificate: str = ""
    """The SP's certificate (PEM), published in the SP metadata; its private key is the option's secret."""
    allow_idp_initiated: bool = False
    trust_email: bool = True
    """Whether the IdP's email addresses count as verified (for linking to SCIM users by email)."""
    single_logout: bool = False
    """SAML Single Logout (Core §3.7): signing out of Gatehouse sends a LogoutRequest to the IdP, and the IdP's
    LogoutRequests end Gatehouse's sessions; the SP metadata then publishes the SLO service."""

    def checked(self) -> SamlSettings:
        """These settings, trimmed and checked (:class:`~gatehouse.errors.FieldProblems` names every wrong
        field, by its attribute name)."""
        found = Findings()
        url = found.check("idp_metadata_url", lambda: _check_url("IdP metadata URL", self.idp_metadata_url), "")
        xml = self.idp_metadata_xml.strip()
        if not url and not xml and "idp_metadata_url" not in found.found:
            found.add("idp_metadata_url", "Give the IdP's metadata URL, or paste its metadata XML.")
        if len(xml) > MAX_METADATA or (xml and "EntityDescriptor" not in xml):
            found.add("idp_metadata_xml", "The IdP metadata must be a SAML EntityDescriptor, at most 512 KiB.")
        if self.name_id_format not in NAME_ID_FORMATS:
            found.add("name_id_format", f"The NameID format must be one of {', '.join(NAME_ID_FORMATS)}.")
        entity_id = self.entity_id.strip()
        if len(entity_id) > 1000 or any(ord(char) <= 0x20 for char in entity_id):
            found.add("entity_id", "The entity ID must be a URI of at most 1000 characters, without spaces.")
        for name, value in self.trimmed(*_MAPPED).items():
            if len(value) > 300 or (name != "username_attribute" and not value):
                found.add(name, f"The {name.replace('_', ' ')} must be 1 to 300 characters.")
        certificate = self.sp_certificate.strip()
        if certificate and not readable_certificates(certificate, limit=MAX_CERTIFICATE, one=True):
            found.add(
                "sp_certificate",
                "The SP certificate must be one readable PEM certificate (from BEGIN CERTIFICATE to END CERTIFICATE).",
            )
        root = found.check("sp_root_url", lambda: _check_url("SP root URL", self.sp_root_url).rstrip("/"), "")
        found.done()
        return replace(
            self,
            idp_metadata_url=url,
            idp_metadata_xml=xml,
            entity_id=entity_id,
            sp_root_url=root,
            sp_certificate=certificate,
            **self.trimmed(*_MAPPED),
        )

    def addresses(self, public_url: str, option_id: str) -> SpAddresses:
        return sp_addresses(self.sp_root_url or public_url, option_id, self.entity_id)

    @property
    def name_id_uri(self) -> str:
        return NAME_ID_FORMATS[self.name_id_format]


def claims_of(name_id: str, attributes: Mapping[str, list[str]]) -> dict[str, Any]:
    """The claims a SAML sign-in maps roles from: each attribute by its name (a list of its values), and the
    NameID under :data:`NAME_ID` (``$.groups[*]``, ``$.name_id``)."""
    claims: dict[str, Any] = {name: [str(value) for value in values] for name, values in attributes.items()}
    claims[NAME_ID] = name_id
    return claims


def first(claims: Mapping[str, Any], name: str) -> str | None:
    """The first value of an attribute (or the NameID for ``""``), trimmed; ``None`` if there is none."""
    value = claims.get(name or NAME_ID)
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str) and item.strip()), None)
    return value.strip()[:320] if isinstance(value, str) and value.strip() else None
