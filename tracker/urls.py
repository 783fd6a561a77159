"""The tracker's URLs: reviewer pages at /, the REST API at /api/, the analysts' admin at /admin/,
and /healthz for load balancers.

The pages and the admin speak English at these addresses and French and Japanese under /fr/ and
/ja/; the API and the health check have one address each, and the API answers in the language of
the request's Accept-Language.
"""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from tracker.health import healthz
from tracker.languages import choose_language

# Lazy: set once at import, read in the language of each request.
admin.site.site_header = _("Canada–Japan recommendation tracker")
admin.site.site_title = _("Tracker admin")
admin.site.index_title = _("Analysts' workspace")

urlpatterns = [
    # Both spellings answer directly: a health probe must not follow a redirect.
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("api/", include("recommendations.api.urls")),
    # The language switch: remembers the reader's choice and shows the same page in that language.
    path("i18n/<str:language>/", choose_language, name="choose-language"),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("recommendations.urls")),
    prefix_default_language=False,
)

# Errors that reach Django (outside the API's views, or a failure of the server): JSON under /api/, pages elsewhere.
handler400 = "recommendations.api.exceptions.bad_request"
handler403 = "recommendations.api.exceptions.permission_denied"
handler404 = "recommendations.api.exceptions.page_not_found"
handler500 = "recommendations.api.exceptions.server_error"
