"""Serializers of the API.

Input serializers validate what a write takes, before the service sees it; the
service's own checks then apply. Output serializers list the fields of what
the read paths return (built as dicts by `selectors.py`): they are what the
OpenAPI schema shows, and the tests check that the two agree.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from recommendations import log_wording
from recommendations.models import MAX_SCHEDULE_MONTHS, Owner, Recommendation, Source, Theme
from recommendations.roles import ANALYST_GROUP
from recommendations.services import ERROR_NOTE_REQUIRED
from recommendations.translation import translation_columns
from recommendations.vocabulary import Level, LinkStatus, OwnerCountry, OwnerKind, RelationKind, SourceKind, Status

# A reference by a text key that names nothing known, and one that is not text, for each kind of reference
# (whole sentences, not a noun put into one: French and Japanese words change with the noun).
ERROR_UNKNOWN_REFERENCE = {
    "source": _("Unknown source: {value}. Use one of: {known}."),
    "theme": _("Unknown theme: {value}. Use one of: {known}."),
    "owner": _("Unknown owner: {value}. Use one of: {known}."),
    "analyst": _("Unknown analyst: {value}. Use one of: {known}."),
}
ERROR_REFERENCE_TYPE = {
    "source": _("Give the source as a text slug."),
    "theme": _("Give the theme as a text slug."),
    "owner": _("Give the owner as a text slug."),
    "analyst": _("Give the analyst as a text username."),
}
# In "Use one of: {known}." when nothing is known yet.
NONE_KNOWN = pgettext_lazy("no known value to choose from", "none")
ERROR_READ_ONLY_FIELD = _("This field cannot be changed with PATCH.")
ERROR_STATUS_BY_PATCH = _("Change the status by POST to this item's status-changes/ (it needs a note and a date).")
ERROR_EVIDENCE_BOTH = _("Give either `evidence` (the id of evidence already recorded) or `new_evidence`, not both.")
ERROR_EVIDENCE_UNKNOWN = _("No evidence with id {value} is recorded for {code}; see its evidence/ list.")
ERROR_NOT_TEXT = _("Give {field} as text in double quotes, not {kind}.")
ERROR_NOT_UNICODE = _("Give {field} as valid Unicode text: remove the unpaired surrogate escape (\\ud800-\\udfff).")
ERROR_NOT_BOOLEAN = _("Give true or false (a JSON boolean).")
ERROR_NOT_INTEGER = _("Give a whole number (a JSON integer, not text).")


@extend_schema_field(OpenApiTypes.STR)
class ReferenceField(serializers.RelatedField):
    """A related object given by a text key (a slug, a username); a miss lists the known keys."""

    def __init__(self, *, slug_field: str = "slug", what: str, **kwargs) -> None:
        # `what`: the kind of reference (a key of ERROR_UNKNOWN_REFERENCE), which names it in the messages.
        self.slug_field, self.what = slug_field, what
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data or not data.strip():
            raise serializers.ValidationError(str(ERROR_REFERENCE_TYPE[self.what]))
        found = self.get_queryset().filter(**{self.slug_field: data.strip()}).first()
        if found is None:
            known = self.get_queryset().order_by(self.slug_field).values_list(self.slug_field, flat=True)[:50]
            raise serializers.ValidationError(
                ERROR_UNKNOWN_REFERENCE[self.what].format(value=data.strip(), known=", ".join(known) or NONE_KNOWN)
            )
        return found

    def to_representation(self, value) -> str:
        return getattr(value, self.slug_field)

    @classmethod
    def many_init(cls, *args, **kwargs):
        # As RelatedField.many_init, with a list field that takes lists only.
        list_kwargs = {key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS}
        return ReferenceListField(child_relation=cls(*args, **kwargs), **list_kwargs)


class ReferenceListField(serializers.ManyRelatedField):
    """A list of references: only a JSON list (DRF's own would take the keys of an object)."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


# What a JSON value that is not a string is, for the message (bool before int: True is an int).
_JSON_KINDS = (
    (bool, pgettext_lazy("a JSON value that is not text", "true or false")),
    (int | float, pgettext_lazy("a JSON value that is not text", "a number")),
    (list, pgettext_lazy("a JSON value that is not text", "a list")),
    (dict, pgettext_lazy("a JSON value that is not text", "an object")),
)


class TextField(serializers.CharField):
    """A text field that takes only a JSON string: DRF's CharField would turn a number into text.

    Text that is not valid Unicode (an unpaired surrogate escape, `"\\ud800"`) is refused too:
    the database could not store it.
    """

    default_error_messages = {"not_text": ERROR_NOT_TEXT, "not_unicode": ERROR_NOT_UNICODE}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            kind = next((name for types, name in _JSON_KINDS if isinstance(data, types)), _JSON_KINDS[1][1])
            self.fail("not_text", field=self.field_name, kind=kind)
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("not_unicode", field=self.field_name)
        return super().to_internal_value(data)


class JsonBooleanField(serializers.BooleanField):
    """A yes-or-no field that takes only JSON `true` or `false`: DRF's BooleanField would read 0, 1, "yes" or "on"."""

    default_error_messages = {"invalid": ERROR_NOT_BOOLEAN}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class JsonIntegerField(serializers.IntegerField):
    """A whole number that takes only a JSON integer: DRF's IntegerField would read "12" or 12.0."""

    default_error_messages = {"invalid": ERROR_NOT_INTEGER}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def _analysts():
    return get_user_model().objects.filter(groups__name=ANALYST_GROUP, is_active=True)


# --- input -----------------------------------------------------------------


class EvidenceInputSerializer(serializers.Serializer):
    """New evidence: a web address (http or https) with a title, or a source document held in the tracker."""

    title = TextField(max_length=300, help_text="What the evidence is, e.g. the page's title.")
    url = TextField(max_length=500, required=False, allow_blank=True, default="", help_text="http:// or https:// only.")
    source = ReferenceField(
        queryset=Source.objects.all(),
        what="source",
        required=False,
        allow_null=True,
        default=None,
        help_text="Slug of a source document held in the tracker (see /api/sources/), instead of or besides a url.",
    )
    publisher = TextField(max_length=200, required=False, allow_blank=True, default="")
    published = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="The date of the evidence itself."
    )
    quote = TextField(
        required=False, allow_blank=True, default="", help_text="The passage that supports the status, exactly."
    )


