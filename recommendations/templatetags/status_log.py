"""Template filters that tell a status log entry as a change or a reassessment (see `recommendations.log_wording`)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from recommendations import log_wording
from recommendations.vocabulary import Status

register = template.Library()


@register.filter
def is_reassessment(change) -> bool:
    """{% if c|is_reassessment %}: the entry re-affirms the status instead of changing it."""
    return log_wording.is_reassessment(change.from_status, change.to_status)


@register.filter
def entry_summary(change) -> str:
    """{{ c|entry_summary }}: "still In progress, reviewed on 2024-05-01" or "status changed from … to …"."""
    return log_wording.entry_summary(change.from_status, change.to_status, change.effective_date)


@register.filter
def entry_headline(change) -> str:
    """{{ c|entry_headline }}: "Not assessed → In progress" or "still In progress (reviewed)"."""
    return log_wording.entry_headline(change.from_status, change.to_status)


@register.filter
def status_badge(code: str):
    """{{ c.to_status|status_badge }}: the status as includes/status.html draws it, for a translated sentence."""
    return format_html('<span class="status status--{}">{}</span>', code, Status(code).label)
