"""Forward authentication's rules, on both databases where they read: the original request from either header
family (and refused when the two disagree), the verdicts, the identity headers, and the pace of the audit
records of denials."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from gatehouse.iam import gateway_access
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.forward_auth import (
    UNMATCHED_EVENT,
    DenialLog,
    decide_request,
    forwarded_target,
    header_value,
    identity_headers,
)
from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY
from gatehouse.iam.gateway_rules import AmbiguousRequest, TargetError, parse_target
from support.gateway import GG, caddy, grant_in, label, nginx
from support.iam import People, add_user


def test_either_family_of_headers() -> None:
    assert forwarded_target(nginx("PUT", "/a/b?x=1")).line == "PUT /a/b"
    assert forwarded_target(caddy("delete", "/a/b")).method == "DELETE"
    same = {**nginx("GET", "/a"), **caddy("get", "/a")}
    assert forwarded_target(same).uri == "/a"


def test_a_header_given_twice_is_refused() -> None:
    twice = Headers(raw=[(b"x-original-method", b"GET"), (b"x-original-method", b"DELETE"), (b"x-original-uri", b"/a")])
    with pytest.raises(AmbiguousRequest, match="x-original-method twice"):
        forwarded_target(twice)
    repeated = Headers(raw=[(b"x-original-method", b"GET"), (b"x-original-method", b"GET"), (b"x-original-uri", b"/a")])
    assert forwarded_target(repeated).method == "GET"


@pytest.mark.parametrize(
    "headers",
    [
        {**nginx("DELETE", "/prod"), "X-Forwarded-Method": "GET"},  # a client's header behind nginx
        {**nginx("GET", "/prod"), "X-Forwarded-Uri": "/dev"},
        {**caddy("DELETE", "/prod"), "X-Original-Method": "GET"},  # a client's header behind Caddy
        {**caddy("GET", "/prod"), "X-Original-URI": "/dev"},
    ],
)
def test_two_different_originals_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(AmbiguousRequest, match="two different original"):
        forwarded_target(headers)


@pytest.mark.parametrize("headers", [{}, {"X-Original-Method": "GET"}, {"X-Forwarded-Uri": "/a"}, nginx("GET", "x")])
def test_missing_originals_are_400(headers: dict[str, str]) -> None:
    with pytest.raises(TargetError):
        forwarded_target(headers)


def test_verdicts(people: People) -> None:
    label(people.db, f"{GG}/dev", env="dev")
    with people.db.transaction() as connection:
        reader, editor = add_user(connection, "reader"), add_user(connection, "editor")
        grant_in(connection, reader, "readers", GATEWAY_READ_ONLY)
        grant_in(connection, editor, "dev editors", DEV_GROUPS_FULL_CONTROL)
        gateway_access.set_preset(connection, people.root, True)
    with people.db.snapshot() as connection:
        read, edit = load_principal(connection, reader), load_principal(connection, editor)
        get = parse_target("GET", "/api/gateway_groups/dev")
        put = parse_target("PUT", "/api/gateway_groups/dev")
        put_prod = parse_target("PUT", "/api/gateway_groups/prod")
        assert decide_request(connection, read, get).allowed
        denied = decide_request(connection, read, put)
        assert not denied.allowed and denied.event == "gateway:UpdateGatewayGroup" and denied.resource == f"{GG}/dev"
        assert denied.rule is not None and denied.rule.path == "/api/gateway_groups/{gg}"
        assert decide_request(connection, edit, put).allowed
        assert not decide_request(connection, edit, put_prod).allowed
        nobody = decide_request(connection, None, put)
        assert (
            not nobody.allowed and nobody.action == "gateway:UpdateGatewayGroup" and nobody.reason == "no credentials"
        )
        unmatched = decide_request(connection, people.root, parse_target("GET", "/somewhere/else"))
        assert not unmatched.allowed and unmatched.event == UNMATCHED_EVENT
        assert unmatched.reason == "no rule matches GET /somewhere/else: requests that no rule matches are denied"
        twice = decide_request(
            connection, people.root, parse_target("GET", "/apisix/admin/ssls?gateway_group_id=a&gateway_group_id=b")
        )
        assert not twice.allowed and "given 2 times" in twice.reason


def test_without_the_preset_and_rules_everything_is_denied(people: People) -> None:
    with people.db.snapshot() as connection:
        verdict = decide_request(connection, people.root, parse_target("GET", "/api/gateway_groups/dev"))
    assert not verdict.allowed and verdict.reason.startswith("no rule matches")


def test_identity_headers_are_header_safe(people: People) -> None:
    headers = identity_headers(people.root, "root@example.com")
    assert headers == {
        "X-Gatehouse-User": "root",
        "X-Gatehouse-User-Id": people.root.user_id,
        "X-Gatehouse-Email": "root@example.com",
        "X-Gatehouse-Roles": "Super Admin",
    }
    assert header_value("Zoë, the 100% admin\r\n") == "Zo%C3%AB%2C the 100%25 admin%0D%0A"
    assert header_value("plain ASCII (ok)") == "plain ASCII (ok)"


def test_the_denial_log_keeps_its_pace() -> None:
    """At most N records a second; the next record written says how many were left out."""
    now = [100.0]
    log = DenialLog(3, clock=lambda: now[0])
    assert [log.admit() for _ in range(5)] == [0, 0, 0, None, None]
    assert log.suppressed == 2
    now[0] += 0.5
    assert log.admit() is None  # the same one-second window
    now[0] += 0.6
    assert log.admit() == 3  # a new window: written, with the three left out
    assert [log.admit() for _ in range(2)] == [0, 0]
    assert log.admit() is None and log.suppressed == 1
    now[0] += 10
    assert log.admit() == 1 and log.suppressed == 0
