"""The tracker's own words in the interface's other languages, and which words a reader is shown.

Themes, owners and items carry their names, descriptions, titles and notes in English and, beside
each, one column per other language (`title_fr`, `title_ja`). The columns are declared with
`translation_of(field, language)` and found again with `translated_fields(model)`: this module is the
one home of the rule. A reader is shown the column of the active language; where it is empty, the
English, marked as such (`Words.fallback`). Quoted texts (an item's `text`, evidence quotes) have no
such columns: they stay as published.
"""

from __future__ import annotations

import copy
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

# The interface's language that the record is written in.
ORIGINAL_LANGUAGE = settings.LANGUAGE_CODE
# The other languages, each with a column beside every translated field.
OTHER_LANGUAGES: tuple[str, ...] = tuple(code for code, _ in settings.LANGUAGES if code != ORIGINAL_LANGUAGE)
LANGUAGE_NAMES = dict(settings.LANGUAGES)
# Each language named in the interface's language (LANGUAGES names each in its own, for the switch).
LANGUAGE_NAMES_IN_TEXT = {"en": gettext_lazy("English"), "fr": gettext_lazy("French"), "ja": gettext_lazy("Japanese")}


def column(name: str, language: str) -> str:
    """The column that holds field `name` in `language` (`title`, `fr` → `title_fr`)."""
    return name if language == ORIGINAL_LANGUAGE else f"{name}_{language}"


def translation_of(field: models.Field, language: str) -> models.Field:
    """A column for `field` in `language`: the same kind and length, optional (empty: not yet translated)."""
    clone = copy.deepcopy(field)
    clone.blank = True
    clone.null = False
    clone._unique = False
    clone.db_index = False
    clone.default = ""
    clone.db_default = ""  # so that a bulk load naming only the English columns leaves them empty
    clone.help_text = gettext_lazy("Left empty, readers see the English, marked as such.")
    # "title (French)": the English field's name is known once the model is built, hence lazy.
    clone.verbose_name = _label(field, language)
    clone._verbose_name = None  # what migrations record: nothing, the label is derived
    clone.translates = (field, language)
    return clone


def _label_text(field: models.Field, language: str) -> str:
    return gettext("%(field)s (%(language)s)") % {
        "field": field.verbose_name,
        "language": LANGUAGE_NAMES_IN_TEXT[language],
    }


_label = lazy(_label_text, str)


def language_of(model: type[models.Model], name: str) -> str:
    """The language field `name` of `model` is written in: a translation column's own, else the original."""
    try:
        translates = getattr(model._meta.get_field(name), "translates", None)
    except FieldDoesNotExist:  # a name that is no field (an edit's "links")
        return ORIGINAL_LANGUAGE
    return translates[1] if translates else ORIGINAL_LANGUAGE


def translated_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The English fields of `model` that have a column in each other language, in declaration order."""
    names = []
    for field in model._meta.get_fields():
        translates = getattr(field, "translates", None)
        if translates and translates[0].name not in names:
            names.append(translates[0].name)
    return tuple(names)


def translation_columns(model: type[models.Model]) -> tuple[str, ...]:
    """Every column of `model` that holds a translation, field by field (`title_fr`, `title_ja`, …)."""
    return tuple(column(name, language) for name in translated_fields(model) for language in OTHER_LANGUAGES)


def with_translations(model: type[models.Model], *names: str) -> tuple[str, ...]:
    """Column names for `.only()`: each name, and after a translated field of `model` its column in each other
    language (`"title"` → `"title", "title_fr", "title_ja"`; `"recommendation__title"` likewise), so that
    showing the words in the reader's language reads no deferred column one row at a time."""
    translated = translated_fields(model)
    columns = []
    for name in names:
        columns.append(name)
        if name.rsplit("__", 1)[-1] in translated:
            columns += [f"{name}_{language}" for language in OTHER_LANGUAGES]
    return tuple(columns)


def active_language() -> str:
    """The interface's language for this request, reduced to one of the tracker's (`fr-ca` → `fr`)."""
    code = (translation.get_language() or ORIGINAL_LANGUAGE).split("-")[0].lower()
    return code if code in LANGUAGE_NAMES else ORIGINAL_LANGUAGE


@dataclass(frozen=True)
class Words:
    """A field's words as a reader sees them, and the language they are in.

    `fallback` is true when the reader's language has no translation yet and the English stands in.
    """

    text: str
    language: str
    fallback: bool = False

    def __str__(self) -> str:
        return self.text


def words(obj: models.Model, name: str, language: str | None = None) -> Words:
    """Field `name` of `obj` in `language` (the active one by default), or the English, marked, where missing."""
    return _choose(lambda field: getattr(obj, field, ""), name, language)


def words_of_row(row: dict, name: str, language: str | None = None) -> Words:
    """`words()` for a row read as a dict (`.values()`) that holds `name` and its columns."""
    return _choose(row.get, name, language)


def _choose(read, name: str, language: str | None) -> Words:
    language = language or active_language()
    original = read(name) or ""
    if language == ORIGINAL_LANGUAGE:
        return Words(original, ORIGINAL_LANGUAGE)
    translated = read(column(name, language)) or ""
    if translated.strip():
        return Words(translated, language)
    return Words(original, ORIGINAL_LANGUAGE, fallback=bool(original))


def sort_key(text: str) -> str:
    """A key that sorts names as a reader expects in any of the languages: accents and case aside
    (« Énergie » beside « energie »), Japanese kana with and without voicing marks side by side."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c not in "\u3099\u309a").casefold()
