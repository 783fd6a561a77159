"""Reads that compose queries for the reviewer pages: facet counts, progress by status,
the status-by-theme and status-by-source matrices, a document's outline, an item's
story and the quote in its place in the document.

Every function here issues a fixed number of queries, however many items,
themes or owners there are: counts come from GROUP BY or conditional
aggregation, never from a query per value.

Those that count or show statuses take an optional `as_of` date: then they
count and show each item's status as it stood on that date. Counts come from
the status periods in effect on the date, grouped by status, and the items'
total (not assessed = total minus the rest), so they cost what the log's size
costs rather than a subquery per item; shown rows carry the FilterSet's
`timeline.with_status_on` annotation.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, pgettext

from recommendations.filters import RecommendationFilterSet
from recommendations.models import (
    READING_ORDER,
    Evidence,
    FacetEntry,
    Owner,
    Recommendation,
    RecommendationEdit,
    RecommendationLink,
    Source,
    StatusChange,
    Theme,
)
from recommendations.search import is_ranked
from recommendations.seeding import normalize_whitespace
from recommendations.timeline import periods_in_effect, with_status_on
from recommendations.translation import language_of, sort_key, with_translations, words
from recommendations.vocabulary import CLOSED_STATUSES, RELATION_INVERSE_LABELS, Level, Status

SECTION_SEPARATOR = " › "

# The facets of the list page, in the order shown: (query parameter, label).
FACETS: tuple[tuple[str, str], ...] = (
    ("theme", gettext_lazy("Theme")),
    ("status", gettext_lazy("Status")),
    ("source", gettext_lazy("Source")),
    ("level", gettext_lazy("Level")),
    ("owner", gettext_lazy("Owner")),
)


# The facets whose values are an item's themes or owners: the kind of facet entry that holds them.
FACET_KINDS = {"theme": FacetEntry.THEME, "owner": FacetEntry.OWNER}
# The facets whose values are a column of the item (copied on its facet entries too): the column.
ITEM_COLUMN_FACETS = {"status": "status", "source": "source_id", "level": "level"}


# --- progress -----------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    """One status's share of a set of items."""

    status: str
    label: str
    count: int
    percent: float

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


@dataclass(frozen=True)
class Progress:
    """Counts by status of a set of items, in vocabulary order (zeros included), for bars and tables."""

    counts: tuple[StatusCount, ...]
    total: int

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> Progress:
        total = sum(counts.values())
        return cls(
            counts=tuple(
                StatusCount(
                    status=status.value,
                    label=status.label,
                    count=counts.get(status.value, 0),
                    percent=round(100 * counts.get(status.value, 0) / total, 2) if total else 0.0,
                )
                for status in Status
            ),
            total=total,
        )

    @property
    def nonzero(self) -> tuple[StatusCount, ...]:
        return tuple(c for c in self.counts if c.count)

    @property
    def closed(self) -> int:
        """How many items are closed (implemented, superseded or not pursued)."""
        return sum(c.count for c in self.counts if c.closed)

    @property
    def assessed(self) -> int:
        return self.total - sum(c.count for c in self.counts if c.status == Status.NOT_ASSESSED)

    def summary(self) -> str:
        """Return the bar's text equivalent, e.g. '3 implemented, 2 in progress, 40 not assessed (of 45)'."""
        if not self.nonzero:
            return gettext("no items")
        parts = [
            pgettext("a count of items at a status", "%(count)s %(status)s")
            % {"count": intcomma(c.count), "status": str(c.label).lower()}
            for c in self.nonzero
        ]
        return gettext("%(counts)s (of %(total)s)") % {
            "counts": pgettext("between the counts of a summary", ", ").join(parts),
            "total": intcomma(self.total),
        }


