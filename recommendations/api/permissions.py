"""Who may use the API: reads are open (or signed-in only, by setting); writes are for analysts.

Analysts write by session (the admin's sign-in, with the CSRF token) or by a
token from DRF's authtoken (`python manage.py drf_create_token USERNAME`).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from recommendations.roles import user_is_analyst

ERROR_ANALYSTS_ONLY = _("Only analysts may change the tracker. Ask an administrator to add you to the analyst group.")
ERROR_SIGN_IN_TO_READ = _("Sign in, or send an analyst's or reviewer's token, to read the API.")

# Token first: an anonymous caller then gets 401 with `WWW-Authenticate: Token`, not a bare 403.
AUTHENTICATION_CLASSES = [TokenAuthentication, SessionAuthentication]


def reads_require_login() -> bool:
    """Return True when the API's reads are closed to anonymous callers (settings.API_READS_REQUIRE_LOGIN)."""
    return bool(getattr(settings, "API_READS_REQUIRE_LOGIN", False))


class ReadOpenWriteAnalyst(BasePermission):
    """GET/HEAD/OPTIONS: anyone (signed-in only when the setting says so). Other methods: analysts."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            if reads_require_login() and not (request.user and request.user.is_authenticated):
                self.message = ERROR_SIGN_IN_TO_READ
                return False
            return True
        self.message = ERROR_ANALYSTS_ONLY
        return user_is_analyst(request.user)


class ApiAnonThrottle(AnonRateThrottle):
    """Anonymous callers, by address (rate: DEFAULT_THROTTLE_RATES["anon"])."""


class ApiUserThrottle(UserRateThrottle):
    """Signed-in callers and tokens, by user (rate: DEFAULT_THROTTLE_RATES["user"])."""


THROTTLE_CLASSES = [ApiAnonThrottle, ApiUserThrottle]
