"""`/healthz`: is this web process able to serve? Polled by load balancers and Docker.

It runs one `SELECT 1` through the default database connection (reusing the
persistent connection when there is one) and touches nothing else: no session,
no template, no login. 200 `{"status": "ok"}` when the database answers;
503 `{"status": "unavailable", "reason": "..."}` when it does not. The reason
names the failure without the server's address or credentials, in the language of
the request's Accept-Language as the API's messages (English by default); the full
error goes to the log. `status` is a code, never translated.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from recommendations.api.language import answer_in_request_language

logger = logging.getLogger(__name__)

REASON_DATABASE_UNREACHABLE = _("The database did not answer: {error}.")


def database_problem(alias: str = "default") -> str | None:
    """Return why the database cannot be used, or None when `SELECT 1` succeeds."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("Health check: database %r unavailable: %s", alias, exc)
        return REASON_DATABASE_UNREACHABLE.format(error=type(exc).__name__)
    return None


@never_cache
@require_safe
@answer_in_request_language
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database is reachable, 503 with a reason when it is not."""
    problem = database_problem()
    if problem:
        return JsonResponse({"status": "unavailable", "reason": problem}, status=503)
    return JsonResponse({"status": "ok"})