def _with_not_assessed(total: int, assessed: dict[str, int]) -> dict[str, int]:
    """Return counts by status from the items' total and the counts of the periods in effect by status.

    Items with no period in effect, and those whose period in effect is `not_assessed`, are not assessed.
    """
    counts = {status: n for status, n in assessed.items() if status != Status.NOT_ASSESSED}
    counts[Status.NOT_ASSESSED.value] = total - sum(counts.values())
    return counts


def counts_as_of(queryset: QuerySet, as_of: datetime.date) -> dict[str, int]:
    """Return how many of the items in `queryset` had each status on `as_of` (two queries)."""
    queryset = queryset.order_by()
    in_effect = periods_in_effect(as_of)
    if queryset.query.where:
        in_effect = in_effect.filter(recommendation_id__in=_ids(queryset))
    assessed = {row["status"]: row["n"] for row in in_effect.values("status").annotate(n=Count("pk"))}
    return _with_not_assessed(queryset.count(), assessed)


def progress_of(queryset: QuerySet, as_of: datetime.date | None = None) -> Progress:
    """Return the counts by status of the items in `queryset` (one query), or by their status on `as_of` (two)."""
    if as_of:
        return Progress.from_counts(counts_as_of(queryset, as_of))
    rows = queryset.order_by().values("status").annotate(n=Count("pk"))
    return Progress.from_counts({row["status"]: row["n"] for row in rows})


def _grouped_as_of(as_of: datetime.date, group: str, totals: Iterable[dict]) -> dict[int, dict[str, int]]:
    """Counts by status on `as_of` for each group (a theme, a source): `totals` rows are {group_id, n}."""
    assessed: dict[int, dict[str, int]] = defaultdict(dict)
    rows = periods_in_effect(as_of).values(f"recommendation__{group}", "status").annotate(n=Count("pk"))
    for row in rows:
        if row[f"recommendation__{group}"] is not None:
            assessed[row[f"recommendation__{group}"]][row["status"]] = row["n"]
    return {row["group_id"]: _with_not_assessed(row["n"], assessed.get(row["group_id"], {})) for row in totals}


def list_url(params: list[tuple[str, str]]) -> str:
    """Return the list page's address with these query parameters (a parameter may repeat: OR)."""
    return reverse("recommendations:recommendation-list") + (f"?{urlencode(params)}" if params else "")


@dataclass(frozen=True)
class ProgressRow:
    """One row of a status matrix: a theme or a source with its items' progress."""

    label: str
    url: str
    progress: Progress
    slug: str = ""


def status_by_theme(as_of: datetime.date | None = None) -> list[ProgressRow]:
    """Return, for each theme (and for items without a theme), its items' counts by status (three queries;
    five with `as_of`).

    An item with several themes counts once under each of them. With `as_of`, by the status on that date.
    """
    links = Recommendation.themes.through.objects.order_by()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if as_of:
        totals = links.values(group_id=F("theme_id")).annotate(n=Count("pk"))
        counts.update(_grouped_as_of(as_of, "themes", totals))
    else:
        # From the facet entries, which carry each item's status beside its theme: one index, no join.
        entries = FacetEntry.objects.filter(kind=FacetEntry.THEME).order_by()
        for row in entries.values("value", "status").annotate(n=Count("*")):
            counts[row["value"]][row["status"]] = row["n"]
    as_of_value = as_of.isoformat() if as_of else None
    rows = [
        ProgressRow(
            label=words(theme, "name").text,
            slug=theme.slug,
            url=list_url([("theme", theme.slug), *([("as_of", as_of_value)] if as_of_value else [])]),
            progress=Progress.from_counts(counts.get(theme.pk, {})),
        )
        for theme in Theme.objects.order_by("position", "name")
    ]
    # An anti-join with the links (no outer join of every item with every link).
    themed = Recommendation.themes.through.objects.filter(recommendation_id=OuterRef("pk"))
    without = progress_of(Recommendation.objects.filter(~Exists(themed)), as_of)
    if without.total:
        rows.append(ProgressRow(label=gettext("No theme yet"), url="", progress=without))
    return rows


