"""Forms that analysts fill in: recording a status change (one item or many), editing an item, retracting evidence."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recommendations import log_wording
from recommendations.models import Evidence, Recommendation
from recommendations.services import (
    EDITABLE_FIELDS_IN_ORDER,
    ERROR_EFFECTIVE_DATE_FUTURE,
    ERROR_NOTE_REQUIRED,
    ERROR_STALE_VERSION,
    NEW_EVIDENCE,
    StaleVersionError,
    recommendation_change_status,
)
from recommendations.vocabulary import STATUS_DEFINITIONS, Status

ERROR_EVIDENCE_TITLE_REQUIRED = _(
    "Give the evidence a title (what the linked page is), or leave the web address empty."
)
ERROR_EVIDENCE_URL_REQUIRED = _("Enter the evidence's web address, or leave its other fields empty.")
ERROR_EVIDENCE_URL_INVALID = _(
    "The evidence's web address is not a web address: enter it whole, starting with https:// or http:// "
    "(e.g. https://example.org/report)."
)
# A date typed in a box: the box, its hint and its message all say YYYY-MM-DD (as each language writes it).
# Translators: the format of a date typed in a box, as its placeholder shows it (French: AAAA-MM-JJ).
DATE_FORMAT_HINT = _("YYYY-MM-DD")
HELP_DATE_IF_KNOWN = _("YYYY-MM-DD, if known.")
ERROR_EFFECTIVE_DATE_FORMAT = _("Enter the effective date as YYYY-MM-DD, e.g. 2024-05-01.")
ERROR_EVIDENCE_DATE_FORMAT = _("Enter the evidence date as YYYY-MM-DD, e.g. 2024-05-01.")
ERROR_DUE_DATE_FORMAT = _("Enter the due date as YYYY-MM-DD, e.g. 2024-05-01.")
STALE_CODE = "stale_version"
HELP_REASSESSMENT = _(
    "Choosing the current status again records a reassessment: the status stays, reviewed on the effective date."
)
HELP_BULK_REASSESSMENT = _(
    "An item already in the chosen status gets a reassessment: it stays, reviewed on the effective date."
)

# Service errors arrive keyed by the service's argument names; these are the form's fields.
_EVIDENCE_FIELD_MAP = {
    "url": "evidence_url",
    "title": "evidence_title",
    "publisher": "evidence_publisher",
    "published": "evidence_date",
    "quote": "evidence_quote",
    "non_field_errors": "evidence_url",
}


class IsoDateInput(forms.DateInput):
    """A date typed as YYYY-MM-DD, whatever the browser's language: a text box whose placeholder says so.

    (A browser's own date box shows the format of the analyst's locale, e.g. mm/dd/yyyy, beside a hint
    that says otherwise.)
    """

    input_type = "text"

    def __init__(self, attrs=None):
        defaults = {
            "placeholder": DATE_FORMAT_HINT,
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": 10,
            "maxlength": 10,
            "class": "tracker-date",
        }
        super().__init__(attrs={**defaults, **(attrs or {})}, format="%Y-%m-%d")


def iso_date_field(label: str, *, invalid: str, **kwargs) -> forms.DateField:
    """Return a date field typed YYYY-MM-DD, whose error (`invalid`) names the field."""
    return forms.DateField(
        label=label,
        widget=IsoDateInput(),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": invalid},
        **kwargs,
    )


def _status_choices(current: str | None = None) -> list[tuple[str, str]]:
    return [
        (
            status.value,
            (
                gettext("%(status)s (current) — %(definition)s")
                if status == current
                else gettext("%(status)s — %(definition)s")
            )
            % {"status": status.label, "definition": STATUS_DEFINITIONS[status]},
        )
        for status in Status
    ]


class StatusChangeForm(forms.Form):
    """New status, note, effective date and optional evidence (new, or already recorded for the item).

    `loaded_version` and `loaded_at` say which version of the item the analyst saw when the form
    was opened: the change is recorded only against that version, and a refusal lists what
    changed since then.
    """

    status = forms.ChoiceField(
        label=_("New status"), choices=_status_choices, widget=forms.RadioSelect(attrs={"class": "tracker-radios"})
    )
    note = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,  # checked in clean() with the service's own message
        help_text=_("Why the status changed, or why it stays. Shown in the item's public timeline."),
    )
    effective_date = iso_date_field(
        _("Effective date"),
        invalid=ERROR_EFFECTIVE_DATE_FORMAT,
        initial=timezone.localdate,
        help_text=_("YYYY-MM-DD: when the new status took effect, or the day of the review (today or earlier)."),
    )
    existing_evidence = forms.ModelChoiceField(
        label=_("Evidence already recorded"),
        queryset=Evidence.objects.none(),
        required=False,
        help_text=_("Or add new evidence below."),
    )
    evidence_url = forms.URLField(
        label=_("Evidence web address"),
        required=False,
        assume_scheme="https",
        max_length=500,
        error_messages={"invalid": ERROR_EVIDENCE_URL_INVALID},
        help_text=_("http or https; typed without one, https is assumed."),
    )
    evidence_title = forms.CharField(label=_("Evidence title"), required=False, max_length=300)
    evidence_publisher = forms.CharField(label=_("Publisher"), required=False, max_length=200)
    evidence_date = iso_date_field(
        _("Evidence date"), invalid=ERROR_EVIDENCE_DATE_FORMAT, required=False, help_text=HELP_DATE_IF_KNOWN
    )
    evidence_quote = forms.CharField(label=_("Quote"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    loaded_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    EVIDENCE_FIELDS = ("existing_evidence", "evidence_url", "evidence_title", "evidence_publisher", "evidence_date")
    EVIDENCE_FIELDS += ("evidence_quote",)

    def __init__(self, *args, recommendation: Recommendation | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recommendation = recommendation
        if recommendation is not None:
            # Retracted evidence stays on record, but no new change can stand on it.
            self.fields["existing_evidence"].queryset = recommendation.evidence.filter(retraction__isnull=True)
            self.fields["status"].choices = _status_choices(recommendation.status)
            self.fields["status"].help_text = HELP_REASSESSMENT
        else:
            del self.fields["existing_evidence"]
            self.fields["status"].help_text = HELP_BULK_REASSESSMENT

    def clean(self):
        data = super().clean()
        # The service checks these too; checking here shows every problem at once.
        if not (data.get("note") or "").strip():
            self.add_error("note", ERROR_NOTE_REQUIRED)
        if data.get("effective_date") and data["effective_date"] > timezone.localdate():
            self.add_error("effective_date", ERROR_EFFECTIVE_DATE_FUTURE)
        # A web address that is not one has its own message; do not also say that none was entered.
        url_refused = "evidence_url" in self.errors
        has_url = bool(data.get("evidence_url"))
        other = any(data.get(f) for f in ("evidence_title", "evidence_publisher", "evidence_date", "evidence_quote"))
        if has_url and not data.get("evidence_title"):
            self.add_error("evidence_title", ERROR_EVIDENCE_TITLE_REQUIRED)
        if other and not has_url and not url_refused:
            self.add_error("evidence_url", ERROR_EVIDENCE_URL_REQUIRED)
        return data

    def record_for(self, recommendation: Recommendation, *, user, expected_version: int | None = None):
        """Record the change for one item through the service and return the StatusChange.

        Raises the service's ValidationError (or StaleVersionError) when it refuses; nothing is
        then written. New evidence is recorded with the change, in the service's one
        transaction, or not at all.
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

    def refusal_reasons(self, exc: ValidationError) -> list[tuple[str | None, str]]:
        """Return a service refusal as (form field name or None, message) pairs."""
        reasons = []
        for name, messages in exc.message_dict.items():
            if name.startswith(f"{NEW_EVIDENCE}."):
                name = _EVIDENCE_FIELD_MAP.get(name.removeprefix(f"{NEW_EVIDENCE}."), "evidence_url")
            field = name if name in self.fields else None
            reasons.extend((field, message) for message in messages)
        return reasons

    def save_for(self, recommendation: Recommendation, *, user, expected_version: int | None = None):
        """Record the change for one item; on a refusal, put the service's messages on this form's fields.

        Returns the StatusChange, or raises the ValidationError after adding its messages to the
        form. A stale version is left for the page to explain (what is saved now, and the
        analyst's input beside it), not added to a field.
        """
        try:
            return self.record_for(recommendation, user=user, expected_version=expected_version)
        except StaleVersionError:
            raise
        except ValidationError as exc:
            for field, message in self.refusal_reasons(exc):
                self.add_error(field, message)
            raise

    def entered(self) -> list[tuple[str, str]]:
        """Return what the analyst entered, as (label, value) pairs for a page to show beside what is saved."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        rows = []
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            value = data.get(name) if name in data else self.data.get(self.add_prefix(name), "")
            if name == "status" and value in Status.values:
                value = Status(value).label
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            if value in (None, ""):
                continue
            rows.append((str(field.label or name.replace("_", " ").capitalize()), str(value)))
        return rows

    def summary_for(self, recommendation: Recommendation) -> str:
        """Return what recording this form for an item would say: a change or a reassessment."""
        data = self.cleaned_data
        return log_wording.entry_summary(recommendation.status, data["status"], data["effective_date"])


class EvidenceRetractionForm(forms.Form):
    """Why recorded evidence is withdrawn; the evidence itself stays on record, marked as retracted."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # checked by the service, with its own message
        label=_("Reason"),
        help_text=_(
            "Why the evidence is withdrawn (e.g. the link points to the wrong page). Shown publicly beside it."
        ),
    )


