"""Atom feeds of status changes: every change, the changes to one theme's items, and one item's changes.

Newest first, as feed readers expect (a syncing script should use the API's
`/api/changes/?since=…`, which reads oldest first). Each entry links to the
item's timeline, at the entry of that change. The feeds take the change feed's
parameters (`since`, and `code`, repeatable, to follow just some items) through
its one FilterSet; a refused value answers 400 with a sentence naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.syndication.views import Feed
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recommendations import log_wording
from recommendations.filters import StatusChangeFeedFilterSet
from recommendations.models import CODE_VALIDATOR, Recommendation, StatusChange, Theme
from recommendations.translation import words

FEED_LENGTH = 50


def _changes() -> QuerySet:
    return StatusChange.objects.select_related(
        "recommendation", "recommendation__source", "recorded_by", "evidence", "evidence__source"
    ).order_by("-recorded_at", "-id")


@dataclass(frozen=True)
class FeedSelection:
    """What one request's feed shows: the changes its parameters select, and the theme or item it is about.

    Built afresh for each request (the feed objects themselves are shared by every request).
    """

    changes: QuerySet
    subject: Any = None


class StatusChangesFeed(Feed):
    """The latest status changes across the tracker (with `code`, of just those items)."""

    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        filterset = StatusChangeFeedFilterSet(request.GET, queryset=_changes())
        if not filterset.is_valid():
            lines = [f"{name}: {message}" for name, messages in filterset.errors.items() for message in messages]
            return HttpResponseBadRequest("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
        request.feed_changes = filterset.qs
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request, *args, **kwargs) -> FeedSelection:
        return FeedSelection(changes=request.feed_changes, subject=self.get_subject(request, *args, **kwargs))

    def get_subject(self, request, *args, **kwargs) -> Any:
        """Return what the feed is about (a theme, an item), or None for the whole tracker."""
        return None

    title = _("Canada–Japan recommendation tracker: status changes")
    subtitle = _(
        "Every status change recorded for the recommendations of the 1997 study and the 2018 brief, newest first."
    )

    def link(self) -> str:
        return reverse("recommendations:recommendation-list")

    def feed_url(self) -> str:
        return reverse("recommendations:feed-changes")

    def items(self, selection: FeedSelection):
        return selection.changes[:FEED_LENGTH]

    def item_title(self, item: StatusChange) -> str:
        headline = log_wording.entry_headline(item.from_status, item.to_status)
        return gettext("%(code)s: %(change)s — %(title)s") % {
            "code": item.recommendation.code,
            "change": headline,
            "title": words(item.recommendation, "title").text,
        }

    def item_description(self, item: StatusChange) -> str:
        if log_wording.is_reassessment(item.from_status, item.to_status):
            said = log_wording.entry_summary(item.from_status, item.to_status, item.effective_date)
            lines = [f"{said[:1].upper()}{said[1:]}. {item.note}"]
        else:
            effective = gettext("Effective %(day)s.") % {"day": date_format(item.effective_date, "DATE_FORMAT")}
            lines = [f"{effective} {item.note}"]
        if item.evidence_id:
            evidence = item.evidence
            if evidence.publisher:
                lines.append(
                    gettext("Evidence: %(title)s (%(publisher)s)")
                    % {"title": evidence.title, "publisher": evidence.publisher}
                )
            else:
                lines.append(gettext("Evidence: %(title)s") % {"title": evidence.title})
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
        return gettext("Tracker seed (statuses as of June 2018)")

    def item_categories(self, item: StatusChange) -> list[str]:
        return [item.to_status, log_wording.entry_kind(item.from_status, item.to_status)]


class ThemeStatusChangesFeed(StatusChangesFeed):
    """The latest status changes to the items of one theme."""

    def get_subject(self, request, slug: str) -> Theme:
        return get_object_or_404(Theme, slug=slug)

    def title(self, selection: FeedSelection) -> str:
        return gettext("Canada–Japan recommendation tracker: status changes in “%(theme)s”") % {
            "theme": words(selection.subject, "name").text
        }

    def subtitle(self, selection: FeedSelection) -> str:
        return gettext("Status changes to the items of the theme “%(theme)s”, newest first.") % {
            "theme": words(selection.subject, "name").text
        }

    def link(self, selection: FeedSelection) -> str:
        return reverse("recommendations:recommendation-list") + f"?theme={selection.subject.slug}"

    def feed_url(self, selection: FeedSelection) -> str:
        return reverse("recommendations:feed-theme-changes", kwargs={"slug": selection.subject.slug})

    def items(self, selection: FeedSelection):
        in_theme = Recommendation.themes.through.objects.filter(
            recommendation_id=OuterRef("recommendation_id"), theme=selection.subject
        )
        return selection.changes.filter(Exists(in_theme))[:FEED_LENGTH]


class RecommendationStatusChangesFeed(StatusChangesFeed):
    """The status changes of one item, newest first: to follow just that item."""

    def get_subject(self, request, code: str) -> Recommendation:
        try:
            CODE_VALIDATOR(code)  # refuses NUL bytes and other junk before any query
        except ValidationError:
            raise Http404(
                gettext("No recommendation has the code “%(code)s”.") % {"code": code.replace(chr(0), "")}
            ) from None
        return get_object_or_404(Recommendation, code=code)

    def title(self, selection: FeedSelection) -> str:
        return gettext("Canada–Japan recommendation tracker: status changes of %(code)s") % {
            "code": selection.subject.code
        }

    def subtitle(self, selection: FeedSelection) -> str:
        item = selection.subject
        return gettext("Status changes of %(code)s “%(title)s”, newest first.") % {
            "code": item.code,
            "title": words(item, "title").text,
        }

    def link(self, selection: FeedSelection) -> str:
        return selection.subject.get_absolute_url()

    def feed_url(self, selection: FeedSelection) -> str:
        return reverse("recommendations:feed-recommendation-changes", kwargs={"code": selection.subject.code})

    def items(self, selection: FeedSelection):
        return selection.changes.filter(recommendation=selection.subject)[:FEED_LENGTH]
