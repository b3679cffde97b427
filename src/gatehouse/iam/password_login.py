"""Password sign-in's switch, guarded so that one click can never lock every administrator out.

The built-in username/password option may be turned off only while another way back in exists: an enabled
login option that has already signed in someone who may change login options (``iam:UpdateLoginOption``),
so that person can turn password sign-in on again (:func:`way_back` says who, or why not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gatehouse.errors import Conflict
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal, allowed, load_principal, require
from gatehouse.iam.catalog import ORGANIZATION
from gatehouse.iam.login_options import UPDATE_ACTION
from gatehouse.store import login_options as store
from gatehouse.store import sso_signins
from gatehouse.store.database import Connection

PASSWORD: Final = Change("iam:UpdatePasswordLogin", "login_option", "password")


@dataclass(frozen=True, slots=True)
class WayBack:
    """Whether password sign-in may be turned off: the people who could still change login options then
    (an enabled option has signed them in, and they hold ``iam:UpdateLoginOption``), or why not."""

    password_enabled: bool
    enabled_options: tuple[str, ...]
    """The names of the enabled login options."""
    admins: tuple[tuple[str, str], ...]
    """(option name, username) of each way back in."""

    @property
    def refusal(self) -> str | None:
        """Why password sign-in may not be turned off now, or ``None``."""
        if not self.enabled_options:
            return (
                "Password sign-in cannot be turned off while no other login option is enabled: enable an OpenID "
                "Connect, LDAP or SAML login option first (its provider check must pass), so that people can "
                "still sign in."
            )
        if not self.admins:
            shown = self.enabled_options[:5]
            more = len(self.enabled_options) - len(shown)
            names = ", ".join(shown) + (f" and {more} more" if more else "")
            return (
                f"Password sign-in cannot be turned off yet: nobody who may change login options has signed in "
                f"through an enabled option ({names}). Sign in through one of them yourself first (or have another "
                "administrator do so), so that someone can get back in and turn password sign-in on again."
            )
        return None


def way_back(connection: Connection, principal: Principal) -> WayBack:
    """Who could still get in and change login options with password sign-in off (``iam:UpdateLoginOption``)."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    enabled = tuple(option.name for option in store.enabled_options(connection))
    admins = []
    for found in sso_signins.through_enabled_options(connection):
        if allowed(load_principal(connection, found.user_id), UPDATE_ACTION, ORGANIZATION):
            admins.append((found.option_name, found.user_name))
    return WayBack(store.password_login_enabled(connection), enabled, tuple(admins))


def set_password_login(connection: Connection, principal: Principal, enabled: bool) -> None:
    """Offer the built-in username/password option or not. Off is refused (:class:`Conflict`, saying why)
    unless an enabled option has signed in someone who may change login options (:func:`way_back`), so that
    turning it off can never lock every administrator out."""
    require(principal, UPDATE_ACTION, ORGANIZATION)
    if not enabled:
        refusal = way_back(connection, principal).refusal
        if refusal is not None:
            raise Conflict(refusal)
    store.set_password_login(connection, enabled)
