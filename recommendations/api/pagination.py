"""Page-number pagination for the API's lists: `{count, next, previous, results}`.

`page_size` may be given up to `settings.API_MAX_PAGE_SIZE`; a larger one, or one
that is not a positive whole number, is refused with a 400 naming the parameter
(never silently cut down, so a script learns the limit at once). A `page` past
the last one is a 404.

The count is an exact COUNT over the filtered items. The filters keep it cheap
(many-to-many filters are EXISTS subqueries, so the count needs no DISTINCT and
no join); on a corpus far larger than the tracker's, an estimate or cursor
pagination would be the next step.

A list whose order must be computed for every match (a search, best match
first) is paged by key: one narrow query reads only what the order needs, takes
the page's ids and counts the matches in the same pass, and only the page's
rows are then read whole (`KeyedPage`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Paginator
from django.db import connections
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination

DEFAULT_PAGE_SIZE = 50

ERROR_PAGE_SIZE = "Use a page size from 1 to {maximum}."
ERROR_PAGE = "Use a page number from 1 (the first page)."
ERROR_PAGE_PAST_END = "There is no page {page}: the last page is {last}."


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
            raise ValidationError({self.page_query_param: [ERROR_PAGE]})
        return number

    def paginate_queryset(self, queryset, request, view=None, *, count_from=None, keyed=False, count=None):
        """Return the page's rows; with `count_from` (the same rows, without the joins that build them),
        the exact count is taken there, so it reads no more than the filter needs. With `keyed` too, the
        page's ids and the count come from one narrow query over `count_from` (see `KeyedPage`).
        `count`, a function, gives the exact count another way (the change feed's, from its days)."""
        if count is not None:
            queryset = CountedBy(queryset, None, count=count)
        elif count_from is not None:
            if keyed:
                size = self.get_page_size(request)
                offset = (self.get_page_number(request, None) - 1) * size
                queryset = KeyedPage(queryset, count_from, offset, size)
            else:
                queryset = CountedBy(queryset, count_from)
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


class KeyedPage(CountedBy):
    """Rows whose order is computed for every match (a search's rank), paged by their ids.

    One query reads, for every row of `count_from`, only its id and the values it is ordered by
    (`count_from`'s ordering, on its own fields and annotations), sorts that narrow list, keeps the
    page's ids and counts all the rows in the same pass (a window count). The page's whole rows
    are then read for those ids alone, in the same order. The count stays exact; a page past the
    end (no ids) is counted on its own. An order that is not by names is paged as `CountedBy` pages.
    """

    def __init__(self, rows, count_from, offset: int, limit: int) -> None:
        super().__init__(rows, count_from)
        self.offset, self.limit = offset, limit
        self._ids: list | None = None
        self._count: int | None = None
        ordering = count_from.query.order_by
        self.keyed = bool(ordering) and all(isinstance(name, str) for name in ordering)

    def _read_page(self) -> None:
        ordering = list(self.count_from.query.order_by)
        pk = self.count_from.model._meta.pk.attname
        names = list(dict.fromkeys(pk if name.lstrip("-") == "pk" else name.lstrip("-") for name in ordering))
        if pk not in names:
            names.insert(0, pk)
        narrow = self.count_from.order_by().values(*names)
        try:
            sql, params = narrow.query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (say, a word no item has)
            self._ids, self._count = [], 0
            return
        connection = connections[self.count_from.db]
        quote = connection.ops.quote_name
        order = ", ".join(
            quote(pk if name.lstrip("-") == "pk" else name.lstrip("-")) + (" DESC" if name.startswith("-") else "")
            for name in ordering
        )
        # The inner query only projects the narrow columns; on PostgreSQL, OFFSET 0 keeps it a
        # subquery of its own, so the window count carries those columns, never the wide ones
        # the order is computed from (the search document).
        fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT page.{quote(pk)}, COUNT(*) OVER () FROM ({sql}{fence}) AS page "  # noqa: S608
                f"ORDER BY {order} LIMIT %s OFFSET %s",
                [*params, self.limit, self.offset],
            )
            found = cursor.fetchall()
        self._ids = [row[0] for row in found]
        self._count = found[0][1] if found else None

    def count(self) -> int:
        if self.keyed and self._ids is None:
            self._read_page()
        if self._count is None:
            self._count = super().count()
        return self._count

    def __getitem__(self, key):
        # The paginator asks for the page's rows (fewer on the last page), as announced.
        announced = isinstance(key, slice) and (key.start or 0) == self.offset
        if self.keyed and announced and key.stop <= self.offset + self.limit:
            if self._ids is None:
                self._read_page()
            if not self._ids:
                return []
            return self.rows.filter(pk__in=self._ids)
        return self.rows[key]
