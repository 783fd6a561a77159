"""The API's errors: always JSON, always one shape, whatever the status.

Every error is an object with `detail`, one sentence saying what is wrong and
what to fix. Besides it:
- a 400 keeps each refused parameter or body field at the top level, as
  `{"field": ["what is wrong", ...]}` (`non_field_errors` for the input as a
  whole; nested fields named `new_evidence.url`);
- a 412 adds `current_version`, the item's version now.
The schema documents this as one `Error` component (see `schema.py`).

Services refuse with `django.core.exceptions.ValidationError` keyed by field; they
become 400s here. `StaleVersionError` (someone else changed the item) becomes 412.
A body over `DATA_UPLOAD_MAX_MEMORY_SIZE` is a 413. Errors that happen outside
the API's views (a middleware, a database that went away) reach Django's error
handlers, which `tracker/urls.py` points at `bad_request`, `permission_denied`,
`page_not_found` and `server_error` here: JSON under /api/, the usual pages
elsewhere. No error ever shows a traceback.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse, UnreadablePostError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.exceptions import APIException, MethodNotAllowed, UnsupportedMediaType, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from recommendations.api.language import answer_in_request_language
from recommendations.services import StaleVersionError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# The words of the API's errors, in the language of the request (see `language.py`).
ERROR_NO_SUCH_ENDPOINT = _("There is no API endpoint at this address. The list of endpoints is at /api/.")
ERROR_BAD_REQUEST = _("The request could not be read: check its address, query string and headers.")
ERROR_FORBIDDEN = _("You may not do this. Sign in as an analyst, or send an analyst's token.")
ERROR_BODY_TOO_LARGE = _("The request body is larger than {limit} bytes: send a smaller one.")
ERROR_SERVER = _(
    "The server failed to answer this request and has logged the failure. Try again later; "
    "if it persists, tell the tracker's administrators."
)
ERROR_METHOD_NOT_ALLOWED = _('Method "{method}" is not allowed at this address: use {allowed}.')
ERROR_MEDIA_TYPE = _('Unsupported media type "{media_type}": send a JSON body with Content-Type: application/json.')
# A 400's `detail` names each refused field with its problem: "title: Ensure this field…; url: Enter…."
FIELD_PROBLEM = pgettext_lazy("a refused field of a 400 and what is wrong with it", "{field}: {problem}")
PROBLEMS_SEPARATOR = pgettext_lazy("between the problems of a 400, in one sentence", "; ")
PROBLEMS_SENTENCE = pgettext_lazy("the problems of a 400, joined, as one sentence", "{problems}.")
# Between two HTTP methods or formats a client may use: "GET or POST".
OR = pgettext_lazy("between two alternatives, e.g. GET or POST", " or ")
# Sentence ends the problems lose before they are joined (the sentence then gets one end).
_SENTENCE_ENDS = ". \u3002"


class PreconditionFailed(APIException):
    """The If-Match header names a version that is not the item's current one."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The item has changed since the version given in If-Match.")
    default_code = "precondition_failed"


