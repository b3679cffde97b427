"""SAML 2.0 Single Logout at Gatehouse, the service provider (Core §3.7; HTTP-Redirect binding, Bindings §3.4),
for the SAML login options that have it on.

* SP-initiated (:meth:`SamlLogout.sign_out_url`): the caller has already ended the Gatehouse session; this
  stores a single-use state (:mod:`gatehouse.store.sso_states`: the digest of the ``RelayState`` sent, the
  LogoutRequest's id) and returns the IdP's URL with a LogoutRequest naming the NameID and SessionIndex the
  sign-in was given (kept in the session record). Any failure is audited and answers ``None``: the local
  sign-out stands either way.
* The IdP's LogoutResponse at the SLO service (:meth:`SamlLogout.receive`, Core §3.7.2): its state is taken
  (so it is used once), the query string's signature checked with the IdP's metadata keys (always required,
  as SAML Profiles §4.4.4.1 asks of the front channel), then its issuer, destination, ``InResponseTo`` (the
  stored request id) and status.
* The IdP's LogoutRequest (IdP-initiated, or for another SP's sign-out; Core §3.7.3): signature, issuer,
  destination and ``NotOnOrAfter`` checked, its id used once (kept with the consumed assertion ids,
  :mod:`gatehouse.store.saml_assertions`); every Gatehouse session opened through this option for that NameID
  (for those SessionIndex values only, when the request names some) ends, in the transaction of its audit
  record; the answer is a LogoutResponse to the IdP's SLO service.

Every refusal raises :class:`~gatehouse.sso.saml_xml.SamlRefused` after an audit record (``auth:SingleLogout``,
the reason code); none leaves a session alive that was to end. pysaml2 runs in worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

from anyio import to_thread

from gatehouse.errors import GatehouseError
from gatehouse.iam.audit import Change, Origin, record, record_apart
from gatehouse.login.options import KIND_SAML, LoginOption
from gatehouse.sso.failure import reason_of
from gatehouse.sso.saml_redirect import SUCCESS, LogoutMessage, MessageKind, read_message, verify_signature
from gatehouse.sso.saml_signin import SamlSignIn
from gatehouse.sso.saml_sp import CLOCK_SKEW, ServiceProvider
from gatehouse.sso.saml_xml import SamlRefused
from gatehouse.sso.tokens import new_state
from gatehouse.store import login_options, saml_assertions, sessions, sso_states
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.store.sessions import SessionUser

LOGOUT_MARK: Final = "saml-logout"
"""The code verifier of a Single Logout's state (it has none), so that a sign-in's state never answers it."""
SINGLE_LOGOUT: Final = Change("auth:SingleLogout", "login_option")
SIGNED_OUT_PAGE: Final = "/login"
REPLAY_WINDOW: Final = timedelta(hours=1)
"""How long the id of a LogoutRequest without ``NotOnOrAfter`` is remembered (a replay within it is refused)."""
log = logging.getLogger("gatehouse.sso.saml")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LogoutDone:
    """Where the SLO service sends the browser: the signed-out page, or the IdP with a LogoutResponse."""

    location: str
    to_idp: bool


@dataclass(slots=True)
class _Call:
    option_id: str
    ip: str | None
    agent: str | None
    subject: str | None = None

    def origin(self) -> Origin:
        return Origin("sso", (self.subject or "identity provider")[:255], None, self.ip, self.agent)


class SamlLogout:
    """The Single Logout use cases of one app, beside its SAML sign-in (whose SP and metadata cache it uses)."""

    def __init__(self, signin: SamlSignIn) -> None:
        self.signin = signin
        self.db = signin.db

    async def _option(self, option_id: str) -> LoginOption | None:
        if len(option_id) > 64:
            return None
        option = await self.db.read(lambda c: login_options.get(c, option_id))
        return option if option is not None and option.kind == KIND_SAML and option.saml().single_logout else None

    async def _required(self, option_id: str) -> LoginOption:
        """The option whose SLO service a message reached; refused when it does not use Single Logout."""
        option = await self._option(option_id)
        if option is None:
            raise SamlRefused("slo_off", "This login option does not use Single Logout.")
        return option

    # -- SP-initiated ----------------------------------------------------------------------------------

    async def sign_out_url(self, session: SessionUser, *, ip: str | None, agent: str | None) -> str | None:
        """The IdP's URL with a LogoutRequest for the session just ended (see the module), or ``None``."""
        if session.login_option_id is None or session.saml is None:
            return None
        option = await self._option(session.login_option_id)
        if option is None:
            return None
        call, subject = _Call(option.id, ip, agent, session.user_name), session.saml
        try:
            sp = await self.signin.service_provider(option)
            relay, now = new_state(), utcnow()
            request_id, url = await _toolkit(lambda: sp.logout_request(subject, relay, now))
            await self.db.write(
                lambda c: sso_states.create(c, relay, option.id, request_id, LOGOUT_MARK, SIGNED_OUT_PAGE, now)
            )
        except GatehouseError as exc:
            log.warning("SAML single logout not sent for login option %s: %s", option.id, reason_of(exc))
            change = SINGLE_LOGOUT.about(option.id, direction="to_idp", reason=reason_of(exc))
            await record_apart(self.db, call.origin(), change, exc.status, exc.detail)
            return None
        return url

    # -- at the SLO service ----------------------------------------------------------------------------

    async def receive(
        self, option_id: str, query: str, params: Mapping[str, str], *, ip: str | None, agent: str | None
    ) -> LogoutDone:
        """Handle what the IdP sent to the SLO service (see the module); raises after an audit record."""
        call = _Call(option_id, ip, agent)
        kind: MessageKind = "LogoutResponse" if "SAMLResponse" in params else "LogoutRequest"
        try:
            if kind == "LogoutResponse":
                return await self._response(call, query, params)
            return await self._request(call, query, params)
        except GatehouseError as exc:
            change = SINGLE_LOGOUT.about(option_id, message=kind, reason=reason_of(exc))
            await record_apart(self.db, call.origin(), change, exc.status, exc.detail)
            raise

    async def _checked(
        self, option: LoginOption, query: str, encoded: str, kind: MessageKind
    ) -> tuple[ServiceProvider, LogoutMessage]:
        """The SP and the message, once its signature, issuer and destination are the IdP's and this SLO's."""
        sp = await self.signin.service_provider(option)
        idp, certificates = await _toolkit(sp.idp_logout)
        verify_signature(query, kind, certificates)
        message = read_message(encoded, kind)
        if message.issuer != idp:
            raise SamlRefused("issuer_mismatch", f"The {kind} was issued by another identity provider.")
        if message.destination is not None and message.destination != sp.addresses.slo_url:
            raise SamlRefused("destination_mismatch", f"The {kind} was sent to another address than this one.")
        return sp, message

    async def _response(self, call: _Call, query: str, params: Mapping[str, str]) -> LogoutDone:
        relay, now = params.get("RelayState", ""), utcnow()
        taken = await self.db.write(lambda c: sso_states.take(c, relay, now)) if 0 < len(relay) <= 512 else None
        if taken is None or taken.option_id != call.option_id or taken.code_verifier != LOGOUT_MARK:
            raise SamlRefused("state_invalid", "This sign-out answers no sign-out started here, or came too late.")
        option = await self._required(call.option_id)
        _, message = await self._checked(option, query, params["SAMLResponse"], "LogoutResponse")
        if message.in_response_to != taken.nonce:
            raise SamlRefused("in_response_to_mismatch", "This LogoutResponse answers another sign-out request.")
        if message.status != SUCCESS:
            raise SamlRefused(
                "idp_refused",
                "You are signed out of Gatehouse, but the identity provider says it did not end your session there.",
            )
        change = SINGLE_LOGOUT.about(option.id, message="LogoutResponse")
        await record_apart(self.db, call.origin(), change, 200)
        return LogoutDone(taken.next_path, to_idp=False)

    async def _request(self, call: _Call, query: str, params: Mapping[str, str]) -> LogoutDone:
        option = await self._required(call.option_id)
        sp, message = await self._checked(option, query, params.get("SAMLRequest", ""), "LogoutRequest")
        call.subject = message.name_id
        if not message.name_id:
            raise SamlRefused("name_id_missing", "The LogoutRequest names no subject (NameID).")
        now = utcnow()
        if _expired(message.not_on_or_after, now):
            raise SamlRefused("request_expired", "The LogoutRequest has expired.")
        name_id, indexes, until = message.name_id, list(message.session_indexes), _until(message.not_on_or_after, now)

        def end(connection: Connection) -> list[str]:
            if not saml_assertions.consume(connection, option.id, "logout:" + message.id, until):
                raise SamlRefused("request_replayed", "This LogoutRequest has been received already.")
            ended = sessions.end_for_saml_subject(connection, option.id, name_id, indexes)
            change = SINGLE_LOGOUT.about(option.id, message="LogoutRequest", users_signed_out=len(ended))
            record(connection, call.origin(), change)
            return ended

        await self.db.write(end)
        relay = params.get("RelayState", "")[:512]
        url = await _toolkit(lambda: sp.logout_response(message, relay))
        return LogoutDone(url, to_idp=True)


