"""The analysts' workspace: the Django admin, obeying the same services as the API.

Status is never edited as a field. It changes through the "Record a status
change" page (one item) or the bulk action (many items), both of which call
`services.recommendation_change_status`; recording the status an item already
has is a reassessment ("still In progress, reviewed on …"). The status log,
the evidence and the edit history are shown read-only.

A refusal never loses the analyst's work and never passes for a save: the page
shows what is saved now beside what the analyst entered, says why (for a bulk
change, for every refused item), and offers to apply the same input again
against the version now saved, checked again by the service.
"""

from __future__ import annotations

import datetime
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from recommendations import log_wording
from recommendations.forms import (
    ERROR_EVIDENCE_URL_INVALID,
    HELP_DATE_IF_KNOWN,
    STALE_CODE,
    EvidenceRetractionForm,
    RecommendationAdminForm,
    StatusChangeForm,
    iso_date_field,
    links_signature,
)
from recommendations.models import (
    READING_ORDER,
    Evidence,
    Owner,
    Recommendation,
    RecommendationEdit,
    RecommendationLink,
    Source,
    StatusChange,
    Theme,
)
from recommendations.selectors import edit_rows
from recommendations.services import (
    LinkSpec,
    StaleVersionError,
    evidence_create,
    evidence_retract,
    recommendation_update,
)
from recommendations.timeline import overdue_q
from recommendations.translation import (
    LANGUAGE_NAMES_IN_TEXT,
    OTHER_LANGUAGES,
    column,
    translated_fields,
    translation_columns,
    with_translations,
    words,
)
from recommendations.vocabulary import LinkStatus, Status

# The item's title and notes in the other languages: a fieldset of their own for each language.
TRANSLATION_COLUMNS = frozenset(translation_columns(Recommendation))

STALE_AFTER_DAYS = 365
# Web addresses typed without a scheme are taken as https.
URL_FIELD_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}


