"""PostgreSQL for tests: a fresh, uniquely named schema per use, dropped afterwards.

The server comes from ``GATEHOUSE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). When it cannot be reached, a test using it fails if
the ``CI`` environment variable is set (CI must not go green by skipping), and is skipped otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_SECONDS = 5


def postgres_url() -> URL:
    """The test server's URL, with the psycopg 3 driver SQLAlchemy needs (``postgresql+psycopg``)."""
    url = make_url(os.environ.get("GATEHOUSE_TEST_POSTGRES_URL") or DEFAULT_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def in_ci() -> bool:
    """Whether this run is CI's (``CI`` set to anything but empty, ``0`` or ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip elsewhere."""
    message = f"PostgreSQL is not available ({reason}); set GATEHOUSE_TEST_POSTGRES_URL."
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _with_search_path(url: URL, schema: str) -> URL:
    """``url`` whose connections use ``schema``, then ``public`` for the extensions' objects (libpq
    ``options=-csearch_path=...``): tables are created in, and found in, ``schema``."""
    options = " ".join(filter(None, (url.query.get("options"), f"-csearch_path={schema},public")))
    return url.update_query_dict({"options": options})


def shared_pg_trgm(connection: sa.Connection) -> None:
    """``pg_trgm`` (the user search's trigram index) in schema ``public``, where no test drops it. Left to the
    migration, it would be created in the first test schema of the search path, and dropped with it (with
    every index of the other test schemas using it)."""
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('gatehouse-test-pg_trgm'))"))  # xdist workers
    found = connection.execute(
        sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
    )
    schema = found.scalar()
    if schema is None:
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    elif schema != "public":
        connection.execute(sa.text("ALTER EXTENSION pg_trgm SET SCHEMA public"))


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """Create a uniquely named schema; yield a SQLAlchemy URL whose connections use it; drop it.

    The URL is a plain string (password included) for ``sqlalchemy.create_engine``. Dispose of the
    engines made from it before the block ends.
    """
    base = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    timeout = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    admin = sa.create_engine(base, poolclass=NullPool, connect_args=timeout)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            shared_pg_trgm(connection)
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
    try:
        yield _with_search_path(base, schema).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
