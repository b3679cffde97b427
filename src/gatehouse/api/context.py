"""What every admin API route shares: the services (:class:`Api`), who is calling (:class:`Caller`) and
how a change runs (:meth:`Api.change`, through the audit log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from anyio import to_thread
from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from gatehouse.config import Settings
from gatehouse.credentials import LastUseRecorder
from gatehouse.errors import GatehouseError
from gatehouse.iam.api_tokens import TokenCaller
from gatehouse.iam.audit import Change, Describe, Origin, audited, record_apart
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.principal_cache import PrincipalCache
from gatehouse.iam.signin import SignInPolicy
from gatehouse.network import client_ip
from gatehouse.secrets_box import LazySecretBox
from gatehouse.sso.ldap_signin import LdapSignIn
from gatehouse.sso.provider import ProviderClient
from gatehouse.sso.saml_signin import SamlSignIn
from gatehouse.store.database import Connection, Database
from gatehouse.store.sessions import SessionUser

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request: what they may do (read fresh for this request), how the
    audit log names them, and the credential they came with (a dashboard session or an API token)."""

    principal: Principal
    origin: Origin
    session: SessionUser | None = None
    token: TokenCaller | None = None

    @property
    def user_id(self) -> str:
        assert self.principal.user_id is not None  # an authenticated caller has a user
        return self.principal.user_id


class Api:
    """The admin API's services, built once per app (kept in ``app.state.api``)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.policy = SignInPolicy(
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_lockout_seconds),
            idle=self.idle,
            absolute=timedelta(hours=settings.session_absolute_hours),
        )
        self.last_use = LastUseRecorder()
        self.principals = PrincipalCache()  # tokens, principals and labels, while the security epoch stays
        self.secrets = LazySecretBox(settings.secret_key_path)  # SSO client secrets at rest
        self.provider = ProviderClient(
            settings.sso_http_timeout_seconds,
            settings.sso_metadata_ttl_seconds,
            deny_private=settings.outbound_deny_private,
        )
        self.ldap = LdapSignIn(db, self.secrets, self.policy)  # the LDAP and SAML options' checks
        ttl = settings.sso_metadata_ttl_seconds
        self.saml = SamlSignIn(
            db, self.provider, settings.public_url, self.secrets, self.policy.absolute, metadata_ttl=ttl
        )

    def client_ip(self, request: Request) -> str | None:
        """The client's address (``X-Forwarded-For`` believed from trusted proxies only)."""
        return client_ip(request, self.settings.trusted_proxies)

    def origin(self, request: Request, actor: str, actor_id: str | None) -> Origin:
        """The audit log's view of an admin API request."""
        return Origin("api", actor, actor_id, self.client_ip(request), request.headers.get("user-agent"))

    async def change(
        self,
        caller: Caller,
        change: Change,
        work: Callable[[Connection], T],
        *,
        describe: Describe | None = None,
        status: int = 200,
    ) -> T:
        """Run a data-changing use case in one write transaction with its audit record (success recorded in
        the same transaction; refusal or failure in a transaction of its own): :func:`~gatehouse.iam.audit.audited`."""
        return await audited(self.db, caller.origin, change, work, describe=describe, status=status)

    async def change_no_content(
        self, caller: Caller, change: Change, work: Callable[[Connection], Any], *, describe: Describe | None = None
    ) -> Response:
        """:meth:`change`, answered by an empty 204 (a deletion, a revocation, a role taken away; the audit record
        keeps status 200, as every successful change's)."""
        await self.change(caller, change, work, describe=describe)
        return Response(status_code=204)

    async def prepare(self, caller: Caller, change: Change, work: Callable[[], T]) -> T:
        """Run the checks and slow preparation of a change (a form, an Argon2 hash) off the event loop, before
        its transaction; a refusal is recorded in the audit log like a refused change."""
        try:
            return await blocking(work)
        except GatehouseError as exc:
            await record_apart(self.db, caller.origin, change, exc.status, exc.detail)
            raise


async def blocking(work: Callable[[], T]) -> T:
    """Run blocking work (Argon2 hashing, the sign-in use case) off the event loop."""
    return await to_thread.run_sync(work)


async def api_of(request: Request) -> Api:
    """The :class:`Api` of the app serving the request (``async``: FastAPI runs a plain function dependency in
    a worker thread, a hop on every API request for a dictionary look-up)."""
    found: Any = request.app.state.api
    assert isinstance(found, Api)
    return found


ApiDep = Annotated[Api, Depends(api_of)]