def sources_with_progress(as_of: datetime.date | None = None) -> list[tuple[Source, Progress]]:
    """Return every source document (without its full text) with its items' progress (two queries; three with `as_of`).

    With `as_of`, the progress counts each item's status on that date.
    """
    items = Recommendation.objects.order_by()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if as_of:
        counts.update(_grouped_as_of(as_of, "source", items.values(group_id=F("source_id")).annotate(n=Count("pk"))))
    else:
        for row in items.values("source_id", "status").annotate(n=Count("pk")):
            counts[row["source_id"]][row["status"]] = row["n"]
    return [
        (source, Progress.from_counts(counts.get(source.pk, {})))
        for source in Source.objects.order_by("published", "slug").defer("text")
    ]


def status_by_source(as_of: datetime.date | None = None) -> list[ProgressRow]:
    """Return, for each source document, its items' counts by status (two queries), or by status on `as_of` (three)."""
    suffix = "?" + urlencode({"as_of": as_of.isoformat()}) if as_of else ""
    return [
        ProgressRow(
            label=source.short_title, slug=source.slug, url=source.get_absolute_url() + suffix, progress=progress
        )
        for source, progress in sources_with_progress(as_of)
    ]


# --- facets -------------------------------------------------------------------


@dataclass
class FacetOption:
    """One value of a facet with the number of items it would select, given the other filters."""

    value: str
    label: str
    count: int
    selected: bool
    hint: str = ""
    url: str = ""  # the list URL with this value toggled; set by the view


@dataclass
class Facet:
    """A filter of the list page with its options and counts."""

    name: str
    label: str
    options: list[FacetOption]
    errors: list[str] = field(default_factory=list)

    @property
    def selected(self) -> list[FacetOption]:
        return [o for o in self.options if o.selected]

    @property
    def shown(self) -> list[FacetOption]:
        """Options worth offering: those that would select something, and those already chosen."""
        return [o for o in self.options if o.count or o.selected]


# Beyond this, an OFFSET overflows the databases' 64-bit integers.
_LARGEST_OFFSET = 2**62


class ItemListing:
    """The items a FilterSet selects, as a sequence to page through: `count()` and slices of rows.

    `rows(items)` turns a queryset of items into the rows the caller shows (values,
    annotations, prefetches); only the page's own items are ever read whole, by id. The page's
    ids and the count come from the narrowest place that has them:
    - the facet entries, when the filters can be answered from them and the items come in
      reading order: one narrow index, so a theme's 200th page costs what its first does;
    - a search ranked best match first: one query reads only each match's id and rank values,
      sorts them, keeps the page's ids and counts every match in the same pass (a window count),
      for the page the paginator announced (`announce`);
    - otherwise the FilterSet's queryset, counted without its ordering and sliced.
    Counts are always exact.
    """

    def __init__(self, filterset: RecommendationFilterSet, rows: Callable[[QuerySet], QuerySet]) -> None:
        self.filterset, self.rows = filterset, rows
        self.entries = filterset.facet_entries() if filterset.in_reading_order() else None
        ordering = filterset.qs.query.order_by
        self.ranked = self.entries is None and is_ranked(filterset.qs) and all(isinstance(o, str) for o in ordering)
        self.page: tuple[int, int] | None = None  # (offset, limit) announced by the paginator
        self._ranked_page: tuple[list, int] | None = None

    def announce(self, offset: int, limit: int) -> None:
        """Say which page will be asked for, so that a ranked search reads its ids and count in one pass.

        A page no database integer can reach is not announced: it is counted on its own and found past the end.
        """
        self.page, self._ranked_page = ((offset, limit) if offset + limit < _LARGEST_OFFSET else None), None

    def count(self) -> int:
        if self.entries is not None:
            return self.entries.count()
        if self.ranked and self.page is not None:
            return self._read_ranked_page()[1]
        return self.filterset.qs.order_by().count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key):
        if not isinstance(key, slice):
            return self[key : key + 1][0]
        if self.entries is not None:
            # The page's ids from the entries, in the same query as the rows: an entry has its item's reading order.
            ids = self.entries.order_by(*READING_ORDER).values("recommendation_id")[key.start : key.stop]
            items = Recommendation.objects.filter(pk__in=ids)
            as_of = self.filterset.as_of_date
            return self.rows(with_status_on(items, as_of) if as_of else items).order_by(*READING_ORDER)
        if self.ranked and self.page is not None and (key.start or 0) == self.page[0] and key.stop <= sum(self.page):
            ids = self._read_ranked_page()[0]
            # The rank is computed again for the page's own rows only, which keeps them in its order.
            return self.rows(self.filterset.qs.filter(pk__in=ids)) if ids else []
        return self.rows(self.filterset.qs)[key]

    def _read_ranked_page(self) -> tuple[list, int]:
        if self._ranked_page is None:
            self._ranked_page = _ranked_page(self.filterset.qs, *self.page)
        return self._ranked_page


