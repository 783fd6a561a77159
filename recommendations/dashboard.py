"""What the front page and the progress-over-time charts show.

- `front_page`: how the tracker stands (headline counts, each a link to the list
  filtered to exactly those items), what changed lately (the latest status changes)
  and which items are past their due date. Four queries at most, each cheap on a
  corpus of hundreds of thousands of items: the counts are one GROUP BY on the status
  column (the list page hands in its status facet's, so it costs nothing more), the
  latest changes an ORDER BY on the log's indexed effective date with a LIMIT, and
  the overdue items (by the one rule, `timeline.overdue_q`: past a due date, or late on
  a recurring schedule) a range on the indexed due date or the few scheduled items.
- `status_over_time`: each document's status mix at the end of every year since it
  was published, by the tracker's one rule of "the status on a date" (the status
  periods in effect, `timeline.in_effect_q`), counted for every year in one
  aggregate pass over the periods; and the geometry of its stacked-bar chart, drawn
  as server-side SVG.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from recommendations.models import Recommendation, Source, StatusChange, StatusPeriod
from recommendations.selectors import Progress, _with_not_assessed, list_url
from recommendations.timeline import in_effect_q, is_overdue, overdue_q, with_overdue
from recommendations.translation import with_translations
from recommendations.vocabulary import Status

# How many of the latest status changes, and of the overdue items, the front page lists.
LATEST_CHANGES_SHOWN = 6
OVERDUE_SHOWN = 5

# The list's filter for overdue items (the FilterSet's `overdue`).
OVERDUE_PARAMETER = ("overdue", "true")

ASSESSED_STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s != Status.NOT_ASSESSED)


# --- the front page -------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """One headline count of the front page, with the list of exactly those items."""

    name: str
    label: str
    count: int
    url: str
    detail: str = ""


@dataclass(frozen=True)
class FrontPage:
    """How the tracker stands, what changed lately and what is past its due date, on `today`."""

    total: int
    headlines: tuple[Headline, ...]
    latest_changes: tuple[StatusChange, ...]
    overdue: tuple[Recommendation, ...]
    overdue_count: int
    overdue_url: str
    today: datetime.date

    def headline(self, name: str) -> Headline:
        """Return the headline called `name` (e.g. "implemented")."""
        return next(h for h in self.headlines if h.name == name)


def status_counts() -> dict[str, int]:
    """Return how many items have each status now (one GROUP BY on the status column)."""
    rows = Recommendation.objects.order_by().values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def latest_changes(limit: int = LATEST_CHANGES_SHOWN) -> tuple[StatusChange, ...]:
    """Return the latest status changes, by the date they took effect (of one day, the last recorded first)."""
    return tuple(
        StatusChange.objects.select_related("recommendation")
        .only(
            "from_status",
            "to_status",
            "note",
            "effective_date",
            "recorded_at",
            *with_translations(Recommendation, "recommendation__code", "recommendation__title"),
        )
        .order_by("-effective_date", "-id")[:limit]
    )


def front_page(*, counts: Mapping[str, int] | None = None, today: datetime.date | None = None) -> FrontPage:
    """Return the front page's summary (three queries, four when `counts` by status are not handed in)."""
    today = today or timezone.localdate()
    counts = status_counts() if counts is None else counts
    progress = Progress.from_counts(dict(counts))
    by_status = {c.status: c.count for c in progress.counts}
    overdue = Recommendation.objects.order_by().filter(overdue_q(today))
    overdue_count = overdue.count()
    overdue_url = list_url([OVERDUE_PARAMETER])

    def of_status(status: Status, label: str = "") -> Headline:
        return Headline(
            name=status.value,
            label=label or status.label,
            count=by_status[status.value],
            url=list_url([("status", status.value)]),
        )

    headlines = (
        Headline(
            name="assessed",
            label=gettext("Assessed"),
            count=progress.assessed,
            url=list_url([("status", s) for s in ASSESSED_STATUSES]),
            detail=gettext("of %(total)s") % {"total": intcomma(progress.total)},
        ),
        of_status(Status.IMPLEMENTED),
        of_status(Status.PARTIALLY_IMPLEMENTED),
        of_status(Status.IN_PROGRESS),
        Headline(name="overdue", label=gettext("Overdue"), count=overdue_count, url=overdue_url),
        of_status(Status.NOT_ASSESSED, gettext("Not yet assessed")),
    )
    overdue_items = tuple(
        with_overdue(overdue, today)
        .order_by(F("due_date").asc(nulls_last=True), "pk")
        .only(*with_translations(Recommendation, "code", "title", "status", "due_date", "schedule_months"))[
            :OVERDUE_SHOWN
        ]
    )
    for item in overdue_items:
        # Which way each is overdue: by its due date (the rule without a schedule), or by its schedule.
        item.past_due_date = is_overdue(item.due_date, item.status, today)
    return FrontPage(
        total=progress.total,
        headlines=headlines,
        latest_changes=latest_changes(),
        overdue=overdue_items,
        overdue_count=overdue_count,
        overdue_url=overdue_url,
        today=today,
    )


