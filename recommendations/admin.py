"""The analysts' workspace: the Django admin, obeying the same services as the API.

Status is never edited as a field. It changes through the "Record a status
change" page (one item) or the bulk action (many items), both of which call
`services.recommendation_change_status`. The status log is shown read-only.
"""

from __future__ import annotations

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from recommendations.forms import EvidenceRetractionForm, RecommendationAdminForm, StatusChangeForm
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
from recommendations.vocabulary import LinkStatus, Status

STALE_AFTER_DAYS = 365
# Web addresses typed without a scheme are taken as https.
URL_FIELD_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}


class HasEvidenceFilter(admin.SimpleListFilter):
    title = "evidence"
    parameter_name = "has_evidence"

    def lookups(self, request, model_admin):
        return [("yes", "Has evidence"), ("no", "No evidence")]

    def queryset(self, request, queryset):
        has = Exists(Evidence.objects.filter(recommendation=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(has)
        if self.value() == "no":
            return queryset.filter(~has)
        return queryset


class FreshnessFilter(admin.SimpleListFilter):
    """What needs an analyst's attention: never assessed, or not re-assessed for a year."""

    title = "freshness"
    parameter_name = "freshness"

    def lookups(self, request, model_admin):
        return [
            ("never", "Never assessed"),
            ("stale", f"Status older than {STALE_AFTER_DAYS} days"),
            ("overdue", "Overdue (past due date, not closed)"),
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

    title = "link status"
    parameter_name = "link_status"

    def lookups(self, request, model_admin):
        return LinkStatus.choices

    def queryset(self, request, queryset):
        if self.value() in LinkStatus.values:
            return queryset.with_link_status(self.value())
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EvidenceInline(ReadOnlyInline):
    """Evidence already recorded, read-only: nothing an analyst recorded is overwritten. A wrong link is retracted."""

    model = Evidence
    fields = [
        "title",
        "link",
        "link_health",
        "publisher",
        "published",
        "quote",
        "added_by",
        "added_at",
        "retraction_state",
    ]
    readonly_fields = fields
    verbose_name_plural = "evidence recorded (append-only: retract a wrong link, then add the right one)"

    def get_queryset(self, request):
        return super().get_queryset(request).with_retraction().with_link_check().select_related("added_by")

    @admin.display(description="link")
    def link(self, obj):
        return format_html('<a href="{}" rel="noopener">{}</a>', obj.link, obj.url or obj.source) if obj.link else "—"

    @admin.display(description="retraction")
    def retraction_state(self, obj):
        return retraction_summary(obj)

    @admin.display(description="link status")
    def link_health(self, obj):
        return link_health_summary(obj)


def _day(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).date().isoformat()


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
            '<strong class="tracker-link-dead">Link dead since {}</strong> ({}{}; checked {}) · '
            '<a href="{}" rel="noopener">archived copy</a>',
            _day(check.dead_since),
            check.get_outcome_display(),
            f", {check.detail}" if check.detail else "",
            _day(check.checked_at),
            check.archived_url,
        )
    if check.status == LinkStatus.FAILING:
        return format_html(
            "<strong>Failing</strong>: {}{} ({} failed check{} in a row; checked {})",
            check.get_outcome_display(),
            f", {check.detail}" if check.detail else "",
            check.consecutive_failures,
            "" if check.consecutive_failures == 1 else "s",
            _day(check.checked_at),
        )
    if check.status == LinkStatus.REDIRECTED:
        return format_html("Redirected to {} (checked {})", check.final_url, _day(check.checked_at))
    return format_html("OK (checked {})", _day(check.checked_at))


def retraction_summary(evidence: Evidence):
    """Return who retracted the evidence, when and why; or a link to retract it."""
    if evidence.is_retracted:
        r = evidence.retraction
        return format_html(
            "<strong>Retracted</strong> {} by {}: {}",
            r.retracted_at.date().isoformat(),
            r.retracted_by or "the tracker",
            r.reason,
        )
    url = reverse("admin:recommendations_evidence_retract", args=[evidence.pk])
    return format_html('<a href="{}">Retract…</a>', url)


class AddEvidenceInline(admin.TabularInline):
    """Blank rows for adding evidence; saved through `services.evidence_create`."""

    formfield_overrides = URL_FIELD_OVERRIDES

    model = Evidence
    fields = ["url", "title", "publisher", "published", "quote"]
    extra = 1
    can_delete = False
    verbose_name = "new evidence"
    verbose_name_plural = "add evidence"

    def get_queryset(self, request):
        return super().get_queryset(request).none()


class StatusChangeInline(ReadOnlyInline):
    """The item's status log, oldest first, read-only."""

    model = StatusChange
    fields = ["effective_date", "from_status", "to_status", "note", "evidence", "recorded_by", "recorded_at"]
    readonly_fields = fields
    ordering = ["effective_date", "id"]
    verbose_name_plural = "status history (append-only)"


class EditInline(ReadOnlyInline):
    """The item's edit history, newest first: every change of its fields, who made it and when."""

    model = RecommendationEdit
    fields = ["edited_at", "edited_by_name", "what_changed", "note", "version"]
    readonly_fields = fields
    ordering = ["-edited_at", "-id"]
    verbose_name_plural = "edit history (append-only)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("edited_by")

    @admin.display(description="by")
    def edited_by_name(self, obj):
        return obj.edited_by or "the seed"

    @admin.display(description="what changed")
    def what_changed(self, obj):
        return format_html_join(
            "", "<p><strong>{}</strong>: {} → {}</p>", ((r.field, r.before, r.after) for r in edit_rows(obj))
        )


class LinkOutInline(admin.TabularInline):
    model = RecommendationLink
    fk_name = "from_recommendation"
    fields = ["kind", "to_recommendation", "note"]
    autocomplete_fields = ["to_recommendation"]
    extra = 0
    verbose_name_plural = "links to earlier or related items"


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    form = RecommendationAdminForm
    list_display = ["code", "title", "status_badge", "status_date", "owner_names", "source"]
    list_display_links = ["code", "title"]
    list_filter = ["status", "themes", "source", "owners", "level", HasEvidenceFilter, FreshnessFilter]
    search_fields = ["code", "title", "text"]
    list_per_page = 100
    ordering = list(READING_ORDER)
    actions = ["record_status_change"]
    readonly_fields = [
        "code",
        "source",
        "section",
        "parent",
        "quoted_text",
        "current_status",
        "version",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["code", "source", "section", "parent", "quoted_text"]}),
        ("Status", {"fields": ["current_status"]}),
        (
            "Tracking",
            {"fields": RecommendationAdminForm.Meta.fields},
        ),
        ("Record", {"fields": ["version", "updated_at", "loaded_version"], "classes": ["collapse"]}),
    ]
    filter_horizontal = ["themes", "owners"]
    inlines = [StatusChangeInline, EvidenceInline, AddEvidenceInline, LinkOutInline, EditInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source").prefetch_related("owners")

    def has_add_permission(self, request):
        # Items come from the source documents, through the seed.
        return False

    def has_delete_permission(self, request, obj=None):
        # An item with a history is never deleted; codes are never reused.
        return False

    # --- display -----------------------------------------------------------
    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="tracker-status tracker-status--{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description="owners")
    def owner_names(self, obj):
        return ", ".join(owner.name for owner in obj.owners.all()) or "—"

    @admin.display(description="quoted text")
    def quoted_text(self, obj):
        note = format_html("<p><em>Editorial note:</em> {}</p>", obj.editorial_note) if obj.editorial_note else ""
        return format_html("<blockquote>{}</blockquote>{}", obj.text, note)

    @admin.display(description="current status")
    def current_status(self, obj):
        if not obj.pk:
            return "—"
        url = reverse("admin:recommendations_recommendation_change_status", args=[obj.pk])
        as_of = f" as of {obj.status_date.isoformat()}" if obj.status_date else ""
        return format_html(
            '<strong>{}</strong>{} — {}<br><a class="button" href="{}">Record a status change</a>',
            obj.get_status_display(),
            as_of,
            obj.status_definition,
            url,
        )

    # --- saving through the services ------------------------------------------
    def save_model(self, request, obj, form, change):
        # Everything is saved in save_related, where the links' formset is at hand too: one edit, one version.
        if not change:
            raise PermissionDenied

    def save_related(self, request, form, formsets, change):
        data = {
            name: form.cleaned_data[name] for name in form.changed_data if name in RecommendationAdminForm.Meta.fields
        }
        for formset in formsets:
            # The admin's change message reads these, as a formset's save() would set them.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if formset.model is RecommendationLink and formset.has_changed():
                data["links"] = {
                    LinkSpec(
                        kind=f.cleaned_data["kind"], to=f.cleaned_data["to_recommendation"], note=f.cleaned_data["note"]
                    )
                    for f in formset.forms
                    if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("to_recommendation")
                }
        # The instance already carries the form's values; re-read the stored ones so the service compares truly.
        stored = Recommendation.objects.get(pk=form.instance.pk)
        recommendation_update(
            recommendation=stored,
            data=data,
            expected_version=form.cleaned_data.get("loaded_version"),
            edited_by=request.user,
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
        except StaleVersionError as exc:
            messages.error(request, exc.messages[0] + " Your edits were not saved.")
            return HttpResponseRedirect(request.path)

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
        """One item: the form asks new status, note, effective date and optional evidence."""
        self._check_can_record(request)
        item = get_object_or_404(Recommendation.objects.select_related("source"), pk=object_id)
        form = StatusChangeForm(request.POST or None, recommendation=item, initial={"status": item.status})
        loaded_version = request.POST.get("loaded_version") if request.method == "POST" else item.version
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    change = form.save_for(
                        item, user=request.user, expected_version=int(loaded_version) if loaded_version else None
                    )
            except ValidationError:
                pass  # the form now carries the service's messages
            else:
                messages.success(
                    request,
                    f"{item.code}: status changed from {change.get_from_status_display()} to "
                    f"{change.get_to_status_display()}, effective {change.effective_date.isoformat()}.",
                )
                return HttpResponseRedirect(reverse("admin:recommendations_recommendation_change", args=[item.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record a status change: {item.code}",
            "opts": self.model._meta,
            "original": item,
            "form": form,
            "loaded_version": loaded_version,
            "history": item.status_changes.select_related("recorded_by").order_by("-effective_date", "-id")[:5],
        }
        return TemplateResponse(request, "admin/recommendations/recommendation/change_status.html", context)

    @admin.action(description="Record a status change for the selected items", permissions=["record"])
    def record_status_change(self, request, queryset):
        """Many items at once: one form, one log entry per item, all or nothing."""
        form = StatusChangeForm(request.POST if "apply" in request.POST else None)
        items = list(queryset.select_related("source").in_reading_order())
        if "apply" in request.POST and form.is_valid():
            try:
                with transaction.atomic():
                    for item in items:
                        form.save_for(item, user=request.user)
            except ValidationError:
                pass  # messages are on the form; nothing was recorded
            else:
                status = Status(form.cleaned_data["status"]).label
                self.message_user(request, f"Recorded “{status}” for {len(items)} items: one log entry each.")
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record a status change for {len(items)} items",
            "opts": self.model._meta,
            "form": form,
            "items": items,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/recommendations/recommendation/bulk_change_status.html", context)

    def has_record_permission(self, request):
        return request.user.has_perm("recommendations.add_statuschange")


class RecordAdmin(admin.ModelAdmin):
    """An append-only part of the record, or a view of one: listed and read here, written only by the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="item", ordering="recommendation__code")
    def item_code(self, obj):
        url = reverse("admin:recommendations_recommendation_change", args=[obj.recommendation_id])
        return format_html('<a href="{}">{}</a>', url, obj.recommendation.code)


@admin.register(StatusChange)
class StatusChangeAdmin(RecordAdmin):
    """Every status change across items, newest first: what changed, and who recorded it."""

    list_display = [
        "recorded_at",
        "item_code",
        "from_status",
        "to_status",
        "effective_date",
        "recorded_by",
        "short_note",
    ]
    list_filter = ["to_status", "recommendation__source", "recommendation__themes"]
    search_fields = ["recommendation__code", "note"]
    date_hierarchy = "recorded_at"
    ordering = ["-recorded_at", "-id"]
    list_select_related = ["recommendation", "recorded_by"]

    @admin.display(description="note")
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

    @admin.display(description="retracted", boolean=True)
    def retracted(self, obj):
        return obj.is_retracted

    @admin.display(description="retraction")
    def retraction_state(self, obj):
        return retraction_summary(obj)

    link_health = EvidenceInline.link_health

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
                    f"{item.code}: evidence “{evidence.title}” retracted. It stays on record, marked as retracted "
                    "with your reason; add the right evidence below.",
                )
                return HttpResponseRedirect(reverse("admin:recommendations_recommendation_change", args=[item.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Retract evidence: {evidence.title}",
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
    list_display = ["name", "slug", "position"]
    search_fields = ["name"]


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    list_display = ["name", "former_names", "country", "kind"]
    list_filter = ["country", "kind"]
    search_fields = ["name", "former_names"]


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

    @admin.display(description="fields")
    def fields_changed(self, obj):
        return ", ".join(obj.changes)

    what_changed = EditInline.what_changed
