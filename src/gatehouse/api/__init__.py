"""The admin REST API under ``/api`` (FastAPI, OpenAPI at ``/openapi.json``), and the forward-auth endpoint a
proxy asks (``/authz/forward``, outside ``/api``): a surface.

Handlers parse a request, call one use case of :mod:`gatehouse.iam` with the caller as principal, and render
its result or error as JSON. May import ``iam``, ``sso``, ``store`` and the foundation; never ``web`` or ``scim``.
"""
