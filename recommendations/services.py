"""Every write to the tracker that has a rule.

`recommendation_change_status` is the only code that changes an item's status:
the admin form, the admin bulk action, the API and the seed all call it. It
validates the change, appends to the status log, updates the item's current
status and bumps its version, in one transaction.

Errors are raised as `django.core.exceptions.ValidationError` with a dict
keyed by the input field, so that forms and the API can show each message
beside the field it concerns. The messages are module constants.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from recommendations.models import Evidence, Owner, Recommendation, Source, StatusChange, Theme
from recommendations.vocabulary import Status

ERROR_NOTE_REQUIRED = "Write a note saying why the status changed; it is shown in the item's timeline."
ERROR_STATUS_UNKNOWN = "Choose one of the status codes: {codes}."
ERROR_EFFECTIVE_DATE_FUTURE = "The effective date cannot be in the future; record the change once it has happened."
ERROR_EFFECTIVE_DATE_BEFORE_CURRENT = (
    "The effective date cannot be before the current status date ({current}); "
    "the timeline is kept in order. Use {current} or later."
)
ERROR_STALE_VERSION = (
    "This item was changed by someone else since you loaded it (you had version {expected}, it is now "
    "version {actual}). Reload it, check the latest changes, and try again."
)
ERROR_EVIDENCE_OTHER_ITEM = "This evidence belongs to another item; choose evidence recorded for {code}."
ERROR_FIELD_NOT_EDITABLE = "This field cannot be changed here."

# The fields of an item that `recommendation_update` may change. The code, the
# source, the quoted text and the status have their own rules and paths.
EDITABLE_FIELDS = frozenset(
    {"title", "editorial_note", "level", "due_date", "due_date_note", "steward", "themes", "owners"}
)


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
    expected_version: int | None = None,
) -> StatusChange:
    """Record a status change for an item and return the new log entry.

    The effective date defaults to today. Recording the same status again is
    allowed: it re-affirms the status as of a later date (with a new note and
    evidence). Raises ValidationError (keyed by field) when the change is
    refused, and StaleVersionError when `expected_version` is stale; in both
    cases nothing is written.
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
    if errors:
        raise ValidationError(errors)

    change = StatusChange.objects.create(
        recommendation=item,
        from_status=item.status,
        to_status=status,
        note=note,
        effective_date=effective_date,
        recorded_by=recorded_by,
        evidence=evidence,
    )
    item.status = status
    item.status_date = effective_date
    _bump(item, ["status", "status_date"], original=recommendation)
    return change


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
) -> Evidence:
    """Validate and add an evidence record to an item, and return it.

    Adding evidence changes what the item shows, so it bumps the item's version.
    """
    evidence = Evidence(
        recommendation=recommendation,
        title=(title or "").strip(),
        url=(url or "").strip(),
        source=source,
        publisher=(publisher or "").strip(),
        published=published,
        quote=(quote or "").strip(),
        added_by=added_by,
    )
    evidence.full_clean()
    evidence.save()
    item = _lock(recommendation)
    _bump(item, [], original=recommendation)
    return evidence


@transaction.atomic
def recommendation_update(
    *,
    recommendation: Recommendation,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Recommendation:
    """Change an item's editable fields (not its code, source, quoted text or status).

    `data` maps field names to new values; `themes` and `owners` take iterables
    of Theme and Owner. Nothing is written, and nothing bumps the version, when
    no value differs. Raises StaleVersionError when `expected_version` is stale.
    """
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), ERROR_FIELD_NOT_EDITABLE))
    item = _lock(recommendation)
    _check_version(item, expected_version)

    changed: list[str] = []
    for name, value in data.items():
        if name in ("themes", "owners"):
            continue
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed.append(name)
    if changed:
        item.full_clean(exclude=[f.name for f in Recommendation._meta.fields if f.name not in changed])

    m2m_changed = False
    for name, model in (("themes", Theme), ("owners", Owner)):
        if name in data:
            new = {obj.pk for obj in data[name]}
            manager = getattr(item, name)
            if new != set(manager.values_list("pk", flat=True)):
                manager.set(model.objects.filter(pk__in=new))
                m2m_changed = True

    if changed or m2m_changed:
        _bump(item, changed, original=recommendation)
    return recommendation
