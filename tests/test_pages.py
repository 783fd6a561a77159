"""The reviewer pages, through Django's test client: what a reviewer sees at each address."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from recommendations.filters import ERROR_AS_OF_FORMAT, ERROR_AS_OF_FUTURE, ERROR_NUL
from recommendations.models import Owner, Recommendation, RecommendationLink, Source
from recommendations.services import evidence_create, recommendation_change_status, recommendation_update
from recommendations.vocabulary import STATUS_DEFINITIONS, Status

ATOM = "{http://www.w3.org/2005/Atom}"
LIST_URL = "/"


def _status(item: Recommendation, status: str, *, when: str = "2018-06-01", note: str = "Assessed.", **kwargs):
    return recommendation_change_status(
        recommendation=item, status=status, note=note, effective_date=datetime.date.fromisoformat(when), **kwargs
    )


def _codes(response) -> list[str]:
    """The codes of the items listed on a list page, in order."""
    return re.findall(r'<li class="item" data-code="([^"]+)"', response.content.decode())


def _facet(response, name: str) -> dict[str, int]:
    """A facet's counts as shown: {value: count}."""
    facet = next(f for f in response.context["facets"] if f.name == name)
    return {o.value: o.count for o in facet.options}


@pytest.fixture
def items(make_recommendation, theme, other_theme, owner):
    """Four items: two in 'dialogue', one in 'navies', one in both; statuses vary."""
    t1 = make_recommendation("T-1", themes=[theme], owners=[owner], title="Annual ministerial meeting")
    t2 = make_recommendation("T-2", themes=[theme], title="Scholars' dialogue", text="Scholars should talk.")
    t3 = make_recommendation(
        "T-3", themes=[other_theme], title="Ship visits", text="Navies should exchange visits.", level="regional"
    )
    t4 = make_recommendation("T-4", themes=[theme, other_theme], title="Staff talks", level="global")
    _status(t1, Status.IMPLEMENTED)
    _status(t3, Status.IMPLEMENTED)
    _status(t4, Status.IN_PROGRESS)
    return {item.code: item for item in (t1, t2, t3, t4)}


@pytest.fixture
def other_source(db):
    return Source.objects.create(
        slug="later-brief",
        title="A Later Brief",
        short_title="Brief 2018",
        authors="B. Author",
        published="2018-06-01",
        date_label="June 2018",
        kind="policy_brief",
        text="First, ministers should keep meeting.",
    )


# --- the list page --------------------------------------------------------------


@pytest.mark.django_db
def test_list_page_shows_every_item_with_landmarks_and_as_of_stamp(client, items):
    response = client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert _codes(response) == ["T-1", "T-2", "T-3", "T-4"]
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in html
    assert 'class="skip-link" href="#main"' in html
    assert 'data-testid="as-of"' in html and "Statuses as recorded up to" in html and "1 June 2018" in html
    assert '<label for="search">' in html and '<label for="ordering">' in html
    assert "4 of 4 items" in html


@pytest.mark.django_db
def test_pages_use_no_external_assets_or_scripts(client, items):
    html = client.get(LIST_URL).content.decode()
    assert "<script" not in html
    # The page's versions in other languages are links, not assets: absolute, as hreflang wants, on this host.
    alternates = re.findall(r'<link rel="alternate" hreflang="[^"]+" href="([^"]+)"', html)
    assert alternates and all(href.startswith("http://testserver/") for href in alternates)
    assets = re.findall(r'<link(?![^>]*hreflang)[^>]+href="([^"]+)"', html) + re.findall(
        r'<img[^>]+src="([^"]+)"', html
    )
    assert assets and all(not href.startswith(("http:", "https:", "//")) for href in assets)
    assert "/static/recommendations/tracker.css" in html


@pytest.mark.django_db
def test_theme_filter_shows_only_that_themes_items(client, items):
    response = client.get(LIST_URL, {"theme": "dialogue"})
    assert response.status_code == 200
    assert _codes(response) == ["T-1", "T-2", "T-4"]
    assert "3 of 4 items" in response.content.decode()


@pytest.mark.django_db
def test_facet_counts_count_each_facet_over_the_other_filters(client, items):
    response = client.get(LIST_URL, {"theme": "dialogue", "status": "implemented"})
    assert _codes(response) == ["T-1"]
    # The theme facet ignores the theme filter but applies the status filter ...
    assert _facet(response, "theme") == {"dialogue": 1, "navies": 1}
    # ... and the status facet ignores the status filter but applies the theme filter.
    status = _facet(response, "status")
    assert status["implemented"] == 1 and status["in_progress"] == 1 and status["not_assessed"] == 1
    assert status["not_started"] == 0
    assert _facet(response, "level") == {"bilateral": 1, "regional": 0, "global": 0}
    assert _facet(response, "owner") == {"gac": 1}
    assert _facet(response, "source") == {"test-study": 1}
    html = response.content.decode()
    assert 'data-value="navies"' in html and 'data-count="1"' in html


