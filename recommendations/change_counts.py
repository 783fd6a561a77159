"""How many status changes were recorded since a moment: exact, without counting a million index entries.

The change feed (`/api/changes/?since=…`) answers with the exact number of changes
recorded since the moment given. On PostgreSQL that number comes from three parts:

- closed days (before yesterday, UTC) from `recommendations_changesperday`: one row a
  day, the changes recorded on it. A closed day's row is written the first time a
  count needs it (counted from the log's `recorded_at` index, then kept), so nothing
  writes it on the path of an ordinary status change;
- the days still open (yesterday and today), and the part of a day before the first
  whole day asked for, counted from the log's index, as before.

The status log is append-only, so a closed day's count only changes when a change is
recorded with an old `recorded_at` (an import, a bulk load): a statement trigger on
the log adds such changes to their days' rows, one row a day, in day order (so that two
loads never wait on each other in opposite orders). An ordinary change (recorded now)
touches no counter row: no hot row serialises the writers.

A day's row is filled under an exclusive advisory lock that such a load holds shared
until it commits, so a day is never counted while a change for it is still uncommitted.
(A transaction that stays open across two midnights could still escape the count;
`manage.py verify_tracker` compares every row with the log.)

SQLite (the embedded database, for small trackers) counts from the index alone.
"""

# Every statement here is built from this module's constant names, never from input:
# ruff: noqa: S608

from __future__ import annotations

import datetime

from django.db import connection, transaction

from recommendations.models import StatusChange

TABLE = "recommendations_changesperday"
CHANGES = "recommendations_statuschange"
# The advisory lock that orders filling a day's row after any load of changes for it (an arbitrary key).
LOCK_KEY = 7_215_004_001

# A change's day: its recorded_at as a UTC date.
_DAY = "timezone('UTC', {column})::date"

PG_INSTALL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    day date PRIMARY KEY,
    changes bigint NOT NULL CHECK (changes >= 0)
);
COMMENT ON TABLE {TABLE} IS 'Status changes recorded on each closed day (UTC): filled when a count needs the day, '
    'corrected by a trigger for changes recorded with an old date; see recommendations/change_counts.py.';
CREATE OR REPLACE FUNCTION {TABLE}_late_changes() RETURNS trigger AS $$
DECLARE
    today date := timezone('UTC', clock_timestamp())::date;
    late record;
BEGIN
    -- Only changes recorded before today (an import, a bulk load): an ordinary change touches no row here.
    IF EXISTS (SELECT 1 FROM new_changes WHERE {_DAY.format(column="recorded_at")} < today) THEN
        PERFORM pg_advisory_xact_lock_shared({LOCK_KEY});
        FOR late IN
            SELECT {_DAY.format(column="recorded_at")} AS day, count(*) AS n FROM new_changes
            WHERE {_DAY.format(column="recorded_at")} < today GROUP BY 1 ORDER BY 1
        LOOP
            UPDATE {TABLE} SET changes = changes + late.n WHERE day = late.day;
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {TABLE}_late_changes ON {CHANGES};
CREATE TRIGGER {TABLE}_late_changes AFTER INSERT ON {CHANGES}
    REFERENCING NEW TABLE AS new_changes FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_late_changes();
-- Emptying the log (a restore that replaces everything) empties the days' counts with it.
CREATE OR REPLACE FUNCTION {TABLE}_emptied() RETURNS trigger AS $$
BEGIN
    TRUNCATE {TABLE};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {TABLE}_emptied ON {CHANGES};