class PreconditionRequired(APIException):
    """A write that must say which version it changes came without If-Match."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _("Send the If-Match header with the ETag of the item you read.")
    default_code = "precondition_required"


def etag_for(version: int, language: str | None = None) -> str:
    """Return the ETag header value for an item's version in a language (by default the active one).

    English, the default language, is the bare version, '"3"'; another language's representation
    has its own tag, '"3-fr"', so that no cache takes one language's body for another's (see
    `language.py`). `If-Match` takes both.
    """
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if language == settings.LANGUAGE_CODE:
        return f'"{version}"'
    return f'"{version}-{language}"'


def validation_error_data(exc: DjangoValidationError) -> dict[str, list[str]]:
    """Return a Django ValidationError as `{field: [messages]}`."""
    if hasattr(exc, "error_dict"):
        field = api_settings.NON_FIELD_ERRORS_KEY
        return {(field if name == NON_FIELD_ERRORS else name): messages for name, messages in exc.message_dict.items()}
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def error_data(detail: str, **extra) -> dict:
    """Return the body of an error: `{"detail": detail, ...extra}`."""
    return {"detail": str(detail), **extra}


def bad_input_data(fields: dict[str, list[str]]) -> dict:
    """Return the body of a 400: a `detail` sentence naming each refused field, then the fields themselves.

    A field called `detail` (a parameter of that name, say) is named in the sentence only.
    """
    problems = [
        (
            message if name == api_settings.NON_FIELD_ERRORS_KEY else FIELD_PROBLEM.format(field=name, problem=message)
        ).rstrip(_SENTENCE_ENDS)
        for name, messages in fields.items()
        for message in messages
    ]
    detail = (
        PROBLEMS_SENTENCE.format(problems=PROBLEMS_SEPARATOR.join(problems)) if problems else str(ERROR_BAD_REQUEST)
    )
    return {"detail": detail, **{name: messages for name, messages in fields.items() if name != "detail"}}


def body_too_large_detail() -> str:
    return ERROR_BODY_TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def api_exception_handler(exc, context):
    """Turn every refusal into a JSON error in the one shape; anything else is a real server error.

    What this returns None for is raised again, and reaches `server_error` (a JSON 500, logged).
    """
    if isinstance(exc, StaleVersionError):
        response = Response(
            error_data(exc.messages[0], current_version=exc.actual), status=status.HTTP_412_PRECONDITION_FAILED
        )
        response["ETag"] = etag_for(exc.actual)
        return response
    if isinstance(exc, DjangoValidationError):
        return Response(bad_input_data(validation_error_data(exc)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_data(body_too_large_detail()), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation | UnreadablePostError):
        # Too many query parameters, a broken upload and the like: the client's fault, logged as Django would.
        logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
        return Response(error_data(ERROR_BAD_REQUEST), status=status.HTTP_400_BAD_REQUEST)
    view = context.get("view")
    if isinstance(exc, MethodNotAllowed) and view is not None:
        allowed = str(OR).join(m for m in view.allowed_methods if m not in ("HEAD", "OPTIONS"))
        exc = MethodNotAllowed(
            context["request"].method,
            ERROR_METHOD_NOT_ALLOWED.format(method=context["request"].method, allowed=allowed),
        )
    elif isinstance(exc, UnsupportedMediaType):
        media_type = (context["request"].content_type or "none")[:80]
        exc = UnsupportedMediaType(media_type, ERROR_MEDIA_TYPE.format(media_type=media_type))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        response.data = bad_input_data(flatten_errors(response.data))
    elif not (isinstance(response.data, dict) and isinstance(response.data.get("detail"), str)):
        flat = flatten_errors(response.data)
        response.data = error_data(" ".join(m for messages in flat.values() for m in messages))
    return response


def flatten_errors(data, prefix: str = "") -> dict[str, list[str]]:
    """Return nested serializer errors as one level, `{"new_evidence.url": [...]}`, as the schema documents."""
    if isinstance(data, dict):
        flat: dict[str, list[str]] = {}
        for key, value in data.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    key = prefix or api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(data, list) and any(isinstance(item, dict | list) for item in data):
        flat = {}
        for index, item in enumerate(data):
            if item:
                flat.update(flatten_errors(item, f"{key}.{index}"))
        return flat
    return {key: [str(item) for item in data] if isinstance(data, list) else [str(data)]}


def is_api_request(request) -> bool:
    """Return True for a request to an address under /api/, which answers errors in JSON."""
    return (getattr(request, "path_info", "") or "").startswith(API_PREFIX)


@csrf_exempt  # any method reaches it, and a POST must get the 404 too, not a CSRF page
@answer_in_request_language
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Answer an address under /api/ that no endpoint serves, in JSON like every other API error."""
    return JsonResponse(error_data(ERROR_NO_SUCH_ENDPOINT), status=status.HTTP_404_NOT_FOUND)


# --- Django's error handlers (tracker/urls.py): JSON under /api/, Django's pages elsewhere ---------
# Under /api/ the JSON answers in the request's Accept-Language; a page (/, /fr/…, /ja/…) in the
# language LocaleMiddleware chose from its address.


@answer_in_request_language
def _api_bad_request(request, exception) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_data(body_too_large_detail()), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return JsonResponse(error_data(ERROR_BAD_REQUEST), status=status.HTTP_400_BAD_REQUEST)


@answer_in_request_language
def _api_forbidden(request) -> JsonResponse:
    return JsonResponse(error_data(ERROR_FORBIDDEN), status=status.HTTP_403_FORBIDDEN)


@answer_in_request_language
def _api_server_error(request) -> JsonResponse:
    return JsonResponse(error_data(ERROR_SERVER), status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.bad_request(request, exception, template_name)
    return _api_bad_request(request, exception)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.permission_denied(request, exception, template_name)
    return _api_forbidden(request)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception, template_name)
    return api_not_found(request)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """A 500: Django has logged the exception with its traceback; the client gets one sentence."""
    if not is_api_request(request):
        return defaults.server_error(request, template_name)
    return _api_server_error(request)
