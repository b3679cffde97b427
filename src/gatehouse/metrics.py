"""Prometheus metrics: what Gatehouse counts, how every request is counted and timed (:class:`RequestMetrics`, told
by the security-headers middleware every response passes, and :class:`Tally`), and ``/metrics`` in the text
exposition format (Prometheus' "Exposition formats", version 0.0.4).

What is measured:

- ``gatehouse_http_requests_total{route, method, status}`` and ``gatehouse_http_request_duration_seconds{route,
  method}``: every request, labelled by its **route template** (``/scim/v2/Users/{id}``, never the concrete
  path, so the number of series stays bounded; ``unmatched`` for a path no route knows);
- ``gatehouse_scim_operations_total{token, operation, outcome}``: SCIM operations (``Users:create``,
  ``Groups:patch``…) by token name and outcome (``success``, ``client_error``, ``server_error``), classified by
  the SCIM package (:func:`gatehouse.scim.operations.operation_of`) and handed to the :class:`Tally`;
- ``gatehouse_scim_refusals_total{reason}``: requests refused by the rate limit (``rate_limit``) or held by the
  mass-deprovisioning guard (``guard``);
- ``gatehouse_login_failures_total{method}``: failed password and LDAP sign-ins (``password``, ``ldap``);
- ``gatehouse_db_pool_connections_in_use``: database connections checked out of the pool (sampled every few
  seconds in each process, summed over live processes);
- ``gatehouse_sessions_active``: dashboard sessions neither expired nor idle (counted in the database when
  scraped, so it is the same whichever process answers);
- in a single process, prometheus-client's own ``process_*`` (resident memory, CPU, open files) and
  ``python_*`` metrics.

**Several workers.** ``gatehouse serve --workers N`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory
before the workers start; each writes its values there and whichever answers a scrape sums them all
(prometheus-client's multi-process mode). Requests are counted in the app's :class:`Tally` and written out once
a second (:data:`FLUSH_SECONDS`) and before each scrape the process answers, so another worker's share is at
most that old. The variable must be set before this module is first imported.

**Who may scrape.** ``/metrics`` answers loopback clients (the TCP peer, never ``X-Forwarded-For``; a request
a trusted proxy relays, with ``X-Forwarded-For``, is not a loopback one) unless ``GATEHOUSE_METRICS_TOKEN`` is
set: then any client with ``Authorization: Bearer <token>``, compared in constant time.
``GATEHOUSE_METRICS_ENABLED=false`` removes the endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import Scope

from gatehouse.credentials import bearer_of
from gatehouse.network import is_trusted_proxy

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_DIR: Final = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED: Final = "unmatched"
POOL_SAMPLE_SECONDS: Final = 5.0
"""How often each process samples its database pool."""
BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Latency buckets (seconds): fine below 10 ms, where SCIM reads and decisions answer."""

