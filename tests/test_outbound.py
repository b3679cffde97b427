"""Where an outbound call an administrator can aim may go: http(s) only; with private addresses denied,
every address a host resolves to must be public, and the call is pinned to the address checked."""

from __future__ import annotations

import ipaddress

import pytest

from gatehouse.outbound import Destination, OutboundRefused, check_scheme, destination, is_public
from support.coroutines import run_apart


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata address
        ("fe80::1", False),
        ("fd00::1", False),
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::ffff:127.0.0.1", False),  # loopback in IPv4-mapped form
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "ftp://host/x", "https:///nohost", "//x/y"])
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(OutboundRefused, match="Only http"):
        check_scheme(url)


def test_by_default_the_url_is_used_as_it_is() -> None:
    url = "http://127.0.0.1:8080/.well-known/openid-configuration"
    assert run_apart(destination(url, deny_private=False)) == Destination(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "https://localhost/x", "http://[::1]/x", "http://10.0.0.1/"])
def test_private_destinations_are_refused_when_denied(url: str) -> None:
    with pytest.raises(OutboundRefused, match="does not call"):
        run_apart(destination(url, deny_private=True))


def test_a_public_destination_is_pinned_with_its_name_kept_for_host_and_tls() -> None:
    pinned = run_apart(destination("https://93.184.216.34:8443/jwks?x=1", deny_private=True))
    assert pinned == Destination("https://93.184.216.34:8443/jwks?x=1", "93.184.216.34:8443", "93.184.216.34")
    six = run_apart(destination("http://[2606:4700:4700::1111]/x", deny_private=True))
    assert six.url == "http://[2606:4700:4700::1111]/x" and six.server_name is None
