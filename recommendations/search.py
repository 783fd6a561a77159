"""Full-text search over items: the same words find the same items, in the same order, on both databases.

What a search means (syntax, whole words, English stems, stop words) is decided
once, in Python, by `recommendations.search_syntax`; this module runs it on the
database's own full-text index (`recommendations.search_index`):

A term is found in English (stemmed) in the title, text or link notes, or as written
(lower-cased, every word) in the French and Japanese titles; Japanese as pairs of
characters (`recommendations.cjk`), a lone last character as the start of a word.

- PostgreSQL: the stored `search_document` (GIN-indexed), each term a `to_tsquery`
  of its words in order, `english` on the weights A, B, C or `simple` on D (the
  translated titles), combined with `&&`, `||`, `!!`.
- SQLite: an FTS5 MATCH per term, built from the parsed words: each word becomes the
  indexed words that share its Snowball stem (looked up in the index's vocabulary),
  each quoted, so no input is ever an FTS5 syntax error, in the English columns; or
  the words as written, in the `translations` column. A phrase with a stop word
  inside ("cooperation in peace") is matched on the index's word positions, where any
  word may hold the stop word's place, as PostgreSQL (which leaves stop words out of
  its documents but keeps their places) does.

An item also matches when the whole search is its code (e.g. `jn97-r3.2`).

Best match first, by a rule both databases compute alike: the item whose code was
searched for; then the more of the searched terms its title has, the higher (for a
reader in French or Japanese, its translated titles count as its title); then the
more its text has; then (a match in a link's note only, or equal counts) in reading
order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.utils import translation

from recommendations.models import READING_ORDER
from recommendations.search_index import (
    INSTANCES_TABLE,
    SEARCH_CONFIG,
    SEARCH_TABLE,
    TERMS_TABLE,
    TRANSLATIONS_COLUMN,
    TRANSLATIONS_CONFIG,
    TRANSLATIONS_WEIGHT,
)
from recommendations.search_syntax import ParsedQuery, Term, is_stop_word, parse, stem

# A quoted phrase matches on SQLite through every combination of its words' indexed forms
# ("ship visits": ship+visits, ship+visit, ships+visits, …): at most this many.
MAX_PHRASE_FORMS = 256

# The annotations that order a search, best match first.
RANK_FIELDS = ("search_code_match", "search_title_hits", "search_text_hits")


def full_text_supported() -> bool:
    """Return True when the database has PostgreSQL's full-text search (SQLite has its own, see above)."""
    return connection.vendor == "postgresql"


def search_recommendations(
    queryset: QuerySet, terms: str, *, rank: bool = True, forms: dict[str, list[str]] | None = None
) -> QuerySet:
    """Return the items matching `terms` (web-search syntax), best match first when `rank`.

    `forms`: on SQLite, the indexed forms of each word already looked up, filled as they are; a
    caller that runs one search several times (a page, its count and its facets) passes one dict.
    """
    if not terms.strip():
        return queryset
    parsed = parse(terms)
    backend = _PostgreSQL() if connection.vendor == "postgresql" else _SQLite(forms)
    condition = backend.condition(parsed)
    if parsed.code:
        condition = condition | Q(code=parsed.code) if condition is not None else Q(code=parsed.code)
    if condition is None:
        return queryset.none()
    queryset = queryset.filter(condition)
    if rank:
        code_match = Case(When(code=parsed.code, then=Value(1)), default=Value(0)) if parsed.code else Value(0)
        title_hits, text_hits = backend.hits(parsed.terms, translated=_reads_translated_titles())
        queryset = queryset.annotate(
            search_code_match=code_match, search_title_hits=title_hits, search_text_hits=text_hits
        ).order_by(*(f"-{name}" for name in RANK_FIELDS), *READING_ORDER, "pk")
    return queryset


def _reads_translated_titles() -> bool:
    """True when the reader reads the items' titles in French or Japanese (the active language is not English).

    A term found in a translated title then counts as found in the title when ranking; in English
    it counts only in the English title, so that English searches rank as they always have.
    """
    return (translation.get_language() or settings.LANGUAGE_CODE) != settings.LANGUAGE_CODE


def is_ranked(queryset: QuerySet) -> bool:
    """Return True when `queryset` comes from `search_recommendations` ordered best match first."""
    return RANK_FIELDS[0] in queryset.query.annotations


def _count(conditions: Iterable) -> Case | Value:
    """The number of `conditions` (Q objects or boolean expressions) that hold, as an SQL expression."""
    total = None
    for condition in conditions:
        one = Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())
        total = one if total is None else total + one
    return total if total is not None else Value(0, output_field=IntegerField())


# --- PostgreSQL ---------------------------------------------------------------------------


