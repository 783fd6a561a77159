"""Page-number pagination for the API's lists: `{count, next, previous, results}`.

`page_size` may be given up to `settings.API_MAX_PAGE_SIZE`; a larger one, or one
that is not a positive whole number, is refused with a 400 naming the parameter
(never silently cut down, so a script learns the limit at once). A `page` past
the last one is a 404.

The count is an exact COUNT over the filtered items. The filters keep it cheap
(many-to-many filters are EXISTS subqueries, so the count needs no DISTINCT and
no join); on a corpus far larger than the tracker's, an estimate or cursor
pagination would be the next step.

The items' list is paged through `selectors.ItemListing`, which reads each page's
ids and its count from the narrowest place that has them (the facet entries, or
for a search best match first one narrow pass over the ranks) and only the
page's rows whole; the pagination tells it which page will be asked for.
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination

DEFAULT_PAGE_SIZE = 50

ERROR_PAGE_SIZE = _("Use a page size from 1 to {maximum}.")
ERROR_PAGE = _("Use a page number from 1 (the first page).")
ERROR_PAGE_PAST_END = _("There is no page {page}: the last page is {last}.")


def max_page_size() -> int:
    """Return the largest page size a client may ask for."""
    return int(getattr(settings, "API_MAX_PAGE_SIZE", 500))


class TrackerPagination(PageNumberPagination):
    """Page numbers from 1; `page_size` from 1 to the documented maximum."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    page_query_description = "A page number, from 1."

    @property
    def page_size_query_description(self) -> str:
        return f"Items per page, from 1 to {max_page_size()} (default {DEFAULT_PAGE_SIZE})."

    @property
    def max_page_size(self) -> int:
        return max_page_size()

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        maximum = max_page_size()
        try:
            size = int(raw)
        except (TypeError, ValueError):
            size = 0
        if not 1 <= size <= maximum:
            raise ValidationError({self.page_size_query_param: [ERROR_PAGE_SIZE.format(maximum=maximum)]})
        return size

    def get_page_number(self, request, paginator: Paginator) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw in (None, ""):
            return 1
        try:
            number = int(raw)
        except (TypeError, ValueError):
            number = 0
        if number < 1:
            raise ValidationError({self.page_query_param: [str(ERROR_PAGE)]})
        return number

    def paginate_queryset(self, queryset, request, view=None, *, count_from=None, count=None):
        """Return the page's rows; with `count_from` (the same rows, without the joins that build them),
        the exact count is taken there, so it reads no more than the filter needs. `count`, a function,
        gives the exact count another way (the change feed's, from its days). A listing that can read its
        page and count together (`selectors.ItemListing`) is told which page will be asked for."""
        if count is not None:
            queryset = CountedBy(queryset, None, count=count)
        elif count_from is not None:
            queryset = CountedBy(queryset, count_from)
        elif hasattr(queryset, "announce"):
            size = self.get_page_size(request)
            queryset.announce((self.get_page_number(request, None) - 1) * size, size)
        return self._paginate(queryset, request)

    def _paginate(self, queryset, request):
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(number)
        except EmptyPage as exc:
            raise NotFound(ERROR_PAGE_PAST_END.format(page=number, last=paginator.num_pages)) from exc
        return list(self.page)


class CountedBy:
    """Rows to page through whose count comes from a narrower queryset selecting the same rows."""

    def __init__(self, rows, count_from, *, count=None) -> None:
        self.rows, self.count_from, self.counter = rows, count_from, count

    def count(self) -> int:
        if self.counter is not None:
            return self.counter()
        return self.count_from.order_by().count()

    def __getitem__(self, key):
        return self.rows[key]