# --- the status mix at the end of each year ---------------------------------------------------


@dataclass(frozen=True)
class YearEnd:
    """The status mix of a set of items on the last day of a year (or, for a year not over, on `on`)."""

    year: int
    on: datetime.date
    progress: Progress

    @property
    def partial(self) -> bool:
        """True when the year was not over on the day counted (the current year, or a chosen `as_of`)."""
        return (self.on.month, self.on.day) != (12, 31)


# Drawn from the bottom up: the closed statuses at the foot of each bar, "not assessed" on top,
# so that the bars fill from below as the record grows. The legend and the table read top down.
STACK_ORDER: tuple[Status, ...] = tuple(reversed(Status))

CHART_HEIGHT = 250  # px: the bars' area, and room for the year labels under it
PLOT_TOP = 14
PLOT_BOTTOM = 216
YEAR_LABEL_Y = 236
GUTTER = 9.0  # % of the width, left of the bars, for the count labels
BAR_SHARE = 0.62  # of each year's slot, the rest is space between bars


def _fmt(value: float) -> str:
    """An SVG length as written in an attribute: never localized (a French comma would break it)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _long_date(day: datetime.date) -> str:
    """The date as a person reads it in the active language: 1 June 2018, 1 juin 2018, 2018年6月1日."""
    return date_format(day, "DATE_FORMAT")


def _nice_step(top: int) -> int:
    """Return a round step (1, 2 or 5 times a power of ten) for at most five gridlines up to `top`."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if math.ceil(top / step) <= 5:
                return step
        magnitude *= 10


@dataclass(frozen=True)
class Segment:
    status: str
    label: str
    count: int
    y: str
    height: str


@dataclass(frozen=True)
class Column:
    year: int
    label: str  # the year written under the bar, or "" where that would crowd its neighbours
    x: str  # % of the width, as attribute values
    width: str
    label_x: str  # where the year is written: the bar's middle, or its right edge for the last bar
    label_anchor: str
    title: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Tick:
    value: str
    y: str


@dataclass(frozen=True)
class Chart:
    """A stacked bar per year, laid out for an SVG that is as wide as its container and of fixed height."""

    height: int
    plot_top: int
    plot_bottom: int
    year_label_y: int
    gutter: str
    tick_x: str
    columns: tuple[Column, ...]
    ticks: tuple[Tick, ...]


def _shown_years(years: list[int]) -> set[int]:
    """The years labelled under the bars: every one when there are few, else the first, the last and every fifth."""
    if len(years) <= 12:
        return set(years)
    first, last = years[0], years[-1]
    return {first, last} | {y for y in years if y % 5 == 0 and y - first >= 4 and last - y >= 4}


