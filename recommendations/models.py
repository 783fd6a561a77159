"""The tracker's data: documents, themes, owners, tracked recommendations,
their evidence and their append-only status history.

Models hold data and invariants (constraints, validators). Every write that
has a rule, above all a status change, lives in `services.py`.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from recommendations.translation import translation_of, words
from recommendations.vocabulary import (
    Level,
    LinkOutcome,
    LinkStatus,
    OwnerCountry,
    OwnerKind,
    RelationKind,
    SourceKind,
    Status,
    status_definition,
)

# Error messages, as constants so that tests and callers can refer to them.
ERROR_STATUS_CHANGE_APPEND_ONLY = (
    "Status changes are append-only: they cannot be edited or deleted. Record a new status change to correct a mistake."
)
ERROR_EVIDENCE_APPEND_ONLY = (
    "Recorded evidence is append-only: it cannot be edited or deleted. Retract it with a note saying why, "
    "and add the right evidence."
)
ERROR_EDIT_LOG_APPEND_ONLY = "An item's edit history is append-only: its entries cannot be edited or deleted."
ERROR_EVIDENCE_URL_SCHEME = "Enter a web address starting with http:// or https://."
ERROR_EVIDENCE_NEEDS_TARGET = "Give the evidence a web address, or choose a source document held in the tracker."

CODE_VALIDATOR = RegexValidator(
    r"^[A-Z0-9][A-Z0-9.\-]*$",
    "Use upper-case letters, digits, dots and hyphens only, starting with a letter or digit (e.g. JN97-R3.1).",
)
HTTP_URL_VALIDATOR = URLValidator(schemes=["http", "https"], message=ERROR_EVIDENCE_URL_SCHEME)
ERROR_PRIORITY_NOTE_REQUIRED = "Say why the item is a priority in the priority note; it is shown with the flag."
ERROR_SCHEDULE_MONTHS = "Give the schedule as a number of months from 1 to {max}, or leave it empty."
# Ten years: a longer interval is no schedule a tracker can hold anyone to.
MAX_SCHEDULE_MONTHS = 120


def _choices_q(field: str, choices: type[models.TextChoices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset whose rows cannot be updated or deleted in bulk: the record only grows."""

    def update(self, **kwargs):
        raise ValidationError(self.model.append_only_message)

    def delete(self):
        raise ValidationError(self.model.append_only_message)


class AppendOnlyModel(models.Model):
    """A row that is inserted once and never written again nor deleted.

    The database keeps the same rule with triggers (migrations 0002 and 0006),
    so not even plain SQL rewrites the record.
    """

    append_only_message = ""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        """Insert only: an existing entry is never written again."""
        if self.pk is not None and not self._state.adding:
            raise ValidationError(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(self.append_only_message)


class Source(models.Model):
    """A document whose recommendations the tracker follows (a study or a policy brief).

    Its full text is kept so that every quoted item can be checked against it and
    shown in place.
    """

    slug = models.SlugField(_("slug"), unique=True, help_text=_("Stable identifier used in URLs and filters."))
    title = models.CharField(_("title"), max_length=300)
    short_title = models.CharField(_("short title"), max_length=100, help_text=_("How the document is named in lists."))
    authors = models.CharField(_("authors"), max_length=300)
    published = models.DateField(
        _("published"), help_text=_("Publication date (the first of the month where only a month is known).")
    )
    date_label = models.CharField(
        _("date label"), max_length=50, help_text=_("The date as the document gives it, e.g. 'March 1997'.")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    url = models.URLField(
        _("url"), blank=True, validators=[HTTP_URL_VALIDATOR], help_text=_("Public address of the document, if any.")
    )
    description = models.TextField(_("description"), blank=True)
    text = models.TextField(_("text"), blank=True, help_text=_("The document's full text, verbatim."))

    class Meta:
        ordering = ["published", "slug"]
        verbose_name = _("source document")
        constraints = [
            models.CheckConstraint(
                condition=_choices_q("kind", SourceKind),
                name="%(app_label)s_%(class)s_kind_valid",
                violation_error_message="Unknown source kind.",
            ),
        ]

    def __str__(self) -> str:
        return self.short_title

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    def get_absolute_url(self) -> str:
        """Return the reviewer page listing this document's items."""
        return reverse("recommendations:source-detail", kwargs={"slug": self.slug})


class Theme(models.Model):
    """A subject area that reviewers filter by (e.g. defence exchanges and exercises)."""

    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0, help_text=_("Order in facets and charts."))
    # The tracker's own words in French and Japanese (recommendations/translation.py).
    name_fr = translation_of(name, "fr")
    name_ja = translation_of(name, "ja")
    description_fr = translation_of(description, "fr")
    description_ja = translation_of(description, "ja")

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self) -> str:
        return words(self, "name").text

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class Owner(models.Model):
    """A body that must act on a recommendation: a ministry, armed force, agency,
    legislature or non-governmental body, named as it is today."""

    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("Today's name."))
    former_names = models.CharField(
        _("former names"),
        max_length=300,
        blank=True,
        help_text=_("Names used in the source documents, e.g. 'DFAIT' for Global Affairs Canada."),
    )
    country = models.CharField(_("country"), max_length=10, choices=OwnerCountry.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=OwnerKind.choices)
    description = models.TextField(_("description"), blank=True)
    # Each body's official name in French and Japanese, and the description in the tracker's words.
    name_fr = translation_of(name, "fr")
    name_ja = translation_of(name, "ja")
    description_fr = translation_of(description, "fr")
    description_ja = translation_of(description, "ja")

    class Meta:
        ordering = ["country", "name"]
        verbose_name = _("owner")
        verbose_name_plural = _("owners")
        constraints = [
            models.CheckConstraint(
                condition=_choices_q("country", OwnerCountry),
                name="%(app_label)s_%(class)s_country_valid",
                violation_error_message="Country must be Canada, Japan or joint.",
            ),
            models.CheckConstraint(
                condition=_choices_q("kind", OwnerKind),
                name="%(app_label)s_%(class)s_kind_valid",
                violation_error_message="Unknown owner kind.",
            ),
        ]

    def __str__(self) -> str:
        return words(self, "name").text

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


