"""Organization → Users at 100,000 users: prefix-search latency of the real page, on SQLite and PostgreSQL.

For each database: a fresh migrated database (a SQLite file; a new PostgreSQL schema, dropped at the
end) gets N varied users (names, e-mail domains, sources, statuses and sign-in times drawn from a
seeded RNG) bulk-inserted with ``executemany``: each row is the store's own derivation
(``UserWrite.columns()`` and the store's e-mail rows, as in ``bench/seed.py``), each document a valid
SCIM user (a sample is re-validated by the server's ``validate_user_doc``). Then ``gatehouse serve``
runs as a subprocess, a Super Admin signs in through the real form, and 50 prefix searches (userName,
e-mail and name prefixes of 1 to 4 characters, from real users) are timed over HTTP against
``GET /organization/users?q=…`` (after a few warm-up requests). p50/p95/max per database; the target
is p95 < 200 ms.

    .venv/bin/python bench/users_search_bench.py                      # 100,000 users, both databases
    .venv/bin/python bench/users_search_bench.py --users 20000 --databases sqlite

PostgreSQL comes from ``GATEHOUSE_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa
from procs import free_port, running
from seed import BATCH, GATEHOUSE, gatehouse, gatehouse_env
from sqlalchemy.pool import NullPool

from gatehouse.iam.accounts import create_super_admin
from gatehouse.scim.payload import validate_user_doc
from gatehouse.store.database import Database
from gatehouse.store.tables import user_emails, users
from gatehouse.store.users import (
    UserWrite,
    email_rows,  # the store's own derivation, not a copy
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench admin password 1"
TARGET_P95_MS = 200.0
CHECKED = 50
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

# fmt: off
FIRST = (
    "Aaliyah", "Aaron", "Abigail", "Adam", "Adrian", "Aiden", "Alba", "Alex", "Alice", "Amara", "Amelia", "Ana",
    "Andrea", "Andrew", "Anna", "Arjun", "Aria", "Ava", "Beatriz", "Ben", "Bianca", "Boris", "Brooke", "Caleb",
    "Camila", "Carlos", "Chen", "Chloe", "Chris", "Clara", "Daniel", "Daria", "David", "Diego", "Dmitri", "Ella",
    "Elena", "Eli", "Emily", "Emma", "Erik", "Ethan", "Eva", "Fatima", "Felix", "Finn", "Fiona", "Gabriel", "Grace",
    "Hana", "Hannah", "Harper", "Hugo", "Ibrahim", "Ines", "Isaac", "Isabel", "Ivan", "Jack", "Jakob", "James",
    "Jana", "Javier", "Jin", "John", "Jonas", "Jose", "Julia", "Kai", "Karim", "Kate", "Kenji", "Laila", "Lara",
    "Leo", "Liam", "Lina", "Lucas", "Luca", "Maria", "Mateo", "Maya", "Mia", "Mohammed", "Nadia", "Noah", "Nora",
    "Olga", "Oliver", "Omar", "Paula", "Pedro", "Priya", "Quinn", "Rafael", "Ravi", "Rosa", "Ruby", "Sam", "Sara",
    "Sofia", "Tariq", "Theo", "Tom", "Uma", "Victor", "Vera", "Wei", "William", "Xavier", "Yara", "Yusuf", "Zoe"
)
LAST = (
    "Abbott", "Adams", "Ahmed", "Alvarez", "Andersen", "Baker", "Barros", "Becker", "Bennett", "Brown", "Campbell",
    "Castro", "Chen", "Clark", "Costa", "Cruz", "Davies", "Diaz", "Dubois", "Edwards", "Eriksson", "Evans",
    "Fischer", "Flores", "Garcia", "Gomez", "Gonzalez", "Green", "Gupta", "Hall", "Hansen", "Harris", "Hernandez",
    "Hill", "Hoffmann", "Ivanov", "Jackson", "Jensen", "Johnson", "Jones", "Kaur", "Kim", "Klein", "Kowalski",
    "Kumar", "Lambert", "Lee", "Lopez", "Martin", "Martinez", "Meyer", "Miller", "Moore", "Morales", "Moreau",
    "Muller", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Ortiz", "Park", "Patel", "Perez",
    "Petrov", "Quinn", "Ramos", "Reyes", "Richter", "Rivera", "Roberts", "Rodriguez", "Rossi", "Sanchez", "Santos",
    "Schmidt", "Silva", "Singh", "Smith", "Sousa", "Suzuki", "Tanaka", "Taylor", "Thomas", "Torres", "Tran",
    "Turner", "Usman", "Vargas", "Walker", "Wang", "Weber", "White", "Wilson", "Wong", "Wright", "Xu", "Yamamoto",
    "Young", "Zhang", "Zimmermann"
)
# fmt: on
DOMAINS = ("example.com", "acme.io", "globex.net", "initech.org", "umbrella.co", "hooli.dev", "okta.local")


# ------------------------------------------------------------------------------------------- seeding


def _document(rng: random.Random, index: int) -> tuple[dict[str, Any], str, bool]:
    """A varied, valid SCIM user document; its source; whether it has signed in."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    domain = rng.choice(DOMAINS)
    style = index % 4
    local = (f"{first}.{last}", f"{first[0]}{last}", f"{last}.{first}", f"{first}{index % 1000}")[style].lower()
    user_name = f"{local}{index}" if style != 3 else f"{local}.{index}"
    doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user_name}
    if index % 50 != 0:  # a few users have no name at all
        doc["name"] = {"givenName": first, "familyName": last}
        doc["displayName"] = f"{first} {last}"
    if index % 40 != 0:  # ... and a few no e-mail
        doc["emails"] = [{"value": f"{local}.{index}@{domain}", "type": "work", "primary": True}]
    doc["active"] = rng.random() > 0.08
    source = "scim" if rng.random() < 0.9 else "local"
    return doc, source, rng.random() < 0.3


