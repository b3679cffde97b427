"""The audit-log reading use cases behind the Audit Logs page and the admin API (on SQLite and PostgreSQL): a
search refused before its filters are even read, the filters read and checked once it is allowed, and who
may read the log at all."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gatehouse.errors import Forbidden, InvalidInput
from gatehouse.iam import audit_log
from gatehouse.iam.audit import Change, Origin, record
from gatehouse.store.audit import AuditQuery
from support.iam import People

ROOT = Origin("dashboard", "root")


def _seed(people: People) -> None:
    def write(connection: Connection) -> None:
        record(connection, ROOT, Change("iam:CreateRole", "role", "r-1"))
        record(connection, ROOT, Change("iam:DeleteUser", "user", "u-1"), status=403, error="no")

    people.run(write)


def test_a_refused_search_never_reads_its_filters(people: People) -> None:
    read: list[str] = []

    def filters() -> AuditQuery:
        read.append("read")
        raise InvalidInput("since: a day as YYYY-MM-DD.")

    with pytest.raises(Forbidden, match="iam:GetAudit"):
        people.run(lambda c: audit_log.search(c, people.nobody, filters))
    assert read == []
    with pytest.raises(InvalidInput, match="since"):
        people.run(lambda c: audit_log.search(c, people.viewer, filters))
    assert read == ["read"]


def test_a_search_takes_its_filters_checked_or_as_a_function_that_reads_them(people: People) -> None:
    _seed(people)
    query = audit_log.audit_query(event="iam:*", outcome="refused")
    given = people.run(lambda c: audit_log.search(c, people.viewer, query))
    read = people.run(lambda c: audit_log.search(c, people.viewer, lambda: query))
    assert [r.event for r in given.records] == [r.event for r in read.records] == ["iam:DeleteUser"]
    everything = people.run(lambda c: audit_log.search(c, people.root, AuditQuery(), limit=1))
    assert len(everything.records) == 1 and everything.next_cursor is not None
    with pytest.raises(InvalidInput):
        people.run(lambda c: audit_log.search(c, people.root, AuditQuery(), cursor="not a cursor"))


def test_who_may_read_and_export_the_log(people: People) -> None:
    assert audit_log.may_read(people.root) and audit_log.may_read(people.viewer)
    assert not audit_log.may_read(people.nobody)
    audit_log.require_export(people.root)
    for principal in (people.viewer, people.nobody):
        with pytest.raises(Forbidden, match="iam:ExportAudits"):
            audit_log.require_export(principal)