def _ranked_page(queryset: QuerySet, offset: int, limit: int) -> tuple[list, int]:
    """Return the ids of one page of a ranked queryset (ordered by names of fields and annotations) and the
    number of all its rows, from one query over the narrow columns of its order."""
    ordering = list(queryset.query.order_by)
    pk = queryset.model._meta.pk.attname
    names = list(dict.fromkeys(pk if name.lstrip("-") == "pk" else name.lstrip("-") for name in ordering))
    if pk not in names:
        names.insert(0, pk)
    try:
        sql, params = queryset.order_by().values(*names).query.sql_with_params()
    except EmptyResultSet:  # a search no indexed word can match
        return [], 0
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    order = ", ".join(
        quote(pk if name.lstrip("-") == "pk" else name.lstrip("-")) + (" DESC" if name.startswith("-") else "")
        for name in ordering
    )
    # On PostgreSQL, OFFSET 0 keeps the inner query a subquery of its own, so the window count carries
    # only the narrow columns, never the wide ones the rank is computed from (the search document).
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT page.{quote(pk)}, COUNT(*) OVER () FROM ({sql}{fence}) AS page "  # noqa: S608 - names quoted
            f"ORDER BY {order} LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        found = cursor.fetchall()
    if found:
        return [row[0] for row in found], found[0][1]
    # Past the last page: no ids, and the count on its own.
    return [], queryset.order_by().count()


def filtered_except(filterset: RecommendationFilterSet, exclude: str) -> QuerySet:
    """Return the filterset's base queryset with every valid filter applied except `exclude`.

    Reuses the filterset's cleaned values, so the slugs are not validated again.
    """
    queryset = filterset.queryset.all()
    cleaned = getattr(filterset.form, "cleaned_data", None)
    if cleaned is None:
        filterset.is_valid()
        cleaned = getattr(filterset.form, "cleaned_data", {})
    for name, value in cleaned.items():
        if name in (exclude, "ordering"):
            continue
        queryset = filterset.filters[name].filter(queryset, value)
    return queryset.order_by()


def _ids(queryset: QuerySet) -> QuerySet:
    return queryset.order_by().values("pk")


