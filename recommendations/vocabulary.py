"""The tracker's controlled vocabularies, each code with its plain-language meaning.

This is the one place where status codes and their definitions live: the
models, the admin, the API (`/api/statuses/`) and the pages all read them here.
The codes are part of the public contract; the labels and definitions may be
refined. Labels and definitions are translated (French and Japanese, by the words
of locale/GLOSSARY.md) when they are read, in the language then active: the page's,
or the API request's Accept-Language. Never compare them to text without `str()`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Status(models.TextChoices):
    """Where a recommendation stands."""

    NOT_ASSESSED = "not_assessed", _("Not assessed")
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    PARTIALLY_IMPLEMENTED = "partially_implemented", _("Partially implemented")
    IMPLEMENTED = "implemented", _("Implemented")
    SUPERSEDED = "superseded", _("Superseded")
    NOT_PURSUED = "not_pursued", _("Not pursued")


STATUS_DEFINITIONS: dict[str, str] = {
    Status.NOT_ASSESSED: _("No one has yet assessed this item against the evidence. The default for every item."),
    Status.NOT_STARTED: _("Assessed, and no step toward it is on record."),
    Status.IN_PROGRESS: _(
        "Steps toward it are under way (talks, a signature awaiting ratification), but it is not done."
    ),
    Status.PARTIALLY_IMPLEMENTED: _("Some of what it asks has been done; the rest has not."),
    Status.IMPLEMENTED: _("Done as asked; for an ongoing practice, the practice is in place."),
    Status.SUPERSEDED: _("Replaced by a later commitment, which the item links to."),
    Status.NOT_PURSUED: _("Deliberately dropped or declined by those who would have to act."),
}

# Statuses that count as "done" for progress bars and overdue checks.
CLOSED_STATUSES = frozenset({Status.IMPLEMENTED, Status.SUPERSEDED, Status.NOT_PURSUED})


class Level(models.TextChoices):
    """The scale a recommendation works at."""

    BILATERAL = "bilateral", _("Bilateral")
    REGIONAL = "regional", _("Regional")
    GLOBAL = "global", _("Global")


class SourceKind(models.TextChoices):
    STUDY = "study", pgettext_lazy("kind of source document", "Study")
    POLICY_BRIEF = "policy_brief", pgettext_lazy("kind of source document", "Policy brief")


class OwnerCountry(models.TextChoices):
    CANADA = "canada", pgettext_lazy("who an owner belongs to", "Canada")
    JAPAN = "japan", pgettext_lazy("who an owner belongs to", "Japan")
    JOINT = "joint", pgettext_lazy("who an owner belongs to", "Joint")


class OwnerKind(models.TextChoices):
    MINISTRY = "ministry", pgettext_lazy("kind of owner", "Ministry or department")
    ARMED_FORCES = "armed_forces", pgettext_lazy("kind of owner", "Armed forces")
    AGENCY = "agency", pgettext_lazy("kind of owner", "Agency")
    LEGISLATURE = "legislature", pgettext_lazy("kind of owner", "Legislature")
    NON_GOVERNMENTAL = "non_governmental", pgettext_lazy("kind of owner", "Non-governmental")


class RelationKind(models.TextChoices):
    """How one recommendation stands to another (read: FROM <kind> TO)."""

    FOLLOWS_UP = "follows_up", _("Follows up")
    SUPERSEDES = "supersedes", _("Supersedes")
    RELATED = "related", _("Related to")


RELATION_INVERSE_LABELS: dict[str, str] = {
    RelationKind.FOLLOWS_UP: _("Followed up by"),
    RelationKind.SUPERSEDES: _("Superseded by"),
    RelationKind.RELATED: _("Related to"),
}


def status_definition(code: str) -> str:
    """Return the plain-language definition of a status code."""
    return STATUS_DEFINITIONS[Status(code)]


class LinkOutcome(models.TextChoices):
    """What one visit of an evidence web address found."""

    OK = "ok", pgettext_lazy("health of a web address", "OK")
    REDIRECTED = "redirected", pgettext_lazy("health of a web address", "Redirected")
    NOT_FOUND = "not_found", pgettext_lazy("health of a web address", "Not found (404 or 410)")
    SERVER_ERROR = "server_error", pgettext_lazy("health of a web address", "Server error (5xx)")
    CLIENT_ERROR = "client_error", pgettext_lazy("health of a web address", "Refused by the site (other 4xx)")
    TIMEOUT = "timeout", pgettext_lazy("health of a web address", "No answer in time")
    REFUSED = (
        "refused",
        pgettext_lazy("health of a web address", "Unreachable (connection refused, unknown host, network error)"),
    )


class LinkStatus(models.TextChoices):
    """The health of an evidence web address, as pages, the admin and the API show it."""

    UNCHECKED = "unchecked", pgettext_lazy("health of a web address", "Not checked yet")
    OK = "ok", pgettext_lazy("health of a web address", "OK")
    REDIRECTED = "redirected", pgettext_lazy("health of a web address", "Redirected")
    FAILING = "failing", pgettext_lazy("health of a web address", "Failing (not dead yet)")
    DEAD = "dead", pgettext_lazy("health of a web address", "Dead")
