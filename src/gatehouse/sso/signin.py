"""Signing in through an OpenID Connect login option: the authorization code flow with PKCE, end to end.

:meth:`OidcSignIn.begin` starts it (OIDC Core 1.0 §3.1.2.1): it stores a single-use sign-in state (the
``state``'s digest, the ``nonce`` and the PKCE verifier, :mod:`gatehouse.store.sso_states`) and returns
the provider's authorization URL. :meth:`OidcSignIn.complete` finishes it at the callback:

1. the ``state`` is taken (deleted) in a transaction of its own, committed before anything else, so a
   replayed or double-submitted callback finds nothing, whatever happens next (§3.1.2.7, RFC 6749 §10.12);
   an ``iss`` parameter, when the provider sends one, must be the option's issuer (RFC 9207 §2.4);
2. the code is exchanged at the token endpoint with the verifier (§3.1.3.1, RFC 7636 §4.5);
3. the ID token is validated (§3.1.3.7: signature from the provider's JWKS, issuer, audience, expiry,
   ``nonce``), and UserInfo merged into its claims (§5.3.2);
4. in one transaction (:func:`gatehouse.sso.completion.complete`, shared with LDAP and SAML): the user is
   found, linked or created, their mapped roles and boundaries are recomputed from the option's rules, a
   server-side session is opened and the sign-in is recorded in the audit log.

Every refusal raises a :class:`~gatehouse.errors.GatehouseError` with a ``reason`` code, after an audit
record written in its own transaction; no refusal opens a session or changes a user.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gatehouse.errors import GatehouseError
from gatehouse.iam.audit import record_apart
from gatehouse.login import linking
from gatehouse.login.options import KIND_OIDC, LoginOption
from gatehouse.login.urls import local_target, post_logout_uri, redirect_uri
from gatehouse.sso.completion import START, Attempt, RedirectFlow, SignedIn, complete, usable
from gatehouse.sso.failure import reason_of
from gatehouse.sso.protocol import (
    CallbackRefused,
    ProviderError,
    ProviderMetadata,
    authorization_url,
    end_session_url,
    read_callback,
    token_request,
)
from gatehouse.sso.tokens import (
    DEFAULT_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    IdTokenClaims,
    IdTokenInvalid,
    email_verified,
    merge_userinfo,
    new_nonce,
    new_pkce,
    new_state,
    validate_id_token,
)
from gatehouse.store import login_options, sso_states
from gatehouse.store.records import utcnow

log = logging.getLogger("gatehouse.sso")


class OidcSignIn(RedirectFlow):
    """The OIDC sign-in use cases of one app."""

    # -- step 1: to the provider ----------------------------------------------------------------------

    async def begin(
        self, option_id: str, next_path: str, *, issuer_hint: str | None, ip: str | None, agent: str | None
    ) -> str:
        """Store a new sign-in state and return the provider's authorization URL.

        ``issuer_hint`` is the ``iss`` of a login initiated by a third party (OIDC Core §4): it must be the
        option's issuer. ``next_path`` must be a local path (anything else becomes ``/``).
        """
        attempt = Attempt(option_id, ip, agent)
        try:
            option = await self._option(option_id, attempt)
            if issuer_hint is not None and issuer_hint.rstrip("/") != option.issuer.rstrip("/"):
                raise CallbackRefused("issuer_mismatch", "This sign-in link names another identity provider.")
            metadata = await self.provider.metadata(option.issuer)
            state, nonce, pkce = new_state(), new_nonce(), new_pkce()
            target = local_target(next_path)
            now = utcnow()
            await self.db.write(lambda c: sso_states.create(c, state, option.id, nonce, pkce.verifier, target, now))
        except GatehouseError as exc:
            await record_apart(
                self.db, attempt.origin(), START.about(option_id, reason=reason_of(exc)), exc.status, exc.detail
            )
            raise
        return authorization_url(
            metadata,
            client_id=option.client_id,
            redirect_uri=redirect_uri(self.public_url, option.id),
            scopes=option.scopes,
            state=state,
            nonce=nonce,
            code_challenge=pkce.challenge,
        )

    # -- sign-out ---------------------------------------------------------------------------------------

    async def sign_out_url(self, option_id: str | None) -> str | None:
        """Where to send the browser after the local sign-out so that the provider signs the user out too
        (RP-Initiated Logout 1.0 §2), when the session came through an option that asks for it; ``None``
        otherwise, or when the provider cannot be reached (the local sign-out stands either way)."""
        if option_id is None:
            return None
        option = await self.db.read(lambda c: login_options.get(c, option_id))
        if option is None or not option.end_session:
            return None
        try:
            metadata = await self.provider.metadata(option.issuer)
        except ProviderError as exc:
            log.warning("end-session sign-out skipped for login option %s: %s", option.id, exc.reason)
            return None
        return end_session_url(
            metadata, client_id=option.client_id, post_logout_redirect_uri=post_logout_uri(self.public_url)
        )

    # -- step 2: back from the provider ---------------------------------------------------------------

    async def complete(
        self, option_id: str, params: Mapping[str, str], *, ip: str | None, agent: str | None
    ) -> SignedIn:
        """Finish the sign-in of a callback (see the module); raises after an audit record on refusal."""
        attempt = Attempt(option_id, ip, agent)
        try:
            return await self._complete(attempt, params)
        except GatehouseError as exc:
            await record_apart(self.db, attempt.origin(), attempt.change(reason_of(exc)), exc.status, exc.detail)
            raise

    async def _complete(self, attempt: Attempt, params: Mapping[str, str]) -> SignedIn:
        state_value = params.get("state", "")
        taken = None
        if state_value and len(state_value) <= 512:
            now = utcnow()
            taken = await self.db.write(lambda c: sso_states.take(c, state_value, now))  # committed at once
        callback = read_callback(params)  # no state, the provider's error, or no code
        if taken is None or taken.option_id != attempt.option_id:
            raise CallbackRefused(
                "state_invalid",
                "This sign-in link has expired or has been used already. Start again from the sign-in page.",
            )
        option = await self._option(attempt.option_id, attempt)
        if "iss" in params and params["iss"] != option.issuer:  # RFC 9207 §2.4: a mix-up with another provider
            raise CallbackRefused("issuer_mismatch", "This sign-in answer comes from another identity provider.")
        metadata = await self.provider.metadata(option.issuer)
        response = await self.provider.exchange(
            token_request(
                metadata,
                client_id=option.client_id,
                client_secret=self._client_secret(option),
                code=callback.code,
                redirect_uri=redirect_uri(self.public_url, option.id),
                code_verifier=taken.code_verifier,
            )
        )
        id_token = await self._validate(metadata, option, response.id_token, taken.nonce)
        attempt.subject = id_token.subject
        claims: dict[str, Any] = dict(id_token.claims)
        if metadata.userinfo_endpoint and response.access_token:
            claims = merge_userinfo(id_token, await self.provider.userinfo(metadata, response.access_token))
        login = self._identity(option, id_token, claims)
        attempt.user_name = login.user_name or login.email
        life = self.session_lifetime
        cookie, user_id, user_name = await self.db.write(lambda c: complete(c, attempt, option, login, claims, life))
        return SignedIn(cookie, user_id, user_name, taken.next_path, option.id)

    async def _option(self, option_id: str, attempt: Attempt) -> LoginOption:
        option = await self.db.read(lambda c: login_options.get(c, option_id)) if len(option_id) <= 64 else None
        return usable(option, KIND_OIDC, attempt)

    def _client_secret(self, option: LoginOption) -> str:
        if option.client_secret_env is not None:
            secret = self.environ.get(option.client_secret_env, "")
            if not secret:
                raise ProviderError(
                    "secret_missing",
                    f"The login option's client secret is read from the environment variable "
                    f"{option.client_secret_env}, which is not set on this server.",
                )
            return secret
        if option.client_secret_encrypted is None:
            raise ProviderError(
                "secret_missing", "The login option has no client secret: an administrator must set one."
            )
        return self.secrets().decrypt(option.client_secret_encrypted, option.id)

    async def _validate(self, metadata: ProviderMetadata, option: LoginOption, token: str, nonce: str) -> IdTokenClaims:
        algs = [alg for alg in SUPPORTED_ALGORITHMS if alg in metadata.signing_algs] or list(DEFAULT_ALGORITHMS)
        for refresh in (False, True):
            keys = await self.provider.keys(metadata, refresh=refresh)
            try:
                return validate_id_token(
                    token, jwks=keys, issuer=option.issuer, client_id=option.client_id, nonce=nonce,
                    now=utcnow(), allowed_algs=algs,
                )  # fmt: skip
            except IdTokenInvalid as exc:
                if exc.reason != "unknown_key" or refresh:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _identity(option: LoginOption, id_token: IdTokenClaims, claims: Mapping[str, Any]) -> linking.LoginIdentity:
        def text(name: str) -> str | None:
            value = claims.get(name)
            return value.strip()[:320] if isinstance(value, str) and value.strip() else None

        subject = id_token.subject if option.subject_claim == "sub" else text(option.subject_claim)
        if not subject:
            raise ProviderError(
                "subject_missing", f"The identity provider sent no '{option.subject_claim}' claim to identify the user."
            )
        return linking.LoginIdentity(
            option_id=option.id,
            subject=subject,
            user_name=text(option.username_claim),
            email=text(option.email_claim),
            email_verified=email_verified(claims),
            name=text(option.name_claim),
        )
