"""The tracker's rules of time, each written once: the status in effect on a date, and overdue.

The status in effect on a date is that of the item's latest status change effective on
or before it (of several on one day, the last recorded), or `not_assessed` when there
is none. The database reads it from the status periods (`StatusPeriod`), which the
status-change service keeps in the same transaction as each change; in memory, from
an item's log already loaded.

An item is overdue on a date in either of two ways:
- its due date is before that date and its status then is not a closed one;
- its text sets a recurring schedule (`schedule_months`) and its last occurrence on or
  before that date is older than the schedule allows: the next occurrence was due
  `schedule_months` after the last one (the same day of the month, or the month's last
  day), and that day is before the date. The last occurrence is the latest of the
  document's date (the schedule's clock starts when the text set it), the effective
  date of each status change and the date of each piece of evidence not retracted: a
  meeting held is recorded as a status change or as dated evidence. A schedule is kept,
  never finished, so an implemented item still owes its next occurrence; only an item
  superseded or not pursued is released from it.
With a past date (`as_of`), both read the item's status then and the record up to then.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable

from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth, ExtractYear
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from recommendations.models import Evidence, Source, StatusChange, StatusPeriod
from recommendations.vocabulary import CLOSED_STATUSES, Status

# The names under which `with_status_on` annotates each item.
STATUS_AS_OF = "status_as_of"
STATUS_DATE_AS_OF = "status_date_as_of"
# The names under which `with_overdue` annotates each item: overdue (either way), and late on its schedule.
OVERDUE = "overdue_on"
SCHEDULE_OVERDUE = "schedule_overdue_on"
# Statuses that release an item from its recurring schedule (see the module's docstring).
SCHEDULE_RELEASED_STATUSES = frozenset({Status.SUPERSEDED, Status.NOT_PURSUED})


def in_effect_q(on: datetime.date) -> Q:
    """Return a condition on status periods: in effect on a date (begun on or before it, not ended by it).

    For filters and for conditional aggregates (the status mix at several dates in one pass).
    """
    return Q(valid_from__lte=on) & (Q(valid_until__isnull=True) | Q(valid_until__gt=on))


def periods_in_effect(on: datetime.date) -> QuerySet:
    """Return the status periods in effect on a date: at most one per item, none for an item not yet assessed."""
    return StatusPeriod.objects.filter(in_effect_q(on))


def with_status_on(queryset: QuerySet, on: datetime.date, *, item: str = "pk") -> QuerySet:
    """Return `queryset` annotated with each item's status and status date on a date.

    One probe per item of the periods' (recommendation, valid_from) index, evaluated only
    for the rows shown or sorted on. `item` names the column holding the item's id.
    Annotating twice is harmless: the second call changes nothing.
    """
    if STATUS_AS_OF in queryset.query.annotations:
        return queryset
    latest = StatusPeriod.objects.filter(recommendation_id=OuterRef(item), valid_from__lte=on).order_by(
        "-valid_from", "-change_id"
    )
    return queryset.annotate(
        **{
            STATUS_AS_OF: Coalesce(
                Subquery(latest.values("status")[:1]), Value(Status.NOT_ASSESSED), output_field=CharField()
            ),
            STATUS_DATE_AS_OF: Subquery(latest.values("valid_from")[:1]),
        }
    )


def status_on_in(values: Iterable[str], on: datetime.date, *, item: str = "pk") -> Q:
    """Return a condition on items: their status on a date is one of `values` (one semi-join with the periods).

    `item` names the column holding the item's id (e.g. `recommendation_id` on rows that refer to items).
    """
    values = set(values)
    in_effect = periods_in_effect(on)
    if Status.NOT_ASSESSED in values:
        return ~Q(**{f"{item}__in": in_effect.exclude(status__in=values).values("recommendation_id")})
    return Q(**{f"{item}__in": in_effect.filter(status__in=values).values("recommendation_id")})


def change_in_effect(changes: Iterable[StatusChange], on: datetime.date) -> StatusChange | None:
    """Return the change in effect on a date among one item's changes already in memory, or None."""
    return max(
        (change for change in changes if change.effective_date <= on),
        key=lambda change: (change.effective_date, change.pk),
        default=None,
    )


def status_in_effect(changes: Iterable[StatusChange], on: datetime.date) -> tuple[str, datetime.date | None]:
    """Return (status, status date) on a date from one item's changes: `not_assessed` and None if none."""
    change = change_in_effect(changes, on)
    return (change.to_status, change.effective_date) if change else (Status.NOT_ASSESSED.value, None)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Return the same day `months` later, or that month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_occurrence_due(last_occurrence: datetime.date | None, schedule_months: int | None) -> datetime.date | None:
    """Return the day by which a scheduled item's next occurrence is due, or None without a schedule."""
    if not schedule_months or last_occurrence is None:
        return None
    return add_months(last_occurrence, schedule_months)


