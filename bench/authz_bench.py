"""The decision API's latency: ``POST /api/v1/authz/check`` with 10 checks a request, over 8 connections, with
100,000 users on SQLite (``make bench-authz``). Prints figures; it is not a test and sets no target.

What it does, in a fresh temp dir:

1. ``gatehouse db upgrade`` on a new SQLite file, then N users written **directly through the store** (the rows
   ``POST /Users`` would write: ``bench/seed.py``), not through SCIM, which would take minutes;
2. through the use cases: the Super Admin and its API token (the caller, holding ``iam:CheckAccess``); a
   sample of users (``--subjects``) given gateway roles of several kinds (read-only on every group, full
   control of the groups labelled env=dev with a deny statement, publishing to one group, and a permission
   boundary for some), the others none; labels kept for a few gateway groups and services;
3. ``gatehouse serve`` (one worker, access log off) and wrk (``-t1 -c8 --latency``) for ``--duration``
   seconds after a ``--warmup``: every request asks about another subject (rotating over the sample) the same
   10 checks (gateway and IAM actions, with and without labels, some resolved from the kept labels);
4. the same for ``GET /authz/forward`` (what a proxy asks, through the API7 preset), for comparison.

With ``taskset`` and two cores, the server runs on core 0 and wrk on core 1.

Usage: ``.venv/bin/python bench/authz_bench.py [--users 100000] [--duration 15] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from procs import Pinning, free_port, memory, running, work_area
from seed import GATEHOUSE, gatehouse, gatehouse_env, seed_users
from wrkload import Result, Scenario, Settings, run, wrk_missing

from gatehouse.credentials import generate_token, hash_token, token_hint
from gatehouse.iam import api_tokens, gateway_access, policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.accounts import create_super_admin
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.bootstrap import ensure_rbac
from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY, PUBLISH_TO_ONE_GROUP
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store import api_tokens as token_store
from gatehouse.store import gateway_labels
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow

GG = "arn:api7:gateway:gatewaygroup"
CHECKS: list[dict[str, object]] = [
    {"action": "gateway:GetGatewayGroup", "resource": f"{GG}/dev"},
    {"action": "gateway:UpdateGatewayGroup", "resource": f"{GG}/dev"},
    {"action": "gateway:UpdateGatewayGroup", "resource": f"{GG}/prod"},
    {"action": "gateway:DeleteGatewayGroup", "resource": f"{GG}/dev"},
    {"action": "gateway:UpdatePublishedService", "resource": f"{GG}/dev/publishedservice/billing"},
    {"action": "gateway:PublishServices", "resource": f"{GG}/team-x/publishedservice/*"},
    {"action": "gateway:GetConsumer", "resource": f"{GG}/prod/consumer/alice"},
    {"action": "gateway:PutSecret", "resource": f"{GG}/stage", "labels": {"gateway_group_label": {"env": "dev"}}},
    {"action": "iam:UpdateCustomRole", "resource": "arn:api7:iam:role/r1", "labels": {"role_label": {"team": "a"}}},
    {"action": "iam:GetUser", "resource": "arn:gatehouse:iam:user/u1"},
]
DENY_DELETE = {"statement": [{"effect": "deny", "actions": ["gateway:Delete<.*>"], "resources": ["*"]}]}
BOUNDARY = {
    "statement": [{"effect": "allow", "actions": ["gateway:Get<.*>", "gateway:Update<.*>"], "resources": ["*"]}]
}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(database_url: str, subject_ids: Sequence[str]) -> tuple[str, str]:
    """Roles, boundaries and labels for the subjects; the Super Admin's API token (the caller of the decision
    API), and an API token of a subject holding "dev editors" (the forward-auth requests' user)."""
    db = Database.from_url(database_url, pool_size=1)
    try:
        with db.transaction() as connection:
            ensure_rbac(connection)
            admin = create_super_admin(connection, "bench-admin", "bench admin password 1")
            root = load_principal(connection, admin.id)
            made = {}
            for name, documents in (
                ("readers", [GATEWAY_READ_ONLY]),
                ("dev editors", [DEV_GROUPS_FULL_CONTROL, DENY_DELETE]),
                ("publishers", [PUBLISH_TO_ONE_GROUP, GATEWAY_READ_ONLY]),
            ):
                ids = [
                    policies.create_policy(connection, root, policy_input(f"{name}-{n}", d)).id
                    for n, d in enumerate(documents)
                ]
                made[name] = rbac.create_role(connection, root, role_input(name), ids).role.id
            boundary = policies.create_policy(connection, root, policy_input("gets and updates", BOUNDARY)).id
            for index, user_id in enumerate(subject_ids):
                role_ids = [list(made.values())[index % 3]] + ([made["readers"]] if index % 4 == 0 else [])
                rbac.set_user_roles(connection, root, user_id, role_ids)
                if index % 5 == 0:
                    rbac.set_boundaries(connection, root, user_id, [boundary])
            for resource, labels in (
                (f"{GG}/dev", {"env": "dev"}),
                (f"{GG}/prod", {"env": "prod"}),
                (f"{GG}/dev/publishedservice/billing", {"team": "payments"}),
            ):
                gateway_labels.put(connection, resource, labels, "bench", utcnow())
            gateway_access.set_preset(connection, root, True)
        with db.transaction() as connection:
            caller = api_tokens.create_token(connection, load_principal(connection, admin.id), "bench", 7).token
            secret, now = generate_token(api_tokens.API_TOKEN_PREFIX), utcnow()
            editor = subject_ids[1]  # index 1: "dev editors", no boundary
            token_store.create(
                connection, editor, "bench", hash_token(secret), token_hint(secret), now, now + timedelta(days=1)
            )
            return caller, secret
    finally:
        db.dispose()


def check_scenario(token: str, ids: Sequence[str]) -> Scenario:
    prefix = '{"subject": {"user_id": "'
    suffix = '"}, "checks": ' + json.dumps(CHECKS) + "}"
    return Scenario(
        "authz_check",
        "POST /api/v1/authz/check (10 checks)",
        "POST",
        '  return "/api/v1/authz/check", prefix[1] .. pick(ids) .. suffix[1]',
        headers={"X-API-KEY": token, "Content-Type": "application/json"},
        tables={"ids": list(ids), "prefix": [prefix], "suffix": [suffix]},
    )


def forward_scenario(token: str) -> Scenario:
    uris = [
        "/api/gateway_groups/dev/services/billing",
        "/apisix/admin/routes/r1?gateway_group_id=prod",
        "/api/gateway_groups/prod",
        "/apisix/admin/consumers/alice?gateway_group_id=dev",
    ]
    return Scenario(
        "forward",
        "GET /authz/forward (the API7 preset; a dev editor, allowed and denied)",
        "GET",
        '  headers["X-Original-URI"] = pick(uris)\n  return "/authz/forward", nil',
        headers={"X-API-KEY": token, "X-Original-Method": "GET"},
        tables={"uris": uris},
        expected=frozenset({200, 403}),
    )


def describe(result: Result) -> str:
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(result.statuses.items()))
    latency = f"p50 {result.p50_us / 1000:7.2f} ms   p99 {result.p99_us / 1000:7.2f} ms"
    return (
        f"{result.requests_per_s:9.0f} req/s   {latency}   requests {result.requests}   statuses {statuses}   "
        f"socket errors {result.errors}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=2_000, help="users asked about (rotated over)")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="keep the database and logs in this directory")
    options = parser.parse_args(argv)
    if wrk_missing():
        return 2
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pinning = Pinning.detect()
    with work_area(options.keep, "authz-bench-") as workdir:
        database_url = f"sqlite:///{workdir / 'gatehouse.db'}"
        env = gatehouse_env(database_url, base)
        gatehouse(env, "db", "upgrade")
        progress(f"Writing {options.users:,} users directly through the store (not through SCIM)…")
        seeded = seed_users(database_url, options.users, options.subjects, random.Random(7))
        progress(
            f"  {seeded.count:,} users in {seeded.seconds:.1f} s; giving {len(seeded.ids):,} of them gateway roles…"
        )
        token, editor_token = prepare(database_url, seeded.ids)
        settings = Settings(threads=1, connections=options.connections, duration_s=options.duration, timeout_s=10)
        argv_ = pinning.server_argv([GATEHOUSE, "serve", "--port", str(port), "--no-access-log"])
        lines = [
            "Gatehouse decision API benchmark",
            f"  users: {seeded.count:,} (written directly through the store, the rows POST /Users would write; "
            f"not through the SCIM endpoint)",
            f"  subjects asked about: {len(seeded.ids):,}, rotating; database: SQLite; one server worker; "
            f"wrk -t1 -c{options.connections} for {options.duration} s after {options.warmup} s of warm-up",
            f"  {pinning.describe()}",
        ]
        with running(argv_, env, f"{base}/readyz", workdir / "serve.log") as pid:
            for scenario in (check_scenario(token, seeded.ids), forward_scenario(editor_token)):
                run(scenario, base, settings, pinning, workdir, options.warmup)
                result, _ = run(scenario, base, settings, pinning, workdir, options.duration)
                lines.append(f"  {scenario.label}")
                lines.append(f"    {describe(result)}")
                if result.unexpected or result.errors:
                    lines.append(f"    !! {result.unexpected} unexpected statuses, {result.errors} socket errors")
            used = memory(pid)
            lines.append(f"  server memory: {used.rss_mib:.0f} MiB resident, {used.peak_mib:.0f} MiB at its peak")
        print("\n".join(lines))
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
