"""Organization → Groups over HTTP, on both databases: the paged, searchable list of SCIM groups with member
counts and bound roles, a group's page with its first members, binding and unbinding roles (audited),
and refusals (the built-in Super Admin role, a Viewer, a user without roles)."""

from __future__ import annotations

import html
import re
import uuid

import sqlalchemy as sa
from starlette.testclient import TestClient

from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID
from gatehouse.store import group_directory
from gatehouse.store import roles as role_store
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from gatehouse.store.tables import groups
from support.dashboard import GROUPS, add_group, add_role, add_user, audit, browser, post_form, role_named


def listed(text: str) -> list[str]:
    """The group names of the table, as read (a search's highlights, ``<mark>``, left out)."""
    found = re.findall(r'<td><a href="/organization/groups/[0-9a-f-]{36}">(.*?)</a></td>', text)
    return [html.unescape(re.sub(r"</?mark>", "", name)) for name in found]


def bound(db: Database, group_id: str) -> list[str]:
    with db.snapshot() as connection:
        return [binding.role_id for binding in role_store.bindings_of(connection, [group_id])[group_id]]


# ------------------------------------------------------------------------------------------ the list


def test_the_list_is_paged_searchable_and_shows_members_and_roles(console: TestClient, db: Database) -> None:
    alice, bob = add_user(db, "alice"), add_user(db, "bob")
    for number in range(53):
        add_group(db, f"Team {number:02d}")
    engineering = add_group(db, "Engineering", (alice, bob))
    add_group(db, "engineering-leads", (alice,))
    with db.transaction() as connection:
        role_store.bind(connection, engineering, role_named(connection, "Viewer").id, "admin", utcnow())
    first = console.get(GROUPS)
    assert first.status_code == 200 and 'aria-current="page">Groups</a>' in first.text
    assert "Showing 1–50 of 55" in first.text and f'rel="next" href="{GROUPS}?page=2"' in first.text
    assert listed(first.text)[:3] == ["Engineering", "engineering-leads", "Team 00"]
    row = first.text.split('">Engineering</a></td>')[1].split("</tr>")[0]
    assert "<td>2</td>" in row and '<span class="badge badge-source">Viewer</span>' in row
    last = console.get(GROUPS, params={"page": "2"})
    assert "Showing 51–55 of 55" in last.text and listed(last.text) == [f"Team {n}" for n in range(48, 53)]
    assert listed(console.get(GROUPS, params={"page": "99"}).text) == listed(last.text)  # past the end: the last
    search = console.get(GROUPS, params={"q": "  ENGINEERING"})
    assert listed(search.text) == ["Engineering", "engineering-leads"] and "Showing 1–2 of 2" in search.text
    assert listed(console.get(GROUPS, params={"q": "team 5"}).text) == ["Team 50", "Team 51", "Team 52"]
    nothing = console.get(GROUPS, params={"q": "100%_"})
    assert nothing.status_code == 200 and "No group's name contains “100%_”" in nothing.text


def test_a_search_finds_any_part_of_a_name_by_relevance_and_highlights_it(console: TestClient, db: Database) -> None:
    """Three characters or more match anywhere in the name (any case, any accent), best matches first; the
    matches are marked, escaped; more than a page of matches is paged by a cursor."""
    for name in ("Platform Engineers", "Site <Reliability> Engineering", "Engineering", "Ingénieurs Réseau"):
        add_group(db, name)
    for number in range(55):
        add_group(db, f"Squad {number:02d} engine room")
    page = console.get(GROUPS, params={"q": "ENGIN"})
    assert listed(page.text)[:4] == [
        "Engineering",
        "Platform Engineers",
        "Site <Reliability> Engineering",
        "Squad 00 engine room",
    ]
    assert "Showing 1–50 of 58" in page.text
    assert "<mark>Engin</mark>eering" in page.text and "Site &lt;Reliability&gt; <mark>Engin</mark>eering" in page.text
    following = re.search(r'rel="next" href="([^"]+)"', page.text)
    assert following and "cursor=" in following.group(1)
    second = console.get(following.group(1).replace("&amp;", "&"))
    assert "Showing 51–58 of 58" in second.text and listed(second.text)[-1] == "Squad 54 engine room"
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    accents = console.get(GROUPS, params={"q": "ingenieur"})
    assert listed(accents.text) == ["Ingénieurs Réseau"] and "<mark>Ingénieur</mark>s" in accents.text


def test_an_empty_list_says_where_groups_come_from(console: TestClient) -> None:
    page = console.get(GROUPS)
    assert page.status_code == 200 and "No groups yet." in page.text and "SCIM Provisioning" in page.text


def test_the_listing_reads_a_search_through_the_name_index(console: TestClient, db: Database) -> None:
    """A search's count and page are a range of ``uq_groups_display_name_lower`` on both databases."""
    for name in ("Alpha", "Beta", "beta-two", "Gamma"):
        add_group(db, name)
    with db.snapshot() as connection:
        found = group_directory.list_groups(connection, "BETA", 1, 1)
        assert [row.display_name for row in found.rows] == ["Beta"] and found.total == 2 and found.pages == 2
        assert group_directory.code_point_order(connection)  # SQLite, and the test server's C.UTF-8
        where = group_directory.name_prefix(connection, "b")
        statements = [
            sa.select(sa.func.count()).select_from(groups).where(*where),
            sa.select(groups.c.id).where(*where).order_by(groups.c.display_name_lower).limit(50),
        ]
        for statement in statements:
            sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
            if connection.dialect.name == "sqlite":
                plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
                assert "SEARCH groups USING" in plan and "INDEX uq_groups_display_name_lower (" in plan, plan
            else:
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = " ".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
                assert "uq_groups_display_name_lower" in plan and "Index Cond" in plan, plan