@dataclass(frozen=True)
class StatusOverTime:
    """A set of items (all, or one document's) with its status mix at the end of each year."""

    key: str  # "all" or the document's slug: ids in the page
    label: str
    url: str
    points: tuple[YearEnd, ...]

    @property
    def latest(self) -> YearEnd:
        return self.points[-1]

    @property
    def first_assessed_year(self) -> int | None:
        """The first year at whose end any item had a status other than "not assessed"."""
        return next((p.year for p in self.points if p.progress.assessed), None)

    @property
    def latest_first(self) -> tuple[YearEnd, ...]:
        """The points from the latest year back: the table's order, so that what changed lately shows first."""
        return tuple(reversed(self.points))

    @property
    def statuses(self) -> list[Status]:
        return list(Status)

    def summary(self) -> str:
        """The chart's text equivalent in one sentence; the table gives every number."""
        first, last = self.points[0], self.points[-1]
        values = {
            "label": self.label,
            "first": first.year,
            "last": last.year,
            "day": _long_date(last.on),
            "summary": last.progress.summary(),
        }
        if last.partial:
            text = gettext(
                "%(label)s: status at the end of each year from %(first)s to %(last)s. On %(day)s: %(summary)s."
            )
        else:
            text = gettext(
                "%(label)s: status at the end of each year from %(first)s to %(last)s. "
                "At the end of %(last)s: %(summary)s."
            )
        return text % values

    def chart(self) -> Chart:
        """Return the bars' geometry: x in % of the width, y in px from the top."""
        top_count = max((p.progress.total for p in self.points), default=0) or 1
        step = _nice_step(top_count)
        scale_top = math.ceil(top_count / step) * step
        plot = PLOT_BOTTOM - PLOT_TOP
        slot = (100.0 - GUTTER) / len(self.points)
        labelled = _shown_years([p.year for p in self.points])
        columns = []
        for i, point in enumerate(self.points):
            bottom = float(PLOT_BOTTOM)
            segments = []
            by_status = {c.status: c for c in point.progress.counts}
            for status in STACK_ORDER:
                count = by_status[status.value]
                if not count.count:
                    continue
                height = plot * count.count / scale_top
                bottom -= height
                segments.append(Segment(status.value, count.label, count.count, _fmt(bottom), _fmt(height)))
            x = GUTTER + slot * i + slot * (1 - BAR_SHARE) / 2
            last = i == len(self.points) - 1
            summary = point.progress.summary()
            if point.partial:
                title = gettext("%(day)s: %(summary)s") % {"day": _long_date(point.on), "summary": summary}
            else:
                title = gettext("end of %(year)s: %(summary)s") % {"year": point.year, "summary": summary}
            columns.append(
                Column(
                    year=point.year,
                    label=str(point.year) if point.year in labelled else "",
                    x=_fmt(x),
                    width=_fmt(slot * BAR_SHARE),
                    label_x=_fmt(x + slot * BAR_SHARE if last else x + slot * BAR_SHARE / 2),
                    label_anchor="end" if last else "middle",
                    title=title,
                    segments=tuple(segments),
                )
            )
        ticks = tuple(
            Tick(value=intcomma(value), y=_fmt(PLOT_BOTTOM - plot * value / scale_top))
            for value in range(0, scale_top + 1, step)
        )
        return Chart(
            height=CHART_HEIGHT,
            plot_top=PLOT_TOP,
            plot_bottom=PLOT_BOTTOM,
            year_label_y=YEAR_LABEL_Y,
            gutter=_fmt(GUTTER),
            tick_x=_fmt(GUTTER - 1.5),
            columns=tuple(columns),
            ticks=ticks,
        )


def _year_ends(start_year: int, end: datetime.date) -> list[datetime.date]:
    """The last day of each year from `start_year`, and `end` for the year it falls in."""
    return [datetime.date(year, 12, 31) for year in range(start_year, end.year)] + [end]


