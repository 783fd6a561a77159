"""What the OpenAPI schema says about parameters and errors that the code cannot describe by itself.

The filter parameters are described here, once, from the same vocabularies the
FilterSet uses; the error responses are shared by every endpoint, all with the
one `Error` shape (`exceptions.py`). Text fields of the inputs say what they
take: a string, at least one character that is not a space when required, never
a NUL.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from recommendations.api.pagination import DEFAULT_PAGE_SIZE, max_page_size
from recommendations.api.parsers import MAX_JSON_DEPTH
from recommendations.api.serializers import ErrorSerializer
from recommendations.filters import ORDERING_FIELDS
from recommendations.vocabulary import Level, Status

_REPEAT = " Repeat the parameter for OR (`?theme=a&theme=b`); different parameters combine with AND."


def _list_of(description: str, *, name: str, enum: list[str] | None = None, example: str | None = None):
    items = {"type": "string", **({"enum": enum} if enum else {})}
    return OpenApiParameter(
        name,
        {"type": "array", "items": items},
        OpenApiParameter.QUERY,
        description=description + _REPEAT,
        explode=True,
        style="form",
        examples=[OpenApiExample(name, value=[example])] if example else None,
    )


ORDERING_VALUES = [value for name in ORDERING_FIELDS for value in (name, f"-{name}")]

AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    OpenApiParameter.QUERY,
    description="Read each item's status as it stood on this date (YYYY-MM-DD; today or earlier, else 400). "
    "The status is the one set by the item's latest status change effective on or before that date (of "
    "several on the same day, the last recorded), or `not_assessed` if there was none; `status_date` is that "
    "change's effective date (null if none), and `as_of` echoes the date. In a list, `status` filters and "
    "`ordering=status` or `status_date` sort by these as-of values. Without it: today's status, and `as_of` "
    "is null.",
    examples=[OpenApiExample("the 2018 brief's assessment", value="2018-06-01")],
)


def _true_false(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "string", "enum": ["true", "false", "1", "0"]},
        OpenApiParameter.QUERY,
        description=description + " `1` and `0` say the same; any other value is a 400 naming the parameter.",
    )


def _due(name: str, description: str, example: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        description=description + " (YYYY-MM-DD; else 400). Items without a due date are left out.",
        examples=[OpenApiExample(name, value=example)],
    )


CODE_FILTER_DESCRIPTION = (
    "Item code: just these items (e.g. `code=JN97-A&code=BM18-3`, to follow the items you care about). An unknown "
    "code is a 400 naming `code` and the codes it did not find."
)
CODE_FILTER_PARAMETER = _list_of(CODE_FILTER_DESCRIPTION, name="code", example="JN97-A")

FILTER_PARAMETERS = [
    _list_of("Source document slug (see /api/sources/).", name="source", example="job-nishihara-1997"),
    _list_of("Theme slug (see /api/themes/).", name="theme", example="defence-exchanges"),
    _list_of("Owner slug: who must act (see /api/owners/).", name="owner", example="global-affairs-canada"),
    _list_of(
        "Status code (see /api/statuses/); with `as_of`, the status on that date.",
        name="status",
        enum=list(Status.values),
    ),
    _list_of("Level.", name="level", enum=list(Level.values)),
    _list_of("Code of the parent item: its sub-items.", name="parent", example="JN97-SA-BIL"),
    OpenApiParameter(
        "search",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Words to find in the title, the quoted text or the notes of the item's links (or an item's "
        'code): whole words with English stemming, in web-search syntax ("a phrase", or, -word), the same on '
        "SQLite and PostgreSQL; best match first unless `ordering` is given.",
    ),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Only items changed at or after this moment: an ISO 8601 date (2018-06-01, midnight UTC) "
        "or date-time (2018-06-01T12:00:00Z).",
        examples=[
            OpenApiExample("date", value="2018-06-01"),
            OpenApiExample("date-time", value="2018-06-01T12:00:00Z"),
        ],
    ),
    AS_OF_PARAMETER,
    _true_false(
        "overdue",
        "`true`: only items overdue, `false`: only the others. Overdue is past the due date and not closed "
        "(implemented, superseded, not pursued), or late on a recurring schedule: the item's last occurrence (the "
        "document's date, a status change's effective date or the date of evidence not retracted) is older than "
        "its `schedule_months` allow, and it is not superseded or not pursued. With `as_of`: overdue on that "
        "date, with the status then and the record up to then.",
    ),
    _due("due_before", "Only items due on or before this date", "2000-03-31"),
    _due("due_after", "Only items due on or after this date", "1998-01-01"),
    _true_false("priority", "`true`: only items analysts flagged as a priority, `false`: only the others."),
    CODE_FILTER_PARAMETER,
    OpenApiParameter(
        "ordering",
        {"type": "array", "items": {"type": "string", "enum": ORDERING_VALUES}, "uniqueItems": True},
        OpenApiParameter.QUERY,
        style="form",
        explode=False,
        description="Sort order, comma-separated; `-` reverses. `reading` (the default) is document order. "
        + ", ".join(f"`{name}`: {label}" for name, (_, label) in ORDERING_FIELDS.items())
        + ". An empty or repeated term (`ordering=,` or `code,code`) is a 400 naming `ordering`.",
    ),
]

PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1},
        OpenApiParameter.QUERY,
        description="A page number, from 1. Past the last page: 404.",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": max_page_size()},
        OpenApiParameter.QUERY,
        description=f"Items per page, from 1 to {max_page_size()} (default {DEFAULT_PAGE_SIZE}); "
        "a larger one gets 400. Ignored with format=csv, which gives every row.",
    ),
]

SINCE_PARAMETER = OpenApiParameter(
    "since",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="Only changes recorded at or after this moment: an ISO 8601 date (midnight UTC) or date-time. "
    "To sync, pass the `recorded_at` of the last change you processed and skip the ids you already have.",
    examples=[OpenApiExample("date-time", value="2018-06-01T00:00:00Z")],
)

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    {"type": "string", "enum": ["json", "csv"]},
    OpenApiParameter.QUERY,
    description="`csv` returns every matching row (not one page) as a UTF-8 CSV download with a header row; "
    "list values are joined with '; '. Default: JSON.",
)

CODE_PARAMETER = OpenApiParameter(
    "code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The item's code, e.g. JN97-A.",
    examples=[OpenApiExample("code", value="JN97-A")],
)
EVIDENCE_ID_PARAMETER = OpenApiParameter(
    "evidence_id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The evidence's id, as the item's evidence list gives it.",
)


def if_match_parameter(*, required: bool) -> OpenApiParameter:
    rule = (
        "Required: a PATCH without it gets 428."
        if required
        else "Optional; when given it must name the current version."
    )
    return OpenApiParameter(
        "If-Match",
        # An empty or blank If-Match counts as none: refused (428) where one is required, skipped elsewhere.
        {"type": "string", "minLength": 1, "pattern": "\\S"} if required else OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=required,
        description='The ETag of the item as you read it (e.g. "3", or "3-fr" when read with Accept-Language: fr; '
        'W/"3" and * are accepted). '
        + rule
        + " A stale one gets 412 and nothing is changed: read the item again, then retry with its new ETag.",
    )


# The one shape of every error: `detail`, plus a 400's refused fields, plus a 412's `current_version`.
ERROR_FIELDS_SCHEMA = {
    "type": "array",
    "items": {"type": "string"},
    "description": "400 only: each key names a refused parameter or body field (`non_field_errors` for the "
    "input as a whole, `new_evidence.url` for a nested one) and lists what is wrong with it.",
}


class ErrorSchema(OpenApiSerializerExtension):
    """The `Error` component: `detail` and `current_version` as declared, any other key a list of messages."""

    target_class = ErrorSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        schema["additionalProperties"] = ERROR_FIELDS_SCHEMA
        schema["description"] = (
            "Every error of the API, whatever its status: `detail` says what is wrong and what to fix. "
            "A 400 also has a key for each refused parameter or body field, with its messages; "
            "a 412 also has `current_version`."
        )
        return schema


# Text without a NUL; and text with a character other than a space (what a required text field needs).
# The first matches no empty string: drf-spectacular adds an empty string as a choice of its own (oneOf).
_NO_NUL = "^[^\\u0000]+$"
_NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


class TextFieldSchema(OpenApiSerializerFieldExtension):
    """An input text field: a string (never a number), not blank when required, never with a NUL."""

    target_class = "recommendations.api.serializers.TextField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if not self.target.allow_blank:
            schema["minLength"] = max(1, schema.get("minLength", 0))
        schema["pattern"] = _NO_NUL if self.target.allow_blank else _NOT_BLANK
        return schema


# Query parameters given empty (`?as_of=&search=`, as the reviewers' form sends them) count as not given,
# except these two, whose empty value is no code at all (a 400).
EMPTY_VALUE_REFUSED = {"status", "level"}


def allow_empty_query_values(result, generator, request, public):
    """A postprocessing hook (settings.SPECTACULAR_SETTINGS): say which query parameters may be empty."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter["name"] not in EMPTY_VALUE_REFUSED:
                    parameter["allowEmptyValue"] = True
    return result


