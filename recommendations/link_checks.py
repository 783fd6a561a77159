"""Visiting evidence web addresses: one polite HTTP visit per address, told as a `LinkOutcome`.

Standard library only (urllib), so the check adds no runtime dependency. HEAD
first, then GET when the site refuses HEAD (405, 501) or answers it with any other
error: some servers answer HEAD wrongly, and a 404 makes a link dead at once, so
the GET's answer is the one recorded. Redirects are followed, at
most `MAX_REDIRECTS`, keeping the method; the timeout bounds the connection and
each read (not the whole visit). Nothing here touches the database: the
`check_evidence_links` command visits addresses in threads and records what
they answered through `services.evidence_link_check_record`.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from http import HTTPStatus
from urllib.error import HTTPError, URLError
from urllib.parse import urldefrag, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from django.utils.encoding import iri_to_uri

from recommendations.vocabulary import LinkOutcome

USER_AGENT = "CanadaJapanTracker-LinkCheck/1.0 (+{about})"
MAX_REDIRECTS = 5
GONE = frozenset({HTTPStatus.NOT_FOUND, HTTPStatus.GONE})
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.8"


@dataclass(frozen=True)
class LinkResult:
    """What one visit of a web address found."""

    outcome: str
    http_status: int | None = None
    final_url: str = ""
    detail: str = ""


class _Redirects(HTTPRedirectHandler):
    """Follow at most MAX_REDIRECTS redirects, to web addresses only, keeping HEAD a HEAD."""

    max_redirections = MAX_REDIRECTS
    max_repeats = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise URLError(f"redirected to {newurl}, which is not a web address")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.method = req.get_method()
        return new


def _status_phrase(code: int) -> str:
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _answered(url: str, code: int, final_url: str) -> LinkResult:
    """Classify an HTTP answer."""
    if 200 <= code < 300:
        if final_url and urldefrag(final_url).url != urldefrag(url).url:
            return LinkResult(LinkOutcome.REDIRECTED, code, final_url, f"redirected to {final_url}")
        return LinkResult(LinkOutcome.OK, code, final_url)
    if code in GONE:
        outcome = LinkOutcome.NOT_FOUND
    elif 500 <= code < 600:
        outcome = LinkOutcome.SERVER_ERROR
    else:
        outcome = LinkOutcome.CLIENT_ERROR
    return LinkResult(outcome, code, final_url, _status_phrase(code))


def _unreachable(error: BaseException) -> LinkResult:
    reason = error.reason if isinstance(error, URLError) else error
    if isinstance(reason, TimeoutError):
        return LinkResult(LinkOutcome.TIMEOUT, detail="timed out")
    if isinstance(reason, ConnectionRefusedError):
        return LinkResult(LinkOutcome.REFUSED, detail="connection refused")
    return LinkResult(LinkOutcome.REFUSED, detail=str(reason) or type(reason).__name__)


def _visit(url: str, method: str, *, timeout: float, user_agent: str) -> LinkResult:
    request = Request(url, method=method, headers={"User-Agent": user_agent, "Accept": ACCEPT})  # noqa: S310
    opener = build_opener(_Redirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            return _answered(url, response.status, response.geturl())
    except HTTPError as error:
        error.close()
        if 300 <= error.code < 400:
            return LinkResult(
                LinkOutcome.REFUSED,
                error.code,
                error.geturl() or "",
                f"more than {MAX_REDIRECTS} redirects, or a redirect loop",
            )
        return _answered(url, error.code, error.geturl() or url)
    except (URLError, TimeoutError) as error:
        return _unreachable(error)
    except (http.client.HTTPException, OSError, ValueError) as error:
        # A connection dropped mid-answer, a malformed answer, an address urllib cannot open.
        return LinkResult(LinkOutcome.REFUSED, detail=f"{type(error).__name__}: {error}".rstrip(": "))


def check_url(url: str, *, timeout: float, user_agent: str) -> LinkResult:
    """Visit a web address (HEAD, then GET if HEAD is refused or fails) and return what it answered."""
    address = iri_to_uri(url)
    result = _visit(address, "HEAD", timeout=timeout, user_agent=user_agent)
    # 405 and 501 refuse HEAD itself; other errors are confirmed by a GET before they count.
    if result.http_status is not None and result.http_status >= HTTPStatus.BAD_REQUEST:
        result = _visit(address, "GET", timeout=timeout, user_agent=user_agent)
    return result
