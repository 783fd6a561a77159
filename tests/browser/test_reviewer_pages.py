"""The reviewer pages and the analyst's status change, in a real browser against the live server.

Each test loads the real seed (the two documents' items, links and 2018 statuses).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.http import QueryDict

from recommendations.filters import RecommendationFilterSet
from recommendations.models import Recommendation
from recommendations.vocabulary import Status
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest.py skips these tests with a hint (or, in CI, fails)
    Page = expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
THEME = "agreements"
THEME_NAME = "Agreements and legal frameworks"


def listed_codes(page: Page) -> list[str]:
    return page.locator('[data-testid="results"] li.item').evaluate_all("els => els.map(e => e.dataset.code)")


def facet_count(page: Page, facet: str, value: str) -> int:
    option = page.locator(f'#filter-{facet} a[data-value="{value}"] .count')
    return int(option.get_attribute("data-count"))


def expected_codes(query: str) -> list[str]:
    """What the shared FilterSet selects for a query string: what the page and the API must show."""
    return list(RecommendationFilterSet(QueryDict(query)).qs.values_list("code", flat=True))


def test_reviewer_picks_a_theme_and_sees_only_its_items_with_the_right_counts(page: Page, live_server, seeded, audit):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recommendations")
    total = Recommendation.objects.count()
    expect(page.get_by_test_id("result-count")).to_have_text(f"{total} of {total} items")

    page.locator("#filter-theme").get_by_role("link", name=re.compile(THEME_NAME)).click()

    expect(page).to_have_url(re.compile(rf"\?theme={THEME}$"))
    in_theme = Recommendation.objects.filter(themes__slug=THEME)
    codes = list(in_theme.order_by("source__published", "source__slug", "position").values_list("code", flat=True))
    assert listed_codes(page) == codes
    expect(page.get_by_test_id("result-count")).to_have_text(f"{len(codes)} of {total} items")
    assert facet_count(page, "theme", THEME) == len(codes)
    # The status facet counts this theme's items by status.
    for status in Status:
        shown = page.locator(f'#filter-status a[data-value="{status.value}"] .count')
        expected = in_theme.filter(status=status).count()
        if expected:
            assert int(shown.get_attribute("data-count")) == expected, status
        else:
            expect(shown).to_have_count(0)
    # The choice is shown, and can be removed.
    expect(page.get_by_role("link", name=re.compile(f"Theme: {THEME_NAME}"))).to_be_visible()
    audit(page)


def test_reviewer_searches_within_a_theme(page: Page, live_server, seeded, audit):
    page.goto(f"{live_server.url}/?theme={THEME}")
    page.get_by_label("Search titles and quoted text").fill("ACSA")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"theme=agreements.*search=ACSA|search=ACSA.*theme=agreements"))
    expected = expected_codes(f"theme={THEME}&search=ACSA")
    assert expected, "the seed has ACSA items in this theme"
    assert sorted(listed_codes(page)) == sorted(expected)
    expect(page.get_by_label("Search titles and quoted text")).to_have_value("ACSA")
    expect(page.locator("#filter-theme a.is-selected")).to_have_count(1)
    audit(page)


def test_reviewer_reads_an_items_timeline_and_follows_it_to_the_2018_step(page: Page, live_server, seeded, audit):
    page.goto(f"{live_server.url}/?source=job-nishihara-1997&search=cross-service")
    page.get_by_role("link", name=re.compile("JN97-R3.10.1")).first.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("JN97-R3.10.1")
    expect(page.get_by_test_id("quote")).to_contain_text("servicing of Canadian equipment")
    expect(page.get_by_test_id("section-path")).to_contain_text("3. Joint defence activities")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("1 June 2018")
    expect(timeline).to_contain_text("In progress")
    # The quote in its place in the document, behind a disclosure that works without JavaScript.
    page.get_by_text("Read it in its place in the document").click()
    expect(page.get_by_test_id("in-place").locator("mark")).to_contain_text("servicing of Canadian equipment")
    audit(page, prepare=lambda p: p.get_by_text("Read it in its place in the document").click())

    cross = page.get_by_test_id("cross-links")
    expect(cross).to_contain_text("Followed up by")
    cross.get_by_role("link", name=re.compile("BM18-1")).click()

    expect(page).to_have_url(re.compile(r"/recommendations/BM18-1/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acquisition and Cross-Servicing Agreement")
    expect(page.get_by_test_id("cross-links")).to_contain_text("JN97-R3.10.1")
    audit(page)


def test_a_shared_url_shows_a_colleague_the_same_view(page: Page, live_server, seeded, browser):
    page.goto(f"{live_server.url}/")
    page.locator("#filter-theme").get_by_role("link", name=re.compile("Defence exchanges")).click()
    page.locator("#filter-status").get_by_role("link", name=re.compile("Implemented")).first.click()
    page.get_by_label("Sort by").select_option("code")
    page.get_by_role("button", name="Search").click()
    shared = page.url
    mine = listed_codes(page)
    heading = page.get_by_test_id("result-count").inner_text()
    assert mine and "ordering=code" in shared and "theme=defence-exchanges" in shared

    page.reload()
    assert listed_codes(page) == mine

    colleague = browser.new_context().new_page()  # no cookies, no history: only the address
    colleague.goto(shared)
    assert listed_codes(colleague) == mine
    expect(colleague.get_by_test_id("result-count")).to_have_text(heading)
    expect(colleague.get_by_label("Sort by")).to_have_value("code")
    expect(colleague.locator("#filter-status a.is-selected")).to_contain_text("Implemented")
    colleague.context.close()


def test_analyst_records_a_status_change_that_the_page_the_timeline_and_the_api_show(
    page: Page, live_server, seeded, analyst
):
    item = Recommendation.objects.get(code="BM18-4")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(analyst.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()

    # From the item's public page, the analyst's way into the admin.
    page.goto(f"{live_server.url}/recommendations/BM18-4/")
    page.get_by_role("link", name="Record a status change").click()
    expect(page).to_have_url(re.compile(rf"/admin/recommendations/recommendation/{item.pk}/change-status/$"))
    page.locator('input[name="status"][value="partially_implemented"]').check()
    page.get_by_label("Note").fill("The 2+2 met only every two to three years after 2018.")
    page.get_by_label("Effective date").fill("2022-03-10")
    page.get_by_label("Evidence web address").fill("https://example.org/two-plus-two")
    page.get_by_label("Evidence title").fill("Canada-Japan 2+2 meetings")
    page.get_by_role("button", name="Record status change").click()
    expect(page.locator(".messagelist")).to_contain_text("status changed from Implemented to Partially implemented")

    page.goto(f"{live_server.url}/recommendations/BM18-4/")
    expect(page.get_by_test_id("current-status")).to_have_text("Partially implemented")
    last = page.get_by_test_id("timeline").locator("li.change").last
    expect(last).to_contain_text("10 March 2022")
    expect(last).to_contain_text("The 2+2 met only every two to three years after 2018.")
    expect(last).to_contain_text(f"Recorded by {analyst.username}")
    expect(last.get_by_role("link", name="Canada-Japan 2+2 meetings")).to_have_attribute(
        "href", "https://example.org/two-plus-two"
    )

    api = page.request.get(f"{live_server.url}/api/recommendations/BM18-4/")
    assert api.ok
    data = api.json()
    assert data["status"] == "partially_implemented" and data["status_date"] == "2022-03-10"
    latest = data["status_history"][-1]
    assert latest["note"] == "The 2+2 met only every two to three years after 2018."
    assert latest["recorded_by"] == analyst.username
    assert latest["evidence"]["url"] == "https://example.org/two-plus-two"


def statuses_shown_as_of(page: Page) -> dict[str, str]:
    return dict(
        page.locator('[data-testid="results"] li.item').evaluate_all(
            "els => els.map(e => [e.dataset.code, e.querySelector('.item-status').dataset.statusAsOf])"
        )
    )


def test_reviewer_reads_the_statuses_as_they_stood_on_a_past_date(page: Page, live_server, seeded, audit):
    item = Recommendation.objects.get(code="BM18-1")  # the ACSA: in force by August 2019, as seeded
    page.goto(f"{live_server.url}/?source=berkshire-miller-2018")
    page.get_by_label("Status as of").fill("2018-05-31")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"as_of=2018-05-31"))
    expect(page.get_by_test_id("as-of-notice")).to_contain_text("as it stood on 31 May 2018")
    assert set(statuses_shown_as_of(page).values()) == {"not_assessed"}
    audit(page)
    expect(page.locator('#filter-status a[data-value="not_assessed"] .count')).to_have_attribute(
        "data-count", str(item.source.recommendations.count())
    )

    page.get_by_label("Status as of").fill("2018-06-01")
    page.get_by_role("button", name="Search").click()
    assert statuses_shown_as_of(page)["BM18-1"] == "in_progress"
    page.get_by_role("link", name=re.compile("BM18-1")).first.click()
    expect(page).to_have_url(re.compile(r"/recommendations/BM18-1/\?as_of=2018-06-01$"))
    expect(page.get_by_test_id("status-on")).to_contain_text("In progress")
    expect(page.get_by_test_id("current-status")).to_have_text("Implemented")
    expect(page.get_by_test_id("timeline").locator("li.change--later")).to_contain_text("24 August 2019")
    audit(page)

    page.get_by_role("link", name="Show today's only").click()
    expect(page).to_have_url(re.compile(r"/recommendations/BM18-1/$"))
    expect(page.get_by_test_id("status-on")).to_have_count(0)


def test_pages_work_by_keyboard_and_at_phone_width(page: Page, live_server, seeded):
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/recommendations/JN97-A/", "/sources/job-nishihara-1997/", "/progress/", "/methodology/"):
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways at phone width"
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to main content")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def assert_no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def top_of(locator) -> float:
    return locator.bounding_box()["y"]


def test_on_a_phone_a_chosen_list_starts_on_the_first_screen_with_the_filters_behind_one_button(
    page: Page, live_server, seeded, audit
):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/?theme={THEME}")
    first = page.locator('[data-testid="results"] li.item').first
    assert top_of(first) < PHONE["height"], "the first item is below the first screen"
    # What was chosen shows; the search and the filters wait behind one button.
    expect(page.get_by_role("link", name=re.compile(f"Theme: {THEME_NAME}"))).to_be_visible()
    search = page.get_by_label("Search titles and quoted text")
    expect(search).to_be_hidden()
    expect(page.locator("#filter-theme")).to_be_hidden()
    assert_no_sideways_scroll(page)
    audit(page)

    page.get_by_text("Search and filter").click()
    expect(search).to_be_visible()
    expect(page.locator("#filter-status").get_by_role("link").first).to_be_visible()
    assert_no_sideways_scroll(page)
    audit(page, prepare=lambda p: p.get_by_text("Search and filter").click())
    search.fill("ACSA")
    search.press("Enter")

    expect(page).to_have_url(re.compile(r"theme=agreements.*search=ACSA|search=ACSA.*theme=agreements"))
    assert sorted(listed_codes(page)) == sorted(expected_codes(f"theme={THEME}&search=ACSA"))
    assert top_of(page.locator('[data-testid="results"] li.item').first) < PHONE["height"]
    expect(search).to_be_hidden()

    # A filter in the address that needs fixing: the fold is served open, so the error summary's link shows it.
    page.goto(f"{live_server.url}/?status=no-such-status")
    page.get_by_role("alert").get_by_role("link", name="status", exact=True).click()
    expect(page.locator("#status-error")).to_be_visible()


def test_on_a_wide_screen_the_search_and_filters_are_open_beside_the_list(page: Page, live_server, seeded):
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/?theme={THEME}")
    expect(page.get_by_text("Search and filter")).to_be_hidden()
    search = page.get_by_label("Search titles and quoted text")
    expect(search).to_be_visible()
    theme = page.locator("#filter-theme")
    expect(theme.get_by_role("link").first).to_be_visible()
    first = page.locator('[data-testid="results"] li.item').first
    assert theme.bounding_box()["x"] + theme.bounding_box()["width"] <= first.bounding_box()["x"]
    # Every field keeps to the column (the sort order's long option included).
    column = page.locator(".facets").bounding_box()
    for field in page.locator(".search-form input:visible, .search-form select").all():
        box = field.bounding_box()
        assert box["x"] + box["width"] <= column["x"] + column["width"], field
    assert top_of(first) < DESKTOP["height"]
    assert_no_sideways_scroll(page)


def test_an_items_quoted_text_comes_first_on_a_phone_and_beside_its_status_on_a_wide_screen(
    page: Page, live_server, seeded
):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/recommendations/JN97-R3.10.1/")
    quote = page.get_by_test_id("quote")
    status = page.get_by_test_id("current-status")
    as_of_form = page.get_by_role("form", name="Its status on a past date")
    assert top_of(quote) < PHONE["height"], "the quoted text is below the first screen"
    assert quote.bounding_box()["y"] + quote.bounding_box()["height"] <= top_of(status)
    assert top_of(status) < top_of(as_of_form)
    assert_no_sideways_scroll(page)

    page.set_viewport_size(DESKTOP)
    page.reload()
    # The text on the left, its status at the top of the column beside it; the story below the text.
    q, st = quote.bounding_box(), page.locator(".status-box").bounding_box()
    assert q["x"] + q["width"] <= st["x"]
    assert abs(q["y"] - st["y"]) < 60
    assert top_of(page.get_by_test_id("timeline")) > q["y"] + q["height"]
    assert_no_sideways_scroll(page)


def test_an_item_whose_parent_stands_at_another_status_says_why(page: Page, live_server, seeded):
    part = Recommendation.objects.select_related("parent").get(code="JN97-SA-BIL-3.4")
    assert (part.parent.status, part.status) == (Status.NOT_ASSESSED, Status.IN_PROGRESS)  # as seeded
    page.goto(f"{live_server.url}/methodology/")
    wording = page.get_by_test_id("parts-note").inner_text()
    assert "assessed on its own" in wording

    page.goto(f"{live_server.url}{part.get_absolute_url()}")
    expect(page.get_by_test_id("parts-note")).to_have_text(wording)
    # The parent's page says it once, however many of its parts differ.
    page.goto(f"{live_server.url}{part.parent.get_absolute_url()}")
    expect(page.get_by_test_id("parts-note")).to_have_count(1)
    expect(page.get_by_test_id("parts-note")).to_have_text(wording)

    # A part whose parent and parts all stand where it does has nothing to explain.
    alike = next(
        r
        for r in Recommendation.objects.exclude(parent=None).select_related("parent")
        if r.parent.status == r.status and all(c.status == r.status for c in r.children.all())
    )
    page.goto(f"{live_server.url}{alike.get_absolute_url()}")
    expect(page.get_by_role("heading", name="Parts")).to_be_visible()
    expect(page.get_by_test_id("parts-note")).to_have_count(0)


def test_screenshots_of_the_list_and_an_item(page: Page, live_server, seeded, tmp_path):
    """Screenshots for the README; written to docs/ when UPDATE_SCREENSHOTS=1, else to a temporary folder."""
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/?theme={THEME}")
    page.screenshot(path=folder / "list.png", full_page=False)
    page.goto(f"{live_server.url}/recommendations/JN97-R3.10.1/")
    page.get_by_text("Read it in its place in the document").click()
    page.screenshot(path=folder / "item.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/?theme={THEME}")
    page.screenshot(path=folder / "list-phone.png", full_page=False)
    page.goto(f"{live_server.url}/recommendations/JN97-R3.10.1/")
    page.screenshot(path=folder / "item-phone.png", full_page=False)
    for name in ("list.png", "item.png", "list-phone.png", "item-phone.png"):
        assert (folder / name).stat().st_size > 10_000
