"""Which user an SSO login signs in as: a pure decision over the candidates the caller has loaded.

The rule, in the issue's words: "A login matches the user already linked to the option's subject; else a
SCIM-provisioned user whose externalId equals the subject, or whose userName/email equals the claim when the
IdP marks the email verified. It never links to a local password account or a Super Admin by name or email
(no takeover through a look-alike IdP account). A setting 'Only users provisioned by SCIM may sign in' (on
by default when SCIM is enabled) refuses others with a clear page; otherwise the user is created on first
login with source SSO. Deactivated users are refused."

:func:`decide` applies it; the caller loads :class:`Candidates` (one indexed look-up each), then carries
out the :data:`LinkDecision`: sign in, store the (login option, subject) link and sign in, create the user
(source ``sso``) and the link, or show the refusal page. Matching by email relies on OIDC Core 1.0 §5.1
``email_verified`` (see :func:`gatehouse.sso.tokens.email_verified`); ``sub`` is the only stable
identifier of an end-user at a provider (OIDC Core §5.7), so names and emails are trusted only as far as
the provider verified them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Source = Literal["local", "scim", "sso"]
MatchReason = Literal["external_id", "email", "user_name"]
RefusalCode = Literal[
    "deactivated", "not_provisioned", "takeover_refused", "user_name_taken", "ambiguous_match", "missing_username"
]


@dataclass(frozen=True)
class UserRef:
    """What the decision needs to know of an existing user."""

    id: str
    user_name: str
    source: Source
    active: bool
    super_admin: bool = False


@dataclass(frozen=True)
class LoginIdentity:
    """The signed-in end-user as the login option's attribute mapping reads them from validated claims."""

    option_id: str
    subject: str
    user_name: str | None
    email: str | None
    email_verified: bool
    name: str | None = None


@dataclass(frozen=True)
class Candidates:
    """The users a login could be, each found by one look-up (or None).

    * ``linked``: the user linked to (``login.option_id``, ``login.subject``).
    * ``by_external_id``: the user whose ``externalId`` equals ``login.subject``.
    * ``by_user_name``: the user whose ``userName`` equals ``login.user_name``, case-insensitively.
    * ``by_email``: a user whose ``userName`` or an email equals ``login.email``, case-insensitively
      (load it even when the email is not verified: a match on a local account must still refuse).
    """

    linked: UserRef | None = None
    by_external_id: UserRef | None = None
    by_user_name: UserRef | None = None
    by_email: UserRef | None = None


@dataclass(frozen=True)
class UseLinked:
    """Sign in as the user already linked to this subject."""

    user: UserRef


@dataclass(frozen=True)
class LinkExisting:
    """Link this subject to an existing user, then sign in as them."""

    user: UserRef
    reason: MatchReason


@dataclass(frozen=True)
class CreateUser:
    """Create a user with source ``sso`` and link it to this subject (first login)."""

    user_name: str
    email: str | None
    name: str | None


@dataclass(frozen=True)
class Refuse:
    """Refuse the login; ``message`` is for the sign-in page, ``code`` for the audit log."""

    code: RefusalCode
    message: str


LinkDecision = UseLinked | LinkExisting | CreateUser | Refuse

MESSAGES: Final[dict[RefusalCode, str]] = {
    "deactivated": "Your account is deactivated. Ask an administrator to reactivate it.",
    "not_provisioned": (
        "Only users provisioned by SCIM may sign in, and your account has not been provisioned. Ask your "
        "administrator to assign you to this application in your identity provider."
    ),
    "takeover_refused": (
        "Your user name or email address belongs to an existing account that single sign-on may not sign in "
        "to. Ask an administrator to link your account to this login option."
    ),
    "user_name_taken": (
        "Your user name is already used by another account, and your identity provider did not verify that it "
        "is yours. Ask an administrator to link your account to this login option."
    ),
    "ambiguous_match": (
        "Your user name and your email address belong to two different accounts. Ask an administrator to link "
        "the right one to this login option."
    ),
    "missing_username": (
        "Your identity provider did not send a user name. Ask an administrator to check the login option's "
        "attributes mapping."
    ),
}


