"""The API's one request parser: JSON, with a limit on how deeply arrays and objects nest.

Python's JSON decoder recurses once per level, so a body of a few thousand `[`
would exhaust the stack (a 500). The depth is counted first, outside strings,
in one pass over the text; a body nested deeper than `MAX_JSON_DEPTH` is a 400
that says the limit. The body's size is limited before this by Django's
`DATA_UPLOAD_MAX_MEMORY_SIZE` (a 413, see `exceptions.py`).
"""

from __future__ import annotations

import codecs
import re

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

# The deepest write body is two levels (a status change holding `new_evidence`); 32 leaves room to spare.
MAX_JSON_DEPTH = 32

ERROR_TOO_DEEP = _("The JSON body nests arrays or objects more than {limit} levels deep: send at most {limit} levels.")
ERROR_NOT_TEXT = _("The body is not text in {encoding}: send JSON encoded as UTF-8.")
# DRF's own wording ("JSON parse error - ..."), which scripts may already look for.
ERROR_MALFORMED = _("JSON parse error - {error}. Send one JSON object.")

# A JSON string (with its escapes), or one bracket outside strings.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def json_depth(text: str, *, limit: int) -> int:
    """Return how deeply `text` nests arrays and objects, counting no further than `limit + 1`."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        piece = match.group()
        if piece in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif piece in "]}":
            depth -= 1
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser (strict: no NaN or Infinity), refusing bodies nested deeper than `MAX_JSON_DEPTH`."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.decode(stream.read() if stream is not None else b"", encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(ERROR_NOT_TEXT.format(encoding=encoding)) from exc
        if json_depth(text, limit=self.max_depth) > self.max_depth:
            raise ParseError(ERROR_TOO_DEEP.format(limit=self.max_depth))
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError as exc:  # a safety net: the depth check above makes this unreachable
            raise ParseError(ERROR_TOO_DEEP.format(limit=self.max_depth)) from exc
        except ValueError as exc:
            raise ParseError(ERROR_MALFORMED.format(error=exc)) from exc
