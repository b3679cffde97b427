"""The ``/scim/v2`` HTTP surface (RFC 7644 §3): thin Starlette routes over the SCIM services.

Routes only adapt HTTP to the services: read parameters and headers, run the work in the right kind
of transaction, and turn results and :mod:`gatehouse.errors` into SCIM responses. Authentication runs
inside the same database work as the operation, so a request costs one connection checkout.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import orjson
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.credentials import LastUseRecorder
from gatehouse.errors import (
    GatehouseError,
    InvalidSyntax,
    MethodNotAllowed,
    NotFound,
    NotImplementedFeature,
    TooManyRequests,
    UnsupportedMediaType,
)
from gatehouse.iam import audit, scim_guard
from gatehouse.metrics import SCIM_REFUSALS
from gatehouse.network import client_ip
from gatehouse.request_body import bounded_body
from gatehouse.resources.schemas import GROUP_SCHEMA, USER_SCHEMA
from gatehouse.scim import listing
from gatehouse.scim.activity import ERROR_KEY, TOKEN_KEY
from gatehouse.scim.audit_summary import summary
from gatehouse.scim.auth import ScimClient, ScimDisabled, ScimUnauthorized, authenticate, authenticate_reading
from gatehouse.scim.discovery import Discovery
from gatehouse.scim.item_write import ItemWrite
from gatehouse.scim.preconditions import if_match, none_match
from gatehouse.scim.projection import Projection
from gatehouse.scim.render import error
from gatehouse.scim.search import search_all
from gatehouse.scim.users import Rendered, UserService, user_name_filtered
from gatehouse.store import lookups, scim_tokens
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow

log = logging.getLogger("gatehouse.scim")

SCIM_MEDIA_TYPE = "application/scim+json"
T = TypeVar("T")


class ResourceService(Protocol):
    """What the User and Group services have in common."""

    def get(self, connection: Connection, resource_id: str, projection: Projection) -> Rendered: ...
    def search(self, connection: Connection, query: listing.ListQuery, projection: Projection) -> bytes: ...
    def create(self, connection: Connection, body: object, projection: Projection) -> Rendered: ...
    def replace(self, connection: Connection, write: ItemWrite) -> Rendered: ...
    def patch(self, connection: Connection, write: ItemWrite) -> Rendered | None: ...
    def delete(
        self, connection: Connection, resource_id: str, precondition: Any, *, caller: ScimClient | None = None
    ) -> None: ...


def scim_response(body: bytes | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response with the SCIM media type (RFC 7644 §3.1)."""
    return Response(body, status_code=status, headers=headers, media_type=SCIM_MEDIA_TYPE if body else None)


def error_response(exc: GatehouseError) -> Response:
    """Render a domain error as a SCIM Error message (RFC 7644 §3.12)."""
    headers = {}
    if isinstance(exc, ScimUnauthorized):
        headers["WWW-Authenticate"] = exc.challenge
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    scim_type = exc.scim_type if exc.status == 400 or exc.status == 409 else None
    return scim_response(error(exc.status, exc.detail, scim_type), exc.status, headers)


