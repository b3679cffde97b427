"""The access review's "who may do this?" at 100,000 users: the latency of the use case itself
(:func:`gatehouse.iam.access_review.who_may`), which must stay within 2 s.

A fresh migrated database (SQLite, or PostgreSQL with ``--postgres URL``) gets N SCIM users (``seed.py``: the rows
``POST /Users`` writes), 30 roles (gateway editors and readers per environment, IAM readers and editors, one with a
deny on ``team=platform`` roles), 300 groups with one or two roles bound to 200 of them, each user in 0–3 groups,
30 % of users with a role assigned directly, 5 % with a time-bound one, 3 % under one of three boundaries. Then
each question is asked ``--repeat`` times (the first also fills the policy cache, as a server's first request
would) and the best, median and worst times are printed, with how many grant sets were evaluated and how many
users may.

    .venv/bin/python bench/who_may_bench.py                 # 100,000 users on SQLite
    .venv/bin/python bench/who_may_bench.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from seed import seed_users

from gatehouse.iam import access_review, policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import Principal, super_admin_role
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import groups as group_store
from gatehouse.store import migration
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import group_members, group_role_bindings, user_boundaries, user_roles

OPERATOR = Principal(None, "bench", True, True, (super_admin_role(),))
ENVS = ("dev", "staging", "prod", "eu", "us")
QUESTIONS = (
    ("gateway:UpdatePublishedService", "arn:api7:gateway:gatewaygroup/prod/publishedservice/billing",
     {"gateway_group_label": {"env": "prod"}}),
    ("gateway:GetGatewayGroup", "arn:api7:gateway:gatewaygroup/dev", {"gateway_group_label": {"env": "dev"}}),
    ("iam:UpdateRole", "arn:gatehouse:iam:role/r1", {"role_label": {"team": "platform"}}),
    ("iam:GetUser", "arn:gatehouse:iam:user/u1", None),
)  # fmt: skip


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _statement(effect: str, actions: list[str], resources: list[str], env: str | None = None) -> dict[str, object]:
    statement: dict[str, object] = {"effect": effect, "actions": actions, "resources": resources}
    if env:
        option = {"key": "env", "operator": "exact_match", "value": env}
        statement["conditions"] = {"gateway_group_label": {"type": "MatchLabel", "options": [option]}}
    return statement


def make_roles(db: Database) -> tuple[list[str], list[str]]:
    """30 roles and 3 boundary policies; their ids."""
    documents: list[tuple[str, dict[str, object]]] = []
    for env in ENVS:
        documents.append((f"{env} editors", {"statement": [_statement("allow", ["gateway:<.*>"], ["*"], env)]}))
        documents.append((f"{env} readers", {"statement": [_statement("allow", ["gateway:Get<.*>"], ["*"], env)]}))
        publish = _statement("allow", ["gateway:<.*>PublishedService"], ["arn:api7:gateway:gatewaygroup/*"], env)
        documents.append((f"{env} publishers", {"statement": [publish]}))
    documents.append(("iam readers", {"statement": [_statement("allow", ["iam:Get<.*>"], ["*"])]}))
    documents.append(("iam editors", {"statement": [_statement("allow", ["iam:<.*>"], ["*"])]}))
    no_platform = _statement("deny", ["iam:UpdateRole", "iam:DeleteRole"], ["arn:gatehouse:iam:role/*"])
    no_platform["conditions"] = {"role_label": {"type": "MatchLabel", "options": [
        {"key": "team", "operator": "exact_match", "value": "platform"}]}}  # fmt: skip
    documents.append(("no platform", {"statement": [no_platform]}))
    while len(documents) < 30:
        n = len(documents)
        documents.append((f"team {n}", {"statement": [_statement("allow", ["gateway:Get<.*>"], ["*"], ENVS[n % 5])]}))
    role_ids, bounds = [], []
    with db.transaction() as connection:
        ensure_rbac(connection)
        for name, document in documents:
            policy = policies.create_policy(connection, OPERATOR, policy_input(name, document))
            role_ids.append(rbac.create_role(connection, OPERATOR, role_input(name), [policy.id]).role.id)
        for env in ("dev", "staging", "eu"):
            doc = {"statement": [_statement("allow", ["<.*>"], ["*"], env), _statement("allow", ["iam:<.*>"], ["*"])]}
            bounds.append(policies.create_policy(connection, OPERATOR, policy_input(f"only {env}", doc)).id)
    return role_ids, bounds


def grant(db: Database, user_ids: Sequence[str], role_ids: list[str], bounds: list[str], rng: random.Random) -> None:
    now = utcnow()
    group_ids = []
    with db.transaction() as connection:
        for n in range(300):
            group_id = str(uuid.uuid4())
            write = group_store.GroupWrite(group_id, {"schemas": [], "displayName": f"bench group {n}"})
            group_store.insert(connection, write, now)
            group_ids.append(group_id)
        bindings = [
            {"group_id": g, "role_id": r, "created": now, "created_by": "bench"}
            for g in group_ids[:200]
            for r in rng.sample(role_ids, rng.choice((1, 2)))
        ]
        connection.execute(group_role_bindings.insert(), bindings)
    members, direct, boundary_rows = [], [], []
    for user_id in user_ids:
        for group_id in rng.sample(group_ids, rng.choice((0, 1, 1, 2, 3))):
            members.append({"group_id": group_id, "user_id": user_id})
        roll = rng.random()
        if roll < 0.30:
            direct.append({"user_id": user_id, "role_id": rng.choice(role_ids), "source": "manual", "granted_at": now,
                           "granted_by": "bench", "expires_at": None})  # fmt: skip
        elif roll < 0.35:
            direct.append({"user_id": user_id, "role_id": rng.choice(role_ids), "source": "request", "granted_at": now,
                           "granted_by": "bench", "expires_at": now + timedelta(hours=rng.randint(1, 48))})  # fmt: skip
        if rng.random() < 0.03:
            boundary_rows.append({"user_id": user_id, "policy_id": rng.choice(bounds), "source": "manual",
                                  "granted_at": now, "granted_by": "bench"})  # fmt: skip
    for table, rows in ((group_members, members), (user_roles, direct), (user_boundaries, boundary_rows)):
        for start in range(0, len(rows), 20_000):
            with db.transaction() as connection:
                connection.execute(table.insert(), rows[start : start + 20_000])
    progress(f"  {len(members):,} memberships, {len(direct):,} direct grants, {len(boundary_rows):,} boundaries")


def measure(db: Database, repeat: int) -> list[str]:
    lines = []
    for action, resource, labels in QUESTIONS:
        times, answer = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            with db.snapshot() as connection:
                answer = access_review.who_may(connection, OPERATOR, action, resource, labels)
            times.append(time.perf_counter() - started)
        assert answer is not None
        lines.append(
            f"  {action} on {resource}: {answer.total:,} users may ({answer.evaluated_sets:,} grant sets evaluated); "
            f"best {min(times):.3f} s, median {statistics.median(times):.3f} s, worst {max(times):.3f} s"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL URL to run on (a fresh schema is made and dropped)")
    options = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="who-may-bench-"))
    url, schema = f"sqlite:///{workdir / 'gatehouse.db'}", None
    if options.postgres:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(options.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema},public"}).render_as_string(False)
    db = Database.from_url(url, pool_size=2)
    try:
        migration.upgrade(db.engine)
        progress(f"Writing {options.users:,} users through the store…")
        seeded = seed_users(url, options.users, options.users, random.Random(11))
        progress(f"  {seeded.count:,} users in {seeded.seconds:.1f} s; roles, groups and grants…")
        role_ids, bounds = make_roles(db)
        grant(db, seeded.ids, role_ids, bounds, random.Random(13))
        database = "PostgreSQL" if options.postgres else "SQLite"
        print(f"Who may? over {seeded.count:,} users ({database}; {options.repeat} runs per question, in-process)")
        for line in measure(db, options.repeat):
            print(line)
    finally:
        db.dispose()
        shutil.rmtree(workdir, ignore_errors=True)  # a 100,000-user SQLite file is over 200 MB
        if schema is not None:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