class _PostgreSQL:
    @staticmethod
    def _query(term: Term, weights: str, config: str) -> SearchQuery:
        """`to_tsquery` of the term's words in order, each found in the parts `weights` of the document only.

        The last word is a prefix (`:*`) when the term says so. The words are letters and digits only
        (`search_syntax.WORD`), so the query text is always well formed.
        """
        labels = [f":{weights}"] * len(term.words)
        if term.prefix:
            labels[-1] = f":*{weights}"
        return SearchQuery(
            " <-> ".join(word + label for word, label in zip(term.words, labels, strict=True)),
            search_type="raw",
            config=config,
        )

    @classmethod
    def tsquery(cls, term: Term) -> SearchQuery:
        """The term in English (stemmed) in the title, text or link notes, or as written in a translated title."""
        return cls._query(term, "ABC", SEARCH_CONFIG) | cls._query(term, TRANSLATIONS_WEIGHT, TRANSLATIONS_CONFIG)

    @classmethod
    def excluded(cls, term: Term) -> SearchQuery:
        """The term found nowhere (`!!` of each of the two queries of `tsquery`, AND-ed)."""
        return ~cls._query(term, "ABC", SEARCH_CONFIG) & ~cls._query(term, TRANSLATIONS_WEIGHT, TRANSLATIONS_CONFIG)

    @classmethod
    def weighted(cls, term: Term, weight: str, translated: bool = False) -> SearchQuery:
        """The term found in one part of the document only (A: the title, or a translated one if `translated`;
        B: the text)."""
        english = cls._query(term, weight, SEARCH_CONFIG)
        if weight == "A" and translated:
            return english | cls._query(term, TRANSLATIONS_WEIGHT, TRANSLATIONS_CONFIG)
        return english

    def condition(self, parsed: ParsedQuery) -> Q | None:
        query = None
        for group in parsed.groups:
            parts = [self.tsquery(t) for t in group.terms] + [self.excluded(t) for t in group.excluded]
            both = parts[0]
            for part in parts[1:]:
                both = both & part
            query = both if query is None else query | both
        return Q(search_document=query) if query is not None else None

    def hits(self, terms: tuple[Term, ...], translated: bool = False):
        return tuple(_count(Q(search_document=self.weighted(t, weight, translated)) for t in terms) for weight in "AB")


# --- SQLite -------------------------------------------------------------------------------


def _as_written(word: str) -> bool:
    """A word with a digit is matched as written (as PostgreSQL does), never stemmed."""
    return any(c.isdigit() for c in word)


def _quote(word: str) -> str:
    """An FTS5 string: the word in double quotes, any double quote doubled (words never have one)."""
    return '"' + word.replace('"', '""') + '"'


# The keys of a prefix's forms ("協*") and of a word as written ("=visites"): a word never holds either
# mark, words are letters and digits.
PREFIX = "*"
EXACT = "="
# The columns of SQLite's index that hold English (the translated titles are matched as written).
ENGLISH_COLUMNS = ("title", "text", "links")


def _lookup_key(term: Term, offset: int, *, exact: bool = False) -> str:
    """The key of the word at `offset` of the term: a prefix when it is one, else stemmed or (`exact`) as written."""
    word = term.words[offset]
    if term.prefix and offset == len(term.words) - 1:
        return word + PREFIX
    return EXACT + word if exact else word


def _lookup_keys(term: Term) -> list[str]:
    return [_lookup_key(term, n, exact=exact) for n in range(len(term.words)) for exact in (False, True)]


