"""``POST /api/v1/authz/check``, the decision API, served by a lean Starlette route ahead of the ``/api`` mount.

A gateway control plane asks it on its own hot path, so it skips what the rest of the admin API pays for on
every request (FastAPI's dependency solving, its request and response models, its middleware stack: about
two thirds of a 10-check decision's cost, measured in ``bench/authz_bench.py``) and keeps every check the
FastAPI routes make, in the same order and with the same answers:

- a body over :data:`~gatehouse.api.app.MAX_BODY_BYTES` is 413; a body off :class:`CheckRequest` is 422 with
  one ``fields`` entry per problem, ``loc`` starting with ``body`` (pydantic validates the same model);
- the caller: an API token (``X-API-KEY`` / ``Authorization: Bearer``), read with the decision in **one**
  transaction under one security epoch (:mod:`gatehouse.iam.principal_cache`), or the dashboard session with
  its CSRF token (:func:`gatehouse.api.auth.by_session`); 401 otherwise; the token's last use written after
  the response, at most once a minute;
- the use case, :func:`gatehouse.iam.decisions.check_access`, which checks ``iam:CheckAccess`` first;
- errors in the admin API's envelope (:mod:`gatehouse.api.errors`), never a traceback.

The OpenAPI document describes it from the same models (:func:`openapi_operation`).
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from gatehouse.api.auth import by_session, last_use_task, token_caller, uses_token
from gatehouse.api.context import Api
from gatehouse.api.errors import DESCRIPTIONS, domain_error_response, validation_error_response
from gatehouse.api.schemas_authz import CheckRequest, CheckResponse, answer_document
from gatehouse.errors import GatehouseError, InvalidInput
from gatehouse.iam import api_tokens, decisions
from gatehouse.iam.api_tokens import TokenCaller, TokenUnauthorized
from gatehouse.iam.decisions import Answer
from gatehouse.iam.signin import SESSION_COOKIE
from gatehouse.request_body import bounded_body
from gatehouse.store.database import Connection

PATH: Final = "/api/v1/authz/check"
JSON: Final = "application/json"


class DecisionRoute:
    """The endpoint, bound to the admin API's services (one per app)."""

    def __init__(self, api: Api, max_body_bytes: int) -> None:
        self.api = api
        self.max_body_bytes = max_body_bytes

    async def answer(self, request: Request) -> Response:
        """Decide the checks of one request (see the module)."""
        try:
            asked = CheckRequest.model_validate_json(await self._body(request))
            answer, task = await self._decide(request, asked)
        except ValidationError as exc:
            problems = exc.errors(include_url=False)
            return validation_error_response(request, [{**raw, "loc": ("body", *raw["loc"])} for raw in problems])
        except GatehouseError as exc:
            return domain_error_response(request, exc)
        return Response(orjson.dumps(answer_document(answer)), media_type=JSON, background=task)

    async def _body(self, request: Request) -> bytes:
        try:
            return await bounded_body(request, self.max_body_bytes)
        except ClientDisconnect:
            raise InvalidInput("The request body ended before it was complete.") from None

    async def _decide(self, request: Request, asked: CheckRequest) -> tuple[Answer, BackgroundTask | None]:
        subject, checks = asked.subject, [vars(check) for check in asked.checks]  # the fields, as validated
        headers = request.headers
        if not uses_token(request):
            raw = request.cookies.get(SESSION_COOKIE)
            if not raw:
                raise TokenUnauthorized()
            caller = await by_session(self.api, request, raw, allow_password_change=False)
            answer = await self.api.db.read(
                lambda c: decisions.check_access(
                    c, caller.principal, subject.user_id, subject.username, checks, self.api.principals
                )
            )
            return answer, None
        presented = api_tokens.presented_token(headers.get("x-api-key"), headers.get("authorization"))

        def read(connection: Connection) -> tuple[Answer, TokenCaller]:
            view = self.api.principals.view(connection)  # one epoch for the caller and the subject
            token, principal = token_caller(view, presented)
            return decisions.check_access(connection, principal, subject.user_id, subject.username, checks, view), token

        answer, token = await self.api.db.read(read)
        record = last_use_task(self.api, request, token)
        return answer, None if record is None else BackgroundTask(record)


def routes(api: Api, max_body_bytes: int) -> list[Route]:
    """The decision API's route, to be matched before the ``/api`` mount."""
    return [Route(PATH, DecisionRoute(api, max_body_bytes).answer, methods=["POST"])]


def openapi_operation(schema_ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI operation of the decision API (its path is ``/v1/authz/check`` under the ``/api`` server),
    and the component schemas it refers to: :class:`CheckRequest` in, :class:`CheckResponse` out, the error
    envelope for 400, 401, 403, 413 and 422."""
    components: dict[str, Any] = {}
    request_schema = CheckRequest.model_json_schema(ref_template=schema_ref)
    response_schema = CheckResponse.model_json_schema(ref_template=schema_ref, mode="serialization")
    for schema in (request_schema, response_schema):
        components.update(schema.pop("$defs", {}))
    components.update({"CheckRequest": request_schema, "CheckResponse": response_schema})
    error = {"content": {JSON: {"schema": {"$ref": schema_ref.format(model="ErrorResponse")}}}}
    operation = {
        "tags": ["Gateway authorization"],
        "summary": "Decide checks for a user",
        "description": "May the subject (`user_id` or `username`) do each `action` on each `resource` now? One "
        "result per check, in order, with the reason: the deciding statement, or `no statement allows …`. The "
        "same answers as the policy simulator. Labels: those given per check by condition key; for the others, "
        "the labels kept for the resource (`PUT /api/v1/authz/resources`). A deactivated, deleted or unknown "
        "subject is denied every check. Needs `iam:CheckAccess` on the organization. An unknown action or a "
        "malformed resource is 400.",
        "operationId": "check_v1_authz_check_post",
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": schema_ref.format(model="CheckRequest")}}},
        },
        "responses": {
            "200": {
                "description": "One result per check, in order.",
                "content": {JSON: {"schema": {"$ref": schema_ref.format(model="CheckResponse")}}},
            },
            **{str(status): {"description": DESCRIPTIONS[status], **error} for status in (400, 401, 403, 413, 422)},
        },
        "security": [{"ApiKey": []}, {"Bearer": []}, {"Session": []}],
    }
    return operation, components
