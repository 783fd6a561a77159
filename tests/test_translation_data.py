"""The French and Japanese words of the tracker cover exactly what the English fixtures hold.

`fixtures/translations/<language>.yaml` gives, for each theme, owner, status, level and item, the
translation of the tracker's own words: names, descriptions, labels, definitions, an item's title and
notes. A translation must exist for everything there is, for nothing that no longer exists, and only
for the fields that are filled in English. An item's quoted text is never translated: it stays as
published, so a translation never carries it.
"""

import re

import pytest
import yaml
from django.conf import settings

from recommendations.services import EDITABLE_FIELDS_IN_ORDER
from recommendations.vocabulary import STATUS_DEFINITIONS, Level, Status

LANGUAGES = ("fr", "ja")
FIXTURES = settings.FIXTURES_DIR
# The words of an item that are the tracker's own, in the order forms show them; the quoted text is not.
ITEM_FIELDS = tuple(name for name in EDITABLE_FIELDS_IN_ORDER if name == "title" or name.endswith("_note"))
# A run of this many words of an item's quoted text, in a translation, is a quotation of it.
QUOTED_RUN = 6


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _filled(entry, fields):
    return {name: entry[name] for name in fields if str(entry.get(name) or "").strip()}


def _english():
    """What must be translated: each section's keys, and each key's fields filled in English."""
    return {
        "themes": {t["slug"]: _filled(t, ("name", "description")) for t in _load(FIXTURES / "themes.yaml")},
        "owners": {o["slug"]: _filled(o, ("name", "description")) for o in _load(FIXTURES / "owners.yaml")},
        "statuses": {
            status.value: {"label": status.label, "definition": STATUS_DEFINITIONS[status]} for status in Status
        },
        "levels": {level.value: {"label": level.label} for level in Level},
        "recommendations": {i["code"]: _filled(i, ITEM_FIELDS) for i in _load(FIXTURES / "recommendations.yaml")},
    }


def _translation(language):
    return _load(FIXTURES / "translations" / f"{language}.yaml")


def _problems(english, translation):
    """Every way the translation differs in shape from the English, one line each."""
    problems = [f"section {name!r} does not exist in English" for name in translation.keys() - english.keys()]
    for section, entries in english.items():
        translated = translation.get(section) or {}
        problems += [f"{section}: {key} has no translation" for key in entries.keys() - translated.keys()]
        problems += [f"{section}: {key} no longer exists in English" for key in translated.keys() - entries.keys()]
        for key in entries.keys() & translated.keys():
            fields, given = entries[key], translated[key] or {}
            if not isinstance(given, dict):
                problems.append(f"{section}: {key} is not a mapping of fields")
                continue
            problems += [f"{section}: {key}.{name} is not translated" for name in fields.keys() - given.keys()]
            problems += [
                f"{section}: {key}.{name} is translated but empty or absent in English"
                for name in given.keys() - fields.keys()
            ]
            problems += [
                f"{section}: {key}.{name} is empty"
                for name in fields.keys() & given.keys()
                if not isinstance(given[name], str) or not given[name].strip()
            ]
    return sorted(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_theme_owner_status_level_and_item_is_translated_and_nothing_else(language):
    assert _problems(_english(), _translation(language)) == []


def test_the_problems_name_what_is_missing_extra_or_empty():
    english = {
        "themes": {"a": {"name": "A", "description": "About A."}},
        "recommendations": {"X-1": {"title": "Do X"}},
    }
    translation = {
        "themes": {"a": {"name": " "}, "gone": {"name": "Parti"}},
        "recommendations": {"X-1": {"title": "Faire X", "editorial_note": "Note"}},
        "sources": {},
    }
    assert _problems(english, translation) == [
        "recommendations: X-1.editorial_note is translated but empty or absent in English",
        "section 'sources' does not exist in English",
        "themes: a.description is not translated",
        "themes: a.name is empty",
        "themes: gone no longer exists in English",
    ]


def _word_runs(text):
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(words[i : i + QUOTED_RUN]) for i in range(len(words) - QUOTED_RUN + 1)}


def _whitespace(text):
    return " ".join(text.split())


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_translation_carries_an_items_quoted_text(language):
    """The quotation stays in English, as published: no translated field holds it, whole or in part.

    A note may quote a few words of the source, as its English does (a misprint, a phrase read one way);
    it may not quote more of the text than the English note does.
    """
    translated = _translation(language).get("recommendations") or {}
    quoting = []
    for item in _load(FIXTURES / "recommendations.yaml"):
        text = _whitespace(item["text"])
        for name, value in (translated.get(item["code"]) or {}).items():
            value = _whitespace(str(value))
            runs = _word_runs(value) & _word_runs(text) - _word_runs(str(item.get(name) or ""))
            if text in value or runs:
                quoting.append(f"{item['code']}.{name}: {sorted(runs) or [text]}")
    assert quoting == []
