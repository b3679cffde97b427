"""Which user an SSO login links to: every branch of :func:`gatehouse.login.linking.decide`, as a table.

The takeover cases are the point: a look-alike IdP account (same email or user name as a local admin), an
unverified email that happens to match a SCIM user, a user name claim that is not the verified email.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gatehouse.login.linking import (
    MESSAGES,
    Candidates,
    CreateUser,
    LinkDecision,
    LinkExisting,
    LoginIdentity,
    Refuse,
    UseLinked,
    UserRef,
    decide,
)

SCIM = UserRef("u-scim", "jane@example.com", "scim", active=True)
SCIM_OTHER = UserRef("u-scim-2", "jdoe", "scim", active=True)
SCIM_INACTIVE = UserRef("u-scim-off", "jane@example.com", "scim", active=False)
SSO = UserRef("u-sso", "jane@example.com", "sso", active=True)
SSO_INACTIVE = UserRef("u-sso-off", "jane@example.com", "sso", active=False)
LOCAL = UserRef("u-local", "jane@example.com", "local", active=True)
LOCAL_INACTIVE = UserRef("u-local-off", "jane@example.com", "local", active=False)
ADMIN = UserRef("u-admin", "admin", "local", active=True, super_admin=True)


def login(
    *, user_name: str | None = "jane@example.com", email: str | None = "jane@example.com", verified: bool = True
) -> LoginIdentity:
    return LoginIdentity("opt-1", "sub-123", user_name, email, verified, name="Jane Doe")


VERIFIED = login()
UNVERIFIED = login(verified=False)
PLAIN_NAME = login(user_name="jdoe")  # a user name claim that is not an email
NEW = CreateUser("jane@example.com", "jane@example.com", "Jane Doe")


@dataclass(frozen=True)
class Case:
    id: str
    login: LoginIdentity
    candidates: Candidates
    scim_only: bool
    expected: LinkDecision | str  # a decision, or the code of a refusal


CASES = [
    # 1. the existing link wins
    Case("linked scim user", VERIFIED, Candidates(linked=SCIM), False, UseLinked(SCIM)),
    Case("linked sso user", UNVERIFIED, Candidates(linked=SSO), False, UseLinked(SSO)),
    Case("linked local account (admin-made link)", VERIFIED, Candidates(linked=LOCAL), False, UseLinked(LOCAL)),
    Case("linked super admin (admin-made link)", VERIFIED, Candidates(linked=ADMIN), True, UseLinked(ADMIN)),
    Case("linked user under scim_only", VERIFIED, Candidates(linked=SSO), True, UseLinked(SSO)),
    Case(
        "link beats every other match",
        VERIFIED,
        Candidates(linked=SSO, by_external_id=SCIM, by_user_name=LOCAL, by_email=ADMIN),
        False,
        UseLinked(SSO),
    ),
    Case("deactivated linked user refused", VERIFIED, Candidates(linked=SSO_INACTIVE), False, "deactivated"),
    Case("deactivated linked local refused", VERIFIED, Candidates(linked=LOCAL_INACTIVE), False, "deactivated"),
    Case(
        "deactivated link is not bypassed by another match",
        VERIFIED,
        Candidates(linked=SCIM_INACTIVE, by_email=SSO),
        False,
        "deactivated",
    ),
    # 2. externalId, SCIM users only
    Case("externalId match", UNVERIFIED, Candidates(by_external_id=SCIM), True, LinkExisting(SCIM, "external_id")),
    Case(
        "externalId match beats email",
        VERIFIED,
        Candidates(by_external_id=SCIM_OTHER, by_email=SCIM),
        False,
        LinkExisting(SCIM_OTHER, "external_id"),
    ),
    Case(
        "externalId match beats a look-alike local account",
        VERIFIED,
        Candidates(by_external_id=SCIM, by_email=LOCAL),
        True,
        LinkExisting(SCIM, "external_id"),
    ),
    Case("externalId match deactivated", VERIFIED, Candidates(by_external_id=SCIM_INACTIVE), False, "deactivated"),
    Case(
        "externalId on an sso user ignored",
        login(email=None),
        Candidates(by_external_id=SSO),
        False,
        CreateUser("jane@example.com", None, "Jane Doe"),
    ),
    Case("externalId on a local user ignored", VERIFIED, Candidates(by_external_id=LOCAL), True, "not_provisioned"),
    # 3. no takeover of local accounts or Super Admins by name or email
    Case("look-alike verified email on a local admin", VERIFIED, Candidates(by_email=ADMIN), False, "takeover_refused"),
    Case("look-alike email on a local account", VERIFIED, Candidates(by_email=LOCAL), False, "takeover_refused"),
    Case("unverified email on a local account", UNVERIFIED, Candidates(by_email=LOCAL), False, "takeover_refused"),
    Case("user name of a local account", PLAIN_NAME, Candidates(by_user_name=LOCAL), False, "takeover_refused"),
    Case(
        "user name of a super admin", login(user_name="admin"), Candidates(by_user_name=ADMIN), True, "takeover_refused"
    ),
    Case(
        "local account refused even beside a SCIM match",
        VERIFIED,
        Candidates(by_user_name=SCIM, by_email=LOCAL),
        False,
        "takeover_refused",
    ),
    Case(
        "deactivated local account still refused as takeover",
        VERIFIED,
        Candidates(by_email=LOCAL_INACTIVE),
        False,
        "takeover_refused",
    ),
    # 4. verified email or username-as-email on SCIM (or SSO) users
    Case("verified email on a SCIM user", VERIFIED, Candidates(by_email=SCIM), True, LinkExisting(SCIM, "email")),
    Case(
        "username-as-email on a SCIM user",
        VERIFIED,
        Candidates(by_user_name=SCIM),
        True,
        LinkExisting(SCIM, "user_name"),
    ),
    Case(
        "same user by name and email",
        VERIFIED,
        Candidates(by_user_name=SCIM, by_email=SCIM),
        False,
        LinkExisting(SCIM, "email"),
    ),
    Case(
        "email case differs",
        login(user_name="Jane@Example.COM", email="JANE@example.com"),
        Candidates(by_user_name=SCIM),
        True,
        LinkExisting(SCIM, "user_name"),
    ),
    Case("sso user by verified email", VERIFIED, Candidates(by_email=SSO), False, LinkExisting(SSO, "email")),
    Case("sso user by verified email under scim_only", VERIFIED, Candidates(by_email=SSO), True, "not_provisioned"),
    Case("unverified email on a SCIM user: not linked", UNVERIFIED, Candidates(by_email=SCIM), False, NEW),
    Case("unverified email on a SCIM user, scim_only", UNVERIFIED, Candidates(by_email=SCIM), True, "not_provisioned"),
    Case(
        "unverified username-as-email on a SCIM user",
        UNVERIFIED,
        Candidates(by_user_name=SCIM),
        False,
        "user_name_taken",
    ),
    Case(
        "plain user name on a SCIM user: not linked",
        PLAIN_NAME,
        Candidates(by_user_name=SCIM_OTHER),
        False,
        "user_name_taken",
    ),
    Case(
        "plain user name on a SCIM user, scim_only",
        PLAIN_NAME,
        Candidates(by_user_name=SCIM_OTHER),
        True,
        "not_provisioned",
    ),
    Case(
        "user name claim differs from the verified email",
        login(user_name="boss@example.com"),
        Candidates(by_user_name=SCIM),
        True,
        "not_provisioned",
    ),
    Case(
        "plain user name ignored, verified email links",
        PLAIN_NAME,
        Candidates(by_user_name=SCIM_OTHER, by_email=SCIM),
        True,
        LinkExisting(SCIM, "email"),
    ),
    Case(
        "name and email on two different users",
        VERIFIED,
        Candidates(by_user_name=SSO, by_email=SCIM),
        False,
        "ambiguous_match",
    ),
    Case(
        "verified email on a deactivated SCIM user", VERIFIED, Candidates(by_email=SCIM_INACTIVE), True, "deactivated"
    ),
    Case("verified email on a deactivated sso user", VERIFIED, Candidates(by_email=SSO_INACTIVE), False, "deactivated"),
    Case("verified flag without an email", login(email=None), Candidates(by_user_name=SCIM), False, "user_name_taken"),
    # 5–7. nobody matched
    Case("first login, scim_only", VERIFIED, Candidates(), True, "not_provisioned"),
    Case("first login creates the user", VERIFIED, Candidates(), False, NEW),
    Case("first login, unverified email", UNVERIFIED, Candidates(), False, NEW),
    Case(
        "first login, plain user name",
        PLAIN_NAME,
        Candidates(),
        False,
        CreateUser("jdoe", "jane@example.com", "Jane Doe"),
    ),
    Case("first login without user name", login(user_name=None), Candidates(), False, "missing_username"),
    Case("first login with a blank user name", login(user_name="  "), Candidates(), False, "missing_username"),
    Case("blank user name under scim_only", login(user_name=None), Candidates(), True, "not_provisioned"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_decide(case: Case) -> None:
    decision = decide(case.login, case.candidates, scim_only=case.scim_only)
    if isinstance(case.expected, str):
        assert isinstance(decision, Refuse), decision
        assert decision.code == case.expected
        assert decision.message == MESSAGES[case.expected]
    else:
        assert decision == case.expected


def test_case_ids_are_unique() -> None:
    assert len({case.id for case in CASES}) == len(CASES)


def test_every_refusal_has_a_clear_message_and_is_reached() -> None:
    reached = {case.expected for case in CASES if isinstance(case.expected, str)}
    assert reached == set(MESSAGES)
    for message in MESSAGES.values():
        assert message.endswith(".")
        assert "Ask" in message


def test_every_decision_kind_is_reached() -> None:
    kinds = {type(case.expected) for case in CASES if not isinstance(case.expected, str)}
    assert kinds == {UseLinked, LinkExisting, CreateUser}


def test_created_user_name_is_trimmed() -> None:
    decision = decide(login(user_name="  jdoe "), Candidates(), scim_only=False)
    assert decision == CreateUser("jdoe", "jane@example.com", "Jane Doe")
