"""Gatehouse as a SAML 2.0 service provider, with pysaml2 (and Debian's ``xmlsec1`` for XML signatures).

One :class:`ServiceProvider` per sign-in step, built from a login option: the IdP's metadata (fetched by the
caller, or pasted), the SP's addresses (:func:`gatehouse.login.saml.sp_addresses`), and, when requests are
signed, the SP's key. It makes the AuthnRequest (HTTP-Redirect binding, signed on the query string when the
option says so), the SP metadata, and reads a response posted to the ACS (HTTP-POST binding).

What a response must pass, in order (each failure a :class:`~gatehouse.sso.saml_xml.SamlRefused` with its
reason): the first look of :mod:`gatehouse.sso.saml_xml` (no DTD, one assertion); a ``Destination`` that is
this ACS; an ``InResponseTo`` that is the request this browser started (IdP-initiated responses, with none,
only when the option allows them); then pysaml2's checks: the IdP's status, the signature of the assertion
or of the response by a key of the IdP's metadata (one of them must be signed), the audience (this SP's
entity id), ``NotBefore``/``NotOnOrAfter`` with :data:`CLOCK_SKEW` of slack, the bearer confirmation; then
Gatehouse's again: the assertion's issuer is the IdP, it names this SP as audience, its bearer confirmation's
``Recipient`` is this ACS. The replay check (an assertion id used once) is the caller's, in the database.

Single Logout (SAML 2.0 Core §3.7, HTTP-Redirect binding, Bindings §3.4), when the option has it on: the SP's
``LogoutRequest`` naming the NameID and SessionIndex of the sign-in, signed on the query string when the option
signs requests, and its ``LogoutResponse`` to an IdP's request; the IdP's SLO service and signing certificates
come from its metadata. Reading the IdP's logout messages is :mod:`gatehouse.sso.saml_redirect`'s.

pysaml2 runs blocking (it calls ``xmlsec1``): callers run it in a worker thread.
"""

from __future__ import annotations

import calendar
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from gatehouse.login.saml import SamlSettings, SamlSubject, SpAddresses, claims_of
from gatehouse.sso.saml_redirect import SUCCESS, LogoutMessage
from gatehouse.sso.saml_xml import SamlRefused, outline

CLOCK_SKEW: Final = 90
"""Seconds of slack on NotBefore and NotOnOrAfter (the clocks of the IdP and Gatehouse may differ)."""
MAX_LIFETIME: Final = timedelta(hours=24)
log = logging.getLogger("gatehouse.sso.saml")


@dataclass(frozen=True, slots=True)
class SamlLogin:
    """A verified assertion: who, their attributes as claims, and what the replay check needs."""

    name_id: str
    name_id_format: str | None
    claims: dict[str, Any]
    assertion_id: str
    expires_at: datetime
    in_response_to: str | None
    session_index: str | None


def xmlsec_binary() -> str:
    """Where ``xmlsec1`` is (Debian's package ``xmlsec1``)."""
    found = shutil.which("xmlsec1")
    if found is None:
        raise SamlRefused(
            "xmlsec_missing", "SAML sign-in needs the xmlsec1 program on this server (apt-get install xmlsec1)."
        )
    return found