class StatusChangeInputSerializer(serializers.Serializer):
    """A status change to record: the new status, why, since when, and on what evidence."""

    status = serializers.ChoiceField(choices=Status.choices, help_text="The new status code (see /api/statuses/).")
    note = TextField(
        error_messages={"blank": ERROR_NOTE_REQUIRED, "required": ERROR_NOTE_REQUIRED},
        help_text="Why the status changed; shown in the item's public timeline.",
    )
    effective_date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the new status took effect (today or earlier, not before the current status date). "
        "Default: today.",
    )
    evidence = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=2**53,
        help_text="The id of evidence already recorded for this item.",
    )
    new_evidence = EvidenceInputSerializer(
        required=False, allow_null=True, default=None, help_text="Evidence to record with the change."
    )

    def validate(self, attrs):
        if attrs.get("evidence") is not None and attrs.get("new_evidence") is not None:
            raise serializers.ValidationError({"evidence": [ERROR_EVIDENCE_BOTH]})
        evidence_id = attrs.get("evidence")
        if evidence_id is not None:
            item = self.context["recommendation"]
            found = item.evidence.filter(pk=evidence_id).first()
            if found is None:
                raise serializers.ValidationError(
                    {"evidence": [ERROR_EVIDENCE_UNKNOWN.format(value=evidence_id, code=item.code)]}
                )
            attrs["evidence"] = found
        return attrs


