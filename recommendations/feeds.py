"""Atom feeds of status changes: every change, and the changes to one theme's items.

Newest first, as feed readers expect (a syncing script should use the API's
`/api/changes/?since=…`, which reads oldest first). Each entry links to the
item's timeline, at the entry of that change.
"""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from recommendations.models import Recommendation, StatusChange, Theme

FEED_LENGTH = 50


def _changes() -> QuerySet:
    return StatusChange.objects.select_related(
        "recommendation", "recommendation__source", "recorded_by", "evidence", "evidence__source"
    ).order_by("-recorded_at", "-id")


class StatusChangesFeed(Feed):
    """The latest status changes across the tracker."""

    feed_type = Atom1Feed
    title = "Canada–Japan recommendation tracker: status changes"
    subtitle = (
        "Every status change recorded for the recommendations of the 1997 study and the 2018 brief, newest first."
    )

    def link(self) -> str:
        return reverse("recommendations:recommendation-list")

    def feed_url(self) -> str:
        return reverse("recommendations:feed-changes")

    def items(self):
        return _changes()[:FEED_LENGTH]

    def item_title(self, item: StatusChange) -> str:
        return (
            f"{item.recommendation.code}: {item.get_from_status_display()} → {item.get_to_status_display()} "
            f"— {item.recommendation.title}"
        )

    def item_description(self, item: StatusChange) -> str:
        lines = [f"Effective {item.effective_date.isoformat()}. {item.note}"]
        if item.evidence_id:
            evidence = item.evidence
            lines.append(f"Evidence: {evidence.title}" + (f" ({evidence.publisher})" if evidence.publisher else ""))
        return "\n".join(lines)

    def item_link(self, item: StatusChange) -> str:
        return f"{item.recommendation.get_absolute_url()}#change-{item.pk}"

    def item_pubdate(self, item: StatusChange):
        return item.recorded_at

    def item_updateddate(self, item: StatusChange):
        return item.recorded_at

    def item_author_name(self, item: StatusChange) -> str:
        if item.recorded_by_id:
            return item.recorded_by.get_full_name() or item.recorded_by.get_username()
        return "Tracker seed (statuses as of June 2018)"

    def item_categories(self, item: StatusChange) -> list[str]:
        return [item.to_status]


class ThemeStatusChangesFeed(StatusChangesFeed):
    """The latest status changes to the items of one theme."""

    def get_object(self, request, slug: str) -> Theme:
        return get_object_or_404(Theme, slug=slug)

    def title(self, obj: Theme) -> str:
        return f"Canada–Japan recommendation tracker: status changes in “{obj.name}”"

    def subtitle(self, obj: Theme) -> str:
        return f"Status changes to the items of the theme “{obj.name}”, newest first."

    def link(self, obj: Theme) -> str:
        return reverse("recommendations:recommendation-list") + f"?theme={obj.slug}"

    def feed_url(self, obj: Theme) -> str:
        return reverse("recommendations:feed-theme-changes", kwargs={"slug": obj.slug})

    def items(self, obj: Theme):
        in_theme = Recommendation.themes.through.objects.filter(
            recommendation_id=OuterRef("recommendation_id"), theme=obj
        )
        return _changes().filter(Exists(in_theme))[:FEED_LENGTH]
