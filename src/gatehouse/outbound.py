"""Where an outbound call that an administrator can aim may go (an OpenID provider's discovery document, its
keys, token and UserInfo endpoints; SAML and LDAP servers next).

Every such call is http(s) only, follows no redirect, caps the answer's size and has a timeout (the callers
do that). With ``GATEHOUSE_OUTBOUND_DENY_PRIVATE`` on, the host's addresses are also checked *after* DNS
resolution: loopback, link-local (169.254.0.0/16, which holds the cloud metadata address 169.254.169.254,
and fe80::/10), private (RFC 1918, fc00::/7), shared (100.64.0.0/10), unspecified, multicast and reserved
addresses are refused, and the connection is then made to the address that was checked (the name kept for
TLS and the ``Host`` header), so a name that resolves differently a moment later (DNS rebinding) cannot
reach an inside address. The setting is off by default: identity providers often sit on private networks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from gatehouse.errors import InvalidInput

SCHEMES: Final = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(InvalidInput):
    """An outbound call Gatehouse will not make: what was refused and why (no secret in it)."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where to connect: the URL to request (its host replaced by the checked address when pinned), the
    ``Host`` header and the TLS server name to send."""

    url: str
    host_header: str | None = None
    server_name: str | None = None


def is_public(address: IPAddress) -> bool:
    """Whether an address is one a public service may have (not loopback, link-local, private, shared,
    unspecified, multicast or reserved; an IPv4-mapped IPv6 address is judged as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    shared = isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10")
    return address.is_global and not shared and not address.is_multicast


def check_scheme(url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise OutboundRefused(f"Only http(s) URLs with a host can be called, not {url[:200]!r}.")


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses a host name resolves to (an address literal is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundRefused(f"The host {host!r} could not be resolved.") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def destination(url: str, *, deny_private: bool) -> Destination:
    """Check ``url`` and say where to connect: as it is, or (``deny_private``) pinned to a checked public
    address of its host, every resolved address having to be public."""
    check_scheme(url)
    if not deny_private:
        return Destination(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    refused = [address for address in addresses if not is_public(address)]
    if refused or not addresses:
        raise OutboundRefused(
            f"The host {host!r} resolves to {refused[0] if refused else 'no address'}, an address Gatehouse does "
            "not call while GATEHOUSE_OUTBOUND_DENY_PRIVATE is on."
        )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    return Destination(pinned, host_header, host if parts.scheme == "https" else None)
