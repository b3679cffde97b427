"""The password sign-in's session, as the dashboard and the admin API share it (on SQLite and PostgreSQL):
read back once opened, refused if its user was deactivated in the meantime, and ended by signing out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gatehouse.iam import signin
from gatehouse.passwords import hash_password
from gatehouse.store import users
from gatehouse.store.records import utcnow
from support.iam import People

PASSWORD = "vera's password 123"
POLICY = signin.SignInPolicy(
    max_failures=5, window=timedelta(minutes=5), idle=timedelta(minutes=30), absolute=timedelta(hours=8)
)


def _signed_in(people: People) -> signin.OpenedSession:
    people.run(lambda c: users.set_password(c, people.viewer_id, hash_password(PASSWORD), must_change=False))
    return signin.sign_in(people.db, POLICY, "vera", PASSWORD, "192.0.2.1", "pytest")


def test_the_opened_session_is_read_back_and_ended_by_signing_out(people: People) -> None:
    opened = _signed_in(people)
    session = people.run(lambda c: signin.opened_session(c, opened, POLICY.idle))
    assert session.user_id == people.viewer_id and session.user_name == "vera" and session.csrf_token
    people.run(lambda c: signin.sign_out(c, session))
    with pytest.raises(signin.InvalidCredentials):
        people.run(lambda c: signin.opened_session(c, opened, POLICY.idle))


def test_a_session_whose_user_was_deactivated_is_not_read_back(people: People) -> None:
    opened = _signed_in(people)
    people.run(lambda c: users.set_active(c, people.viewer_id, False, utcnow()))
    with pytest.raises(signin.InvalidCredentials) as refused:
        people.run(lambda c: signin.opened_session(c, opened, POLICY.idle))
    assert refused.value.status == 401


def test_signing_out_ends_only_that_session(people: People) -> None:
    first, second = _signed_in(people), _signed_in(people)
    people.run(lambda c: signin.sign_out(c, signin.opened_session(c, first, POLICY.idle)))
    assert people.run(lambda c: signin.opened_session(c, second, POLICY.idle)).user_id == people.viewer_id
