"""Storage: tables, engine, migrations, and the repositories that are the storage contract (tested on
SQLite and PostgreSQL).

Repositories take an open connection and never commit. May import ``login``, ``resources`` and the
foundation; never ``iam``, a protocol or a surface.
"""
