"""The tracker's own words in the reader's language, and the quotations in the language they were published in.

`{{ item|words_html:"title" }}` shows the title in the page's language; where that translation is missing it
shows the English, in a `lang="en"` span followed by a visible "(in English)" mark. `{{ item|words_text:"title" }}`
gives the plain text, for attributes and page titles. `{% original_language_note %}` says, on a page that is not
in English, that a quotation stands as published.
"""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext

from recommendations import highlight as marks
from recommendations.translation import ORIGINAL_LANGUAGE, active_language, words, words_of_row

register = template.Library()


def _shown(chosen, html=None):
    """The words (or `html`, their marked-up form), and, for English standing in, its `lang` and the mark."""
    if not chosen.fallback:
        return html if html is not None else chosen.text
    return format_html(
        '<span lang="{}">{}</span><span class="untranslated-mark" title="{}">{}</span>',
        chosen.language,
        html if html is not None else chosen.text,
        gettext("Not yet translated: shown in English."),
        gettext("in English"),
    )


@register.filter
def words_html(obj, name):
    """Field `name` of `obj` (a model or a row read as a dict) in the page's language, the English marked."""
    return _shown(words_of_row(obj, name) if isinstance(obj, dict) else words(obj, name))


@register.simple_tag
def words_highlighted(obj, name, search):
    """`words_html`, with the words a search matched in <mark> (see recommendations.highlight)."""
    chosen = words(obj, name)
    return _shown(chosen, marks.highlight(chosen.text, search) if search else None)


@register.filter
def words_text(obj, name):
    """Field `name` of `obj` in the page's language, as plain text (the English where it is missing)."""
    return (words_of_row(obj, name) if isinstance(obj, dict) else words(obj, name)).text


@register.inclusion_tag("includes/original_language_note.html")
def original_language_note():
    """On a page in French or Japanese, the line that says a quotation is the original English."""
    return {"shown": active_language() != ORIGINAL_LANGUAGE}


@register.filter
def as_english(value):
    """A value of the record that stands in English on every page (a document's title, its authors): `lang="en"`."""
    return format_html('<span lang="en">{}</span>', value) if value else ""
