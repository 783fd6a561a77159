"""The page a reader is on, in each of the interface's languages, and the language they chose.

English pages keep their addresses; French and Japanese ones stand under /fr/ and /ja/ (tracker/urls.py).
Each page offers the same page, with the same filters, in the other languages (`alternates`: the
language switch and the `hreflang` links). The switch's links go through `choose_language`, which remembers
the choice in a cookie; `RememberedLanguageMiddleware` then takes a reader who chose French or Japanese
from an English address to the same page in their language.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language_from_path

# Addresses outside the pages and the admin: one address each, whatever the language.
UNTRANSLATED_PREFIXES = ("/api/", "/i18n/", "/healthz", "/static/")


@dataclass(frozen=True)
class Alternate:
    """One language's version of the page: its code, its name in itself, its address."""

    code: str
    name: str
    url: str
    current: bool
    switch_url: str


def page_in(request: HttpRequest, language: str) -> str:
    """The address of the page `request` is on, in `language`, with its query string (filters) kept."""
    return translate_url(request.get_full_path(), language)


def alternates(request: HttpRequest) -> list[Alternate]:
    """The page in each of the interface's languages, in the order of LANGUAGES."""
    current = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    here = urlencode({"next": request.get_full_path()})
    return [
        Alternate(
            code=code,
            name=name,
            url=page_in(request, code),
            current=code == current,
            switch_url=f"{reverse('choose-language', args=[code])}?{here}",
        )
        for code, name in settings.LANGUAGES
    ]


def choose_language(request: HttpRequest, language: str) -> HttpResponse:
    """Remember `language` as the reader's choice and show them the page they were on (`next`) in it."""
    if language not in dict(settings.LANGUAGES):
        raise Http404(f"The tracker has no language {language!r}.")
    next_url = request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        next_url = "/"
    # The address is read in its own language (its prefix), then written in the chosen one.
    with translation.override(get_language_from_path(urlsplit(next_url).path) or settings.LANGUAGE_CODE):
        target = translate_url(next_url, language)
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=request.is_secure(),
        httponly=True,
    )
    return response


def languages(request: HttpRequest) -> dict:
    """Context processor: the page's alternates, for the switch and the `hreflang` links."""
    if request.path.startswith(UNTRANSLATED_PREFIXES):
        return {}
    return {"language_alternates": alternates(request)}


class RememberedLanguageMiddleware:
    """Send a reader who chose French or Japanese from an English address to the same page in that language.

    Only pages and the admin have language versions; only a choice made with the switch (the
    cookie) counts, never the browser's Accept-Language, so an English address stays English for
    everyone who has not chosen otherwise. Only GET and HEAD are redirected.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        translatable = not request.path_info.startswith(UNTRANSLATED_PREFIXES)
        if translatable and request.method in ("GET", "HEAD") and get_language_from_path(request.path_info) is None:
            chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
            if chosen and chosen != settings.LANGUAGE_CODE and chosen in dict(settings.LANGUAGES):
                target = page_in(request, chosen)
                if target != request.get_full_path():
                    response = HttpResponseRedirect(target)
                    patch_vary_headers(response, ["Cookie"])
                    return response
        response = self.get_response(request)
        if translatable:
            patch_vary_headers(response, ["Cookie"])
        return response
