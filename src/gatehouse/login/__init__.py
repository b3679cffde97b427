"""What every login protocol shares (OpenID Connect, LDAP, SAML 2.0): the login-option model and each kind's
fields, role-mapping rules, account-linking rules and the URIs a provider registers.

Pure rules, no I/O. May import only ``errors`` (and ``config``).
"""