class ServiceProvider:
    """The SP of one SAML login option (see the module)."""

    def __init__(
        self, settings: SamlSettings, addresses: SpAddresses, idp_metadata: str, key_pem: str | None = None
    ) -> None:
        self.settings = settings
        self.addresses = addresses
        self.idp_metadata = idp_metadata
        self._key_pem = key_pem

    def __repr__(self) -> str:
        return f"ServiceProvider({self.addresses.entity_id!r})"

    @contextmanager
    def _client(self) -> Iterator[Any]:
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.client import Saml2Client
        from saml2.config import SPConfig

        settings, addresses = self.settings, self.addresses
        with tempfile.TemporaryDirectory(prefix="gatehouse-saml-") as private:
            signing: dict[str, Any] = {}
            if self._key_pem and settings.sp_certificate:
                key_file, cert_file = Path(private) / "sp.key", Path(private) / "sp.crt"
                key_file.touch(mode=0o600)
                key_file.write_text(self._key_pem)
                cert_file.write_text(settings.sp_certificate)
                signing = {"key_file": str(key_file), "cert_file": str(cert_file)}
            endpoints: dict[str, Any] = {"assertion_consumer_service": [(addresses.acs_url, BINDING_HTTP_POST)]}
            if settings.single_logout:
                endpoints["single_logout_service"] = [(addresses.slo_url, BINDING_HTTP_REDIRECT)]
            sp = {
                "endpoints": endpoints,
                "allow_unsolicited": settings.allow_idp_initiated,
                "authn_requests_signed": bool(signing) and settings.sign_requests,
                "want_assertions_signed": False,
                "want_response_signed": False,
                "want_assertions_or_response_signed": True,
                "name_id_format": settings.name_id_uri,
                "name_id_format_allow_create": True,
            }
            config = SPConfig()
            config.load({
                "entityid": addresses.entity_id, "service": {"sp": sp}, "metadata": {"inline": [self.idp_metadata]},
                "accepted_time_diff": CLOCK_SKEW, "xmlsec_binary": xmlsec_binary(), "allow_unknown_attributes": True,
                "delete_tmpfiles": True, **signing,
            })  # fmt: skip
            yield Saml2Client(config)

    def idp_entity_id(self, client: Any) -> str:
        found = list(client.metadata.identity_providers())
        if not found:
            raise SamlRefused("metadata_no_idp", "The IdP metadata describes no identity provider (IDPSSODescriptor).")
        return str(found[0])

    def idp(self) -> str:
        """The IdP's entity id, from its metadata."""
        with self._client() as client:
            return self.idp_entity_id(client)

    # -- to the IdP -------------------------------------------------------------------------------------

    def authn_request(self, relay_state: str) -> tuple[str, str]:
        """A new AuthnRequest by HTTP-Redirect: (its id, the IdP URL to send the browser to)."""
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.xmldsig import SIG_RSA_SHA256

        with self._client() as client:
            idp = self.idp_entity_id(client)
            signed = bool(self._key_pem) and self.settings.sign_requests
            request_id, info = client.prepare_for_authenticate(
                entityid=idp, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT,
                nameid_format=self.settings.name_id_uri, sign=signed, sigalg=SIG_RSA_SHA256 if signed else None,
            )  # fmt: skip
        location = dict(info["headers"]).get("Location")
        if not location:
            raise SamlRefused("metadata_no_sso", "The IdP metadata has no SingleSignOnService for HTTP-Redirect.")
        return str(request_id), str(location)

    def metadata(self) -> str:
        """The SP's metadata (entity id, ACS by HTTP-POST, NameID format, the signing certificate if any)."""
        from saml2.metadata import create_metadata_string

        with self._client() as client:
            xml = create_metadata_string(None, client.config, valid=24 * 365, sign=False)
        return xml.decode() if isinstance(xml, bytes) else str(xml)

    # -- Single Logout (Core §3.7; HTTP-Redirect, Bindings §3.4) ------------------------------------------

    def _idp_logout_service(self, client: Any) -> tuple[str, str, str]:
        """(the IdP's entity id, where a LogoutRequest goes, where a LogoutResponse goes)."""
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.s_utils import UnsupportedBinding

        idp = self.idp_entity_id(client)
        try:
            services = client.metadata.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso") or []
        except UnsupportedBinding:  # pysaml2's word for "none for this binding"
            services = []
        if not services or not services[0].get("location"):
            raise SamlRefused("metadata_no_slo", "The IdP metadata has no SingleLogoutService for HTTP-Redirect.")
        location = str(services[0]["location"])
        return idp, location, str(services[0].get("response_location") or location)

    def idp_logout(self) -> tuple[str, list[str]]:
        """The IdP's entity id and its signing certificates (base64 DER), from its metadata, to check its
        logout messages with; raises when the metadata has no SLO service (Single Logout cannot work)."""
        with self._client() as client:
            idp, _, _ = self._idp_logout_service(client)
            return idp, [str(cert) for _, cert in client.metadata.certs(idp, "idpsso", "signing")]

    def logout_request(self, subject: SamlSubject, relay_state: str, now: datetime) -> tuple[str, str]:
        """A new LogoutRequest (Core §3.7.1) by HTTP-Redirect: (its id, the IdP URL to send the browser to).
        Signed on the query string (Bindings §3.4.4.1) when the option signs requests and has a key."""
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.saml import NameID
        from saml2.time_util import instant
        from saml2.xmldsig import SIG_RSA_SHA256

        signed = bool(self._key_pem) and self.settings.sign_requests
        with self._client() as client:
            idp, location, _ = self._idp_logout_service(client)
            name_id = NameID(text=subject.name_id, format=subject.name_id_format or self.settings.name_id_uri)
            expire = instant(time_stamp=int((now + timedelta(minutes=5)).timestamp()))
            request_id, request = client.create_logout_request(
                location, idp, name_id=name_id, expire=expire, sign=False,
                session_indexes=[subject.session_index] if subject.session_index else None,
            )  # fmt: skip
            info = client.apply_binding(
                BINDING_HTTP_REDIRECT, str(request), location, relay_state, sign=signed,
                sigalg=SIG_RSA_SHA256 if signed else None,
            )  # fmt: skip
        return str(request_id), _location(info)

    def logout_response(self, request: LogoutMessage, relay_state: str, status: str = SUCCESS) -> str:
        """The LogoutResponse (Core §3.7.2) to the IdP's ``request`` by HTTP-Redirect: the IdP URL to send the
        browser to (signed as :meth:`logout_request` is)."""
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.s_utils import sid
        from saml2.saml import NAMEID_FORMAT_ENTITY, Issuer
        from saml2.samlp import LogoutResponse, Status, StatusCode
        from saml2.time_util import instant
        from saml2.xmldsig import SIG_RSA_SHA256

        signed = bool(self._key_pem) and self.settings.sign_requests
        with self._client() as client:
            _, _, location = self._idp_logout_service(client)
            response = LogoutResponse(
                id=sid(), version="2.0", issue_instant=instant(), destination=location, in_response_to=request.id,
                issuer=Issuer(text=self.addresses.entity_id, format=NAMEID_FORMAT_ENTITY),
                status=Status(status_code=StatusCode(value=status)),
            )  # fmt: skip
            info = client.apply_binding(
                BINDING_HTTP_REDIRECT, str(response), location, relay_state, response=True, sign=signed,
                sigalg=SIG_RSA_SHA256 if signed else None,
            )  # fmt: skip
        return _location(info)

    # -- back from the IdP ------------------------------------------------------------------------------

    def read_response(self, posted: str, request_id: str | None, now: datetime) -> SamlLogin:
        """Verify a posted ``SAMLResponse`` (see the module): the login it vouches for."""
        first = outline(posted)
        acs = self.addresses.acs_url
        if first.destination != acs:
            raise SamlRefused("destination_mismatch", "The SAML response was sent to another address than this ACS.")
        if request_id is None:
            if first.in_response_to is not None or not self.settings.allow_idp_initiated:
                raise SamlRefused("unsolicited", "This SAML response answers no sign-in started here.")
        elif first.in_response_to != request_id:
            raise SamlRefused("in_response_to_mismatch", "This SAML response answers another sign-in request.")
        outstanding = {request_id: "/"} if request_id else {}
        with self._client() as client:
            idp = self.idp_entity_id(client)
            response = _parse(client, posted, outstanding)
            return self._login(response, idp, now)

    def _login(self, response: Any, idp: str, now: datetime) -> SamlLogin:
        assertion = response.assertion
        issuer = (assertion.issuer.text or "").strip() if assertion.issuer is not None else ""
        if issuer != idp:
            raise SamlRefused("issuer_mismatch", "The assertion was issued by another identity provider.")
        audiences = [
            (audience.text or "").strip()
            for restriction in (assertion.conditions.audience_restriction if assertion.conditions else [])
            for audience in restriction.audience
        ]
        if self.addresses.entity_id not in audiences:
            raise SamlRefused("audience_mismatch", "The assertion is meant for another service provider.")
        confirmations = assertion.subject.subject_confirmation if assertion.subject else []
        recipients = [c.subject_confirmation_data.recipient for c in confirmations if c.subject_confirmation_data]
        if not recipients or any(recipient != self.addresses.acs_url for recipient in recipients):
            raise SamlRefused("recipient_mismatch", "The assertion's recipient is not this ACS.")
        name_id = response.name_id
        if name_id is None or not (name_id.text or "").strip():
            raise SamlRefused("name_id_missing", "The assertion names no subject (NameID).")
        ava = {str(name): [str(value) for value in values] for name, values in (response.ava or {}).items()}
        info = response.session_info()
        return SamlLogin(
            name_id=name_id.text.strip(), name_id_format=name_id.format, claims=claims_of(name_id.text.strip(), ava),
            assertion_id=str(assertion.id), expires_at=_expiry(assertion, now), in_response_to=response.in_response_to,
            session_index=info.get("session_index"),
        )  # fmt: skip


