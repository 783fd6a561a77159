"""Compile the interface's translation catalogues (locale/*/LC_MESSAGES/django.po) into the .mo files Django reads.

With GNU gettext installed this is Django's `compilemessages`; without it, polib compiles them in pure Python,
so that `python3 dev.py run` needs nothing but python3. `--gather` first gathers the strings the code marks
into the catalogues (Django's `makemessages`, GNU gettext required), for translators.
"""

import shutil

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

# Folders that hold no strings of the tracker's own.
NOT_OURS = [".venv", "node_modules", "staticfiles", "tests", "scripts", "docs"]
LANGUAGES = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class Command(BaseCommand):
    help = "Compile the French and Japanese catalogues (GNU gettext's msgfmt where installed, else polib)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--gather", action="store_true", help="First gather the marked strings into the catalogues."
        )

    def handle(self, *args, **options):
        if options["gather"]:
            if not shutil.which("xgettext"):
                raise CommandError("Gathering strings needs GNU gettext. Fix: sudo apt-get install -y gettext.")
            call_command("makemessages", locale=LANGUAGES, ignore_patterns=NOT_OURS, no_obsolete=True, verbosity=0)
        if shutil.which("msgfmt"):
            call_command("compilemessages", ignore_patterns=NOT_OURS, verbosity=0)
            return
        for folder in settings.LOCALE_PATHS:
            for po in sorted(folder.glob("*/LC_MESSAGES/*.po")):
                polib.pofile(str(po)).save_as_mofile(str(po.with_suffix(".mo")))