# gunicorn's default `--limit-request-line`: a longer request line never reaches the tracker.
REQUEST_LINE_LIMIT = 4094
URI_TOO_LONG = {
    "description": (
        f"The request line (method, path and query) is longer than the HTTP server accepts ({REQUEST_LINE_LIMIT} "
        "bytes under gunicorn). The server refuses it before the tracker sees it, so this one error is the "
        "server's short HTML page, not JSON. Send fewer or shorter query parameters."
    ),
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def document_uri_too_long(result, generator, request, public):
    """A postprocessing hook (settings.SPECTACULAR_SETTINGS): any request may be refused with 414."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {})["414"] = URI_TOO_LONG
    return result


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


_ERRORS = {
    400: _error(
        "Bad input: `detail` sums it up, and each refused parameter or body field is a key with its messages, "
        'e.g. {"detail": "theme: Unknown theme: x. Use one of: ...", "theme": ["Unknown theme: x. Use one of: ..."]}. '
        f"Also a malformed JSON body, or one nested more than {MAX_JSON_DEPTH} levels deep (`detail` only)."
    ),
    401: _error("Not signed in where it is needed, or the token is invalid."),
    403: _error("Signed in but not allowed (writes are for analysts)."),
    404: _error("No such item, or a page past the last one."),
    406: _error("The Accept header asks for a format the API does not give."),
    412: _error(
        "If-Match names another version: someone changed the item since you read it. `current_version` is "
        "the item's version now. Nothing was written. Read the item again and retry with its new ETag."
    ),
    413: _error(
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)."
    ),
    415: _error("Send JSON (Content-Type: application/json)."),
    428: _error("PATCH needs If-Match."),
    429: _error("Too many requests; the Retry-After header says when to retry."),
    500: _error("The server failed; it has logged the failure. `detail` never holds a traceback."),
}

# Any request may be malformed (400), carry a bad token (401), be refused (403), ask for a format
# there is not (406), come too often (429) or meet a failure of the server (500).
ALWAYS_ERRORS = (400, 401, 403, 406, 429, 500)


def errors(*codes: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Return the documented error responses: these status codes and those of any request (always JSON)."""
    return {(code, "application/json"): _ERRORS[code] for code in sorted({*ALWAYS_ERRORS, *codes})}


READ_ERRORS = (400, 401, 403, 404, 406, 429)
WRITE_ERRORS = (400, 401, 403, 404, 412, 413, 415, 429)

PAGE_SIZE_NOTE = f"Paginated: `page` from 1, `page_size` up to {max_page_size()} (default {DEFAULT_PAGE_SIZE})."
