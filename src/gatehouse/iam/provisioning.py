"""SCIM provisioning as an administrator manages it (dashboard, admin API, CLI with a token): the
permission-checked use cases over :mod:`gatehouse.iam.scim_control`.

Reading the settings and token metadata is ``iam:GetSCIMProvisioning``; turning provisioning on or off,
the password sign-in switch, and creating, regenerating or revoking SCIM tokens is
``iam:UpdateSCIMProvisioning`` (a SCIM token can create and deactivate every user). Both are checked on
the organization (:data:`~gatehouse.iam.catalog.ORGANIZATION`).

Organization → Settings shows SCIM provisioning and the login options together
(:func:`settings_page`): each part to those who may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.errors import Conflict, existing
from gatehouse.iam import login_options, scim_control
from gatehouse.iam.authorizer import Principal, allowed, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.login_options import LoginOptionsState
from gatehouse.iam.scim_control import IssuedToken
from gatehouse.store import scim_activity
from gatehouse.store.database import Connection
from gatehouse.store.scim_activity import Activity
from gatehouse.store.scim_tokens import TokenInfo

READ = "iam:GetSCIMProvisioning"
UPDATE = "iam:UpdateSCIMProvisioning"
TOKEN_GONE = "This SCIM token was already revoked or replaced."


@dataclass(frozen=True, slots=True)
class Provisioning:
    """SCIM provisioning's settings and its live tokens (metadata only)."""

    enabled: bool
    password_sign_in: bool
    tokens: list[TokenInfo]


def state(connection: Connection, principal: Principal) -> Provisioning:
    require(principal, READ, ORGANIZATION)
    return Provisioning(
        scim_control.is_enabled(connection),
        scim_control.password_sign_in(connection),
        scim_control.list_tokens(connection),
    )


def state_to_change(connection: Connection, principal: Principal) -> Provisioning:
    """The settings a change would act on, for its confirmation page: refused (403) without
    ``iam:UpdateSCIMProvisioning``."""
    require(principal, UPDATE, ORGANIZATION)
    return state(connection, principal)


def update_settings(
    connection: Connection, principal: Principal, *, enabled: bool | None = None, password_sign_in: bool | None = None
) -> Provisioning:
    """Change the switches given (``None`` leaves one as it is), then the settings as they now are: the
    dashboard's switches and the admin API's ``PUT`` alike."""
    if enabled is not None:
        set_enabled(connection, principal, enabled)
    if password_sign_in is not None:
        set_password_sign_in(connection, principal, password_sign_in)
    return state(connection, principal)


def set_enabled(connection: Connection, principal: Principal, enabled: bool) -> int:
    """Turn provisioning on or off; how many live tokens are kept (they work again when it is on)."""
    require(principal, UPDATE, ORGANIZATION)
    (scim_control.enable if enabled else scim_control.disable)(connection)
    return len(scim_control.list_tokens(connection))


def set_password_sign_in(connection: Connection, principal: Principal, allowed: bool) -> None:
    require(principal, UPDATE, ORGANIZATION)
    scim_control.set_password_sign_in(connection, allowed)


def _require_enabled(connection: Connection, what: str) -> None:
    if not scim_control.is_enabled(connection):
        raise Conflict(f"Turn on SCIM provisioning before you {what}.")


def issue_token(connection: Connection, principal: Principal, name: str, *, while_off: bool = False) -> IssuedToken:
    """A new SCIM token (its secret is in the result, once). Provisioning must be on, unless ``while_off``
    (the CLI prepares a token before the switch is turned on; it works once provisioning is on)."""
    require(principal, UPDATE, ORGANIZATION)
    if not while_off:
        _require_enabled(connection, "generate a token")
    return scim_control.issue_token(connection, name or scim_control.default_token_name())


def live_token(connection: Connection, principal: Principal, token_id: str) -> TokenInfo | None:
    require(principal, READ, ORGANIZATION)
    return scim_control.live_token(connection, token_id)


def token_to_change(connection: Connection, principal: Principal, token_id: str) -> TokenInfo:
    """The live token a revocation or regeneration would replace, for its confirmation page: refused (403)
    without ``iam:UpdateSCIMProvisioning``; :class:`~gatehouse.errors.NotFound` once revoked or replaced."""
    require(principal, UPDATE, ORGANIZATION)
    return existing(live_token(connection, principal, token_id), TOKEN_GONE)


def revoke_token(connection: Connection, principal: Principal, token_id: str) -> str:
    """Revoke a live token by id; its name. A revoked or unknown id is :class:`~gatehouse.errors.NotFound`."""
    require(principal, UPDATE, ORGANIZATION)
    return scim_control.revoke_token_id(connection, token_id)


def regenerate_token(connection: Connection, principal: Principal, token_id: str) -> IssuedToken:
    """Replace a live token by a new one of the same name; provisioning must be on."""
    require(principal, UPDATE, ORGANIZATION)
    _require_enabled(connection, "regenerate a token")
    return scim_control.regenerate_token(connection, token_id)


# ------------------------------------------------------------------------------------------ the settings page


@dataclass(frozen=True, slots=True)
class SettingsPage:
    """Organization → Settings, read in one go."""

    enabled: bool
    password_sign_in: bool
    tokens: list[TokenInfo]
    recent: list[Activity]
    """The latest SCIM requests, newest first."""
    login_options: LoginOptionsState | None = None
    """Shown to those who may read them (``iam:GetLoginOption``)."""
    scim_visible: bool = True
    """Whether the SCIM part is shown (``iam:GetSCIMProvisioning``)."""


def settings_page(connection: Connection, principal: Principal, public_url: str) -> SettingsPage:
    """The page's SCIM part and its Login Options part, each for those who may read it; one of them at
    least (403 otherwise, for want of ``iam:GetSCIMProvisioning``)."""
    logins = None
    if allowed(principal, login_options.GET_ACTION, ORGANIZATION):
        logins = login_options.state(connection, principal, public_url)
        if not allowed(principal, READ, ORGANIZATION):
            return SettingsPage(False, False, [], [], logins, scim_visible=False)
    current = state(connection, principal)
    recent = scim_activity.recent(connection)
    return SettingsPage(current.enabled, current.password_sign_in, current.tokens, recent, logins)
