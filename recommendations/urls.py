"""Reviewer pages."""

from django.urls import path

from recommendations import views

app_name = "recommendations"

urlpatterns = [
    path("", views.RecommendationListView.as_view(), name="recommendation-list"),
    path("recommendations/<str:code>/", views.RecommendationDetailView.as_view(), name="recommendation-detail"),
    path("sources/<slug:slug>/", views.SourceDetailView.as_view(), name="source-detail"),
]
