"""The dashboard: server-rendered pages (Jinja2), no build step, usable without JavaScript: a surface.

Pages call the use cases of :mod:`gatehouse.iam` and the sign-in flows of :mod:`gatehouse.sso`, and render
their results. May import ``sso``, ``iam``, ``store`` and the foundation; never ``api`` or ``scim``.
"""