class ScimEndpoints:
    """Holds what the routes need: the database, the services, the discovery documents, settings."""

    def __init__(
        self,
        db: Database,
        users: UserService,
        groups: ResourceService,
        discovery: Discovery,
        *,
        default_count: int,
        max_results: int,
        max_body_bytes: int,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self.db = db
        self.users = users
        self.services: dict[str, ResourceService] = {"Users": users, "Groups": groups}
        self.core_schemas = {"Users": USER_SCHEMA, "Groups": GROUP_SCHEMA}
        self.whole = {name: Projection(schema) for name, schema in self.core_schemas.items()}
        self.discovery = discovery
        self.default_count = default_count
        self.max_results = max_results
        self.max_body_bytes = max_body_bytes
        self.usage = LastUseRecorder()
        self.trusted_proxies = tuple(trusted_proxies)

    # -- plumbing -------------------------------------------------------------------------------

    def _projection(self, request: Request, collection: str) -> Projection:
        if not request.scope["query_string"]:
            return self.whole[collection]  # no attributes asked for: the resource as it is
        params = request.query_params
        attributes = params.get("attributes")
        excluded = params.get("excludedAttributes")
        if attributes is None and excluded is None:
            for key, value in params.items():
                lowered = key.lower()
                if lowered == "attributes":
                    attributes = value
                elif lowered == "excludedattributes":
                    excluded = value
            if attributes is None and excluded is None:
                return self.whole[collection]
        return Projection(
            self.core_schemas[collection],
            listing._names(attributes),
            listing._names(excluded),
        )

    async def _body(self, request: Request) -> bytes:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and "json" not in content_type:
            raise UnsupportedMediaType(f"Content-Type '{content_type}' is not accepted; send application/scim+json.")
        try:
            return await bounded_body(request, self.max_body_bytes)
        except ClientDisconnect:  # the server refused the rest (a broken chunked body) or the client left
            raise InvalidSyntax("The request body ended before it was complete.") from None

    @staticmethod
    def _json(raw: bytes) -> object:
        if not raw.strip():
            raise InvalidSyntax("The request body is empty; a JSON object was expected.")
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidSyntax(f"The request body is not valid JSON: {exc}.") from None
        if _deeper_than(document, MAX_DEPTH):
            raise InvalidSyntax(f"The request body nests objects and arrays more than {MAX_DEPTH} levels deep.")
        return document

    def _usage_task(self, request: Request, client: ScimClient) -> BackgroundTask | None:
        if not self.usage.due(client.token_id, client.last_used_at):
            return None
        ip = client_ip(request, self.trusted_proxies)
        agent = request.headers.get("user-agent")

        def record(connection: Connection) -> None:
            scim_tokens.record_use(connection, client.token_id, utcnow(), ip, agent)

        return BackgroundTask(self.db.write, record)

    async def _read(self, request: Request, work: Callable[[Connection], T]) -> tuple[T, BackgroundTask | None]:
        header = request.headers.get("authorization")
        holder: list[ScimClient] = []

        def run(connection: Connection) -> T:
            holder.append(self._seen(request, authenticate(connection, header)))
            return work(connection)

        result = await self.db.read(run)
        return result, self._usage_task(request, holder[0])

    async def _read_user(
        self, request: Request, user: lookups.UserKey, work: Callable[[lookups.UserFound | None], T]
    ) -> tuple[T, BackgroundTask | None]:
        """:meth:`_read` of one provisioned user, read in the token's own statement (one round trip)."""
        client, found = await authenticate_reading(self.db, request.headers.get("authorization"), user)
        self._seen(request, client)  # before the work, which may refuse (a 404 is the token's too)
        return work(found), self._usage_task(request, client)

    @staticmethod
    def _seen(request: Request, client: ScimClient) -> ScimClient:
        request.scope[TOKEN_KEY] = client.token_name  # for the activity record
        return client

    async def _write(
        self,
        request: Request,
        work: Callable[[Connection, object, ScimClient], T],
        *,
        body: bool = True,
        event: str | None = None,
    ) -> tuple[T, BackgroundTask | None]:
        """Authenticate, then run ``work`` (given the body and the client) in one write transaction. A change
        (``event`` given, such as ``scim:PatchUser``) writes its audit record in that transaction; a refused or
        failed change writes it in a transaction of its own (:mod:`gatehouse.iam.audit`), and so does a
        deactivation or deletion held by the mass-deprovisioning guard (:mod:`gatehouse.iam.scim_guard`)."""
        header = request.headers.get("authorization")
        holder: list[ScimClient] = []
        try:
            raw = await self._body(request) if body else b""

            def run(connection: Connection) -> T:
                client = authenticate(connection, header)
                request.scope[TOKEN_KEY] = client.token_name  # for the activity record
                holder.append(client)
                result = work(connection, self._json(raw) if body else None, client)
                if event is not None:
                    # the summary reads the body of a PATCH only (gatehouse.scim.audit_summary): parsed again
                    # for it (the work may have changed its copy), and not at all for the other changes
                    sent = self._json(raw) if body and raw and request.method == "PATCH" else None
                    done = self._change(request, event, result, sent)
                    audit.record(connection, self._origin(request, holder), done, status=_SUCCESS.get(event[5:11], 200))
                return result

            result = await self.db.write(run)
        except Exception as exc:
            if isinstance(exc, scim_guard.GuardHeld):
                await self._hold(request, holder, exc)
            if event is not None:
                status, detail = (
                    (exc.status, exc.detail) if isinstance(exc, GatehouseError) else (500, "internal error")
                )
                change = self._change(request, event, None)
                await audit.record_apart(self.db, self._origin(request, holder), change, status, detail)
            raise
        return result, self._usage_task(request, holder[0])

    async def _hold(self, request: Request, holder: list[ScimClient], held: scim_guard.GuardHeld) -> None:
        """Keep a request the guard held, in a transaction of its own (logged, never raised, if that fails)."""
        origin = self._origin(request, holder)
        SCIM_REFUSALS.labels("guard").inc()
        try:
            if await self.db.write(lambda c: scim_guard.record_hold(c, held, origin)):
                log.warning("The mass-deprovisioning guard tripped: %s", held.detail)
        except Exception:
            log.exception("could not record a request held by the mass-deprovisioning guard")

    def _origin(self, request: Request, holder: list[ScimClient]) -> audit.Origin:
        actor = f"SCIM token {holder[0].token_name}" if holder else "unauthenticated SCIM client"
        ip = client_ip(request, self.trusted_proxies)
        return audit.Origin("scim", actor, None, ip, request.headers.get("user-agent"))

    @staticmethod
    def _change(request: Request, event: str, result: object, sent: object = None) -> audit.Change:
        resource_id = request.path_params.get("id")
        location = getattr(result, "location", None)
        if resource_id is None and isinstance(location, str):
            resource_id = location.rsplit("/", 1)[-1]  # a create: the new resource's id
        kind = "group" if request.scope.get("gatehouse.collection") == "Groups" else "user"
        return audit.Change(event, kind, resource_id, summary(request.method, request.url.path, sent, result))

    # -- discovery (RFC 7644 §4) ----------------------------------------------------------------

    async def service_provider_config(self, request: Request) -> Response:
        _, task = await self._read(request, lambda c: None)
        return Response(self.discovery.service_provider_config, media_type=SCIM_MEDIA_TYPE, background=task)

    async def schemas(self, request: Request) -> Response:
        discovery = self.discovery
        return await self._discovered(request, "urn", discovery.schemas_list, discovery.schema, "Schema")

    async def resource_types(self, request: Request) -> Response:
        discovery = self.discovery
        return await self._discovered(
            request, "name", discovery.resource_types_list, discovery.resource_type, "ResourceType"
        )

    async def _discovered(
        self, request: Request, key: str, listing: bytes, one: Callable[[str], bytes | None], kind: str
    ) -> Response:
        """A discovery collection: ``listing``, or the one entry the path's ``key`` names (404 when none is)."""
        name = request.path_params.get(key)
        _, task = await self._read(request, lambda c: None)
        body = listing if name is None else one(name)
        if body is None:
            raise NotFound(f"{kind} {name} not found.")
        return Response(body, media_type=SCIM_MEDIA_TYPE, background=task)

    # -- resources (RFC 7644 §3.3–§3.6) ---------------------------------------------------------

    async def collection(self, request: Request) -> Response:
        """GET lists (§3.4.2), POST creates (§3.3)."""
        name = request.scope["gatehouse.collection"]
        service = self.services[name]
        projection = self._projection(request, name)
        if request.method == "GET":
            query = listing.build(request.query_params, default_count=self.default_count, max_results=self.max_results)
            user_name = user_name_filtered(query.filter) if name == "Users" else None
            if user_name is not None:  # the existence check every IdP sends, read with the token
                key = lookups.UserKey("name", user_name)
                body, task = await self._read_user(request, key, lambda u: self.users.named(u, query, projection))
            else:
                body, task = await self._read(request, lambda c: service.search(c, query, projection))
            return Response(body, media_type=SCIM_MEDIA_TYPE, background=task)
        created, task = await self._write(
            request, lambda c, b, _: service.create(c, b, projection), event=_event("Create", name)
        )
        headers = {"Location": created.location, "ETag": created.etag}
        return Response(created.body, 201, headers, media_type=SCIM_MEDIA_TYPE, background=task)

    async def search(self, request: Request) -> Response:
        """POST {collection}/.search (§3.4.3)."""
        name = request.scope["gatehouse.collection"]
        service = self.services[name]
        projection_names = self._projection(request, name)

        def run(connection: Connection, body: object, _: ScimClient) -> bytes:
            query = listing.from_search_request(body, default_count=self.default_count, max_results=self.max_results)
            projection = Projection(
                projection_names.core_schema,
                query.attributes or projection_names.attributes,
                query.excluded_attributes or projection_names.excluded,
            )
            return service.search(connection, query, projection)

        result, task = await self._write(request, run)
        return Response(result, media_type=SCIM_MEDIA_TYPE, background=task)

    async def root_search(self, request: Request) -> Response:
        """POST /.search across every resource type (§3.4.3)."""

        def run(connection: Connection, body: object, _: ScimClient) -> bytes:
            query = listing.from_search_request(body, default_count=self.default_count, max_results=self.max_results)
            return search_all(connection, query, self.services)

        result, task = await self._write(request, run)
        return Response(result, media_type=SCIM_MEDIA_TYPE, background=task)

    async def item(self, request: Request) -> Response:
        """GET (§3.4.1), PUT (§3.5.1), PATCH (§3.5.2), DELETE (§3.6) of one resource."""
        name = request.scope["gatehouse.collection"]
        service = self.services[name]
        resource_id = request.path_params["id"]
        projection = self._projection(request, name)
        method = request.method
        if method == "GET":
            if name == "Users":  # read with the token, in one statement
                key = lookups.UserKey("id", resource_id)
                found, task = await self._read_user(
                    request, key, lambda u: self.users.found(u, resource_id, projection)
                )
            else:
                found, task = await self._read(request, lambda c: service.get(c, resource_id, projection))
            headers = {"ETag": found.etag}
            version = int(found.etag[3:-1])
            if none_match(request.headers.get("if-none-match"), version):
                return Response(status_code=304, headers=headers, background=task)
            return Response(found.body, headers=headers, media_type=SCIM_MEDIA_TYPE, background=task)
        precondition = if_match(request.headers.get("if-match"))
        if method == "PUT":
            replaced, task = await self._write(
                request,
                lambda c, b, caller: service.replace(c, ItemWrite(resource_id, b, precondition, projection, caller)),
                event=_event("Replace", name),
            )
            return Response(replaced.body, headers={"ETag": replaced.etag}, media_type=SCIM_MEDIA_TYPE, background=task)
        if method == "PATCH":
            answer = name == "Users" or not projection.is_identity
            patched, task = await self._write(
                request,
                lambda c, b, caller: service.patch(
                    c, ItemWrite(resource_id, b, precondition, projection, caller, answer)
                ),
                event=_event("Patch", name),
            )
            if patched is None:
                return Response(status_code=204, background=task)
            return Response(patched.body, headers={"ETag": patched.etag}, media_type=SCIM_MEDIA_TYPE, background=task)
        _, task = await self._write(
            request,
            lambda c, b, caller: service.delete(c, resource_id, precondition, caller=caller),
            body=False,
            event=_event("Delete", name),
        )
        return Response(status_code=204, background=task)

    async def not_implemented(self, request: Request) -> Response:
        await self._read(request, lambda c: None)
        raise NotImplementedFeature(f"{request.url.path.rsplit('/', 1)[-1]} is not supported by this server.")


MAX_DEPTH = 32
"""The deepest nesting of objects and arrays a request body may have: a SCIM resource, PatchOp or SearchRequest
needs six at most (a PATCH value holding an extension's manager), and deeper documents would exhaust the
recursion of the code that walks them."""


def _deeper_than(document: object, limit: int) -> bool:
    """Whether ``document`` nests containers more than ``limit`` levels deep (walked without recursion)."""
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


_SUCCESS = {"Create": 201, "Delete": 204}
"""The status of a successful create and delete (RFC 7644 §3.3, §3.6); other changes answer 200."""


def _event(verb: str, collection: str) -> str:
    """The audit event of a SCIM change: ``scim:CreateUser``, ``scim:PatchGroup``…"""
    return f"scim:{verb}{collection[:-1]}"


def _collection(endpoint: Callable[[Request], Any], collection: str) -> Callable[[Request], Any]:
    async def bound(request: Request) -> Response:
        request.scope["gatehouse.collection"] = collection
        return await endpoint(request)  # type: ignore[no-any-return]

    return bound


def build_routes(endpoints: ScimEndpoints) -> list[Route]:
    """The SCIM routes, the hot ones first (routes are matched in order, each a regular expression);
    anything else under the mount answers a SCIM 404 or 405 (see the handlers)."""
    routes: list[Route] = []
    for collection in ("Users", "Groups"):
        routes += [
            Route(f"/{collection}/.search", _collection(endpoints.search, collection), methods=["POST"]),
            Route(
                f"/{collection}/{{id}}",
                _collection(endpoints.item, collection),
                methods=["GET", "PUT", "PATCH", "DELETE"],
            ),
            Route(f"/{collection}", _collection(endpoints.collection, collection), methods=["GET", "POST"]),
        ]
    routes += [
        Route("/ServiceProviderConfig", endpoints.service_provider_config, methods=["GET"]),
        Route("/Schemas", endpoints.schemas, methods=["GET"]),
        Route("/Schemas/{urn:path}", endpoints.schemas, methods=["GET"]),
        Route("/ResourceTypes", endpoints.resource_types, methods=["GET"]),
        Route("/ResourceTypes/{name}", endpoints.resource_types, methods=["GET"]),
        Route("/.search", endpoints.root_search, methods=["POST"]),
        Route("/Me", endpoints.not_implemented, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/Bulk", endpoints.not_implemented, methods=["POST"]),
    ]
    for route in routes:
        # Resource-type and discovery segments in any case (`/users`, `/groups/{id}`, `/schemas`): several
        # clients, Microsoft's reference tooling among them, send them in lower case. Responses keep the
        # canonical case (meta.location and Location come from the renderer, never from the request path).
        route.path_regex = re.compile(route.path_regex.pattern, re.IGNORECASE | re.DOTALL)
    return routes


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    """Exception handler: a domain error becomes a SCIM Error response."""
    assert isinstance(exc, GatehouseError)
    request.scope[ERROR_KEY] = exc.detail  # for the activity record
    if isinstance(exc, ScimDisabled):
        request.scope[TOKEN_KEY] = exc.token_name
    # The server log says why a request was refused (the response says it too; never a traceback).
    scim_type = f" {exc.scim_type}" if exc.scim_type and exc.status in (400, 409) else ""
    log.info("Refused %s %s: %d%s: %s", request.method, request.url.path[:300], exc.status, scim_type, exc.detail)
    return error_response(exc)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Exception handler: routing errors (404/405) as SCIM Errors."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return await handle_domain_error(
            request, MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.")
        )
    if exc.status_code == 404:
        return await handle_domain_error(request, NotFound(f"No SCIM endpoint at {request.url.path}."))
    request.scope[ERROR_KEY] = str(exc.detail)
    return scim_response(error(exc.status_code, str(exc.detail)), exc.status_code)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Exception handler: never a traceback in a response; the log has it."""
    log.exception("Unhandled error on %s %s", request.method, request.url.path)
    detail = "An internal error occurred; it has been logged."
    request.scope[ERROR_KEY] = detail
    return scim_response(error(500, detail), 500)
