"""The API's language: chosen by the request's `Accept-Language` alone, English when it names none we speak.

The API has one address per resource (no /fr/ or /ja/ prefix), and a script must get a
predictable answer: the language cookie the pages remember is not read here, only the
header. `fr-CA,fr;q=0.9` is French, `ja-JP` Japanese, `de` or no header English.

Every answer under /api/ says which language it is in (`Content-Language`) and that it
depends on the header (`Vary: Accept-Language`). Only the human-readable words change:
error sentences, vocabulary labels and definitions; codes, field names and shapes do not.

An item's `ETag` is its version. Its detail carries words of the language (the status's
label and definition), so each language is a different representation: a French
representation's ETag is `"3-fr"`, an English one's stays `"3"`. `Vary` alone would not
keep a cache from taking a French body for a current English one: a cache may revalidate
with the ETags of every variant it holds, and any 304 for `"3"` (from this server or a proxy)
would then serve the French body to an English request. `If-Match` takes either form
(`conditions.py`): the version is what a write checks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import language_code_re, parse_accept_lang_header

ACCEPT_LANGUAGE = "Accept-Language"


def language_from_accept_language(header: str | None) -> str:
    """Return the supported language the header prefers (by its q-values), or the default (English)."""
    for code, _quality in parse_accept_lang_header(header or ""):
        if code == "*":
            break
        if not language_code_re.search(code):
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def request_language(request) -> str:
    """Return the language to answer `request` in: its Accept-Language header's, never the cookie's."""
    return language_from_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE"))


def _chunks_in(language: str, chunks: Iterable) -> Iterator:
    """Yield the chunks of a streamed body, each made with `language` active (and only while it is made)."""
    iterator = iter(chunks)
    while True:
        with translation.override(language):
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def mark_language(response, language: str):
    """Say the response's language and that it depends on Accept-Language; a stream is made in it too."""
    if isinstance(response, StreamingHttpResponse):
        response.streaming_content = _chunks_in(language, response.streaming_content)
    response["Content-Language"] = language
    patch_vary_headers(response, (ACCEPT_LANGUAGE,))
    return response


def answer_in_request_language(view):
    """Run a view (a function, or an error handler) in the request's Accept-Language, rendering its answer in it."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        language = request_language(request)
        with translation.override(language):
            response = view(request, *args, **kwargs)
            if callable(getattr(response, "render", None)):
                response = response.render()
        return mark_language(response, language)

    return wrapped
