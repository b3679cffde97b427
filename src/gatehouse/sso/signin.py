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
4. in one transaction: the user is found, linked or created (:mod:`gatehouse.login.linking`), their mapped
   roles and boundaries are recomputed from the option's rules (:mod:`gatehouse.login.mapping`), a
   server-side session is opened and the sign-in is recorded in the audit log.

Every refusal raises a :class:`~gatehouse.errors.GatehouseError` with a ``reason`` code, after an audit
record written in its own transaction; no refusal opens a session or changes a user.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, Forbidden, GatehouseError, InvalidInput, NotFound
from gatehouse.iam import scim_control
from gatehouse.iam.audit import Change, Origin, record, record_apart
from gatehouse.iam.users import NewLocalUser, local_user_document
from gatehouse.login import linking
from gatehouse.login.mapping import evaluate
from gatehouse.login.options import LoginOption
from gatehouse.login.urls import post_logout_uri, redirect_uri
from gatehouse.secrets_box import LazySecretBox
from gatehouse.sso.failure import Reasoned, reason_of
from gatehouse.sso.protocol import (
    CallbackRefused,
    ProviderError,
    ProviderMetadata,
    authorization_url,
    end_session_url,
    read_callback,
    token_request,
)
from gatehouse.sso.provider import ProviderClient
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
from gatehouse.store import login_options, sessions, sso_candidates, sso_links, sso_states, user_events
from gatehouse.store import users as user_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import users

log = logging.getLogger("gatehouse.sso")

SIGN_IN = Change("auth:SignIn", "user")
START = Change("auth:StartSignIn", "login_option")


class OptionUnavailable(Reasoned, NotFound):
    """The login option does not exist or is disabled."""

    default_detail = "This sign-in option does not exist or is turned off. Go back to the sign-in page."

    def __init__(self) -> None:
        super().__init__("option_unavailable")


class SsoRefused(Reasoned, Forbidden):
    """The provider vouched for the user, but Gatehouse does not let them in (see :mod:`linking`)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A completed SSO sign-in: the session cookie and where to go."""

    cookie: str
    user_id: str
    user_name: str
    next_path: str
    option_id: str


@dataclass(slots=True)
class _Attempt:
    """What is known of a sign-in so far, for its audit record."""

    option_id: str
    ip: str | None
    agent: str | None
    option_name: str | None = None
    subject: str | None = None
    user_name: str | None = None
    user_id: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def origin(self) -> Origin:
        actor = (self.user_name or self.subject or "anonymous")[:255]
        return Origin("sso", actor, self.user_id, self.ip, self.agent)

    def change(self, reason: str | None = None) -> Change:
        summary = {"method": "oidc", "login_option": self.option_name or self.option_id, **self.summary}
        if reason:
            summary["reason"] = reason
        return SIGN_IN.about(self.user_id, **summary)


