"""Signing in through an LDAP login option: a username and password typed into Gatehouse's form, checked
against the directory (:mod:`gatehouse.sso.ldap_client`), then the sign-in every protocol shares
(:func:`gatehouse.sso.completion.complete`: linking, role mapping re-applied, session, audit).

The password sign-in's lockout applies (:mod:`gatehouse.iam.signin`'s throttle, same keys): a locked-out
name or address is refused (429) before the directory is asked, and each rejected password counts. An empty
password is refused before any bind. The directory's entry gives the claims the option's rules map from:
each attribute read, by its configured name, as a list of its values (``$.memberOf[*]``), and ``dn``.
Failures raise after an audit record of their own (``auth:SignIn``, method ``ldap``, a reason code such as
``wrong_password`` or ``ldap_unreachable``); the password is in none of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from anyio import to_thread

from gatehouse.errors import GatehouseError
from gatehouse.iam import signin as password_signin
from gatehouse.iam.audit import record_apart
from gatehouse.iam.signin import SignInPolicy, SignInThrottled
from gatehouse.login import linking
from gatehouse.login.ldap import LdapSettings, StepResult
from gatehouse.login.options import KIND_LDAP, LoginOption
from gatehouse.login.urls import local_target
from gatehouse.secrets_box import LazySecretBox
from gatehouse.sso.completion import Attempt, OptionUnavailable, SignedIn, complete, option_secret, usable
from gatehouse.sso.failure import Reasoned, reason_of
from gatehouse.sso.ldap_client import LdapDirectory, LdapEntry, LdapRejected
from gatehouse.store import login_options
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow


class LdapProfileInvalid(Reasoned):
    """The directory's entry cannot identify the user (no subject attribute)."""

    status = 502


def claims_of(entry: LdapEntry, settings: LdapSettings) -> dict[str, Any]:
    """The claims role mapping reads: every attribute read (a list of values), the groups under the groups
    attribute's name, and ``dn``."""
    claims: dict[str, Any] = {name: list(values) for name, values in entry.attributes.items()}
    claims[settings.groups_attribute] = list(entry.groups)
    claims["dn"] = entry.dn
    return claims


def identity_of(option: LoginOption, entry: LdapEntry, settings: LdapSettings) -> linking.LoginIdentity:
    subject = entry.first(settings.subject_attribute)
    if not subject:
        raise LdapProfileInvalid(
            "subject_missing",
            f"The directory entry has no '{settings.subject_attribute}' attribute to identify the user: check the "
            "login option's subject attribute.",
        )
    return linking.LoginIdentity(
        option_id=option.id,
        subject=subject,
        user_name=entry.first(settings.username_attribute),
        email=entry.first(settings.email_attribute),
        email_verified=settings.trust_email,
        name=entry.first(settings.name_attribute),
    )


class LdapSignIn:
    """The LDAP sign-in use cases of one app."""

    def __init__(
        self,
        db: Database,
        secrets: LazySecretBox,
        policy: SignInPolicy,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.secrets = secrets
        self.policy = policy
        self.environ = os.environ if environ is None else environ

    async def option(self, option_id: str) -> LoginOption:
        """The enabled LDAP option of this id (:class:`~gatehouse.sso.completion.OptionUnavailable` otherwise)."""
        option = await self.db.read(lambda c: login_options.get(c, option_id)) if len(option_id) <= 64 else None
        return usable(option, KIND_LDAP, Attempt(option_id, None, None, "ldap"))

    def directory(self, option: LoginOption) -> LdapDirectory:
        """The option's directory, with its bind password (none: anonymous)."""
        settings = option.ldap()
        password = option_secret(option, self.secrets, self.environ, "bind password", required=bool(settings.bind_dn))
        return LdapDirectory(settings, password)

    async def sign_in(
        self, option_id: str, username: str, password: str, next_path: str, *, ip: str | None, agent: str | None
    ) -> SignedIn:
        """Check the credentials at the directory and sign in; raises after an audit record on refusal."""
        attempt = Attempt(option_id, ip, agent, "ldap", user_name=username.strip()[:255] or None)
        try:
            return await self._sign_in(attempt, username, password, local_target(next_path))
        except GatehouseError as exc:
            await record_apart(self.db, attempt.origin(), attempt.change(reason_of(exc)), exc.status, exc.detail)
            raise

    async def _sign_in(self, attempt: Attempt, username: str, password: str, next_path: str) -> SignedIn:
        option = await self.db.read(lambda c: login_options.get(c, attempt.option_id))
        option = usable(option if len(attempt.option_id) <= 64 else None, KIND_LDAP, attempt)
        keys, now = password_signin.throttle_keys(username, attempt.ip), utcnow()
        if await self.db.read(lambda c: password_signin.throttled(c, keys, now)):
            raise SignInThrottled()
        settings = option.ldap()
        directory = self.directory(option)
        try:
            entry = await to_thread.run_sync(lambda: directory.authenticate(username, password))
        except LdapRejected as exc:
            if exc.reason != "empty_password":
                await to_thread.run_sync(lambda: password_signin.count_failure(self.db, self.policy, keys, now))
            raise
        login = identity_of(option, entry, settings)
        attempt.subject, attempt.summary["dn"] = login.subject, entry.dn
        claims, life = claims_of(entry, settings), self.policy.absolute

        def sign_in(connection: Any) -> tuple[str, str, str]:
            password_signin.clear_failures(connection, keys)
            return complete(connection, attempt, option, login, claims, life)

        cookie, user_id, user_name = await self.db.write(sign_in)
        return SignedIn(cookie, user_id, user_name, next_path, option.id)

    # -- the administrator's tests -----------------------------------------------------------------------

    async def test_connection(self, option_id: str) -> list[StepResult]:
        """Connect, TLS, service bind and read the base DN of any LDAP option (enabled or not)."""
        option = await self._any(option_id)
        try:
            directory = self.directory(option)
        except GatehouseError as exc:
            return [StepResult("service_bind", False, exc.detail)]
        return await to_thread.run_sync(directory.test_connection)

    async def test_sign_in(
        self, option_id: str, username: str, password: str
    ) -> tuple[list[StepResult], dict[str, Any] | None]:
        """A sign-in's steps for ``username`` (no session, no link, nothing stored), and the claims role
        mapping would read when the directory accepted the password."""
        option = await self._any(option_id)
        try:
            directory = self.directory(option)
        except GatehouseError as exc:
            return [StepResult("service_bind", False, exc.detail)], None
        trace, entry = await to_thread.run_sync(lambda: directory.test_sign_in(username, password))
        if entry is None:
            return trace, None
        settings = option.ldap()
        try:
            identity_of(option, entry, settings)
        except LdapProfileInvalid as exc:
            return [*trace, StepResult("mapping", False, exc.detail)], claims_of(entry, settings)
        return trace, claims_of(entry, settings)

    async def _any(self, option_id: str) -> LoginOption:
        option = await self.db.read(lambda c: login_options.get(c, option_id)) if len(option_id) <= 64 else None
        if option is None or option.kind != KIND_LDAP:
            raise OptionUnavailable()
        return option
