"""`python manage.py import_tracker FILE`: restore a backup made by `export_tracker`.

Into an empty, migrated database, in one transaction: either everything is
restored or nothing is. A database that already holds users or tracker rows is
refused unless --replace is given.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from recommendations.backup import BackupError, import_tracker, open_for_reading, read_document


class _DryRun(Exception):
    """Raised to roll back a dry run's transaction."""


class Command(BaseCommand):
    help = (
        "Restore a backup written by export_tracker into this (empty, migrated) database, in one transaction; "
        "'-' reads standard input, a name ending in .gz is decompressed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The backup to restore ('-': stdin).")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete every user, token, item and all status history this database holds, "
            "and load the backup in their place.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check that the backup loads, then roll back: nothing is written."
        )

    def handle(self, *args, **options):
        progress = self.stdout.write if options["verbosity"] >= 1 else None
        try:
            with open_for_reading(options["file"]) as handle:
                document = read_document(handle, options["file"])
            if progress:
                progress(f"Backup of {document.get('exported_at', 'an unknown date')}.")
            try:
                with transaction.atomic():
                    loaded, warnings = import_tracker(document, replace=options["replace"], progress=progress)
                    if options["dry_run"]:
                        raise _DryRun
            except _DryRun:
                self.stdout.write(self.style.WARNING("Dry run: the backup loads; nothing was written."))
                return
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for warning in warnings:
            self.stdout.write(self.style.WARNING(warning))
        summary = ", ".join(f"{count} {section.replace('_', ' ')}" for section, count in loaded.items())
        self.stdout.write(self.style.SUCCESS(f"Restored: {summary}."))
