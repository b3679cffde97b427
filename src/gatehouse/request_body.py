"""Reading a request's body within a limit, for the routes that read it themselves (SCIM, the decision API)."""

from __future__ import annotations

from starlette.requests import Request

from gatehouse.errors import PayloadTooLarge


async def bounded_body(request: Request, limit: int) -> bytes:
    """The whole body, or :class:`~gatehouse.errors.PayloadTooLarge` once it passes ``limit`` bytes: at once when
    ``Content-Length`` says so, else as soon as the bytes read pass it (a chunked body has no length). A client
    that left, or a body the server refused the rest of, raises Starlette's ``ClientDisconnect``."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
