"""Resource names from outside (the decision API, rules, labels): checked, spelled Gatehouse's way, taken apart,
and which stored labels a check on them reads."""

from __future__ import annotations

import pytest

from gatehouse.iam.resource_names import ResourceNameError, label_sources, parse_resource

GG = "arn:api7:gateway:gatewaygroup"

PARSED = [
    ("arn:gatehouse:iam:user/u1", "arn:gatehouse:iam:user/u1", "user", None, "u1"),
    ("arn:api7:iam:role/r1", "arn:gatehouse:iam:role/r1", "role", None, "r1"),
    ("arn:api7:iam:organization/*", "arn:gatehouse:iam:organization/*", "organization", None, None),
    ("arn:gatehouse:iam:role/*", "arn:gatehouse:iam:role/*", "role", None, "*"),
    (f"{GG}/dev", f"{GG}/dev", "gatewaygroup", "dev", "dev"),
    (f"{GG}/*", f"{GG}/*", "gatewaygroup", "*", "*"),
    (f"{GG}/dev/publishedservice/s1", f"{GG}/dev/publishedservice/s1", "publishedservice", "dev", "s1"),
    (f"{GG}/dev/consumer/alice", f"{GG}/dev/consumer/alice", "consumer", "dev", "alice"),
    ("arn:api7:gateway:servicetemplate/t1", "arn:api7:gateway:servicetemplate/t1", "servicetemplate", None, "t1"),
    ("arn:api7:gateway:gatewaysetting/*", "arn:api7:gateway:gatewaysetting/*", "gatewaysetting", None, None),
    ("arn:api7:gateway:alert/*", "arn:api7:gateway:alert/*", "alert", None, None),
]


@pytest.mark.parametrize(("text", "name", "kind", "group", "id"), PARSED)
def test_names_are_taken_apart(text: str, name: str, kind: str, group: str | None, id: str | None) -> None:
    found = parse_resource(text)
    assert (found.name, found.kind, found.group, found.id) == (name, kind, group, id)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "role/r1",
        "arn:gatehouse:iam:users/u1",
        "arn:gatehouse:iam:user/",
        "arn:gatehouse:iam:user/a/b",
        "arn:gatehouse:iam:user/a b",
        "arn:gatehouse:iam:organization/o1",
        f"{GG}/",
        f"{GG}/dev/",
        f"{GG}/dev/routes/r1",
        f"{GG}/dev/publishedservice",
        f"{GG}/dev/publishedservice/s1/x",
        "arn:api7:gateway:gatewaysetting/x",
        "arn:api7:gateway:nothing/x",
        "arn:gatehouse:gateway:gatewaygroup/x",
        f"{GG}/" + "x" * 300,
        f"{GG}/a\u0000b",
    ],
)
def test_bad_names_are_refused(text: str) -> None:
    with pytest.raises(ResourceNameError) as refused:
        parse_resource(text)
    assert refused.value.status == 400


SOURCES = [
    (f"{GG}/dev", {"gateway_group_label": f"{GG}/dev"}),
    (f"{GG}/*", {}),
    (
        f"{GG}/dev/publishedservice/s1",
        {"gateway_group_label": f"{GG}/dev", "service_label": f"{GG}/dev/publishedservice/s1"},
    ),
    (f"{GG}/dev/publishedservice/*", {"gateway_group_label": f"{GG}/dev"}),
    (f"{GG}/*/publishedservice/s1", {}),
    (f"{GG}/dev/consumer/c1", {"gateway_group_label": f"{GG}/dev", "consumer_label": f"{GG}/dev/consumer/c1"}),
    ("arn:api7:gateway:servicetemplate/t1", {"service_label": "arn:api7:gateway:servicetemplate/t1"}),
    ("arn:api7:gateway:servicetemplate/*", {}),
    ("arn:api7:gateway:alert/*", {}),
    ("arn:gatehouse:iam:role/r1", {}),
]


@pytest.mark.parametrize(("text", "sources"), SOURCES)
def test_label_sources(text: str, sources: dict[str, str]) -> None:
    """A published service reads its group's labels as gateway_group_label and its own as service_label; '*'
    reads nothing (no one object has labels for it)."""
    assert label_sources(parse_resource(text)) == sources