# ------------------------------------------------------------------------------------------ one group


def test_a_group_page_shows_its_roles_and_first_members(console: TestClient, db: Database) -> None:
    members = tuple(add_user(db, name) for name in ("zoe", "adam", "mia"))
    group_id = add_group(db, "Engineering", members)
    role_id = add_role(db, "Ops")
    with db.transaction() as connection:
        role_store.bind(connection, group_id, role_id, "admin", utcnow())
    page = console.get(f"{GROUPS}/{group_id}")
    assert page.status_code == 200 and "<h1>Engineering</h1>" in page.text
    assert "<dt>Members</dt><dd>3</dd>" in page.text and "3 members, by username:" in page.text
    names = re.findall(r'<li><a href="/organization/users/([0-9a-f-]{36})">([^<]+)</a>', page.text)
    assert [name for _, name in names] == ["adam", "mia", "zoe"] and names[0][0] == members[1]
    assert f'href="/organization/roles/{role_id}">Ops</a>' in page.text
    assert "/roles/unbind" in page.text and "/roles/bind" in page.text
    assert console.get(f"{GROUPS}/{uuid.uuid4()}").status_code == 404


def test_bind_and_unbind_roles_audited(console: TestClient, db: Database) -> None:
    group_id = add_group(db, "Engineering")
    role_id = add_role(db, "Ops")
    page = console.get(f"{GROUPS}/{group_id}")
    assert f'<option value="{role_id}">Ops</option>' in page.text
    assert f'<option value="{SUPER_ADMIN_ROLE_ID}">' not in page.text  # not offered
    done = post_form(console, f"{GROUPS}/{group_id}/roles/bind", {"role_id": role_id})
    assert done.status_code == 303 and done.headers["location"] == f"{GROUPS}/{group_id}"
    assert bound(db, group_id) == [role_id]
    assert "Role bound" in console.get(f"{GROUPS}/{group_id}").text
    assert post_form(console, f"{GROUPS}/{group_id}/roles/unbind", {"role_id": role_id}).status_code == 303
    assert bound(db, group_id) == []
    empty = post_form(console, f"{GROUPS}/{group_id}/roles/bind", {"role_id": ""})
    assert empty.status_code == 400 and "Choose a role" in empty.text
    missing = post_form(console, f"{GROUPS}/{uuid.uuid4()}/roles/bind", {"role_id": role_id})
    assert missing.status_code == 404
    records = audit(db, "iam:UpdateGroupBinding")
    assert [(r["outcome"], r["status"], r["summary"]) for r in records[:3]] == [
        ("success", 200, {"bind_role": role_id}),
        ("success", 200, {"unbind_role": role_id}),
        ("failed", 400, {"bind_role": ""}),
    ]
    assert records[0]["resource_type"] == "group" and records[0]["resource_id"] == group_id
    assert records[3]["outcome"] == "failed" and records[3]["status"] == 404


def test_the_super_admin_role_cannot_be_bound(console: TestClient, db: Database) -> None:
    group_id = add_group(db, "Engineering")
    refused = post_form(console, f"{GROUPS}/{group_id}/roles/bind", {"role_id": SUPER_ADMIN_ROLE_ID})
    assert refused.status_code == 403 and "held by Super Admin accounts only" in refused.text
    assert bound(db, group_id) == []
    assert [(r["outcome"], r["status"]) for r in audit(db, "iam:UpdateGroupBinding")] == [("refused", 403)]


# ------------------------------------------------------------------------------------------ refusals


def test_a_viewer_sees_bindings_but_cannot_change_them(console: TestClient, db: Database) -> None:
    group_id = add_group(db, "Engineering")
    role_id = add_role(db, "Ops")
    with db.transaction() as connection:
        role_store.bind(connection, group_id, role_id, "admin", utcnow())
    add_user(db, "vera", "Viewer")
    vera = browser(console, "vera")
    assert listed(vera.get(GROUPS).text) == ["Engineering"]
    page = vera.get(f"{GROUPS}/{group_id}")
    assert page.status_code == 200 and "Ops" in page.text
    assert "/roles/bind" not in page.text and "/roles/unbind" not in page.text
    other = add_role(db, "Other")
    for url, role in ((f"{GROUPS}/{group_id}/roles/bind", other), (f"{GROUPS}/{group_id}/roles/unbind", role_id)):
        response = post_form(vera, url, {"role_id": role})
        assert response.status_code == 403 and "Not allowed" in response.text and "Nothing was changed" in response.text
    assert bound(db, group_id) == [role_id]
    assert [(r["outcome"], r["actor"]) for r in audit(db, "iam:UpdateGroupBinding")] == [
        ("refused", "vera"),
        ("refused", "vera"),
    ]


def test_a_user_without_roles_may_not_see_groups(console: TestClient, db: Database) -> None:
    group_id = add_group(db, "Engineering")
    add_user(db, "nora")
    nora = browser(console, "nora")
    assert nora.get(GROUPS).status_code == 403
    assert nora.get(f"{GROUPS}/{group_id}").status_code == 403
    assert 'href="/organization/groups"' not in nora.get(GROUPS).text
