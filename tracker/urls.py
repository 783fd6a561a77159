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

# Errors that reach Django (outside the API's views, or a failure of the server): JSON under /api/, pages elsewhere.
handler400 = "recommendations.api.exceptions.bad_request"
handler403 = "recommendations.api.exceptions.permission_denied"
handler404 = "recommendations.api.exceptions.page_not_found"
handler500 = "recommendations.api.exceptions.server_error"
