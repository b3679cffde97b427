"""A fresh, migrated database holding N SCIM users, written exactly as the server would write them.

Each user's document is what ``parse_user`` makes of an Okta create body; its row and ``user_emails``
rows come from the store's own derivation (``UserWrite.columns()`` and the store's email rows). The
document is parsed once as a template with a placeholder and filled in per user; a sample of users is
checked against a real ``parse_user`` of their own body, so the shortcut cannot drift from the server.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from okta import create_body

from gatehouse.scim.payload import parse_user
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import user_emails, users
from gatehouse.store.users import (
    UserWrite,
    email_rows,  # the store's own derivation, not a copy
)

GATEHOUSE = str(Path(sys.executable).with_name("gatehouse"))
PLACEHOLDER = "~u~"
BATCH = 20_000
CHECKED_USERS = 50


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the load scripts rotate over: a sample of real ids and userNames."""

    count: int
    seconds: float
    ids: list[str]
    user_names: list[str]


def gatehouse_env(database_url: str, public_url: str) -> dict[str, str]:
    """The environment every ``gatehouse`` command of one benchmark size runs with."""
    return {**os.environ, "GATEHOUSE_DATABASE_URL": database_url, "GATEHOUSE_PUBLIC_URL": public_url}


def gatehouse(env: dict[str, str], *args: str) -> str:
    """Run the ``gatehouse`` console script; its stdout, or an error with its stderr."""
    done = subprocess.run([GATEHOUSE, *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"gatehouse {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def enable_scim(env: dict[str, str]) -> str:
    """``gatehouse scim enable --json``: the bearer token."""
    return str(json.loads(gatehouse(env, "scim", "enable", "--json"))["token"])


def in_process(root: Path, users: int, sample: int) -> tuple[Seeded, str]:
    """A migrated SQLite database under ``root`` seeded with ``users`` users, its settings in this process's
    environment (for an app built in this process); the seeded users and the SCIM token."""
    database_url = f"sqlite:///{root / 'gatehouse.db'}"
    env = gatehouse_env(database_url, "http://127.0.0.1:8080")
    gatehouse(env, "db", "upgrade")
    seeded = seed_users(database_url, users, sample, random.Random(1))
    os.environ.update(env)
    return seeded, enable_scim(env)


def _suffix(index: int) -> str:
    return f"{index:07d}"


def seed_body(suffix: str) -> dict[str, Any]:
    """Okta's create body for seeded user ``suffix`` (distinct userName, names and externalId)."""
    return create_body(
        f"bench.user{suffix}@okta.local",
        family_name=f"User{suffix}",
        display_name=f"Bench User{suffix}",
        external_id=f"00ubench{suffix}",
    )


def _fill(value: Any, suffix: str) -> Any:
    """A copy of a parsed template with every placeholder replaced by ``suffix``."""
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, suffix)
    if isinstance(value, dict):
        return {key: _fill(item, suffix) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, suffix) for item in value]
    return value


def _template() -> dict[str, Any]:
    return parse_user(seed_body(PLACEHOLDER)).doc


def _check_template(template: dict[str, Any], count: int, rng: random.Random) -> None:
    """Fail unless filling the template gives exactly ``parse_user``'s document for sampled users."""
    for index in rng.sample(range(count), min(count, CHECKED_USERS)):
        suffix = _suffix(index)
        expected = parse_user(seed_body(suffix)).doc
        if _fill(template, suffix) != expected:
            raise RuntimeError(f"seed template drifted from parse_user for user {suffix}: {expected}")


def _rows(template: dict[str, Any], start: int, stop: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``users`` and ``user_emails`` rows of users ``start``..``stop``, as ``store.insert`` writes."""
    user_rows: list[dict[str, Any]] = []
    mail_rows: list[dict[str, Any]] = []
    for index in range(start, stop):
        write = UserWrite(id=str(uuid.uuid4()), doc=_fill(template, _suffix(index)), source="scim")
        now = utcnow()
        row = write.columns()
        row.update(id=write.id, source=write.source, super_admin=False, created=now, last_modified=now, version=1)
        user_rows.append(row)
        mail_rows.extend(email_rows(write.id, write.doc))
    return user_rows, mail_rows


def seed_users(database_url: str, count: int, sample: int, rng: random.Random) -> Seeded:
    """Insert ``count`` SCIM users in big ``executemany`` transactions; a sample of them to rotate over."""
    started = time.perf_counter()
    template = _template()
    _check_template(template, count, rng)
    db = Database.from_url(database_url, pool_size=1)
    picked = set(rng.sample(range(count), min(count, sample)))
    ids: list[str] = []
    names: list[str] = []
    try:
        for start in range(0, count, BATCH):
            user_rows, mail_rows = _rows(template, start, min(count, start + BATCH))
            with db.transaction() as connection:
                connection.execute(users.insert(), user_rows)
                connection.execute(user_emails.insert(), mail_rows)
            for offset, row in enumerate(user_rows):
                if start + offset in picked:
                    ids.append(row["id"])
                    names.append(row["user_name"])
    finally:
        db.dispose()
    rng.shuffle(ids)
    rng.shuffle(names)
    return Seeded(count, time.perf_counter() - started, ids, names)
