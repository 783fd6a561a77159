"""The Content-Security-Policy in a real browser: the reviewer pages, the admin and the API docs work
under it and the browser reports no violation; an inline script without the page's nonce is refused."""

from __future__ import annotations

import re

import pytest

from recommendations.models import Recommendation
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest.py skips these tests with a hint (or, in CI, fails)
    Page = expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Registered before any page script runs: every violation the browser reports, per page.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
                               source: e.sourceFile + ":" + e.lineNumber});
});
"""


class Violations:
    """What the browser said about the policy: console messages and securitypolicyviolation events."""

    def __init__(self, page: Page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def on_this_page(self) -> list:
        return self.page.evaluate("window.__cspViolations || []")

    def assert_none(self, where: str) -> None:
        events = self.on_this_page()
        assert not events, f"CSP violations on {where}: {events}"
        assert not self.console, f"CSP console messages on {where}: {self.console}"


@pytest.fixture
def violations(page: Page) -> Violations:
    return Violations(page)


def test_reviewer_pages_run_under_the_policy(page: Page, live_server, seeded, violations):
    for path in ("/", "/?theme=agreements&status=in_progress", "/recommendations/BM18-1/", "/progress/"):
        response = page.goto(live_server.url + path)
        assert response.ok
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        violations.assert_none(path)
    # The progress bars keep their widths (inline style attributes are allowed; inline scripts are not).
    page.goto(live_server.url + "/progress/")
    widths = page.locator(".bar-seg").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and max(widths) > 0
    violations.assert_none("/progress/")


def test_the_admin_change_page_of_an_item_runs_under_the_policy(page: Page, live_server, seeded, analyst, violations):
    item = Recommendation.objects.get(code="BM18-1")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(analyst.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()
    violations.assert_none("the admin's index")

    page.goto(f"{live_server.url}/admin/recommendations/recommendation/{item.pk}/change/")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # The admin's own scripts ran: its date fields got their "Today" and calendar shortcuts.
    if page.locator("input.vDateField").count():
        expect(page.locator(".datetimeshortcuts").first).to_be_attached()
    violations.assert_none("the admin change page")

    page.goto(f"{live_server.url}/admin/recommendations/recommendation/")
    page.wait_for_load_state("networkidle")
    violations.assert_none("the admin list of items")


def test_the_api_docs_render_their_operations_under_the_policy(page: Page, live_server, violations):
    response = page.goto(f"{live_server.url}/api/docs/")
    assert "'nonce-" in response.headers["content-security-policy"]
    # Swagger UI started (its inline start-up script ran with the nonce) and read the schema.
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/recommendations/").first).to_be_visible()
    assert page.locator(".opblock").count() > 10
    # An operation opens and offers to try it.
    page.locator(".opblock-summary", has_text="/api/statuses/").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    violations.assert_none("/api/docs/")


def test_an_inline_script_without_the_nonce_is_refused(page: Page, live_server, seeded, violations):
    page.goto(f"{live_server.url}/")
    ran = page.evaluate(
        """() => {
             window.injected = false;
             const s = document.createElement("script");
             s.textContent = "window.injected = true;";
             document.body.appendChild(s);
             return window.injected;
           }"""
    )
    assert ran is False
    page.wait_for_function("window.__cspViolations.length > 0")
    reported = violations.on_this_page()
    assert [v["directive"] for v in reported] == ["script-src-elem"]


def test_a_locked_out_sign_in_shows_its_page_under_the_policy(page: Page, live_server, analyst, violations):
    from django.conf import settings

    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill(analyst.username)
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Sign-in locked")).to_be_visible()
    expect(page.get_by_test_id("retry-after")).to_contain_text(
        re.compile(r"Try again in 15 minutes, after\s+\d\d:\d\d UTC")
    )
    violations.assert_none("the lockout page")
