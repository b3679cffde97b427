"""Configuration files as text (:mod:`gatehouse.iam.config_file`): YAML and JSON read with the line of every key
and item, what a file may not hold (aliases, duplicate keys, keys that are not text), problems naming the object,
the field and the line, and deterministic writing."""

from __future__ import annotations

import pytest

from gatehouse.iam.config_file import MAX_DEPTH, ConfigError, Locator, Problem, dump, parse, render_path

YAML = """\
version: 1
roles:
  - name: Readers
    policies:
      - read all
  - {name: Ops, policies: [a, b]}
"""


def test_yaml_lines_of_keys_and_items() -> None:
    where = parse(YAML)
    assert where.data["roles"][1]["policies"] == ["a", "b"]
    assert where.line(("roles",)) == 2
    assert where.line(("roles", 0, "policies", 0)) == 5
    assert where.line(("roles", 1, "policies", 1)) == 6
    assert where.line(("roles", 0, "nothing", 3)) == 3  # the nearest enclosing key or item


def test_json_is_read_with_its_lines_too() -> None:
    where = parse('{\n  "version": 1,\n  "roles": [\n    {"name": "A"}\n  ]\n}\n')
    assert where.data == {"version": 1, "roles": [{"name": "A"}]}
    assert where.line(("roles", 0, "name")) == 4
    tabs = parse('{\n\t"version": 1,\n\t"roles": []\n}')  # YAML refuses tabs here: read as JSON, without lines
    assert tabs.data == {"version": 1, "roles": []}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [1]\nb: *x\n", "line 2: b: YAML anchors and aliases are not accepted: write the value out"),
        ("a: 1\nb: 2\na: 3\n", "line 3: a: the key 'a' is given twice (first at line 1)"),
        ("1: x\n", "line 1: the file: every key must be text"),
        ("a: [1, 2\n", "line 2: the file: not valid YAML or JSON: expected ',' or ']', but got '<stream end>'"),
        ('{"a": 1, "a": 2}', "line 1: a: the key 'a' is given twice (first at line 1)"),
        (b"\xff\xfe", "the file: the file is not UTF-8 text (invalid start byte)"),
        ("roles:\n  <<: {a: 1}\n", "line 2: roles: YAML merge keys (<<) are not accepted: write the keys out"),
        ("a: &x {b: 1}\nc:\n  <<: *x\n", "line 3: c: YAML merge keys (<<) are not accepted: write the keys out"),
        ('{\n\t"a": 1,\n\t"a": 2\n}', "the file: not valid JSON: the key 'a' is given twice in one object"),
        ('{\n\t"a": 1,\n\t"b" 2\n}', "line 3: the file: not valid JSON: Expecting ':' delimiter"),
        ('{\t"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "the file: nested deeper than 64 levels"),
        (b"#" * (16 * 1024 * 1024 + 1), "the file: the file is larger than 16 MiB"),
    ],
)
def test_what_a_file_may_not_hold(text: str | bytes, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(text)
    assert raised.value.lines() == [expected]


def test_problems_name_the_object_the_field_and_the_line() -> None:
    where = parse(YAML, "gatehouse.yaml")
    problem = where.problem(("roles", 1, "policies", 1), "no such policy")
    assert problem.text("gatehouse.yaml") == "gatehouse.yaml:6: role 'Ops' (roles[1]), policies[1]: no such policy"
    assert problem.as_dict() == {
        "path": "roles[1].policies[1]",
        "line": 6,
        "object": "role 'Ops'",
        "field": "policies[1]",
        "message": "no such policy",
    }
    assert Locator({"scim": {"tokens": ["ghs_" + "x" * 40]}}).problem(("scim", "tokens", 0), "no").subject == (
        "SCIM token 1"  # never the secret a token's name was mistaken for
    )
    assert Problem(("version",), "must be 1").text() == "version: must be 1"
    assert render_path(("gateway", "rules", 2, "labels", "env")) == "gateway.rules[2].labels.env"
    error = ConfigError([Problem((), "b", 9), Problem((), "a", 2)], "f.yaml")
    assert error.lines() == ["f.yaml:2: the file: a", "f.yaml:9: the file: b"]
    assert error.status == 400 and error.detail.startswith("The configuration has 2 problems: f.yaml:2:")


def test_writing_is_deterministic_with_literal_blocks() -> None:
    data = {"version": 1, "ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "yes": "yes"}
    text = dump(data)
    assert text == dump(dict(data)) and text.startswith("# Gatehouse access configuration")
    assert "ca: |-\n  -----BEGIN CERTIFICATE-----\n  MIIB\n" in text and "'yes': 'yes'" in text
    assert parse(text).data == data
    assert dump(data, "json").splitlines()[:2] == ["{", '  "version": 1,']


@pytest.mark.parametrize("opening", ["a: ", '{\t"a": '])  # YAML, and JSON that YAML cannot read (a tab)
def test_nesting_is_bounded_alike_in_yaml_and_json(opening: str) -> None:
    def nested(levels: int) -> str:
        return opening + "[" * levels + "]" * levels + ("}" if opening.startswith("{") else "")

    value, levels = parse(nested(MAX_DEPTH)).data["a"], 0
    while isinstance(value, list):
        value, levels = (value[0] if value else None), levels + 1
    assert levels == MAX_DEPTH  # as deep as allowed: read whole
    with pytest.raises(ConfigError) as raised:
        parse(nested(MAX_DEPTH + 1))
    (line,) = raised.value.lines()
    assert line.endswith(f"a{'[0]' * MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"), line


def test_a_quoted_double_angle_is_an_ordinary_key() -> None:
    assert parse('x:\n  "<<": 1\n').data == {"x": {"<<": 1}}


def test_a_problem_with_the_whole_file_is_named_by_the_file_s_name() -> None:
    with pytest.raises(ConfigError) as raised:
        parse(b"\xff\xfe", "/etc/gatehouse/access.yaml")
    assert raised.value.lines() == ["/etc/gatehouse/access.yaml: the file is not UTF-8 text (invalid start byte)"]
    assert Problem((), "a", 3).text("f.yaml") == "f.yaml:3: the file: a"  # at a line: as before
    assert Problem(("roles",), "b").text("f.yaml") == "f.yaml: roles: b"  # a place without a line (JSON)
    assert Problem(("roles",), "b").text() == "roles: b"
