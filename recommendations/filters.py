"""The one FilterSet: the reviewer pages and the API take the same query parameters through it,
so a reviewer's URL and a script's URL select the same items.

Parameters (repeat one for OR; different ones combine with AND):
    source, theme, owner   slugs
    status, level          codes
    parent                 the parent item's code
    search                 words in the title, quoted text or link notes, or an item's code, in web-search
                           syntax ("a phrase", or, -word); whole words with English stemming, best match
                           first, the same on SQLite and PostgreSQL (see recommendations.search)
    updated_since          ISO 8601 date or date-time
    as_of                  a date (YYYY-MM-DD, not in the future): every item's status is read as it stood on
                           that day, from the status log; `status`, `overdue` and the orderings by status and
                           status date then use that status
    overdue                true or false: overdue by its due date or its recurring schedule (the rule of
                           `recommendations.timeline`), today or with `as_of` on that date
    due_before, due_after  a date (YYYY-MM-DD): due on or before, on or after it (items without a due date are
                           left out)
    priority               true or false: flagged by analysts as a priority
    code                   item codes: just those items (an unknown code is refused, by name)
    ordering               reading (default), code, status, status_date, updated_at, due_date; prefix - to reverse;
                           comma-separated, each term once (an empty or repeated term is refused)

Many-to-many filters use EXISTS subqueries, never a join with DISTINCT, so
counts and pages stay cheap on a large corpus. With `as_of`, the status on
that date is read by the rules of `recommendations.timeline`, from the status
periods that the status-change service keeps.
"""

from __future__ import annotations

import datetime
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.forms.utils import ErrorDict, ErrorList
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from django_filters.fields import BaseCSVField

from recommendations.models import (
    READING_ORDER,
    FacetEntry,
    FacetPair,
    Owner,
    Recommendation,
    Source,
    StatusChange,
    Theme,
)
from recommendations.search import search_recommendations
from recommendations.search_syntax import validate_search
from recommendations.timeline import STATUS_AS_OF, STATUS_DATE_AS_OF, overdue_q, status_on_in, with_status_on
from recommendations.vocabulary import Level, Status

# The filters' messages, translated when shown (the page's language, or the API request's Accept-Language).
ERROR_NUL = _("Remove the NUL character (%00) from this parameter.")
ERROR_BAD_DATETIME = _("Enter an ISO 8601 date (2018-06-01) or date-time (2018-06-01T12:00:00Z).")
# An unknown slug or code, for each kind of value (whole sentences: French and Japanese words change with
# the noun). The caller's values and the known ones are parameters of the message, never part of it.
ERROR_UNKNOWN_SLUGS = {
    "source": _("Unknown source: %(values)s. Use one of: %(known)s."),
    "theme": _("Unknown theme: %(values)s. Use one of: %(known)s."),
    "owner": _("Unknown owner: %(values)s. Use one of: %(known)s."),
    "parent item": _("Unknown parent item: %(values)s. Use one of: %(known)s."),
    "item code": _("Unknown item code: %(values)s. Use one of: %(known)s."),
}
ERROR_AS_OF_FORMAT = _("Enter a date as YYYY-MM-DD, e.g. 2018-06-01.")
ERROR_AS_OF_FUTURE = _("Enter today's date or an earlier one: no status is known after today.")
ERROR_DATE_FORMAT = _("Enter a date as YYYY-MM-DD, e.g. 2000-03-31.")
ERROR_BOOLEAN = _("Enter true or false.")
ERROR_ORDERING_EMPTY = _("Remove the empty sort term: give names separated by single commas, e.g. status,-status_date.")
ERROR_ORDERING_REPEATED = _("Give each sort term once: %(terms)s is repeated.")

ORDERING_FIELDS = {
    # parameter value: (model ordering, label)
    "reading": (READING_ORDER, _("Document order")),
    "code": (("code",), _("Code")),
    "status": (("status", "code"), _("Status")),
    "status_date": (("status_date", "code"), _("Status date")),
    "updated_at": (("updated_at", "id"), _("Last updated")),
    "due_date": (("due_date", "code"), _("Due date")),
}
# With `as_of`, these orderings use the status (and its date) in effect on that date.
AS_OF_ORDERING_FIELDS = {
    "status": (STATUS_AS_OF, "code"),
    "status_date": (STATUS_DATE_AS_OF, "code"),
}


