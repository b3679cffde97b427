"""The client's address, believing ``X-Forwarded-For`` only from configured trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ADDRESS = 64
"""The longest address kept (the width of the ``ip`` columns): a longer entry a proxy passed on is cut."""


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``address`` parsed, an IPv4-mapped IPv6 address (``::ffff:10.0.0.2``: how a dual-stack listener on ``::``
    sees an IPv4 peer) as the IPv4 address it carries, so that ``10.0.0.0/8`` covers it; ``None`` if no address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _canonical(address: str) -> str:
    """An address in one spelling (``::ffff:192.0.2.7`` → ``192.0.2.7``, ``2001:DB8::0001`` → ``2001:db8::1``), so
    that one client is one key to the sign-in throttle; anything else as it is."""
    if ":" not in address:  # IPv4 as a socket or a proxy writes it: already its one spelling (no parse per request)
        return address
    ip = _ip(address)
    return address if ip is None else str(ip)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in networks)


def is_trusted_proxy(address: str, trusted_proxies: Sequence[str]) -> bool:
    """Whether ``address`` is one of the configured trusted proxies (IPs or CIDRs)."""
    return _trusted(address, _networks(tuple(trusted_proxies)))


def client_ip(request: Request, trusted_proxies: Sequence[str]) -> str | None:
    """The peer's address, or — when the peer is a trusted proxy — the nearest untrusted address in
    ``X-Forwarded-For`` (read from the right, so a client cannot spoof it by prepending entries)."""
    peer = _canonical(request.client.host) if request.client else None
    networks = _networks(tuple(trusted_proxies))
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    for hop in reversed([_canonical(_address(h)) for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop, networks):
            return hop
    return peer


def _address(hop: str) -> str:
    """An ``X-Forwarded-For`` entry as an address: without the port some proxies add (``203.0.113.9:4711``,
    ``[2001:db8::1]:443``: Azure Application Gateway, IIS ARR), which would make each connection of one client
    another address to the sign-in throttle; any other text as the proxy wrote it (``unknown``), cut to
    :data:`MAX_ADDRESS` characters."""
    text = hop.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4 with a port (an IPv6 address has two colons or more)
        text = text.split(":", 1)[0]
    return text[:MAX_ADDRESS]
