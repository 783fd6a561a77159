"""Sign-in protection: who a client is (its address), the lockout check, and the answer a locked-out client gets.

django-axes counts failed sign-ins in the database (shared by every web process)
and locks an account or an address after settings.AXES_FAILURE_LIMIT failures
for settings.AXES_COOLOFF_TIME.
"""

from __future__ import annotations

import ipaddress
import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

LOCKOUT_TEMPLATE = "admin/locked_out.html"


def client_ip(request) -> str | None:
    """Return the client's address: the connection's, or the one the trusted proxies put in X-Forwarded-For.

    The same rule as the API's request limits (REST_FRAMEWORK["NUM_PROXIES"], from PROXY_COUNT),
    so a client is one address for both. Anything that is not an address falls back to the connection's.
    """
    ident = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(ident.strip()))
    except (ValueError, AttributeError):
        return request.META.get("REMOTE_ADDR")


class LockoutBackend(AxesStandaloneBackend):
    """Refuse every sign-in of a locked-out account or address, the right password included.

    First in AUTHENTICATION_BACKENDS. A check without a request (Django's test client `login`, a
    management command) has no address to count and nothing to lock: it is left to the next backend.
    Every sign-in over HTTP (the admin's form) comes with its request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response, credentials):
    """The answer to a locked-out sign-in: 429, our own page saying when to try again, and Retry-After."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else None
    context = {
        **admin.site.each_context(request),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "username": get_client_username(request, credentials) or "",
        "cool_off_minutes": math.ceil(seconds / 60) if seconds else None,
        # Each attempt while locked starts the wait again, so it ends one cool-off after this one.
        "retry_at": timezone.now() + cool_off if cool_off else None,
        "title": "Sign-in locked",
    }
    response = render(request, LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
