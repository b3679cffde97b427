"""The reference: ``scim2-server``'s ASGI application, in memory, served the way ``gatehouse serve`` serves
Gatehouse (the same ``uvicorn.run`` options as ``bench/hello_app.py``). It checks no credentials.

    python bench/reference_app.py --port 8082 [--no-access-log]
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn


def create() -> Any:
    """scim2-server's ASGI app over its in-memory storage, with RFC 7643's schemas and resource types."""
    from scim2_models import ScimProvider
    from scim2_server.applications.asgi import ASGIApplication
    from scim2_server.memory import AsyncInMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    provider = ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=load_default_service_provider_config(),
    )
    return ASGIApplication(AsyncInMemoryStorage(), provider, ScimService(provider, secret="bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()
    uvicorn.run(
        create(),
        host=args.host,
        port=args.port,
        workers=1,
        log_level="info",
        access_log=not args.no_access_log,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
