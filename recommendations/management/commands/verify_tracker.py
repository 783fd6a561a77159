"""`python manage.py verify_tracker`: recompute every derived read structure from the record and report differences.

The status periods and each item's current status and date are derived from the
status log; every item's version must be at least what its recorded writes imply.
Exits with status 1, listing the first rows that differ, when anything disagrees.
"""

from django.core.management.base import BaseCommand, CommandError

from recommendations.derived import differences
from recommendations.models import Recommendation, StatusChange, StatusPeriod


class Command(BaseCommand):
    help = "Check that every derived read structure agrees with the record (the status log, evidence, edits)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=20, help="Rows to show per difference (default 20).")

    def handle(self, *args, limit: int, **options):
        counts = (
            f"{Recommendation.objects.count():,} items, {StatusChange.objects.count():,} status changes, "
            f"{StatusPeriod.objects.count():,} status periods"
        )
        self.stdout.write(f"Checking {counts}.")
        found = differences(lambda name: self.stdout.write(f"  checking {name}…"), limit=limit)
        if not found:
            self.stdout.write(self.style.SUCCESS("Every derived structure agrees with the record."))
            return
        for name, rows in found.items():
            self.stdout.write(self.style.ERROR(f"{name}: {len(rows)}{'+' if len(rows) >= limit else ''} rows"))
            for row in rows:
                self.stdout.write(f"    {row}")
        raise CommandError(
            f"{len(found)} derived structure(s) disagree with the record. The services keep them in step; "
            "a difference means a write went around them."
        )