def facet_counts(filterset: RecommendationFilterSet) -> list[Facet]:
    """Return the list page's facets, each counted over the items matching all the *other* filters.

    At most five queries, one per facet, whatever the number of values; the facets of the items' own
    columns (status, source, level) that no filter narrows share one.
    """
    cleaned = getattr(filterset.form, "cleaned_data", {}) if filterset.is_bound else {}
    chosen = {name: set(cleaned.get(name) or ()) for name, _ in FACETS}
    # Values given but refused (unknown slugs) are still shown as chosen, so they can be removed.
    raw = filterset.data
    refused = {
        name: [v for v in (raw.getlist(name) if hasattr(raw, "getlist") else []) if v and v not in chosen[name]]
        for name, _ in FACETS
    }
    errors = filterset.errors

    def counted(exclude: str) -> QuerySet:
        # From the facet entries of a chosen theme or owner when the other filters allow, else from the items.
        entries = filterset.facet_entries(exclude=exclude)
        return entries.order_by() if entries is not None else filtered_except(filterset, exclude)

    as_of = filterset.as_of_date
    # The facets of the items' own columns whose filter is not chosen all count the same items (those every
    # filter given selects): one query grouped by all their columns serves them together.
    shared = [name for name in ITEM_COLUMN_FACETS if not chosen[name] and not (name == "status" and as_of)]
    together: dict[str, dict] = {name: defaultdict(int) for name in shared} if len(shared) > 1 else {}
    if together:
        columns = [ITEM_COLUMN_FACETS[name] for name in shared]
        for row in counted(exclude="").values(*columns).annotate(n=Count("*")):
            for name in shared:
                together[name][row[ITEM_COLUMN_FACETS[name]]] += row["n"]

    def by_value(name: str) -> dict[str, int]:
        if name in together:
            return together[name]
        column = ITEM_COLUMN_FACETS[name]
        return {row[column]: row["n"] for row in counted(exclude=name).values(column).annotate(n=Count("*"))}

    def related(name: str, through_field: str, other: str) -> dict[int, int]:
        entries = filterset.facet_entries(FACET_KINDS[name], exclude=name)
        if entries is not None:
            return {row["value"]: row["n"] for row in entries.order_by().values("value").annotate(n=Count("*"))}
        # Counted on the link table, grouped by the related id: one pass over the links, and a hashed
        # semi-join with the matching items only when other filters narrow them.
        links = getattr(Recommendation, through_field).through.objects.order_by()
        items = filtered_except(filterset, name)
        if items.query.where:
            links = links.filter(recommendation_id__in=_ids(items))
        return {row[other]: row["n"] for row in links.values(other).annotate(n=Count("pk"))}

    options: dict[str, list[FacetOption]] = {}
    theme_counts = related("theme", "themes", "theme_id")
    options["theme"] = [
        FacetOption(t.slug, words(t, "name").text, theme_counts.get(t.pk, 0), t.slug in chosen["theme"])
        for t in Theme.objects.order_by("position", "name")
    ]
    # With `as_of`, the status facet counts the status on that date, from the status periods in effect.
    status_counts = counts_as_of(filtered_except(filterset, "status"), as_of) if as_of else by_value("status")
    options["status"] = [
        FacetOption(s.value, s.label, status_counts.get(s.value, 0), s.value in chosen["status"]) for s in Status
    ]
    source_counts = by_value("source")
    options["source"] = [
        FacetOption(s.slug, s.short_title, source_counts.get(s.pk, 0), s.slug in chosen["source"], hint=s.title)
        for s in Source.objects.defer("text").order_by("published", "slug")
    ]
    level_counts = by_value("level")
    options["level"] = [
        FacetOption(v.value, v.label, level_counts.get(v.value, 0), v.value in chosen["level"]) for v in Level
    ]
    owner_counts = related("owner", "owners", "owner_id")
    # Each country's bodies in the alphabetical order of the reader's language.
    owners = sorted(Owner.objects.all(), key=lambda o: (o.country, sort_key(words(o, "name").text)))
    options["owner"] = [
        FacetOption(
            o.slug,
            words(o, "name").text,
            owner_counts.get(o.pk, 0),
            o.slug in chosen["owner"],
            hint=o.get_country_display(),
        )
        for o in owners
    ]
    facets = []
    for name, label in FACETS:
        opts = options[name]
        opts.extend(FacetOption(v, v, 0, True) for v in refused[name])
        facets.append(Facet(name=name, label=label, options=opts, errors=list(errors.get(name, []))))
    return facets


