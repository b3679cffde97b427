"""A login option's provider check, the one behind its page's Check button, the admin API's ``check`` and
``gatehouse login-options check``: an OpenID provider's discovery document and signing keys, an LDAP directory's
connection steps (connect, TLS, service bind, base DN), a SAML IdP's metadata. Reads only; each surface words
the :class:`Found` its own way, and an option is enabled only while it passes (:attr:`Found.problem`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from gatehouse.errors import GatehouseError
from gatehouse.iam.login_options import OptionView
from gatehouse.login.ldap import StepResult
from gatehouse.sso.failure import Reasoned, reason_of

if TYPE_CHECKING:  # the clients themselves (Authlib, pysaml2, ldap3 behind them) are the caller's
    from gatehouse.sso.ldap_signin import LdapSignIn
    from gatehouse.sso.provider import ProviderCheck, ProviderClient
    from gatehouse.sso.saml_signin import SamlSignIn


class Checkers(Protocol):
    """The services a check needs (the dashboard's and the admin API's both have them)."""

    provider: ProviderClient
    ldap: LdapSignIn
    saml: SamlSignIn


@dataclass(frozen=True, slots=True)
class Found:
    """What a check found: ``ok``, else a stable ``reason`` and a ``detail`` for an administrator; an LDAP
    directory's ``steps`` (the failed one last); an OpenID provider's ``oidc`` discovery (and the ``view`` its
    :attr:`warnings` are about); a SAML IdP's entity id and sign-in URL."""

    ok: bool
    reason: str | None = None
    detail: str | None = None
    steps: list[StepResult] = field(default_factory=list)
    oidc: ProviderCheck | None = None
    view: OptionView | None = None
    idp_entity_id: str | None = None
    sso_url: str | None = None
    saml_warnings: list[str] = field(default_factory=list)
    """What will not work of a SAML option's Single Logout with this metadata."""

    @property
    def warnings(self) -> list[str]:
        """What will not work as the option is configured (OpenID Connect's worked out when asked)."""
        if self.oidc is None or self.view is None:
            return self.saml_warnings
        return self.oidc.warnings(end_session=self.view.end_session, scopes=self.view.scopes.split())

    @property
    def problem(self) -> str | None:
        """Why the check fails, as one sentence, or ``None`` when it passes."""
        if self.ok:
            return None
        failed = next((step for step in self.steps if not step.ok), None)
        return f"{failed.label} failed: {failed.detail}" if failed is not None else self.detail


async def check(checkers: Checkers, view: OptionView) -> Found:
    """Check ``view``'s provider now (the caller has checked ``iam:GetLoginOption``)."""
    if view.kind == "ldap":
        steps = await checkers.ldap.test_connection(view.id)
        failed = next((step for step in steps if not step.ok), None)
        if failed is None:
            return Found(True, steps=steps)
        return Found(False, f"ldap_{failed.step}_failed", failed.detail, steps=steps)
    if view.kind == "saml":
        try:
            idp, sso_url = await checkers.saml.check(view.id)
            warnings = await checkers.saml.logout_warnings(view.id)
        except GatehouseError as exc:
            return Found(False, reason_of(exc), exc.detail)
        return Found(True, idp_entity_id=idp, sso_url=sso_url, saml_warnings=warnings)
    try:
        found = await checkers.provider.check(view.issuer)
    except Reasoned as exc:  # the provider client's ProviderError
        return Found(False, exc.reason, exc.detail)
    return Found(True, oidc=found, view=view)