class IsoDateOrDateTimeField(forms.Field):
    """Accepts 2018-06-01 (midnight UTC) or a full ISO 8601 date-time; returns an aware datetime."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = value.strip()
        parsed = None
        try:
            parsed = parse_datetime(value.replace(" ", "+")) or parse_date(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(ERROR_BAD_DATETIME, code="invalid")
        if isinstance(parsed, datetime.datetime):
            parsed = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, datetime.UTC)
        else:
            parsed = datetime.datetime.combine(parsed, datetime.time.min, tzinfo=datetime.UTC)
        try:
            # The database compares in UTC: a moment that has no UTC date-time (year 0 or 10000) is refused here.
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise ValidationError(ERROR_BAD_DATETIME, code="invalid") from None


class IsoDateOrDateTimeFilter(django_filters.Filter):
    field_class = IsoDateOrDateTimeField


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CalendarDateField(forms.Field):
    """A calendar date written YYYY-MM-DD, nothing else; empty means not given."""

    format_message = ERROR_DATE_FORMAT

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = str(value).strip()
        if not _ISO_DATE.match(value):
            raise ValidationError(self.format_message, code="invalid")
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(self.format_message, code="invalid") from None


class CalendarDateFilter(django_filters.Filter):
    field_class = CalendarDateField


class AsOfDateField(CalendarDateField):
    """A calendar date written YYYY-MM-DD, today or earlier; empty means today's statuses."""

    format_message = ERROR_AS_OF_FORMAT

    def validate(self, value):
        super().validate(value)
        if value is not None and value > timezone.localdate():
            raise ValidationError(ERROR_AS_OF_FUTURE, code="future")


def parse_as_of(value: str | None) -> tuple[datetime.date | None, list[str]]:
    """Return the date an `as_of` parameter gives (None when absent or empty) and the errors, if any.

    For the pages and endpoints of one item, which take `as_of` without the rest of the FilterSet.
    """
    try:
        return AsOfDateField(required=False).clean(value), []
    except ValidationError as exc:
        return None, list(exc.messages)


class AsOfFilter(django_filters.Filter):
    """`as_of`: selects nothing by itself; it adds each item's status as of the date, for the other filters to use."""

    field_class = AsOfDateField

    def filter(self, qs: QuerySet, value):
        return with_status_on(qs, value) if value else qs


class TrueFalseField(forms.Field):
    """`true` or `false` (also `1` or `0`), exactly as the API schema lists them; empty means not given;
    anything else is refused.

    Django's own boolean fields would read an unknown value as "not given" and filter nothing, silently.
    """

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.VALUES[str(value)]
        except KeyError:
            raise ValidationError(ERROR_BOOLEAN, code="invalid") from None


class TrueFalseFilter(django_filters.Filter):
    """A yes-or-no filter on a boolean column: `true` keeps the items where it is set, `false` the others."""

    field_class = TrueFalseField

    def filter(self, qs: QuerySet, value):
        if value is None:
            return qs
        return qs.filter(**{self.field_name: value})


class OverdueFilter(django_filters.Filter):
    """`overdue`: by the one overdue rule (`timeline.overdue_q`), today, or with `as_of` on that date with the
    status then in effect, as the pages show "overdue then"."""

    field_class = TrueFalseField

    def filter(self, qs: QuerySet, value):
        if value is None:
            return qs
        parent = getattr(self, "parent", None)
        as_of = parent.as_of_date if parent is not None else None
        if as_of:
            qs, condition = with_status_on(qs, as_of), overdue_q(as_of, status=STATUS_AS_OF)
        else:
            condition = overdue_q()
        return qs.filter(condition if value else ~condition)


