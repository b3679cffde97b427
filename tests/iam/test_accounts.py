"""What every signed-in user may do with their own account (on SQLite and PostgreSQL): change their password
(the current one checked, the new one typed twice, different and strong enough; then every session of theirs
ends), and land on the user directory only if they may list users."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gatehouse.errors import InvalidInput, Unauthorized
from gatehouse.iam import accounts
from gatehouse.iam.authorizer import Principal
from gatehouse.passwords import hash_password, verify_password
from gatehouse.store import sessions, users
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from support.iam import People

CURRENT = "the current password 1"
NEW = "a brand new password 2"


def _with_password(people: People) -> str:
    """The viewer's password set to :data:`CURRENT` (a change required), and a session of theirs opened."""

    def setup(connection: Connection) -> str:
        users.set_password(connection, people.viewer_id, hash_password(CURRENT), must_change=True)
        cookie, _ = sessions.create(connection, people.viewer_id, utcnow(), timedelta(hours=1), None, None)
        return cookie

    return people.run(setup)


@pytest.mark.parametrize(
    ("current", "new", "again", "reason"),
    [
        ("not the current one", NEW, NEW, "The current password is not correct."),
        (CURRENT, NEW, NEW + "!", "The two new passwords differ."),
        (CURRENT, CURRENT, CURRENT, "Choose a password different from the current one."),
        (CURRENT, "too short", "too short", "at least 12 characters"),
    ],
)
def test_a_password_change_says_what_is_wrong(people: People, current: str, new: str, again: str, reason: str) -> None:
    _with_password(people)
    with pytest.raises(InvalidInput, match=reason):
        accounts.new_own_password(people.db, people.viewer, current, new, again)


def test_a_user_without_a_password_cannot_prove_the_current_one(people: People) -> None:
    with pytest.raises(InvalidInput, match="not correct"):
        accounts.new_own_password(people.db, people.nobody, "", NEW, NEW)


def test_changing_ones_password_clears_the_required_change_and_ends_every_session(people: People) -> None:
    cookie = _with_password(people)
    new_hash = accounts.new_own_password(people.db, people.viewer, CURRENT, NEW, NEW)
    assert verify_password(new_hash, NEW)
    people.run(lambda c: accounts.set_own_password(c, people.viewer, new_hash))
    account = people.run(lambda c: users.sign_in_account(c, "vera"))
    assert account is not None and account.password_hash == new_hash and not account.must_change_password
    assert people.run(lambda c: sessions.lookup(c, cookie, utcnow(), timedelta(hours=1))) is None


def test_only_a_signed_in_user_changes_their_password(people: People) -> None:
    anonymous = Principal.nobody()
    with pytest.raises(Unauthorized):
        accounts.new_own_password(people.db, anonymous, CURRENT, NEW, NEW)
    with pytest.raises(Unauthorized):
        people.run(lambda c: accounts.set_own_password(c, anonymous, hash_password(NEW)))


def test_those_who_may_list_users_land_on_the_directory(people: People) -> None:
    assert accounts.lands_on_directory(people.root) and accounts.lands_on_directory(people.viewer)
    assert not accounts.lands_on_directory(people.nobody)  # with no role: their own profile