class OidcSignIn:
    """The OIDC sign-in use cases of one app."""

    def __init__(
        self,
        db: Database,
        provider: ProviderClient,
        public_url: str,
        secrets: LazySecretBox,
        session_lifetime: timedelta,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.provider = provider
        self.public_url = public_url
        self.secrets = secrets
        self.session_lifetime = session_lifetime
        self.environ = os.environ if environ is None else environ

    # -- step 1: to the provider ----------------------------------------------------------------------

    async def begin(
        self, option_id: str, next_path: str, *, issuer_hint: str | None, ip: str | None, agent: str | None
    ) -> str:
        """Store a new sign-in state and return the provider's authorization URL.

        ``issuer_hint`` is the ``iss`` of a login initiated by a third party (OIDC Core §4): it must be the
        option's issuer. ``next_path`` must be a local path (anything else becomes ``/``).
        """
        attempt = _Attempt(option_id, ip, agent)
        try:
            option = await self._option(option_id, attempt)
            if issuer_hint is not None and issuer_hint.rstrip("/") != option.issuer.rstrip("/"):
                raise CallbackRefused("issuer_mismatch", "This sign-in link names another identity provider.")
            metadata = await self.provider.metadata(option.issuer)
            state, nonce, pkce = new_state(), new_nonce(), new_pkce()
            target = next_path if sso_states.is_local_path(next_path) and len(next_path) <= 500 else "/"
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
        attempt = _Attempt(option_id, ip, agent)
        try:
            return await self._complete(attempt, params)
        except GatehouseError as exc:
            await record_apart(self.db, attempt.origin(), attempt.change(reason_of(exc)), exc.status, exc.detail)
            raise

    async def _complete(self, attempt: _Attempt, params: Mapping[str, str]) -> SignedIn:
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
        cookie, user_id, user_name = await self.db.write(lambda c: self._sign_in(c, attempt, option, login, claims))
        return SignedIn(cookie, user_id, user_name, taken.next_path, option.id)

    async def _option(self, option_id: str, attempt: _Attempt) -> LoginOption:
        option = await self.db.read(lambda c: login_options.get(c, option_id)) if len(option_id) <= 64 else None
        if option is None or not option.enabled:
            raise OptionUnavailable()
        attempt.option_name = option.name
        return option

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

    # -- step 3: the sign-in itself, in one transaction ------------------------------------------------

    def _sign_in(
        self, connection: Connection, attempt: _Attempt, option: LoginOption, login: linking.LoginIdentity,
        claims: Mapping[str, Any],
    ) -> tuple[str, str, str]:  # fmt: skip
        candidates, email_matches = sso_candidates.load(connection, login)
        decision = _ambiguous(candidates, email_matches, login) or linking.decide(
            login, candidates, scim_only=option.effective_scim_only(scim_control.is_enabled(connection))
        )
        now = utcnow()
        if isinstance(decision, linking.Refuse):
            if candidates.linked is not None:
                attempt.user_id = candidates.linked.id
            raise SsoRefused(decision.code, decision.message)
        if isinstance(decision, linking.CreateUser):
            user_id, user_name = self._create(connection, decision, attempt.option_name or option.id, now)
            attempt.summary["created"] = True
        else:
            user_id, user_name = decision.user.id, decision.user.user_name
        attempt.user_id, attempt.user_name = user_id, user_name
        if isinstance(decision, linking.UseLinked):
            sso_links.touch(connection, option.id, login.subject, now)
        else:
            sso_links.link(connection, option.id, login.subject, user_id, now)
            sso_links.touch(connection, option.id, login.subject, now)
            attempt.summary["linked_by"] = decision.reason if isinstance(decision, linking.LinkExisting) else "created"
        result = evaluate(option.rules(), claims)
        granted, removed = sso_links.set_mapped(
            connection, user_id, result.roles.keys(), result.boundaries.keys(), f"SSO: {option.name}", now
        )
        attempt.summary.update(
            roles_granted=sorted(granted.roles), roles_removed=sorted(removed.roles),
            boundaries_granted=sorted(granted.boundaries), boundaries_removed=sorted(removed.boundaries),
        )  # fmt: skip
        cookie, _ = sessions.create(
            connection, user_id, now, self.session_lifetime, attempt.ip, attempt.agent, login_option_id=option.id
        )
        connection.execute(users.update().where(users.c.id == user_id).values(last_login_at=now))
        record(connection, attempt.origin(), attempt.change(), now=now)
        return cookie, user_id, user_name

    @staticmethod
    def _create(connection: Connection, create: linking.CreateUser, option_name: str, now: Any) -> tuple[str, str]:
        try:
            doc = local_user_document(NewLocalUser(create.user_name[:255], create.email, create.name))
        except InvalidInput as exc:
            raise SsoRefused(
                "profile_invalid", f"Your identity provider's profile cannot be used: {exc.detail}"
            ) from exc
        write = user_store.UserWrite(id=str(uuid.uuid4()), doc=doc, source="sso")
        try:
            created = user_store.insert(connection, write, now)
        except Conflict as exc:
            raise SsoRefused("user_name_taken", linking.MESSAGES["user_name_taken"]) from exc
        user_events.record(connection, created.id, user_events.CREATED, f"SSO: {option_name}", now)
        return created.id, create.user_name


def _ambiguous(
    candidates: linking.Candidates, matches: list[linking.UserRef], login: linking.LoginIdentity
) -> linking.Refuse | None:
    """An email shared by several users links to none of them (unless a link or externalId decides first)."""
    if candidates.linked is not None or len({user.id for user in matches}) < 2:
        return None
    if candidates.by_external_id is not None and candidates.by_external_id.source == "scim":
        return None
    if any(user.source == "local" or user.super_admin for user in matches):
        return linking.refuse("takeover_refused")
    return linking.refuse("ambiguous_match") if login.email_verified else None
