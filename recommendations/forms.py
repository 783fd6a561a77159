"""Forms that analysts fill in: recording a status change (one item or many), retracting evidence."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from recommendations.models import Evidence, Recommendation
from recommendations.services import (
    EDITABLE_FIELDS_IN_ORDER,
    ERROR_EFFECTIVE_DATE_FUTURE,
    ERROR_NOTE_REQUIRED,
    ERROR_STALE_VERSION,
    NEW_EVIDENCE,
    recommendation_change_status,
)
from recommendations.vocabulary import STATUS_DEFINITIONS, Status

ERROR_EVIDENCE_TITLE_REQUIRED = "Give the evidence a title (what the linked page is), or leave the web address empty."
ERROR_EVIDENCE_URL_REQUIRED = "Enter the evidence's web address, or leave its other fields empty."

# Service errors arrive keyed by the service's argument names; these are the form's fields.
_EVIDENCE_FIELD_MAP = {
    "url": "evidence_url",
    "title": "evidence_title",
    "publisher": "evidence_publisher",
    "published": "evidence_date",
    "quote": "evidence_quote",
    "non_field_errors": "evidence_url",
}


def _status_choices() -> list[tuple[str, str]]:
    return [(status.value, f"{status.label} — {STATUS_DEFINITIONS[status]}") for status in Status]


class StatusChangeForm(forms.Form):
    """New status, note, effective date and optional evidence (new, or already recorded for the item)."""

    status = forms.ChoiceField(label="New status", choices=_status_choices, widget=forms.RadioSelect)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,  # checked in clean() with the service's own message
        help_text="Why the status changed. Shown in the item's public timeline.",
    )
    effective_date = forms.DateField(
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When the new status took effect (today or earlier).",
    )
    existing_evidence = forms.ModelChoiceField(
        label="Evidence already recorded",
        queryset=Evidence.objects.none(),
        required=False,
        help_text="Or add new evidence below.",
    )
    evidence_url = forms.URLField(label="Evidence web address", required=False, assume_scheme="https", max_length=500)
    evidence_title = forms.CharField(label="Evidence title", required=False, max_length=300)
    evidence_publisher = forms.CharField(label="Publisher", required=False, max_length=200)
    evidence_date = forms.DateField(
        label="Evidence date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    evidence_quote = forms.CharField(label="Quote", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, recommendation: Recommendation | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recommendation = recommendation
        if recommendation is not None:
            # Retracted evidence stays on record, but no new change can stand on it.
            self.fields["existing_evidence"].queryset = recommendation.evidence.filter(retraction__isnull=True)
        else:
            del self.fields["existing_evidence"]

    def clean(self):
        data = super().clean()
        # The service checks these too; checking here shows every problem at once.
        if not (data.get("note") or "").strip():
            self.add_error("note", ERROR_NOTE_REQUIRED)
        if data.get("effective_date") and data["effective_date"] > timezone.localdate():
            self.add_error("effective_date", ERROR_EFFECTIVE_DATE_FUTURE)
        has_url = bool(data.get("evidence_url"))
        other = any(data.get(f) for f in ("evidence_title", "evidence_publisher", "evidence_date", "evidence_quote"))
        if has_url and not data.get("evidence_title"):
            self.add_error("evidence_title", ERROR_EVIDENCE_TITLE_REQUIRED)
        if other and not has_url:
            self.add_error("evidence_url", ERROR_EVIDENCE_URL_REQUIRED)
        return data

    def save_for(self, recommendation: Recommendation, *, user, expected_version: int | None = None):
        """Record the change for one item through the service; map its refusals onto this form's fields.

        Returns the StatusChange, or raises ValidationError after adding the errors to the form. New
        evidence is recorded with the change, in the service's one transaction, or not at all.
        """
        data = self.cleaned_data
        new_evidence = None
        if data.get("evidence_url"):
            new_evidence = {
                "url": data["evidence_url"],
                "title": data["evidence_title"],
                "publisher": data.get("evidence_publisher") or "",
                "published": data.get("evidence_date"),
                "quote": data.get("evidence_quote") or "",
            }
        try:
            return recommendation_change_status(
                recommendation=recommendation,
                status=data["status"],
                note=data["note"],
                effective_date=data["effective_date"],
                recorded_by=user,
                evidence=data.get("existing_evidence"),
                new_evidence=new_evidence,
                expected_version=expected_version,
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name.startswith(f"{NEW_EVIDENCE}."):
                    name = _EVIDENCE_FIELD_MAP.get(name.removeprefix(f"{NEW_EVIDENCE}."), "evidence_url")
                field = name if name in self.fields else None
                # In a bulk change the same form speaks for many items: say which one.
                prefix = "" if self.recommendation is not None else f"{recommendation.code}: "
                for message in messages:
                    self.add_error(field, prefix + message)
            raise


class EvidenceRetractionForm(forms.Form):
    """Why recorded evidence is withdrawn; the evidence itself stays on record, marked as retracted."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # checked by the service, with its own message
        help_text="Why the evidence is withdrawn (e.g. the link points to the wrong page). Shown publicly beside it.",
    )


class RecommendationAdminForm(forms.ModelForm):
    """The change form's editable fields, with the version the analyst loaded (for stale-edit detection)."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Recommendation
        # Links are edited in their own inline on the same page, and saved with these in one edit.
        fields = [name for name in EDITABLE_FIELDS_IN_ORDER if name not in ("links",)]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version

    def clean(self):
        data = super().clean()
        loaded = data.get("loaded_version")
        if self.instance.pk and loaded is not None and loaded != self.instance.version:
            # Caught here so the analyst keeps what they typed; the service checks again under a lock.
            raise ValidationError(ERROR_STALE_VERSION.format(expected=loaded, actual=self.instance.version))
        return data
