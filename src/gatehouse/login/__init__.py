"""What every login protocol shares (OpenID Connect now, SAML and LDAP next): the login-option model,
role-mapping rules, account-linking rules and the URIs a provider registers.

Pure rules, no I/O. May import only ``errors`` (and ``config``).
"""
