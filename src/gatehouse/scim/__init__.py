"""SCIM 2.0 service provider (RFC 7643, RFC 7644) under ``/scim/v2``: a surface for identity providers.

The protocol (filters, PATCH, paging, discovery) is pure; the routes adapt it to HTTP. May import ``iam``,
``store``, ``resources`` and the foundation; never ``web``, ``api`` or ``sso``.
"""
