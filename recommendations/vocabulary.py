"""The tracker's controlled vocabularies, each code with its plain-language meaning.

This is the one place where status codes and their definitions live: the
models, the admin, the API (`/api/statuses/`) and the pages all read them here.
The codes are part of the public contract; the labels and definitions may be
refined.
"""

from django.db import models


class Status(models.TextChoices):
    """Where a recommendation stands."""

    NOT_ASSESSED = "not_assessed", "Not assessed"
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    PARTIALLY_IMPLEMENTED = "partially_implemented", "Partially implemented"
    IMPLEMENTED = "implemented", "Implemented"
    SUPERSEDED = "superseded", "Superseded"
    NOT_PURSUED = "not_pursued", "Not pursued"


STATUS_DEFINITIONS: dict[str, str] = {
    Status.NOT_ASSESSED: "No one has yet assessed this item against the evidence. The default for every item.",
    Status.NOT_STARTED: "Assessed, and no step toward it is on record.",
    Status.IN_PROGRESS: "Steps toward it are under way (talks, a signature awaiting ratification), but it is not done.",
    Status.PARTIALLY_IMPLEMENTED: "Some of what it asks has been done; the rest has not.",
    Status.IMPLEMENTED: "Done as asked; for an ongoing practice, the practice is in place.",
    Status.SUPERSEDED: "Replaced by a later commitment, which the item links to.",
    Status.NOT_PURSUED: "Deliberately dropped or declined by those who would have to act.",
}

# Statuses that count as "done" for progress bars and overdue checks.
CLOSED_STATUSES = frozenset({Status.IMPLEMENTED, Status.SUPERSEDED, Status.NOT_PURSUED})


class Level(models.TextChoices):
    """The scale a recommendation works at."""

    BILATERAL = "bilateral", "Bilateral"
    REGIONAL = "regional", "Regional"
    GLOBAL = "global", "Global"


class SourceKind(models.TextChoices):
    STUDY = "study", "Study"
    POLICY_BRIEF = "policy_brief", "Policy brief"


class OwnerCountry(models.TextChoices):
    CANADA = "canada", "Canada"
    JAPAN = "japan", "Japan"
    JOINT = "joint", "Joint"


class OwnerKind(models.TextChoices):
    MINISTRY = "ministry", "Ministry or department"
    ARMED_FORCES = "armed_forces", "Armed forces"
    AGENCY = "agency", "Agency"
    LEGISLATURE = "legislature", "Legislature"
    NON_GOVERNMENTAL = "non_governmental", "Non-governmental"


class RelationKind(models.TextChoices):
    """How one recommendation stands to another (read: FROM <kind> TO)."""

    FOLLOWS_UP = "follows_up", "Follows up"
    SUPERSEDES = "supersedes", "Supersedes"
    RELATED = "related", "Related to"


RELATION_INVERSE_LABELS: dict[str, str] = {
    RelationKind.FOLLOWS_UP: "Followed up by",
    RelationKind.SUPERSEDES: "Superseded by",
    RelationKind.RELATED: "Related to",
}


def status_definition(code: str) -> str:
    """Return the plain-language definition of a status code."""
    return STATUS_DEFINITIONS[Status(code)]


class LinkOutcome(models.TextChoices):
    """What one visit of an evidence web address found."""

    OK = "ok", "OK"
    REDIRECTED = "redirected", "Redirected"
    NOT_FOUND = "not_found", "Not found (404 or 410)"
    SERVER_ERROR = "server_error", "Server error (5xx)"
    CLIENT_ERROR = "client_error", "Refused by the site (other 4xx)"
    TIMEOUT = "timeout", "No answer in time"
    REFUSED = "refused", "Unreachable (connection refused, unknown host, network error)"


class LinkStatus(models.TextChoices):
    """The health of an evidence web address, as pages, the admin and the API show it."""

    UNCHECKED = "unchecked", "Not checked yet"
    OK = "ok", "OK"
    REDIRECTED = "redirected", "Redirected"
    FAILING = "failing", "Failing (not dead yet)"
    DEAD = "dead", "Dead"