# --- the "as of" stamp ----------------------------------------------------------


@dataclass(frozen=True)
class AsOf:
    """How current the tracker is: the latest effective date of a status, and when a change was last recorded."""

    status_date: datetime.date | None
    recorded_at: datetime.datetime | None


def tracker_as_of() -> AsOf:
    """Return the tracker's "as of" stamp (one query)."""
    row = StatusChange.objects.aggregate(status_date=Max("effective_date"), recorded_at=Max("recorded_at"))
    return AsOf(status_date=row["status_date"], recorded_at=row["recorded_at"])


# --- one item's story ------------------------------------------------------------


@dataclass(frozen=True)
class LinkedItem:
    """An item linked to the one shown, with the relation read from the shown item's side."""

    relation: str
    item: Recommendation
    note: str
    direction: str  # "out" (this item → other) or "in" (other → this item)


# What an item's page and its API detail show of the items it links to, its parent and its children.
_BRIEF_COLUMNS = ("code", "title", "status", "status_date", "position", "parent", "source")
_BRIEF_SOURCE_COLUMNS = ("source__slug", "source__short_title", "source__published")


def _brief_columns(prefix: str = "") -> list[str]:
    return [prefix + column for column in (*with_translations(Recommendation, *_BRIEF_COLUMNS), *_BRIEF_SOURCE_COLUMNS)]


def recommendation_story(code: str) -> Recommendation:
    """Return the item with everything its page and its API detail show, fetched in a fixed number of queries
    (eight, however long its story).

    The item comes with its source, parent and steward; its themes, owners and children; its evidence (with
    retraction and link check), status history (with who recorded each change and the evidence it cites) and
    edits, each oldest first; and `item.links`, every link from or to it, read in one query (`linked_items`
    reads them from the page's side).

    Raises Recommendation.DoesNotExist for an unknown code.
    """
    item = (
        Recommendation.objects.select_related("source", "parent", "steward")
        .prefetch_related(
            "themes",
            "owners",
            Prefetch(
                "evidence",
                queryset=Evidence.objects.with_retraction().with_link_check().order_by("published", "id"),
            ),
            Prefetch(
                "status_changes",
                queryset=StatusChange.objects.select_related(
                    "recorded_by",
                    "evidence__source",
                    "evidence__retraction__retracted_by",
                    "evidence__link_check",
                ).order_by("effective_date", "recorded_at", "id"),
            ),
            Prefetch(
                "edits", queryset=RecommendationEdit.objects.select_related("edited_by").order_by("edited_at", "id")
            ),
            Prefetch(
                "children",
                queryset=Recommendation.objects.select_related("source").only(*_brief_columns()).order_by("position"),
            ),
        )
        .get(code=code)
    )
    item.links = list(
        RecommendationLink.objects.filter(Q(from_recommendation=item) | Q(to_recommendation=item))
        .select_related("from_recommendation__source", "to_recommendation__source")
        .only(
            "kind",
            "note",
            *_brief_columns("from_recommendation__"),
            *_brief_columns("to_recommendation__"),
        )
        .order_by("id")
    )
    return item


@dataclass(frozen=True)
class EditRow:
    """One field's change in an edit, as pages show it."""

    field: str
    before: str
    after: str
    language: str = "en"  # the language the values are written in (a translation column's own)


def _shown(value) -> str:
    if value in (None, "", []):
        return "—"
    return "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def edit_rows(edit: RecommendationEdit) -> list[EditRow]:
    """Return an edit's changes field by field, labelled and written out for reading."""
    labels = {f.name: str(f.verbose_name) for f in Recommendation._meta.get_fields() if hasattr(f, "verbose_name")}
    labels["links"] = gettext("links")
    return [
        EditRow(
            labels.get(name, name),
            _shown(change.get("before")),
            _shown(change.get("after")),
            language_of(Recommendation, name),
        )
        for name, change in edit.changes.items()
    ]