def links_signature(specs) -> str:
    """Return a set of links (kind, target id, note) as one comparable string."""
    return json.dumps(sorted([kind, int(to), note] for kind, to, note in specs))


# The item's editable fields that the change form holds (links have their own inline on the same page).
ADMIN_EDITABLE_FIELDS = tuple(name for name in EDITABLE_FIELDS_IN_ORDER if name != "links")


class RecommendationAdminForm(forms.ModelForm):
    """The change form's editable fields, and what the analyst loaded: its version, its links, and when.

    Each editable field carries the value the analyst loaded beside the one they send
    (`show_hidden_initial`), so `changed_data` is what *they* changed, even when someone
    else changed the item since: a re-applied edit writes only those fields.
    """

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    loaded_links = forms.CharField(widget=forms.HiddenInput, required=False)
    loaded_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    # The button that re-applies a refused edit names the version it was shown.
    REAPPLY = "_reapply_version"

    class Meta:
        model = Recommendation
        # Links are edited in their own inline on the same page, and saved with these in one edit.
        fields = list(ADMIN_EDITABLE_FIELDS)
        widgets = {
            "themes": forms.CheckboxSelectMultiple(attrs={"class": "tracker-checklist"}),
            "owners": forms.CheckboxSelectMultiple(attrs={"class": "tracker-checklist"}),
            "due_date": IsoDateInput(),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ADMIN_EDITABLE_FIELDS:
            if name in self.fields:
                self.fields[name].show_hidden_initial = True
        if "due_date" in self.fields:
            field = self.fields["due_date"]
            field.input_formats = ["%Y-%m-%d"]
            field.error_messages["invalid"] = ERROR_DUE_DATE_FORMAT
            field.help_text = (
                gettext("YYYY-MM-DD. %(help)s") % {"help": field.help_text} if field.help_text else DATE_FORMAT_HINT
            )
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version
            self.fields["loaded_links"].initial = links_signature(
                (link.kind, link.to_recommendation_id, link.note) for link in self.instance.links_out.all()
            )
            self.fields["loaded_at"].initial = timezone.now()

    def expected_version(self) -> int | None:
        """Return the version the save must find: the one a re-apply button names, else the one loaded."""
        reapply = self.data.get(self.REAPPLY)
        if reapply and str(reapply).isdigit():
            return int(reapply)
        return self.cleaned_data.get("loaded_version")

    def clean(self):
        data = super().clean()
        expected = self.expected_version()
        if self.instance.pk and expected is not None and expected != self.instance.version:
            # Caught here so the analyst keeps what they typed; the service checks again under a lock.
            raise ValidationError(
                ERROR_STALE_VERSION.format(expected=expected, actual=self.instance.version), code=STALE_CODE
            )
        return data

    def is_stale(self) -> bool:
        """True when the form was refused because someone else changed the item since it was loaded."""
        return any(error.code == STALE_CODE for error in self.non_field_errors().as_data())

    def analyst_changes(self) -> list[str]:
        """Return the editable fields the analyst changed from what they loaded."""
        return [name for name in self.changed_data if name in ADMIN_EDITABLE_FIELDS]