@pytest.mark.django_db
def test_facet_links_toggle_one_value_and_keep_the_other_choices(client, items):
    response = client.get(LIST_URL, {"theme": "dialogue", "search": "meeting", "page": "1"})
    theme = next(f for f in response.context["facets"] if f.name == "theme")
    by_value = {o.value: parse_qs(urlsplit(o.url).query) for o in theme.options}
    assert by_value["dialogue"] == {"search": ["meeting"]}  # chosen: its link removes it
    assert by_value["navies"] == {"theme": ["dialogue", "navies"], "search": ["meeting"]}  # and drops the page


@pytest.mark.django_db
def test_repeating_a_parameter_means_or(client, items):
    response = client.get(LIST_URL + "?theme=dialogue&theme=navies&level=regional&level=global")
    assert _codes(response) == ["T-3", "T-4"]


@pytest.mark.django_db
def test_search_finds_words_in_the_quoted_text(client, items):
    response = client.get(LIST_URL, {"search": "navies exchange"})
    assert _codes(response) == ["T-3"]
    html = response.content.decode()
    assert 'value="navies exchange"' in html
    assert "Search: navies exchange" in html  # shown as a removable choice


@pytest.mark.django_db
def test_search_form_keeps_the_chosen_filters(client, items):
    html = client.get(LIST_URL, {"theme": "dialogue", "status": "implemented"}).content.decode()
    form = html[html.index('<form class="search-form"') : html.index("</form>")]
    assert '<input type="hidden" name="theme" value="dialogue">' in form
    assert '<input type="hidden" name="status" value="implemented">' in form


@pytest.mark.django_db
def test_sorting_is_in_the_query_string(client, items):
    assert _codes(client.get(LIST_URL, {"ordering": "-code"})) == ["T-4", "T-3", "T-2", "T-1"]
    response = client.get(LIST_URL, {"ordering": "status"})
    assert _codes(response)[0] == "T-1"  # implemented < in_progress < not_assessed, alphabetically by code
    assert '<option value="status" selected>' in response.content.decode()


@pytest.mark.django_db
def test_links_to_json_and_csv_of_exactly_the_current_selection(client, items):
    html = client.get(LIST_URL, {"theme": "dialogue", "status": "implemented", "page": "1"}).content.decode()
    assert 'href="/api/recommendations/?theme=dialogue&amp;status=implemented"' in html
    assert 'href="/api/recommendations/?theme=dialogue&amp;status=implemented&amp;format=csv"' in html
    assert 'href="/api/recommendations/?format=csv"' in client.get(LIST_URL).content.decode()


@pytest.mark.django_db
def test_pagination_keeps_the_filters_and_forgives_bad_page_numbers(client, make_recommendation, theme):
    for n in range(30):
        make_recommendation(f"P-{n:02d}", themes=[theme])
    first = client.get(LIST_URL, {"theme": "dialogue"})
    assert len(_codes(first)) == 25
    assert 'href="?theme=dialogue&amp;page=2"' in first.content.decode()
    second = client.get(LIST_URL, {"theme": "dialogue", "page": "2"})
    assert _codes(second) == [f"P-{n:02d}" for n in range(25, 30)]
    assert client.get(LIST_URL, {"page": "99"}).status_code == 200  # past the end: the last page
    assert _codes(client.get(LIST_URL, {"page": "abc"}))[0] == "P-00"


@pytest.mark.django_db
def test_empty_selection_says_what_to_do(client, items):
    response = client.get(LIST_URL, {"theme": "navies", "status": "not_started"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="empty-state"' in html and "No items match these filters" in html
    assert 'href="/">start again with every item</a>' in html


@pytest.mark.django_db
def test_empty_tracker_says_how_to_load_it(client):
    html = client.get(LIST_URL).content.decode()
    assert "The tracker holds no items yet" in html and "manage.py seed" in html
    assert "No status has been recorded yet" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("theme=no-such-theme", "theme", "Unknown theme: no-such-theme"),
        ("owner=nobody", "owner", "Unknown owner: nobody"),
        ("source=nowhere", "source", "Unknown source: nowhere"),
        ("status=finished", "status", "Select a valid choice"),
        ("updated_since=yesterday", "updated_since", "ISO 8601"),
        ("ordering=colour", "ordering", "Select a valid choice"),
        ("search=ships%00", "search", ERROR_NUL),
        ("theme=%00", "theme", ERROR_NUL),
    ],
)
def test_bad_filter_values_get_a_friendly_page_with_the_error(client, items, query, field, message):
    response = client.get(f"{LIST_URL}?{query}")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Some filters in the address could not be used" in html
    assert str(message) in html
    assert field in response.context["errors"]
    assert "\x00" not in html


