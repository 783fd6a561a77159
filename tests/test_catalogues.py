"""Nothing of the interface is left untranslated: every catalogue entry is translated, none is fuzzy, and the
catalogues hold every string the code marks for translation.

The catalogues are `locale/<language>/LC_MESSAGES/django.po`; `python3 dev.py messages` gathers new strings
into them. A string marked in the code but missing from a catalogue would show in English on that
language's pages, so the last test gathers the strings afresh, in a copy of the project, and compares.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from recommendations.management.commands.compile_catalogues import NOT_OURS as CATALOGUE_IGNORES

ROOT = Path(settings.BASE_DIR)
LANGUAGES = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# Folders that hold no strings of the tracker's own, and the repository's history.
NOT_OURS = (*CATALOGUE_IGNORES, ".git")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w*)\}")


def _catalogue(language):
    return polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))


def _translations(entry):
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    catalogue = _catalogue(language)
    assert catalogue.metadata.get("Language") == language
    entries = [e for e in catalogue if not e.obsolete]
    assert len(entries) > 300, "the catalogue holds far fewer strings than the interface has"
    untranslated = [e.msgid for e in entries if not all(text.strip() for text in _translations(e))]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"{len(untranslated)} untranslated in {language}, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {language}, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_keeps_the_placeholders_of_its_english(language):
    wrong = []
    for entry in _catalogue(language):
        if entry.obsolete:
            continue
        wanted = {m.group(0) for m in PLACEHOLDER.finditer(entry.msgid)}
        if entry.msgid_plural:
            wanted |= {m.group(0) for m in PLACEHOLDER.finditer(entry.msgid_plural)}
        for text in _translations(entry):
            given = {m.group(0) for m in PLACEHOLDER.finditer(text)}
            # A plural form may leave the count out ("un élément"), never add or rename a placeholder.
            if given - wanted or (not entry.msgid_plural and given != wanted):
                wrong.append((entry.msgid, text))
    assert not wrong, wrong[:5]


@pytest.mark.skipif(
    not shutil.which("xgettext") and not os.environ.get("CI"),
    reason="gathering strings needs GNU gettext (sudo apt-get install -y gettext); CI installs it",
)
def test_the_catalogues_hold_every_string_the_code_marks(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_OURS, "*.mo", "__pycache__", "*.sqlite3"))
    env = dict(os.environ, DEBUG="1", DJANGO_SETTINGS_MODULE="tracker.settings")
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--no-obsolete", *[f"-l={code}" for code in LANGUAGES]],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for language in LANGUAGES:
        gathered = {
            (e.msgctxt, e.msgid) for e in polib.pofile(str(copy / "locale" / language / "LC_MESSAGES" / "django.po"))
        }
        held = {(e.msgctxt, e.msgid) for e in _catalogue(language) if not e.obsolete}
        missing = sorted(gathered - held, key=str)
        assert not missing, (
            f"{len(missing)} strings marked in the code are not in the {language} catalogue, e.g. {missing[:3]}. "
            "Fix: python3 dev.py messages, then translate them."
        )
