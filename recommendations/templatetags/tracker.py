"""Template helpers of the reviewer pages."""

from __future__ import annotations

from django import template

from recommendations import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def tracker_as_of(context) -> selectors.AsOf:
    """Return the tracker's "as of" stamp, read once per request."""
    request = context.get("request")
    cached = getattr(request, "_tracker_as_of", None) if request is not None else None
    if cached is None:
        cached = selectors.tracker_as_of()
        if request is not None:
            request._tracker_as_of = cached
    return cached


@register.filter
def section_tail(section: str) -> str:
    """Return the innermost heading of a section path."""
    parts = selectors.section_parts(section or "")
    return parts[-1] if parts else ""