def linked_items(item: Recommendation) -> list[LinkedItem]:
    """Return the items linked to `item` (from `recommendation_story`), those it links to first, each group in
    the documents' reading order."""

    def reading_order(other: Recommendation) -> tuple:
        return (other.source.published, other.position)

    out = sorted(
        (link for link in item.links if link.from_recommendation_id == item.pk),
        key=lambda link: reading_order(link.to_recommendation),
    )
    inward = sorted(
        (link for link in item.links if link.to_recommendation_id == item.pk),
        key=lambda link: reading_order(link.from_recommendation),
    )
    return [LinkedItem(link.get_kind_display(), link.to_recommendation, link.note, "out") for link in out] + [
        LinkedItem(RELATION_INVERSE_LABELS[link.kind], link.from_recommendation, link.note, "in") for link in inward
    ]


# --- the quote in its place --------------------------------------------------------

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+\.|\([a-z0-9]+\))\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_INLINE_MARKUP = re.compile(r"</?sup>|\*\*?|<br\s*/?>")
# How much of the neighbouring text to show on each side of a quote, in characters.
CONTEXT_CHARS = 450


@dataclass(frozen=True)
class PassageBlock:
    """A paragraph, bullet or heading of the document, cut into plain and quoted pieces."""

    kind: str  # "paragraph", "bullet" or "heading"
    pieces: tuple[tuple[str, bool], ...]  # (text, is part of the quote)


@dataclass(frozen=True)
class QuoteInPlace:
    """The passage of the document around a quote: the blocks before, holding and after it."""

    blocks: tuple[PassageBlock, ...]


def _blocks(source_text: str) -> list[tuple[str, str]]:
    """Split a document's text into (kind, text) blocks: paragraphs, bullets and headings."""
    blocks: list[tuple[str, str]] = []
    for chunk in _PARAGRAPH_BREAK.split(source_text):
        current: list[str] = []
        kind = "paragraph"
        for line in chunk.splitlines():
            starts_bullet = bool(_BULLET.match(line))
            starts_heading = bool(_HEADING.match(line))
            if (starts_bullet or starts_heading) and current:
                blocks.append((kind, " ".join(current)))
                current = []
            if starts_bullet or starts_heading:
                kind = "bullet" if starts_bullet else "heading"
                line = (_BULLET if starts_bullet else _HEADING).sub("", line, count=1)
            current.append(line)
        if current:
            blocks.append((kind, " ".join(current)))
    cleaned = [(kind, normalize_whitespace(_INLINE_MARKUP.sub("", text))) for kind, text in blocks]
    return [(kind, text) for kind, text in cleaned if text]


def _trim(text: str, keep: str) -> str:
    """Shorten context text to about CONTEXT_CHARS, keeping its end ("end") or its start ("start")."""
    if len(text) <= CONTEXT_CHARS:
        return text
    if keep == "end":
        return "… " + text[-CONTEXT_CHARS:].split(" ", 1)[-1]
    return text[:CONTEXT_CHARS].rsplit(" ", 1)[0] + " …"


