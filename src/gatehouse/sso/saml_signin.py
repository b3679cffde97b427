"""Signing in through a SAML 2.0 login option: SP-initiated (HTTP-Redirect to the IdP, HTTP-POST back to the
ACS), IdP-initiated only when the option allows it.

:meth:`SamlSignIn.begin` stores a single-use sign-in state (:mod:`gatehouse.store.sso_states`: the digest of
the ``RelayState`` sent, the AuthnRequest's id, the page to return to) and returns the IdP's URL.
:meth:`SamlSignIn.complete` at the ACS takes that state (deleted at once, so a replayed POST finds nothing),
has the response verified against the stored request id (:class:`~gatehouse.sso.saml_sp.ServiceProvider`),
records the assertion id so that it is never accepted twice, in any process, until it expires
(:mod:`gatehouse.store.saml_assertions`), then signs in as every protocol does
(:func:`gatehouse.sso.completion.complete`). Every refusal raises after an audit record (``auth:SignIn``,
method ``saml``, the reason code).

The IdP's metadata is the pasted XML, or fetched from its URL through the OpenID providers' client (its
outbound rules, a timeout, a size cap) and kept for the metadata TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from anyio import to_thread

from gatehouse.errors import GatehouseError
from gatehouse.iam.audit import record_apart
from gatehouse.login import linking
from gatehouse.login.options import KIND_SAML, LoginOption
from gatehouse.login.saml import SamlSubject, first
from gatehouse.login.urls import local_target
from gatehouse.sso.completion import START, Attempt, RedirectFlow, SignedIn, complete, option_secret, usable
from gatehouse.sso.failure import reason_of
from gatehouse.sso.protocol import ProviderError
from gatehouse.sso.saml_sp import SamlLogin, ServiceProvider
from gatehouse.sso.saml_xml import SamlRefused
from gatehouse.sso.tokens import new_state
from gatehouse.store import login_options, saml_assertions, sso_states
from gatehouse.store.records import utcnow

REQUEST_MARK = "saml"  # the sign-in state's code verifier: SAML has none


@dataclass(eq=False)
class SamlSignIn(RedirectFlow):
    """The SAML sign-in use cases of one app."""

    metadata_ttl: float = 300
    clock: Callable[[], float] = time.monotonic
    _metadata: dict[str, tuple[float, str]] = field(default_factory=dict, init=False, repr=False)

    # -- the option and its SP ----------------------------------------------------------------------------

    async def _option(self, option_id: str, attempt: Attempt, *, enabled: bool = True) -> LoginOption:
        option = await self.db.read(lambda c: login_options.get(c, option_id)) if len(option_id) <= 64 else None
        if not enabled and option is not None and option.kind == KIND_SAML:
            return option
        return usable(option, KIND_SAML, attempt)

    async def idp_metadata(self, option: LoginOption, *, refresh: bool = False) -> str:
        """The IdP's metadata XML: pasted, or fetched from its URL (cached for the TTL unless ``refresh``)."""
        settings = option.saml()
        url = settings.idp_metadata_url
        if not url:
            return settings.idp_metadata_xml
        cached = self._metadata.get(url)
        if cached is not None and not refresh and self.clock() - cached[0] < self.metadata_ttl:
            return cached[1]
        try:
            status, body = await self.provider.get_document(url, "SAML metadata")
        except ProviderError as exc:
            raise SamlRefused("metadata_unreachable", exc.detail) from exc
        if status != 200:
            raise SamlRefused("metadata_unreachable", f"The IdP metadata URL answered HTTP {status}.")
        text = body.decode("utf-8", errors="replace")
        self._metadata[url] = (self.clock(), text)
        return text

    async def service_provider(self, option: LoginOption, *, refresh: bool = False) -> ServiceProvider:
        settings = option.saml()
        key = option_secret(option, self.secrets, self.environ, "SP private key", required=False)
        metadata = await self.idp_metadata(option, refresh=refresh)
        return ServiceProvider(settings, settings.addresses(self.public_url, option.id), metadata, key)

    async def sp_metadata(self, option_id: str) -> str:
        """The SP metadata of a SAML option (enabled or not: the IdP reads it while it is being set up)."""
        option = await self._option(option_id, Attempt(option_id, None, None, "saml"), enabled=False)
        sp = await self.service_provider(option)
        return await to_thread.run_sync(sp.metadata)

    # -- step 1: to the IdP -------------------------------------------------------------------------------

    async def begin(self, option_id: str, next_path: str, *, ip: str | None, agent: str | None) -> str:
        """Store a new sign-in state and return the IdP's URL (AuthnRequest by HTTP-Redirect)."""
        attempt = Attempt(option_id, ip, agent, "saml")
        try:
            option = await self._option(option_id, attempt)
            sp = await self.service_provider(option)
            relay = new_state()
            request_id, url = await to_thread.run_sync(lambda: sp.authn_request(relay))
            target, now = local_target(next_path), utcnow()
            await self.db.write(lambda c: sso_states.create(c, relay, option.id, request_id, REQUEST_MARK, target, now))
        except GatehouseError as exc:
            await record_apart(
                self.db, attempt.origin(), START.about(option_id, reason=reason_of(exc)), exc.status, exc.detail
            )
            raise
        return url

    # -- step 2: back at the ACS --------------------------------------------------------------------------

    async def complete(self, option_id: str, form: Mapping[str, str], *, ip: str | None, agent: str | None) -> SignedIn:
        """Verify the posted response and sign in (see the module); raises after an audit record on refusal."""
        attempt = Attempt(option_id, ip, agent, "saml")
        try:
            return await self._complete(attempt, form)
        except GatehouseError as exc:
            await record_apart(self.db, attempt.origin(), attempt.change(reason_of(exc)), exc.status, exc.detail)
            raise

    async def _complete(self, attempt: Attempt, form: Mapping[str, str]) -> SignedIn:
        relay, now = form.get("RelayState", ""), utcnow()
        taken = None
        if relay and len(relay) <= 512:
            taken = await self.db.write(lambda c: sso_states.take(c, relay, now))  # committed at once
        option = await self._option(attempt.option_id, attempt)
        settings = option.saml()
        if taken is not None and (taken.option_id != option.id or taken.code_verifier != REQUEST_MARK):
            taken = None
        if taken is None and not settings.allow_idp_initiated:
            raise SamlRefused(
                "state_invalid",
                "This sign-in has expired or has been used already. Start again from the sign-in page.",
            )
        sp = await self.service_provider(option)
        request_id = taken.nonce if taken is not None else None
        posted = form.get("SAMLResponse", "")
        login = await to_thread.run_sync(lambda: sp.read_response(posted, request_id, now))
        attempt.subject = login.name_id
        assertion_id, expires_at = login.assertion_id, login.expires_at
        if not await self.db.write(lambda c: saml_assertions.consume(c, option.id, assertion_id, expires_at)):
            raise SamlRefused("assertion_replayed", "This SAML assertion has been used already. Sign in again.")
        identity = self._identity(option, login)
        attempt.user_name = identity.user_name or identity.email
        life = self.session_lifetime
        subject = SamlSubject(login.name_id, login.name_id_format, login.session_index)
        cookie, user_id, user_name = await self.db.write(
            lambda c: complete(c, attempt, option, identity, login.claims, life, subject)
        )
        next_path = taken.next_path if taken is not None else local_target(relay if relay.startswith("/") else "/")
        return SignedIn(cookie, user_id, user_name, next_path, option.id)

    @staticmethod
    def _identity(option: LoginOption, login: SamlLogin) -> linking.LoginIdentity:
        settings = option.saml()
        return linking.LoginIdentity(
            option_id=option.id,
            subject=login.name_id[:255],
            user_name=first(login.claims, settings.username_attribute),
            email=first(login.claims, settings.email_attribute),
            email_verified=settings.trust_email,
            name=first(login.claims, settings.name_attribute),
        )

    async def check(self, option_id: str) -> tuple[str, str]:
        """Fetch the IdP metadata now (any SAML option) and build the SP: (the IdP's entity id, the SSO URL)."""
        option = await self._option(option_id, Attempt(option_id, None, None, "saml"), enabled=False)
        sp = await self.service_provider(option, refresh=True)
        _, url = await to_thread.run_sync(lambda: sp.authn_request("check"))
        return await to_thread.run_sync(sp.idp), url.split("?")[0]

    async def logout_warnings(self, option_id: str) -> list[str]:
        """What will not work of the option's Single Logout (SAML 2.0 Core §3.7) as the IdP's metadata stands:
        no SingleLogoutService for HTTP-Redirect, or no signing certificate to check its messages with."""
        option = await self._option(option_id, Attempt(option_id, None, None, "saml"), enabled=False)
        if not option.saml().single_logout:
            return []
        sp = await self.service_provider(option)
        try:
            _, certificates = await to_thread.run_sync(sp.idp_logout)
        except SamlRefused as exc:
            return [f"Single Logout is on, but {exc.detail[0].lower()}{exc.detail[1:]} Signing out ends "
                    "Gatehouse's session only."]  # fmt: skip
        if not certificates:
            return ["Single Logout is on, but the IdP metadata has no signing certificate: Gatehouse will refuse "
                    "the IdP's logout messages."]  # fmt: skip
        return []