class _SQLite:
    """Runs each term as an FTS5 query; the index's own words stand for each stem."""

    def __init__(self, forms: dict[str, list[str]] | None = None) -> None:
        self._forms = forms if forms is not None else {}

    def forms(self, word: str) -> list[str]:
        """The indexed words that a search for `word` finds: those of its stem, or itself as written."""
        if word not in self._forms:
            self.look_up([word])
        return self._forms[word]

    def look_up(self, words: Iterable[str]) -> None:
        """Find the indexed forms of `words` not looked up yet, in one query."""
        wanted = sorted({w for w in words if w not in self._forms})
        if not wanted:
            return
        # One SELECT per word, joined by UNION ALL: fts5vocab answers a single range (or equality) on
        # `term` from its index, and an OR of several is not checked row by row (SQLite 3.40).
        where, params = [], []
        for word in wanted:
            if word.endswith(PREFIX):
                # The start of a word (a lone CJK character): every indexed word that starts with it.
                where.append("term >= %s AND term < %s")
                params.extend([word[:-1], word[:-2] + chr(ord(word[-2]) + 1)])
            elif word.startswith(EXACT) or _as_written(word):
                where.append("term = %s")
                params.append(word.removeprefix(EXACT))
            else:
                # Stemming changes at most a word's last two letters (for a few short words more, but
                # never the first): every word with this stem starts with this prefix.
                stemmed = stem(word)
                prefix = stemmed[:-2] if len(stemmed) > 3 else stemmed[:1]
                where.append("term >= %s AND term < %s")
                params.extend([prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)])
        with connection.cursor() as cursor:
            select = f"SELECT term FROM {TERMS_TABLE} WHERE "  # noqa: S608
            cursor.execute(" UNION ALL ".join(select + condition for condition in where), params)
            indexed = [row[0] for row in cursor.fetchall()]
        for word in wanted:
            if word.endswith(PREFIX):
                self._forms[word] = [w for w in indexed if w.startswith(word[:-1])]
            elif word.startswith(EXACT) or _as_written(word):
                written = word.removeprefix(EXACT)
                self._forms[word] = [written] if written in indexed else []
            else:
                # PostgreSQL leaves stop words out of the document: "other" is not a form of "others".
                self._forms[word] = [w for w in indexed if stem(w) == stem(word) and not is_stop_word(w)]

    def matches(self, term: Term, column: str | None = None, translated: bool = False) -> Q | None:
        """Items in which `term` matches, or None when no indexed word can.

        `column`: None, anywhere (the translated titles too); "title", in the English title (or, if
        `translated`, as written in a translated one); "text", in the text.
        """
        english = self._english(term, ENGLISH_COLUMNS if column is None else (column,))
        written = self._translated(term) if column is None or (column == "title" and translated) else None
        if english is None or written is None:
            return english if written is None else written
        return english | written

    @staticmethod
    def _match(expression: str, columns: tuple[str, ...]) -> Q:
        # The MATCH expression is a parameter, and every word in it is quoted.
        matching = f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH %s"  # noqa: S608
        return Q(pk__in=RawSQL(matching, [f"{{{' '.join(columns)}}} : {expression}"]))  # noqa: S611

    def _english(self, term: Term, columns: tuple[str, ...]) -> Q | None:
        """Items in which `term` matches in English (stemmed) in `columns`, or None when no indexed word can."""
        # A stop word inside a phrase holds a place that any word may fill, as in PostgreSQL.
        placed = [
            (offset, self.forms(_lookup_key(term, offset)))
            for offset, word in enumerate(term.words)
            if not is_stop_word(word)
        ]
        if any(not forms for _, forms in placed):
            return None
        # A last word that is a prefix is matched by FTS5's own prefix query ("…"*), not by its forms.
        exact = placed[:-1] if term.prefix else placed
        combinations = 1
        for _, forms in exact:
            combinations *= len(forms)
        if len(placed) == len(term.words) and combinations <= MAX_PHRASE_FORMS:
            # A word, or a phrase of adjacent words: one MATCH of its forms ("ship visits" OR "ship visit" …).
            phrases = itertools.product(*(forms for _, forms in exact), *([[term.words[-1]]] if term.prefix else []))
            star = "*" if term.prefix else ""
            return self._match("(" + " OR ".join(_quote(" ".join(p)) + star for p in phrases) + ")", columns)
        return Q(pk__in=self._placed(placed, columns))

    def _translated(self, term: Term) -> Q | None:
        """Items with `term` as written (lower-cased, every word) in a translated title, or None if none can."""
        if any(not self.forms(_lookup_key(term, n, exact=True)) for n in range(len(term.words))):
            return None
        star = "*" if term.prefix else ""
        return self._match(_quote(" ".join(term.words)) + star, (TRANSLATIONS_COLUMN,))

    @staticmethod
    def _placed(placed: list[tuple[int, list[str]]], columns: tuple[str, ...]) -> RawSQL:
        """Items with each word's forms at its offset from the first: from the index's word positions."""
        ctes, joins, params = [], [], []
        for n, (offset, forms) in enumerate(placed):
            marks = ", ".join(["%s"] * len(forms))
            ctes.append(
                f"w{n} AS MATERIALIZED (SELECT doc, col, offset FROM {INSTANCES_TABLE} WHERE term IN ({marks}))"  # noqa: S608
            )
            params.extend(forms)
            if n:
                joins.append(
                    f"JOIN w{n} ON w{n}.doc = w0.doc AND w{n}.col = w0.col "
                    f"AND w{n}.offset = w0.offset + {offset - placed[0][0]:d}"
                )
        where = f" WHERE w0.col IN ({', '.join(['%s'] * len(columns))})"
        params = [*params, *columns]
        # Words, and the columns' names, are parameters; offsets are integers.
        return RawSQL(f"WITH {', '.join(ctes)} SELECT w0.doc FROM w0 {' '.join(joins)}{where}", params)  # noqa: S608, S611

    def condition(self, parsed: ParsedQuery) -> Q | None:
        self.look_up(key for group in parsed.groups for t in group.terms + group.excluded for key in _lookup_keys(t))
        condition = None
        for group in parsed.groups:
            wanted = [self.matches(t) for t in group.terms]
            if any(m is None for m in wanted):
                continue  # a term that no indexed word matches: this group matches nothing
            this = Q()
            for match in wanted:
                this &= match
            for term in group.excluded:
                unwanted = self.matches(term)
                if unwanted is not None:
                    this &= ~unwanted
            if not this:
                this = Q(pk__isnull=False)  # only excluded words that no item has: every item
            condition = this if condition is None else condition | this
        return condition if condition is not None else (Q(pk__in=[]) if parsed.groups else None)

    def hits(self, terms: tuple[Term, ...], translated: bool = False):
        return tuple(
            _count(m for m in (self.matches(t, column, translated) for t in terms) if m is not None)
            for column in ("title", "text")
        )
