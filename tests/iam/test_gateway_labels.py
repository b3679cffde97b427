"""Labels of gateway resources as users set and read them, on both databases: the resource's own Update action
with its labels as they are and as they will be, the Get action to read them."""

from __future__ import annotations

import pytest

from gatehouse.errors import Forbidden, InvalidInput, NotFound
from gatehouse.iam import gateway_labels
from gatehouse.iam.authorizer import load_principal
from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY
from support.gateway import GG, grant_in, label
from support.iam import People, add_user


@pytest.fixture
def editor(people: People) -> str:
    """A user with full control of the groups labelled env=dev."""
    with people.db.transaction() as connection:
        user_id = add_user(connection, "devon")
        grant_in(connection, user_id, "dev editors", DEV_GROUPS_FULL_CONTROL)
    return user_id


def test_super_admin_labels_and_lists(people: People) -> None:
    found = people.run(lambda c: gateway_labels.set_labels(c, people.root, f"{GG}/dev", {"env": "dev"}))
    assert (found.resource, found.kind, found.labels, found.updated_by) == (
        f"{GG}/dev",
        "gatewaygroup",
        {"env": "dev"},
        "root",
    )
    people.run(lambda c: gateway_labels.set_labels(c, people.root, f"{GG}/dev/consumer/c1", {"tier": "gold"}))
    listed = people.run(lambda c: gateway_labels.list_labels(c, people.root))
    assert [item.resource for item in listed] == [f"{GG}/dev", f"{GG}/dev/consumer/c1"]
    assert [
        item.resource for item in people.run(lambda c: gateway_labels.list_labels(c, people.root, f"{GG}/dev/"))
    ] == [f"{GG}/dev/consumer/c1"]
    people.run(lambda c: gateway_labels.set_labels(c, people.root, f"{GG}/dev", {}))
    assert people.run(lambda c: gateway_labels.get_labels(c, people.root, f"{GG}/dev")).labels == {}


def test_an_env_dev_editor_relabels_dev_only_and_never_out_of_dev(people: People, editor: str) -> None:
    label(people.db, f"{GG}/dev", env="dev")
    label(people.db, f"{GG}/prod", env="prod")
    with people.db.snapshot() as connection:
        devon = load_principal(connection, editor)
    done = people.run(lambda c: gateway_labels.set_labels(c, devon, f"{GG}/dev", {"env": "dev", "team": "a"}))
    assert done.labels == {"env": "dev", "team": "a"}
    with pytest.raises(Forbidden, match="gateway:UpdateGatewayGroup"):  # prod, as it is
        people.run(lambda c: gateway_labels.set_labels(c, devon, f"{GG}/prod", {"env": "dev"}))
    with pytest.raises(Forbidden):  # dev, as it would be
        people.run(lambda c: gateway_labels.set_labels(c, devon, f"{GG}/dev", {"env": "prod"}))
    # a service in a dev group: its group's labels decide (gateway_group_label)
    service = f"{GG}/dev/publishedservice/s1"
    assert people.run(lambda c: gateway_labels.set_labels(c, devon, service, {"team": "a"})).kind == "publishedservice"
    listed = [item.resource for item in people.run(lambda c: gateway_labels.list_labels(c, devon))]
    assert listed == [f"{GG}/dev", service]  # prod is not readable by devon


def test_reading_needs_the_get_action(people: People) -> None:
    label(people.db, f"{GG}/prod", env="prod")
    with pytest.raises(NotFound):
        people.run(lambda c: gateway_labels.get_labels(c, people.viewer, f"{GG}/prod"))
    assert people.run(lambda c: gateway_labels.list_labels(c, people.viewer)) == []
    with people.db.transaction() as connection:
        grant_in(connection, people.viewer_id, "gateway readers", GATEWAY_READ_ONLY)
    reader = people.again(people.viewer)
    assert people.run(lambda c: gateway_labels.get_labels(c, reader, f"{GG}/prod")).labels == {"env": "prod"}
    with pytest.raises(Forbidden):
        people.run(lambda c: gateway_labels.set_labels(c, reader, f"{GG}/prod", {"env": "x"}))


@pytest.mark.parametrize(
    ("resource", "labels", "message"),
    [
        (f"{GG}/*", {"env": "dev"}, "labels are kept for one gateway group"),
        ("arn:api7:gateway:alert/*", {"a": "b"}, "labels are kept for one"),
        ("arn:gatehouse:iam:role/r1", {"a": "b"}, "labels are kept for one"),
        ("nonsense", {"a": "b"}, "is not a resource name"),
        (f"{GG}/dev", {"-bad": "x"}, "labels.-bad"),
        (f"{GG}/dev", {"k": "\n"}, "printable"),
    ],
)
def test_bad_labels_are_refused(people: People, resource: str, labels: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        people.run(lambda c: gateway_labels.set_labels(c, people.root, resource, labels))
