"""Storage: tables, engine, migrations and the repositories that are the storage contract."""
