"""Prometheus metrics (``/metrics``): who may scrape (the metrics token, or loopback peers only; never a request a
trusted proxy relays), what is counted (requests by route template and status, latency, SCIM operations by token
and outcome, rate-limit and guard refusals, login failures, sessions, the pool), and several workers summed into
one answer by a real ``gatehouse serve --workers 2``. Counters are process-wide, so in-process tests compare
before and after."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.iam import scim_control
from gatehouse.metrics import (
    BUCKETS,
    FLUSH_SECONDS,
    LATENCY,
    REQUESTS,
    SCIM_OPERATIONS,
    ScrapeAccess,
    Tally,
    add_observations,
)
from gatehouse.scim.operations import operation_of
from gatehouse.store.database import Database
from support.scim import okta_user
from support.servers import cli, cli_env, running_server
from support.web import sign_in

TOKEN = "metrics-token-0123456789"
SCIM = "/scim/v2"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metered(settings: Settings, db: Database) -> Iterator[TestClient]:
    """The app with a metrics token (the test client's peer is not a loopback address)."""
    configured = settings.model_copy(update={"metrics_token": TOKEN, "scim_rate_per_second": 1.0, "scim_burst": 5})
    with TestClient(create_app(configured, db), base_url="https://testserver") as client:
        yield client


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def test_without_a_token_only_loopback_peers_may_scrape(app_client: TestClient) -> None:
    refused = app_client.get("/metrics")  # the test client's peer is "testclient", not loopback
    assert refused.status_code == 403
    assert "loopback clients only" in refused.text and "GATEHOUSE_METRICS_TOKEN" in refused.text


@pytest.mark.parametrize(
    ("peer", "forwarded", "allowed"),
    [
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("10.1.2.3", False, False),
        ("127.0.0.1", True, False),  # relayed by the trusted proxy on this host: someone else is asking
        (None, False, False),
        ("not an address", False, False),
    ],
)
def test_loopback_access(peer: str | None, forwarded: bool, allowed: bool) -> None:
    assert ScrapeAccess(None, ["127.0.0.1/32"]).allows(peer, None, forwarded) is allowed


def test_untrusted_forwarding_does_not_matter_without_trusted_proxies() -> None:
    assert ScrapeAccess(None, []).allows("127.0.0.1", None, True)


@pytest.mark.parametrize(
    ("authorization", "allowed"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer  {TOKEN}", True),
        (f"Bearer {TOKEN}x", False),
        (f"Basic {TOKEN}", False),
        (None, False),
        ("Bearer", False),
    ],
)
def test_with_a_token_every_address_needs_it(authorization: str | None, allowed: bool) -> None:
    access = ScrapeAccess(TOKEN, [])
    assert access.allows("10.0.0.9", authorization, False) is allowed
    assert access.allows("127.0.0.1", authorization, False) is allowed  # loopback is no excuse


def test_a_wrong_token_is_401_with_a_challenge(metered: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-000000000"}):
        response = metered.get("/metrics", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text


def test_requests_are_counted_by_route_template_and_scim_operations_by_token(metered: TestClient, db: Database) -> None:
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Okta").token
    idp = {"Authorization": f"Bearer {token}"}
    before = scrape(metered)
    created = metered.post(f"{SCIM}/Users", json=okta_user("m@example.com"), headers=idp)
    assert created.status_code == 201
    user_id = created.json()["id"]
    assert metered.get(f"{SCIM}/Users/{user_id}", headers=idp).status_code == 200
    assert metered.get(f"{SCIM}/Users/does-not-exist", headers=idp).status_code == 404
    assert metered.get(f"{SCIM}/Users", headers={"Authorization": "Bearer nope"}).status_code == 401
    after = scrape(metered)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    by_id = f"{SCIM}/Users/{{id}}"
    assert delta("gatehouse_http_requests_total", route=by_id, method="GET", status="200") == 1
    assert delta("gatehouse_http_requests_total", route=by_id, method="GET", status="404") == 1
    assert delta("gatehouse_http_requests_total", route=f"{SCIM}/Users", method="POST", status="201") == 1
    assert delta("gatehouse_http_request_duration_seconds_count", route=by_id, method="GET") == 2
    assert not any(user_id in str(key) for key in after)  # never an id in a label
    ops = "gatehouse_scim_operations_total"
    assert delta(ops, token="Okta", operation="Users:create", outcome="success") == 1
    assert delta(ops, token="Okta", operation="Users:get", outcome="success") == 1
    assert delta(ops, token="Okta", operation="Users:get", outcome="client_error") == 1
    assert delta(ops, token="-", operation="Users:list", outcome="client_error") == 1
    assert delta("gatehouse_http_requests_total", route="unmatched", method="GET", status="404") == 0
    assert metered.get("/no/such/page").status_code == 404
    assert delta("gatehouse_http_requests_total", route="unmatched", method="GET", status="404") == 0  # not yet
    assert value(scrape(metered), "gatehouse_http_requests_total", route="unmatched", method="GET", status="404") >= 1


def test_rate_limit_refusals_login_failures_and_sessions(metered: TestClient, db: Database) -> None:
    with db.transaction() as connection:
        scim_control.enable(connection)
        token = scim_control.issue_token(connection, "Burst").token
    before = scrape(metered)
    statuses = [
        metered.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(8)
    ]
    assert statuses.count(429) >= 2  # burst 5 at 1 a second
    sign_in(metered, "admin", "not the password")
    after = scrape(metered)
    refused = value(after, "gatehouse_scim_refusals_total", reason="rate_limit")
    assert refused - value(before, "gatehouse_scim_refusals_total", reason="rate_limit") == statuses.count(429)
    failures = "gatehouse_login_failures_total"
    assert value(after, failures, method="password") - value(before, failures, method="password") == 1
    assert ("gatehouse_sessions_active", ()) in after
    assert ("gatehouse_db_pool_connections_in_use", ()) in after


def _observations(count: int) -> list[float]:
    """Durations on every bucket's bound, just past it, and far beyond the last."""
    rng = random.Random(16)
    edges = [bound + nudge for bound in BUCKETS for nudge in (0.0, 1e-9)]
    return edges + [60.0, 0.0] + [rng.uniform(0, 12) for _ in range(count)]


class _Route:
    """What a tally reads of a route: its path template."""

    def __init__(self, path: str) -> None:
        self.path = path


def test_a_tally_adds_what_observing_one_by_one_adds() -> None:
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("latency", "l", ["route"], buckets=BUCKETS, registry=one_by_one).labels("/r")
    summed = Histogram("latency", "l", ["route"], buckets=BUCKETS, registry=at_once).labels("/r")
    observed = _observations(500)
    for seconds in observed:
        direct.observe(seconds)
    tally, route = Tally(), _Route("/r")
    tally.pending.extend((route, "", "GET", 200, seconds, None) for seconds in observed)
    rows, operations = tally.fold()
    assert list(rows) == [("/r", "GET", 200)] and not operations and not tally.pending
    row = rows[("/r", "GET", 200)]
    assert row[0] == len(observed)
    add_observations(summed, row[1], row[2:])

    def lines(registry: CollectorRegistry) -> list[str]:
        return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]

    assert lines(at_once) == lines(one_by_one)


def test_a_flush_moves_the_tally_into_the_metrics_once() -> None:
    suffix = str(random.randrange(10**9))
    route, users = _Route(f"/tally-test-{suffix}"), _Route("/Users/{id}")
    tally = Tally(operation_of)
    for seconds in (0.0004, 0.003, 0.003, 7.0):
        tally.pending.append((route, "", "GET", 200, seconds, None))
    tally.pending.append((route, "", "GET", 503, 0.02, None))
    token = f"tally-token-{suffix}"
    tally.pending.append((users, "/scim/v2", "GET", 200, 0.001, token))
    tally.pending.append((users, "/scim/v2", "GET", 404, 0.001, token))
    tally.flush()
    tally.flush()  # nothing more: the first one emptied it
    found = samples(generate_latest(REGISTRY).decode())
    template = route.path
    assert value(found, "gatehouse_http_requests_total", route=template, method="GET", status="200") == 4
    assert value(found, "gatehouse_http_requests_total", route=template, method="GET", status="503") == 1
    assert value(found, "gatehouse_http_request_duration_seconds_count", route=template, method="GET") == 5
    bucket = "gatehouse_http_request_duration_seconds_bucket"
    assert value(found, bucket, route=template, method="GET", le="0.001") == 1
    assert value(found, bucket, route=template, method="GET", le="0.005") == 3
    assert value(found, bucket, route=template, method="GET", le="5.0") == 4
    assert value(found, "gatehouse_http_request_duration_seconds_sum", route=template, method="GET") == pytest.approx(
        7.0264
    )
    ops = "gatehouse_scim_operations_total"
    assert value(found, ops, token=token, operation="Users:get", outcome="success") == 1
    assert value(found, ops, token=token, operation="Users:get", outcome="client_error") == 1
    LATENCY.remove(template, "GET")
    REQUESTS.remove(template, "GET", "200")
    REQUESTS.remove(template, "GET", "503")
    SCIM_OPERATIONS.remove(token, "Users:get", "success")
    SCIM_OPERATIONS.remove(token, "Users:get", "client_error")


def test_metrics_can_be_turned_off(settings: Settings, db: Database) -> None:
    off = settings.model_copy(update={"metrics_enabled": False})
    with TestClient(create_app(off, db)) as client:
        assert client.get("/metrics").status_code == 404


@pytest.mark.slow
def test_two_workers_answer_one_sum_to_a_loopback_scraper(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'metrics.db'}")
    token = json.loads(cli(env, "scim", "enable", "--json", "--name", "Okta").stdout)["token"]
    with running_server(env, "--workers", "2") as base, httpx.Client(base_url=base, timeout=10) as http:
        for _ in range(40):  # new connections, so both workers answer some
            with httpx.Client(base_url=base, timeout=10) as fresh:
                assert fresh.get("/healthz").status_code == 200
        auth = {"Authorization": f"Bearer {token}"}
        assert http.post(f"{SCIM}/Users", json=okta_user("w@example.com"), headers=auth).status_code == 201
        time.sleep(FLUSH_SECONDS + 0.5)  # each worker moves its tally into the shared files at least this often
        for _ in range(6):  # whichever worker answers (a fresh connection each time) sums both
            with httpx.Client(base_url=base, timeout=10) as fresh:
                found = samples(fresh.get("/metrics").text)  # from 127.0.0.1: no token needed
            healthz = value(found, "gatehouse_http_requests_total", route="/healthz", method="GET", status="200")
            assert healthz == 40
        assert value(found, "gatehouse_scim_operations_total", token="Okta", operation="Users:create",
                     outcome="success") == 1  # fmt: skip
        assert ("gatehouse_sessions_active", ()) in found
        relayed = http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status_code == 200  # no trusted proxy configured: the peer is who it says


@pytest.mark.slow
def test_a_short_metrics_token_is_refused_without_being_echoed(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'short.db'}")
    env["GATEHOUSE_METRICS_TOKEN"] = "short-secret"
    done = cli(env, "serve", "--port", "1")
    assert done.returncode != 0
    assert "GATEHOUSE_METRICS_TOKEN" in done.stderr and "short-secret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
