"""The tracker's rules of time, each written once: the status in effect on a date, and overdue.

The status in effect on a date is that of the item's latest status change effective on
or before it (of several on one day, the last recorded), or `not_assessed` when there
is none. The database reads it from the status periods (`StatusPeriod`), which the
status-change service keeps in the same transaction as each change; in memory, from
an item's log already loaded. An item is overdue on a date when its due date is
before that date and its status then is not a closed one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import CharField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from recommendations.models import StatusChange, StatusPeriod
from recommendations.vocabulary import CLOSED_STATUSES, Status

# The names under which `with_status_on` annotates each item.
STATUS_AS_OF = "status_as_of"
STATUS_DATE_AS_OF = "status_date_as_of"


def periods_in_effect(on: datetime.date) -> QuerySet:
    """Return the status periods in effect on a date: at most one per item, none for an item not yet assessed."""
    return StatusPeriod.objects.filter(valid_from__lte=on).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=on))


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


def status_on_in(values: Iterable[str], on: datetime.date) -> Q:
    """Return a condition on items: their status on a date is one of `values` (one semi-join with the periods)."""
    values = set(values)
    in_effect = periods_in_effect(on)
    if Status.NOT_ASSESSED in values:
        return ~Q(pk__in=in_effect.exclude(status__in=values).values("recommendation_id"))
    return Q(pk__in=in_effect.filter(status__in=values).values("recommendation_id"))


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


def overdue_q(on: datetime.date | None = None, *, status: str = "status") -> Q:
    """Return a condition on items: past their due date on a date (today by default) and not closed.

    `status` names the column or annotation holding the status (e.g. `STATUS_AS_OF`).
    """
    on = on or timezone.localdate()
    return Q(due_date__lt=on) & ~Q(**{f"{status}__in": CLOSED_STATUSES})


def is_overdue(due_date: datetime.date | None, status: str, on: datetime.date | None = None) -> bool:
    """Return True when an item with this due date and status is overdue on a date (today by default)."""
    on = on or timezone.localdate()
    return bool(due_date and due_date < on and status not in CLOSED_STATUSES)
