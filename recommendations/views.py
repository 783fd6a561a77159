"""Reviewer pages: server-rendered, read-only."""

from django.views.generic import DetailView, ListView

from recommendations.models import Recommendation, Source


class RecommendationListView(ListView):
    """Every tracked item, in reading order."""

    template_name = "recommendations/recommendation_list.html"
    context_object_name = "recommendations"
    paginate_by = 50

    def get_queryset(self):
        return Recommendation.objects.with_list_relations().in_reading_order()


class RecommendationDetailView(DetailView):
    """One item: its quoted text, status, evidence and timeline."""

    template_name = "recommendations/recommendation_detail.html"
    context_object_name = "recommendation"
    slug_field = "code"
    slug_url_kwarg = "code"

    def get_queryset(self):
        return Recommendation.objects.select_related("source", "parent").prefetch_related(
            "themes", "owners", "evidence", "status_changes"
        )


class SourceDetailView(DetailView):
    """A document's items in reading order."""

    template_name = "recommendations/source_detail.html"
    context_object_name = "source"
    model = Source
