"""How an entry of the status log is told, wherever it is shown: the admin, the item's timeline, the feeds, the API.

An entry either changes the status ("changed from In progress to Implemented") or
re-affirms it: a *reassessment*, stored as a status change whose old and new status
are the same, recorded through the one status service like any other entry. An
analyst records one when a review finds the status unchanged ("still In progress,
reviewed on 2024-05-01"); it moves the item's status date, so the item no longer
counts as stale, and opens a status period with the same status.
"""

from __future__ import annotations

import datetime

from django.utils.translation import gettext

from recommendations.vocabulary import Status

# What kind of entry it is, as the API names it.
KIND_CHANGE = "change"
KIND_REASSESSMENT = "reassessment"


def is_reassessment(from_status: str, to_status: str) -> bool:
    """Return True when the entry re-affirms the status it found instead of changing it."""
    return from_status == to_status


def entry_kind(from_status: str, to_status: str) -> str:
    """Return `KIND_REASSESSMENT` or `KIND_CHANGE`."""
    return KIND_REASSESSMENT if is_reassessment(from_status, to_status) else KIND_CHANGE


def _label(code: str) -> str:
    return Status(code).label


def _day(on: datetime.date | str) -> str:
    return on.isoformat() if isinstance(on, datetime.date) else str(on)


def entry_summary(from_status: str, to_status: str, effective_date: datetime.date | str) -> str:
    """Return the entry in a sentence (no capital, no full stop), e.g. "still In progress, reviewed on 2024-05-01"."""
    if is_reassessment(from_status, to_status):
        return gettext("still %(status)s, reviewed on %(day)s") % {
            "status": _label(to_status),
            "day": _day(effective_date),
        }
    return gettext("status changed from %(from)s to %(to)s, effective %(day)s") % {
        "from": _label(from_status),
        "to": _label(to_status),
        "day": _day(effective_date),
    }


def entry_headline(from_status: str, to_status: str) -> str:
    """Return the entry in a few words, for a title: "In progress → Implemented" or "still In progress (reviewed)"."""
    if is_reassessment(from_status, to_status):
        return gettext("still %(status)s (reviewed)") % {"status": _label(to_status)}
    return f"{_label(from_status)} → {_label(to_status)}"