def _location(info: Any) -> str:
    location = dict(info["headers"]).get("Location")
    if not location:
        raise SamlRefused("metadata_no_slo", "The IdP metadata has no SingleLogoutService for HTTP-Redirect.")
    return str(location)


def _parse(client: Any, posted: str, outstanding: dict[str, str]) -> Any:
    """pysaml2's verification, its exceptions turned into reasons."""
    from saml2 import BINDING_HTTP_POST

    try:
        response = client.parse_authn_request_response(posted, BINDING_HTTP_POST, outstanding=outstanding)
    except Exception as exc:
        raise _refusal(exc) from exc
    if response is None or response.assertion is None:
        raise SamlRefused("response_invalid", "The SAML response could not be verified.")
    return response


def _refusal(exc: Exception) -> SamlRefused:
    """The refusal of a response that pysaml2 raised ``exc`` for: the first row of the table ``exc`` is an
    instance of (``{exc}`` in its message stands for ``exc``), else a failed check of its own."""
    from saml2.response import (
        IncorrectlySigned,
        InvalidAssertion,
        StatusError,
        UnsolicitedResponse,
        VerificationError,
    )
    from saml2.sigver import SignatureError, SigverError
    from saml2.validate import ResponseLifetimeExceed, ToEarly

    refusals: tuple[tuple[type[Exception] | tuple[type[Exception], ...], str, str], ...] = (
        (
            (SignatureError, SigverError, IncorrectlySigned),
            "signature_invalid",
            "The SAML response is not signed by the identity provider.",
        ),
        (ResponseLifetimeExceed, "assertion_expired", "The SAML assertion has expired. Sign in again."),
        (ToEarly, "assertion_not_yet_valid", "The SAML assertion is not valid yet (check the clocks)."),
        (UnsolicitedResponse, "in_response_to_mismatch", "This SAML response answers no sign-in started here."),
        (StatusError, "idp_refused", "The identity provider did not sign you in."),
        (InvalidAssertion, "assertion_count", "The SAML response must carry exactly one assertion."),
        (VerificationError, "response_invalid", "The SAML response failed a check ({exc})."),
    )
    for kinds, reason, message in refusals:
        if isinstance(exc, kinds):
            return SamlRefused(reason, message.format(exc=exc))
    text = str(exc)  # pysaml2 raises bare Exceptions for some checks (the audience among them)
    reason = "audience_mismatch" if "Audience" in text else "response_invalid"
    log.info("SAML response refused: %s", text[:300])
    return SamlRefused(reason, "The SAML response failed a check: " + text[:200])


def _expiry(assertion: Any, now: datetime) -> datetime:
    """Until when the assertion id must be remembered: its latest NotOnOrAfter (capped)."""
    from saml2.time_util import str_to_time

    stamps = []
    if assertion.conditions is not None and assertion.conditions.not_on_or_after:
        stamps.append(assertion.conditions.not_on_or_after)
    for confirmation in assertion.subject.subject_confirmation if assertion.subject else []:
        data = confirmation.subject_confirmation_data
        if data is not None and data.not_on_or_after:
            stamps.append(data.not_on_or_after)
    times = [datetime.fromtimestamp(calendar.timegm(str_to_time(stamp)), UTC) for stamp in stamps]
    latest = max(times, default=now + timedelta(minutes=10)) + timedelta(seconds=CLOCK_SKEW)
    return min(latest, now + MAX_LIFETIME)
