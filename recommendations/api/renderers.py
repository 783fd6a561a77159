"""CSV for the list endpoints (`?format=csv` or `Accept: text/csv`).

A CSV export has every matching row, not one page: the rows are written as the
database hands them over, in batches, through a streaming response, so a large
export never sits in memory whole. UTF-8, a header row, one row per result;
list values (themes, owners, evidence links) are joined with "; ".

A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`,
`@`, a tab or a carriage return) is written with a leading `'`, OWASP's rule
against CSV injection: a title such as `=HYPERLINK(...)` is shown as text.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

CSV_MEDIA_TYPE = "text/csv"
# Rows written into one chunk of a streamed CSV: a few tens of kilobytes per write to the client.
CHUNK_ROWS = 200
LIST_SEPARATOR = "; "
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class CSVRenderer(BaseRenderer):
    """Makes `format=csv` a known format; the list views stream their rows with `csv_response`."""

    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        # Reached only for small, already-built lists (the vocabularies); big lists stream.
        if isinstance(data, Mapping):
            data = data.get("results", [data])
        rows = list(data or [])
        columns = list(rows[0]) if rows else []
        return b"".join(csv_chunks(rows, columns))


def csv_cell(value) -> str:
    """Return one value as CSV text, never one a spreadsheet would run as a formula."""
    text = value if type(value) is str else _as_text(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else text


_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)  # each prefix is one character


def _as_text(value) -> str:
    """Return one value as text: lists joined, dates in ISO 8601, nested objects by their link or code."""
    # The common types first, by exact type: a large export asks this for every cell.
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is list or kind is tuple:
        return LIST_SEPARATOR.join([v if type(v) is str else _as_text(v) for v in value])
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        for key in ("link", "url", "code", "slug"):
            if value.get(key):
                return str(value[key])
        return ""
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(_as_text(v) for v in value)
    return str(value)


def csv_chunks(rows: Iterable[Mapping], columns: Sequence[str]) -> Iterator[bytes]:
    """Yield the header line, then one line per row (only `columns`, in that order), as UTF-8, `CHUNK_ROWS`
    lines at a time, written into one reused buffer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for number, row in enumerate(rows, 1):
        writer.writerow([csv_cell(row.get(column)) for column in columns])
        if number % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def csv_response(rows: Iterable[Mapping], columns: Sequence[str], *, filename: str) -> StreamingHttpResponse:
    """Return a streaming CSV download of `rows`."""
    response = StreamingHttpResponse(
        csv_chunks(rows, columns),
        content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
