"""`python manage.py seed`: load the two documents' recommendations from fixtures/.

Idempotent: run it as often as you like. Rows are matched by natural key, so a
second run changes nothing and a changed fixture updates rows in place. It never
reverts an analyst: a field changed since the seed last wrote it is kept, and
listed; the status history that analysts recorded is never touched.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from recommendations.seeding import FixtureError, Seeder


class _DryRun(Exception):
    """Raised to roll back a dry run's transaction."""


class Command(BaseCommand):
    help = "Load or update the seeded documents, themes, owners, items, links and June 2018 statuses."

    def add_arguments(self, parser):
        parser.add_argument("--fixtures", help="Folder of fixture files (default: the project's fixtures/).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change, and change nothing.")

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        seeder = Seeder(
            options.get("fixtures"),
            progress=(lambda message: self.stdout.write(message)) if verbosity >= 1 else None,
        )
        try:
            with transaction.atomic():
                report = seeder.run()
                if options["dry_run"]:
                    raise _DryRun
        except _DryRun:
            report = seeder.report
            self.stdout.write(self.style.WARNING("Dry run: nothing was written."))
        except (FixtureError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc

        for line in report.lines():
            self.stdout.write(f"  {line}")
        if report.kept:
            self.stdout.write(
                self.style.WARNING(
                    f"Kept as analysts left them, though the fixture differs ({len(report.kept)}): "
                    + "; ".join(report.kept)
                )
            )
        if report.skipped_statuses:
            self.stdout.write(
                self.style.WARNING(
                    "Seeded status left alone where analysts have recorded history: "
                    + ", ".join(report.skipped_statuses)
                )
            )
        if report.changed:
            self.stdout.write(self.style.SUCCESS("Seed loaded."))
        else:
            self.stdout.write(self.style.SUCCESS("Seed already up to date: nothing changed."))
