"""Identity and access: the use cases every surface calls, and the rules they apply.

Users, roles, permission policies and their evaluator, API tokens, SCIM provisioning settings, login options,
sign-in and the audit log; API7's gateway catalog, the decision API and the forward-auth rule table. Each use
case takes the principal and checks its permission itself. May import ``store``, ``login``, ``resources`` and
the foundation; never a surface or a login protocol.
"""
