"""The page to return to after signing in, checked once for every protocol: each form a browser would
follow to another host is refused, in the check itself (not by the response layer's encoding)."""

from __future__ import annotations

import pytest

from gatehouse.login.urls import is_local_path, local_target
from support.redirects import HOSTILE, LOCAL, browser_would_go


@pytest.mark.parametrize("target", HOSTILE)
def test_every_form_that_leaves_the_host_is_refused(target: str) -> None:
    assert not is_local_path(target)
    assert local_target(target, "/home") == "/home"


@pytest.mark.parametrize("target", LOCAL)
def test_local_paths_are_kept(target: str) -> None:
    assert is_local_path(target) and local_target(target) == target
    assert browser_would_go(target) == "gatehouse.test"


def test_the_hostile_forms_really_leave_the_host_without_the_check() -> None:
    """The list is not made of harmless strings: a browser following most of them lands elsewhere."""
    leaving = [target for target in HOSTILE if browser_would_go(target) not in ("gatehouse.test", "")]
    assert len(leaving) >= 8


def test_a_target_longer_than_500_characters_falls_back() -> None:
    assert local_target("/" + "a" * 600) == "/"
