"""The end of every SSO sign-in, whatever the protocol (OpenID Connect, LDAP, SAML): once the protocol has
vouched for the person, in one transaction the user is found, linked or created
(:mod:`gatehouse.login.linking`), their mapped roles and boundaries are recomputed from the option's rules
(:mod:`gatehouse.login.mapping`, re-applied at every sign-in), a server-side session is opened and the
sign-in is recorded in the audit log (``auth:SignIn``, source ``sso``, the method and the option named).

Refusals raise :class:`SsoRefused` with a reason code; the protocol's caller records them in a transaction of
its own (:meth:`Attempt.change`), so no refusal opens a session or changes a user.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound
from gatehouse.iam import scim_control
from gatehouse.iam.audit import Change, Origin, record
from gatehouse.iam.users import NewLocalUser, local_user_document
from gatehouse.login import linking
from gatehouse.login.mapping import evaluate
from gatehouse.login.options import LoginOption
from gatehouse.login.saml import SamlSubject
from gatehouse.secrets_box import LazySecretBox
from gatehouse.sso.failure import Reasoned
from gatehouse.sso.provider import ProviderClient
from gatehouse.store import sessions, sso_candidates, sso_links, user_events
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow
from gatehouse.store.user_events import UserEventKind

SIGN_IN = Change("auth:SignIn", "user")


START: Final = Change("auth:StartSignIn", "login_option")
"""The audit event of a sign-in that starts at Gatehouse (to the provider), by any protocol."""


@dataclass(eq=False)
class RedirectFlow:
    """What a sign-in flow that sends the browser to a provider holds, for one app: the database, the
    provider client, the public URL, the secrets box, how long a session lasts, and the environment (for
    secrets named by a variable)."""

    db: Database
    provider: ProviderClient
    public_url: str
    secrets: LazySecretBox
    session_lifetime: timedelta
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)


class OptionUnavailable(Reasoned, NotFound):
    """The login option does not exist, is disabled, or is of another kind than the address says."""

    default_detail = "This sign-in option does not exist or is turned off. Go back to the sign-in page."

    def __init__(self) -> None:
        super().__init__("option_unavailable")


class SsoRefused(Reasoned, Forbidden):
    """The protocol vouched for the user, but Gatehouse does not let them in (see :mod:`linking`)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A completed SSO sign-in: the session cookie and where to go."""

    cookie: str
    user_id: str
    user_name: str
    next_path: str
    option_id: str


@dataclass(slots=True)
class Attempt:
    """What is known of a sign-in so far, for its audit record."""

    option_id: str
    ip: str | None
    agent: str | None
    method: str = "oidc"
    option_name: str | None = None
    subject: str | None = None
    user_name: str | None = None
    user_id: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def origin(self) -> Origin:
        actor = (self.user_name or self.subject or "anonymous")[:255]
        return Origin("sso", actor, self.user_id, self.ip, self.agent)

    def change(self, reason: str | None = None) -> Change:
        summary = {"method": self.method, "login_option": self.option_name or self.option_id, **self.summary}
        if reason:
            summary["reason"] = reason
        return SIGN_IN.about(self.user_id, **summary)


def usable(option: LoginOption | None, kind: str, attempt: Attempt) -> LoginOption:
    """``option`` if it exists, is enabled and of ``kind``; else :class:`OptionUnavailable`."""
    if option is None or not option.enabled or option.kind != kind:
        raise OptionUnavailable()
    attempt.option_name = option.name
    return option


def complete(
    connection: Connection,
    attempt: Attempt,
    option: LoginOption,
    login: linking.LoginIdentity,
    claims: Mapping[str, Any],
    session_lifetime: timedelta,
    saml: SamlSubject | None = None,
) -> tuple[str, str, str]:
    """Sign ``login`` in through ``option`` (see the module; a SAML sign-in's session keeps ``saml``, whom its
    assertion named, for Single Logout); returns (session cookie, user id, user name)."""
    candidates, email_matches = sso_candidates.load(connection, login)
    decision = _ambiguous(candidates, email_matches, login) or linking.decide(
        login, candidates, scim_only=option.effective_scim_only(scim_control.is_enabled(connection))
    )
    now = utcnow()
    if isinstance(decision, linking.Refuse):
        if candidates.linked is not None:
            attempt.user_id = candidates.linked.id
        raise SsoRefused(decision.code, decision.message)
    if isinstance(decision, linking.CreateUser):
        user_id, user_name = _create(connection, decision, attempt.option_name or option.id, now)
        attempt.summary["created"] = True
    else:
        user_id, user_name = decision.user.id, decision.user.user_name
    attempt.user_id, attempt.user_name = user_id, user_name
    if isinstance(decision, linking.UseLinked):
        sso_links.touch(connection, option.id, login.subject, now)
    else:
        sso_links.link(connection, option.id, login.subject, user_id, now)
        sso_links.touch(connection, option.id, login.subject, now)
        attempt.summary["linked_by"] = decision.reason if isinstance(decision, linking.LinkExisting) else "created"
    result = evaluate(option.rules(), claims)
    granted, removed = sso_links.set_mapped(
        connection, user_id, result.roles.keys(), result.boundaries.keys(), f"SSO: {option.name}", now
    )
    attempt.summary.update(
        roles_granted=sorted(granted.roles), roles_removed=sorted(removed.roles),
        boundaries_granted=sorted(granted.boundaries), boundaries_removed=sorted(removed.boundaries),
    )  # fmt: skip
    cookie, _ = sessions.create(
        connection, user_id, now, session_lifetime, attempt.ip, attempt.agent, login_option_id=option.id, saml=saml
    )
    user_store.record_sign_in(connection, user_id, now)
    record(connection, attempt.origin(), attempt.change(), now=now)
    return cookie, user_id, user_name


def _create(connection: Connection, create: linking.CreateUser, option_name: str, now: datetime) -> tuple[str, str]:
    try:
        doc = local_user_document(NewLocalUser(create.user_name[:255], create.email, create.name))
    except InvalidInput as exc:
        raise SsoRefused("profile_invalid", f"Your identity provider's profile cannot be used: {exc.detail}") from exc
    write = user_store.UserWrite(id=str(uuid.uuid4()), doc=doc, source="sso")
    try:
        created = user_store.insert(connection, write, now)
    except Conflict as exc:
        raise SsoRefused("user_name_taken", linking.MESSAGES["user_name_taken"]) from exc
    user_events.record(connection, created.id, UserEventKind.CREATED, f"SSO: {option_name}", now)
    return created.id, create.user_name


def _ambiguous(
    candidates: linking.Candidates, matches: list[linking.UserRef], login: linking.LoginIdentity
) -> linking.Refuse | None:
    """An email shared by several users links to none of them (unless a link or externalId decides first)."""
    if candidates.linked is not None or len({user.id for user in matches}) < 2:
        return None
    if candidates.by_external_id is not None and candidates.by_external_id.source == "scim":
        return None
    if any(user.source == "local" or user.super_admin for user in matches):
        return linking.refuse("takeover_refused")
    return linking.refuse("ambiguous_match") if login.email_verified else None


def option_secret(
    option: LoginOption, secrets: LazySecretBox, environ: Mapping[str, str], what: str, *, required: bool = True
) -> str | None:
    """The option's secret (``what``: "client secret", "bind password"…), decrypted or read from its
    environment variable; missing: a :class:`SecretMissing` (``None`` when not ``required``)."""
    if option.client_secret_env is not None:
        secret = environ.get(option.client_secret_env, "")
        if not secret:
            raise SecretMissing(
                "secret_missing",
                f"The login option's {what} is read from the environment variable {option.client_secret_env}, "
                "which is not set on this server.",
            )
        return secret
    if option.client_secret_encrypted is None:
        if not required:
            return None
        raise SecretMissing("secret_missing", f"The login option has no {what}: an administrator must set one.")
    return secrets().decrypt(option.client_secret_encrypted, option.id)


class SecretMissing(Reasoned):
    """The option's secret is not available to this process: an administrator's to fix."""

    status = 502
