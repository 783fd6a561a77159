"""Chinese characters and kana in full-text search: overlapping pairs of characters, on both databases.

Japanese is written without spaces between words, so a search cannot split it into
words as it splits English or French. The index instead holds every pair of
neighbouring CJK characters (kanji, hiragana, katakana, half-width katakana), as
its words: 安全保障 is indexed as 安全 全保 保障 障 — each character starts one word, made of
itself and the character after it in the run (the last character of a run stands
alone). A search for 全保 finds the word 全保; a search for 安全保障 finds the phrase 安全 全保 保障.

`search_form(text)` is the one rule, for both databases: it returns the text with
every run of CJK characters written as those words, set apart by spaces, other text
unchanged, except that full-width Latin letters, digits and punctuation become their
ASCII forms (ＷＴＯ is WTO) and CJK punctuation (、。「」・〜 and the ideographic space)
becomes a space. The same two regular expressions run in Python (`search_form`, which
SQLite's triggers call, see `register_sqlite_function`) and in PostgreSQL
(`PG_SEARCH_FORM_FUNCTION`, which its trigger calls): the character classes below are
written once, in the syntax both regular-expression engines read. Text with none of
these characters is returned as it is, after one scan, on both databases.

A search's words go through the same form (`query_words`), with one difference at
the end of a search term: the run there may go on in the item's text, so its last
lone character is left out (安全保障 is the phrase 安全 全保 保障, found inside 日加安全保障協力),
and a run of a single character at the end matches every word that starts with it
(協 finds 協力, 障協 and a lone 協).
"""

from __future__ import annotations

import re

# Characters that make up Japanese (and Chinese) words: iteration marks and ideographic zero, hiragana,
# katakana (the prolonged-sound mark included, the middle dot not), kanji (with the extensions and the
# compatibility ideographs), half-width katakana. All are letters or digits to Python's `\w`, to SQLite's
# unicode61 tokenizer and to PostgreSQL's parser.
LETTERS = (
    r"\u3005-\u3007\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
# Punctuation and symbols of the same blocks: read as a space.
SEPARATORS = r"\u3000-\u3004\u3008-\u303a\u303c-\u303f\u3099-\u309c\u30a0\u30fb\uff5f-\uff65\uffe0-\uffef"
# Any character that `search_form` may change: text without one is left as it is.
ANY = r"[\u3000-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
# Full-width Latin letters, digits and punctuation (U+FF01 to U+FF5E), and their ASCII forms.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
HALF_WIDTH = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F))

# The steps of the rule, each a (pattern, replacement) that Python's `re` and PostgreSQL's regular
# expressions read alike: runs set apart by spaces, then each character after the first of its run
# written as itself, a space and itself again (安全保障 → 安 + 全 全 + 保 保 + 障 障 = 安全 全保 保障 障).
RUN = (f"([{LETTERS}]+)", r" \1 ")
PAIR = (f"(?<=[{LETTERS}])([{LETTERS}])", r"\1 \1")

_ANY = re.compile(ANY)
_SEPARATOR = re.compile(f"[{SEPARATORS}]")
_RUN = re.compile(RUN[0])
_PAIR = re.compile(PAIR[0])
_LETTER = re.compile(f"[{LETTERS}]")
_TRAILING_RUN = re.compile(f"[{LETTERS}]+$")
_TO_HALF_WIDTH = str.maketrans(FULL_WIDTH, HALF_WIDTH)

SQL_FUNCTION = "recommendations_search_form"


def search_form(text: str | None) -> str | None:
    """The text as the index reads it: CJK runs as overlapping pairs, full-width forms as ASCII (see above)."""
    if not text or not _ANY.search(text):
        return text
    text = _SEPARATOR.sub(" ", text.translate(_TO_HALF_WIDTH))
    return _PAIR.sub(PAIR[1], _RUN.sub(RUN[1], text))


def has_cjk(text: str) -> bool:
    """True when `text` has a CJK letter (a character that `search_form` pairs)."""
    return bool(_LETTER.search(text))


def query_words(found: list[str]) -> tuple[list[str], bool]:
    """The index's words for a search term's words (lower-cased, in order), and whether the last is a prefix.

    Words with no CJK letter are returned as they are. A CJK run at the end of the term is left open
    (see the module's docstring): its lone last character is left out, or, if it is the whole run,
    matched as the start of a word (the returned flag).
    """
    from recommendations.search_syntax import words  # the one rule of what a word is

    if not any(has_cjk(word) for word in found):
        return found, False
    expanded = [w for word in found for w in words(search_form(word))]
    trailing = _TRAILING_RUN.search(found[-1]) if found else None
    if trailing is None:
        return expanded, False
    if len(trailing.group()) > 1:
        return expanded[:-1], False
    return expanded, True


def fold(text: str) -> str:
    """Full-width Latin letters, digits and punctuation as ASCII (what `search_form` does to them)."""
    return text.translate(_TO_HALF_WIDTH)


# --- The databases ---------------------------------------------------------------------------


def _sql_string(text: str) -> str:
    """An SQL string literal of `text`; a percent sign as chr(37), which no driver takes for a placeholder."""
    return "(" + " || chr(37) || ".join("'" + part.replace("'", "''") + "'" for part in text.split("%")) + ")"


# PostgreSQL's regular expressions read \uXXXX and \UXXXXXXXX as Python's do (standard_conforming_strings
# keeps the backslashes for them); a text with none of the characters is returned after one scan.
PG_SEARCH_FORM_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SQL_FUNCTION}(t text) RETURNS text AS $$
    SELECT CASE WHEN t ~ {_sql_string(ANY)} THEN
        regexp_replace(
            regexp_replace(
                regexp_replace(translate(t, {_sql_string(FULL_WIDTH)}, {_sql_string(HALF_WIDTH)}),
                               {_sql_string(f"[{SEPARATORS}]")}, ' ', 'g'),
                {_sql_string(RUN[0])}, {_sql_string(RUN[1])}, 'g'),
            {_sql_string(PAIR[0])}, {_sql_string(PAIR[1])}, 'g')
    ELSE t END
$$ LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;
"""
PG_DROP_SEARCH_FORM_FUNCTION = f"DROP FUNCTION IF EXISTS {SQL_FUNCTION}(text)"


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """`connection_created`: give each SQLite connection `recommendations_search_form`, which its triggers call."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQL_FUNCTION, 1, search_form, deterministic=True)


# --- Marking what was found ------------------------------------------------------------------


def runs(text: str) -> list[str]:
    """The runs of CJK letters in `text`, in order."""
    return re.findall(f"[{LETTERS}]+", text)


def spans(word: str, searched: frozenset[str]) -> list[tuple[int, int]]:
    """Where the searched runs of CJK letters occur in `word`, as (start, end), in order, never overlapping."""
    found: list[tuple[int, int]] = []
    if not searched or not has_cjk(word):
        return found
    pattern = "|".join(re.escape(run) for run in sorted(searched, key=len, reverse=True))
    return [m.span() for m in re.finditer(pattern, word)]
