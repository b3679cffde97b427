"""The forward-auth rule table as administrators manage it, on both databases: who may read and change it,
ordering, the preset's switch, and the table the proxy's requests meet."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gatehouse.errors import Forbidden, NotFound, PreconditionFailed
from gatehouse.iam import gateway_access as access
from gatehouse.iam import gateway_preset
from gatehouse.iam.gateway_access import rule_input
from gatehouse.iam.gateway_rules import RuleError
from gatehouse.store import authz_rules
from support.iam import People

GG = "arn:api7:gateway:gatewaygroup"


def rule(path: str, action: str = "gateway:GetGatewayGroup") -> access.Rule:
    return rule_input(["GET"], path, action, f"{GG}/{{gg}}", {"gg": "gateway_group_id"})


def test_rules_in_order_with_the_preset_after(people: People) -> None:
    first = people.run(lambda c: access.create_rule(c, people.root, rule("/a")))
    second = people.run(lambda c: access.create_rule(c, people.root, rule("/b")))
    top = people.run(lambda c: access.create_rule(c, people.root, rule("/top"), 0))
    assert (first.position, second.position, top.position) == (0, 1, 0)
    table = people.run(lambda c: access.rule_table(c, people.root))
    assert [view.rule.path for view in table.rules] == ["/top", "/a", "/b"]
    assert table.may_update and not table.preset_enabled and table.preset == gateway_preset.RULES
    assert people.run(lambda c: access.active_rules(c)).rules == tuple(view.rule for view in table.rules)
    assert people.run(lambda c: access.set_preset(c, people.root, True)) is False
    active = people.run(lambda c: access.active_rules(c))
    assert active.rules[:3] == tuple(view.rule for view in table.rules)
    assert active.rules[3:] == gateway_preset.RULES and active.broken == ()


def test_move_update_delete(people: People) -> None:
    ids = [people.run(lambda c, p=p: access.create_rule(c, people.root, rule(p))).id for p in ("/1", "/2", "/3")]
    moved = people.run(lambda c: access.move_rule(c, people.root, ids[2], "up"))
    assert moved.position == 1
    people.run(lambda c: access.move_rule(c, people.root, ids[0], "bottom"))
    people.run(lambda c: access.move_rule(c, people.root, ids[1], "up"))  # already first: stays
    paths = [view.rule.path for view in people.run(lambda c: access.rule_table(c, people.root)).rules]
    assert paths == ["/2", "/3", "/1"]
    updated = people.run(
        lambda c: access.update_rule(c, people.root, ids[1], rule("/2b", "gateway:DeleteGatewayGroup"), 2, 1)
    )
    assert (updated.rule.path, updated.rule.action, updated.position, updated.version) == (
        "/2b",
        "gateway:DeleteGatewayGroup",
        2,
        2,
    )
    with pytest.raises(PreconditionFailed):
        people.run(lambda c: access.update_rule(c, people.root, ids[1], rule("/2c"), None, 1))
    deleted = people.run(lambda c: access.delete_rule(c, people.root, ids[2]))
    assert deleted.rule.path == "/3"
    with pytest.raises(NotFound):
        people.run(lambda c: access.get_rule(c, people.root, ids[2]))
    with pytest.raises(NotFound):
        people.run(lambda c: access.move_rule(c, people.root, ids[2], "down"))


def test_a_viewer_reads_but_does_not_change(people: People) -> None:
    """The starter Viewer holds iam:GetAuthzRule (iam:Get*), not iam:UpdateAuthzRule; no role, neither."""
    created = people.run(lambda c: access.create_rule(c, people.root, rule("/a")))
    table = people.run(lambda c: access.rule_table(c, people.viewer))
    assert len(table.rules) == 1 and not table.may_update
    assert people.run(lambda c: access.get_rule(c, people.viewer, created.id)).rule.path == "/a"
    for change in (
        lambda c: access.create_rule(c, people.viewer, rule("/b")),
        lambda c: access.update_rule(c, people.viewer, created.id, rule("/b")),
        lambda c: access.move_rule(c, people.viewer, created.id, "down"),
        lambda c: access.delete_rule(c, people.viewer, created.id),
        lambda c: access.set_preset(c, people.viewer, True),
    ):
        with pytest.raises(Forbidden, match="iam:UpdateAuthzRule"):
            people.run(change)
    with pytest.raises(Forbidden, match="iam:GetAuthzRule"):
        people.run(lambda c: access.rule_table(c, people.nobody))
    with pytest.raises(Forbidden):
        access.require_update(people.viewer)
    assert access.may_update(people.root) and not access.may_update(people.viewer)


def test_a_stored_rule_that_no_longer_compiles_fails_closed(people: People) -> None:
    """A rule broken by an upgrade (say, its action left the catalog) denies every request until fixed."""
    view = people.run(lambda c: access.create_rule(c, people.root, rule("/a")))
    with people.db.transaction() as connection:
        stored = authz_rules.get(connection, view.id)
        assert stored is not None
        broken = replace(access.rule_write(view.rule), action="gateway:Removed")
        authz_rules.update(connection, view.id, broken, stored.updated)
    active = people.run(lambda c: access.active_rules(c))
    assert active.broken == (view.id,) and active.rules == ()


def test_rules_are_checked_before_they_are_written() -> None:
    with pytest.raises(RuleError, match="action"):
        rule_input("GET", "/a", "gateway:Nope", f"{GG}/x")
    assert access.rule_summary(rule("/x"))["query"] == {"gg": "gateway_group_id"}
