"""Accessibility of the reviewer pages and the API docs, at a desktop's width and a phone's.

Every page is checked by axe-core (WCAG 2.0 and 2.1, levels A and AA; the `audit` fixture in
conftest.py) and must show no violation.
"""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest.py skips these tests with a hint (or, in CI, fails)
    Page = expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}

READER_PAGES = [
    "/",
    "/?theme=agreements&status=in_progress&search=ACSA",
    "/?status=no-such-status",
    "/recommendations/JN97-R3.10.1/",
    "/recommendations/BM18-1/?as_of=2018-06-01",
    "/recommendations/JN97-R3/",
    "/sources/",
    "/sources/job-nishihara-1997/",
    "/progress/",
    "/methodology/",
    "/methodology/research/",
    "/methodology/research/bm18-1/",
    "/no-such-page/",
    "/recommendations/NO-SUCH-CODE/",
]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_reviewer_page_passes_the_audit(page: Page, live_server, seeded, audit, width):
    page.set_viewport_size(WIDTHS[width])
    failures = []
    for path in READER_PAGES:
        page.goto(live_server.url + path)
        try:
            audit(page)
        except AssertionError as error:  # every page's violations in one report
            failures.append(str(error))
    assert not failures, "\n\n".join(failures)


def try_it_out(docs: Page) -> None:
    """Open the list of recommendations' form, send it, and wait for the answer."""
    docs.get_by_role("button", name="Try it out").first.click()
    docs.get_by_role("button", name="Execute").first.click()
    expect(docs.locator(".live-responses-table").first).to_be_visible(timeout=15_000)


def open_sign_in(docs: Page) -> None:
    docs.locator(".auth-wrapper").get_by_role("button", name=re.compile("Authorize")).click()
    expect(docs.get_by_role("dialog").or_(docs.locator(".modal-ux")).first).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_api_docs_pass_the_audit_and_lead_back_to_the_site(page: Page, live_server, seeded, audit, width):
    page.set_viewport_size(WIDTHS[width])
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    audit(page, ready=".opblock")
    # An operation opened from its address, tried out with its answer shown; the sign-in dialogue.
    page.goto("about:blank")
    page.goto(f"{live_server.url}/api/docs/#/recommendations/recommendations_list")
    expect(page.locator(".opblock.is-open")).to_have_count(1, timeout=15_000)
    audit(page, ready=".opblock.is-open", prepare=try_it_out)
    audit(page, ready=".opblock", prepare=open_sign_in)

    back = page.get_by_role("link", name=re.compile("Canada–Japan recommendation tracker"))
    expect(back).to_be_visible()
    back.click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recommendations")
