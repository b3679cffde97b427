"""Storage: tables, engine, migrations, and the repositories that are the storage contract (tested on
SQLite and PostgreSQL). The one package that builds and runs SQL: no other imports SQLAlchemy or
``store.tables`` (but the SCIM filter compiler, which builds expressions), they call its functions.

Repositories take an open connection and never commit. May import ``login``, ``resources`` and the
foundation; never ``iam``, a protocol or a surface.
"""