@pytest.mark.django_db
def test_unknown_theme_error_shows_beside_the_theme_filter(client, items):
    html = client.get(LIST_URL, {"theme": "no-such-theme"}).content.decode()
    facet = html[html.index('id="filter-theme"') : html.index("</details>", html.index('id="filter-theme"'))]
    assert 'class="error"' in facet and "Unknown theme: no-such-theme" in facet
    assert 'data-value="no-such-theme"' in facet  # still shown as chosen, so it can be removed


@pytest.mark.django_db
def test_a_bad_date_is_shown_beside_its_filter_with_a_way_to_remove_it(client, items):
    html = client.get(LIST_URL, {"updated_since": "yesterday", "theme": "dialogue"}).content.decode()
    assert 'href="#filter-updated_since"' in html
    chosen = html[html.index('id="filter-updated_since"') :]
    chosen = chosen[: chosen.index("</li>")]
    assert 'href="?theme=dialogue"' in chosen and "ISO 8601" in chosen


@pytest.mark.django_db
def test_nul_bytes_anywhere_never_reach_the_database(client, items):
    assert client.get(LIST_URL + "?%00=1").status_code == 400
    assert client.get(LIST_URL + "?page=%00").status_code == 400
    assert client.get("/recommendations/T-1%00/").status_code == 404
    assert client.get("/recommendations/%00/").status_code == 404
    assert client.get("/feeds/themes/%00/changes/").status_code == 404


# --- an item's page -----------------------------------------------------------------


@pytest.fixture
def story(items, other_source, analyst, owner):
    """T-1 with its full story: evidence, two changes, a sub-item, and a later item following it up."""
    item = items["T-1"]
    item.editorial_note = "Read 'meet' as 'meet at ministerial level'."
    item.due_date = datetime.date(2000, 1, 1)
    item.due_date_note = "'Within the year' of January 1999."
    item.save()
    evidence = evidence_create(
        recommendation=item,
        url="https://example.org/meeting-2019",
        title="Joint statement of the 2019 ministerial meeting",
        publisher="Global Affairs Canada",
        published=datetime.date(2019, 5, 1),
        quote="The ministers met in Ottawa.",
        added_by=analyst,
    )
    _status(
        item,
        Status.PARTIALLY_IMPLEMENTED,
        when="2019-05-02",
        note="They met, once.",
        recorded_by=analyst,
        evidence=evidence,
    )
    Recommendation.objects.create(
        code="T-1.1",
        source=item.source,
        parent=item,
        position=900,
        section="Recommendations",
        title="Meet in Tokyo",
        text="Ministers should meet every year.",
        level="bilateral",
    )
    later = Recommendation.objects.create(
        code="L-1",
        source=other_source,
        position=1,
        section="Next steps › First",
        title="Keep meeting",
        text="First, ministers should keep meeting.",
        level="bilateral",
    )
    RecommendationLink.objects.create(
        from_recommendation=later, to_recommendation=item, kind="follows_up", note="The brief takes it up."
    )
    return item


