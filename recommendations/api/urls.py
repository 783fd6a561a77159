"""REST API URLs, under /api/ (see DESIGN.md: these addresses are a contract with scripts)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from recommendations.api import views
from recommendations.api.exceptions import api_not_found

app_name = "api"

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="root"),
    path("recommendations/", views.RecommendationListView.as_view(), name="recommendation-list"),
    path("recommendations/<str:code>/", views.RecommendationDetailView.as_view(), name="recommendation-detail"),
    path(
        "recommendations/<str:code>/status-changes/",
        views.StatusChangeListView.as_view(),
        name="recommendation-status-changes",
    ),
    path("recommendations/<str:code>/evidence/", views.EvidenceListView.as_view(), name="recommendation-evidence"),
    path(
        "recommendations/<str:code>/evidence/<int:evidence_id>/retraction/",
        views.EvidenceRetractionView.as_view(),
        name="recommendation-evidence-retraction",
    ),
    path("changes/", views.ChangeFeedView.as_view(), name="change-feed"),
    path("themes/", views.ThemeListView.as_view(), name="theme-list"),
    path("owners/", views.OwnerListView.as_view(), name="owner-list"),
    path("sources/", views.SourceListView.as_view(), name="source-list"),
    path("statuses/", views.StatusListView.as_view(), name="status-list"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Any other address under /api/ answers in JSON too.
    re_path(r"^.*$", api_not_found, name="not-found"),
]
