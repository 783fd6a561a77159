"""What a search means, the same on every database: the query syntax, the words, their stems.

The syntax is PostgreSQL's web-search syntax: words are AND-ed, "a quoted phrase"
matches its words in order, `or` between two terms matches either, and `-word`
(or `-"a phrase"`) leaves out the items that have it. Nothing else is an operator:
any other punctuation only separates words, so no input is a syntax error.

Words match whole words with English stemming ("visit" finds "visits", never
"revisited" nor "rapport" for "port"), as PostgreSQL's `english` configuration does:
the same stop words are ignored (the list below is PostgreSQL's `english.stop`),
and words are stemmed with the same Snowball English stemmer (the
`snowballstemmer` package, pinned to the version whose stems are PostgreSQL 15's).
A word with a digit in it (JN97, 1997, CP-140) is matched as written, as PostgreSQL does.

`parse` turns the text into a `ParsedQuery`; `recommendations.search` runs it on the
database, `recommendations.highlight` marks its words in what a page shows.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import snowballstemmer
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from recommendations import cjk

# PostgreSQL's english.stop (share/tsearch_data/english.stop), word for word: these words are
# left out of every document and every query, on both databases.
_POSTGRESQL_ENGLISH_STOP = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is
    are was were be been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will just don should now
"""
STOP_WORDS = frozenset(_POSTGRESQL_ENGLISH_STOP.split())

# A word: a run of letters and digits (Unicode); everything else separates words. This is how
# SQLite's unicode61 tokenizer splits text, and close to PostgreSQL's parser.
WORD = re.compile(r"[^\W_]+")

# Terms (words and phrases) in one search, at most.
MAX_TERMS = 32
ERROR_TOO_MANY_TERMS = _(
    "Search with at most {limit} words and phrases: this search has {count}. Leave out some of them."
)

_stemmer = snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    """Return the words of `text`, lower-cased, in order."""
    return WORD.findall(text.lower())


@functools.lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """Return the stem of a lower-cased word: Snowball English, or the word itself if it has a digit."""
    if any(c.isdigit() for c in word):
        return word
    return _stemmer.stemWord(word)


def is_stop_word(word: str) -> bool:
    return word in STOP_WORDS


@dataclass(frozen=True)
class Term:
    """One word or quoted phrase of a search, as typed (`raw`) and as words.

    `words` are the words that must appear in order: the typed words, less the stop words
    at either end (a stop word inside a phrase stays, as PostgreSQL keeps its place).
    A single typed word may be several words ("CP-140", "P-M"), matched as a phrase.
    Japanese is matched as pairs of characters (`recommendations.cjk`); `prefix`: the last
    word matches every indexed word that starts with it (a lone kanji or kana at the end).
    """

    raw: str
    words: tuple[str, ...]
    prefix: bool = False

    @property
    def stems(self) -> tuple[str, ...]:
        """The stems of the words that count (stop words inside a phrase left out)."""
        return tuple(stem(w) for w in self.words if not is_stop_word(w))


@dataclass(frozen=True)
class Group:
    """Terms that must all match (`terms`) in an item that has none of `excluded`."""

    terms: tuple[Term, ...]
    excluded: tuple[Term, ...] = ()


@dataclass(frozen=True)
class ParsedQuery:
    """A search: an item matches if it matches any of the groups (the parts between `or`s).

    As in PostgreSQL's web-search syntax, `or` separates groups of AND-ed terms:
    `ship visits or port` is (ship AND visits) OR port.
    `code` is the text upper-cased when it could be an item's code (matched exactly besides).
    No groups: the text has no word a search can use (only stop words, or only punctuation).
    """

    groups: tuple[Group, ...]
    code: str | None = None

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms searched for (not the excluded ones), each once, in order."""
        return tuple(dict.fromkeys(term for group in self.groups for term in group.terms))

    @property
    def stems(self) -> frozenset[str]:
        """The stems of every word searched for (not the excluded ones): what a page highlights."""
        return frozenset(s for term in self.terms for s in term.stems)

    @property
    def size(self) -> int:
        return sum(len(group.terms) + len(group.excluded) for group in self.groups)


_CODE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]*$")
_OR = "or"


def _term(raw: str) -> Term | None:
    found = words(cjk.fold(raw))
    while found and is_stop_word(found[0]):
        found.pop(0)
    while found and is_stop_word(found[-1]):
        found.pop()
    if not found:
        return None
    found, prefix = cjk.query_words(found)
    return Term(raw=raw, words=tuple(found), prefix=prefix)


def _pieces(text: str) -> list[tuple[str, bool, bool]]:
    """Split the text into (raw text, negated, quoted) pieces, in order."""
    pieces: list[tuple[str, bool, bool]] = []
    i, n = 0, len(text)
    negated = False
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            negated = False
            continue
        if c == "-" and not negated and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
            continue
        if c == '"':
            end = text.find('"', i + 1)
            end = n if end == -1 else end  # an unclosed quote runs to the end, as in PostgreSQL
            pieces.append((text[i + 1 : end], negated, True))
            i = end + 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] != '"':
                end += 1
            pieces.append((text[i:end], negated, False))
            i = end
        negated = False
    return pieces


@functools.lru_cache(maxsize=512)
def parse(text: str) -> ParsedQuery:
    """Return what the search text asks for (see the module's docstring); never fails."""
    text = text.replace("\x00", "").strip()
    upper = text.upper()
    code = upper if _CODE.match(upper) and len(upper) <= 40 else None
    groups: list[tuple[list[Term], list[Term]]] = [([], [])]
    for raw, negated, quoted in _pieces(text):
        if not quoted and not negated and raw.lower() == _OR:
            if groups[-1] != ([], []):
                groups.append(([], []))
            continue
        term = _term(raw)
        if term is None:
            continue  # only stop words or punctuation: PostgreSQL leaves it out too
        groups[-1][1 if negated else 0].append(term)
    kept = tuple(
        Group(terms=tuple(dict.fromkeys(terms)), excluded=tuple(dict.fromkeys(excluded)))
        for terms, excluded in groups
        if terms or excluded
    )
    return ParsedQuery(groups=kept, code=code)


def validate_search(text: str) -> None:
    """Refuse a search of more terms than MAX_TERMS, with a message saying what to do."""
    count = parse(text).size
    if count > MAX_TERMS:
        raise ValidationError(ERROR_TOO_MANY_TERMS.format(limit=MAX_TERMS, count=count), code="too_many_terms")
