"""The text users and groups are found by (Organization → Users and Groups, ``GET /api/users?q=``), and how a
search term and a shown value are folded to be compared with it. Pure: the store indexes
:func:`search_text`, the dashboard highlights with :func:`marked`.

**Folding** (:func:`fold`): Unicode compatibility decomposition, combining marks dropped, case folded,
every run of whitespace or control characters made one :data:`WORD` mark, trimmed, and each ASCII punctuation
mark spelt as a letter of its own (below): ``"  Zoë  ÉMILE"`` and ``"zoe emile"`` fold alike, and
``"Straße"`` as ``"strasse"``. Folding is done here, once, rather than by the database (PostgreSQL's
``unaccent``, SQLite's ``remove_diacritics``), so both databases compare the same strings and neither needs
an extension or a recent SQLite for accents.

**Letters for marks and punctuation.** PostgreSQL's ``pg_trgm`` cuts text into words at anything but a
letter or digit and indexes each word's trigrams, padded at its ends. Left so, ``"@ex"`` would be looked up
as "a word starting with ex" (every ``@example.com`` and every Ex…), and a field's beginning could not be
told from a word's after a dot. So the marks of the layout and the 32 ASCII punctuation marks are written
as mathematical bold letters (``𝐀``–``𝐢``, U+1D400 on), which no folded text holds otherwise (compatibility
decomposition turns them into plain letters): to ``pg_trgm`` the whole search text is then one word, and
every three characters of it a trigram, as for SQLite's FTS5 ``trigram`` tokenizer. Only the rare non-ASCII
punctuation still cuts words.

**Layout** (:func:`search_text`): the folded *identifiers* (userName, every e-mail, externalId; a group's
display name), then the folded *names* (display, given and family name), each field between two
:data:`FIELD` marks, the two parts apart by :data:`NAMES`::

    FIELD userName FIELD email FIELD … FIELD externalId FIELD NAMES FIELD display FIELD given FIELD family FIELD

The store ranks a match by where it falls (see :mod:`gatehouse.store.search`): ``FIELD + term + FIELD``
before ``NAMES`` is an exact identifier, ``FIELD + term`` a field's beginning, ``WORD + term`` a word's. A
term never holds :data:`FIELD` or :data:`NAMES`, so a match never spans two fields. Changing this layout or
the folding needs a migration that recomputes ``search_text`` (as ``0009`` does).

**Terms** (:func:`term_of`): a folded term of at least :data:`MIN_SUBSTRING` characters is searched anywhere
in that text, which a trigram index serves; a shorter one (``"a"``, ``"jo"``) only at the beginning of the
username, name or primary e-mail, as the prefix indexes serve it. So are the rare longer terms from which
``pg_trgm`` would draw no trigram (only non-ASCII punctuation around one or two letters), which it could
only answer by reading its whole index; both databases treat them alike.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

_LETTERS = 0x1D400
"""MATHEMATICAL BOLD CAPITAL A: the first of the letters marks and punctuation are spelt with."""
FIELD = chr(_LETTERS)
"""Before and after every field of a search text."""
NAMES = chr(_LETTERS + 1)
"""Between the identifiers and the names of a search text."""
WORD = chr(_LETTERS + 2)
"""What a run of whitespace or control characters folds to (between two words of a field)."""
_PUNCTUATION = {ord(mark): chr(_LETTERS + 3 + index) for index, mark in enumerate(sorted(set(string.punctuation)))}
"""Each ASCII punctuation mark and the letter it is spelt with."""
MIN_SUBSTRING = 3
"""The shortest term searched anywhere (a trigram)."""
MAX_TERM = 255
"""The longest term taken (longer ones are cut)."""

_WORD = re.compile(r"[^\W_]+")
_ASCII = str.maketrans(
    {chr(code): WORD for code in (*range(0x21), 0x7F)}  # whitespace and control characters
    | {chr(code): letter for code, letter in _PUNCTUATION.items()}
    | {upper: upper.lower() for upper in string.ascii_uppercase}
)
"""How :func:`fold` maps each ASCII character (the same as :func:`_fold_char`, one table for a whole text)."""
_WORDS = re.compile(WORD + "{2,}")


@cache
def _fold_char(char: str) -> str:
    """One character folded: :data:`WORD` for whitespace and control characters, else its decomposition
    without combining marks, case folded, ASCII punctuation spelt as letters (possibly empty, possibly several
    characters)."""
    if char.isspace() or unicodedata.category(char) == "Cc":
        return WORD
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    kept = "".join(part for part in folded if not unicodedata.combining(part))
    return WORD if kept.isspace() else kept.translate(_PUNCTUATION)


def _pieces(text: str) -> Iterator[tuple[str, int]]:
    """The folded pieces of ``text``, each with the index of the character it comes from; whitespace runs
    give one :data:`WORD`, and none at either end."""
    pending_space = -1
    started = False
    for index, char in enumerate(text):
        piece = _fold_char(char)
        if piece == WORD:
            if started and pending_space < 0:
                pending_space = index
            continue
        if not piece:
            continue
        if pending_space >= 0:
            yield WORD, pending_space
            pending_space = -1
        started = True
        yield piece, index


def fold(text: str) -> str:
    """``text`` as searches compare it (see the module's docstring). ASCII text, nearly every identifier and
    many names, is folded by one translation instead of character by character (a third of the time)."""
    if not text.isascii():
        return "".join(piece for piece, _ in _pieces(text))
    folded = text.translate(_ASCII)
    if WORD in folded:
        folded = _WORDS.sub(WORD, folded).strip(WORD)
    return folded


def search_text(identifiers: Iterable[str | None], names: Iterable[str | None]) -> str:
    """The indexed search text of a user or group (see the module's docstring for the layout)."""

    def fields(values: Iterable[str | None]) -> str:
        folded = (fold(value) for value in values if value)
        return FIELD + "".join(value + FIELD for value in folded if value)

    return fields(identifiers) + NAMES + fields(names)


@dataclass(frozen=True, slots=True)
class Term:
    """A search as typed (trimmed, at most :data:`MAX_TERM` characters) and as matched."""

    typed: str
    folded: str

    @property
    def substring(self) -> bool:
        """Whether it is searched anywhere, else as a prefix (see the module's docstring)."""
        return len(self.folded) >= MIN_SUBSTRING and _has_trigram(self.folded)

    @property
    def prefix(self) -> str:
        """The term of a prefix match: lower-cased as the prefix columns are (not folded)."""
        return self.typed.lower()

    def __bool__(self) -> bool:
        return bool(self.typed)


def _has_trigram(folded: str) -> bool:
    """Whether ``pg_trgm`` draws a trigram from ``LIKE '%<folded>%'``: it splits the pattern into words of
    letters and digits, pads a word with two spaces before when something other than the wildcard precedes
    it and one after when something follows, and takes the trigrams of the padded words."""
    for word in _WORD.finditer(folded):
        padded = len(word.group()) + 2 * (word.start() > 0) + (word.end() < len(folded))
        if padded >= MIN_SUBSTRING:
            return True
    return False


def term_of(search: str) -> Term:
    """The term of a search box's value (an empty :class:`Term` for blanks)."""
    typed = search.strip()[:MAX_TERM]
    return Term(typed, fold(typed))


def marked(text: str, search: str) -> list[tuple[str, bool]]:
    """``text`` cut into consecutive pieces, each with whether it is (part of) a match of ``search``: every
    occurrence of a substring term, folded alike; for a prefix term, the beginning of ``text`` only. Joined,
    the pieces are ``text`` unchanged (the caller escapes each)."""
    term = term_of(search)
    if not term or not text:
        return [(text, False)] if text else []
    pieces = list(_pieces(text))
    folded = "".join(piece for piece, _ in pieces)
    owner: list[int] = []
    for piece, index in pieces:
        owner.extend([index] * len(piece))
    needle = term.folded if term.substring else fold(term.prefix)
    if not needle or (not term.substring and not folded.startswith(needle)):
        return [(text, False)]
    spans: list[tuple[int, int]] = []
    start = folded.find(needle)
    while start >= 0:
        end = start + len(needle)
        begin, stop = owner[start], owner[end - 1] + 1
        while stop < len(text) and unicodedata.combining(text[stop]):
            stop += 1  # the accents of the last character matched go with it
        if spans and begin <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(stop, spans[-1][1]))
        else:
            spans.append((begin, stop))
        start = folded.find(needle, end) if term.substring else -1
    parts: list[tuple[str, bool]] = []
    cursor = 0
    for begin, stop in spans:
        if cursor < begin:
            parts.append((text[cursor:begin], False))
        parts.append((text[begin:stop], True))
        cursor = stop
    if cursor < len(text):
        parts.append((text[cursor:], False))
    return parts
