"""Full-text search over items' titles and quoted texts.

On PostgreSQL, search uses a GIN index over exactly the expression that
`search_vector()` builds (created by migration 0002), ranked by relevance;
elsewhere (SQLite, the local default) it falls back to a plain match.
"""

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet

SEARCH_CONFIG = "english"
SEARCH_INDEX_NAME = "rec_fulltext_idx"


def search_vector() -> SearchVector:
    """Return the indexed document expression; filters must use this same expression to hit the index."""
    return SearchVector("title", "text", config=SEARCH_CONFIG)


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
        queryset = queryset.annotate(search_document=search_vector()).filter(search_document=query)
        if rank:
            queryset = queryset.annotate(search_rank=SearchRank(search_vector(), query)).order_by("-search_rank", "pk")
        return queryset
    condition = Q()
    for word in terms.split():
        condition &= Q(title__icontains=word) | Q(text__icontains=word) | Q(code__iexact=word)
    return queryset.filter(condition)
