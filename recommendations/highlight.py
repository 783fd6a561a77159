"""Marking the searched words in what a page shows, by one rule on every database.

A word of the shown text is marked when its stem is the stem of a word searched for
(`search_syntax.stem`, the stemmer PostgreSQL's `english` configuration uses): the
same words the search matched, whichever database ran it. Stop words and the words
of `-excluded` terms are never marked. Everything else is escaped; the text is never
trusted as HTML.

Japanese has no spaces between words: there, what is marked is each place where a
run of CJK characters that was searched for appears (`recommendations.cjk`), as the
search found it.
"""

from __future__ import annotations

import re

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from recommendations import cjk
from recommendations.search_syntax import WORD, ParsedQuery, is_stop_word, parse, stem

# Words shown around the first marked word of an excerpt.
EXCERPT_WORDS_BEFORE = 10
EXCERPT_WORDS = 32
ELLIPSIS = "…"


def _is_searched(word: str, stems: frozenset[str]) -> bool:
    lowered = word.lower()
    return not is_stop_word(lowered) and stem(lowered) in stems


def _searched(search: str) -> tuple[frozenset[str], frozenset[str]]:
    """The stems searched for, and the runs of CJK letters searched for (each term's, as typed)."""
    if not search:
        return frozenset(), frozenset()
    parsed: ParsedQuery = parse(search)
    return parsed.stems, frozenset(run for term in parsed.terms for run in cjk.runs(term.raw))


def _spans(word: str, stems: frozenset[str], runs: frozenset[str]) -> list[tuple[int, int]]:
    """The parts of `word` to mark, as (start, end) in the word: all of it, or the CJK runs searched for."""
    if _is_searched(word, stems):
        return [(0, len(word))]
    return cjk.spans(word, runs)


def _marked(text: str, stems: frozenset[str], runs: frozenset[str] = frozenset()) -> SafeString:
    pieces: list[str | SafeString] = []
    position = 0
    for match in WORD.finditer(text):
        for start, end in _spans(match.group(), stems, runs):
            start, end = match.start() + start, match.start() + end
            pieces.append(text[position:start])
            pieces.append(format_html("<mark>{}</mark>", text[start:end]))
            position = end
    pieces.append(text[position:])
    # format_html escapes each plain piece and keeps each <mark> as built above.
    return format_html_join("", "{}", ((piece,) for piece in pieces))


def highlight(text: str, search: str) -> SafeString:
    """Return `text`, escaped, with the words that the search `search` matches in <mark>."""
    return _marked(text or "", *_searched(search))


def excerpt(text: str, search: str) -> SafeString:
    """Return a few dozen words of `text` around its first searched word, marked; empty if it has none."""
    stems, runs = _searched(search)
    words = list(WORD.finditer(text or ""))
    first = next((n for n, match in enumerate(words) if _spans(match.group(), stems, runs)), None)
    if first is None:
        return SafeString("")
    start = max(0, first - EXCERPT_WORDS_BEFORE)
    end = min(len(words), start + EXCERPT_WORDS)
    begin = 0 if start == 0 else words[start].start()
    finish = len(text) if end == len(words) else words[end - 1].end()
    return format_html(
        "{}{}{}",
        ELLIPSIS if begin else "",
        _marked(re.sub(r"\s+", " ", text[begin:finish]), stems, runs),
        ELLIPSIS if end < len(words) else "",
    )
