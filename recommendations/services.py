"""Every write to the tracker that has a rule.

`recommendation_change_status` is the only code that changes an item's status:
the admin form, the admin bulk action, the API and the seed all call it. It
validates the change, appends to the status log, updates the item's current
status and bumps its version, in one transaction. `recommendation_update` is
the only code that changes an item's other fields, and writes each change to
the item's edit history in the same transaction. Evidence is only ever added
(`evidence_create`) or retracted (`evidence_retract`), never edited; what a visit
of its web address found is kept beside it (`evidence_link_check_record`).

Errors are raised as `django.core.exceptions.ValidationError` with a dict
keyed by the input field, so that forms and the API can show each message
beside the field it concerns. The messages are module constants, translated
(lazily) into the language of the request that reads them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from recommendations import bulk, derived
from recommendations.models import (
    LINK_FAILURES,
    Evidence,
    EvidenceLinkCheck,
    EvidenceRetraction,
    Owner,
    Recommendation,
    RecommendationEdit,
    RecommendationLink,
    Source,
    StatusChange,
    StatusPeriod,
    Theme,
    archived_copy_url,
)
from recommendations.translation import translation_columns
from recommendations.vocabulary import RelationKind, Status

ERROR_NOTE_REQUIRED = _("Write a note saying why the status changed; it is shown in the item's timeline.")
ERROR_STATUS_UNKNOWN = _("Choose one of the status codes: {codes}.")
ERROR_EFFECTIVE_DATE_FUTURE = _("The effective date cannot be in the future; record the change once it has happened.")
ERROR_EFFECTIVE_DATE_BEFORE_CURRENT = _(
    "The effective date cannot be before the current status date ({current}); "
    "the timeline is kept in order. Use {current} or later."
)
ERROR_STALE_VERSION = _(
    "This item was changed by someone else since you loaded it (you had version {expected}, it is now "
    "version {actual}). Reload it, check the latest changes, and try again."
)
ERROR_EVIDENCE_OTHER_ITEM = _("This evidence belongs to another item; choose evidence recorded for {code}.")
ERROR_FIELD_NOT_EDITABLE = _("This field cannot be changed here.")
# How the errors of evidence recorded with a status change are named (`new_evidence.url`).
NEW_EVIDENCE = "new_evidence"
ERROR_RETRACTION_REASON_REQUIRED = _(
    "Say why the evidence is retracted (e.g. the link points to the wrong page); the reason is public."
)
ERROR_EVIDENCE_ALREADY_RETRACTED = _("This evidence has already been retracted.")
ERROR_EVIDENCE_RETRACTED = _("This evidence has been retracted; choose other evidence or add the right one.")

# The fields of an item that analysts may change through `recommendation_update`, in the order forms show
# them: the admin form, the API's PATCH and the service all read this list. The code, the source, the quoted
# text and the status have their own rules and paths.
EDITABLE_FIELDS_IN_ORDER = (
    "title",
    "editorial_note",
    "level",
    "themes",
    "owners",
    "steward",
    "priority",
    "priority_note",
    "due_date",
    "due_date_note",
    "schedule_months",
    "schedule_note",
    "links",
    # The title and notes in French and Japanese (title_fr, title_ja, editorial_note_fr, …).
    *translation_columns(Recommendation),
)
EDITABLE_FIELDS = frozenset(EDITABLE_FIELDS_IN_ORDER)
SEED_FIELDS = EDITABLE_FIELDS | {"source", "parent", "section", "text"}
# Fields kept in other tables than the item's row.
RELATED_FIELDS = frozenset({"themes", "owners", "links"})


class StaleVersionError(ValidationError):
    """The caller's expected version no longer matches the item: someone else changed it."""

    def __init__(self, *, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__({"version": ERROR_STALE_VERSION.format(expected=expected, actual=actual)})


def _lock(recommendation: Recommendation) -> Recommendation:
    """Return the item re-read under a row lock, so concurrent writers queue up."""
    return Recommendation.objects.select_for_update().get(pk=recommendation.pk)


def _check_version(item: Recommendation, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != item.version:
        raise StaleVersionError(expected=expected_version, actual=item.version)


def _bump(item: Recommendation, fields: Iterable[str], *, original: Recommendation) -> None:
    """Save the named fields with a new version and update time, and mirror them on the caller's instance."""
    item.version += 1
    item.updated_at = timezone.now()
    update_fields = [*fields, "version", "updated_at"]
    item.save(update_fields=update_fields)
    for name in update_fields:
        setattr(original, name, getattr(item, name))


@transaction.atomic
def recommendation_change_status(
    *,
    recommendation: Recommendation,
    status: str,
    note: str,
    effective_date: datetime.date | None = None,
    recorded_by: AbstractBaseUser | None = None,
    evidence: Evidence | None = None,
    new_evidence: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> StatusChange:
    """Record a status change for an item and return the new log entry.

    The effective date defaults to today. Recording the same status again is a
    *reassessment*: an entry whose old and new status are equal, re-affirming the
    status as of its date (with a new note and evidence); it moves the status date
    and opens a status period like any change, and is told as "still …, reviewed
    on …" wherever the log is shown (`log_wording`). Evidence is either recorded already (`evidence`) or recorded with
    the change (`new_evidence`: its url, title, publisher, published, quote), and
    then the change and its evidence are one write, one new version. Raises
    ValidationError (keyed by field; the new evidence's as `new_evidence.url`…)
    when the change is refused, and StaleVersionError when `expected_version` is
    stale; in both cases nothing is written.
    """
    errors: dict[str, str] = {}
    note = (note or "").strip()
    if not note:
        errors["note"] = ERROR_NOTE_REQUIRED
    if status not in Status.values:
        errors["status"] = ERROR_STATUS_UNKNOWN.format(codes=", ".join(Status.values))
    today = timezone.localdate()
    effective_date = effective_date or today
    if effective_date > today:
        errors["effective_date"] = ERROR_EFFECTIVE_DATE_FUTURE

    item = _lock(recommendation)
    _check_version(item, expected_version)
    if "effective_date" not in errors and item.status_date and effective_date < item.status_date:
        errors["effective_date"] = ERROR_EFFECTIVE_DATE_BEFORE_CURRENT.format(current=item.status_date.isoformat())
    if evidence is not None and evidence.recommendation_id != item.pk:
        errors["evidence"] = ERROR_EVIDENCE_OTHER_ITEM.format(code=item.code)
    elif evidence is not None and EvidenceRetraction.objects.filter(evidence=evidence).exists():
        errors["evidence"] = ERROR_EVIDENCE_RETRACTED
    if new_evidence is not None:
        evidence = _evidence(item, new_evidence, added_by=recorded_by)
        try:
            evidence.full_clean()
        except ValidationError as exc:
            errors.update(
                {
                    f"{NEW_EVIDENCE}.{'non_field_errors' if name == NON_FIELD_ERRORS else name}": messages
                    for name, messages in exc.message_dict.items()
                }
            )
    if errors:
        raise ValidationError(errors)
    if new_evidence is not None:
        evidence.save()

    change = StatusChange.objects.create(
        recommendation=item,
        from_status=item.status,
        to_status=status,
        note=note,
        effective_date=effective_date,
        recorded_by=recorded_by,
        evidence=evidence,
    )
    # The derived periods, in this transaction: the status that held until now ends where this one starts.
    StatusPeriod.objects.filter(recommendation=item, valid_until__isnull=True).update(valid_until=effective_date)
    StatusPeriod.objects.create(recommendation=item, change=change, status=status, valid_from=effective_date)
    item.status = status
    item.status_date = effective_date
    _bump(item, ["status", "status_date"], original=recommendation)
    return change


# The columns a bulk load gives for each status change, in this order.
STATUS_CHANGE_LOAD_COLUMNS = (
    "recommendation_id",
    "from_status",
    "to_status",
    "note",
    "effective_date",
    "recorded_at",
    "recorded_by_id",
    "evidence_id",
)


@transaction.atomic
def status_changes_load(*, rows: Iterable[tuple]) -> int:
    """The status service's bulk path: append many status changes at once; return how many.

    For synthetic corpora and large imports, where one call per change would take hours.
    `rows` follow `STATUS_CHANGE_LOAD_COLUMNS`; each item's rows come in effective-date
    order, after its current status date, each `from_status` the previous `to_status`.
    The database's constraints check codes and notes. In the same transaction, every
    structure derived from the log is brought in step: each item's current status and
    date, its version (one more per change) and its status periods.
    """
    last = StatusChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    count = bulk.insert_rows(StatusChange._meta.db_table, STATUS_CHANGE_LOAD_COLUMNS, rows)
    derived.apply_loaded_changes(changed_after=last)
    return count


@transaction.atomic
def evidence_create(
    *,
    recommendation: Recommendation,
    title: str,
    url: str = "",
    source: Source | None = None,
    publisher: str = "",
    published: datetime.date | None = None,
    quote: str = "",
    added_by: AbstractBaseUser | None = None,
    expected_version: int | None = None,
) -> Evidence:
    """Validate and add an evidence record to an item, and return it.

    Adding evidence changes what the item shows, so it bumps the item's version.
    Raises StaleVersionError when `expected_version` is stale.
    """
    item = _lock(recommendation)
    _check_version(item, expected_version)
    evidence = _evidence(
        item,
        {"title": title, "url": url, "source": source, "publisher": publisher, "published": published, "quote": quote},
        added_by=added_by,
    )
    evidence.full_clean()
    evidence.save()
    _bump(item, [], original=recommendation)
    return evidence


def _evidence(item: Recommendation, data: dict[str, Any], *, added_by: AbstractBaseUser | None) -> Evidence:
    """Return a new, unsaved evidence record of `item` from its fields (text trimmed)."""
    return Evidence(
        recommendation=item,
        title=(data.get("title") or "").strip(),
        url=(data.get("url") or "").strip(),
        source=data.get("source"),
        publisher=(data.get("publisher") or "").strip(),
        published=data.get("published"),
        quote=(data.get("quote") or "").strip(),
        added_by=added_by,
    )


@transaction.atomic
def evidence_retract(
    *,
    evidence: Evidence,
    reason: str,
    retracted_by: AbstractBaseUser | None = None,
    expected_version: int | None = None,
) -> EvidenceRetraction:
    """Withdraw recorded evidence with a reason, and return the retraction.

    The evidence itself is never edited or deleted: the status changes that cite
    it keep their record, and the timeline shows it as retracted, who did it, when
    and why. The right evidence is added as new evidence. Bumps the item's version.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ERROR_RETRACTION_REASON_REQUIRED})
    item = _lock(evidence.recommendation)
    _check_version(item, expected_version)
    if EvidenceRetraction.objects.filter(evidence=evidence).exists():
        raise ValidationError({"evidence": ERROR_EVIDENCE_ALREADY_RETRACTED})
    retraction = EvidenceRetraction.objects.create(evidence=evidence, reason=reason, retracted_by=retracted_by)
    _bump(item, [], original=evidence.recommendation)
    return retraction


@transaction.atomic
def evidence_link_check_record(
    *,
    evidence: Evidence,
    outcome: str,
    http_status: int | None = None,
    final_url: str = "",
    detail: str = "",
    checked_at: datetime.datetime | None = None,
) -> EvidenceLinkCheck:
    """Record what a visit of the evidence's web address found, in place of the previous visit, and return it.

    The evidence itself is not touched, nor the item's version: a link check is an
    observation beside the record, not part of it. Counts the failed checks in a row
    (see `models.LINK_FAILURES`) and when they began; a link that is then dead (see
    `models.link_is_dead`) gets the archive's address for a copy near the evidence's
    date (or the check's), and loses it when it answers again.
    """
    checked_at = checked_at or timezone.now()
    check = EvidenceLinkCheck.objects.select_for_update().filter(evidence=evidence).first()
    if check is None:
        check = EvidenceLinkCheck(evidence=evidence)
    if outcome in LINK_FAILURES:
        if not check.consecutive_failures:
            check.failing_since = checked_at
        check.consecutive_failures += 1
    else:
        check.consecutive_failures, check.failing_since = 0, None
    check.checked_at = checked_at
    check.outcome = outcome
    check.http_status = http_status
    check.final_url = final_url[: EvidenceLinkCheck._meta.get_field("final_url").max_length]
    check.detail = detail[: EvidenceLinkCheck._meta.get_field("detail").max_length]
    on = evidence.published or timezone.localtime(checked_at).date()
    check.archived_url = archived_copy_url(evidence.url, on) if check.is_dead else ""
    check.full_clean(exclude=["evidence"])
    check.save()
    return check


@dataclass(frozen=True)
class LinkSpec:
    """One link from an item to another, as `recommendation_update` takes them."""

    kind: str
    to: Recommendation
    note: str = ""

    def describe(self) -> str:
        label = f"{RelationKind(self.kind).label} {self.to.code}"
        return f"{label}: {self.note}" if self.note else label


def _record_value(name: str, value: Any) -> Any:
    """Return a field's value as the edit history shows it: people by username, items by code, lists sorted."""
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if name == "steward":
        return value.get_username()
    if name in ("themes", "owners"):
        return sorted(obj.name for obj in value)
    if name == "links":
        return sorted(link.describe() for link in value)
    return str(getattr(value, "code", None) or getattr(value, "slug", None) or value)


def _links_of(item: Recommendation) -> set[LinkSpec]:
    return {
        LinkSpec(kind=link.kind, to=link.to_recommendation, note=link.note)
        for link in item.links_out.select_related("to_recommendation")
    }


def _set_links(item: Recommendation, wanted: set[LinkSpec]) -> None:
    by_key = {(link.kind, link.to_recommendation_id): link for link in item.links_out.all()}
    wanted_keys = {(spec.kind, spec.to.pk) for spec in wanted}
    for key, link in by_key.items():
        if key not in wanted_keys:
            link.delete()
    for spec in wanted:
        link = by_key.get((spec.kind, spec.to.pk))
        if link is None:
            link = RecommendationLink(
                from_recommendation=item, to_recommendation=spec.to, kind=spec.kind, note=spec.note
            )
            link.full_clean()
            link.save()
        elif link.note != spec.note:
            link.note = spec.note
            link.save(update_fields=["note"])


@transaction.atomic
def recommendation_update(
    *,
    recommendation: Recommendation,
    data: dict[str, Any],
    expected_version: int | None = None,
    edited_by: AbstractBaseUser | None = None,
    note: str = "",
    fields: frozenset[str] = EDITABLE_FIELDS,
) -> Recommendation:
    """Change an item's fields and put the change on record; return the item.

    `data` maps field names to new values: `themes` and `owners` take iterables
    of Theme and Owner, `links` an iterable of `LinkSpec` (the item's whole set
    of outgoing links). Analysts may change `EDITABLE_FIELDS`; the seed, bringing
    in a corrected fixture, passes `fields=SEED_FIELDS`. Every change is written
    to the item's edit history (before → after, who, when) and bumps its version,
    in this transaction. Nothing is written when no value differs. Raises
    StaleVersionError when `expected_version` is stale.
    """
    unknown = set(data) - fields
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), ERROR_FIELD_NOT_EDITABLE))
    item = _lock(recommendation)
    _check_version(item, expected_version)

    changes: dict[str, dict[str, Any]] = {}
    changed: list[str] = []
    for name, value in data.items():
        if name in RELATED_FIELDS:
            continue
        before = getattr(item, name)
        if before != value:
            setattr(item, name, value)
            changed.append(name)
            changes[name] = {"before": _record_value(name, before), "after": _record_value(name, value)}
    if changed:
        item.full_clean(exclude=[f.name for f in Recommendation._meta.fields if f.name not in changed])

    for name, model in (("themes", Theme), ("owners", Owner)):
        if name in data:
            manager = getattr(item, name)
            before = list(manager.all())
            new = {obj.pk for obj in data[name]}
            if new != {obj.pk for obj in before}:
                after = list(model.objects.filter(pk__in=new))
                manager.set(after)
                changes[name] = {"before": _record_value(name, before), "after": _record_value(name, after)}
    if "links" in data:
        before, after = _links_of(item), set(data["links"])
        if before != after:
            _set_links(item, after)
            changes["links"] = {"before": _record_value("links", before), "after": _record_value("links", after)}

    if changes:
        _bump(item, changed, original=recommendation)
        RecommendationEdit.objects.create(
            recommendation=item, changes=changes, note=(note or "").strip(), version=item.version, edited_by=edited_by
        )
    return recommendation
