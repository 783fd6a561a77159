"""The tracker's URLs: reviewer pages at /, the REST API at /api/, the analysts' admin at /admin/."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Canada–Japan recommendation tracker"
admin.site.site_title = "Tracker admin"
admin.site.index_title = "Analysts' workspace"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("recommendations.api.urls")),
    path("", include("recommendations.urls")),
]