class RecommendationUpdateSerializer(serializers.Serializer):
    """The fields of an item that PATCH may change; each is optional. Others are refused by name."""

    title = TextField(max_length=200, required=False)
    editorial_note = TextField(required=False, allow_blank=True)
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    due_date_note = TextField(max_length=300, required=False, allow_blank=True)
    schedule_months = JsonIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_SCHEDULE_MONTHS,
        help_text="The longest interval the text allows between two occurrences, in months; null: no schedule.",
    )
    schedule_note = TextField(max_length=300, required=False, allow_blank=True)
    priority = JsonBooleanField(
        required=False, help_text="true to flag the item as a priority (give `priority_note` with it)."
    )
    priority_note = TextField(
        max_length=300, required=False, allow_blank=True, help_text="Why it is a priority; required while it is one."
    )
    themes = ReferenceField(
        queryset=Theme.objects.all(), what="theme", many=True, required=False, help_text="Theme slugs (all of them)."
    )
    owners = ReferenceField(
        queryset=Owner.objects.all(), what="owner", many=True, required=False, help_text="Owner slugs (all of them)."
    )
    steward = ReferenceField(
        queryset=_analysts(),
        slug_field="username",
        what="analyst",
        required=False,
        allow_null=True,
        help_text="Username of the analyst who keeps this item current, or null.",
    )

    def get_fields(self):
        """The declared fields, and the title and notes in each other language (`title_fr`, `title_ja`, …)."""
        fields = super().get_fields()
        for name in translation_columns(Recommendation):
            field = Recommendation._meta.get_field(name)
            fields[name] = TextField(max_length=field.max_length, required=False, allow_blank=True)
        return fields

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = {name for name in data if name not in self.fields}
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [ERROR_STATUS_BY_PATCH if name == "status" else ERROR_READ_ONLY_FIELD]
                        for name in sorted(unknown)
                    }
                )
        return super().to_internal_value(data)


# --- output (documentation of the dicts that selectors.py builds) ----------


class EvidenceBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="The web address, or empty when the evidence is a source document.")
    source = serializers.CharField(allow_null=True, help_text="Slug of a source document held in the tracker.")
    link = serializers.CharField(help_text="Where to read it: the url, or the source document's page.")


class EvidenceListItemSerializer(EvidenceBriefSerializer):
    published = serializers.DateField(allow_null=True)


class EvidenceSerializer(EvidenceBriefSerializer):
    publisher = serializers.CharField()
    published = serializers.DateField(allow_null=True)
    quote = serializers.CharField()
    added_at = serializers.DateTimeField()
    retracted_at = serializers.DateTimeField(
        allow_null=True, help_text="When an analyst retracted it (null: it stands). Retracted evidence stays on record."
    )
    retracted_by = serializers.CharField(allow_null=True, help_text="Who retracted it.")
    retraction_reason = serializers.CharField(help_text="Why it was retracted; empty while it stands.")
    link_status = serializers.ChoiceField(
        choices=LinkStatus.choices,
        allow_null=True,
        help_text="The health of its web address at the last check: dead when not found (404, 410) once, or not "
        "found, failing on the server, not answering or unreachable on two checks in a row; failing when a check "
        "failed but the link is not dead (yet). Null for evidence without a web address. Dead evidence stays on "
        "record.",
    )
    link_checked_at = serializers.DateTimeField(
        allow_null=True, help_text="When its web address was last checked (null: never)."
    )
    archived_url = serializers.CharField(
        help_text="For a dead link: the Internet Archive's address for its copy nearest the evidence's date. The "
        "archive answers it with the nearest snapshot it holds; it is not a verified snapshot. Empty otherwise."
    )


class EditSerializer(serializers.Serializer):
    edited_at = serializers.DateTimeField()
    edited_by = serializers.CharField(allow_null=True, help_text="The analyst's username; null for the seed.")
    changes = serializers.DictField(
        child=serializers.DictField(), help_text='Each changed field: {"before": ..., "after": ...}.'
    )
    note = serializers.CharField()
    version = serializers.IntegerField(help_text="The item's version after the edit.")