def last_occurrence(
    *,
    source_published: datetime.date | None,
    changes: Iterable[StatusChange] = (),
    evidence: Iterable[Evidence] = (),
    on: datetime.date | None = None,
) -> datetime.date | None:
    """Return an item's last occurrence on a date (today by default) from its record already in memory.

    The latest of the document's date, the effective dates of its status changes on or before
    the date, and the dates of its evidence on or before the date that is not retracted.
    """
    on = on or timezone.localdate()
    dates = [source_published]
    dates += [change.effective_date for change in changes if change.effective_date <= on]
    dates += [e.published for e in evidence if e.published and e.published <= on and not e.is_retracted]
    return max((d for d in dates if d is not None), default=None)


def _month_key(on: datetime.date) -> int:
    """A date as one integer that orders as the dates do: (year × 12 + month) × 32 + day."""
    return (on.year * 12 + on.month) * 32 + on.day


def _kept_schedule(date_column: str | Subquery, months, on: datetime.date):
    """Return a condition: an occurrence on the date in `date_column` (a column or a subquery) keeps the
    schedule on `on`.

    That is, its next occurrence is not yet late: `add_months(date, months) >= on`. Compared as
    `_month_key`s, with the months added to the date's month, which gives the same answer as
    `add_months` even where the day does not exist in the later month (the tests check this).
    """
    column = F(date_column) if isinstance(date_column, str) else date_column
    shifted = ExpressionWrapper(
        ((ExtractYear(column) * 12 + ExtractMonth(column) + months) * 32) + ExtractDay(column),
        output_field=IntegerField(),
    )
    return GreaterThanOrEqual(shifted, Value(_month_key(on)))


def schedule_overdue_q(on: datetime.date | None = None, *, status: str = "status") -> Q:
    """Return a condition on items: their recurring schedule is overdue on a date (today by default).

    No occurrence on or before the date keeps it: not the document's date, nor a status change,
    nor evidence that is not retracted (see the module's docstring). Each is an indexed probe
    by item, made only for the few items that have a schedule.
    """
    on = on or timezone.localdate()
    months = OuterRef("schedule_months")
    changes = StatusChange.objects.filter(recommendation_id=OuterRef("pk"), effective_date__lte=on)
    evidence = Evidence.objects.filter(
        recommendation_id=OuterRef("pk"), published__isnull=False, published__lte=on, retraction__isnull=True
    )
    # The document's date by a subquery, not a join: a count of the items then never joins the documents.
    document_date = Subquery(Source.objects.filter(pk=OuterRef("source_id")).values("published")[:1])
    return (
        Q(schedule_months__isnull=False)
        & ~Q(**{f"{status}__in": SCHEDULE_RELEASED_STATUSES})
        & ~Q(_kept_schedule(document_date, F("schedule_months"), on))
        & ~Exists(changes.filter(_kept_schedule("effective_date", months, on)))
        & ~Exists(evidence.filter(_kept_schedule("published", months, on)))
    )


def due_date_overdue_q(on: datetime.date | None = None, *, status: str = "status") -> Q:
    """Return a condition on items: past their due date on a date (today by default) and not closed."""
    on = on or timezone.localdate()
    # `due_date IS NOT NULL` said outright: annotated as a value (`with_overdue`), an item without a due
    # date is then false, not unknown.
    return Q(due_date__isnull=False, due_date__lt=on) & ~Q(**{f"{status}__in": CLOSED_STATUSES})


def overdue_q(on: datetime.date | None = None, *, status: str = "status") -> Q:
    """Return a condition on items: overdue on a date (today by default), by their due date or their schedule.

    `status` names the column or annotation holding the status (e.g. `STATUS_AS_OF`).
    """
    return due_date_overdue_q(on, status=status) | schedule_overdue_q(on, status=status)


def with_overdue(queryset: QuerySet, on: datetime.date | None = None, *, status: str = "status") -> QuerySet:
    """Return `queryset` annotated with `OVERDUE`, whether each item is overdue on a date (today by default),
    and `SCHEDULE_OVERDUE`, whether it is late on its schedule (so a page can say which).

    For lists, so that what they show is what `overdue_q` selects. With a past date, pass the
    annotation holding the status then (`STATUS_AS_OF`, from `with_status_on`).
    """
    return queryset.annotate(
        **{
            OVERDUE: ExpressionWrapper(overdue_q(on, status=status), output_field=BooleanField()),
            SCHEDULE_OVERDUE: ExpressionWrapper(schedule_overdue_q(on, status=status), output_field=BooleanField()),
        }
    )


def is_overdue(
    due_date: datetime.date | None,
    status: str,
    on: datetime.date | None = None,
    *,
    schedule_months: int | None = None,
    last_occurrence: datetime.date | None = None,
) -> bool:
    """Return True when an item is overdue on a date (today by default): the rule of `overdue_q`, in memory.

    By its due date and status; and, given its schedule and its last occurrence on that date
    (`last_occurrence()`), by its schedule.
    """
    on = on or timezone.localdate()
    if due_date and due_date < on and status not in CLOSED_STATUSES:
        return True
    next_due = next_occurrence_due(last_occurrence, schedule_months)
    return bool(next_due and next_due < on and status not in SCHEDULE_RELEASED_STATUSES)
