"""An LDAP login option's own fields, the filter a sign-in searches with, and the steps a sign-in takes.

Fields as API7 names them (Host, Port, Base DN, Bind DN, Bind Password, Identifier, attribute mapping, TLS,
timeout); the bind password is the option's secret (stored encrypted, see :mod:`gatehouse.login.options`),
never a field here. Pure: no I/O. The client is :mod:`gatehouse.sso.ldap_client`, the sign-in
:mod:`gatehouse.sso.ldap_signin`.

A sign-in (:data:`STEPS`): connect, TLS (StartTLS or LDAPS, the server's certificate verified against the CA
bundle or the system's), bind as the service DN, search ``(&(<identifier>=<escaped username>)<user
filter>)`` under the base DN (exactly one entry), bind as that entry with the typed password, then read the
groups and map the roles. The username is escaped per RFC 4515 §3 (:func:`escape_filter_value`), so
``*)(uid=*`` searches for that literal text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final, Literal, get_args

from gatehouse.certificates import readable_certificates
from gatehouse.errors import Findings, InvalidInput
from gatehouse.login.protocol_settings import ProtocolSettings

TlsMode = Literal["none", "starttls", "ldaps"]
TLS_MODES: Final[tuple[TlsMode, ...]] = get_args(TlsMode)
Step = Literal["connect", "tls", "service_bind", "search", "user_bind", "groups", "mapping"]
STEPS: Final[tuple[Step, ...]] = get_args(Step)
STEP_NAMES: Final[Mapping[Step, str]] = {
    "connect": "Connect",
    "tls": "TLS",
    "service_bind": "Bind as the service account",
    "search": "Find the user",
    "user_bind": "Bind as the user",
    "groups": "Read the groups",
    "mapping": "Map attributes and roles",
}
DEFAULT_PORTS: Final[Mapping[TlsMode, int]] = {"none": 389, "starttls": 389, "ldaps": 636}
MAX_TIMEOUT: Final = 60
MAX_CA_BUNDLE: Final = 64 * 1024
_ATTRIBUTE: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,99}|\d+(?:\.\d+)+")  # RFC 4512 §2.5 descr or OID
_HOST: Final = re.compile(r"[A-Za-z0-9._:\[\]-]{1,255}")
_ESCAPES: Final = {"\\": r"\5c", "*": r"\2a", "(": r"\28", ")": r"\29", "\0": r"\00"}


def escape_filter_value(value: str) -> str:
    """A value as an RFC 4515 §3 assertion value: ``\\``, ``*``, ``(``, ``)`` and NUL as ``\\XX``."""
    return "".join(_ESCAPES.get(char, char) for char in value)


def user_filter(identifier: str, username: str, extra: str = "") -> str:
    """The search filter of a sign-in: the identifier attribute equal to the (escaped) username, and ``extra``
    (a filter such as ``(objectClass=inetOrgPerson)``) when given."""
    match = f"({identifier}={escape_filter_value(username)})"
    return f"(&{match}{extra})" if extra else match


def member_filter(dn: str) -> str:
    """The search filter of the groups whose ``member`` is ``dn`` (servers without the memberOf overlay)."""
    return f"(|(member={escape_filter_value(dn)})(uniqueMember={escape_filter_value(dn)}))"


_ATTRIBUTES: Final = ("identifier", "subject_attribute", "username_attribute", "email_attribute",
                      "name_attribute", "groups_attribute")  # fmt: skip
_LABELS: Final = {"base_dn": "base DN", "bind_dn": "bind DN", "group_search_base": "group search base",
                  **{name: name.replace("_", " ") for name in _ATTRIBUTES}}  # fmt: skip


def check_filter(text: str) -> str:
    """An extra filter as typed: empty, or one parenthesized filter with balanced parentheses."""
    text = text.strip()
    if not text:
        return ""
    depth, escaped = 0, False
    for index, char in enumerate(text):
        if char == "(" and not escaped:
            depth += 1
        elif char == ")" and not escaped:
            depth -= 1
            if depth == 0 and index != len(text) - 1:
                depth = -1
        if depth < 0:
            break
        escaped = char == "\\" and not escaped
    if not text.startswith("(") or depth != 0 or len(text) > 500:
        raise InvalidInput("The user filter must be one LDAP filter in parentheses, e.g. (objectClass=person).")
    return text


@dataclass(frozen=True, slots=True)
class LdapSettings(ProtocolSettings):
    """The fields of an LDAP login option besides the common ones (name, enabled, rules, SCIM-only)."""

    host: str
    base_dn: str
    bind_dn: str = ""
    port: int = 389
    tls: TlsMode = "none"
    verify_certificate: bool = True
    ca_bundle: str = ""
    """PEM certificates to trust for the server's (empty: the system's)."""
    identifier: str = "uid"
    """The attribute a username is looked up by (``uid``; Active Directory ``sAMAccountName``)."""
    user_filter: str = ""
    subject_attribute: str = "entryUUID"
    """The attribute that identifies the entry for good (matched with SCIM's externalId; AD ``objectGUID``)."""
    username_attribute: str = "uid"
    email_attribute: str = "mail"
    name_attribute: str = "cn"
    groups_attribute: str = "memberOf"
    group_search_base: str = ""
    """When set, the groups are also searched there with ``member=<user DN>`` (no memberOf overlay)."""
    timeout: int = 10
    trust_email: bool = True
    """Whether the directory's email addresses count as verified (for linking to SCIM users by email)."""

    def checked(self) -> LdapSettings:
        """These settings, trimmed and checked (:class:`~gatehouse.errors.FieldProblems` names every wrong
        field, by its attribute name)."""
        found, host, ca = Findings(), self.host.strip(), self.ca_bundle.strip()
        if not _HOST.fullmatch(host):
            found.add("host", "The host must be a host name or an address, without a scheme (e.g. ldap.example.com).")
        if self.tls not in TLS_MODES:
            found.add("tls", f"TLS must be one of {', '.join(TLS_MODES)}.")
        if not 1 <= self.port <= 65535:
            found.add("port", "The port must be 1 to 65535 (389 for LDAP and StartTLS, 636 for LDAPS).")
        if not 1 <= self.timeout <= MAX_TIMEOUT:
            found.add("timeout", f"The timeout must be 1 to {MAX_TIMEOUT} seconds.")
        if ca and not readable_certificates(ca, limit=MAX_CA_BUNDLE):
            found.add(
                "ca_bundle",
                "The CA bundle must be readable PEM certificates (each from BEGIN CERTIFICATE to END CERTIFICATE), "
                "at most 64 KiB.",
            )
        texts = self.trimmed("base_dn", "bind_dn", "group_search_base")
        if not texts["base_dn"]:
            found.add("base_dn", "The base DN is required (e.g. ou=people,dc=example,dc=org).")
        for name, text in texts.items():
            if len(text) > 1000 or any(ord(char) < 0x20 for char in text):
                found.add(name, f"The {_LABELS[name]} must be at most 1000 characters, on one line.")
        attributes = self.trimmed(*_ATTRIBUTES)
        for name, value in attributes.items():
            if not _ATTRIBUTE.fullmatch(value):
                found.add(name, f"The {_LABELS[name]} must be an LDAP attribute name, e.g. uid or sAMAccountName.")
        user_filter = found.check("user_filter", lambda: check_filter(self.user_filter), "")
        found.done()
        return replace(self, host=host, ca_bundle=ca, user_filter=user_filter, **texts, **attributes)

    @property
    def url(self) -> str:
        """The server's URL as shown (``ldaps://`` for LDAPS)."""
        return f"{'ldaps' if self.tls == 'ldaps' else 'ldap'}://{self.host}:{self.port}"

    def attributes(self) -> list[str]:
        """The attributes a sign-in reads from the user's entry."""
        names = (self.subject_attribute, self.username_attribute, self.email_attribute, self.name_attribute)
        return list(dict.fromkeys((*names, self.identifier, self.groups_attribute)))


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of a sign-in or of a connection test: whether it passed, and what it found or what failed."""

    step: Step
    ok: bool
    detail: str

    @property
    def label(self) -> str:
        return STEP_NAMES[self.step]
