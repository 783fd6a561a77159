"""The change feed's count: exact for any `since`, however the changes came in (today, or loaded with old dates)."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations import change_counts
from recommendations.models import StatusChange
from recommendations.services import recommendation_change_status, status_changes_load

pytestmark = pytest.mark.django_db

FEED = "/api/changes/"
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL keeps the days' counts")


def _load(item, recorded: list[datetime.datetime]) -> None:
    """Load changes of `item` recorded at these moments (an import), through the status service's bulk path."""
    statuses = ["in_progress", "not_started"]
    current = item.status
    rows = []
    for n, moment in enumerate(recorded):
        status = statuses[n % 2] if statuses[n % 2] != current else statuses[(n + 1) % 2]
        rows.append((item.id, current, status, f"Imported {n}.", moment.date(), moment, None, None))
        current = status
    status_changes_load(rows=rows)
    item.refresh_from_db()


def _days_ago(days: int, hour: int = 12) -> datetime.datetime:
    today = timezone.now().astimezone(datetime.UTC).date()
    return datetime.datetime.combine(today - datetime.timedelta(days=days), datetime.time(hour), tzinfo=datetime.UTC)


def _expected(since: datetime.datetime | None) -> int:
    changes = StatusChange.objects.all()
    return (changes.filter(recorded_at__gte=since) if since else changes).count()


def _feed_count(api: APIClient, since: str | None) -> int:
    return api.get(FEED, {"since": since} if since else {}).json()["count"]


def test_the_feed_count_is_exact_for_any_since(recommendation):
    api = APIClient()
    _load(recommendation, [_days_ago(d, h) for d in (40, 40, 12, 11, 10, 3, 2, 1, 0) for h in (0, 9, 23)])
    recommendation_change_status(recommendation=recommendation, status="implemented", note="Done today.")
    for since in [
        None,
        _days_ago(60),
        _days_ago(40, 0),
        _days_ago(40, 9),
        _days_ago(12, 23),
        _days_ago(11, 0),
        _days_ago(2, 5),
        _days_ago(1, 0),
        _days_ago(0, 10),
        _days_ago(-3),
    ]:
        assert _feed_count(api, since and since.isoformat()) == _expected(since), since
    # Changes loaded later with old dates (an import) count at once, in days already counted and in new ones.
    _load(recommendation, [_days_ago(40, 1), _days_ago(11, 5), _days_ago(11, 6), _days_ago(90), _days_ago(5)])
    for since in [None, _days_ago(60), _days_ago(40, 0), _days_ago(11, 0), _days_ago(11, 5), _days_ago(6, 0)]:
        assert _feed_count(api, since and since.isoformat()) == _expected(since), since
    # Only this item's changes: counted as before, from the log.
    assert api.get(FEED, {"code": recommendation.code}).json()["count"] == _expected(None)
    call_command("verify_tracker", stdout=StringIO())


@postgresql_only
def test_closed_days_are_counted_once_then_read_from_their_rows(recommendation):
    api = APIClient()
    _load(recommendation, [_days_ago(d) for d in range(30, 0, -1)])
    assert _feed_count(api, _days_ago(20, 0).isoformat()) == 20
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), sum(changes)::int FROM {change_counts.TABLE}")  # noqa: S608
        # Every closed day asked for (from 20 days ago to the day before yesterday), each with its one change.
        assert cursor.fetchone() == (19, 19)
    with CaptureQueriesContext(connection) as queries:
        assert _feed_count(api, _days_ago(15, 0).isoformat()) == 15
    assert not any("INSERT" in q["sql"] for q in queries.captured_queries)
    assert _feed_count(api, None) == 30
    # An ordinary status change touches no day's row.
    recommendation_change_status(recommendation=recommendation, status="implemented", note="Done today.")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), sum(changes)::int FROM {change_counts.TABLE}")  # noqa: S608
        assert cursor.fetchone() == (29, 29)


@postgresql_only
def test_verify_tracker_names_a_day_whose_count_differs(recommendation):
    _load(recommendation, [_days_ago(d) for d in (9, 8, 7)])
    assert _feed_count(APIClient(), None) == 3
    call_command("verify_tracker", stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {change_counts.TABLE} SET changes = changes + 1 WHERE changes = 1")  # noqa: S608
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_tracker", stdout=out)
    assert "days whose count of changes is not the log's" in out.getvalue()


@postgresql_only
def test_emptying_the_log_empties_the_days_counts(recommendation):
    """A restore that replaces everything empties the log with TRUNCATE, then loads it again: no day counts twice."""
    recorded = [_days_ago(d) for d in (9, 8, 7)]
    _load(recommendation, recorded)
    assert _feed_count(APIClient(), None) == 3
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {change_counts.CHANGES}, recommendations_statusperiod")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(f"SELECT count(*) FROM {change_counts.TABLE}")  # noqa: S608
        assert cursor.fetchone() == (0,)
    recommendation.refresh_from_db()
    _load(recommendation, recorded)
    assert _feed_count(APIClient(), None) == 3
