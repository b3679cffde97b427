"""Login protocols: OpenID Connect sign-in (messages, provider client, ID token checks, the sign-in flow).

Adapters between an identity provider and the rules of :mod:`gatehouse.login` and :mod:`gatehouse.iam`; the
dashboard shows their pages. May import ``iam``, ``store``, ``login`` and the foundation; never a surface.
"""