def _periods_in_effect_by_year(ends: list[datetime.date], source: Source | None) -> dict[int, list[dict[str, int]]]:
    """Return, by document, for each date of `ends`, how many status periods in effect it had by status.

    One pass over the status periods (with their items, for the document), however many dates.
    """
    periods = StatusPeriod.objects.order_by().filter(valid_from__lte=ends[-1])
    if source is not None:
        periods = periods.filter(recommendation__source=source)
    rows = periods.values("recommendation__source_id", "status").annotate(
        **{f"on_{i}": Count("pk", filter=in_effect_q(on)) for i, on in enumerate(ends)}
    )
    in_effect: dict[int, list[dict[str, int]]] = {}
    for row in rows:
        by_date = in_effect.setdefault(row["recommendation__source_id"], [{} for _ in ends])
        for i in range(len(ends)):
            if row[f"on_{i}"]:
                by_date[i][row["status"]] = row[f"on_{i}"]
    return in_effect


# How long the counts of the status periods are kept. They change only with the log, and their key
# names the log's latest entry, so they are never read stale; the limit only frees the space.
OVER_TIME_CACHE_SECONDS = 24 * 60 * 60


def status_over_time(as_of: datetime.date | None = None, *, source: Source | None = None) -> list[StatusOverTime]:
    """Return the status mix at the end of each year: all items, then each document (or only `source`'s).

    Each document counts from the end of the year it was published; all items count each
    document's from then. The current year (or the year of `as_of`) is counted on today
    (on `as_of`). Two queries, however many years and documents: the documents with their
    number of items and the log's latest entry, and one pass over the status periods
    counting, for every year's end, those in effect by document and status (an item
    without one then is not assessed). That pass reads every period (about a second for
    three million), so its counts are cached under the log's latest entry (its id and
    when it was recorded): the next change recorded, backdated or not, is a new key.
    """
    end = as_of or timezone.localdate()
    items = Recommendation.objects.filter(source=OuterRef("pk")).order_by().values("source").annotate(n=Count("*"))
    latest = StatusChange.objects.order_by("-id")
    sources_qs = (
        Source.objects.defer("text")
        .filter(published__lte=end)
        .order_by("published", "slug")
        .annotate(
            n=Coalesce(Subquery(items.values("n")), 0),
            log_id=Subquery(latest.values("id")[:1]),
            log_recorded_at=Subquery(latest.values("recorded_at")[:1]),
        )
    )
    if source is not None:
        sources_qs = sources_qs.filter(pk=source.pk)
    sources = list(sources_qs)
    if not sources:
        return []
    ends = _year_ends(min(s.published.year for s in sources), end)
    if sources[0].log_id is None:
        in_effect: dict[int, list[dict[str, int]]] = {}
    else:
        key = ":".join(
            str(part)
            for part in (
                "status-over-time",
                connection.settings_dict["NAME"],
                source.pk if source is not None else "all",
                ends[0].isoformat(),
                end.isoformat(),
                sources[0].log_id,
                sources[0].log_recorded_at.isoformat(),
            )
        )
        in_effect = cache.get(key)
        if in_effect is None:
            in_effect = _periods_in_effect_by_year(ends, source)
            cache.set(key, in_effect, OVER_TIME_CACHE_SECONDS)
    none_in_effect = [{} for _ in ends]

    def series(key: str, label: str, url: str, members: list[Source]) -> StatusOverTime:
        points = []
        for i, on in enumerate(ends):
            present = [s for s in members if s.published <= on]
            if not present:
                continue
            counts: dict[str, int] = defaultdict(int)
            for s in present:
                for status, n in _with_not_assessed(s.n, in_effect.get(s.pk, none_in_effect)[i]).items():
                    counts[status] += n
            points.append(YearEnd(year=on.year, on=on, progress=Progress.from_counts(dict(counts))))
        return StatusOverTime(key=key, label=label, url=url, points=tuple(points))

    suffix = f"?{urlencode({'as_of': as_of.isoformat()})}" if as_of else ""
    by_source = [series(s.slug, s.short_title, s.get_absolute_url() + suffix, [s]) for s in sources]
    if source is not None:
        return by_source
    everything = list_url([("as_of", as_of.isoformat())] if as_of else [])
    return [series("all", gettext("All items"), everything, sources), *by_source]
