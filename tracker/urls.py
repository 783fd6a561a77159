"""The tracker's URLs: reviewer pages at /, the REST API at /api/, the analysts' admin at /admin/,
and /healthz for load balancers."""

from django.contrib import admin
from django.urls import include, path

from tracker.health import healthz

admin.site.site_header = "Canada–Japan recommendation tracker"
admin.site.site_title = "Tracker admin"
admin.site.index_title = "Analysts' workspace"

urlpatterns = [
    # Both spellings answer directly: a health probe must not follow a redirect.
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("admin/", admin.site.urls),
    path("api/", include("recommendations.api.urls")),
    path("", include("recommendations.urls")),
]