REQUESTS: Final = Counter(
    "gatehouse_http_requests", "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)  # fmt: skip
LATENCY: Final = Histogram(
    "gatehouse_http_request_duration_seconds", "Time to answer an HTTP request, by route template and method.",
    ["route", "method"], buckets=BUCKETS,
)  # fmt: skip
SCIM_OPERATIONS: Final = Counter(
    "gatehouse_scim_operations", "SCIM operations, by token name, operation and outcome.",
    ["token", "operation", "outcome"],
)  # fmt: skip
SCIM_REFUSALS: Final = Counter(
    "gatehouse_scim_refusals", "SCIM requests refused by the rate limit or held by the deprovisioning guard.",
    ["reason"],
)  # fmt: skip
LOGIN_FAILURES: Final = Counter("gatehouse_login_failures", "Failed sign-ins, by method.", ["method"])
DB_POOL_IN_USE: Final = Gauge(
    "gatehouse_db_pool_connections_in_use", "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)  # fmt: skip

ScimOperation = Callable[[str, str, str | None, int], tuple[str, str, str] | None]
"""What the SCIM package says of a finished request (its route template, method, token name and status):
``(token, operation, outcome)``, or None if not SCIM."""


def route_template(route: object, root_path: str) -> str:
    """The template of the route that answered (``/scim/v2/Users/{id}``), or :data:`UNMATCHED`."""
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return root_path + path if root_path and not path.startswith(root_path) else path or "/"


Seen = tuple[Any, str, str, int, float, Any]
"""What a request leaves in the tally: its route (object), root path, method, status, seconds and token name."""
Observed = tuple[str, str, int]
"""A request's route template, method and status."""
MAX_PENDING: Final = 100_000
"""Requests kept before a flush; more are folded at once (a flush is due every second anyway)."""


class Tally:
    """The requests an app answered since its last :meth:`flush`: each one leaves a tuple of what it was (no
    lock, no label lookup, no string built on the request's path), and :meth:`flush` folds them, on the same event
    loop, into prometheus-client's counters and histogram, before each scrape this process answers and every
    :data:`FLUSH_SECONDS` (so that with several workers each one's share is at most that old).

    Folding a second's requests in one loop costs a fraction of classifying each as it ends: driving the app
    directly with ``GET /Users/{id}``, the metrics took 4 to 5 % of each request's CPU when each request found its
    series and observed into them, and about 1 % this way (``bench/metrics_app_cost.py``)."""

    def __init__(self, scim_operation: ScimOperation | None = None) -> None:
        self.scim_operation = scim_operation
        self.pending: list[Seen] = []
        self._children: dict[Observed, tuple[Any, Any]] = {}
        self._operations: dict[tuple[str, str, str], Any] = {}

    def fold(self) -> tuple[dict[Observed, list[float]], dict[tuple[str, str, str], int]]:
        """The pending requests summed (and forgotten): by route template, method and status, ``[count, seconds,
        in bucket 0, …, in the +Inf bucket]``, a request counted in the first bucket whose bound is at least its
        duration (the histogram's ``le``); and the SCIM operations, by token, operation and outcome."""
        pending, self.pending = self.pending, []
        rows: dict[Observed, list[float]] = {}
        operations: dict[tuple[str, str, str], int] = {}
        templates: dict[tuple[int, str], str] = {}
        for route, root_path, method, status, seconds, token in pending:
            template = templates.get((id(route), root_path))
            if template is None:
                template = templates[(id(route), root_path)] = route_template(route, root_path)
            key = (template, method, status)
            row = rows.get(key)
            if row is None:
                row = rows[key] = [0.0] * (len(BUCKETS) + 3)
            row[0] += 1
            row[1] += seconds
            row[2 + bisect_left(BUCKETS, seconds)] += 1
            if self.scim_operation is not None:
                found = self.scim_operation(template, method, token, status)
                if found is not None:
                    operations[found] = operations.get(found, 0) + 1
        return rows, operations

    def flush(self) -> None:
        """Move the pending requests into the metrics."""
        rows, operations = self.fold()
        for key, row in rows.items():
            latency, requests = self._series(key)
            requests.inc(row[0])
            add_observations(latency, row[1], row[2:])
        for found, count in operations.items():
            counter = self._operations.get(found)
            if counter is None:
                counter = self._operations[found] = SCIM_OPERATIONS.labels(*found)
            counter.inc(count)

    def _series(self, key: Observed) -> tuple[Any, Any]:
        children = self._children.get(key)
        if children is None:
            route, method, status = key
            children = self._children[key] = LATENCY.labels(route, method), REQUESTS.labels(route, method, str(status))
        return children


def add_observations(histogram: Any, seconds: float, per_bucket: Sequence[float]) -> None:
    """Add many observations to one histogram series at once: their total and how many fell in each bucket.

    prometheus-client observes one value at a time, under a lock per value it changes; this adds to the same
    values (its ``_sum`` and ``_buckets``) once a flush. The tests compare the result with observing one by one."""
    histogram._sum.inc(seconds)
    for bucket, count in zip(histogram._buckets, per_bucket, strict=True):
        if count:
            bucket.inc(count)


FLUSH_SECONDS: Final = 1.0
"""How often an app moves its tally into the metrics (besides before each scrape it answers)."""


class RequestMetrics:
    """Leaves each HTTP request in the app's :class:`Tally`: the ``finished`` of
    :class:`gatehouse.response_headers.ResponseHeaders`, which every response passes. ``token_key``: the scope
    key under which SCIM leaves the name of the token that authenticated."""

    def __init__(self, tally: Tally, token_key: str) -> None:
        self.tally = tally
        self.token_key = token_key

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        pending = self.tally.pending
        route, root_path, token = scope.get("route"), scope.get("root_path", ""), scope.get(self.token_key)
        pending.append((route, root_path, scope["method"], status, seconds, token))
        if len(pending) >= MAX_PENDING:
            self.tally.flush()


def outcome_of(status: int) -> str:
    """``success`` (below 400), ``client_error`` (4xx) or ``server_error`` (5xx)."""
    return "success" if status < 400 else "client_error" if status < 500 else "server_error"


class LiveCollector(Collector):
    """Values read when scraped: the active dashboard sessions (``count_sessions``, a database count)."""

    def __init__(self, count_sessions: Callable[[], int]) -> None:
        self.count_sessions = count_sessions

    def collect(self) -> Iterable[Metric]:
        sessions = GaugeMetricFamily("gatehouse_sessions_active", "Dashboard sessions neither expired nor idle.")
        sessions.add_metric([], self.count_sessions())
        yield sessions


def exposition(live: Collector) -> bytes:
    """Every metric in the text format: this process's (or, with several workers, all workers' summed) and
    ``live``'s."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(live)
    return counted + generate_latest(extra)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class ScrapeAccess:
    """Who may read ``/metrics``: the holder of the metrics token, or (without one) a loopback peer that is
    not a trusted proxy relaying someone else."""

    def __init__(self, token: str | None, trusted_proxies: Sequence[str]) -> None:
        self._digest = _digest(token) if token else None
        self._trusted_proxies = tuple(trusted_proxies)

    @property
    def needs_token(self) -> bool:
        return self._digest is not None

    def allows(self, peer: str | None, authorization: str | None, forwarded: bool) -> bool:
        """Whether a request from ``peer`` with this ``Authorization`` header (and ``X-Forwarded-For`` or not)
        may scrape."""
        if self._digest is not None:
            given = bearer_of(authorization)
            return given is not None and hmac.compare_digest(_digest(given), self._digest)
        if peer is None or (forwarded and is_trusted_proxy(peer, self._trusted_proxies)):
            return False
        try:
            return ipaddress.ip_address(peer).is_loopback
        except ValueError:
            return False
