"""Full-text search over items' titles and quoted texts.

On PostgreSQL, items match against their stored `search_document` (kept by a
database trigger, indexed with GIN; migration 0004) and come best match first,
a match in the title weighing more than one in the text. Elsewhere (SQLite, the
local default) search falls back to a plain case-insensitive match of every word.
"""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Q, QuerySet

SEARCH_CONFIG = "english"


def full_text_supported() -> bool:
    """Return True when the database has PostgreSQL's full-text search."""
    return connection.vendor == "postgresql"


def search_recommendations(queryset: QuerySet, terms: str, *, rank: bool = True) -> QuerySet:
    """Return the items matching `terms` (web-search syntax on PostgreSQL), best match first when `rank`."""
    terms = terms.strip()
    if not terms:
        return queryset
    if full_text_supported():
        query = SearchQuery(terms, search_type="websearch", config=SEARCH_CONFIG)
        queryset = queryset.filter(search_document=query)
        if rank:
            queryset = queryset.annotate(search_rank=SearchRank(F("search_document"), query)).order_by(
                "-search_rank", "pk"
            )
        return queryset
    condition = Q()
    for word in terms.split():
        condition &= Q(title__icontains=word) | Q(text__icontains=word) | Q(code__iexact=word)
    return queryset.filter(condition)
