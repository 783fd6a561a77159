"""Reads for the API, built as plain dicts from `.values()` and a fixed number of queries.

A list page, whatever its size, costs one query for the items plus one each for
their themes, owners and evidence; the detail costs one query per kind of
related row. No serializer machinery runs per row: the output serializers in
`serializers.py` only document these shapes (and the tests check they agree).

With `as_of`, an item's `status` and `status_date` are those in effect on that
date: in a list from the FilterSet's annotation (in the same query), in the
detail from the status history it loads anyway.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat
from django.urls import reverse

from recommendations import log_wording
from recommendations.models import (
    Evidence,
    Owner,
    Recommendation,
    RecommendationLink,
    Source,
    StatusChange,
    Theme,
)
from recommendations.timeline import (
    OVERDUE,
    STATUS_AS_OF,
    STATUS_DATE_AS_OF,
    is_overdue,
    last_occurrence,
    next_occurrence_due,
    status_in_effect,
    with_overdue,
    with_status_on,
)
from recommendations.vocabulary import (
    CLOSED_STATUSES,
    RELATION_INVERSE_LABELS,
    STATUS_DEFINITIONS,
    RelationKind,
    Status,
)

_PLACEHOLDER = "PLACEHOLDER-0"
# The order in which an item's themes, owners and evidence are listed.
_THEME_ORDER = ("theme__position", "theme__name")
_OWNER_ORDER = ("owner__country", "owner__name")
_EVIDENCE_ORDER = ("published", "id")
STREAM_BATCH_SIZE = 1000

RECOMMENDATION_COLUMNS = [
    "code",
    "url",
    "title",
    "text",
    "source",
    "section",
    "parent",
    "level",
    "themes",
    "owners",
    "status",
    "status_date",
    "as_of",
    "due_date",
    "overdue",
    "schedule_months",
    "priority",
    "evidence",
    "version",
    "updated_at",
]
STATUS_CHANGE_COLUMNS = [
    "id",
    "recommendation",
    "recommendation_url",
    "from_status",
    "to_status",
    "note",
    "effective_date",
    "recorded_at",
    "recorded_by",
    "evidence",
    "kind",
    "summary",
]
EVIDENCE_COLUMNS = [
    "id",
    "title",
    "url",
    "source",
    "link",
    "publisher",
    "published",
    "quote",
    "added_at",
    "retracted_at",
    "retracted_by",
    "retraction_reason",
    "link_status",
    "link_checked_at",
    "archived_url",
]


class Links:
    """Absolute URLs for one request, built from a reversed template rather than a reverse() per row."""

    def __init__(self, request) -> None:
        self.request = request
        self._item = self._template("api:recommendation-detail", "code")
        self._list = request.build_absolute_uri(reverse("api:recommendation-list"))
        self._source_page = self._template("recommendations:source-detail", "slug", slug=True)

    def _template(self, name: str, kwarg: str, *, slug: bool = False) -> tuple[str, str]:
        placeholder = _PLACEHOLDER.lower() if slug else _PLACEHOLDER
        return self.request.build_absolute_uri(reverse(name, kwargs={kwarg: placeholder})), placeholder

    def item(self, code: str | None) -> str | None:
        """Return the API address of the item with this code."""
        template, placeholder = self._item
        return template.replace(placeholder, code) if code else None

    def items(self, parameter: str, value: str) -> str:
        """Return the API list address filtered by one parameter."""
        return f"{self._list}?{parameter}={value}"

    def source_page(self, slug: str) -> str:
        """Return the reviewer page of a source document held in the tracker."""
        template, placeholder = self._source_page
        return template.replace(placeholder, slug)


# --- recommendations -------------------------------------------------------

_LIST_VALUES = (
    "id",
    "code",
    "title",
    "text",
    "source__slug",
    "section",
    "parent__code",
    "level",
    "status",
    "status_date",
    "due_date",
    "schedule_months",
    "priority",
    "version",
    "updated_at",
)


def _complete(
    values_rows: list[dict[str, Any]], links: Links, as_of: datetime.date | None = None
) -> list[dict[str, Any]]:
    """Turn a batch of `.values()` rows into list results, fetching their many-to-many data in three queries.

    With `as_of`, the rows carry the as-of status and date (see `recommendation_values`) and show them.
    """
    ids = [row["id"] for row in values_rows]
    themes: dict[int, list[str]] = defaultdict(list)
    owners: dict[int, list[str]] = defaultdict(list)
    evidence: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for item_id, slug in (
            Recommendation.themes.through.objects.filter(recommendation_id__in=ids)
            .order_by(*_THEME_ORDER)
            .values_list("recommendation_id", "theme__slug")
        ):
            themes[item_id].append(slug)
        for item_id, slug in (
            Recommendation.owners.through.objects.filter(recommendation_id__in=ids)
            .order_by(*_OWNER_ORDER)
            .values_list("recommendation_id", "owner__slug")
        ):
            owners[item_id].append(slug)
        for record in (
            Evidence.objects.filter(recommendation_id__in=ids)
            .select_related("source")
            .only("recommendation_id", *LIST_EVIDENCE_FIELDS[:3], "source__slug", "published")
            .order_by(*_EVIDENCE_ORDER)
        ):
            evidence[record.recommendation_id].append(evidence_row(record, links, LIST_EVIDENCE_FIELDS))
    return [
        _list_result(row, themes[row["id"]], owners[row["id"]], evidence[row["id"]], links, as_of)
        for row in values_rows
    ]


def _list_result(
    row: dict[str, Any],
    themes: list[str],
    owners: list[str],
    evidence: list,
    links: Links,
    as_of: datetime.date | None,
) -> dict[str, Any]:
    """Return one list result from its `recommendation_values()` row and its themes, owners and evidence."""
    return {
        "code": row["code"],
        "url": links.item(row["code"]),
        "title": row["title"],
        "text": row["text"],
        "source": row["source__slug"],
        "section": row["section"],
        "parent": row["parent__code"],
        "level": row["level"],
        "themes": themes,
        "owners": owners,
        "status": row[STATUS_AS_OF] if as_of else row["status"],
        "status_date": row[STATUS_DATE_AS_OF] if as_of else row["status_date"],
        "as_of": as_of,
        "due_date": row["due_date"],
        "overdue": row[OVERDUE],
        "schedule_months": row["schedule_months"],
        "priority": row["priority"],
        "evidence": evidence,
        "version": row["version"],
        "updated_at": row["updated_at"],
    }


def recommendation_values(queryset: QuerySet, as_of: datetime.date | None = None, *, overdue: bool = True) -> QuerySet:
    """Return the filtered items as the `.values()` rows that list results are built from.

    With `as_of`, the queryset comes from the FilterSet with `as_of` given, so it carries
    the as-of status and date; only then are they selected. Whether each item is overdue
    (on `as_of`, with the status then) comes from the one overdue rule, in the same query;
    with `overdue=False` it is left to `recommendation_rows`, for a page (see `_overdue`).
    """
    columns = [*_LIST_VALUES, STATUS_AS_OF, STATUS_DATE_AS_OF] if as_of else list(_LIST_VALUES)
    if not overdue:
        return queryset.values(*columns)
    if as_of:
        return with_overdue(queryset, as_of, status=STATUS_AS_OF).values(*columns, OVERDUE)
    return with_overdue(queryset).values(*columns, OVERDUE)


def _overdue(rows: list[dict[str, Any]], as_of: datetime.date | None) -> None:
    """Set `OVERDUE` on a page's rows read without it: by the due date in memory (`timeline.is_overdue`), and for
    the few items with a recurring schedule by the one SQL rule (`timeline.with_overdue`), in one query for those
    alone. Cheaper for a page than the rule's subqueries built into the page's own query."""
    status = STATUS_AS_OF if as_of else "status"
    scheduled = [row["id"] for row in rows if row["schedule_months"]]
    late = {}
    if scheduled:
        items = Recommendation.objects.filter(pk__in=scheduled)
        items = with_overdue(with_status_on(items, as_of), as_of, status=STATUS_AS_OF) if as_of else with_overdue(items)
        late = dict(items.values_list("id", OVERDUE))
    for row in rows:
        row[OVERDUE] = late[row["id"]] if row["id"] in late else is_overdue(row["due_date"], row[status], as_of)


def recommendation_rows(
    values_rows: Iterable[dict[str, Any]], links: Links, as_of: datetime.date | None = None
) -> list[dict[str, Any]]:
    """Return list results for one page of `recommendation_values()` rows (read with or without `overdue`)."""
    rows = list(values_rows)
    if rows and OVERDUE not in rows[0]:
        _overdue(rows, as_of)
    return _complete(rows, links, as_of)


class _OrderedValues(Subquery):
    """Every value of a one-column subquery (its column named `v`), in the subquery's order, as one column of
    the outer row: an ARRAY on PostgreSQL, a JSON array on SQLite. `_as_list` reads either back."""

    template = "ARRAY(%(subquery)s)"

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite keeps the order of an ordered subquery that an aggregate reads (it never flattens one).
        template = "(SELECT json_group_array(v) FROM (%(subquery)s))"
        return self.as_sql(compiler, connection, template=template, **extra_context)


def _as_list(value: list | str | None) -> list:
    return json.loads(value) if isinstance(value, str) else list(value or [])


# A separator that no URL or slug holds: an evidence row as one text, its web address then its source's slug.
_FIELD_SEPARATOR = "\x1f"
_CSV_THEMES, _CSV_OWNERS, _CSV_EVIDENCE = "csv_themes", "csv_owners", "csv_evidence"


def iter_recommendation_rows(
    queryset: QuerySet, links: Links, as_of: datetime.date | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the list's rows for every filtered item as its CSV shows them (evidence by its link), in one
    query that reads the items through a server-side cursor with their themes, owners and evidence aggregated
    beside each row."""
    item = OuterRef("pk")
    rows = (
        recommendation_values(queryset, as_of)
        .annotate(
            **{
                _CSV_THEMES: _OrderedValues(
                    Recommendation.themes.through.objects.filter(recommendation=item)
                    .order_by(*_THEME_ORDER)
                    .values(v=F("theme__slug"))
                ),
                _CSV_OWNERS: _OrderedValues(
                    Recommendation.owners.through.objects.filter(recommendation=item)
                    .order_by(*_OWNER_ORDER)
                    .values(v=F("owner__slug"))
                ),
                _CSV_EVIDENCE: _OrderedValues(
                    Evidence.objects.filter(recommendation=item)
                    .order_by(*_EVIDENCE_ORDER)
                    .values(
                        v=Concat(
                            "url",
                            Value(_FIELD_SEPARATOR),
                            Coalesce("source__slug", Value("")),
                            output_field=TextField(),
                        )
                    )
                ),
            }
        )
        .iterator(chunk_size=STREAM_BATCH_SIZE)
    )
    for row in rows:
        evidence = []
        for packed in _as_list(row[_CSV_EVIDENCE]):
            url, source = packed.split(_FIELD_SEPARATOR)
            evidence.append(evidence_link(url, source, links))
        yield _list_result(row, _as_list(row[_CSV_THEMES]), _as_list(row[_CSV_OWNERS]), evidence, links, as_of)


