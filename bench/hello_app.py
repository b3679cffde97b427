"""The ceiling: a bare Starlette "hello world" served the way ``gatehouse serve`` serves Gatehouse.

Same ``uvicorn.run`` options as the server (loop and HTTP parser on ``auto``, so uvloop and httptools
when installed; one worker; ``info`` log level; access log on unless ``--no-access-log``; no proxy
headers, no server header).

    python bench/hello_app.py --port 8081 [--no-access-log]
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def hello(request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


app = Starlette(routes=[Route("/", hello, methods=["GET"])])


def serve(app: Any, description: str | None) -> None:
    """Serve ``app`` as ``gatehouse serve`` serves Gatehouse (the options in this module's docstring), on the
    ``--port`` (and ``--host``, ``--no-access-log``) of the command line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        log_level="info",
        access_log=not args.no_access_log,
        proxy_headers=False,
        server_header=False,
    )


def main() -> None:
    serve(app, __doc__)


if __name__ == "__main__":
    main()
