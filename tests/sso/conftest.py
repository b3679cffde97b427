"""What the SSO tests share: a real SAML IdP (SimpleSAMLphp), one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.simplesaml import Idp, running_idp


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    with running_idp(tmp_path_factory.mktemp("simplesaml")) as found:
        yield found
