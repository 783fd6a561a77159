"""Reviewer pages: server-rendered, read-only, working without JavaScript.

The views are thin: the list takes its query parameters through the one
FilterSet that the API uses (so a page URL and an API URL with the same query
string select the same items), and every read that composes queries lives in
`selectors.py`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, ListView, TemplateView

from recommendations import dashboard, research, selectors
from recommendations.filters import ORDERING_FIELDS, RecommendationFilterSet, parse_as_of
from recommendations.models import CODE_VALIDATOR, ITEM_IN_OUTLINE_PARAMETER, Recommendation, Source, Theme
from recommendations.roles import user_is_analyst
from recommendations.timeline import (
    OVERDUE,
    SCHEDULE_OVERDUE,
    SCHEDULE_RELEASED_STATUSES,
    STATUS_AS_OF,
    STATUS_DATE_AS_OF,
    change_in_effect,
    is_overdue,
    last_occurrence,
    next_occurrence_due,
    with_overdue,
)
from recommendations.translation import with_translations
from recommendations.vocabulary import (
    CLOSED_STATUSES,
    RELATION_INVERSE_LABELS,
    STATUS_DEFINITIONS,
    Level,
    RelationKind,
    Status,
)

# The API's list endpoint (a public contract); the list page links to it with its own query string.
API_LIST_PATH = "/api/recommendations/"
API_DOCS_PATH = "/api/docs/"

# Parameters that select items (as opposed to paging through them).
PAGE_PARAMETER = "page"
# Items of a document shown on one page of its outline.
OUTLINE_PAGE_SIZE = 250
# The date on which to read every status (the FilterSet's `as_of`).
AS_OF_PARAMETER = "as_of"

# Filters of the address that are not facets, shown as removable choices: (parameter, label).
OTHER_FILTER_LABELS = {
    "parent": _("Part of"),
    "updated_since": _("Updated since"),
    "overdue": _("Overdue"),
    "due_before": _("Due on or before"),
    "due_after": _("Due on or after"),
    "priority": _("Priority"),
    "code": _("Items"),
}

# Sort choices offered on the list page: (parameter value, label).
SORT_CHOICES: tuple[tuple[str, str], ...] = (
    ("", _("Document order (best match first when searching)")),
    ("code", _("Code")),
    ("status", _("Status")),
    ("-status_date", _("Status date, newest first")),
    ("-updated_at", _("Last updated, newest first")),
    ("due_date", _("Due date, earliest first")),
)


def _querystring(data: QueryDict, **changes: list[str] | None) -> str:
    """Return `data` as a query string with some parameters replaced (a list) or removed (None)."""
    query = data.copy()
    for key, values in changes.items():
        if values:
            query.setlist(key, values)
        else:
            query.pop(key, None)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def _toggled(data: QueryDict, name: str, value: str) -> str:
    """Return the list URL's query string with `value` added to or removed from parameter `name`."""
    current = [v for v in data.getlist(name) if v]
    values = [v for v in current if v != value] if value in current else [*current, value]
    return _querystring(data, **{name: values, PAGE_PARAMETER: None})


@dataclass(frozen=True)
class StatusOnDate:
    """An item's status as it stood on a past date: what the pages show beside (or instead of) today's."""

    status: str
    date: datetime.date | None  # when that status took effect; None: not assessed by then
    as_of: datetime.date
    overdue: bool = False
    change_id: int | None = None  # the status change in effect on that date

    @property
    def label(self) -> str:
        return Status(self.status).label

    @property
    def definition(self) -> str:
        return STATUS_DEFINITIONS[Status(self.status)]


def _show_status_as_of(items: Iterable[Recommendation], as_of: datetime.date) -> None:
    """Give each listed item (annotated by the FilterSet's `as_of`) its `on_date` status for the template."""
    for item in items:
        status = getattr(item, STATUS_AS_OF)
        item.on_date = StatusOnDate(
            status=status,
            date=getattr(item, STATUS_DATE_AS_OF),
            as_of=as_of,
            # Lists carry the one overdue rule's verdict (`timeline.with_overdue`); other pages show no flag.
            overdue=getattr(item, OVERDUE) if hasattr(item, OVERDUE) else is_overdue(item.due_date, status, as_of),
        )


def _as_of_context(request, as_of: datetime.date | None, errors: list[str]) -> dict:
    """What the pages that take `as_of` show about it: the date, the field's value, its errors, today's link.

    The date is `as_of_date` in templates: `as_of` there is the tracker's own stamp (see base.html).
    """
    data = request.GET
    return {
        "as_of_date": as_of,
        "as_of_value": data.get(AS_OF_PARAMETER, "").replace("\x00", ""),
        "as_of_errors": errors,
        "as_of_max": timezone.localdate(),
        "today_url": request.path + _querystring(data, **{AS_OF_PARAMETER: None, PAGE_PARAMETER: None}).rstrip("?"),
    }