def refuse(code: RefusalCode) -> Refuse:
    return Refuse(code, MESSAGES[code])


def decide(login: LoginIdentity, candidates: Candidates, *, scim_only: bool) -> LinkDecision:
    """Decide which user ``login`` signs in as. The rules, first applicable wins:

    1. Existing link — "A login matches the user already linked to the option's subject": sign in as them
       (:class:`UseLinked`), whatever their source; a local account or Super Admin is reachable through
       SSO only this way, by a link an administrator made. "Deactivated users are refused"
       (``deactivated``). The link predates ``scim_only`` and outlives it: an administrator removes a
       user's access by deactivating them.
    2. externalId — "else a SCIM-provisioned user whose externalId equals the subject": only a user of
       source ``scim`` (no other source has an IdP-set externalId; others are ignored). Inactive:
       ``deactivated``. This match wins over any name or email match.
    3. Name or email on a local account or Super Admin — "It never links to a local password account or a
       Super Admin by name or email (no takeover through a look-alike IdP account)": if ``by_user_name`` or
       ``by_email`` is such an account, refuse (``takeover_refused``), verified email or not. Creating a
       second user would not do either: user names are unique case-insensitively.
    4. Verified name or email — "or whose userName/email equals the claim when the IdP marks the email
       verified": a ``scim`` user (or an ``sso`` user created by an earlier login, unless ``scim_only``)
       whose email or userName equals the **verified** email. ``by_email`` counts only when
       ``email_verified``; ``by_user_name`` only when the user name claim *is* that verified email
       (username-as-email) — a bare user name claim proves nothing, OIDC Core §5.7. Two different users
       matched this way: ``ambiguous_match``. Inactive: ``deactivated``. Otherwise :class:`LinkExisting`.
    5. SCIM only — "A setting 'Only users provisioned by SCIM may sign in' … refuses others with a clear
       page": with ``scim_only`` and no SCIM match above, ``not_provisioned``.
    6. Name in use — the user name claim names an existing user that rules 2–4 did not match (unverified):
       creating would collide, so ``user_name_taken`` (an administrator may link it).
    7. First login — "otherwise the user is created on first login with source SSO": :class:`CreateUser`
       with the user name claim (``missing_username`` when there is none), the email and the name.
    """
    linked = candidates.linked
    if linked is not None:
        return UseLinked(linked) if linked.active else refuse("deactivated")

    by_external_id = candidates.by_external_id
    if by_external_id is not None and by_external_id.source == "scim":
        return LinkExisting(by_external_id, "external_id") if by_external_id.active else refuse("deactivated")

    named: list[tuple[UserRef, MatchReason]] = []
    if candidates.by_email is not None:
        named.append((candidates.by_email, "email"))
    if candidates.by_user_name is not None:
        named.append((candidates.by_user_name, "user_name"))
    if any(user.source == "local" or user.super_admin for user, _ in named):
        return refuse("takeover_refused")

    verified = _verified_email(login)
    eligible = [
        (user, reason)
        for user, reason in named
        if verified is not None
        and (user.source == "scim" or (user.source == "sso" and not scim_only))
        and (reason == "email" or (login.user_name or "").strip().lower() == verified)
    ]
    if len({user.id for user, _ in eligible}) > 1:
        return refuse("ambiguous_match")
    if eligible:
        user, reason = eligible[0]
        return LinkExisting(user, reason) if user.active else refuse("deactivated")

    if scim_only:
        return refuse("not_provisioned")
    if candidates.by_user_name is not None:
        return refuse("user_name_taken")
    user_name = (login.user_name or "").strip()
    if not user_name:
        return refuse("missing_username")
    return CreateUser(user_name=user_name, email=login.email, name=login.name)


def _verified_email(login: LoginIdentity) -> str | None:
    """The login's email, lower-cased, when the provider verified it (OIDC Core §5.1); else None."""
    email = (login.email or "").strip().lower()
    return email if email and login.email_verified else None
