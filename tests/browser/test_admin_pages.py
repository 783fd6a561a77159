"""The analysts' admin in a real browser, at a desktop's width and a phone's: it fits, nothing covers
anything, a status change works from the keyboard alone, a refused change goes in again in one click,
and axe-core finds nothing to fix.

Each test loads the real seed and signs in through the sign-in page, as the reviewer pages' tests do.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone

from recommendations.models import Evidence, Recommendation, StatusChange
from recommendations.services import recommendation_change_status, recommendation_update
from tests.browser.conftest import AXE, WCAG_TAGS, _axe_report
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest.py skips these tests with a hint (or, in CI, fails)
    Page = expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}
ITEM = "JN97-R3.10.1"  # quoted text, two log entries, evidence, a parent: a full page

# Everything on the page that reaches past the window's right edge, once clipped by the boxes that hide
# their overflow (a one-line title cut with an ellipsis is inside its cell).
WIDER_THAN_WINDOW = """
() => {
  const width = window.innerWidth;
  const found = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    let left = box.left, right = box.right;
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') {
        const clip = up.getBoundingClientRect();
        left = Math.max(left, clip.left);
        right = Math.min(right, clip.right);
      }
    }
    if (right > width + 1 && right > left) {
      found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} ` +
                 `right=${Math.round(right)}`);
    }
  }
  return found;
}
"""

BOXES_OVERLAP = """
([a, b]) => {
  const one = document.querySelector(a).getBoundingClientRect();
  const two = document.querySelector(b).getBoundingClientRect();
  return !(one.right <= two.left || two.right <= one.left || one.bottom <= two.top || two.bottom <= one.top);
}
"""


def sign_in(page: Page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out").or_(page.get_by_role("link", name="Log out"))).to_be_visible()


def admin_url(live_server, item: Recommendation, view: str = "change") -> str:
    return f"{live_server.url}/admin/recommendations/recommendation/{item.pk}/{view}/"


def assert_fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px"
    wide = page.evaluate(WIDER_THAN_WINDOW)
    assert not wide, f"{page.url}: wider than the window: {wide[:10]}"


def audit_this_page(page: Page, browser) -> None:
    """Check the page as it stands (a refusal answers a POST, so it cannot be opened again by address) with
    axe-core: its HTML is loaded, with the admin's styles, into a context that allows axe's script."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci --prefix tests/browser)")
    html, url, viewport = page.content(), page.url, page.viewport_size
    context = browser.new_context(bypass_csp=True, viewport=viewport, locale="en-CA")
    try:
        copy = context.new_page()
        copy.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        copy.goto(url)
        copy.add_script_tag(path=AXE)
        result = copy.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    finally:
        context.close()
    assert not result["violations"], _axe_report(result["violations"], f"{url} (as shown) at {viewport['width']} px")


def shoot(page: Page, name: str, tmp_path: Path, *, full_page: bool = False) -> None:
    """Screenshots for the docs; written to docs/screenshots/ when UPDATE_SCREENSHOTS=1, else to a temporary folder."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / name, full_page=full_page)
    assert (folder / name).stat().st_size > 10_000


@pytest.mark.parametrize("width", WIDTHS)
def test_the_list_and_the_item_page_fit_the_window_and_nothing_covers_the_title(
    page: Page, live_server, seeded, analyst, width, tmp_path
):
    page.set_viewport_size(WIDTHS[width])
    sign_in(page, live_server, analyst)
    item = Recommendation.objects.get(code=ITEM)

    page.goto(f"{live_server.url}/admin/recommendations/recommendation/")
    assert_fits(page)
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(25)  # a page at a time
    expect(page.locator(".paginator")).to_contain_text(f"{Recommendation.objects.count()} recommendations")
    if width == "1280":
        # One line per item: every row as tall as the first, and many to a screen.
        heights = rows.evaluate_all("rows => rows.map(r => Math.round(r.getBoundingClientRect().height))")
        assert max(heights) < 45, heights
        assert page.evaluate("window.innerHeight") // heights[0] >= 18
        # No column cut: the last (the source) ends inside the table, the table inside the window.
        source = page.locator("#result_list tbody tr").first.locator("td.field-source_name").bounding_box()
        table = page.locator("#result_list").bounding_box()
        assert source["x"] + source["width"] <= table["x"] + table["width"] + 1
    shoot(page, f"admin-list-{width}.png", tmp_path)

    page.goto(admin_url(live_server, item))
    assert_fits(page)
    # The History and View on site buttons sit clear of the item's title; the status button clear of its text.
    assert not page.evaluate(BOXES_OVERLAP, ["#content > h2", ".object-tools"])
    assert not page.evaluate(BOXES_OVERLAP, [".tracker-current-status", ".tracker-current a.button"])
    expect(page.locator(".field-quoted_text blockquote")).to_have_css("font-size", "16px")
    shoot(page, f"admin-change-{width}.png", tmp_path, full_page=True)

    page.goto(admin_url(live_server, item, "change-status"))
    assert_fits(page)
    shoot(page, f"admin-status-{width}.png", tmp_path, full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_status_change_from_the_keyboard_alone(page: Page, live_server, seeded, analyst, width):
    page.set_viewport_size(WIDTHS[width])
    sign_in(page, live_server, analyst)
    item = Recommendation.objects.get(code=ITEM)
    assert item.status == "implemented"
    page.goto(admin_url(live_server, item))

    def tab_to(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} was not reached with Tab")

    tab_to(".tracker-current a.button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/change-status/$"))
    tab_to('input[name="status"]:checked')  # the radio group is one stop; the arrows choose within it
    page.keyboard.press("ArrowUp")
    expect(page.locator('input[name="status"][value="partially_implemented"]')).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("name", "note")
    page.keyboard.type("Reviewed by keyboard: one exercise a year since 2022.")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("name", "effective_date")
    page.keyboard.press("Control+A")
    page.keyboard.type(timezone.localdate().isoformat())
    tab_to('input[type="submit"][value="Record status change"]')
    page.keyboard.press("Enter")

    today = timezone.localdate().isoformat()
    expect(page.locator(".messagelist")).to_contain_text(
        f"{ITEM}: status changed from Implemented to Partially implemented, effective {today}"
    )
    change = StatusChange.objects.filter(recommendation=item).order_by("id").last()
    assert (change.to_status, change.note) == (
        "partially_implemented",
        "Reviewed by keyboard: one exercise a year since 2022.",
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_a_refused_status_change_goes_in_again_in_one_click(
    page: Page, live_server, seeded, analyst, other_analyst, width, browser, tmp_path
):
    page.set_viewport_size(WIDTHS[width])
    sign_in(page, live_server, analyst)
    item = Recommendation.objects.get(code=ITEM)
    page.goto(admin_url(live_server, item, "change-status"))
    page.get_by_label("Note").fill("Reassessed against the 2024 joint statement.")

    # Meanwhile another analyst records a reassessment of the same item.
    recommendation_change_status(
        recommendation=item, status="implemented", note="Checked again: still in force.", recorded_by=other_analyst
    )
    page.get_by_role("button", name="Record status change").click()

    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Nothing was recorded")
    expect(refusal).to_contain_text("Someone else changed")
    expect(refusal.get_by_role("heading", name=re.compile(r"Saved now \(version \d+\)"))).to_be_visible()
    expect(refusal.get_by_role("heading", name="Your change (not recorded)")).to_be_visible()
    expect(refusal).to_contain_text("Checked again: still in force.")  # what the other analyst did
    expect(page.get_by_label("Note")).to_have_value("Reassessed against the 2024 joint statement.")
    assert_fits(page)
    audit_this_page(page, browser)
    shoot(page, f"admin-refusal-{width}.png", tmp_path, full_page=True)
    assert not StatusChange.objects.filter(note="Reassessed against the 2024 joint statement.").exists()

    refusal.get_by_role("button", name=re.compile(r"Record my change against version \d+")).click()
    expect(page.locator(".messagelist")).to_contain_text(f"{ITEM}: still Implemented, reviewed on")
    notes = list(item.status_changes.order_by("id").values_list("note", flat=True))
    assert notes[-2:] == ["Checked again: still in force.", "Reassessed against the 2024 joint statement."]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_refused_edit_goes_in_again_in_one_click_and_keeps_the_other_edit(
    page: Page, live_server, seeded, analyst, other_analyst, width, browser
):
    page.set_viewport_size(WIDTHS[width])
    sign_in(page, live_server, analyst)
    item = Recommendation.objects.get(code=ITEM)
    page.goto(admin_url(live_server, item))
    page.locator("#id_editorial_note").fill("The ACSA is this arrangement (signed 2018, in force 2019).")
    recommendation_update(recommendation=item, data={"level": "regional"}, edited_by=other_analyst)
    page.get_by_role("button", name="Save", exact=True).click()

    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Nothing was saved")
    expect(refusal.locator("table")).to_contain_text("The ACSA is this arrangement")
    # The read-only parts show what is saved: the refused note only where it is labelled as not saved.
    expect(page.locator(".field-quoted_text")).not_to_contain_text("The ACSA is this arrangement")
    assert_fits(page)
    audit_this_page(page, browser)

    refusal.get_by_role("button", name=re.compile(r"Save my edits against version \d+")).click()
    expect(page.locator(".messagelist")).to_contain_text("your edits were saved against version")
    item.refresh_from_db()
    assert item.editorial_note == "The ACSA is this arrangement (signed 2018, in force 2019)."
    assert item.level == "regional"  # the other analyst's edit stands


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_pages_pass_the_audit(page: Page, live_server, seeded, analyst, audit, browser, width, tmp_path):
    page.set_viewport_size(WIDTHS[width])
    sign_in(page, live_server, analyst)
    item = Recommendation.objects.get(code=ITEM)
    evidence = Evidence.objects.filter(recommendation=item).first()
    failures = []
    for url in (
        f"{live_server.url}/admin/recommendations/recommendation/",
        f"{live_server.url}/admin/recommendations/recommendation/?status=in_progress&q=defence",
        admin_url(live_server, item),
        admin_url(live_server, item, "change-status"),
        f"{live_server.url}/admin/recommendations/evidence/{evidence.pk}/retract/",
    ):
        page.goto(url)
        try:
            audit(page)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n\n".join(failures)

    # A bulk change refused for one item: every refused item named, the page audited as shown.
    page.goto(f"{live_server.url}/admin/recommendations/recommendation/")
    rows = page.locator("#result_list tbody tr")
    for i in range(3):
        rows.nth(i).locator('input[name="_selected_action"]').check()
    page.get_by_label("Action:").select_option("record_status_change")
    page.get_by_role("button", name="Go").click()
    page.locator('input[name="status"][value="not_started"]').check()
    page.get_by_label("Note").fill("Reviewed in bulk.")
    page.get_by_label("Effective date").fill((timezone.localdate() - datetime.timedelta(days=365 * 20)).isoformat())
    page.get_by_role("button", name=re.compile("Record for 3 items")).click()
    expect(page.get_by_test_id("refusal")).to_contain_text("Nothing was recorded")
    assert page.get_by_test_id("refused-items").locator(":scope > li").count() >= 1
    assert_fits(page)
    audit_this_page(page, browser)
    shoot(page, f"admin-bulk-refusal-{width}.png", tmp_path, full_page=True)
