"""Calls to OpenID providers: discovery, keys, the token endpoint and UserInfo (with httpx).

The messages are built and read by :mod:`gatehouse.sso.protocol`; this module only carries them, with a
timeout on every call, no redirects followed (a provider's endpoints are where its metadata says), a
cap on every response body, and, when ``GATEHOUSE_OUTBOUND_DENY_PRIVATE`` is on, only to public addresses
(:mod:`gatehouse.outbound`). A process keeps each provider's discovery document and keys for
``ttl`` seconds (OIDC Discovery 1.0 §4, OIDC Core 1.0 §10.1.1: keys may rotate, so an ID token naming an
unknown ``kid`` makes the caller fetch the keys again at once). These caches hold public data from the
provider only, never Gatehouse state, so processes need not agree on them.

Every failure is a :class:`gatehouse.sso.protocol.ProviderError` whose message says what to check; no
access token, code or secret ever appears in one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson

from gatehouse import outbound
from gatehouse.sso.protocol import (
    ProviderError,
    ProviderMetadata,
    TokenRequest,
    TokenResponse,
    discovery_url,
    parse_metadata,
    read_token_response,
)

if TYPE_CHECKING:
    import httpx  # imported when a provider is first called: a process that never does SSO saves its memory

MAX_RESPONSE_BYTES: Final = 1024 * 1024
USER_AGENT: Final = "Gatehouse-SSO"


@dataclass(frozen=True, slots=True)
class ProviderCheck:
    """What a check of a provider found: its metadata and how many signing keys it publishes."""

    metadata: ProviderMetadata
    signing_keys: int

    def warnings(self, *, end_session: bool, scopes: Sequence[str]) -> list[str]:
        """What will not work as the option is configured."""
        found = []
        if self.signing_keys == 0:
            found.append("The provider publishes no signing key: no ID token can be verified.")
        if end_session and self.metadata.end_session_endpoint is None:
            found.append("The provider has no end-session endpoint: signing out of Gatehouse will not sign out there.")
        if self.metadata.userinfo_endpoint is None:
            found.append("The provider has no UserInfo endpoint: only the ID token's claims are read.")
        unsupported = [s for s in scopes if self.metadata.scopes is not None and s not in self.metadata.scopes]
        if unsupported:
            found.append(f"The provider does not list these scopes as supported: {', '.join(unsupported)}.")
        return found


class ProviderClient:
    """One process's client of the OpenID providers of its login options."""

    def __init__(
        self,
        timeout: float,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        deny_private: bool = False,
    ) -> None:
        self._timeout = timeout
        self._deny_private = deny_private
        self._ttl = ttl
        self._clock = clock
        self._metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self._keys: dict[str, tuple[float, dict[str, Any]]] = {}

    @asynccontextmanager
    async def _http(self) -> AsyncIterator[httpx.AsyncClient]:
        # A client per sign-in step: no connection outlives the event loop that opened it.
        import httpx

        async with httpx.AsyncClient(
            timeout=self._timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        ) as client:
            yield client

    def _fresh(self, stamp: float) -> bool:
        return self._clock() - stamp < self._ttl

    async def metadata(self, issuer: str) -> ProviderMetadata:
        """The provider's discovery document (cached), checked by :func:`parse_metadata`."""
        cached = self._metadata.get(issuer)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        status, document = await self._get_json(discovery_url(issuer), "discovery document")
        if status != 200:
            raise ProviderError(
                "discovery_failed",
                f"The identity provider's discovery document ({discovery_url(issuer)}) answered HTTP {status}: "
                "check the login option's issuer.",
            )
        metadata = parse_metadata(issuer, document)
        self._metadata[issuer] = (self._clock(), metadata)
        return metadata

    async def keys(self, metadata: ProviderMetadata, *, refresh: bool = False) -> dict[str, Any]:
        """The provider's JSON Web Key Set (cached unless ``refresh``)."""
        cached = self._keys.get(metadata.jwks_uri)
        if cached is not None and not refresh and self._fresh(cached[0]):
            return cached[1]
        status, document = await self._get_json(metadata.jwks_uri, "signing keys")
        if status != 200 or not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderError("jwks_failed", "The identity provider's signing keys (jwks_uri) could not be read.")
        self._keys[metadata.jwks_uri] = (self._clock(), document)
        return document

    async def check(self, issuer: str) -> ProviderCheck:
        """Fetch the provider's discovery document and keys afresh (the administrator's "check" button);
        :class:`ProviderError` says what is wrong."""
        self._metadata.pop(issuer, None)
        metadata = await self.metadata(issuer)
        keys = await self.keys(metadata, refresh=True)
        usable = [key for key in keys["keys"] if isinstance(key, dict) and key.get("use", "sig") == "sig"]
        return ProviderCheck(metadata, len(usable))

    async def exchange(self, request: TokenRequest) -> TokenResponse:
        """POST the token request (OIDC Core §3.1.3.1) and read the answer."""
        async with self._http() as client:
            answer = await self._fetch(client, "POST", request.url, "token endpoint", request.headers, request.body)
        status, document = self._decoded(answer)
        return read_token_response(status, document)

    async def userinfo(self, metadata: ProviderMetadata, access_token: str) -> dict[str, Any]:
        """The UserInfo response (OIDC Core §5.3) as a JSON object."""
        assert metadata.userinfo_endpoint is not None
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        async with self._http() as client:
            answer = await self._fetch(client, "GET", metadata.userinfo_endpoint, "UserInfo endpoint", headers)
        status, document = self._decoded(answer)
        if status != 200 or not isinstance(document, dict):
            raise ProviderError("userinfo_failed", f"The identity provider's UserInfo endpoint answered HTTP {status}.")
        return document

    async def _get_json(self, url: str, what: str) -> tuple[int, object]:
        async with self._http() as client:
            return self._decoded(await self._fetch(client, "GET", url, what, {"Accept": "application/json"}))

    @staticmethod
    def _decoded(answer: tuple[int, bytes]) -> tuple[int, object]:
        """A status and body as the status and the decoded JSON body (``None`` when it is not JSON)."""
        status, content = answer
        try:
            return status, orjson.loads(content)
        except orjson.JSONDecodeError:
            return status, None

    async def get_document(self, url: str, what: str) -> tuple[int, bytes]:
        """GET a document (a SAML IdP's metadata) as the other calls are made: the status and the body."""
        async with self._http() as client:
            return await self._fetch(client, "GET", url, what, {"Accept": "application/samlmetadata+xml, */*"})

    async def _fetch(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        what: str,
        headers: dict[str, str],
        body: str | None = None,
    ) -> tuple[int, bytes]:
        import httpx

        try:
            target = await outbound.destination(url, deny_private=self._deny_private)
        except outbound.OutboundRefused as exc:
            raise ProviderError("refused", f"The identity provider's {what} was not called: {exc.detail}") from exc
        if target.host_header is not None:
            headers = {**headers, "Host": target.host_header}
        extensions = {"sni_hostname": target.server_name} if target.server_name else None
        try:
            async with client.stream(
                method, target.url, headers=headers, content=body, extensions=extensions
            ) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise ProviderError(
                            "response_too_large", f"The identity provider's {what} answer is too large."
                        )
                    chunks.append(chunk)
                status = response.status_code
        except httpx.TimeoutException as exc:
            raise ProviderError("timeout", f"The identity provider's {what} did not answer in time.") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                "unreachable", f"The identity provider's {what} could not be reached ({type(exc).__name__})."
            ) from exc
        return status, b"".join(chunks)
