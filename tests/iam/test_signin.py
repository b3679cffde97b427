"""The password sign-in's session, as the dashboard and the admin API share it (on SQLite and PostgreSQL):
read back once opened, refused if its user was deactivated in the meantime, and ended by signing out; a password
hashed with older Argon2 parameters is hashed again with today's at the sign-in that proves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from gatehouse.iam import signin
from gatehouse.passwords import hash_password, rehashed
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


def test_a_hash_with_older_parameters_is_renewed_at_sign_in_and_keeps_working(people: People) -> None:
    weak = PasswordHasher(time_cost=2, memory_cost=32, parallelism=1).hash(PASSWORD)  # not the server's parameters
    people.run(lambda c: users.set_password(c, people.viewer_id, weak, must_change=True))
    opened = signin.sign_in(people.db, POLICY, "vera", PASSWORD, "192.0.2.1", "pytest")
    assert opened.must_change_password  # the flag is the account's, not the hash's
    renewed = people.run(lambda c: users.sign_in_account(c, "vera"))
    assert renewed is not None and renewed.password_hash not in (None, weak)
    assert rehashed(renewed.password_hash, PASSWORD) is None  # the server's parameters now
    assert renewed.must_change_password
    signin.sign_in(people.db, POLICY, "vera", PASSWORD, "192.0.2.1", "pytest")  # the renewed hash verifies
    again = people.run(lambda c: users.sign_in_account(c, "vera"))
    assert again is not None and again.password_hash == renewed.password_hash  # up to date: left alone
    with pytest.raises(signin.InvalidCredentials):
        signin.sign_in(people.db, POLICY, "vera", "not the password", "192.0.2.1", "pytest")