class EvidenceRetractionInputSerializer(serializers.Serializer):
    reason = TextField(
        min_length=1, max_length=2000, help_text="Why the evidence is withdrawn; shown publicly beside it."
    )


OVERDUE_HELP = (
    "Past its due date and not closed, or late on its recurring schedule: its last occurrence (see "
    "`last_occurrence`) is older than `schedule_months` allow, and it is not superseded or not pursued. With "
    "`as_of`, overdue on that date with the status then."
)
SCHEDULE_MONTHS_HELP = (
    "Set only where the text sets a recurring schedule: the longest interval it allows between two occurrences, "
    "in months (a meeting 'every 12 to 18 months' is 18)."
)


class RecommendationListItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable identifier, used in URLs.")
    url = serializers.URLField(help_text="This item in the API.")
    title = serializers.CharField()
    text = serializers.CharField(help_text="The recommendation, quoted exactly from its source.")
    source = serializers.CharField(help_text="Source document slug.")
    section = serializers.CharField(help_text="Where the text stands in the document, heading by heading.")
    parent = serializers.CharField(allow_null=True, help_text="Code of the item this one is part of.")
    level = serializers.ChoiceField(choices=Level.choices)
    themes = serializers.ListField(child=serializers.CharField(), help_text="Theme slugs.")
    owners = serializers.ListField(child=serializers.CharField(), help_text="Owner slugs: who must act.")
    status = serializers.ChoiceField(
        choices=Status.choices, help_text="The current status; with `as_of`, the status in effect on that date."
    )
    status_date = serializers.DateField(
        allow_null=True,
        help_text="When that status took effect (null: never assessed, or not yet assessed on the `as_of` date).",
    )
    as_of = serializers.DateField(
        allow_null=True, help_text="The `as_of` date the status is read on, as given; null for today's status."
    )
    due_date = serializers.DateField(allow_null=True, help_text="Set only where the text sets a deadline.")
    overdue = serializers.BooleanField(help_text=OVERDUE_HELP)
    schedule_months = serializers.IntegerField(allow_null=True, help_text=SCHEDULE_MONTHS_HELP)
    priority = serializers.BooleanField(help_text="Flagged by analysts as a priority to follow.")
    evidence = EvidenceListItemSerializer(many=True)
    version = serializers.IntegerField(help_text="Increases with every change; the detail's ETag.")
    updated_at = serializers.DateTimeField()


class SourceBriefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    short_title = serializers.CharField()
    published = serializers.DateField()
    url = serializers.CharField(help_text="Public address of the document, if any.")


class ItemBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    url = serializers.URLField()
    title = serializers.CharField()


class ChildItemSerializer(ItemBriefSerializer):
    status = serializers.ChoiceField(choices=Status.choices)


class RelatedItemSerializer(ChildItemSerializer):
    source = serializers.CharField()
    kind = serializers.ChoiceField(choices=RelationKind.choices, help_text="The kind of link.")
    direction = serializers.ChoiceField(
        choices=["outgoing", "incoming"], help_text="outgoing: this item <kind> the other; incoming: the reverse."
    )
    label = serializers.CharField(help_text="How the other item stands to this one, e.g. 'Followed up by'.")
    note = serializers.CharField()


class StatusChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    recommendation = serializers.CharField(help_text="The item's code.")
    recommendation_url = serializers.URLField()
    from_status = serializers.ChoiceField(choices=Status.choices)
    to_status = serializers.ChoiceField(choices=Status.choices)
    kind = serializers.ChoiceField(
        choices=[log_wording.KIND_CHANGE, log_wording.KIND_REASSESSMENT],
        help_text="`reassessment` when the entry keeps the status it found (`from_status` = `to_status`): "
        "reviewed and found unchanged; else `change`.",
    )
    summary = serializers.CharField(
        help_text="The entry in words, e.g. 'status changed from In progress to Implemented, effective 2019-08-24' "
        "or 'still In progress, reviewed on 2024-05-01'."
    )
    note = serializers.CharField()
    effective_date = serializers.DateField()
    recorded_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(allow_null=True, help_text="The analyst's username; null for seeded statuses.")
    evidence = EvidenceBriefSerializer(allow_null=True)


class RecommendationDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    url = serializers.URLField()
    page_url = serializers.URLField(help_text="The reviewer page of this item.")
    title = serializers.CharField()
    text = serializers.CharField()
    editorial_note = serializers.CharField()
    source = SourceBriefSerializer()
    section = serializers.CharField()
    level = serializers.ChoiceField(choices=Level.choices)
    themes = serializers.ListField(child=serializers.CharField())
    owners = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(
        choices=Status.choices, help_text="The current status; with `as_of`, the status in effect on that date."
    )
    status_label = serializers.CharField()
    status_definition = serializers.CharField()
    status_date = serializers.DateField(allow_null=True, help_text="When that status took effect.")
    as_of = serializers.DateField(
        allow_null=True, help_text="The `as_of` date the status is read on, as given; null for today's status."
    )
    due_date = serializers.DateField(allow_null=True)
    due_date_note = serializers.CharField()
    overdue = serializers.BooleanField(help_text=OVERDUE_HELP)
    schedule_months = serializers.IntegerField(allow_null=True, help_text=SCHEDULE_MONTHS_HELP)
    schedule_note = serializers.CharField(help_text="How the schedule was read from the text.")
    last_occurrence = serializers.DateField(
        allow_null=True,
        help_text="With a schedule: the latest of the document's date, its status changes' effective dates and its "
        "evidence's dates (retracted evidence aside), up to `as_of` when given. Null without a schedule.",
    )
    next_occurrence_due = serializers.DateField(
        allow_null=True,
        help_text="With a schedule: the day by which the next occurrence is due (`schedule_months` after the last). "
        "Null without a schedule.",
    )
    priority = serializers.BooleanField(help_text="Flagged by analysts as a priority to follow.")
    priority_note = serializers.CharField(help_text="Why it is a priority.")
    steward = serializers.CharField(allow_null=True, help_text="Username of the analyst who keeps it current.")
    parent = ItemBriefSerializer(allow_null=True)
    children = ChildItemSerializer(many=True)
    related = RelatedItemSerializer(many=True, help_text="Linked items across the documents.")
    evidence = EvidenceSerializer(many=True)
    status_history = StatusChangeSerializer(many=True, help_text="Oldest first; always the whole history.")
    edits = EditSerializer(
        many=True,
        help_text="The edit history of its other fields (title, notes, themes, owners, links…), oldest first.",
    )
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ThemeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    position = serializers.IntegerField()
    item_count = serializers.IntegerField()
    items = serializers.URLField(help_text="This theme's items in the API.")


class OwnerSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(help_text="Today's name.")
    former_names = serializers.CharField(help_text="Names used in the source documents.")
    country = serializers.ChoiceField(choices=OwnerCountry.choices)
    kind = serializers.ChoiceField(choices=OwnerKind.choices)
    description = serializers.CharField()
    item_count = serializers.IntegerField()
    items = serializers.URLField()


class SourceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    short_title = serializers.CharField()
    authors = serializers.CharField()
    published = serializers.DateField()
    date_label = serializers.CharField()
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    url = serializers.CharField()
    description = serializers.CharField()
    item_count = serializers.IntegerField()
    page_url = serializers.URLField()
    items = serializers.URLField()


class StatusSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=Status.choices)
    label = serializers.CharField()
    definition = serializers.CharField()
    closed = serializers.BooleanField(help_text="Counts as done (implemented, superseded, not pursued).")
    item_count = serializers.IntegerField()
    items = serializers.URLField()


class ErrorSerializer(serializers.Serializer):
    """Every error of the API (see `exceptions.py`); in the schema, other keys are a 400's refused fields."""

    detail = serializers.CharField(help_text="What went wrong and what to fix, in a sentence.")
    current_version = serializers.IntegerField(
        required=False, help_text="412 only: the item's version now (its ETag without the quotes)."
    )
