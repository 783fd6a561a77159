"""The tracker's derived read structures, computed from the record: how to rebuild them, and how to check them.

The record is the status log, evidence, retractions, the edit history and the
items' links. What is derived from it to make reads cheap (each item's current
status and date, the status periods) is written by the services in the same
transaction as the change it derives from; on PostgreSQL, the count of changes
recorded on each closed day is kept by `recommendations.change_counts`. This module computes each one again
from the record alone, in set-based SQL that runs the same on PostgreSQL and
SQLite, for `manage.py verify_tracker`, for bulk loads, and for migrations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

from recommendations import facet_index
from recommendations.change_counts import EXPECTED_DAYS, STORED_DAYS

# Every period as the log implies it: from a change's effective date until the next change's
# (by effective date, then id), or open.
EXPECTED_PERIODS = """
    SELECT recommendation_id, id AS change_id, to_status AS status, effective_date AS valid_from,
           LEAD(effective_date) OVER (PARTITION BY recommendation_id ORDER BY effective_date, id) AS valid_until
    FROM recommendations_statuschange
"""
STORED_PERIODS = """
    SELECT recommendation_id, change_id, status, valid_from, valid_until FROM recommendations_statusperiod
"""
# Each item's status and date as its latest change sets them, or not assessed.
EXPECTED_CURRENT = """
    SELECT r.id, COALESCE(last.to_status, 'not_assessed') AS status, last.effective_date AS status_date
    FROM recommendations_recommendation r
    LEFT JOIN (
        SELECT recommendation_id, to_status, effective_date,
               ROW_NUMBER() OVER (PARTITION BY recommendation_id ORDER BY effective_date DESC, id DESC) AS n
        FROM recommendations_statuschange
    ) last ON last.recommendation_id = r.id AND last.n = 1
"""
STORED_CURRENT = "SELECT id, status, status_date FROM recommendations_recommendation"
# Every write on record bumps the item's version once, so it is at least 1 + those writes (evidence that the
# seed loads with its status comes in with that status change, so only evidence an analyst added counts).
VERSION_BELOW_RECORD = """
    SELECT r.code, r.version, 1
        + (SELECT COUNT(*) FROM recommendations_statuschange c WHERE c.recommendation_id = r.id)
        + (SELECT COUNT(*) FROM recommendations_evidence e
           WHERE e.recommendation_id = r.id AND e.added_by_id IS NOT NULL)
        + (SELECT COUNT(*) FROM recommendations_evidenceretraction x
           JOIN recommendations_evidence e ON e.id = x.evidence_id WHERE e.recommendation_id = r.id)
        + (SELECT COUNT(*) FROM recommendations_recommendationedit d WHERE d.recommendation_id = r.id) AS implied
    FROM recommendations_recommendation r
