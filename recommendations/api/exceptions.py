"""The API's errors, always JSON.

Two shapes, as in Django REST framework:
- 400: `{"field": ["what is wrong", ...], ...}`, keyed by the parameter or body field
  (`non_field_errors` for a problem with the whole input);
- every other error: `{"detail": "a sentence"}` (412 adds `current_version`).

Services refuse with `django.core.exceptions.ValidationError` keyed by field; they
become 400s here. `StaleVersionError` (someone else changed the item) becomes 412.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from recommendations.services import StaleVersionError

ERROR_NO_SUCH_ENDPOINT = "There is no API endpoint at this address. The list of endpoints is at /api/."


class PreconditionFailed(APIException):
    """The If-Match header names a version that is not the item's current one."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The item has changed since the version given in If-Match."
    default_code = "precondition_failed"


class PreconditionRequired(APIException):
    """A write that must say which version it changes came without If-Match."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send the If-Match header with the ETag of the item you read."
    default_code = "precondition_required"


def etag_for(version: int) -> str:
    """Return the ETag header value for an item's version, e.g. '"3"'."""
    return f'"{version}"'


def validation_error_data(exc: DjangoValidationError) -> dict[str, list[str]]:
    """Return a Django ValidationError as `{field: [messages]}`."""
    if hasattr(exc, "error_dict"):
        field = api_settings.NON_FIELD_ERRORS_KEY
        return {(field if name == NON_FIELD_ERRORS else name): messages for name, messages in exc.message_dict.items()}
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def api_exception_handler(exc, context):
    """Turn every refusal into a JSON response; anything else is a real server error."""
    if isinstance(exc, StaleVersionError):
        response = Response(
            {"detail": exc.messages[0], "current_version": exc.actual},
            status=status.HTTP_412_PRECONDITION_FAILED,
        )
        response["ETag"] = etag_for(exc.actual)
        return response
    if isinstance(exc, DjangoValidationError):
        return Response(validation_error_data(exc), status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = flatten_errors(response.data)
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


def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Answer an address under /api/ that no endpoint serves, in JSON like every other API error."""
    return JsonResponse({"detail": ERROR_NO_SUCH_ENDPOINT}, status=status.HTTP_404_NOT_FOUND)