class AsOfMixin:
    """For pages that take only `as_of`: parses it once; a refused date answers 400 with the page and the error."""

    def get_as_of(self) -> tuple[datetime.date | None, list[str]]:
        if not hasattr(self, "_as_of"):
            self._as_of = parse_as_of(self.request.GET.get(AS_OF_PARAMETER))
        return self._as_of

    def render_to_response(self, context, **response_kwargs):
        if self.get_as_of()[1]:
            response_kwargs.setdefault("status", 400)
        return super().render_to_response(context, **response_kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        as_of, errors = self.get_as_of()
        context.update(_as_of_context(self.request, as_of, errors))
        return context


class RecommendationFilterMixin:
    """Owns the queryset of the pages that list items: the request's query string through the shared FilterSet."""

    filterset_class = RecommendationFilterSet

    def get_filterset(self) -> RecommendationFilterSet:
        if not hasattr(self, "_filterset"):
            self._filterset = self.filterset_class(
                self.request.GET, queryset=Recommendation.objects.all(), request=self.request
            )
        return self._filterset

    def get_queryset(self):
        filterset = self.get_filterset()
        if not filterset.is_valid():
            return Recommendation.objects.none()
        # Lazy: the page's own items are made into what the list shows (`shown`) when it is paginated.
        return filterset.qs

    def shown(self, items):
        """Return items as the list shows them: with their documents, parents, themes and owners, and whether
        each is overdue (on `as_of`, with the status then), by the one rule."""
        as_of = self.get_filterset().as_of_date
        queryset = items.with_list_relations()
        return with_overdue(queryset, as_of, status=STATUS_AS_OF) if as_of else with_overdue(queryset)


class RecommendationListView(RecommendationFilterMixin, ListView):
    """The items with facets, search, sorting and pages; every choice is in the query string."""

    template_name = "recommendations/recommendation_list.html"
    context_object_name = "recommendations"
    paginate_by = 25
    extra_context = {"nav": "list"}

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if not self.get_filterset().is_valid():
            # The page still renders, with each error beside its filter.
            response.status_code = 400
        return response

    def paginate_queryset(self, queryset, page_size):
        """Page through the items; a page number out of range shows the nearest page rather than an error."""
        filterset = self.get_filterset()
        listing = selectors.ItemListing(filterset, self.shown) if filterset.is_valid() else queryset
        number = self.request.GET.get(PAGE_PARAMETER) or "1"
        if isinstance(listing, selectors.ItemListing) and number.isdigit() and int(number) >= 1:
            listing.announce((int(number) - 1) * page_size, page_size)
        paginator = self.get_paginator(listing, page_size)
        page = paginator.get_page(self.request.GET.get(PAGE_PARAMETER))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.get_filterset()
        data = self.request.GET
        facets = selectors.facet_counts(filterset)
        for facet in facets:
            for option in facet.options:
                option.url = _toggled(data, facet.name, option.value)
        status_facet = next(f for f in facets if f.name == "status")
        as_of = filterset.as_of_date
        if as_of:
            _show_status_as_of(context["object_list"], as_of)
        for item in context["object_list"]:
            # Overdue on the date shown, either way; and which way, so each flag says why.
            item.overdue, item.schedule_overdue = getattr(item, OVERDUE), getattr(item, SCHEDULE_OVERDUE)
            item.due_overdue = is_overdue(item.due_date, getattr(item, STATUS_AS_OF) if as_of else item.status, as_of)
        selection_query = _querystring(data, **{PAGE_PARAMETER: None})[1:]
        api_query = f"?{selection_query}" if selection_query else ""
        chosen_themes = [o for f in facets if f.name == "theme" for o in f.selected]
        errors = filterset.errors
        context.update(_as_of_context(self.request, as_of, list(errors.get(AS_OF_PARAMETER, []))))
        context.update(
            filterset=filterset,
            errors=errors,
            error_items=self._error_items(errors),
            facets=facets,
            # The status facet's counts are this selection's progress (other filters applied, status not).
            progress=selectors.Progress.from_counts({o.value: o.count for o in status_facet.options}),
            search=data.get("search", "").replace("\x00", ""),
            ordering=data.get("ordering", "").replace("\x00", ""),
            sort_choices=self._sort_choices(data.get("ordering", "")),
            hidden_filters=[
                (key, value)
                for key in data
                if key not in ("search", "ordering", AS_OF_PARAMETER, PAGE_PARAMETER) and "\x00" not in key
                for value in data.getlist(key)
                if "\x00" not in value
            ],
            other_filters=self._other_filters(data),
            has_filters=any(k != PAGE_PARAMETER for k in data),
            total=Recommendation.objects.count() if data else None,
            api_json_url=API_LIST_PATH + api_query,
            api_csv_url=API_LIST_PATH + _querystring(data, **{PAGE_PARAMETER: None, "format": ["csv"]}),
            feed_theme=Theme.objects.filter(slug=chosen_themes[0].value).first() if len(chosen_themes) == 1 else None,
            clear_url=reverse("recommendations:recommendation-list"),
            page_prefix=f"?{selection_query}&" if selection_query else "?",
        )
        if context["total"] is None:
            context["total"] = context["paginator"].count if context.get("paginator") else 0
        if not data:
            # The bare front page also says how the tracker stands and what changed; a URL with any
            # parameter (a filter, a page, a date) is a reviewer's question and shows the list as it is.
            # The counts are the status facet's (no filter: every item), so they cost no query more.
            context["front"] = dashboard.front_page(counts={c.status: c.count for c in context["progress"].counts})
        return context

    @staticmethod
    def _sort_choices(current: str) -> list[tuple[str, str]]:
        choices = list(SORT_CHOICES)
        known = {value for value, _ in choices}
        if current and current not in known and current.lstrip("-") in ORDERING_FIELDS:
            label = ORDERING_FIELDS[current.lstrip("-")][1]
            if current.startswith("-"):
                label = gettext("%(sort)s, reversed") % {"sort": label}
            choices.append((current, label))
        return choices

    @staticmethod
    def _error_items(errors: dict) -> list[dict]:
        """Each refused parameter with its message and, where the page shows that filter, a link to it."""
        shown = {name for name, _ in selectors.FACETS} | {"search", "ordering", "as_of", *OTHER_FILTER_LABELS}
        return [
            {
                "name": name or gettext("(unnamed)"),
                "anchor": f"filter-{name}" if name in shown else "",
                "message": message,
            }
            for name, messages in errors.items()
            for message in messages
        ]

    def _other_filters(self, data: QueryDict) -> list[dict]:
        """Filters chosen in the URL that are not facets (search, parent, updated_since…), with remove links."""
        labels = {"search": pgettext_lazy("filter", "Search"), **OTHER_FILTER_LABELS}
        return [
            {
                "name": name,
                "label": label,
                "value": ", ".join(v.replace("\x00", "") for v in data.getlist(name)),
                "remove_url": _querystring(data, **{name: None, PAGE_PARAMETER: None}),
                "errors": self.get_filterset().errors.get(name, []),
            }
            for name, label in labels.items()
            if any(v for v in data.getlist(name))
        ]


class RecommendationDetailView(AsOfMixin, DetailView):
    """One item: its quoted text in place, status, owners, evidence, timeline and links across documents.

    With `as_of`, also its status on that date (read from the timeline it shows anyway, so no
    extra query), and the timeline marks the changes that came later.
    """

    template_name = "recommendations/recommendation_detail.html"
    context_object_name = "recommendation"
    extra_context = {"nav": "item"}

    def get_object(self, queryset=None):
        code = self.kwargs["code"]
        not_found = gettext("No recommendation has the code “%(code)s”.") % {"code": code.replace(chr(0), "")}
        try:
            CODE_VALIDATOR(code)  # refuses NUL bytes and other junk before any query
        except ValidationError as exc:
            raise Http404(not_found) from exc
        try:
            return selectors.recommendation_story(code)
        except Recommendation.DoesNotExist as exc:
            raise Http404(not_found) from exc

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        item = self.object
        links = selectors.linked_items(item)
        timeline = list(item.status_changes.all())
        as_of = context["as_of_date"]
        evidence = list(item.evidence.all())

        def last_on(on: datetime.date | None) -> datetime.date | None:
            if not item.schedule_months:
                return None
            return last_occurrence(source_published=item.source.published, changes=timeline, evidence=evidence, on=on)

        status_on = None
        if as_of:
            change = change_in_effect(timeline, as_of)
            status = change.to_status if change else Status.NOT_ASSESSED.value
            status_on = StatusOnDate(
                status=status,
                date=change.effective_date if change else None,
                as_of=as_of,
                overdue=is_overdue(
                    item.due_date, status, as_of, schedule_months=item.schedule_months, last_occurrence=last_on(as_of)
                ),
                change_id=change.pk if change else None,
            )
        last = last_on(None)
        schedule = None
        if item.schedule_months:
            schedule = {
                "months": item.schedule_months,
                "note": item.schedule_note,
                "last": last,
                "next_due": next_occurrence_due(last, item.schedule_months),
                "overdue": is_overdue(None, item.status, schedule_months=item.schedule_months, last_occurrence=last),
                "released": item.status in SCHEDULE_RELEASED_STATUSES,
            }
        edits = list(item.edits.all())
        for edit in edits:
            edit.rows = selectors.edit_rows(edit)
        context.update(
            research_entry=research.entry(item.code.lower()),
            edits=edits,
            in_place=selectors.quote_in_place(item.source.text, item.text),
            section_parts=selectors.section_parts(item.section),
            linked=links,
            linked_other_source=[link for link in links if link.item.source_id != item.source_id],
            linked_same_source=[link for link in links if link.item.source_id == item.source_id],
            overdue=is_overdue(item.due_date, item.status),
            schedule=schedule,
            feed_url=reverse("recommendations:feed-recommendation-changes", kwargs={"code": item.code}),
            closed=item.status in CLOSED_STATUSES,
            timeline=timeline,
            status_on=status_on,
            can_record=user_is_analyst(self.request.user),
            api_url=f"{API_LIST_PATH}{item.code}/" + (f"?{AS_OF_PARAMETER}={as_of.isoformat()}" if as_of else ""),
        )
        return context


class SourceListView(ListView):
    """The documents the tracker follows, each with its progress."""

    template_name = "recommendations/source_list.html"
    context_object_name = "sources"
    extra_context = {"nav": "sources"}

    def get_queryset(self):
        return selectors.sources_with_progress()


class SourceDetailView(AsOfMixin, DetailView):
    """A document's items in reading order under its headings, with its progress drawn as a bar."""

    template_name = "recommendations/source_detail.html"
    context_object_name = "source"
    model = Source
    extra_context = {"nav": "source"}

    def get_queryset(self):
        return Source.objects.defer("text")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        source = self.object
        as_of = context["as_of_date"]
        # A long document is read a page at a time; a page number out of range shows the nearest page.
        paginator = Paginator(selectors.source_items(source, as_of), OUTLINE_PAGE_SIZE)
        number = self.request.GET.get(PAGE_PARAMETER)
        code = self.request.GET.get(ITEM_IN_OUTLINE_PARAMETER, "").replace("\x00", "")
        if not number and code:
            # An item's "in its place in the document" link: the page that holds it.
            number = selectors.outline_page_of(source, code[:32], OUTLINE_PAGE_SIZE)
        page = paginator.get_page(number)
        outline = selectors.outline(page.object_list)
        if as_of:
            _show_status_as_of((entry.item for entry in outline), as_of)
        query = {"source": source.slug, **({AS_OF_PARAMETER: as_of.isoformat()} if as_of else {})}
        context.update(
            outline=outline,
            paginator=paginator,
            page_obj=page,
            is_paginated=page.has_other_pages(),
            page_prefix=f"?{urlencode({AS_OF_PARAMETER: as_of.isoformat()})}&" if as_of else "?",
            progress=selectors.progress_of(source.recommendations.all(), as_of),
            list_url=reverse("recommendations:recommendation-list") + "?" + urlencode(query),
            item_query=f"?{urlencode({AS_OF_PARAMETER: as_of.isoformat()})}" if as_of else "",
            over_time=dashboard.status_over_time(as_of, source=source),
        )
        return context


class ProgressView(AsOfMixin, TemplateView):
    """Status by theme and status by source, as bars with the same numbers in tables."""

    template_name = "recommendations/progress.html"
    extra_context = {"nav": "progress"}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        as_of = context["as_of_date"]
        context.update(
            overall=selectors.progress_of(Recommendation.objects.all(), as_of),
            by_theme=selectors.status_by_theme(as_of),
            by_source=selectors.status_by_source(as_of),
            statuses=list(Status),
            over_time=dashboard.status_over_time(as_of),
        )
        return context


class ResearchLogView(TemplateView):
    """The research log behind the statuses after June 2018: the method, and an entry per item researched."""

    template_name = "recommendations/research.html"
    extra_context = {"nav": "methodology"}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        name = self.kwargs.get("name")
        if name is None:
            context.update(entry=research.entry("README"), entries=research.entries())
            return context
        entry = research.entry(name)
        if entry is None:
            raise Http404(gettext("No research entry is called “%(name)s”.") % {"name": name.replace(chr(0), "")})
        item = (
            Recommendation.objects.filter(code=name.upper())
            .only(*with_translations(Recommendation, "code", "title"))
            .first()
        )
        context.update(entry=entry, item=item)
        return context


class MethodologyView(TemplateView):
    """What each status means, what counts as evidence, what "as of" means, where the items come from."""

    template_name = "recommendations/methodology.html"
    extra_context = {"nav": "methodology"}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            statuses=[
                {"code": s.value, "label": s.label, "definition": STATUS_DEFINITIONS[s], "closed": s in CLOSED_STATUSES}
                for s in Status
            ],
            levels=list(Level),
            relations=[
                {"label": kind.label, "inverse": RELATION_INVERSE_LABELS[kind], "code": kind.value}
                for kind in RelationKind
            ],
            sources=selectors.sources_with_progress(),
            api_docs_url=API_DOCS_PATH,
        )
        return context
