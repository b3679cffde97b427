"""Single sign-on: ID token checks (``tokens``), account linking (``linking``), role mapping (``mapping``)."""
