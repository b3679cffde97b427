"""Gatehouse: the organization-and-access plane of an API-gateway dashboard (SCIM 2.0, RBAC, SSO).

Entry points (:mod:`gatehouse.app`, :mod:`gatehouse.cli`) sit on top and may import any package; the layers
below them, and what each may import, are in the guides' "Architecture and development"
(docs/reference/architecture.md) and in ``[tool.importlinter]``.
"""

__version__ = "0.1.0"
