"""The front page and the progress year by year, in a real browser against the live server with the real seed.

At a laptop's 1280×800 the front page answers "how are we doing?" (the headline counts) and "what
changed?" (the latest status changes) without scrolling; at a phone's 390 px nothing scrolls
sideways; the progress page draws its SVG chart under the Content-Security-Policy, bars and all.
Screenshots go to docs/screenshots/ when UPDATE_SCREENSHOTS=1, else to a temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from recommendations.models import Recommendation, StatusChange
from recommendations.timeline import overdue_q
from recommendations.vocabulary import Status

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest.py skips these tests with a hint (or, in CI, fails)
    Page = expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def assert_on_first_screen(locator, height: int) -> None:
    box = locator.bounding_box()
    assert box is not None, "not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"ends at {box['y'] + box['height']}px, below {height}"


def assert_no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def test_at_1280_by_800_the_counts_and_the_latest_changes_need_no_scrolling(
    page: Page, live_server, seeded, audit, screenshots
):
    page.set_viewport_size(LAPTOP)
    page.goto(live_server.url + "/")
    headlines = page.get_by_test_id("headlines")
    changes = page.get_by_test_id("latest-changes")
    assert_on_first_screen(headlines, LAPTOP["height"])
    assert_on_first_screen(changes.locator("h2"), LAPTOP["height"])
    assert_on_first_screen(changes.locator("li.front-change").last, LAPTOP["height"])
    expect(page.get_by_test_id("as-of")).to_contain_text("Statuses as recorded up to")

    implemented = Recommendation.objects.filter(status=Status.IMPLEMENTED).count()
    expect(headlines.locator('[data-headline="implemented"] .headline-count')).to_have_text(str(implemented))
    expect(headlines.locator('[data-headline="overdue"] .headline-count')).to_have_text(
        str(Recommendation.objects.filter(overdue_q()).count())
    )
    latest = StatusChange.objects.order_by("-effective_date", "-id").select_related("recommendation").first()
    first = changes.locator("li.front-change").first
    expect(first).to_have_attribute("data-code", latest.recommendation.code)
    expect(first.locator("time")).to_have_attribute("datetime", latest.effective_date.isoformat())
    page.screenshot(path=screenshots / "front-1280.png")
    audit(page)

    # A count is a link to the list of exactly those items.
    headlines.locator('[data-headline="implemented"]').click()
    expect(page).to_have_url(re.compile(r"/\?status=implemented$"))
    total = Recommendation.objects.count()
    expect(page.get_by_test_id("result-count")).to_have_text(f"{implemented} of {total} items")
    expect(page.get_by_test_id("front-summary")).to_have_count(0)


def test_at_390_the_front_page_fits_the_width_and_opens_with_the_counts(
    page: Page, live_server, seeded, audit, screenshots
):
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/")
    assert_no_sideways_scroll(page)
    assert_on_first_screen(page.get_by_test_id("headlines").locator('[data-headline="assessed"]'), PHONE["height"])
    expect(page.get_by_test_id("latest-changes").locator("li.front-change").first).to_be_visible()
    page.screenshot(path=screenshots / "front-390.png")
    audit(page)


BAR_HEIGHTS = """
svg => [...svg.querySelectorAll("rect.year-seg")].map(r => ({
  status: r.getAttribute("class").replace("year-seg year-seg--", ""),
  height: r.getBoundingClientRect().height,
  fill: getComputedStyle(r).fill,
}))
"""


def test_the_progress_page_draws_the_year_by_year_chart(page: Page, live_server, seeded, audit, screenshots):
    page.set_viewport_size(LAPTOP)
    page.goto(live_server.url + "/progress/")
    chart = page.get_by_test_id("over-time-all-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    segments = chart.evaluate(BAR_HEIGHTS)
    drawn = [s for s in segments if s["height"] > 0]
    assert len(drawn) == len(segments) > 30, "every segment is drawn"
    # The colours come from the stylesheet (not blocked, not the default black) and follow the status.
    fills = {s["status"]: s["fill"] for s in drawn}
    assert fills["implemented"] == "rgb(30, 132, 73)" and fills["not_assessed"] == "rgb(123, 128, 136)"
    assert len(set(fills.values())) == len(fills)
    table = page.get_by_test_id("over-time-all-table")
    expect(table.locator("tbody tr").first.locator("td").last).to_have_text(str(Recommendation.objects.count()))
    for source in ("job-nishihara-1997", "berkshire-miller-2018"):
        expect(page.get_by_test_id(f"over-time-{source}-chart")).to_be_visible()
    page.evaluate("document.getElementById('over-time').scrollIntoView()")
    page.screenshot(path=screenshots / "progress-1280.png")
    audit(page)

    page.set_viewport_size(PHONE)
    for path in ("/progress/", "/sources/job-nishihara-1997/", "/progress/?as_of=2019-06-01"):
        page.goto(live_server.url + path)
        assert_no_sideways_scroll(page)
        chart = page.locator("svg.year-chart").first
        expect(chart).to_be_visible()
        assert chart.bounding_box()["width"] <= PHONE["width"]
    audit(page)
