"""The admin API's one error shape, for every failure: domain errors, validation errors, routing errors
and crashes all answer ``{"error": {"status": ..., "code": ..., "detail": ...}}``.

- a :class:`~gatehouse.errors.GatehouseError` keeps its status (400, 401, 403, 404, 409, 412, 429, ...);
  a 401 carries ``WWW-Authenticate: Bearer`` (RFC 6750 §3);
- a request that does not match the schema (FastAPI's ``RequestValidationError``) is 422 with one
  ``fields`` entry per problem;
- an unexpected exception is logged with its traceback and answered 500 without one, and a body over
  the limit is 413 (:class:`Guard`).

:func:`responses` documents the possible errors of an operation in OpenAPI with :class:`ErrorResponse`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Final

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.errors import FieldProblems, GatehouseError
from gatehouse.response_status import HttpMiddleware, StatusWatch

log = logging.getLogger("gatehouse.api")

CODES: Final[dict[int, str]] = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    501: "not_implemented",
}
"""The stable ``code`` of each status."""

DESCRIPTIONS: Final[dict[int, str]] = {
    400: "The request is not acceptable: a value the use case refuses (e.g. a weak password), or one no field "
    "may hold (a NUL or unpaired surrogate character, a number beyond 64 bits). Any operation may answer it.",
    401: "No valid credentials: send an API token or sign in.",
    403: "The caller may not do this (permission, protected resource, missing CSRF token, or a session whose "
    "one-time password must be changed first).",
    404: "There is no such resource.",
    409: "Conflict: the name is taken, or the resource is in use.",
    412: "The resource changed meanwhile.",
    413: "The request body is too large.",
    422: "The request does not match the schema (see `fields`).",
    429: "Too many failed attempts: retry later.",
}
CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="gatehouse"'}


class FieldError(BaseModel):
    """One problem with one part of the request."""

    loc: list[str | int] = Field(description="Where: `body`, `query`, `path` or `header`, then the field path.")
    message: str
    type: str = Field(description="The kind of problem, e.g. `missing`, `string_too_long`.")


class ErrorDetail(BaseModel):
    """What went wrong."""

    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(description="A stable code: " + ", ".join(f"`{c}`" for c in CODES.values()) + ".")
    detail: str = Field(description="A sentence for people.")
    fields: list[FieldError] | None = Field(
        default=None,
        description="Validation problems: 422; and 400 when several fields' values are refused at once, one "
        "entry each (`type` `invalid_value`).",
    )


class ErrorResponse(BaseModel):
    """The body of every error response of the admin API."""

    error: ErrorDetail


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the given error statuses (and 400, which any operation may answer for a value
    no field may hold), each with :class:`ErrorResponse`."""
    return {
        status: {"model": ErrorResponse, "description": DESCRIPTIONS.get(status, "Error.")}
        for status in sorted({400, *statuses})
    }


def error_response(
    status: int, detail: str, fields: Iterable[FieldError] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The envelope for ``status``."""
    code = CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    body = ErrorResponse(error=ErrorDetail(status=status, code=code, detail=detail, fields=list(fields or []) or None))
    extra = dict(headers or {})
    if status == 401:
        extra.update(CHALLENGE)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=extra)


def refused(request: Request, status: int, detail: str) -> None:
    """The server log's line for a refused request: why (the body says it too; never a traceback)."""
    log.info("Refused %s %s: %d %s", request.method, request.url.path[:300], status, detail)


def domain_error_response(request: Request, exc: GatehouseError) -> Response:
    """A domain error's envelope (with ``fields`` for :class:`~gatehouse.errors.FieldProblems`), logged."""
    refused(request, exc.status, exc.detail)
    fields = [
        FieldError(loc=["body", *name.split(".")] if name else ["body"], message=sentence, type="invalid_value")
        for name, sentence in (exc.fields.items() if isinstance(exc, FieldProblems) else ())
    ]
    return error_response(exc.status, exc.detail, fields)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatehouseError)
    return domain_error_response(request, exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI could not read the body (e.g. not UTF-8): a body that fits no schema
        field = FieldError(loc=["body"], message=str(exc.detail), type="body_unreadable")
        refused(request, 422, f"The request body could not be read as JSON ({exc.detail}).")
        return error_response(422, "The request body could not be read as JSON.", [field])
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is no API endpoint at this address."
    refused(request, exc.status_code, detail)
    return error_response(exc.status_code, detail, headers=dict(exc.headers or {}))


def _field_error(raw: Mapping[str, Any]) -> FieldError:
    loc = [part if isinstance(part, int) else str(part) for part in raw.get("loc", ())]
    return FieldError(loc=loc, message=str(raw.get("msg", "invalid")), type=str(raw.get("type", "invalid")))


def validation_error_response(request: Request, errors: Iterable[Mapping[str, Any]]) -> Response:
    """422 with one ``fields`` entry per problem (pydantic's errors, ``loc`` from ``body``, ``query``…), logged."""
    fields = [_field_error(raw) for raw in errors]
    where = ", ".join(".".join(str(p) for p in f.loc) for f in fields[:5])
    detail = f"The request does not match the schema: {where or 'see fields'}."
    refused(request, 422, detail)
    return error_response(422, detail, fields)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(request, exc.errors())


HANDLERS: Final = {
    GatehouseError: on_domain_error,
    HTTPException: on_http_error,
    RequestValidationError: on_validation_error,
}


class Guard(HttpMiddleware):
    """The outermost guard of the API's own stack:

    - a body larger than ``max_body_bytes`` is refused with the 413 envelope: at once when its
      ``Content-Length`` says so, else as soon as the bytes read pass the limit (the reader gets an
      ``HTTPException(413)``, rendered by :func:`on_http_error`);
    - an unexpected exception is logged with its traceback and answered with the 500 envelope (never a
      traceback), and is not re-raised to the server (Starlette's error middleware would).
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
            log.info("Refused %s %s: 413 %s", scope.get("method"), scope.get("path"), self._too_large)
            await self._send(send, 413, "payload_too_large", self._too_large)
            return
        read = 0

        async def receiving() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_body_bytes:
                    raise HTTPException(413, self._too_large)
            return message

        watch = StatusWatch(send)
        try:
            await self.app(scope, receiving, watch)
        except ClientDisconnect:  # the body never arrived whole (the server refused the rest): nobody to answer
            log.info("%s %s: the request body ended before it was complete", scope.get("method"), scope.get("path"))
        except Exception:
            log.exception("Unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if watch.started:
                raise
            await self._send(send, 500, "internal_error", "Something went wrong on our side; it has been logged.")

    @property
    def _too_large(self) -> str:
        return f"The request body is larger than {self.max_body_bytes} bytes."

    @staticmethod
    async def _send(send: Send, status: int, code: str, detail: str) -> None:
        body = orjson.dumps({"error": {"status": status, "code": code, "detail": detail}})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
