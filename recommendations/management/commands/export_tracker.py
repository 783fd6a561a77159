"""`python manage.py export_tracker FILE`: back up everything the tracker holds to one JSON file.

Restore it with `import_tracker FILE` into an empty database. The file holds
password hashes and API tokens: it is written readable by its owner only, and
should be kept like a secret.
"""

from django.core.management.base import BaseCommand, CommandError

from recommendations.backup import BackupError, export_tracker, open_for_writing


class Command(BaseCommand):
    help = (
        "Write a backup of the whole tracker (users, tokens, sources, themes, owners, items, links, evidence "
        "and the status log) to FILE as JSON; '-' writes to standard output, a name ending in .gz is compressed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Where to write the backup, e.g. tracker-2026-01-31.json.gz ('-': stdout).")
        parser.add_argument("--no-tokens", action="store_true", help="Leave the users' API tokens out.")

    def handle(self, *args, **options):
        path = options["file"]
        # Progress goes to stderr when the backup itself goes to stdout.
        say = self.stderr.write if path == "-" else self.stdout.write
        progress = say if options["verbosity"] >= 1 else None
        try:
            with open_for_writing(path) as out:
                counts = export_tracker(out, include_tokens=not options["no_tokens"], progress=progress)
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] >= 1:
            summary = ", ".join(f"{count} {section.replace('_', ' ')}" for section, count in counts.items())
            say(self.style.SUCCESS(f"Backup written to {path}: {summary}."))
