"""Users and groups as Gatehouse stores them: SCIM resources (RFC 7643), their schemas, the scim2-models
that validate them, canonical documents, and the normalisations of how identity providers spell them.

Pure, no I/O. May import only ``errors`` (and ``config``); every surface and ``iam`` build documents here.
"""
