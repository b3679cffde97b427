"""A login option's provider check, as the admin API answers it and the CLI prints it: OpenID Connect's discovery
document and signing keys, an LDAP directory's connection steps (connect, TLS, service bind, base DN), a SAML
IdP's metadata. Reads only; says what was found or, with ``ok: false``, what is wrong."""

from __future__ import annotations

from gatehouse.api.context import Api
from gatehouse.api.schemas_sso import ProviderCheckOut
from gatehouse.errors import GatehouseError
from gatehouse.iam.login_options import OptionView
from gatehouse.sso.failure import reason_of
from gatehouse.sso.protocol import ProviderError


async def check(api: Api, view: OptionView) -> ProviderCheckOut:
    """Check ``view``'s provider now (the caller has checked ``iam:GetLoginOption``)."""
    if view.kind == "ldap":
        return ProviderCheckOut.of_steps(await api.ldap.test_connection(view.id))
    if view.kind == "saml":
        try:
            idp, sso_url = await api.saml.check(view.id)
        except GatehouseError as exc:
            return ProviderCheckOut(ok=False, reason=reason_of(exc), detail=exc.detail)
        return ProviderCheckOut(ok=True, idp_entity_id=idp, sso_url=sso_url)
    try:
        found = await api.provider.check(view.issuer)
    except ProviderError as exc:
        return ProviderCheckOut(ok=False, reason=exc.reason, detail=exc.detail)
    return ProviderCheckOut.of(found, found.warnings(end_session=view.end_session, scopes=view.scopes.split()))
