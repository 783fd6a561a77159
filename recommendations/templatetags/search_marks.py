"""Template filters that mark the searched words on a page: `{{ r.title|highlight:search }}`, `search_excerpt`."""

from django import template

from recommendations import highlight as marks
from recommendations.search_syntax import parse

register = template.Library()


@register.filter
def highlight(text: str, search: str):
    """The text, escaped, with the words the search matched in <mark> (see recommendations.highlight)."""
    return marks.highlight(text, search)


@register.filter
def search_excerpt(text: str, search: str):
    """A few dozen words of the text around its first searched word, marked; empty when it has none."""
    return marks.excerpt(text, search)


@register.filter
def search_has_no_words(search: str) -> bool:
    """True when a search was given but has no word to look for (only common words such as "the", or punctuation)."""
    return bool(search and search.strip()) and not parse(search).groups
