"""The search text, folding, terms and highlighting of resources/search.py (pure)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.resources.search import FIELD, NAMES, WORD, _pieces, fold, marked, search_text, term_of


def test_folding_drops_case_accents_and_compatibility_forms_and_squeezes_spaces() -> None:
    assert fold("  Zoë \t ÉMILE\n") == f"zoe{WORD}emile"
    assert fold("Straße İstanbul ﬁne Ｆｕｌｌ") == WORD.join(["strasse", "istanbul", "fine", "full"])
    assert fold("a\x1fb\x1ec\x00d") == WORD.join("abcd")  # control characters never reach the index
    assert fold("e\u0301") == fold("é") == "e"


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text(alphabet=string.printable, max_size=40))
def test_ascii_text_folds_as_character_by_character(text: str) -> None:
    """ASCII text takes one translation table: the same result as folding each character (the general path)."""
    assert fold(text) == "".join(piece for piece, _ in _pieces(text))


def test_ascii_folding_squeezes_and_trims_the_spaces() -> None:
    assert fold(" \t Ann\x00\x7f  O'Neil-Smith \n") == f"ann{WORD}o{fold(chr(39))}neil{fold('-')}smith"
    assert fold(" \t\n ") == "" and fold("") == ""


def test_marks_and_punctuation_are_letters_no_folded_value_holds() -> None:
    """pg_trgm keeps letters in its words: the marks and ASCII punctuation are mathematical letters, which
    compatibility decomposition takes out of every value (they fold to plain letters)."""
    assert all(mark.isalpha() for mark in (WORD, NAMES, FIELD))
    assert fold(f"a{FIELD}b{NAMES}c{WORD}d") == "aabbccd"
    dotted = fold("j.d@x-y_z")
    assert dotted.isalpha() and len(dotted) == 9 and dotted[0] == "j" and dotted[1] != dotted[3] != dotted[5]
    assert fold("ｊ．ｄ＠") == fold("j.d@")  # full-width forms decompose to the same


def test_the_search_text_keeps_identifiers_apart_from_names() -> None:
    text = search_text(["Ann.Smith", None, "ann@X.io", ""], ["Ann Smith", None, "Smith"])
    fields = [fold("ann.smith"), fold("ann@x.io"), "", f"ann{WORD}smith", "smith"]
    assert text == f"{FIELD}{fields[0]}{FIELD}{fields[1]}{FIELD}{NAMES}{FIELD}{fields[3]}{FIELD}{fields[4]}{FIELD}"
    assert search_text([], []) == FIELD + NAMES + FIELD


@pytest.mark.parametrize(
    ("typed", "substring"),
    [
        ("urney", True),
        ("581", True),
        ("x.co", True),
        ("@ex", True),
        ("a b", True),
        ("...", True),  # ASCII punctuation is spelt with letters: one word to pg_trgm
        ("ab", False),  # two characters: a prefix
        ("a\u2013\u2013", False),  # non-ASCII punctuation cuts words: pg_trgm would draw no trigram
    ],
)
def test_which_terms_are_searched_anywhere(typed: str, substring: bool) -> None:
    assert term_of(typed).substring is substring


def test_a_term_is_trimmed_cut_and_folded() -> None:
    term = term_of("  Zoë  Urney " + "x" * 300)
    assert term.typed.startswith("Zoë  Urney") and len(term.typed) == 255
    assert term.folded.startswith(f"zoe{WORD}urney{WORD}x")
    assert term.prefix == term.typed.lower()
    assert not term_of("   ")


def test_marked_cuts_a_value_around_every_match_folded_alike() -> None:
    assert marked("Urney581629", "URNEY") == [("Urney", True), ("581629", False)]
    assert marked("journey.581629.0@example.com", "urney") == [
        ("jo", False),
        ("urney", True),
        (".581629.0@example.com", False),
    ]
    assert marked("Zoë Zoe", "zoe") == [("Zoë", True), (" ", False), ("Zoe", True)]
    assert marked("Ze\u0301na", "zen") == [("Ze\u0301n", True), ("a", False)]  # the accent goes with its letter
    assert marked("Straße", "strasse") == [("Straße", True)]
    assert marked("aaaaaa", "aaa") == [("aaaaaa", True)]  # adjacent matches merge
    assert marked("<b>Bold</b>", "bold") == [("<b>", False), ("Bold", True), ("</b>", False)]  # escaped later


def test_a_short_term_marks_the_beginning_only() -> None:
    assert marked("Alice", "AL") == [("Al", True), ("ice", False)]
    assert marked("Malice", "al") == [("Malice", False)]
    assert marked("Alice", "") == [("Alice", False)]
    assert marked("", "al") == []
