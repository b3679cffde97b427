"""Forward authentication: the rules of ``GET /authz/forward``, which a proxy asks before it lets a request
through (nginx ``auth_request``, Caddy ``forward_auth``, Traefik ``ForwardAuth``). The HTTP adapter is
:mod:`gatehouse.api.forward_auth`; everything here but :func:`decide_request`'s reads is pure.

1. **The original request** (:func:`forwarded_target`) comes from the proxy's headers: nginx's
   ``X-Original-Method`` / ``X-Original-URI`` (set in its configuration), or ``X-Forwarded-Method`` /
   ``X-Forwarded-Uri`` (Caddy, Traefik). A client may send either family itself, and some proxies pass the
   client's headers on, so when both are present and disagree the request is refused, whichever the proxy
   set. Missing or malformed headers are a 400 (the proxy is misconfigured); a path servers could read
   two ways is refused (403).
2. **Who**: the dashboard session cookie or an API token (the adapter), read for this request.
3. **What**: the rule table (:func:`~gatehouse.iam.gateway_access.active_rules`: the custom rules, then the
   preset when on) maps the request to an action, a resource and labels; the first rule that matches
   decides, and an unmatched request is denied.
4. **May they**: :func:`~gatehouse.iam.authorizer.authorize` with the rule's labels, else the stored labels
   of the resource (:func:`~gatehouse.iam.gateway_labels.resolve`).

Every denial is an audit record, at most :attr:`DenialLog.per_second` a second per process; the next record
written says how many were left out (:class:`DenialLog`), so a scan cannot flood the log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from gatehouse.iam.authorizer import Principal, authorize
from gatehouse.iam.gateway_access import ActiveRules, active_rules
from gatehouse.iam.gateway_labels import resolve
from gatehouse.iam.gateway_rules import AmbiguousRequest, Rule, Target, match, parse_target
from gatehouse.iam.policy import Decision
from gatehouse.iam.resource_names import ResourceNameError, parse_resource
from gatehouse.store.database import Connection
from gatehouse.store.gateway_labels import labels_of

NGINX: Final = ("x-original-method", "x-original-uri")
FORWARDED: Final = ("x-forwarded-method", "x-forwarded-uri")
UNMATCHED_EVENT: Final = "gateway:UnmatchedRequest"
"""The audit event of a denial that no rule mapped to an action."""


def forwarded_target(headers: Mapping[str, str]) -> Target:
    """The original request (see the module, step 1): :class:`~gatehouse.iam.gateway_rules.TargetError`
    (400) or :class:`~gatehouse.iam.gateway_rules.AmbiguousRequest` (403) when it cannot be trusted."""
    nginx = [_header(headers, name) for name in NGINX]
    forwarded = [_header(headers, name) for name in FORWARDED]
    for mine, theirs, what in zip(nginx, forwarded, ("method", "URI"), strict=True):
        if mine is None or theirs is None:
            continue
        same = mine.strip().upper() == theirs.strip().upper() if what == "method" else mine.strip() == theirs.strip()
        if not same:
            raise AmbiguousRequest(
                f"The request carries two different original {what}s (X-Original-* and X-Forwarded-*): one was sent "
                "by the client, so the request is refused."
            )
    method = nginx[0] if nginx[0] is not None else forwarded[0]
    uri = nginx[1] if nginx[1] is not None else forwarded[1]
    return parse_target(method, uri)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The one value of a header (any case); given twice with different values, the request is refused."""
    getlist = getattr(headers, "getlist", None)  # Starlette's headers keep every value of a repeated header
    values = getlist(name) if callable(getlist) else [v for k, v in headers.items() if k.lower() == name]
    if len(set(values)) > 1:
        raise AmbiguousRequest(f"The request carries {name} twice, with different values: it is refused.")
    return values[0] if values else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a proxy: allowed or not, why, and what the request was taken for."""

    allowed: bool
    reason: str
    action: str | None = None
    resource: str | None = None
    rule: Rule | None = None
    decision: Decision | None = None

    @property
    def event(self) -> str:
        """The audit event of a denial: the action the request maps to, else :data:`UNMATCHED_EVENT`."""
        return self.action or UNMATCHED_EVENT


def decide_request(
    connection: Connection,
    principal: Principal | None,
    target: Target,
    table: ActiveRules | None = None,
    read_labels: Callable[[Connection, Iterable[str]], dict[str, dict[str, str]]] = labels_of,
) -> Verdict:
    """Map ``target`` to an action (the rule table: ``table``, or read now) and decide it for ``principal``
    (``None``: nobody signed in, denied with what the request maps to, for the audit log); the kept labels are
    read by ``read_labels``."""
    table = active_rules(connection) if table is None else table
    if table.broken:
        return Verdict(
            False,
            f"forward-auth rule {table.broken[0]} no longer validates; every request is denied until it is fixed or "
            "deleted (Organization → Gateway access)",
        )
    try:
        found = match(table.rules, target)
        resource = parse_resource(found.resource) if found is not None else None
    except AmbiguousRequest as exc:
        return Verdict(False, exc.detail)
    except ResourceNameError as exc:  # a value the rule put into the name: refused like an ambiguous one
        return Verdict(False, f"{target.line}: {exc.detail}")
    if found is None or resource is None:
        return Verdict(False, f"no rule matches {target.line}: requests that no rule matches are denied")
    if principal is None:
        return Verdict(False, "no credentials", found.action, resource.name, found.rule)
    labels = resolve(connection, [resource], [found.labels], read_labels)[0]
    decision = authorize(principal, found.action, resource.name, labels)
    return Verdict(decision.allowed, decision.reason, found.action, resource.name, found.rule, decision)


# ------------------------------------------------------------------------------------------ answers

_HEADER_SAFE: Final = "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) not in "%,")


def header_value(text: str) -> str:
    """``text`` fit for an HTTP header: printable ASCII as it is; anything else (and ``%``, ``,``)
    percent-encoded as UTF-8, as in a URL, so that a comma-separated list stays one."""
    return quote(text, safe=_HEADER_SAFE)


def identity_headers(principal: Principal, email: str | None) -> dict[str, str]:
    """What the proxy copies to the upstream: who is asking (see docs/guides/gateway.md)."""
    return {
        "X-Gatehouse-User": header_value(principal.user_name or ""),
        "X-Gatehouse-User-Id": header_value(principal.user_id or ""),
        "X-Gatehouse-Email": header_value(email or ""),
        "X-Gatehouse-Roles": ",".join(header_value(role.name) for role in principal.roles),
    }


# ------------------------------------------------------------------------------------------ the audit log's pace


class DenialLog:
    """How many denial records a process writes: at most ``per_second`` in any one-second window; the
    denials left out meanwhile are counted, and the next record written carries the count."""

    def __init__(self, per_second: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._window = float("-inf")
        self._written = 0
        self._suppressed = 0

    def admit(self) -> int | None:
        """``None``: leave this denial out (it is counted). Otherwise write it, with the number left out since
        the last record written (usually 0)."""
        with self._lock:
            now = self._clock()
            if now - self._window >= 1.0:
                self._window, self._written = now, 0
            if self._written >= self.per_second:
                self._suppressed += 1
                return None
            self._written += 1
            left_out, self._suppressed = self._suppressed, 0
            return left_out

    @property
    def suppressed(self) -> int:
        """Denials left out and not yet reported."""
        return self._suppressed
