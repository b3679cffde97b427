"""The reference: ``scim2-server``'s ASGI application, in memory, served the way ``gatehouse serve`` serves
Gatehouse (``bench/hello_app.py``'s :func:`serve`: the ceiling's ``uvicorn.run`` options). It checks no
credentials.

    python bench/reference_app.py --port 8082 [--no-access-log]
"""

from __future__ import annotations

from typing import Any

from hello_app import serve


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
    serve(create(), __doc__)


if __name__ == "__main__":
    main()