def quote_in_place(source_text: str, quote: str) -> QuoteInPlace | None:
    """Return the quote with the text around it in the document: its paragraph, and the neighbouring
    paragraph or bullet on each side when the quote fills its own.

    Whitespace is compared loosely (as the seed's quote check does) and the
    transcription's light markup (headings, bullets, emphasis) is set aside.
    Returns None when the quote cannot be found.
    """
    needle = normalize_whitespace(quote)
    if not source_text or not needle:
        return None
    blocks = _blocks(source_text)
    starts, position = [], 0
    for _, text in blocks:
        starts.append(position)
        position += len(text) + 1
    joined = " ".join(text for _, text in blocks)
    found = joined.find(needle)
    if found < 0:
        return None
    end = found + len(needle)
    first = max(i for i, s in enumerate(starts) if s <= found)
    last = max(i for i, s in enumerate(starts) if s < end)
    # A quote that fills its block reads better with its neighbours (a bullet with its lead-in).
    lo = first - 1 if found == starts[first] and first > 0 else first
    hi = last + 1 if end >= starts[last] + len(blocks[last][1]) and last + 1 < len(blocks) else last
    result = []
    for i in range(lo, hi + 1):
        kind, text = blocks[i]
        b_start, b_end = starts[i], starts[i] + len(text)
        q_start, q_end = max(found, b_start) - b_start, min(end, b_end) - b_start
        if q_start >= q_end:  # a neighbour: context only
            pieces = ((_trim(text, "end" if i < first else "start"), False),)
        else:
            pieces = tuple(
                piece
                for piece in (
                    (_trim(text[:q_start], "end"), False),
                    (text[q_start:q_end], True),
                    (_trim(text[q_end:], "start"), False),
                )
                if piece[0].strip()
            )
        result.append(PassageBlock(kind=kind, pieces=pieces))
    return QuoteInPlace(blocks=tuple(result))


# --- a document's outline --------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int  # 2 for the first part of a section path, 3 for the next, ...
    title: str
    anchor: str


@dataclass(frozen=True)
class OutlineEntry:
    """An item of a document in reading order, with the headings that open before it and its depth."""

    item: Recommendation
    headings: tuple[Heading, ...]
    depth: int


def _anchor(parts: Sequence[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", SECTION_SEPARATOR.join(parts).lower()).strip("-")
    return f"s-{slug[:80]}"


def source_items(source: Source, as_of: datetime.date | None = None) -> QuerySet:
    """Return the document's items in reading order, with what its outline shows of each.

    With `as_of`, each item also carries `status_as_of` and `status_date_as_of`.
    """
    items = (
        source.recommendations.select_related("parent")
        .order_by("position")
        .only(
            *with_translations(
                Recommendation, "code", "title", "status", "status_date", "section", "parent__code", "due_date"
            ),
            "position",
            "source",
        )
    )
    return with_status_on(items, as_of) if as_of else items


def outline_page_of(source: Source, code: str, page_size: int) -> int | None:
    """Return the page of the document's outline (`page_size` items a page) that holds the item with this code,
    or None when the document has no such item (two indexed look-ups)."""
    position = source.recommendations.filter(code=code).values_list("position", flat=True).first()
    if position is None:
        return None
    return source.recommendations.filter(position__lt=position).count() // page_size + 1


def outline(items: Iterable[Recommendation]) -> list[OutlineEntry]:
    """Return `items` (already in reading order) with the headings each opens and its depth under its parents.

    The first item opens every heading above it, so a page of a long document starts with where it stands.
    """
    entries: list[OutlineEntry] = []
    depth: dict[str, int] = {}
    previous: list[str] = []
    for item in items:
        parts = [p.strip() for p in item.section.split(SECTION_SEPARATOR.strip()) if p.strip()]
        common = 0
        while common < min(len(parts), len(previous)) and parts[common] == previous[common]:
            common += 1
        headings = tuple(
            Heading(level=min(2 + i, 6), title=parts[i], anchor=_anchor(parts[: i + 1]))
            for i in range(common, len(parts))
        )
        previous = parts
        parent_code = item.parent.code if item.parent_id else None
        # A part whose parent is on an earlier page stands one step in.
        depth[item.code] = depth.get(parent_code, 0) + 1 if parent_code else 0
        entries.append(OutlineEntry(item=item, headings=headings, depth=min(depth[item.code], 4)))
    return entries


def section_parts(section: str) -> list[str]:
    """Return a section path's headings, outermost first."""
    return [p.strip() for p in section.split(SECTION_SEPARATOR.strip()) if p.strip()]


def section_anchor(section: str) -> str:
    """Return the anchor of a section's innermost heading on its source page."""
    return _anchor(section_parts(section))