# The query parameter of a document's page that opens its outline at the page holding an item.
ITEM_IN_OUTLINE_PARAMETER = "item"


# Documents in the order they entered the tracker (the seed loads 1997 before 2018), then
# the items' places within each. Both columns are in one index, so even a corpus of
# hundreds of thousands of items pages in reading order without sorting.
READING_ORDER = ("source_id", "position")


class RecommendationQuerySet(models.QuerySet):
    """Named queries over recommendations."""

    def in_reading_order(self) -> RecommendationQuerySet:
        """Return items ordered as they stand in their documents."""
        return self.order_by(*READING_ORDER)

    def top_level(self) -> RecommendationQuerySet:
        """Return items that are not sub-items of another."""
        return self.filter(parent__isnull=True)

    def with_list_relations(self) -> RecommendationQuerySet:
        """Return the queryset with what list views show, fetched in a fixed number of queries."""
        return self.select_related("source", "parent").prefetch_related("themes", "owners")


class Recommendation(models.Model):
    """A tracked recommendation: one distinct action asked for by a source document,
    quoted verbatim, with its current status and the version used for safe concurrent writes."""

    code = models.CharField(
        _("code"),
        max_length=32,
        unique=True,
        validators=[CODE_VALIDATOR],
        help_text=_("Stable human-readable identifier used in URLs; never reused."),
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="recommendations"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("The item this one is a part of."),
    )
    position = models.PositiveIntegerField(default=0, help_text=_("Reading order within the source document."))
    section = models.CharField(
        _("section"), max_length=400, help_text=_("Where the text stands in the document, heading by heading.")
    )
    title = models.CharField(_("title"), max_length=200, help_text=_("A short title in the tracker's own words."))
    text = models.TextField(_("text"), help_text=_("The recommendation quoted exactly from the source."))
    editorial_note = models.TextField(
        _("editorial note"),
        blank=True,
        help_text=_("The tracker's note on the text, e.g. the reading of an evident transcription error."),
    )
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    themes = models.ManyToManyField(Theme, verbose_name=_("themes"), blank=True, related_name="recommendations")
    owners = models.ManyToManyField(
        Owner, verbose_name=_("owners"), blank=True, related_name="recommendations", help_text=_("Who must act.")
    )
    steward = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("steward"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stewarded_recommendations",
        help_text=_("The analyst who keeps this item current."),
    )
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.NOT_ASSESSED)
    status_date = models.DateField(
        _("status date"), null=True, blank=True, help_text=_("The date the current status took effect.")
    )
    due_date = models.DateField(
        _("due date"), null=True, blank=True, help_text=_("Set only where the text sets a deadline.")
    )
    due_date_note = models.CharField(
        _("due date note"), max_length=300, blank=True, help_text=_("How the due date was read from the text.")
    )
    schedule_months = models.PositiveSmallIntegerField(
        _("schedule (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SCHEDULE_MONTHS)],
        help_text=_(
            "Set only where the text sets a recurring schedule (a meeting every 12 to 18 months): the longest "
            "interval it allows between two occurrences, in months. The item is overdue once its last recorded "
            "occurrence is older than that."
        ),
    )
    schedule_note = models.CharField(
        _("schedule note"),
        max_length=300,
        blank=True,
        help_text=_("How the schedule was read from the text, in the tracker's words."),
    )
    priority = models.BooleanField(
        _("priority"),
        default=False,
        help_text=_("Flagged by analysts as a priority to follow; say why in the priority note."),
    )
    priority_note = models.CharField(
        _("priority note"),
        max_length=300,
        blank=True,
        help_text=_("Why the item is a priority (required while it is one; shown publicly)."),
    )
    related = models.ManyToManyField(
        "self", through="RecommendationLink", symmetrical=False, related_name="+", blank=True
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, help_text=_("Increases with every change; used for If-Match.")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, db_index=True)
    search_document = SearchVectorField(
        null=True,
        editable=False,
        help_text=_("Title and text for full-text search, kept by the database itself (PostgreSQL only)."),
    )
    # The tracker's own words in French and Japanese; the quoted text stays as published.
    title_fr = translation_of(title, "fr")
    title_ja = translation_of(title, "ja")
    editorial_note_fr = translation_of(editorial_note, "fr")
    editorial_note_ja = translation_of(editorial_note, "ja")
    due_date_note_fr = translation_of(due_date_note, "fr")
    due_date_note_ja = translation_of(due_date_note, "ja")
    schedule_note_fr = translation_of(schedule_note, "fr")
    schedule_note_ja = translation_of(schedule_note, "ja")
    priority_note_fr = translation_of(priority_note, "fr")
    priority_note_ja = translation_of(priority_note, "ja")

    objects = RecommendationQuerySet.as_manager()

    class Meta:
        ordering = list(READING_ORDER)
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        constraints = [
            models.CheckConstraint(
                condition=_choices_q("status", Status),
                name="%(app_label)s_%(class)s_status_valid",
                violation_error_message="Status must be one of the tracker's status codes.",
            ),
            models.CheckConstraint(
                condition=_choices_q("level", Level),
                name="%(app_label)s_%(class)s_level_valid",
                violation_error_message="Level must be bilateral, regional or global.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")),
                name="%(app_label)s_%(class)s_not_own_parent",
                violation_error_message="An item cannot be its own parent.",
            ),
            models.UniqueConstraint(
                fields=["source", "position"],
                name="%(app_label)s_%(class)s_unique_position_in_source",
                violation_error_message="Two items cannot share a place in the same document.",
            ),
            models.CheckConstraint(
                condition=Q(schedule_months__isnull=True)
                | Q(schedule_months__gte=1, schedule_months__lte=MAX_SCHEDULE_MONTHS),
                name="%(app_label)s_%(class)s_schedule_months_valid",
                violation_error_message=ERROR_SCHEDULE_MONTHS.format(max=MAX_SCHEDULE_MONTHS),
            ),
            models.CheckConstraint(
                condition=Q(priority=False) | ~Q(priority_note=""),
                name="%(app_label)s_%(class)s_priority_has_note",
                violation_error_message=ERROR_PRIORITY_NOTE_REQUIRED,
            ),
        ]
        indexes = [
            # "filtered by status, newest first" and the change-following `updated_since`
            models.Index(fields=["status", "-updated_at"], name="rec_status_updated_idx"),
            models.Index(fields=["level", "status"], name="rec_level_status_idx"),
            models.Index(fields=["due_date", "status"], name="rec_due_status_idx"),
            # "these items, with this status": a semi-join with a theme's or an owner's items reads this index alone
            # and carries source and level, so the source and level facets of such a set read it alone too
            models.Index(fields=["status", "id"], include=["source", "level"], name="rec_status_id_cover_idx"),
            # `priority=true` in reading order, and `overdue` over the few items with a schedule: partial indexes
            # that hold only those items.
            models.Index(fields=["source", "position"], condition=Q(priority=True), name="rec_priority_reading_idx"),
            models.Index(
                fields=["schedule_months"], condition=Q(schedule_months__isnull=False), name="rec_scheduled_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {words(self, 'title').text}"

    def natural_key(self) -> tuple[str]:
        return (self.code,)

    def get_absolute_url(self) -> str:
        """Return the reviewer page of this item."""
        return reverse("recommendations:recommendation-detail", kwargs={"code": self.code})

    def get_place_in_source_url(self) -> str:
        """Return the item in its place in its document's outline: the page of the outline that holds it."""
        return f"{self.source.get_absolute_url()}?{ITEM_IN_OUTLINE_PARAMETER}={self.code}#item-{self.code}"

    @property
    def status_definition(self) -> str:
        """Return the plain-language definition of the current status."""
        return status_definition(self.status)

    def clean(self) -> None:
        """Refuse a priority without its note, naming the note (the database's constraint says the same)."""
        super().clean()
        if self.priority and not (self.priority_note or "").strip():
            raise ValidationError({"priority_note": ERROR_PRIORITY_NOTE_REQUIRED})


class RecommendationLink(models.Model):
    """A directed link between two items, typically a 2018 step following up a 1997 recommendation."""

    from_recommendation = models.ForeignKey(
        Recommendation, verbose_name=_("from recommendation"), on_delete=models.CASCADE, related_name="links_out"
    )
    to_recommendation = models.ForeignKey(
        Recommendation, verbose_name=_("to recommendation"), on_delete=models.CASCADE, related_name="links_in"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RelationKind.choices)
    note = models.TextField(_("note"), blank=True, help_text=_("Why the two are linked."))

    class Meta:
        verbose_name = _("link between recommendations")
        verbose_name_plural = _("links between recommendations")
        constraints = [
            models.UniqueConstraint(
                fields=["from_recommendation", "to_recommendation", "kind"],
                name="%(app_label)s_%(class)s_unique_link",
                violation_error_message="These two items are already linked this way.",
            ),
            models.CheckConstraint(
                condition=~Q(from_recommendation=models.F("to_recommendation")),
                name="%(app_label)s_%(class)s_not_self",
                violation_error_message="An item cannot be linked to itself.",
            ),
            models.CheckConstraint(
                condition=_choices_q("kind", RelationKind),
                name="%(app_label)s_%(class)s_kind_valid",
                violation_error_message="Unknown kind of link.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_recommendation.code} {self.get_kind_display().lower()} {self.to_recommendation.code}"


class EvidenceQuerySet(AppendOnlyQuerySet):
    """Recorded evidence is never updated or deleted in bulk either."""

    def with_retraction(self) -> EvidenceQuerySet:
        """Return evidence with its retraction (if any) and its source fetched in the same query."""
        return self.select_related("source", "retraction", "retraction__retracted_by")

    def with_link_check(self) -> EvidenceQuerySet:
        """Return evidence with the latest check of its web address (if any) fetched in the same query."""
        return self.select_related("link_check")

    def with_link_status(self, status: str) -> EvidenceQuerySet:
        """Return the evidence whose web address has this `LinkStatus` (see `evidence_link_status_q`)."""
        return self.filter(evidence_link_status_q(status))


class Evidence(AppendOnlyModel):
    """What shows an item's status: a web page or a source document held in the tracker,
    with an optional quote.

    Append-only: a status change cites it, so it never changes under that change.
    A wrong link is retracted (`EvidenceRetraction`) and the right one added.
    """

    append_only_message = ERROR_EVIDENCE_APPEND_ONLY

    recommendation = models.ForeignKey(
        Recommendation, verbose_name=_("recommendation"), on_delete=models.PROTECT, related_name="evidence"
    )
    url = models.URLField(
        _("web address"),
        max_length=500,
        blank=True,
        validators=[HTTP_URL_VALIDATOR],
        help_text=_("http or https only."),
    )
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cited_as_evidence",
        help_text=_("A document held in the tracker, instead of or besides a web address."),
    )
    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    published = models.DateField(_("date"), null=True, blank=True, help_text=_("The date of the evidence itself."))
    quote = models.TextField(
        _("quote"), blank=True, help_text=_("The passage that supports the status, quoted exactly.")
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now, editable=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["recommendation", "published", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(url="") | Q(url__startswith="http://") | Q(url__startswith="https://"),
                name="%(app_label)s_%(class)s_url_http",
                violation_error_message=ERROR_EVIDENCE_URL_SCHEME,
            ),
            models.CheckConstraint(
                condition=~Q(url="") | Q(source__isnull=False),
                name="%(app_label)s_%(class)s_has_target",
                violation_error_message=ERROR_EVIDENCE_NEEDS_TARGET,
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def link(self) -> str:
        """Return where the evidence can be read: its URL, or the source document's page."""
        if self.url:
            return self.url
        return self.source.get_absolute_url() if self.source_id else ""

    @property
    def is_retracted(self) -> bool:
        """Return True when an analyst has retracted this evidence."""
        return hasattr(self, "retraction")

    @property
    def checked_link(self) -> EvidenceLinkCheck | None:
        """Return the latest check of the web address, or None (no web address, or not checked yet).

        Fetch it with `Evidence.objects.with_link_check()`, or reading it costs a query.
        """
        return getattr(self, "link_check", None) if self.url else None

    @property
    def link_status(self) -> str | None:
        """Return the `LinkStatus` of the web address, or None for evidence without one."""
        return link_status(self.checked_link) if self.url else None


class EvidenceRetraction(AppendOnlyModel):
    """An analyst's withdrawal of recorded evidence: who, when and why.

    The evidence itself stays as it was recorded, so the status changes that cite
    it keep their record; pages and the API show it as retracted, with the reason.
    """

    append_only_message = ERROR_EVIDENCE_APPEND_ONLY

    evidence = models.OneToOneField(
        Evidence, verbose_name=_("evidence"), on_delete=models.PROTECT, related_name="retraction"
    )
    reason = models.TextField(
        _("reason"), help_text=_("Why the evidence is withdrawn (e.g. the link pointed to the wrong page).")
    )
    retracted_at = models.DateTimeField(_("retracted at"), default=timezone.now, editable=False)
    retracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("retracted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence retraction")
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="%(app_label)s_%(class)s_reason_required",
                violation_error_message="A retraction needs a reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Retraction of {self.evidence}"


# --- the health of evidence web addresses ---------------------------------------------
# The dead-link rule, written once: the admin, the pages, the API and the link check
# all read it through `link_is_dead`, `link_status` and `evidence_link_status_q`.
# Failures that count toward a dead link: a 403 or 429 (CLIENT_ERROR) often means the
# site turns robots away, not that the page has gone, so it never makes a link dead.
LINK_FAILURES = frozenset({LinkOutcome.NOT_FOUND, LinkOutcome.SERVER_ERROR, LinkOutcome.TIMEOUT, LinkOutcome.REFUSED})
# A page the site says is gone is dead at once; other failures may pass, so they need a second check.
LINK_DEAD_AT_ONCE = frozenset({LinkOutcome.NOT_FOUND})
LINK_DEAD_AFTER_FAILURES = 2
LINK_WORKING = frozenset({LinkOutcome.OK, LinkOutcome.REDIRECTED})
ARCHIVE_URL = "https://web.archive.org/web/{stamp}/{url}"


def link_is_dead(outcome: str, consecutive_failures: int) -> bool:
    """Return True when a check's outcome, after this many consecutive failed checks, makes the link dead.

    Dead: not found (404 or 410) once, or not found, a server error, a timeout or a
    refused connection on `LINK_DEAD_AFTER_FAILURES` or more consecutive checks.
    """
    return outcome in LINK_DEAD_AT_ONCE or (
        outcome in LINK_FAILURES and consecutive_failures >= LINK_DEAD_AFTER_FAILURES
    )


def link_status(check: EvidenceLinkCheck | None) -> str:
    """Return the `LinkStatus` that a check (None: never checked) gives a web address."""
    if check is None:
        return LinkStatus.UNCHECKED
    if link_is_dead(check.outcome, check.consecutive_failures):
        return LinkStatus.DEAD
    if check.outcome in LINK_WORKING:
        return LinkStatus(check.outcome)
    return LinkStatus.FAILING


def evidence_link_status_q(status: str) -> Q:
    """Return the condition on evidence that `link_status` gives its web address `status`.

    The same rule as `link_is_dead` and `link_status`, for the database; the tests check that they agree.
    """
    outcome, failures = "link_check__outcome__in", "link_check__consecutive_failures"
    if status == LinkStatus.UNCHECKED:
        return ~Q(url="") & Q(link_check__isnull=True)
    if status == LinkStatus.DEAD:
        return Q(**{outcome: LINK_DEAD_AT_ONCE}) | Q(
            **{outcome: LINK_FAILURES, f"{failures}__gte": LINK_DEAD_AFTER_FAILURES}
        )
    if status in LINK_WORKING:
        return Q(link_check__outcome=status)
    if status == LinkStatus.FAILING:
        never_dead = set(LinkOutcome.values) - LINK_FAILURES - LINK_WORKING
        return Q(**{outcome: never_dead}) | Q(
            **{outcome: LINK_FAILURES - LINK_DEAD_AT_ONCE, f"{failures}__lt": LINK_DEAD_AFTER_FAILURES}
        )
    raise ValueError(f"Unknown link status {status!r}.")


def archived_copy_url(url: str, on: datetime.date) -> str:
    """Return the Internet Archive's address for its copy of `url` nearest to a date.

    The archive answers it with the snapshot closest to that date (or says it has none):
    it is where a copy would be, not a snapshot known to exist.
    """
    return ARCHIVE_URL.format(stamp=on.strftime("%Y%m%d"), url=url)


class EvidenceLinkCheck(models.Model):
    """The latest visit of one evidence web address: what it answered, and since when it has failed.

    A derived observation, not part of the record: the evidence itself is never
    changed, and this row is overwritten by each run of `manage.py check_evidence_links`
    (through `services.evidence_link_check_record`). A dead link keeps its evidence,
    with the archive's address for a copy offered beside it.
    """

    evidence = models.OneToOneField(Evidence, on_delete=models.CASCADE, related_name="link_check")
    checked_at = models.DateTimeField(
        _("checked at"), default=timezone.now, help_text=_("When the address was last visited.")
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=LinkOutcome.choices, help_text=_("What the last visit found.")
    )
    http_status = models.PositiveSmallIntegerField(
        _("http status"),
        null=True,
        blank=True,
        help_text=_("The HTTP status of the last answer; empty when no answer came."),
    )
    final_url = models.CharField(
        _("final address"), max_length=2000, blank=True, help_text=_("Where the address led after redirects.")
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True, help_text=_("What went wrong, in a few words."))
    archived_url = models.CharField(
        _("archived copy"),
        max_length=2100,
        blank=True,
        help_text=_(
            "For a dead link only: the Internet Archive's address for its copy nearest to the evidence's date "
            "(or the check's). The archive answers it with the nearest snapshot it holds; "
            "it is not a verified snapshot."
        ),
    )
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failures"),
        default=0,
        help_text=_(
            "How many checks in a row, up to the last, found it not found, failing on the server, "
            "not answering or unreachable."
        ),
    )
    failing_since = models.DateTimeField(
        _("failing since"),
        null=True,
        blank=True,
        help_text=_("When the first of those consecutive failed checks was made."),
    )

    class Meta:
        verbose_name = _("evidence link check")
        ordering = ["evidence"]
        constraints = [
            models.CheckConstraint(
                condition=_choices_q("outcome", LinkOutcome),
                name="%(app_label)s_%(class)s_outcome_valid",
                violation_error_message="Unknown outcome of a link check.",
            ),
        ]
        indexes = [models.Index(fields=["checked_at"], name="linkcheck_checked_idx")]

    def __str__(self) -> str:
        return f"{self.evidence_id}: {self.outcome} ({self.checked_at:%Y-%m-%d})"

    @property
    def is_dead(self) -> bool:
        """Return True when the link counts as dead (see `link_is_dead`)."""
        return link_is_dead(self.outcome, self.consecutive_failures)

    @property
    def status(self) -> str:
        """Return the `LinkStatus` of the address."""
        return link_status(self)

    @property
    def dead_since(self) -> datetime.datetime | None:
        """Return when the first of the failed checks that made the link dead was made, or None while it is not."""
        if not self.is_dead:
            return None
        return self.failing_since or self.checked_at


class StatusChangeQuerySet(AppendOnlyQuerySet):
    """Status changes cannot be updated or deleted in bulk either."""

    def in_feed_order(self) -> StatusChangeQuerySet:
        """Return changes oldest first, as recorded: the order a syncing script reads them."""
        return self.order_by("recorded_at", "id")


class StatusChange(AppendOnlyModel):
    """One entry of an item's append-only status log: from, to, why, when and on what evidence.

    Written only by `services.recommendation_change_status`; never edited or
    deleted. A mistake is corrected by recording a new change.
    """

    append_only_message = ERROR_STATUS_CHANGE_APPEND_ONLY

    recommendation = models.ForeignKey(
        Recommendation, verbose_name=_("recommendation"), on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(_("from status"), max_length=30, choices=Status.choices)
    to_status = models.CharField(_("to status"), max_length=30, choices=Status.choices)
    note = models.TextField(_("note"), help_text=_("Why the status changed; required."))
    effective_date = models.DateField(
        _("effective date"), help_text=_("The date the new status took effect (not in the future).")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The analyst who recorded it; empty for the seeded statuses."),
    )
    evidence = models.ForeignKey(
        Evidence,
        verbose_name=_("evidence"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
    )

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        ordering = ["recommendation", "effective_date", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        constraints = [
            models.CheckConstraint(
                condition=_choices_q("from_status", Status) & _choices_q("to_status", Status),
                name="%(app_label)s_%(class)s_statuses_valid",
                violation_error_message="Status must be one of the tracker's status codes.",
            ),
            models.CheckConstraint(
                condition=~Q(note=""),
                name="%(app_label)s_%(class)s_note_required",
                violation_error_message="A status change needs a note.",
            ),
        ]
        indexes = [
            models.Index(fields=["recorded_at", "id"], name="statuschange_feed_idx"),
            models.Index(fields=["recommendation", "effective_date"], name="statuschange_item_date_idx"),
            # the pages' "as of" stamp: the latest effective date across the log
            models.Index(fields=["effective_date"], name="statuschange_effective_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recommendation.code}: {self.from_status} → {self.to_status} ({self.effective_date})"


class StatusPeriod(models.Model):
    """Derived: the days one status held for an item, from its change's effective date until the next one's.

    Written by the status-change service in the same transaction as the change it
    derives from, so that "the status on a date" is one indexed look-up instead of a
    search of the log; `manage.py verify_tracker` recomputes every period from the log.
    `valid_until` is exclusive and empty while the status still holds; of two changes
    on one day, the earlier's period is empty (it held for no whole day).
    """

    recommendation = models.ForeignKey(Recommendation, on_delete=models.PROTECT, related_name="status_periods")
    change = models.OneToOneField(StatusChange, on_delete=models.PROTECT, related_name="period")
    status = models.CharField(max_length=30, choices=Status.choices)
    valid_from = models.DateField(help_text="The change's effective date: the first day the status held.")
    valid_until = models.DateField(
        null=True, blank=True, help_text="The next change's effective date (exclusive); empty while it holds."
    )

    class Meta:
        ordering = ["recommendation", "valid_from", "change"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="%(app_label)s_%(class)s_ends_after_it_starts",
                violation_error_message="A status period cannot end before it starts.",
            ),
        ]
        indexes = [
            # an item's status on a date: the latest period starting on or before it
            models.Index(fields=["recommendation", "valid_from", "change"], name="period_item_from_idx"),
            # the items with a status on a date, read from the index alone
            models.Index(
                fields=["status", "valid_from"],
                include=["valid_until", "recommendation"],
                name="period_status_cover_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recommendation_id}: {self.status} from {self.valid_from} until {self.valid_until or '…'}"


class ItemColumnsCopy(models.Model):
    """The item's columns that filters read, copied on derived rows (`facet_index.ITEM_COLUMNS`) by triggers."""

    status = models.CharField(max_length=30, choices=Status.choices)
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    level = models.CharField(max_length=20, choices=Level.choices)
    position = models.PositiveIntegerField()

    class Meta:
        abstract = True


class FacetEntry(ItemColumnsCopy):
    """Derived: an item's place under one of its themes or owners, with the item's columns that filters read.

    One row per link between an item and a theme (`kind` THEME) or an owner (`kind` OWNER),
    carrying the item's status, document, level and place in it. "The items of theme X
    with status Y, in reading order", their count and their facets are then read from one
    narrow index, never from the wide item rows. The database keeps the rows in step with
    the links and the items, whoever writes them (triggers: `recommendations.facet_index`);
    `manage.py verify_tracker` recomputes them from the links and the items.
    """

    THEME, OWNER = 1, 2

    pk = models.CompositePrimaryKey("kind", "value", "recommendation")
    kind = models.PositiveSmallIntegerField(choices=[(THEME, "theme"), (OWNER, "owner")])
    value = models.BigIntegerField(help_text="The theme's or the owner's id.")
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="facet_entries"
    )

    class Meta:
        indexes = [
            # a theme's (or owner's) items with a status, in reading order: pages and counts; grouped by
            # status, source or level: the facets of a theme's items
            models.Index(
                fields=["kind", "value", "status", "source", "position", "recommendation"],
                include=["level"],
                name="facet_value_status_reading_idx",
            ),
            # the theme (or owner) facet of the items with a status
            models.Index(fields=["kind", "status", "value"], name="facet_kind_status_value_idx"),
            # the owners (or themes) of a set of items
            models.Index(fields=["recommendation", "kind", "value"], name="facet_item_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}: {self.recommendation_id} ({self.status})"


class FacetPair(ItemColumnsCopy):
    """Derived: one of an item's themes with one of its owners, and the item's columns that filters read.

    The owner facet of a theme's items (and the theme facet of an owner's) is then counted
    from one index alone, rather than by looking up the owners of every item of the theme.
    Kept by the same triggers as `FacetEntry` (`recommendations.facet_index`) and checked
    by `manage.py verify_tracker`.
    """

    pk = models.CompositePrimaryKey("recommendation", "theme", "owner")
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    theme = models.ForeignKey(Theme, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+")
    owner = models.ForeignKey(Owner, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+")

    class Meta:
        indexes = [
            # the owners of a theme's items (with a status, a document, a level)
            models.Index(fields=["theme", "status", "owner"], include=["source", "level"], name="pair_theme_owner_idx"),
            # the themes of an owner's items
            models.Index(fields=["owner", "status", "theme"], include=["source", "level"], name="pair_owner_theme_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recommendation_id}: theme {self.theme_id}, owner {self.owner_id} ({self.status})"


class RecommendationEdit(AppendOnlyModel):
    """One entry of an item's edit history: which of its fields changed, from what to what,
    who changed them and when.

    Written by the services in the same transaction as the edit (`services.recommendation_update`
    and `services.evidence_retract`); never edited or deleted. Status changes have their own log.
    """

    append_only_message = ERROR_EDIT_LOG_APPEND_ONLY

    recommendation = models.ForeignKey(
        Recommendation, verbose_name=_("recommendation"), on_delete=models.PROTECT, related_name="edits"
    )
    changes = models.JSONField(
        _("changes"),
        help_text=_('What changed: {"field": {"before": ..., "after": ...}}, with people and items by name or code.'),
    )
    note = models.TextField(_("note"), blank=True, help_text=_("Why, where the editor said so."))
    version = models.PositiveIntegerField(_("version"), help_text=_("The item's version after this edit."))
    edited_at = models.DateTimeField(_("edited at"), default=timezone.now, editable=False)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("edited by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text=_("Who made the edit; empty for the seed (a corrected fixture)."),
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["recommendation", "edited_at", "id"]
        verbose_name = _("edit of a recommendation")
        verbose_name_plural = _("edit history")
        indexes = [models.Index(fields=["recommendation", "edited_at"], name="rec_edit_item_idx")]

    def __str__(self) -> str:
        return f"{self.recommendation.code}: {', '.join(self.changes)} (version {self.version})"


class SeededValues(models.Model):
    """What the seed last put in each field of one seeded row, by the row's natural key.

    The seed updates a field from a changed fixture only while the field still
    holds this value; a field an analyst changed since is kept as the analyst made it.
    """

    model = models.CharField(max_length=50, help_text="The seeded model, e.g. 'recommendation'.")
    key = models.CharField(max_length=200, help_text="The row's natural key, e.g. an item's code or a slug.")
    values = models.JSONField(default=dict, help_text="Field name → the value the seed last wrote.")
    seeded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "values last seeded"
        verbose_name_plural = "values last seeded"
        constraints = [
            models.UniqueConstraint(fields=["model", "key"], name="%(app_label)s_%(class)s_unique_row"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.key}"
