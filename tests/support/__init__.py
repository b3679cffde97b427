"""What the tests share: the PostgreSQL schema per test, real servers started on loopback (Gatehouse,
the OpenID provider), and helpers per surface (SCIM bodies, dashboard forms, API worlds, the browser)."""
