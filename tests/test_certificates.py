"""Certificates pasted as PEM are read when saved: every block must decode (RFC 7468 §5.1, RFC 5280)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gatehouse.certificates import readable_certificates
from support.pem import BROKEN_PEM
from support.receivers import make_certificate

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    directory: Path = tmp_path_factory.mktemp("pem")
    return make_certificate(directory).pem, make_certificate(directory).pem


def test_one_certificate_a_bundle_and_a_commented_system_bundle_are_read(pems: tuple[str, str]) -> None:
    first, second = pems
    assert readable_certificates(first, limit=LIMIT)
    assert readable_certificates(first, limit=LIMIT, one=True)
    assert readable_certificates(first + second, limit=LIMIT)
    assert readable_certificates(f"# Gatehouse test CA\n{first}\n# another\n{second}", limit=LIMIT)


def test_a_bundle_is_not_one_certificate(pems: tuple[str, str]) -> None:
    assert not readable_certificates(pems[0] + pems[1], limit=LIMIT, one=True)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda pem: pem[:120] + pem[-30:], id="truncated"),
        pytest.param(lambda pem: pem.replace("\n", "\n!", 3), id="not base64"),
        pytest.param(lambda pem: pem + BROKEN_PEM, id="a good block then a broken one"),
        pytest.param(lambda pem: BROKEN_PEM, id="header around nothing"),
        pytest.param(lambda pem: pem.replace("-----BEGIN CERTIFICATE-----", ""), id="no header"),
        pytest.param(lambda pem: "", id="empty"),
    ],
)
def test_a_mangled_paste_is_not_read(pems: tuple[str, str], mangle: Callable[[str], str]) -> None:
    assert readable_certificates(pems[0], limit=LIMIT)  # what each case starts from
    assert not readable_certificates(mangle(pems[0]), limit=LIMIT)


def test_text_over_the_limit_is_not_read_and_odd_characters_do_not_raise(pems: tuple[str, str]) -> None:
    first = pems[0]
    assert not readable_certificates(first, limit=len(first) - 1)
    assert readable_certificates(first, limit=len(first))
    assert readable_certificates("\ud800 é\n" + first, limit=LIMIT)  # a lone surrogate from a form, before the block
