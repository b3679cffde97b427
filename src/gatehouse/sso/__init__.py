"""Login protocols: OpenID Connect (messages, provider client, ID token checks), LDAP (ldap3) and SAML 2.0
(pysaml2), each with its sign-in flow, and the end of a sign-in they share (:mod:`.completion`).

Adapters between an identity provider and the rules of :mod:`gatehouse.login` and :mod:`gatehouse.iam`; the
dashboard shows their pages. May import ``iam``, ``store``, ``login`` and the foundation; never a surface.
"""
