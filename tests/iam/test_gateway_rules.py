"""Forward-auth rules (pure): rules checked when written, original requests read from the proxy's headers,
and the ordered matching that maps a request to an action, a resource and labels."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.iam.gateway_rules import (
    AmbiguousRequest,
    Rule,
    RuleError,
    TargetError,
    compile_rule,
    match,
    parse_target,
)

GG = "arn:api7:gateway:gatewaygroup"
SERVICE = compile_rule(
    "GET",
    "/api/gateway_groups/{gg}/services/{sid}",
    "gateway:GetPublishedService",
    f"{GG}/{{gg}}/publishedservice/{{sid}}",
)
ROUTE = compile_rule(
    ["PUT", "PATCH"],
    "/apisix/admin/routes/{id}",
    "gateway:UpdatePublishedService",
    f"{GG}/{{gg}}/publishedservice/*",
    {"gg": "gateway_group_id"},
)
ROUTE_ANY_GROUP = compile_rule(
    ["PUT"], "/apisix/admin/routes/{id}", "gateway:UpdatePublishedService", f"{GG}/*/publishedservice/*"
)
REST = compile_rule("GET", "/api/alert/policies/**", "gateway:GetAlertPolicy", "arn:api7:gateway:alert/*")
ANY = compile_rule("*", "/api/license", "iam:UpdateLicense", "arn:api7:iam:organization/*")
LABELLED = compile_rule(
    "DELETE",
    "/envs/{env}/groups/{gg}",
    "gateway:DeleteGatewayGroup",
    f"{GG}/{{gg}}",
    labels={"gateway_group_label": {"env": "{env}", "via": "rule"}},
)
TABLE = (SERVICE, ROUTE, ROUTE_ANY_GROUP, REST, ANY, LABELLED)


# ------------------------------------------------------------------------------------------ writing rules


def test_a_rule_is_compiled_and_tidied() -> None:
    rule = compile_rule(
        "get, head post", "/a/{x}/", "iam:UpdateCustomRole", " arn:api7:iam:role/{x} ", description=" d "
    )
    assert rule.methods == ("GET", "HEAD", "POST")
    assert rule.action == "iam:UpdateRole"  # API7's alias, stored as the action it stands for
    assert rule.resource == "arn:api7:iam:role/{x}" and rule.description == "d"
    assert rule.segments == (("text", "a"), ("part", "x"))
    assert rule.as_dict()["methods"] == ["GET", "HEAD", "POST"]


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"methods": []}, "methods: name at least one"),
    ({"methods": ["FETCH"]}, "methods: 'FETCH' is not one of"),
    ({"methods": ["*", "GET"]}, "methods: * covers every method"),
    ({"path": "api/x"}, "path: a path pattern starts with '/'"),
    ({"path": "/a/{x}/{x}"}, "path: the part {x} is named twice"),
    ({"path": "/a/**/b"}, "path: '**' (the rest of the path) may only be the last segment"),
    ({"path": "/a/../b"}, "path: '..' is not a segment"),
    ({"path": "/a//b"}, "path: '' is not a segment"),
    ({"path": "/a/x{y}"}, "is not a segment"),
    ({"path": "/a/%2F"}, "is not a segment"),
    ({"action": "gateway:Nope"}, "action: 'gateway:Nope' is not an action of the catalog"),
    ({"action": "gateway:getgatewaygroup"}, "is not an action of the catalog"),
    ({"resource": f"{GG}/{{other}}"}, "resource: {other} is not a part of the path or query (they define: {gg})"),
    ({"resource": f"{GG}/{{gg}}/{{"}, "resource: braces only enclose a part name"),
    (
        {"resource": "arn:api7:gateway:nothing/{gg}"},
        "resource: 'arn:api7:gateway:nothing/sample-id' is not a resource name",
    ),
    ({"resource": ""}, "resource: a resource name template"),
    ({"query": {"gg": "gateway_group_id"}}, "query: the part {gg} is already named by the path"),
    ({"query": {"Bad-Name": "x"}}, "query: 'Bad-Name' is not a part name"),
    ({"query": {"q": "a b"}}, "query.q: 'a b' is not a query parameter name"),
    ({"labels": {"env": {"a": "b"}}}, "labels: 'env' is not a condition key"),
    ({"labels": {"gateway_group_label": {"env": "{nope}"}}}, "labels.gateway_group_label.env: {nope} is not a part"),
    ({"labels": {"gateway_group_label": {"-bad": "x"}}}, "is not a label key"),
    ({"description": "x" * 301}, "description: at most 300"),
]


@pytest.mark.parametrize(("change", "message"), REFUSED)
def test_a_bad_rule_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "methods": ["GET"],
        "path": "/api/gateway_groups/{gg}",
        "action": "gateway:GetGatewayGroup",
        "resource": f"{GG}/{{gg}}",
        **change,
    }
    with pytest.raises(RuleError) as refused:
        compile_rule(**fields)
    assert message in refused.value.detail
    assert refused.value.status == 400


def test_query_parts_and_label_templates_may_fill_the_resource() -> None:
    rule = compile_rule("GET", "/x", "gateway:GetConsumer", f"{GG}/{{gg}}/consumer/{{c}}", {"gg": "g", "c": "consumer"})
    assert rule.query == {"gg": "g", "c": "consumer"}


# ------------------------------------------------------------------------------------------ reading requests

TARGETS: list[tuple[str, str, str, tuple[str, ...], dict[str, tuple[str, ...]]]] = [
    ("GET", "/", "GET", (), {}),
    ("get", "/api/x/", "GET", ("api", "x"), {}),
    ("PUT", "/a/b%20c/d?x=1&y=&x=2", "PUT", ("a", "b c", "d"), {"x": ("1", "2"), "y": ("",)}),
    ("GET", "/a/%C3%A9t%C3%A9", "GET", ("a", "été"), {}),
    (
        "DELETE",
        "/apisix/admin/routes/1?gateway_group_id=dev",
        "DELETE",
        ("apisix", "admin", "routes", "1"),
        {"gateway_group_id": ("dev",)},
    ),
]


@pytest.mark.parametrize(("method", "uri", "verb", "segments", "query"), TARGETS)
def test_targets_are_read(
    method: str, uri: str, verb: str, segments: tuple[str, ...], query: dict[str, tuple[str, ...]]
) -> None:
    target = parse_target(method, uri)
    assert (target.method, target.segments, dict(target.query), target.uri) == (verb, segments, query, uri)
    assert target.line == f"{verb} {uri.partition('?')[0]}"


@pytest.mark.parametrize(
    ("method", "uri"),
    [
        (None, "/a"),
        ("", "/a"),
        ("GE T", "/a"),
        ("GET", None),
        ("GET", ""),
        ("GET", "a/b"),
        ("GET", "http://elsewhere/a"),
        ("GET", "/a b"),
        ("GET", "/a\n"),
        ("GET", "/a#frag"),
        ("GET", "/" + "a" * 9000),
        ("GET", "/a/%ff"),
        ("GET", "/a?x=%ff"),
        ("GET", "/a?" + "&".join(f"p{n}=1" for n in range(300))),
    ],
)
def test_malformed_targets_are_400(method: str | None, uri: str | None) -> None:
    with pytest.raises(TargetError) as refused:
        parse_target(method, uri)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "uri",
    [
        "//elsewhere/a",
        "/a/../b",
        "/a/./b",
        "/a//b",
        "/a/%2e%2e/b",
        "/a/%2E",
        "/a/b%2Fc",
        "/a/b%5cc",
        "/a/b\\c",
        "/a/%2525",
        "/a/%00",
    ],
)
def test_ambiguous_paths_are_refused(uri: str) -> None:
    """Paths a server could read otherwise than Gatehouse (dot segments, encoded slashes…) are refused (403)."""
    with pytest.raises(AmbiguousRequest) as refused:
        parse_target("GET", uri)
    assert refused.value.status == 403


# ------------------------------------------------------------------------------------------ matching

MATCHES: list[tuple[str, str, str | None, str | None]] = [
    ("GET", "/api/gateway_groups/dev/services/s1", "gateway:GetPublishedService", f"{GG}/dev/publishedservice/s1"),
    ("HEAD", "/api/gateway_groups/dev/services/s1", "gateway:GetPublishedService", f"{GG}/dev/publishedservice/s1"),
    ("GET", "/api/gateway_groups/dev/services/s1/", "gateway:GetPublishedService", f"{GG}/dev/publishedservice/s1"),
    ("POST", "/api/gateway_groups/dev/services/s1", None, None),  # no rule for POST
    ("GET", "/api/gateway_groups/dev/services", None, None),  # too short
    ("GET", "/api/gateway_groups/dev/services/s1/extra", None, None),  # too long
    (
        "PUT",
        "/apisix/admin/routes/7?gateway_group_id=prod",
        "gateway:UpdatePublishedService",
        f"{GG}/prod/publishedservice/*",
    ),
    (
        "PATCH",
        "/apisix/admin/routes/7?gateway_group_id=prod&x=1",
        "gateway:UpdatePublishedService",
        f"{GG}/prod/publishedservice/*",
    ),
    # no gateway_group_id: the first rule does not match, the next (any group) does, for PUT only
    ("PUT", "/apisix/admin/routes/7", "gateway:UpdatePublishedService", f"{GG}/*/publishedservice/*"),
    ("PATCH", "/apisix/admin/routes/7", None, None),
    ("GET", "/api/alert/policies", "gateway:GetAlertPolicy", "arn:api7:gateway:alert/*"),
    ("GET", "/api/alert/policies/3/histories", "gateway:GetAlertPolicy", "arn:api7:gateway:alert/*"),
    ("OPTIONS", "/api/license", "iam:UpdateLicense", "arn:gatehouse:iam:organization/*"),  # API7's spelling, canonical
    ("GET", "/nothing/here", None, None),
]


@pytest.mark.parametrize(("method", "uri", "action", "resource"), MATCHES)
def test_the_first_matching_rule_decides(method: str, uri: str, action: str | None, resource: str | None) -> None:
    found = match(TABLE, parse_target(method, uri))
    got = (found.action, found.resource) if found is not None else (None, None)
    assert got == (action, resource)
    if found is not None:
        assert found.labels is None


def test_order_matters() -> None:
    """Two rules for the same request: the earlier one wins."""
    narrow = compile_rule("GET", "/api/alert/policies/{id}", "gateway:UpdateAlertPolicy", "arn:api7:gateway:alert/*")
    target = parse_target("GET", "/api/alert/policies/1")
    first = match((narrow, REST), target)
    second = match((REST, narrow), target)
    assert first is not None and first.action == "gateway:UpdateAlertPolicy" and first.rule is narrow
    assert second is not None and second.action == "gateway:GetAlertPolicy" and second.rule is REST


def test_rule_labels_are_filled_in() -> None:
    found = match(TABLE, parse_target("DELETE", "/envs/staging/groups/g1"))
    assert found is not None
    assert found.resource == f"{GG}/g1"
    assert found.labels == {"gateway_group_label": {"env": "staging", "via": "rule"}}


def test_a_repeated_query_parameter_is_ambiguous() -> None:
    with pytest.raises(AmbiguousRequest, match="'gateway_group_id' is given 2 times"):
        match(TABLE, parse_target("PUT", "/apisix/admin/routes/7?gateway_group_id=dev&gateway_group_id=prod"))


@pytest.mark.parametrize(
    "uri",
    [
        "/apisix/admin/routes/7?gateway_group_id=",
        "/apisix/admin/routes/7?gateway_group_id=a%2Fb",
        "/apisix/admin/routes/7?gateway_group_id=a%20b",
        "/api/gateway_groups/a%20b/services/s1",
    ],
)
def test_values_unfit_for_a_name_are_refused(uri: str) -> None:
    """A value a rule would put into a resource name must be printable, without '/' or spaces."""
    method = "GET" if uri.startswith("/api/") else "PUT"
    with pytest.raises(AmbiguousRequest, match="cannot be part of a resource name"):
        match(TABLE, parse_target(method, uri))


def test_a_star_in_a_request_names_every_object_literally() -> None:
    """A '*' segment becomes a literal '*' in the name, which only a statement allowing every group allows."""
    found = match(TABLE, parse_target("GET", "/api/gateway_groups/*/services/s1"))
    assert found is not None and found.resource == f"{GG}/*/publishedservice/s1"


def test_rules_are_frozen() -> None:
    with pytest.raises(AttributeError):
        SERVICE.path = "/x"  # type: ignore[misc]
    assert isinstance(SERVICE, Rule) and SERVICE.covers("HEAD") and not SERVICE.covers("POST") and ANY.covers("TRACE")
