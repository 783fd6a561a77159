"""The tracker in French and Japanese, in a real browser: no English left in the interface, the switch, the layouts.

On each main page, in each language, every piece of text a reader sees or hears (text, `aria-label`,
`title`, `placeholder`, `alt`, button values) is read, except what is marked as another language
(`lang="en"`: the quotations, the documents' own words, the notes of record, an English title standing in
for a missing translation). In French no English word may remain; in Japanese no Latin-script word but
for an allowed list (codes such as JN97-A, and names such as API, JSON, CSV, Atom). Screenshots of each
language go to docs/screenshots/ for the README.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from recommendations.models import Recommendation
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest.py skips these tests with a hint (or, in CI, fails)
    Page = expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Every text a reader meets outside an element marked as another language than the page's.
READ_TEXT = """
() => {
  const page = document.documentElement.lang;
  const own = el => { const marked = el.closest('[lang]'); return !marked || marked.lang === page; };
  // Not the interface: code, and what a form holds for editing (the English record, a translation).
  // Django's own admin search icon keeps an English alt text ("Search") that Django does not translate.
  const skipped = el => el.closest('script, style, code, kbd, samp, .code, textarea, #changelist-search img');
  const shown = el =>
    !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length) || el.closest('.visually-hidden');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (text && el && own(el) && !skipped(el) && shown(el)) out.push(text);
  }
  const labelled = '[aria-label], [title], [placeholder], img[alt], input[type=submit][value]';
  for (const el of document.querySelectorAll(labelled)) {
    if (!own(el) || skipped(el)) continue;
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
      const value = el.getAttribute(name);
      if (value) out.push(value.trim());
    }
    if (el.matches('input[type=submit]')) out.push(el.value);
  }
  return out;
}
"""

# English words that are not French words: one of them in a French page's own text is English left over.
_ENGLISH_ONLY = """
    the and with from this that these those which what when where who how why items item show shows showing
    status statuses recorded since overdue search filter filters next previous all none not by for of to
    is are was were has have been being will would should could can may must its their your our
    themes owner owners recommendation recommendations progress methodology evidence timeline history
    changed added edit edited edits assessed reviewed implemented pursued superseded started
    late latest first last year years month months day days today yesterday new old more less
    read view open close save delete cancel add remove back home log logout sign welcome help about
    results result found nothing empty yet still only also other same each every any some"""
ENGLISH_ONLY = frozenset(_ENGLISH_ONLY.split())
# Latin-script words a Japanese page may show: codes, formats, acronyms and proper names in their own script.
_JAPANESE_ALLOWED = """
    API JSON CSV Atom RSS UTC ACSA GSOMIA ASEAN ARF APEC CSCAP NATO UN UNCLOS PKO ODA FOIP NPT P-M CP-140 HADR
    SDF JSDF CAF DND GAC MOFA MOD JIIA CDS RCN ETag URL HTTP HTTPS YYYY-MM-DD Django English Français"""
JAPANESE_ALLOWED = frozenset(_JAPANESE_ALLOWED.split())
# An item's code (JN97-SA-BIL-3.1), taken out before words are read.
CODES = re.compile(r"\b[A-Z]{2}\d{2}(?:-[A-Z0-9.]+)*")
# Quoted words stay as the source wrote them (the house rule): « … », “ … ”, 「…」.
QUOTED = re.compile(r"«[^»]*»|“[^”]*”|「[^」]*」|『[^』]*』")
# A word in any script (« Échanges » is one French word, not "changes"), and a word in Latin script.
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
LATIN = re.compile(r"^[A-Za-z][A-Za-z'’.-]*$")


def english_left(texts: list[str], language: str, allowed: set[str]) -> list[str]:
    """The texts that still hold English, each with the word that gave it away."""
    found = []
    for text in texts:
        for word in WORD.findall(QUOTED.sub(" ", CODES.sub(" ", text))):
            if word in allowed:
                continue
            if language == "fr" and word.lower() in ENGLISH_ONLY and word not in allowed:
                found.append(f"{word!r} in {text[:90]!r}")
                break
            # In Japanese, acronyms (JICA, NIDS) are names; a Latin word with small letters is English.
            if language == "ja" and LATIN.match(word) and not word.isupper() and word not in JAPANESE_ALLOWED:
                found.append(f"{word!r} in {text[:90]!r}")
                break
    return found


def reader_pages(code: str) -> list[str]:
    return [
        "/",
        "/?theme=agreements&status=in_progress&search=visits",
        f"/recommendations/{code}/",
        "/sources/",
        "/sources/job-nishihara-1997/",
        "/progress/",
        "/progress/?as_of=2018-06-01",
        "/methodology/",
        "/methodology/research/",
        "/no-such-page/",
    ]


# The analysts' main pages; the item's change form and status-change form are added per item.
ADMIN_PAGES = [
    "/admin/",
    "/admin/recommendations/recommendation/",
    "/admin/recommendations/recommendation/?status__exact=in_progress",
]


def _sign_in(page: Page, live_server, language: str, analyst) -> None:
    page.goto(f"{live_server.url}/{language}/admin/login/")
    page.fill("#id_username", analyst.username)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(rf"/{language}/admin/$"))


@pytest.mark.parametrize("language", ["fr", "ja"])
def test_no_english_is_left_on_the_main_pages(page: Page, live_server, seeded, analyst, language):
    item = Recommendation.objects.get(code="JN97-A")
    # The analyst's name, the word searched for, and the documents' authors, named as they write themselves.
    allowed = {analyst.username, "visits", "Job", "Nishihara", "Berkshire", "Miller"}
    change = reverse("admin:recommendations_recommendation_change", args=[item.pk])
    status = reverse("admin:recommendations_recommendation_change_status", args=[item.pk])
    problems = {}
    for path in reader_pages(item.code):
        page.goto(f"{live_server.url}/{language}{path}")
        assert page.locator("html").get_attribute("lang") == language
        left = english_left(page.evaluate(READ_TEXT), language, allowed)
        if left:
            problems[path] = left[:6]
    _sign_in(page, live_server, language, analyst)
    for path in [*ADMIN_PAGES, change, status]:
        page.goto(f"{live_server.url}/{language}{path}")
        left = english_left(page.evaluate(READ_TEXT), language, allowed)
        if left:
            problems[path] = left[:6]
    assert not problems, "\n".join(f"/{language}{path}: {left}" for path, left in problems.items())


def test_the_switch_keeps_the_page_and_its_filters_and_remembers_the_choice(page: Page, live_server, seeded):
    page.goto(f"{live_server.url}/?theme=agreements&status=in_progress")
    english_count = page.get_by_test_id("result-count").inner_text()
    page.locator(".language-switch").get_by_role("link", name="日本語").click()
    expect(page).to_have_url(f"{live_server.url}/ja/?theme=agreements&status=in_progress")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    # The same items, counted in Japanese.
    assert sorted(re.findall(r"\d+", page.get_by_test_id("result-count").inner_text())) == sorted(
        re.findall(r"\d+", english_count)
    )
    # Remembered: an English address now opens in Japanese.
    page.goto(f"{live_server.url}/progress/")
    expect(page).to_have_url(f"{live_server.url}/ja/progress/")
    page.locator(".language-switch").get_by_role("link", name="English").click()
    expect(page).to_have_url(f"{live_server.url}/progress/")
    page.goto(f"{live_server.url}/sources/")
    expect(page).to_have_url(f"{live_server.url}/sources/")


@pytest.mark.parametrize("language", ["fr", "ja"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_pages_fit_the_screen_in_each_language(page: Page, live_server, seeded, language, width):
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    for name, path in (("list", "/"), ("item", "/recommendations/JN97-SA-BIL-3/"), ("progress", "/progress/")):
        page.goto(f"{live_server.url}/{language}{path}")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"/{language}{path} is {overflow}px wider than a {width}px screen"
        if name != "progress":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}-{width}.png"))