async def _toolkit(work: Callable[[], T]) -> T:
    """``work`` (pysaml2's) in a worker thread; what it raises besides a refusal (pysaml2 raises bare exceptions
    for metadata it cannot use) becomes one, so that a broken IdP never makes a sign-out fail with a 500."""
    try:
        return await to_thread.run_sync(work)
    except GatehouseError:
        raise
    except Exception as exc:
        log.warning("SAML single logout: the toolkit failed (%s)", type(exc).__name__)
        raise SamlRefused(
            "slo_failed",
            "Single Logout could not be handled with this IdP's metadata (an administrator should check it).",
        ) from exc


def _stamp(not_on_or_after: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(not_on_or_after.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _expired(not_on_or_after: str | None, now: datetime) -> bool:
    """Whether a ``NotOnOrAfter`` (xs:dateTime, UTC) has passed (with the sign-in's clock skew); an unreadable
    one has."""
    if not not_on_or_after:
        return False
    stamp = _stamp(not_on_or_after)
    return stamp is None or now >= stamp + timedelta(seconds=CLOCK_SKEW)


def _until(not_on_or_after: str | None, now: datetime) -> datetime:
    """Until when a LogoutRequest's id is remembered against a replay: its ``NotOnOrAfter`` (with the skew), or
    :data:`REPLAY_WINDOW` when it has none, at most a day."""
    stamp = _stamp(not_on_or_after) if not_on_or_after else None
    latest = stamp + timedelta(seconds=CLOCK_SKEW) if stamp is not None else now + REPLAY_WINDOW
    return min(latest, now + timedelta(days=1))