def _rows(
    rng: random.Random, start: int, stop: int, now: datetime, count: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    user_rows: list[dict[str, Any]] = []
    mail_rows: list[dict[str, Any]] = []
    for index in range(start, stop):
        doc, source, signed_in = _document(rng, index)
        write = UserWrite(id=str(uuid.uuid4()), doc=doc, source=source)
        created = now - timedelta(minutes=count - index)
        row = write.columns()
        row.update(
            id=write.id,
            source=source,
            super_admin=False,
            created=created,
            last_modified=created,
            last_login_at=now - timedelta(minutes=rng.randrange(1, 500_000)) if signed_in else None,
            version=1,
        )
        user_rows.append(row)
        mail_rows.extend(email_rows(write.id, write.doc))
    return user_rows, mail_rows


def check_documents(rng: random.Random, count: int) -> None:
    """Fail unless sampled seed documents are already what the server's validation makes of them."""
    for index in rng.sample(range(count), min(count, CHECKED)):
        doc, _, _ = _document(random.Random(index), index)
        if validate_user_doc(doc) != doc:
            raise RuntimeError(f"seed document {index} is not canonical: {doc}")


def seed(database_url: str, count: int, rng: random.Random) -> float:
    """Insert ``count`` users in ``executemany`` batches, then a Super Admin; the seconds it took."""
    started = time.perf_counter()
    check_documents(rng, count)
    db = Database.from_url(database_url, pool_size=1)
    now = datetime.now(UTC)
    try:
        for start in range(0, count, BATCH):
            user_rows, mail_rows = _rows(rng, start, min(count, start + BATCH), now, count)
            with db.transaction() as connection:
                connection.execute(users.insert(), user_rows)
                connection.execute(user_emails.insert(), mail_rows)
        with db.transaction() as connection:
            create_super_admin(connection, ADMIN, ADMIN_PASSWORD)
        if not db.is_sqlite:  # what autovacuum does after a bulk load; SQLite never gets statistics
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
    finally:
        db.dispose()
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------- searches


def search_terms(database_url: str, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` prefixes of 1–4 characters of real userNames, e-mails and names, in a varied order."""
    engine = sa.create_engine(database_url, poolclass=NullPool)
    with engine.connect() as connection:
        sample = connection.execute(
            sa.select(users.c.user_name_lower, users.c.email_lower, users.c.name_lower)
            .where(users.c.super_admin.is_(False))
            .order_by(users.c.id)
            .limit(2000)
        ).all()
    engine.dispose()
    kinds = ("username", "email", "name")
    terms: list[tuple[str, str]] = []
    while len(terms) < count:
        row = rng.choice(sample)
        kind = kinds[len(terms) % 3]
        value = {"username": row[0], "email": row[1], "name": row[2]}[kind]
        if not value:
            continue
        length = 1 + len(terms) % 4
        prefix = value[:length]
        terms.append((kind, prefix.upper() if rng.random() < 0.2 else prefix))
    rng.shuffle(terms)
    return terms


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SHOWING = re.compile(r"Showing [^<]*? of ([\d,]+)")


def signed_in_client(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/login")
    match = _CSRF.search(page.text)
    assert match, "no CSRF token on the sign-in page"
    answer = client.post("/login", data={"username": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": match.group(1)})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:300]}")
    return client


@dataclass(frozen=True, slots=True)
class Timing:
    kind: str
    prefix: str
    ms: float
    matches: str


def run_searches(base: str, terms: list[tuple[str, str]]) -> list[Timing]:
    client = signed_in_client(base)
    try:
        for _ in range(5):  # warm-up: first requests pay for imports, pools and template compilation
            client.get("/organization/users", params={"q": "a"})
        timings = []
        for kind, prefix in terms:
            started = time.perf_counter()
            response = client.get("/organization/users?" + urlencode({"q": prefix}))
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"q={prefix!r}: {response.status_code}")
            shown = _SHOWING.search(response.text)
            timings.append(Timing(kind, prefix, elapsed, shown.group(1) if shown else "0"))
    finally:
        client.close()
    return timings


# ------------------------------------------------------------------------------------------- databases


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A migrated, empty database URL: a SQLite file, or a fresh PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'users-bench.db'}"
        gatehouse(gatehouse_env(url, "http://127.0.0.1"), "db", "upgrade")
        yield url
        return
    base = sa.make_url(os.environ.get("GATEHOUSE_TEST_POSTGRES_URL") or DEFAULT_PG)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"bench_users_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        gatehouse(gatehouse_env(url, "http://127.0.0.1"), "db", "upgrade")
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def bench(kind: str, count: int, searches: int, seed_value: int, folder: Path) -> dict[str, float]:
    rng = random.Random(seed_value)
    with database(kind, folder) as url:
        seconds = seed(url, count, rng)
        print(f"[{kind}] seeded {count:,} users in {seconds:.1f} s", flush=True)
        terms = search_terms(url, searches, rng)
        port = free_port()
        env = gatehouse_env(url, f"http://127.0.0.1:{port}")
        argv = [GATEHOUSE, "serve", "--port", str(port), "--no-access-log"]
        base = f"http://127.0.0.1:{port}"
        with running(argv, env, f"{base}/readyz", folder / f"serve-{kind}.log"):
            timings = run_searches(base, terms)
    values = [t.ms for t in timings]
    print(f"[{kind}] load average during the searches: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for timing in sorted(timings, key=lambda t: -t.ms)[:5]:
        shown = f"q={timing.prefix!r:8} ({timing.kind})"
        print(f"[{kind}]   slowest: {shown} {timing.ms:7.1f} ms, {timing.matches} matches")
    result = {"p50": statistics.median(values), "p95": percentile(values, 0.95), "max": max(values)}
    print(
        f"[{kind}] {len(values)} searches: p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
        f"max {result['max']:.1f} ms -> {'PASS' if result['p95'] < TARGET_P95_MS else 'MISS'} (p95 < 200 ms)",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=50)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="gatehouse-users-bench-") as tmp:
        for kind in options.databases.split(","):
            results[kind] = bench(kind, options.users, options.searches, options.seed, Path(tmp))
    print("\ndatabase    p50 ms   p95 ms   max ms")
    for kind, result in results.items():
        print(f"{kind:10} {result['p50']:7.1f}  {result['p95']:7.1f}  {result['max']:7.1f}")
    return 0 if all(r["p95"] < TARGET_P95_MS for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