CREATE TRIGGER {TABLE}_emptied AFTER TRUNCATE ON {CHANGES} FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_emptied();
"""
PG_UNINSTALL = f"""
DROP TRIGGER IF EXISTS {TABLE}_late_changes ON {CHANGES};
DROP FUNCTION IF EXISTS {TABLE}_late_changes();
DROP TRIGGER IF EXISTS {TABLE}_emptied ON {CHANGES};
DROP FUNCTION IF EXISTS {TABLE}_emptied();
DROP TABLE IF EXISTS {TABLE};
"""

# The changes the log holds for a day (`{day}`, a date column), from its recorded_at index.
_DAY_COUNT = (
    f"(SELECT count(*) FROM {CHANGES} c WHERE c.recorded_at >= {{day}}::timestamp AT TIME ZONE 'UTC' "
    f"AND c.recorded_at < ({{day}} + 1)::timestamp AT TIME ZONE 'UTC')"
)

# The day's changes from the log, for days from %s up to (not including) %s that have no row yet.
_FILL = f"""
INSERT INTO {TABLE} (day, changes)
SELECT d.day, {_DAY_COUNT.format(day="d.day")}
FROM (SELECT %s::date + n AS day FROM generate_series(0, %s::date - %s::date - 1) AS n) d
WHERE NOT EXISTS (SELECT 1 FROM {TABLE} t WHERE t.day = d.day)
ON CONFLICT (day) DO NOTHING
"""

# The rows the log implies for the days that have one: what `verify_tracker` compares.
EXPECTED_DAYS = f"""
    SELECT t.day, {_DAY_COUNT.format(day="t.day")} AS changes FROM {TABLE} t
"""
STORED_DAYS = f"SELECT day, changes FROM {TABLE}"


def install(schema_editor) -> None:
    """Create the days' table and its trigger (PostgreSQL only), and count every closed day once."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(PG_INSTALL)
    with schema_editor.connection.cursor() as cursor:
        today, oldest = _today_and_oldest(cursor)
        closed_end = today - datetime.timedelta(days=1)
        if oldest is not None and oldest < closed_end:
            cursor.execute(_FILL, [oldest, closed_end, oldest])


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UNINSTALL)


def _today_and_oldest(cursor) -> tuple[datetime.date, datetime.date | None]:
    """Today (UTC, by the database's clock, as the trigger reads it) and the day of the oldest change."""
    cursor.execute(
        f"SELECT timezone('UTC', clock_timestamp())::date, "
        f"(SELECT {_DAY.format(column='min(recorded_at)')} FROM {CHANGES})"
    )
    return cursor.fetchone()


def fill(first: datetime.date, end: datetime.date) -> None:
    """Write the row of every closed day from `first` up to `end` (not included) that has none yet."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Waits for any load of old-dated changes to commit; the fill's own snapshot then sees them.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute(_FILL, [first, end, first])


# The count since %(since)s (NULL: all): from the index before the first whole day asked for (`first`) and
# from the end of the closed days on, and from the days' rows in between; with how many days' rows there
# are and should be. One statement, one snapshot: the days' rows and the index agree with each other.
_COUNT = f"""
WITH bounds AS (
    SELECT timezone('UTC', clock_timestamp())::date - 1 AS closed_end,
           GREATEST(
               (SELECT {_DAY.format(column="min(recorded_at)")} FROM {CHANGES}),
               {_DAY.format(column="%(since)s::timestamptz")}
                   + CASE WHEN timezone('UTC', %(since)s::timestamptz)::time = '00:00' THEN 0 ELSE 1 END
           ) AS first
)
SELECT
    (SELECT count(*) FROM {CHANGES} WHERE recorded_at >= coalesce(%(since)s::timestamptz, '-infinity')
        AND recorded_at < LEAST(first, closed_end)::timestamp AT TIME ZONE 'UTC')
    + (SELECT count(*) FROM {CHANGES} WHERE recorded_at >= GREATEST(
        closed_end::timestamp AT TIME ZONE 'UTC', coalesce(%(since)s::timestamptz, '-infinity'))),
    (SELECT count(*) FROM {TABLE} WHERE day >= first AND day < closed_end),
    GREATEST(closed_end - first, 0),
    (SELECT coalesce(sum(changes), 0) FROM {TABLE} WHERE day >= first AND day < closed_end),
    first, closed_end
FROM bounds
"""


def changes_since(since: datetime.datetime | None) -> int:
    """Return the exact number of status changes recorded at or after `since` (all of them when None)."""
    if connection.vendor != "postgresql":
        return _from_index(since)
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_COUNT, {"since": since})
            open_part, days, expected, closed_part, first, closed_end = cursor.fetchone()
        if days == (expected or 0):
            return int(open_part) + int(closed_part)
        fill(first, closed_end)
    return _from_index(since)  # pragma: no cover - only if a day's row could not be written


def _from_index(since: datetime.datetime | None) -> int:
    changes = StatusChange.objects.all()
    return (changes.filter(recorded_at__gte=since) if since else changes).count()
