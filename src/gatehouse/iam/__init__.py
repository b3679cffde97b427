"""Identity and access: local accounts, roles and permission policies."""
