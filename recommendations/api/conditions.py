"""Safe writes: the `ETag` of an item is its version; a write's `If-Match` must name the current one.

`If-Match` accepts `"3"`, `W/"3"`, a bare `3`, a list (`"3", "4"`) and `*` (any
version), and the tag of a representation in another language, `"3-fr"` (version 3: see
`language.py`). The check runs under a row lock inside the write's transaction, so no
other write can slip in between the check and the change.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from recommendations.api.exceptions import PreconditionFailed, PreconditionRequired
from recommendations.models import Recommendation
from recommendations.services import StaleVersionError

IF_MATCH = "If-Match"
# A version, with the language of the representation it was read in ("3-fr") or without ("3").
_TAG = re.compile(r'^(?:W/)?"?([0-9]{1,18})(?:-[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*)?"?$')

ERROR_IF_MATCH_UNREADABLE = _(
    'The If-Match header ({value}) names no version of this item: send the ETag you read, e.g. If-Match: "{current}".'
)


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def require_if_match(request) -> None:
    """Raise PreconditionRequired (428) when the request has no If-Match header."""
    if not (request.headers.get(IF_MATCH) or "").strip():
        raise PreconditionRequired()


def expected_version(request, item: Recommendation, *, required: bool) -> int | None:
    """Return the version the caller's If-Match names for `item` (locked, current), or None to skip the check.

    Raises PreconditionRequired when `required` and the header is missing,
    StaleVersionError (412) when it names another version, and PreconditionFailed
    (412) when it names no version at all.
    """
    header = (request.headers.get(IF_MATCH) or "").strip()
    if not header:
        if required:
            raise PreconditionRequired()
        return None
    if header == "*":
        return None
    versions = []
    for tag in _tags(header):
        match = _TAG.match(tag)
        if match:
            versions.append(int(match.group(1)))
    if item.version in versions:
        return item.version
    if versions:
        raise StaleVersionError(expected=versions[0], actual=item.version)
    value = header if len(header) <= 40 else header[:40] + "…"
    raise PreconditionFailed(ERROR_IF_MATCH_UNREADABLE.format(value=value, current=item.version))


def lock_for_write(item: Recommendation) -> Recommendation:
    """Return the item re-read under a row lock; call inside the write's transaction."""
    return Recommendation.objects.select_for_update().get(pk=item.pk)