def _brief(item: Recommendation, links: Links) -> dict[str, Any]:
    return {
        "code": item.code,
        "url": links.item(item.code),
        "title": item.title,
        "status": item.status,
        "source": item.source.slug,
    }


def _link_order(link: RecommendationLink) -> tuple[str, int]:
    return (link.kind, link.id)


def recommendation_detail(item: Recommendation, links: Links, as_of: datetime.date | None = None) -> dict[str, Any]:
    """Return one item (from `selectors.recommendation_story`) with its evidence, related items, parent,
    children and status history.

    With `as_of`, `status` (with its label and definition) and `status_date` are those in
    effect on that date, read from the history already loaded; the history stays whole.
    """
    history = list(item.status_changes.all())
    status, status_date = status_in_effect(history, as_of) if as_of else (item.status, item.status_date)
    evidence = list(item.evidence.all())
    last = (
        last_occurrence(source_published=item.source.published, changes=history, evidence=evidence, on=as_of)
        if item.schedule_months
        else None
    )
    outgoing = sorted((link for link in item.links if link.from_recommendation_id == item.pk), key=_link_order)
    incoming = sorted((link for link in item.links if link.to_recommendation_id == item.pk), key=_link_order)
    related = [
        {**_brief(link.to_recommendation, links), "kind": link.kind, "direction": "outgoing", **_label(link, True)}
        for link in outgoing
    ] + [
        {**_brief(link.from_recommendation, links), "kind": link.kind, "direction": "incoming", **_label(link, False)}
        for link in incoming
    ]
    return {
        "code": item.code,
        "url": links.item(item.code),
        "page_url": links.request.build_absolute_uri(item.get_absolute_url()),
        "title": item.title,
        "text": item.text,
        "editorial_note": item.editorial_note,
        "source": {
            "slug": item.source.slug,
            "title": item.source.title,
            "short_title": item.source.short_title,
            "published": item.source.published,
            "url": item.source.url,
        },
        "section": item.section,
        "level": item.level,
        "themes": [theme.slug for theme in item.themes.all()],
        "owners": [owner.slug for owner in item.owners.all()],
        "status": status,
        "status_label": str(Status(status).label),
        "status_definition": str(STATUS_DEFINITIONS[Status(status)]),
        "status_date": status_date,
        "as_of": as_of,
        "due_date": item.due_date,
        "due_date_note": item.due_date_note,
        "overdue": is_overdue(item.due_date, status, as_of, schedule_months=item.schedule_months, last_occurrence=last),
        "schedule_months": item.schedule_months,
        "schedule_note": item.schedule_note,
        "last_occurrence": last,
        "next_occurrence_due": next_occurrence_due(last, item.schedule_months),
        "priority": item.priority,
        "priority_note": item.priority_note,
        "steward": item.steward.get_username() if item.steward else None,
        "parent": {"code": item.parent.code, "url": links.item(item.parent.code), "title": item.parent.title}
        if item.parent
        else None,
        "children": [
            {"code": child.code, "url": links.item(child.code), "title": child.title, "status": child.status}
            for child in item.children.all()
        ],
        "related": related,
        "evidence": [evidence_row(e, links) for e in evidence],
        "status_history": [status_change_row_from(change, item, links) for change in history],
        "edits": [
            {
                "edited_at": edit.edited_at,
                "edited_by": edit.edited_by.get_username() if edit.edited_by else None,
                "changes": edit.changes,
                "note": edit.note,
                "version": edit.version,
            }
            for edit in item.edits.all()
        ],
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _label(link, outgoing: bool) -> dict[str, str]:
    label = RelationKind(link.kind).label if outgoing else RELATION_INVERSE_LABELS[link.kind]
    return {"label": str(label), "note": link.note}


# --- evidence and status changes -------------------------------------------


def evidence_link(url: str, source: str | None, links: Links) -> str:
    """Return where evidence can be read: its web address, or the page of the source document it cites."""
    return url or (links.source_page(source) if source else "")


def _retraction(evidence: Evidence):
    return evidence.retraction if evidence.is_retracted else None


def _source_slug(evidence: Evidence) -> str | None:
    return evidence.source.slug if evidence.source_id else None


# Each field of evidence as the API shows it, read from an Evidence (with `with_retraction()` and
# `with_link_check()` for the retraction and link-check fields).
_EVIDENCE_FIELDS = {
    "id": lambda e, links: e.id,
    "title": lambda e, links: e.title,
    "url": lambda e, links: e.url,
    "source": lambda e, links: _source_slug(e),
    "link": lambda e, links: evidence_link(e.url, _source_slug(e), links),
    "publisher": lambda e, links: e.publisher,
    "published": lambda e, links: e.published,
    "quote": lambda e, links: e.quote,
    "added_at": lambda e, links: e.added_at,
    "retracted_at": lambda e, links: r.retracted_at if (r := _retraction(e)) else None,
    "retracted_by": lambda e, links: (
        r.retracted_by.get_username() if (r := _retraction(e)) and r.retracted_by else None
    ),
    "retraction_reason": lambda e, links: r.reason if (r := _retraction(e)) else "",
    "link_status": lambda e, links: e.link_status,
    "link_checked_at": lambda e, links: check.checked_at if (check := e.checked_link) else None,
    "archived_url": lambda e, links: check.archived_url if (check := e.checked_link) else "",
}
# What a list result shows of each evidence record, and what a status change shows of the evidence it cites.
LIST_EVIDENCE_FIELDS = ("id", "title", "url", "source", "link", "published")
CHANGE_EVIDENCE_FIELDS = ("id", "title", "url", "source", "link")


def evidence_row(evidence: Evidence, links: Links, fields: Sequence[str] = tuple(EVIDENCE_COLUMNS)) -> dict[str, Any]:
    """Return one evidence record as the API shows it (`fields` of it, all by default): with its retraction if
    it has one, and the health of its web address (`models.link_status`)."""
    return {name: _EVIDENCE_FIELDS[name](evidence, links) for name in fields}


def evidence_queryset(item: Recommendation) -> QuerySet:
    """Return an item's evidence, oldest first, ready for `evidence_row`."""
    return Evidence.objects.filter(recommendation=item).with_retraction().with_link_check().order_by("published", "id")


def _entry_kind(from_status: str, to_status: str, effective_date: datetime.date) -> dict[str, str]:
    """Return whether a log entry is a change or a reassessment, and how it reads (`log_wording`)."""
    return {
        "kind": log_wording.entry_kind(from_status, to_status),
        "summary": log_wording.entry_summary(from_status, to_status, effective_date),
    }


def status_change_row_from(change: StatusChange, item: Recommendation, links: Links) -> dict[str, Any]:
    """Return one status change of a known item as the API shows it."""
    evidence = change.evidence
    return {
        "id": change.id,
        "recommendation": item.code,
        "recommendation_url": links.item(item.code),
        "from_status": change.from_status,
        "to_status": change.to_status,
        **_entry_kind(change.from_status, change.to_status, change.effective_date),
        "note": change.note,
        "effective_date": change.effective_date,
        "recorded_at": change.recorded_at,
        "recorded_by": change.recorded_by.get_username() if change.recorded_by else None,
        "evidence": None if evidence is None else evidence_row(evidence, links, CHANGE_EVIDENCE_FIELDS),
    }


_CHANGE_VALUES = (
    "id",
    "recommendation__code",
    "from_status",
    "to_status",
    "note",
    "effective_date",
    "recorded_at",
    "recorded_by__username",
    "evidence_id",
    "evidence__title",
    "evidence__url",
    "evidence__source__slug",
)


def status_change_values(queryset: QuerySet) -> QuerySet:
    """Return status changes as the `.values()` rows that `status_change_rows` turns into results."""
    return queryset.values(*_CHANGE_VALUES)


def status_change_rows(values_rows: Iterable[dict[str, Any]], links: Links) -> Iterator[dict[str, Any]]:
    """Yield status changes as the API shows them, from `status_change_values()` rows."""
    for row in values_rows:
        source = row["evidence__source__slug"]
        url = row["evidence__url"]
        yield {
            "id": row["id"],
            "recommendation": row["recommendation__code"],
            "recommendation_url": links.item(row["recommendation__code"]),
            "from_status": row["from_status"],
            "to_status": row["to_status"],
            **_entry_kind(row["from_status"], row["to_status"], row["effective_date"]),
            "note": row["note"],
            "effective_date": row["effective_date"],
            "recorded_at": row["recorded_at"],
            "recorded_by": row["recorded_by__username"],
            "evidence": None
            if row["evidence_id"] is None
            else {
                "id": row["evidence_id"],
                "title": row["evidence__title"],
                "url": url,
                "source": source,
                "link": evidence_link(url, source, links),
            },
        }


def change_feed() -> QuerySet:
    """Return every status change of every item, oldest recorded first: the order a syncing script reads."""
    return StatusChange.objects.in_feed_order()


# --- vocabularies ----------------------------------------------------------


def theme_rows(links: Links) -> list[dict[str, Any]]:
    """Return every theme with its number of items."""
    return [
        {**row, "items": links.items("theme", row["slug"])}
        for row in Theme.objects.annotate(item_count=Count("recommendations"))
        .order_by("position", "name")
        .values("slug", "name", "description", "position", "item_count")
    ]


def owner_rows(links: Links) -> list[dict[str, Any]]:
    """Return every owner with its former names and number of items."""
    return [
        {**row, "items": links.items("owner", row["slug"])}
        for row in Owner.objects.annotate(item_count=Count("recommendations"))
        .order_by("country", "name")
        .values("slug", "name", "former_names", "country", "kind", "description", "item_count")
    ]


def source_rows(links: Links) -> list[dict[str, Any]]:
    """Return every source document (without its full text) with its number of items."""
    return [
        {**row, "page_url": links.source_page(row["slug"]), "items": links.items("source", row["slug"])}
        for row in Source.objects.annotate(item_count=Count("recommendations"))
        .order_by("published", "slug")
        .values(
            "slug",
            "title",
            "short_title",
            "authors",
            "published",
            "date_label",
            "kind",
            "url",
            "description",
            "item_count",
        )
    ]


def status_rows(links: Links) -> list[dict[str, Any]]:
    """Return the seven status codes with their labels, definitions and whether they count as closed."""
    counts = dict(Recommendation.objects.order_by().values_list("status").annotate(n=Count("id")))
    return [
        {
            "code": status.value,
            "label": str(status.label),
            "definition": str(STATUS_DEFINITIONS[status]),
            "closed": status in CLOSED_STATUSES,
            "item_count": counts.get(status.value, 0),
            "items": links.items("status", status.value),
        }
        for status in Status
    ]