class HasEvidenceFilter(admin.SimpleListFilter):
    title = _("evidence")
    parameter_name = "has_evidence"

    def lookups(self, request, model_admin):
        return [("yes", _("Has evidence")), ("no", _("No evidence"))]

    def queryset(self, request, queryset):
        has = Exists(Evidence.objects.filter(recommendation=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(has)
        if self.value() == "no":
            return queryset.filter(~has)
        return queryset


class FreshnessFilter(admin.SimpleListFilter):
    """What needs an analyst's attention: never assessed, or not re-assessed for a year."""

    title = _("freshness")
    parameter_name = "freshness"

    def lookups(self, request, model_admin):
        return [
            ("never", _("Never assessed")),
            (
                "stale",
                ngettext("Status older than %(days)s day", "Status older than %(days)s days", STALE_AFTER_DAYS)
                % {"days": STALE_AFTER_DAYS},
            ),
            ("overdue", _("Overdue (past due date, not closed)")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "never":
            return queryset.filter(status=Status.NOT_ASSESSED)
        if self.value() == "stale":
            cutoff = timezone.localdate() - datetime.timedelta(days=STALE_AFTER_DAYS)
            return queryset.filter(status_date__lt=cutoff)
        if self.value() == "overdue":
            return queryset.filter(overdue_q())
        return queryset


class LinkStatusFilter(admin.SimpleListFilter):
    """Evidence by the health of its web address, as the last link check found it (see `check_evidence_links`)."""

    title = _("link status")
    parameter_name = "link_status"

    def lookups(self, request, model_admin):
        return LinkStatus.choices

    def queryset(self, request, queryset):
        if self.value() in LinkStatus.values:
            return queryset.with_link_status(self.value())
        return queryset


# --- how parts of the record read on the item's page ---------------------------------------------


def _day(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment).date(), "DATE_FORMAT")


def _checked(check) -> str:
    return gettext("checked %(date)s") % {"date": _day(check.checked_at)}


def link_health_summary(evidence: Evidence):
    """Return what the last check of the evidence's web address found; for a dead link, since when, and
    the archive's address for a copy."""
    if not evidence.url:
        return "—"
    check = evidence.checked_link
    if check is None:
        return LinkStatus.UNCHECKED.label
    if check.is_dead:
        return format_html(
            '<strong class="tracker-link-dead">{}</strong> ({}{}; {}) · <a href="{}" rel="noopener">{}</a>',
            gettext("Link dead since %(date)s") % {"date": _day(check.dead_since)},
            check.get_outcome_display(),
            f", {check.detail}" if check.detail else "",
            _checked(check),
            check.archived_url,
            gettext("archived copy"),
        )
    if check.status == LinkStatus.FAILING:
        failures = check.consecutive_failures
        return format_html(
            "<strong>{}</strong>: {}{} ({}; {})",
            pgettext("link status", "Failing"),
            check.get_outcome_display(),
            f", {check.detail}" if check.detail else "",
            ngettext("%(count)s failed check in a row", "%(count)s failed checks in a row", failures)
            % {"count": failures},
            _checked(check),
        )
    if check.status == LinkStatus.REDIRECTED:
        return format_html(
            "{} ({})", gettext("Redirected to %(address)s") % {"address": check.final_url}, _checked(check)
        )
    return format_html("{} ({})", pgettext("link status", "OK"), _checked(check))


def retraction_summary(evidence: Evidence):
    """Return who retracted the evidence, when and why; or a link to retract it."""
    if evidence.is_retracted:
        r = evidence.retraction
        return format_html(
            gettext("<strong>Retracted</strong> {date} by {person}: {reason}"),
            date=_day(r.retracted_at),
            person=r.retracted_by or gettext("the tracker"),
            reason=r.reason,
        )
    url = reverse("admin:recommendations_evidence_retract", args=[evidence.pk])
    label = format_html(gettext('Retract<span class="visually-hidden"> “{title}”</span>…'), title=evidence.title)
    return format_html('<a href="{}">{}</a>', url, label)


def owner_abbreviation(name: str) -> str:
    """Return a short form of an owner's name for one-line lists: its own acronym where it gives one
    ("Ministry of Foreign Affairs of Japan (MOFA)" → MOFA), a short name as it is ("CSCAP Japan"),
    else the initials of its words ("Department of National Defence" → DND)."""
    own = re.search(r"\(([A-Z][A-Za-z]+)\)", name)
    if own and own.group(1) not in _PLACE_NAMES:
        return own.group(1)
    base = re.sub(r"\s*\([^)]*\)", "", name).strip()
    if len(base) <= 14:
        return base
    words = [w for w in re.split(r"[\s\-–]+", base) if w and w.lower() not in _MINOR_WORDS]
    return "".join(w if w.isupper() else w[0].upper() for w in words)


def source_abbreviation(source: Source) -> str:
    """Return a document's short title in initials and year, as item codes cite it ("Job & Nishihara 1997" →
    "JN 1997")."""
    words = source.short_title.split()
    year = words.pop() if words and words[-1].isdigit() else ""
    initials = "".join(w[0] for w in words if w[:1].isupper())
    return f"{initials} {year}".strip() or source.short_title


_PLACE_NAMES = {"Canada", "Japan"}
_MINOR_WORDS = {"of", "and", "the", "for", "in", "on", "his", "her", "its"}
OWNERS_SHOWN = 3


class AddEvidenceInline(admin.StackedInline):
    """Blank fields for adding evidence, each with its label; saved through `services.evidence_create`."""

    formfield_overrides = URL_FIELD_OVERRIDES

    model = Evidence
    fields = ["url", "title", "publisher", "published", "quote"]
    extra = 1
    can_delete = False
    verbose_name = _("new evidence")
    verbose_name_plural = _("add evidence")

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["error_messages"] = {"invalid": ERROR_EVIDENCE_URL_INVALID}
        if db_field.name == "published":
            return iso_date_field(
                _("Date"),
                invalid=_("Enter the date as YYYY-MM-DD, e.g. 2024-05-01."),
                required=False,
                help_text=HELP_DATE_IF_KNOWN,
            )
        if db_field.name == "quote":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class LinkOutInline(admin.StackedInline):
    model = RecommendationLink
    fk_name = "from_recommendation"
    fields = ["kind", "to_recommendation", "note"]
    autocomplete_fields = ["to_recommendation"]
    extra = 0
    verbose_name_plural = _("links to earlier or related items")


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    form = RecommendationAdminForm
    list_display = ["code", "title_line", "status_badge", "status_day", "owner_names", "source_name"]
    list_display_links = ["code", "title_line"]
    list_filter = ["status", "themes", "source", "owners", "level", HasEvidenceFilter, FreshnessFilter]
    search_fields = ["code", *with_translations(Recommendation, "title"), "text"]
    # A page an analyst can scan; the rest is a click (or "Show all") away.
    list_per_page = 25
    list_max_show_all = 500
    ordering = list(READING_ORDER)
    actions = ["record_status_change"]
    readonly_fields = [
        "code",
        "source",
        "place_in_document",
        "parent",
        "quoted_text",
        "current_status",
        "status_log",
        "evidence_recorded",
        "edit_log",
        "version",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["code", "source", "place_in_document", "parent", "quoted_text"]}),
        (_("Status"), {"fields": ["current_status", "status_log"]}),
        (_("Tracking"), {"fields": [f for f in RecommendationAdminForm.Meta.fields if f not in TRANSLATION_COLUMNS]}),
        *[
            (
                format_lazy(_("Its title and notes in {language}"), language=LANGUAGE_NAMES_IN_TEXT[language]),
                {"fields": [column(name, language) for name in translated_fields(Recommendation)]},
            )
            for language in OTHER_LANGUAGES
        ],
        (_("Edit history (append-only)"), {"fields": ["edit_log"], "classes": ["collapse"]}),
        (
            pgettext_lazy("the item's stored record", "Record"),
            {
                "fields": ["version", "updated_at", "loaded_version", "loaded_links", "loaded_at"],
                "classes": ["collapse"],
            },
        ),
        (
            _("Evidence recorded (append-only: retract a wrong link, then add the right one below)"),
            {"fields": ["evidence_recorded"]},
        ),
    ]
    inlines = [AddEvidenceInline, LinkOutInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source").prefetch_related("owners")

    def has_add_permission(self, request):
        # Items come from the source documents, through the seed.
        return False

    def has_delete_permission(self, request, obj=None):
        # An item with a history is never deleted; codes are never reused.
        return False

    # --- the list: one line per item ---------------------------------------------------
    @admin.display(description=_("title"), ordering="title")
    def title_line(self, obj):
        shown = words(obj, "title").text
        return format_html('<span class="tracker-oneline" title="{}">{}</span>', shown, shown)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="tracker-status tracker-status--{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description=_("status date"), ordering="status_date")
    def status_day(self, obj):
        return date_format(obj.status_date, "SHORT_DATE_FORMAT") if obj.status_date else "—"

    @admin.display(description=_("owners"))
    def owner_names(self, obj):
        owners = list(obj.owners.all())
        if not owners:
            return "—"
        shown = format_html_join(
            ", ",
            '<abbr title="{}">{}</abbr>',
            ((words(o, "name").text, owner_abbreviation(o.name)) for o in owners[:OWNERS_SHOWN]),
        )
        more = len(owners) - OWNERS_SHOWN
        if more > 0:
            rest = "; ".join(words(o, "name").text for o in owners[OWNERS_SHOWN:])
            return format_html('{} <abbr class="tracker-more" title="{}">+{}</abbr>', shown, rest, more)
        return shown

    @admin.display(description=_("source"), ordering="source__published")
    def source_name(self, obj):
        return format_html('<abbr title="{}">{}</abbr>', obj.source.short_title, source_abbreviation(obj.source))

    # --- the item's page ---------------------------------------------------------------
    @admin.display(description=_("section"))
    def place_in_document(self, obj):
        # The document's own headings, in its language.
        return format_html('<span lang="en">{}</span>', obj.section)

    @admin.display(description=_("quoted text"))
    def quoted_text(self, obj):
        # Only the quote, which never changes here: the editorial note is an editable field below, shown as
        # saved there (a refused edit never appears in this block).
        return format_html('<blockquote class="tracker-quote" lang="en">{}</blockquote>', obj.text)

    @admin.display(description=_("current status"))
    def current_status(self, obj):
        if not obj.pk:
            return "—"
        stored = Recommendation.objects.only("status", "status_date").get(pk=obj.pk)
        can_record = getattr(obj, "_can_record_status", False)
        return render_to_string(
            "admin/recommendations/recommendation/_current_status.html",
            {
                "item": stored,
                "definition": stored.status_definition,
                "record_url": reverse("admin:recommendations_recommendation_change_status", args=[obj.pk])
                if can_record
                else "",
            },
        )

    @admin.display(description=_("status log"))
    def status_log(self, obj):
        if not obj.pk:
            return "—"
        changes = obj.status_changes.select_related("recorded_by", "evidence").order_by("-effective_date", "-id")
        return render_to_string("admin/recommendations/recommendation/_status_log.html", {"changes": changes})

    @admin.display(description=_("evidence"))
    def evidence_recorded(self, obj):
        if not obj.pk:
            return "—"
        evidence = (
            Evidence.objects.filter(recommendation_id=obj.pk)
            .with_retraction()
            .with_link_check()
            .select_related("added_by")
            .order_by("published", "id")
        )
        rows = [(e, link_health_summary(e), retraction_summary(e)) for e in evidence]
        return render_to_string("admin/recommendations/recommendation/_evidence_list.html", {"rows": rows})

    @admin.display(description=_("edits"))
    def edit_log(self, obj):
        if not obj.pk:
            return "—"
        edits = RecommendationEdit.objects.filter(recommendation_id=obj.pk).select_related("edited_by")
        rows = [(edit, edit_rows(edit)) for edit in edits.order_by("-edited_at", "-id")]
        return render_to_string("admin/recommendations/recommendation/_edit_log.html", {"rows": rows})

    # --- saving through the services ------------------------------------------
    def save_model(self, request, obj, form, change):
        # Everything is saved in save_related, where the links' formset is at hand too: one edit, one version.
        if not change:
            raise PermissionDenied

    def save_related(self, request, form, formsets, change):
        # Only what this analyst changed from what they loaded: a re-applied edit never reverts anyone else's.
        data = {name: form.cleaned_data[name] for name in form.analyst_changes()}
        for formset in formsets:
            # The admin's change message reads these, as a formset's save() would set them.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if formset.model is RecommendationLink and formset.has_changed():
                wanted = _wanted_links(formset)
                loaded = form.cleaned_data.get("loaded_links")
                if not loaded or links_signature((s.kind, s.to.pk, s.note) for s in wanted) != loaded:
                    data["links"] = wanted
        # The instance already carries the form's values; re-read the stored ones so the service compares truly.
        stored = Recommendation.objects.get(pk=form.instance.pk)
        recommendation_update(
            recommendation=stored, data=data, expected_version=form.expected_version(), edited_by=request.user
        )
        form.instance.version, form.instance.updated_at = stored.version, stored.updated_at
        for formset in formsets:
            if formset.model is Evidence:
                self._add_evidence(request, form, formset)

    def _add_evidence(self, request, form, formset):
        for evidence_form in formset.forms:
            if evidence_form.has_changed() and evidence_form.cleaned_data and not evidence_form.instance.pk:
                cd = evidence_form.cleaned_data
                evidence = evidence_create(
                    recommendation=form.instance,
                    url=cd.get("url") or "",
                    title=cd.get("title") or "",
                    publisher=cd.get("publisher") or "",
                    published=cd.get("published"),
                    quote=cd.get("quote") or "",
                    added_by=request.user,
                )
                formset.new_objects.append(evidence)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleVersionError:
            # Someone saved between the form's check and the service's: nothing was written. Shown again,
            # the form finds the item stale and offers the refusal page, with the analyst's input kept.
            if getattr(request, "_tracker_stale_retry", False):
                raise
            request._tracker_stale_retry = True
            return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # The status block offers the status-change page only to those who may record one.
            obj._can_record_status = request.user.has_perm("recommendations.add_statuschange")
        if request.method == "POST" and obj is not None and obj.pk:
            # The form's instance carries the refused input; the page's title and read-only parts show
            # what is saved.
            stored = Recommendation.objects.select_related("source").get(pk=obj.pk)
            context["original"], context["subtitle"] = stored, str(stored)
            refusal = edit_refusal(context["adminform"].form, context["inline_admin_formsets"], stored)
            context["refusal"] = refusal
            if refusal["stale_only"]:
                context["errors"] = None  # the refusal block says it all; "correct the error below" would not
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):
        if RecommendationAdminForm.REAPPLY in request.POST:
            self.message_user(
                request,
                gettext("%(code)s: your edits were saved against version %(loaded)s (now version %(version)s).")
                % {"code": obj.code, "loaded": request.POST[RecommendationAdminForm.REAPPLY], "version": obj.version},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:recommendations_recommendation_change", args=[obj.pk]))
        return super().response_change(request, obj)

    # --- recording a status change -----------------------------------------------
    def get_urls(self):
        return [
            path(
                "<path:object_id>/change-status/",
                self.admin_site.admin_view(self.change_status_view),
                name="recommendations_recommendation_change_status",
            ),
            *super().get_urls(),
        ]

    def _check_can_record(self, request):
        if not request.user.has_perm("recommendations.add_statuschange"):
            raise PermissionDenied

    def change_status_view(self, request, object_id):
        """One item: the form asks new status, note, effective date and optional evidence.

        A refusal shows what is saved now beside the analyst's input, says why, and keeps the input
        in the form, set against the version now saved: one click records it again, and the service
        checks it again against that version.
        """
        self._check_can_record(request)
        item = get_object_or_404(Recommendation.objects.select_related("source"), pk=object_id)
        refusal = None
        if request.method == "POST":
            form = StatusChangeForm(request.POST, recommendation=item)
            stale = None
            if form.is_valid():
                try:
                    with transaction.atomic():
                        change = form.save_for(
                            item, user=request.user, expected_version=form.cleaned_data.get("loaded_version")
                        )
                except StaleVersionError as exc:
                    stale = exc
                except ValidationError:
                    pass  # the form now carries the service's messages
                else:
                    said = log_wording.entry_summary(change.from_status, change.to_status, change.effective_date)
                    messages.success(request, gettext("%(code)s: %(summary)s.") % {"code": item.code, "summary": said})
                    return HttpResponseRedirect(reverse("admin:recommendations_recommendation_change", args=[item.pk]))
            item.refresh_from_db()
            refusal = status_refusal(form, item, stale)
        else:
            form = StatusChangeForm(recommendation=item, initial={"status": item.status})
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Record a status change: %(code)s") % {"code": item.code},
            "opts": self.model._meta,
            "original": item,
            "form": form,
            "refusal": refusal,
            "version_now": item.version,
            "loaded_at_now": timezone.now().isoformat(),
            "main_fields": [f for f in form.visible_fields() if f.name not in StatusChangeForm.EVIDENCE_FIELDS],
            "evidence_fields": [f for f in form.visible_fields() if f.name in StatusChangeForm.EVIDENCE_FIELDS],
            "history": item.status_changes.select_related("recorded_by").order_by("-effective_date", "-id")[:5],
        }
        return TemplateResponse(request, "admin/recommendations/recommendation/change_status.html", context)

    @admin.action(description=_("Record a status change for the selected items"), permissions=["record"])
    def record_status_change(self, request, queryset):
        """Many items at once: one form, one log entry per item, all or nothing.

        Each item is checked against the version shown when the form was opened. When any item
        refuses, nothing is recorded, and the page names every refused item and why, beside what
        each holds now, with one click to record the same input again for those that can take it.
        """
        applying = "apply" in request.POST
        form = StatusChangeForm(request.POST if applying else None)
        items = list(queryset.select_related("source").in_reading_order())
        expected = _parse_versions(request.POST.get("item_versions", "")) if applying else {}
        refusals = []
        if applying and form.is_valid():
            refusals, changes = _record_all(form, items, user=request.user, expected=expected)
            if not refusals:
                self.message_user(request, _bulk_success(form, changes))
                return None
            # Nothing was recorded: show each item as it is stored, not as the rolled-back attempt left it.
            items = list(
                Recommendation.objects.filter(pk__in=[i.pk for i in items]).select_related("source").in_reading_order()
            )
            by_pk = {i.pk: i for i in items}
            refusals = [(by_pk[item.pk], reasons, stale) for item, reasons, stale in refusals]
        refused_pks = {item.pk for item, reasons, stale in refusals if not stale}
        retry_items = [i for i in items if i.pk not in refused_pks]
        context = {
            **self.admin_site.each_context(request),
            "title": ngettext(
                "Record a status change for %(count)s item", "Record a status change for %(count)s items", len(items)
            )
            % {"count": len(items)},
            "opts": self.model._meta,
            "form": form,
            "items": items,
            "refusals": refusals,
            "any_stale": any(stale for _item, _reasons, stale in refusals),
            "retry_items": retry_items if refusals and form.is_valid() else [],
            "item_versions": _format_versions(items),
            "retry_versions": _format_versions(retry_items),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/recommendations/recommendation/bulk_change_status.html", context)

    def has_record_permission(self, request):
        return request.user.has_perm("recommendations.add_statuschange")


# --- refusals that tell the truth ---------------------------------------------------------------


def _wanted_links(formset) -> set[LinkSpec]:
    return {
        LinkSpec(kind=f.cleaned_data["kind"], to=f.cleaned_data["to_recommendation"], note=f.cleaned_data["note"])
        for f in formset.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("to_recommendation")
    }


def _shown(value) -> str:
    """Return a field's value as a person reads it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if hasattr(value, "get_username"):
        return value.get_username()
    if isinstance(value, list | tuple | set) or hasattr(value, "model"):
        names = sorted(str(v) for v in value)
        return ", ".join(names) if names else "—"
    return str(value)


def _stored_value(item: Recommendation, name: str):
    field = Recommendation._meta.get_field(name)
    if field.many_to_many:
        return list(getattr(item, name).all())
    if field.choices:
        return getattr(item, f"get_{name}_display")()
    return getattr(item, name)


def _entered_value(form, name: str):
    if name in getattr(form, "cleaned_data", {}) and name not in form.errors:
        value = form.cleaned_data[name]
        field = Recommendation._meta.get_field(name)
        if getattr(field, "choices", None):
            return dict(field.flatchoices).get(value, value)
        return value
    raw = form.data.getlist(form.add_prefix(name)) if hasattr(form.data, "getlist") else form.data.get(name)
    if name in ("themes", "owners"):
        model = Recommendation._meta.get_field(name).related_model
        return list(model.objects.filter(pk__in=[v for v in raw if str(v).isdigit()]))
    return raw[0] if isinstance(raw, list) and len(raw) == 1 else raw


def _since(item: Recommendation, *, loaded_version: int | None, loaded_at: datetime.datetime | None):
    """Return what was put on record for an item since an analyst loaded it: edits, status changes, evidence."""
    edits = RecommendationEdit.objects.filter(recommendation=item).select_related("edited_by")
    edits = edits.filter(version__gt=loaded_version) if loaded_version is not None else edits.none()
    changes = item.status_changes.select_related("recorded_by")
    evidence = item.evidence.select_related("added_by")
    if loaded_at is not None:
        changes, evidence = changes.filter(recorded_at__gt=loaded_at), evidence.filter(added_at__gt=loaded_at)
    else:
        changes, evidence = changes.none(), evidence.none()
    return {
        "edits": [(edit, edit_rows(edit)) for edit in edits.order_by("edited_at", "id")],
        "changes": list(changes.order_by("recorded_at", "id")),
        "evidence": list(evidence.order_by("added_at", "id")),
    }


def edit_refusal(form, inline_admin_formsets, stored: Recommendation) -> dict:
    """Describe a refused edit of an item: why, what is saved now beside what the analyst entered, what
    others put on record since they loaded it, and whether the same edit can be applied again at once."""
    cleaned = getattr(form, "cleaned_data", {})
    loaded_version = cleaned.get("loaded_version")
    since = _since(stored, loaded_version=loaded_version, loaded_at=cleaned.get("loaded_at"))
    touched_since = {name for edit, _rows in since["edits"] for name in edit.changes}
    labels = {name: form.fields[name].label or name for name in form.fields}
    rows = []
    for name in form.analyst_changes():
        rows.append(
            {
                "label": str(labels[name]).capitalize(),
                "saved": _shown(_stored_value(stored, name)),
                "entered": _shown(_entered_value(form, name)),
                "errors": form.errors.get(name, []),
                "conflict": name in touched_since,
            }
        )
    formsets_valid = True
    for inline in inline_admin_formsets:
        formset = inline.formset
        if not formset.is_valid():
            formsets_valid = False
        if formset.model is RecommendationLink and formset.is_valid() and formset.has_changed():
            wanted = _wanted_links(formset)
            loaded = cleaned.get("loaded_links")
            if not loaded or links_signature((s.kind, s.to.pk, s.note) for s in wanted) != loaded:
                rows.append(
                    {
                        "label": gettext("Links"),
                        "saved": "; ".join(sorted(link.describe() for link in _links_now(stored))) or "—",
                        "entered": "; ".join(sorted(s.describe() for s in wanted)) or "—",
                        "errors": [],
                        "conflict": "links" in touched_since,
                    }
                )
        if formset.model is Evidence:
            for evidence_form in formset.forms:
                if evidence_form.has_changed():
                    data = getattr(evidence_form, "cleaned_data", {}) or {}
                    entered = data.get("url") or evidence_form.data.get(evidence_form.add_prefix("url"), "")
                    title = data.get("title") or evidence_form.data.get(evidence_form.add_prefix("title"), "")
                    rows.append(
                        {
                            "label": gettext("New evidence"),
                            "saved": gettext("(not added)"),
                            "entered": f"{title} — {entered}" if title else entered,
                            "errors": [e for errors in evidence_form.errors.values() for e in errors],
                            "conflict": False,
                        }
                    )
    stale = form.is_stale()
    other_errors = [e for e in form.non_field_errors().as_data() if e.code != STALE_CODE]
    field_errors = any(name in form.errors for name in form.fields)
    stale_only = stale and not other_errors and not field_errors and formsets_valid
    return {
        "stale": stale,
        "stale_only": stale_only,
        "loaded_version": loaded_version,
        "version_now": stored.version,
        "rows": rows,
        "since": since,
        "other_errors": [" ".join(e.messages) for e in other_errors],
        "can_reapply": stale_only and bool(rows),
        "reapply_name": RecommendationAdminForm.REAPPLY,
    }


def _links_now(item: Recommendation) -> list[LinkSpec]:
    return [
        LinkSpec(kind=link.kind, to=link.to_recommendation, note=link.note)
        for link in item.links_out.select_related("to_recommendation")
    ]


def status_refusal(form: StatusChangeForm, item: Recommendation, stale: StaleVersionError | None) -> dict:
    """Describe a refused status change: why, what is saved now beside the analyst's input, what others put
    on record since the form was opened, and whether the same input can be recorded again at once."""
    cleaned = getattr(form, "cleaned_data", {})
    loaded_version = cleaned.get("loaded_version")
    reasons = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ").capitalize() if name in form.fields else None
        reasons.extend((str(label) if label else None, e) for e in errors)
    is_stale = stale is not None or (loaded_version is not None and loaded_version != item.version)
    return {
        "stale": is_stale,
        "loaded_version": stale.expected if stale else loaded_version,
        "reasons": reasons,
        "entered": form.entered(),
        "since": _since(item, loaded_version=loaded_version, loaded_at=cleaned.get("loaded_at")),
        "can_reapply": stale is not None and form.is_valid(),
        "would_be": form.summary_for(item) if form.is_valid() else "",
    }


def _parse_versions(text: str) -> dict[int, int]:
    """Read "pk:version pk:version" (the versions a bulk form was opened on)."""
    versions = {}
    for pair in text.split():
        pk, _, version = pair.partition(":")
        if pk.isdigit() and version.isdigit():
            versions[int(pk)] = int(version)
    return versions


def _format_versions(items) -> str:
    return " ".join(f"{item.pk}:{item.version}" for item in items)


class _Refused(Exception):
    """Raised inside the bulk transaction so that nothing of it is kept."""


def _record_all(form: StatusChangeForm, items, *, user, expected: dict[int, int]):
    """Record the form's change for every item, all or nothing; return (refusals, changes).

    Every item is tried, each in a savepoint, so that a refusal names every item refused and
    why, not only the first; then, if any refused, everything is rolled back.
    """
    refusals, changes = [], []
    try:
        with transaction.atomic():
            for item in items:
                try:
                    with transaction.atomic():
                        changes.append(form.record_for(item, user=user, expected_version=expected.get(item.pk)))
                except StaleVersionError as exc:
                    refusals.append((item, [(None, _stale_sentence(exc))], True))
                except ValidationError as exc:
                    reasons = [
                        (str(form.fields[f].label) if f in form.fields else None, m)
                        for f, m in form.refusal_reasons(exc)
                    ]
                    refusals.append((item, reasons, False))
            if refusals:
                raise _Refused
    except _Refused:
        return refusals, []
    return [], changes


def _stale_sentence(exc: StaleVersionError) -> str:
    return gettext(
        "Someone else changed it since this form was opened (you saw version %(expected)s; "
        "it is now version %(actual)s)."
    ) % {"expected": exc.expected, "actual": exc.actual}


def _bulk_success(form: StatusChangeForm, changes) -> str:
    status = Status(form.cleaned_data["status"]).label
    reassessed = [c for c in changes if log_wording.is_reassessment(c.from_status, c.to_status)]
    count = len(changes)
    message = ngettext(
        "Recorded “%(status)s” for %(count)s item: one log entry.",
        "Recorded “%(status)s” for %(count)s items: one log entry each.",
        count,
    ) % {"status": status, "count": count}
    if reassessed:
        codes = ", ".join(c.recommendation.code for c in reassessed)
        summary = log_wording.entry_summary(
            reassessed[0].from_status, reassessed[0].to_status, reassessed[0].effective_date
        )
        again = ngettext(
            "%(count)s of them already held it, so recorded as a reassessment (%(summary)s): %(codes)s.",
            "%(count)s of them already held it, so recorded as a reassessment (%(summary)s): %(codes)s.",
            len(reassessed),
        ) % {"count": len(reassessed), "summary": summary, "codes": codes}
        message = gettext("%(first)s %(second)s") % {"first": message, "second": again}
    return message


class RecordAdmin(admin.ModelAdmin):
    """An append-only part of the record, or a view of one: listed and read here, written only by the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=pgettext_lazy("admin column", "item"), ordering="recommendation__code")
    def item_code(self, obj):
        url = reverse("admin:recommendations_recommendation_change", args=[obj.recommendation_id])
        return format_html('<a href="{}">{}</a>', url, obj.recommendation.code)


@admin.register(StatusChange)
class StatusChangeAdmin(RecordAdmin):
    """Every status change across items, newest first: what changed, and who recorded it."""

    list_display = [
        "recorded_at",
        "item_code",
        "entry",
        "effective_date",
        "recorded_by",
        "short_note",
    ]
    list_filter = ["to_status", "recommendation__source", "recommendation__themes"]
    search_fields = ["recommendation__code", "note"]
    date_hierarchy = "recorded_at"
    ordering = ["-recorded_at", "-id"]
    list_select_related = ["recommendation", "recorded_by"]

    @admin.display(description=_("entry"), ordering="to_status")
    def entry(self, obj):
        return log_wording.entry_headline(obj.from_status, obj.to_status)

    @admin.display(description=_("note"))
    def short_note(self, obj):
        return obj.note if len(obj.note) <= 120 else obj.note[:117] + "…"


@admin.register(Evidence)
class EvidenceAdmin(RecordAdmin):
    """Recorded evidence, read-only: a status change cites it, so it never changes under that change."""

    list_display = ["title", "recommendation", "publisher", "published", "added_by", "retracted", "link_health"]
    list_filter = ["publisher", "source", ("retraction", admin.EmptyFieldListFilter), LinkStatusFilter]
    search_fields = ["title", "url", "quote", "recommendation__code"]
    list_select_related = ["recommendation", "added_by", "retraction", "link_check"]
    fields = [
        "recommendation",
        "url",
        "link_health",
        "source",
        "title",
        "publisher",
        "published",
        "quote",
        "added_by",
        "added_at",
        "retraction_state",
    ]
    readonly_fields = fields

    @admin.display(description=_("retracted"), boolean=True)
    def retracted(self, obj):
        return obj.is_retracted

    @admin.display(description=_("retraction"))
    def retraction_state(self, obj):
        return retraction_summary(obj)

    @admin.display(description=_("link status"))
    def link_health(self, obj):
        return link_health_summary(obj)

    def get_queryset(self, request):
        # The change page reads the link check too; the list has it from list_select_related.
        return super().get_queryset(request).with_link_check()

    def get_urls(self):
        return [
            path(
                "<path:object_id>/retract/",
                self.admin_site.admin_view(self.retract_view),
                name="recommendations_evidence_retract",
            ),
            *super().get_urls(),
        ]

    def retract_view(self, request, object_id):
        """Withdraw one piece of evidence with a reason, through `services.evidence_retract`."""
        if not request.user.has_perm("recommendations.add_evidenceretraction"):
            raise PermissionDenied
        evidence = get_object_or_404(Evidence.objects.with_retraction().select_related("recommendation"), pk=object_id)
        item = evidence.recommendation
        form = EvidenceRetractionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                evidence_retract(evidence=evidence, reason=form.cleaned_data["reason"], retracted_by=request.user)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            else:
                messages.success(
                    request,
                    gettext(
                        "%(code)s: evidence “%(title)s” retracted. It stays on record, marked as retracted with your "
                        "reason; add the right evidence below."
                    )
                    % {"code": item.code, "title": evidence.title},
                )
                return HttpResponseRedirect(reverse("admin:recommendations_recommendation_change", args=[item.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Retract evidence: %(title)s") % {"title": evidence.title},
            "opts": self.model._meta,
            "item_opts": Recommendation._meta,
            "evidence": evidence,
            "item": item,
            "citing": evidence.status_changes.order_by("effective_date", "id"),
            "form": form,
        }
        return TemplateResponse(request, "admin/recommendations/evidence/retract.html", context)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = ["short_title", "title", "authors", "date_label", "kind"]
    readonly_fields = ["slug", "text"]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", *with_translations(Theme, "name")[1:], "slug", "position"]
    search_fields = [*with_translations(Theme, "name")]


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    list_display = [*with_translations(Owner, "name"), "former_names", "country", "kind"]
    list_filter = ["country", "kind"]
    search_fields = [*with_translations(Owner, "name"), "former_names"]


@admin.register(RecommendationLink)
class RecommendationLinkAdmin(RecordAdmin):
    """Links across items, to read; they are changed on the item's page, where the change goes on record."""

    list_display = ["from_recommendation", "kind", "to_recommendation"]
    list_filter = ["kind"]
    list_select_related = ["from_recommendation", "to_recommendation"]


@admin.register(RecommendationEdit)
class RecommendationEditAdmin(RecordAdmin):
    """Every edit of an item's fields across items, newest first: who changed what, from what to what."""

    list_display = ["edited_at", "item_code", "fields_changed", "edited_by", "version"]
    list_filter = ["recommendation__source"]
    search_fields = ["recommendation__code", "note"]
    date_hierarchy = "edited_at"
    ordering = ["-edited_at", "-id"]
    list_select_related = ["recommendation", "edited_by"]
    fields = ["recommendation", "edited_at", "edited_by", "what_changed", "note", "version"]
    readonly_fields = fields

    @admin.display(description=_("fields"))
    def fields_changed(self, obj):
        return ", ".join(obj.changes)

    @admin.display(description=_("what changed"))
    def what_changed(self, obj):
        return format_html_join(
            "", "<p><strong>{}</strong>: {} → {}</p>", ((r.field, r.before, r.after) for r in edit_rows(obj))
        )