class StatusFilter(django_filters.MultipleChoiceFilter):
    """`status`: the current status, or with `as_of` the status in effect on that date.

    A plain `IN` on the item's own column, or with `as_of` a semi-join with the status
    periods in effect (`timeline.status_on_in`): no join of the items, so no DISTINCT.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("distinct", False)
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet, value):
        if not value:
            return qs
        parent = getattr(self, "parent", None)
        as_of = parent.as_of_date if parent is not None else None
        if as_of:
            return with_status_on(qs, as_of).filter(status_on_in(value, as_of))
        return qs.filter(status__in=value)


class SlugsField(forms.Field):
    """A repeated parameter of slugs (or codes), checked against the known values."""

    widget = forms.SelectMultiple

    def __init__(self, *, model, to_field: str, what: str, **kwargs) -> None:
        self.model, self.to_field, self.what = model, to_field, what
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return []
        values = [value] if isinstance(value, str) else list(value)
        return list(dict.fromkeys(v.strip() for v in values if v.strip()))

    def validate(self, value):
        super().validate(value)
        if not value:
            return
        found = set(self.model.objects.filter(**{f"{self.to_field}__in": value}).values_list(self.to_field, flat=True))
        missing = [v for v in value if v not in found]
        if missing:
            known = self.model.objects.order_by(self.to_field).values_list(self.to_field, flat=True)[:50]
            # The caller's values go in as parameters, never into the message itself: a "%" in a
            # value must not be read as a format directive by whoever renders the error.
            raise ValidationError(
                ERROR_UNKNOWN_SLUGS[self.what],
                code="invalid_choice",
                params={"values": ", ".join(missing), "known": ", ".join(known)},
            )


class RelatedExistsFilter(django_filters.Filter):
    """Items with at least one of the given related objects, by an EXISTS subquery (no DISTINCT)."""

    field_class = SlugsField

    def __init__(self, *, through_field: str, related_model, to_field: str = "slug", what: str, **kwargs) -> None:
        self.through_field = through_field  # e.g. "themes"
        super().__init__(model=related_model, to_field=to_field, what=what, **kwargs)

    def filter(self, qs: QuerySet, value):
        if not value:
            return qs
        through = getattr(Recommendation, self.through_field).through
        own = f"{Recommendation._meta.model_name}_id"
        other = f"{self.extra['model']._meta.model_name}_id"
        related_ids = self.extra["model"].objects.filter(**{f"{self.extra['to_field']}__in": value}).values("pk")
        return qs.filter(Exists(through.objects.filter(**{own: OuterRef("pk"), f"{other}__in": related_ids})))


class CodesFilter(django_filters.Filter):
    """A foreign key given by slug or code; repeat for OR."""

    field_class = SlugsField

    def __init__(self, *, field_name: str, related_model, to_field: str, what: str, **kwargs) -> None:
        super().__init__(field_name=field_name, model=related_model, to_field=to_field, what=what, **kwargs)

    def filter(self, qs: QuerySet, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__{self.extra['to_field']}__in": value})


class ItemCodesFilter(django_filters.Filter):
    """`code`: items by their codes (repeat for several); an unknown code is refused by name.

    `field_name` is the item's code column as seen from the filtered rows (`code`, or
    `recommendation__code` for status changes); the rows are matched by the items' ids.
    """

    field_class = SlugsField

    def __init__(self, *, field_name: str = "code", **kwargs) -> None:
        kwargs.setdefault("label", _("Item code"))
        super().__init__(field_name=field_name, model=Recommendation, to_field="code", what="item code", **kwargs)

    def filter(self, qs: QuerySet, value):
        if not value:
            return qs
        if self.field_name == "code":
            return qs.filter(code__in=value)
        item = self.field_name.removesuffix("__code")
        return qs.filter(**{f"{item}_id__in": Recommendation.objects.filter(code__in=value).values("pk")})


class OrderingCSVField(BaseCSVField):
    """The comma-separated sort terms: each a known one (checked by the choice field), none empty, none twice."""

    def clean(self, value):
        terms = super().clean(value)
        if not terms:
            return terms
        if any(term in self.empty_values for term in terms):
            raise ValidationError(ERROR_ORDERING_EMPTY, code="empty_term")
        repeated = list(dict.fromkeys(term for term in terms if terms.count(term) > 1))
        if repeated:
            raise ValidationError(ERROR_ORDERING_REPEATED, code="repeated_term", params={"terms": ", ".join(repeated)})
        return terms


class ReadingOrderingFilter(django_filters.OrderingFilter):
    """`ordering` by the public names above; `-name` reverses; the default is document order."""

    base_field_class = OrderingCSVField

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("fields", {name: name for name in ORDERING_FIELDS})
        kwargs.setdefault("field_labels", {name: label for name, (_, label) in ORDERING_FIELDS.items()})
        super().__init__(**kwargs)

    def get_ordering_value(self, param, *, as_of: bool = False):
        descending = param.startswith("-")
        name = param.lstrip("-")
        columns = AS_OF_ORDERING_FIELDS[name] if as_of and name in AS_OF_ORDERING_FIELDS else ORDERING_FIELDS[name][0]
        return [f"-{c}" for c in columns] if descending else list(columns)

    def filter(self, qs, value):
        if value in ([], (), {}, "", None):
            return qs
        parent = getattr(self, "parent", None)
        as_of = parent.as_of_date if parent is not None else None
        if as_of and any(param.lstrip("-") in AS_OF_ORDERING_FIELDS for param in value):
            qs = with_status_on(qs, as_of)
        return qs.order_by(
            *[column for param in value for column in self.get_ordering_value(param, as_of=as_of is not None)]
        )


class NulSafeFilterSet(django_filters.FilterSet):
    """A FilterSet that refuses a NUL byte in any parameter, by name, before it can reach the database.

    `errors` is a form ErrorDict (`{parameter: [messages]}`), so DRF's filter backend can
    turn it into a 400 and templates can show each message beside its filter.
    """

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None) -> None:
        self.nul_errors: dict[str, list[str]] = {}
        if data is not None:
            data = data.copy()
            for key in list(data.keys()):
                values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
                if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
                    self.nul_errors[key.replace("\x00", "")] = [ERROR_NUL]
                    del data[key]
        super().__init__(data, queryset, request=request, prefix=prefix)

    def is_valid(self) -> bool:
        return not self.nul_errors and super().is_valid()

    @property
    def errors(self) -> ErrorDict:
        errors = ErrorDict(super().errors)
        for key, messages in self.nul_errors.items():
            # The message has a literal "%00": passed as a parameter, so that both Django's and
            # django-filter's renderings (which %-format the message) show it as written.
            errors[key] = ErrorList(
                [
                    ValidationError(
                        message.replace("%00", "%(nul)s"), code="null_characters_not_allowed", params={"nul": "%00"}
                    )
                    for message in messages
                ]
            )
        return errors


# The filters that facet entries answer (name: the entry kind that holds it, or None for the item's column
# copied on every entry; the model whose slugs name the values, if any).
FACET_ENTRY_FILTERS = {
    "theme": (FacetEntry.THEME, Theme),
    "owner": (FacetEntry.OWNER, Owner),
    "status": (None, None),
    "source": (None, Source),
    "level": (None, None),
}


class RecommendationFilterSet(NulSafeFilterSet):
    """Filters, search and ordering shared by the reviewer pages and the API."""

    source = CodesFilter(field_name="source", related_model=Source, to_field="slug", what="source", label=_("Source"))
    theme = RelatedExistsFilter(through_field="themes", related_model=Theme, what="theme", label=_("Theme"))
    owner = RelatedExistsFilter(through_field="owners", related_model=Owner, what="owner", label=_("Owner"))
    status = StatusFilter(choices=Status.choices, label=_("Status"))
    # The item's own column: no join, so no DISTINCT (django-filter's default for multiple choices).
    level = django_filters.MultipleChoiceFilter(choices=Level.choices, distinct=False, label=_("Level"))
    parent = CodesFilter(
        field_name="parent", related_model=Recommendation, to_field="code", what="parent item", label=_("Parent item")
    )
    search = django_filters.CharFilter(method="filter_search", label=_("Search"), validators=[validate_search])
    updated_since = IsoDateOrDateTimeFilter(field_name="updated_at", lookup_expr="gte", label=_("Updated since"))
    as_of = AsOfFilter(
        label=_("Status as of"),
        help_text=_("A date (YYYY-MM-DD, not in the future): show each item's status as it stood on that day."),
    )
    overdue = OverdueFilter(
        label=_("Overdue"),
        help_text=_("true or false: past its due date and not closed, or late on its recurring schedule."),
    )
    due_before = CalendarDateFilter(field_name="due_date", lookup_expr="lte", label=_("Due on or before"))
    due_after = CalendarDateFilter(field_name="due_date", lookup_expr="gte", label=_("Due on or after"))
    priority = TrueFalseFilter(field_name="priority", label=_("Priority"))
    code = ItemCodesFilter()
    ordering = ReadingOrderingFilter(label=_("Order by"))

    class Meta:
        model = Recommendation
        fields = [
            "source",
            "theme",
            "owner",
            "status",
            "level",
            "parent",
            "search",
            "updated_since",
            "as_of",
            "overdue",
            "due_before",
            "due_after",
            "priority",
            "code",
        ]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None) -> None:
        if queryset is None:
            queryset = Recommendation.objects.all()
        super().__init__(data, queryset, request=request, prefix=prefix)

    @property
    def qs(self) -> QuerySet:
        qs = super().qs
        cleaned = getattr(self.form, "cleaned_data", {})
        # Without an explicit ordering, search results come best match first, other lists in reading order.
        if not cleaned.get("ordering") and not cleaned.get("search"):
            qs = qs.order_by(*ORDERING_FIELDS["reading"][0])
        return qs

    def chosen(self, *, exclude: str | None = None) -> dict:
        """Return the valid filters given (name: cleaned value), the empty ones and `exclude` left out."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: value
            for name, value in self.form.cleaned_data.items()
            if name != exclude and value not in (None, "", [], ())
        }

    def in_reading_order(self) -> bool:
        """Return True when the items come in reading order: no ordering but the default, and no search."""
        chosen = self.chosen()
        return "search" not in chosen and chosen.get("ordering", ["reading"]) == ["reading"]

    def facet_entries(self, kind: int | None = None, *, exclude: str | None = None) -> QuerySet | None:
        """Return the facet entries that stand for the matching items, or None when the filters given need the
        items' own rows.

        Entries carry the item's theme or owner, status, document and level (`FacetEntry`), so these
        filters (all but `exclude`) can be answered from them alone, from one narrow index; with `as_of`,
        the status is the one in effect then, by a semi-join with the status periods. With
        `kind` (`FacetEntry.THEME` or `OWNER`), every entry of that kind of the matching items: one per
        item and theme (or owner), for that facet's counts, with the theme or owner id as `value` (from
        the pairs, `FacetPair`, when one owner or theme is chosen). Without, one entry per matching
        item, of the one theme (or owner) chosen; None when no single theme or owner is chosen.
        """
        chosen = self.chosen(exclude=exclude)
        chosen.pop("ordering", None)
        as_of = chosen.pop("as_of", None)
        if not self.is_valid() or set(chosen) - set(FACET_ENTRY_FILTERS):
            return None
        facet = kind is not None
        if not facet:
            single = next((name for name in ("theme", "owner") if len(chosen.get(name, ())) == 1), None)
            if single is None:
                return None
            kind = FACET_ENTRY_FILTERS[single][0]
        name_of_kind = next(name for name, (k, _) in FACET_ENTRY_FILTERS.items() if k == kind)
        other = "owner" if name_of_kind == "theme" else "theme"
        if facet and len(chosen.get(other, ())) == 1:
            # The owners of one theme's items (or the themes of one owner's): from the pairs' index alone.
            entries, columns = FacetPair.objects.annotate(value=F(name_of_kind)), {"theme": "theme", "owner": "owner"}
        else:
            entries, columns = FacetEntry.objects.filter(kind=kind), {name_of_kind: "value"}
        for name, values in chosen.items():
            entry_kind, model = FACET_ENTRY_FILTERS[name]
            if name == "status" and as_of:
                # The status on that date, from the status periods in effect (the rule of `timeline`).
                entries = entries.filter(status_on_in(values, as_of, item="recommendation_id"))
            elif model is None:
                entries = entries.filter(**{f"{name}__in": values})  # the item's own column, copied on each row
            else:
                # By subquery, not a look-up first; one value as a scalar, so the index serves its reading order.
                slugs = model.objects.filter(slug__in=values).values("pk")
                lookup, ids = ("", Subquery(slugs[:1])) if len(values) == 1 else ("__in", slugs)
                if entry_kind is None or name in columns:
                    entries = entries.filter(**{f"{columns.get(name, name)}{lookup}": ids})
                else:
                    others = FacetEntry.objects.filter(kind=entry_kind, **{f"value{lookup}": ids})
                    entries = entries.filter(recommendation_id__in=others.values("recommendation_id"))
        return entries

    @property
    def as_of_date(self) -> datetime.date | None:
        """Return the valid `as_of` date given, or None (absent, empty or refused)."""
        if not self.is_bound:
            return None
        self.form.errors  # noqa: B018 -- validates the form once, so that cleaned_data exists
        return self.form.cleaned_data.get("as_of")

    def filter_search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # The page, its count and its facets run the same search: its words are looked up once.
        forms = self.__dict__.setdefault("_search_forms", {})
        return search_recommendations(qs, value, rank=not self.data.get("ordering"), forms=forms)


class StatusChangeFeedFilterSet(NulSafeFilterSet):
    """The change feed's filters (the API's and the site's Atom feeds): `since`, changes recorded at or after a
    moment (date or date-time), and `code`, the changes of just these items."""

    since = IsoDateOrDateTimeFilter(field_name="recorded_at", lookup_expr="gte", label=_("Recorded since"))
    code = ItemCodesFilter(field_name="recommendation__code")

    class Meta:
        model = StatusChange
        fields = ["since", "code"]
