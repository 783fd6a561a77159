"""Reviewer pages and feeds."""

from django.urls import path

from recommendations import feeds, views

app_name = "recommendations"

urlpatterns = [
    path("", views.RecommendationListView.as_view(), name="recommendation-list"),
    path("recommendations/<str:code>/", views.RecommendationDetailView.as_view(), name="recommendation-detail"),
    path("sources/", views.SourceListView.as_view(), name="source-list"),
    path("sources/<slug:slug>/", views.SourceDetailView.as_view(), name="source-detail"),
    path("progress/", views.ProgressView.as_view(), name="progress"),
    path("methodology/", views.MethodologyView.as_view(), name="methodology"),
    path("methodology/research/", views.ResearchLogView.as_view(), name="research-log"),
    path("methodology/research/<str:name>/", views.ResearchLogView.as_view(), name="research-entry"),
    path("feeds/changes/", feeds.StatusChangesFeed(), name="feed-changes"),
    path("feeds/themes/<slug:slug>/changes/", feeds.ThemeStatusChangesFeed(), name="feed-theme-changes"),
    path(
        "feeds/recommendations/<str:code>/changes/",
        feeds.RecommendationStatusChangesFeed(),
        name="feed-recommendation-changes",
    ),
]
