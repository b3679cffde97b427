"""Names whose lower-cased copy is their unique key (names.py): both lengths fit, or the name is refused."""

from __future__ import annotations

from gatehouse.names import fits_folded, folded_hint


def test_a_name_and_its_lower_cased_key_must_both_fit() -> None:
    assert fits_folded("Ops", 3) and fits_folded("ß" * 3, 3)  # "ß" stays one character
    assert not fits_folded("Opsx", 3)
    assert len("İ") == 1 and len("İ".lower()) == 2  # the character lower-casing lengthens
    assert not fits_folded("İİ", 3) and folded_hint("İİ", 3) == " (in lower case too, as names are compared)"
    assert folded_hint("Opsx", 3) == "" and folded_hint("Ops", 3) == ""  # too long as typed: said as such
