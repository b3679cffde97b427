"""The flags of ``gatehouse login-options create`` and ``update`` as the use case's input
(:class:`~gatehouse.iam.login_options.OptionInput`), as the dashboard's form and the API's body are.

OpenID Connect's fields have flags of their own (``--issuer``, ``--client-id``, ``--scopes``,
``--end-session``); LDAP's and SAML's are ``--field NAME=VALUE`` (repeatable), named and typed as in
:class:`~gatehouse.login.ldap.LdapSettings` and :class:`~gatehouse.login.saml.SamlSettings` (the admin API's and
``gatehouse config``'s names); ``NAME=@PATH`` reads the value from a file (pasted metadata, a certificate).
The secret is never a flag's value: ``--secret-env`` names the environment variable that holds it, and
``--secret-stdin`` reads it from standard input.

Pure but for reading the files that ``@PATH`` names; every mistake is an
:class:`~gatehouse.errors.InvalidInput` that says which flag.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from gatehouse.errors import InvalidInput
from gatehouse.iam.login_options import OptionInput, OptionView
from gatehouse.login.ldap import LdapSettings
from gatehouse.login.options import DEFAULT_SCOPES, KIND_LDAP, KIND_OIDC, KIND_SAML
from gatehouse.login.saml import SamlSettings
from gatehouse.numerals import whole_number

KINDS: Final = (KIND_OIDC, KIND_LDAP, KIND_SAML)
SETTINGS: Final[Mapping[str, type[LdapSettings] | type[SamlSettings]]] = {
    KIND_LDAP: LdapSettings,
    KIND_SAML: SamlSettings,
}
TRUE: Final = frozenset({"true", "on", "yes", "1"})
FALSE: Final = frozenset({"false", "off", "no", "0"})
MAX_FILE: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OidcFlags:
    """OpenID Connect's flags, ``None`` when not given (``update`` keeps the current value)."""

    issuer: str | None = None
    client_id: str | None = None
    scopes: str | None = None
    end_session: bool | None = None


def field_names(kind: str) -> list[str]:
    """The ``--field`` names of a kind (none for OpenID Connect)."""
    settings = SETTINGS.get(kind)
    return [found.name for found in dataclasses.fields(settings)] if settings else []


def _read(path: str) -> str:
    try:
        with Path(path).expanduser().open(encoding="utf-8") as handle:
            text = handle.read(MAX_FILE + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--field: cannot read {path}: {getattr(exc, 'strerror', None) or exc}.") from None
    if len(text) > MAX_FILE:
        raise InvalidInput(f"--field: {path} is larger than 1 MiB.")
    return text


def _typed(name: str, text: str, hint: Any) -> Any:
    if hint is bool:
        if text.lower() not in TRUE | FALSE:
            raise InvalidInput(f"--field {name}: say true or false, not {text!r}.")
        return text.lower() in TRUE
    if hint is int:
        number = whole_number(text)
        if number is None:
            raise InvalidInput(f"--field {name}: a whole number, not {text[:40]!r}.")
        return number
    return text


def parse_fields(kind: str, pairs: Sequence[str], read: Callable[[str], str] = _read) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as a kind's fields, typed (``NAME=@PATH``: the file's text)."""
    settings = SETTINGS.get(kind)
    if settings is None:
        if pairs:
            raise InvalidInput("--field is for LDAP and SAML options; OpenID Connect has --issuer, --client-id…")
        return {}
    hints = typing.get_type_hints(settings)
    found: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        name = name.strip()
        if not equals or name not in hints:
            raise InvalidInput(
                f"--field {pair.split('=')[0]!r}: not a {kind.upper()} field (NAME=VALUE; the fields are "
                f"{', '.join(field_names(kind))})."
            )
        found[name] = _typed(name, read(value[1:]) if value.startswith("@") else value, hints[name])
    return found


def _settings(kind: str, current: LdapSettings | SamlSettings | None, fields: Mapping[str, Any]) -> Any:
    if kind == KIND_OIDC:
        return None
    if current is not None:
        return replace(current, **fields)
    if kind == KIND_LDAP:
        return LdapSettings(**{"host": "", "base_dn": "", **fields})
    return SamlSettings(**fields)


def check_kind(kind: str, oidc: OidcFlags) -> None:
    """A new option's kind is known, and OpenID Connect's flags come only with that kind."""
    if kind not in KINDS:
        raise InvalidInput(f"--kind must be oidc, ldap or saml, not {kind!r}.")
    if kind != KIND_OIDC and (oidc.issuer or oidc.client_id or oidc.end_session):
        raise InvalidInput("--issuer, --client-id and --end-session are for OpenID Connect options.")


def new_input(
    kind: str, name: str, oidc: OidcFlags, fields: Mapping[str, Any], secret: str | None, secret_env: str | None
) -> OptionInput:
    """A new option's input: disabled, as the dashboard creates it (it is enabled once its check passes)."""
    check_kind(kind, oidc)
    return OptionInput(
        name=name.strip(), kind=kind, issuer=oidc.issuer or "", client_id=oidc.client_id or "",
        scopes=oidc.scopes or DEFAULT_SCOPES, end_session=bool(oidc.end_session), enabled=False,
        settings=_settings(kind, None, fields), client_secret=secret, client_secret_env=secret_env,
    )  # fmt: skip


def changed_input(
    view: OptionView,
    name: str | None,
    oidc: OidcFlags,
    fields: Mapping[str, Any],
    secret: str | None,
    secret_env: str | None,
) -> OptionInput:
    """An option's current fields with the flags given (the secret kept unless a new one is given)."""
    if view.kind != KIND_OIDC and (oidc.issuer or oidc.client_id or oidc.end_session is not None):
        raise InvalidInput("--issuer, --client-id and --end-session are for OpenID Connect options.")
    return OptionInput(
        name=name.strip() if name is not None else view.name, kind=view.kind,
        issuer=oidc.issuer if oidc.issuer is not None else view.issuer,
        client_id=oidc.client_id if oidc.client_id is not None else view.client_id,
        scopes=oidc.scopes if oidc.scopes is not None else view.scopes,
        end_session=oidc.end_session if oidc.end_session is not None else view.end_session,
        enabled=view.enabled, username_claim=view.username_claim, email_claim=view.email_claim,
        name_claim=view.name_claim, subject_claim=view.subject_claim, scim_only=view.scim_only,
        rules=[rule.to_json() for rule in view.rules], settings=_settings(view.kind, view.settings, fields),
        client_secret=secret, client_secret_env=secret_env,
    )  # fmt: skip


def secret_choice(
    secret_env: str | None, secret_stdin: bool, read_stdin: Callable[[], str]
) -> tuple[str | None, str | None]:
    """(the secret read from standard input, the environment variable's name): at most one of them."""
    if secret_env is not None and secret_stdin:
        raise InvalidInput("Give --secret-env or --secret-stdin, not both.")
    if not secret_stdin:
        return None, secret_env
    secret = read_stdin().strip()
    if not secret:
        raise InvalidInput("--secret-stdin: standard input held no secret.")
    return secret, None