@pytest.mark.django_db
def test_item_page_tells_the_items_story(client, story):
    response = client.get(story.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    # the quote, cited with its source and section path, and in its place in the document
    quote = html[html.index("<blockquote") : html.index("</figure>")]
    assert "Ministers should meet every year." in quote
    assert "A Test Study" in quote and 'data-testid="section-path">Recommendations<' in quote
    assert "<mark>Ministers should meet every year.</mark>" in html
    assert "Navies should exchange visits." in html  # the sentence after it in the document
    assert "Read &#x27;meet&#x27; as" in html
    # status, its definition and the as-of date; due date and overdue
    assert str(STATUS_DEFINITIONS[Status.PARTIALLY_IMPLEMENTED]) in html
    assert 'As of <time datetime="2019-05-02">2 May 2019</time>' in html
    assert 'data-testid="overdue"' in html and "Within the year" in html
    # owners with their country
    assert 'Global Affairs Canada</a> <span class="hint">(Canada' in html
    # evidence: title, publisher, date, link
    assert 'href="https://example.org/meeting-2019"' in html
    assert "Joint statement of the 2019 ministerial meeting" in html and "2019-05-01" in html
    # the timeline: date, from, to, note, evidence and who recorded it, oldest first
    timeline = html[html.index('data-testid="timeline"') :]
    assert timeline.index("2018-06-01") < timeline.index("2019-05-02")
    assert "They met, once." in timeline and "Recorded by ana" in timeline and "by the tracker's seed" in timeline
    assert 'Evidence: <a href="https://example.org/meeting-2019"' in timeline
    # parts, and the later document's item that follows it up
    assert 'href="/recommendations/T-1.1/"' in html
    cross = html[html.index('data-testid="cross-links"') :]
    assert "Followed up by" in cross and 'href="/recommendations/L-1/"' in cross and "Brief 2018" in cross


@pytest.mark.django_db
def test_the_later_item_shows_the_link_the_other_way(client, story):
    html = client.get("/recommendations/L-1/").content.decode()
    cross = html[html.index('data-testid="cross-links"') :]
    assert "Follows up" in cross and 'href="/recommendations/T-1/"' in cross


@pytest.mark.django_db
def test_item_never_assessed_says_so(client, items):
    html = client.get("/recommendations/T-2/").content.decode()
    assert "No status has been recorded for this item yet" in html
    assert "No evidence recorded yet." in html
    assert "The text sets no deadline." in html


@pytest.mark.django_db
def test_only_analysts_see_the_record_a_status_change_link(client, items, analyst, reviewer):
    url = "/recommendations/T-1/"
    change_status = reverse("admin:recommendations_recommendation_change_status", args=[items["T-1"].pk])
    assert change_status not in client.get(url).content.decode()
    client.force_login(reviewer)
    assert change_status not in client.get(url).content.decode()
    client.force_login(analyst)
    assert change_status in client.get(url).content.decode()


@pytest.mark.django_db
def test_unknown_code_gets_a_friendly_404(client, items):
    response = client.get("/recommendations/NOPE-9/")
    assert response.status_code == 404
    assert "No recommendation has the code “NOPE-9”" in response.content.decode()


# --- documents, progress, methodology ------------------------------------------------


@pytest.mark.django_db
def test_source_page_lists_items_in_reading_order_under_headings_with_progress(client, source, make_recommendation):
    make_recommendation("S-1", section="IV. Action › A. Agreement", title="Sign it")
    make_recommendation("S-2", section="IV. Action › B. Agenda › 1. Bilateral", title="Talk")
    make_recommendation("S-3", section="IV. Action › B. Agenda › 1. Bilateral", title="Visit")
    _status(Recommendation.objects.get(code="S-3"), Status.IMPLEMENTED)
    response = client.get(source.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    order = [html.index(s) for s in ("IV. Action", "A. Agreement", "S-1", "B. Agenda", "1. Bilateral", "S-2", "S-3")]
    assert order == sorted(order)
    assert html.count(">IV. Action</h3>") == 1 and html.count(">1. Bilateral</h5>") == 1
    assert 'role="img" aria-label="Test 2000: 2 not assessed, 1 implemented (of 3)"' in html
    assert "Implemented: <strong>1</strong>" in html


def test_a_long_document_is_read_a_page_at_a_time(client, source, django_assert_max_num_queries):
    from recommendations.views import OUTLINE_PAGE_SIZE

    count = OUTLINE_PAGE_SIZE + 10
    Recommendation.objects.bulk_create(
        Recommendation(
            code=f"L-{n:04d}",
            source=source,
            position=n,
            title=f"Item {n}",
            text="Meet.",
            level="bilateral",
            section="II. Agenda › B. Defence" if n > OUTLINE_PAGE_SIZE - 5 else "II. Agenda › A. Dialogue",
        )
        for n in range(1, count + 1)
    )
    first = client.get(source.get_absolute_url()).content.decode()
    assert f"(1–{OUTLINE_PAGE_SIZE} of {count})" in first
    assert f"L-{OUTLINE_PAGE_SIZE:04d}" in first and f"L-{OUTLINE_PAGE_SIZE + 1:04d}" not in first
    assert 'rel="next"' in first
    with django_assert_max_num_queries(14):
        second = client.get(f"{source.get_absolute_url()}?page=2").content.decode()
    assert f"L-{OUTLINE_PAGE_SIZE + 1:04d}" in second and f"L-{OUTLINE_PAGE_SIZE:04d}" not in second
    # The page opens with the headings its first item stands under.
    assert second.index(">II. Agenda</h3>") < second.index(">B. Defence</h4>") < second.index(f"L-{count:04d}")
    # Past the end: the last page, not an error.
    assert f"L-{count:04d}" in client.get(f"{source.get_absolute_url()}?page=99").content.decode()
    # An item's page links to it in its place: the outline's page that holds it, at its anchor.
    late = Recommendation.objects.get(code=f"L-{OUTLINE_PAGE_SIZE + 3:04d}")
    item_page = client.get(late.get_absolute_url()).content.decode()
    assert f'href="{late.get_place_in_source_url()}"' in item_page
    place = client.get(late.get_place_in_source_url()).content.decode()
    assert f'id="item-{late.code}"' in place and f"({OUTLINE_PAGE_SIZE + 1}–{count} of {count})" in place
    # An unknown item opens the outline at its first page.
    assert "(1–" in client.get(f"{source.get_absolute_url()}?item=NOPE").content.decode()


@pytest.mark.django_db
def test_sources_page_lists_documents_with_progress(client, items, other_source):
    html = client.get("/sources/").content.decode()
    assert "A Test Study" in html and "A Later Brief" in html
    assert "4 items" in html and "0 items" in html


@pytest.mark.django_db
def test_progress_page_draws_status_by_theme_and_by_source_with_tables(client, items):
    response = client.get("/progress/")
    html = response.content.decode()
    assert response.status_code == 200
    by_theme = {row.slug: row.progress for row in response.context["by_theme"]}
    assert by_theme["dialogue"].total == 3 and by_theme["navies"].total == 2
    assert {c.status: c.count for c in by_theme["navies"].counts}["implemented"] == 1
    assert 'aria-label="Dialogue: 1 not assessed, 1 in progress, 1 implemented (of 3)"' in html
    assert 'data-testid="by-theme-table"' in html and 'data-testid="by-source-table"' in html
    table = html[html.index('data-testid="by-theme-table"') :]
    assert '<th scope="row"><a href="/?theme=navies">Navies</a></th>' in table


@pytest.mark.django_db
def test_methodology_reads_every_status_definition_from_the_vocabulary(client):
    html = client.get("/methodology/").content.decode()
    for status in Status:
        assert str(status.label) in html and str(STATUS_DEFINITIONS[status]) in html
    assert 'id="as-of"' in html and 'id="evidence"' in html and 'id="sources"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/sources/", "/progress/", "/methodology/", "/recommendations/T-1/"])
def test_every_page_has_the_as_of_stamp_and_the_feed_link(client, items, url):
    html = client.get(url).content.decode()
    assert 'data-testid="as-of"' in html
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert 'href="/api/docs/"' in html and 'href="/admin/"' in html


# --- feeds -----------------------------------------------------------------------------


def _atom(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's output
    assert root.tag == f"{ATOM}feed"
    return root


@pytest.mark.django_db
def test_feed_of_all_changes_is_atom_newest_first(client, items, analyst):
    _status(items["T-2"], Status.NOT_STARTED, when="2019-01-01", note="Nothing found.", recorded_by=analyst)
    root = _atom(client.get("/feeds/changes/"))
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 4
    first = entries[0]
    assert first.findtext(f"{ATOM}title").startswith("T-2: Not assessed → Not started")
    assert "Nothing found." in first.findtext(f"{ATOM}summary")
    assert first.find(f"{ATOM}link").get("href").startswith("http://testserver/recommendations/T-2/#change-")
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "ana"


@pytest.mark.django_db
def test_theme_feed_has_only_that_themes_changes(client, items):
    root = _atom(client.get("/feeds/themes/navies/changes/"))
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert sorted(t.split(":")[0] for t in titles) == ["T-3", "T-4"]
    assert "Navies" in root.findtext(f"{ATOM}title")
    assert client.get("/feeds/themes/no-such-theme/changes/").status_code == 404


@pytest.mark.django_db
def test_list_page_links_the_theme_feed_when_one_theme_is_chosen(client, items):
    html = client.get(LIST_URL, {"theme": "navies"}).content.decode()
    assert 'href="/feeds/themes/navies/changes/"' in html
    assert html.count('type="application/atom+xml"') >= 3  # head (all + theme) and a visible link


# --- a fixed number of queries -------------------------------------------------------------


@pytest.mark.django_db
def test_list_page_queries_do_not_grow_with_rows(
    client, make_recommendation, theme, other_theme, owner, django_assert_max_num_queries
):
    for n in range(25):
        item = make_recommendation(f"Q-{n:02d}", themes=[theme, other_theme], owners=[owner])
        _status(item, Status.IN_PROGRESS)
    Owner.objects.bulk_create(
        Owner(slug=f"owner-{n}", name=f"Owner {n}", country="japan", kind="agency") for n in range(10)
    )
    # as-of stamp, two slug checks, count, total, page, themes, owners, and per facet: counts (5)
    # plus the names of themes, sources and owners (3); on SQLite, one look-up of the searched words' forms
    with django_assert_max_num_queries(17):
        response = client.get(LIST_URL, {"theme": ["dialogue", "navies"], "owner": "gac", "search": "ministers"})
    assert len(_codes(response)) == 25


@pytest.mark.django_db
def test_item_page_queries_do_not_grow_with_its_story(client, story, analyst, django_assert_max_num_queries):
    for n in range(5):
        evidence = evidence_create(
            recommendation=story, url=f"https://example.org/{n}", title=f"Report {n}", added_by=analyst
        )
        _status(story, Status.IN_PROGRESS, when="2020-01-01", note=f"Step {n}", recorded_by=analyst, evidence=evidence)
        recommendation_update(recommendation=story, data={"title": f"Title {n}"}, edited_by=analyst)
    # as-of stamp, the item, and one query each for themes, owners, evidence, changes, edits, parts and links both ways
    with django_assert_max_num_queries(10):
        response = client.get(story.get_absolute_url())
    assert response.content.decode().count('class="change"') == 7


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/progress/", "/sources/", "/sources/test-study/", "/methodology/"])
def test_other_pages_use_a_few_queries(client, items, url, django_assert_max_num_queries):
    # the progress page's status year by year adds two: the documents, and one pass over the status periods
    with django_assert_max_num_queries(9 if url == "/progress/" else 7):
        assert client.get(url).status_code == 200


# --- the real seed --------------------------------------------------------------------------


@pytest.mark.django_db
def test_seeded_1997_recommendation_links_to_the_2018_step_that_took_it_up(client, seeded):
    html = client.get("/recommendations/JN97-R3.10.1/").content.decode()
    cross = html[html.index('data-testid="cross-links"') :]
    assert "Followed up by" in cross and 'href="/recommendations/BM18-1/"' in cross
    back = client.get("/recommendations/BM18-1/").content.decode()
    assert 'href="/recommendations/JN97-R3.10.1/"' in back[back.index('data-testid="cross-links"') :]


@pytest.mark.django_db
def test_every_seeded_item_page_shows_its_quote_in_place(client, seeded):
    for code in Recommendation.objects.values_list("code", flat=True):
        response = client.get(f"/recommendations/{code}/")
        assert response.status_code == 200, code
        assert response.context["in_place"] is not None, f"{code}: quote not found in its source text"


# --- statuses on a past date (as_of) -------------------------------------------------------


@pytest.fixture
def dated(items):
    """The four items, with T-2 assessed later than the others: in progress from 2019-01-01."""
    _status(items["T-2"], Status.IN_PROGRESS, when="2019-01-01")
    return items


def _item_html(response, code: str) -> str:
    html = response.content.decode()
    start = html.index(f'<li class="item" data-code="{code}">')
    return html[start : html.index("</li>", start)]


@pytest.mark.django_db
def test_list_as_of_a_date_shows_each_items_status_then_with_a_notice(client, dated):
    response = client.get(LIST_URL, {"as_of": "2018-12-31"})
    html = response.content.decode()
    assert response.status_code == 200
    assert _codes(response) == ["T-1", "T-2", "T-3", "T-4"]
    notice = html[html.index('data-testid="as-of-notice"') :]
    notice = notice[: notice.index("</p>")]
    assert "Showing each item's status as it stood on" in notice and "31 December 2018" in notice
    assert '<a href="/">show today\'s</a>' in notice
    # T-2 was not assessed yet on that day; today it is in progress.
    then = _item_html(response, "T-2")
    assert 'data-status-as-of="not_assessed"' in then and "status--not_assessed" in then
    assert "Status on 31 December 2018" in then and "no status recorded by then" in then
    assert "status--in_progress" not in then
    assert 'href="/recommendations/T-2/?as_of=2018-12-31"' in then
    t1 = _item_html(response, "T-1")
    assert "status--implemented" in t1 and 'since <time datetime="2018-06-01">' in t1
    today = _item_html(client.get(LIST_URL), "T-2")
    assert "status--in_progress" in today and "as-of-notice" not in client.get(LIST_URL).content.decode()


@pytest.mark.django_db
def test_list_facet_counts_and_progress_count_the_status_as_of_the_date(client, dated):
    assert _facet(client.get(LIST_URL), "status") == {
        **dict.fromkeys(Status.values, 0),
        "implemented": 2,
        "in_progress": 2,
    }
    then = client.get(LIST_URL, {"as_of": "2018-12-31"})
    assert _facet(then, "status") == {
        **dict.fromkeys(Status.values, 0),
        "implemented": 2,
        "in_progress": 1,
        "not_assessed": 1,
    }
    assert then.context["progress"].summary() == "1 not assessed, 1 in progress, 2 implemented (of 4)"
    before = client.get(LIST_URL, {"as_of": "2018-05-31", "theme": "dialogue"})
    assert _facet(before, "status") == {**dict.fromkeys(Status.values, 0), "not_assessed": 3}
    # The other facets still count items (as_of selects none away).
    assert _facet(before, "theme") == {"dialogue": 3, "navies": 2}
    assert "on 31 May 2018" in before.content.decode()


@pytest.mark.django_db
def test_list_status_filter_and_sort_use_the_status_as_of_the_date(client, dated):
    assert _codes(client.get(LIST_URL, {"status": "not_assessed", "as_of": "2018-12-31"})) == ["T-2"]
    assert _codes(client.get(LIST_URL, {"status": "not_assessed"})) == []
    assert _codes(client.get(LIST_URL, {"status": "not_assessed", "as_of": "2018-05-31"})) == [
        "T-1",
        "T-2",
        "T-3",
        "T-4",
    ]
    # status order then: implemented (T-1, T-3), in_progress (T-4), not_assessed (T-2)
    assert _codes(client.get(LIST_URL, {"ordering": "status", "as_of": "2018-12-31"})) == ["T-1", "T-3", "T-4", "T-2"]
    assert _codes(client.get(LIST_URL, {"ordering": "status"})) == ["T-1", "T-3", "T-2", "T-4"]


@pytest.mark.django_db
def test_list_has_a_labelled_status_as_of_date_field_in_its_plain_get_form(client, dated):
    html = client.get(LIST_URL, {"as_of": "2018-12-31", "theme": "dialogue"}).content.decode()
    form = html[html.index('<form class="search-form"') : html.index("</form>")]
    assert 'method="get"' in form
    assert '<label for="as_of">Status as of</label>' in form
    # A text box typed as YYYY-MM-DD, as its hint says (a browser's date box would show mm/dd/yyyy).
    field = form[form.index('<input type="text" id="as_of"') :]
    field = field[: field.index(">")]
    assert 'placeholder="YYYY-MM-DD"' in field
    assert 'name="as_of"' in field and 'value="2018-12-31"' in field and 'aria-describedby="as_of-help"' in field
    assert 'id="as_of-help"' in form and "empty for today's" in form
    # The date is the field's own, not repeated as a hidden input; the other filters are kept.
    assert 'type="hidden" name="as_of"' not in form
    assert '<input type="hidden" name="theme" value="dialogue">' in form
    # JSON and CSV of the selection carry the date too.
    assert 'href="/api/recommendations/?as_of=2018-12-31&amp;theme=dialogue"' in html
    assert 'href="/api/recommendations/?as_of=2018-12-31&amp;theme=dialogue&amp;format=csv"' in html


@pytest.mark.django_db
def test_an_empty_as_of_from_the_form_means_today(client, dated):
    response = client.get(LIST_URL, {"as_of": "", "search": "", "ordering": ""})
    assert response.status_code == 200
    assert "as-of-notice" not in response.content.decode()
    assert "status--in_progress" in _item_html(response, "T-2")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [("31/12/2018", ERROR_AS_OF_FORMAT), ("2018-02-30", ERROR_AS_OF_FORMAT), ("tomorrow", ERROR_AS_OF_FUTURE)],
)
def test_a_bad_or_future_as_of_is_shown_beside_the_field(client, dated, value, message):
    if value == "tomorrow":
        value = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.get(LIST_URL, {"as_of": value})
    html = response.content.decode()
    assert response.status_code == 400
    assert "as_of" in response.context["errors"]
    assert 'href="#filter-as_of"' in html
    field = html[html.index('id="filter-as_of"') :]
    field = field[: field.index("</div>")]
    assert 'aria-invalid="true"' in field and message.replace("'", "&#x27;") in field
    assert "as-of-notice" not in html


@pytest.mark.django_db
def test_item_page_as_of_a_date_shows_the_status_then_beside_todays(client, story):
    response = client.get(story.get_absolute_url(), {"as_of": "2018-12-31"})
    html = response.content.decode()
    assert response.status_code == 200
    # Today's status is still there.
    current = html[html.index('data-testid="current-status"') :]
    assert "status--partially_implemented" in current[: current.index("</p>")]
    status_on = html[html.index('data-testid="status-on"') :]
    status_on = status_on[: status_on.index("</div>")]
    assert "Status on" in status_on and "31 December 2018" in status_on
    assert "status--implemented" in status_on and "Implemented" in status_on
    assert 'In effect since <time datetime="2018-06-01">1 June 2018</time>' in status_on
    assert str(STATUS_DEFINITIONS[Status.IMPLEMENTED]) in status_on
    # The timeline is whole; the change after the date is marked as later, the one in effect as such.
    timeline = html[html.index('data-testid="timeline"') :]
    assert timeline.count('class="change"') == 1 and timeline.count('class="change change--later"') == 1
    later = timeline[timeline.index("change--later") :]
    assert "Later than 31 December 2018" in later and "2019-05-02" in later
    assert "In effect on 31 December 2018" in timeline[: timeline.index("change--later")]
    assert 'href="/api/recommendations/T-1/?as_of=2018-12-31"' in html


@pytest.mark.django_db
def test_item_page_before_any_change_and_without_as_of(client, story):
    html = client.get(story.get_absolute_url(), {"as_of": "2018-05-31"}).content.decode()
    status_on = html[html.index('data-testid="status-on"') :]
    assert "status--not_assessed" in status_on and "No status had been recorded for it by then." in status_on
    assert html.count("change--later") == 2
    plain = client.get(story.get_absolute_url()).content.decode()
    assert 'data-testid="status-on"' not in plain and "change--later" not in plain
    assert '<label for="as_of">Status as of</label>' in plain  # the way to ask, without JavaScript


@pytest.mark.django_db
def test_item_page_refuses_a_future_as_of_beside_the_field(client, story):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.get(story.get_absolute_url(), {"as_of": tomorrow})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="as_of-error"' in html and 'data-testid="status-on"' not in html


@pytest.mark.django_db
def test_progress_and_source_pages_count_the_status_as_of_the_date(client, dated):
    progress = client.get("/progress/", {"as_of": "2018-05-31"})
    assert progress.status_code == 200
    assert progress.context["overall"].summary() == "4 not assessed (of 4)"
    by_theme = {row.slug: row for row in progress.context["by_theme"]}
    assert by_theme["dialogue"].progress.summary() == "3 not assessed (of 3)"
    assert by_theme["dialogue"].url == "/?theme=dialogue&as_of=2018-05-31"
    html = progress.content.decode()
    assert 'data-testid="as-of-notice"' in html and "31 May 2018" in html
    then = client.get("/progress/", {"as_of": "2018-12-31"}).context
    assert {row.slug: row.progress.summary() for row in then["by_source"]} == {
        "test-study": "1 not assessed, 1 in progress, 2 implemented (of 4)"
    }
    assert client.get("/progress/").context["overall"].summary() == "2 in progress, 2 implemented (of 4)"

    source = client.get("/sources/test-study/", {"as_of": "2018-12-31"})
    assert source.context["progress"].summary() == "1 not assessed, 1 in progress, 2 implemented (of 4)"
    outline = source.content.decode()
    t2 = outline[outline.index('id="item-T-2"') :]
    t2 = t2[: t2.index("</div>")]
    assert "status--not_assessed" in t2 and 'href="/recommendations/T-2/?as_of=2018-12-31"' in t2
    assert client.get("/progress/", {"as_of": "soon"}).status_code == 400


@pytest.mark.django_db
def test_list_page_queries_with_as_of_do_not_grow_with_rows(
    client, make_recommendation, theme, other_theme, owner, django_assert_max_num_queries
):
    for n in range(25):
        item = make_recommendation(f"Q-{n:02d}", themes=[theme, other_theme], owners=[owner])
        _status(item, Status.IN_PROGRESS, when="2018-06-01")
        _status(item, Status.IMPLEMENTED, when="2020-01-01")
    params = {"theme": ["dialogue", "navies"], "owner": "gac", "as_of": "2019-01-01", "status": "in_progress"}
    # the sixteen of today's list plus one: the status facet counts the log's changes in effect on the
    # date, and the items apart (the rest are not assessed); the rows' as-of statuses come in the page's query
    with django_assert_max_num_queries(17):
        response = client.get(LIST_URL, {**params, "ordering": "-status_date"})
    assert len(_codes(response)) == 25
    assert _facet(response, "status")["in_progress"] == 25


@pytest.mark.django_db
def test_item_page_queries_with_as_of_do_not_grow_with_its_story(client, story, analyst, django_assert_max_num_queries):
    for n in range(5):
        _status(story, Status.IN_PROGRESS, when="2020-01-01", note=f"Step {n}", recorded_by=analyst)
    with django_assert_max_num_queries(10):
        response = client.get(story.get_absolute_url(), {"as_of": "2019-06-01"})
    assert response.content.decode().count("change--later") == 5


@pytest.mark.django_db
def test_seeded_list_as_of_the_day_before_and_the_day_of_the_2018_brief(client, seeded):
    before = client.get(LIST_URL, {"as_of": "2018-05-31"})
    total = Recommendation.objects.count()
    assert _facet(before, "status") == {**dict.fromkeys(Status.values, 0), "not_assessed": total}
    on_the_day = client.get(LIST_URL, {"as_of": "2018-06-01", "source": "berkshire-miller-2018"})
    assert 'data-status-as-of="in_progress"' in _item_html(on_the_day, "BM18-1")
    html = client.get("/recommendations/BM18-1/", {"as_of": "2018-05-31"}).content.decode()
    assert "status--not_assessed" in html[html.index('data-testid="status-on"') :]