"""


@dataclass(frozen=True)
class Check:
    """One derived structure: its name, and the SQL that lists where it differs from the record."""

    name: str
    sql: str
    vendor: str | None = None  # a structure that only this database keeps


CHECKS = (
    Check(
        "status periods missing or wrong",
        f"SELECT * FROM ({EXPECTED_PERIODS}) expected EXCEPT SELECT * FROM ({STORED_PERIODS}) stored",  # noqa: S608 - constant SQL
    ),
    Check(
        "status periods with no change behind them",
        f"SELECT * FROM ({STORED_PERIODS}) stored EXCEPT SELECT * FROM ({EXPECTED_PERIODS}) expected",  # noqa: S608 - constant SQL
    ),
    Check(
        "items whose status or status date is not their last change's",
        f"SELECT * FROM ({STORED_CURRENT}) stored EXCEPT SELECT * FROM ({EXPECTED_CURRENT}) expected",  # noqa: S608 - constant SQL
    ),
    Check(
        "facet entries missing or wrong (an item's link to a theme or owner, with its status and place)",
        f"SELECT * FROM ({facet_index.EXPECTED}) expected EXCEPT SELECT * FROM ({facet_index.STORED}) stored",  # noqa: S608
    ),
    Check(
        "facet entries with no link behind them",
        f"SELECT * FROM ({facet_index.STORED}) stored EXCEPT SELECT * FROM ({facet_index.EXPECTED}) expected",  # noqa: S608
    ),
    Check(
        "facet pairs missing or wrong (one of an item's themes with one of its owners, with its status and place)",
        f"SELECT * FROM ({facet_index.EXPECTED_PAIRS}) e EXCEPT SELECT * FROM ({facet_index.STORED_PAIRS}) s",  # noqa: S608
    ),
    Check(
        "facet pairs with no links behind them",
        f"SELECT * FROM ({facet_index.STORED_PAIRS}) s EXCEPT SELECT * FROM ({facet_index.EXPECTED_PAIRS}) e",  # noqa: S608
    ),
    Check(
        "items whose version is below the writes on record",
        f"SELECT code, version, implied FROM ({VERSION_BELOW_RECORD}) v WHERE version < implied",  # noqa: S608 - constant SQL
    ),
    Check(
        "days whose count of changes is not the log's",
        f"SELECT * FROM ({STORED_DAYS}) stored EXCEPT SELECT * FROM ({EXPECTED_DAYS}) expected",  # noqa: S608 - constant SQL
        vendor="postgresql",
    ),
)


def differences(progress: Callable[[str], None] | None = None, *, limit: int = 20) -> dict[str, list[tuple]]:
    """Return, for each derived structure that disagrees with the record, up to `limit` rows that differ."""
    found: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        for check in CHECKS:
            if check.vendor not in (None, connection.vendor):
                continue
            if progress:
                progress(check.name)
            cursor.execute(f"SELECT * FROM ({check.sql}) d LIMIT {int(limit)}")  # noqa: S608 - constant SQL
            rows = cursor.fetchall()
            if rows:
                found[check.name] = rows
    return found


def rebuild_status_periods(using=None, *, changed_after: int | None = None) -> int:
    """Replace the status periods with those the log implies; return how many were written.

    For bulk loads that write the log in one pass, and for migrations; the service keeps
    them one change at a time otherwise. With `changed_after` (a status change id), only
    the items with a change after it are rebuilt.
    """
    scope, params = "", []
    if changed_after is not None:
        scope = (
            " WHERE recommendation_id IN (SELECT DISTINCT recommendation_id FROM recommendations_statuschange"
            " WHERE id > %s)"
        )
        params = [changed_after]
    columns = "recommendation_id, change_id, status, valid_from, valid_until"
    delete = f"DELETE FROM recommendations_statusperiod{scope}"  # noqa: S608 - constant SQL
    insert = f"INSERT INTO recommendations_statusperiod ({columns}) SELECT * FROM ({EXPECTED_PERIODS}) e{scope}"  # noqa: S608
    with (using or connection).cursor() as cursor:
        cursor.execute(delete, params)
        cursor.execute(insert, params)
        return cursor.rowcount


def apply_loaded_changes(changed_after: int) -> int:
    """Bring the items with status changes after id `changed_after` in step with their log, after a bulk load.

    Each such item takes its last change's status and date, its version rises by the
    number of changes loaded, and its update time becomes the last one's recording
    time if later; then its periods are rebuilt. Returns the number of items updated.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE recommendations_recommendation AS r
            SET status = x.status, status_date = x.status_date, version = r.version + x.loaded,
                updated_at = CASE WHEN x.recorded_at > r.updated_at THEN x.recorded_at ELSE r.updated_at END
            FROM (
                SELECT cur.id, cur.status, cur.status_date, n.loaded, n.recorded_at
                FROM ({EXPECTED_CURRENT}) cur
                JOIN (
                    SELECT recommendation_id, COUNT(*) AS loaded, MAX(recorded_at) AS recorded_at
                    FROM recommendations_statuschange WHERE id > %s GROUP BY recommendation_id
                ) n ON n.recommendation_id = cur.id
            ) x
            WHERE r.id = x.id
            """,  # noqa: S608 - constant SQL
            [changed_after],
        )
        updated = cursor.rowcount
    rebuild_status_periods(changed_after=changed_after)
    return updated
