"""The front page: how the tracker stands (headline counts, each a link to exactly those items), what changed
lately, what is overdue; and the one "as of" statement in the header."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations import dashboard
from recommendations.models import Recommendation
from recommendations.services import recommendation_change_status
from recommendations.timeline import overdue_q
from recommendations.vocabulary import Status

FRONT = "/"


def _status(item: Recommendation, status: str, when: str, note: str = "Assessed.") -> None:
    recommendation_change_status(
        recommendation=item, status=status, note=note, effective_date=datetime.date.fromisoformat(when)
    )


def _headlines(response) -> dict[str, int]:
    """The headline counts as the page shows them: {name: count}."""
    html = response.content.decode()
    return {
        name: int(count)
        for name, count in re.findall(
            r'data-headline="([a-z_]+)"><span class="headline-count" data-count="(\d+)"', html
        )
    }


def _headline_urls(response) -> dict[str, str]:
    html = response.content.decode()
    return {
        name: url.replace("&amp;", "&")
        for url, name in re.findall(r'headline--[a-z_]+" href="([^"]+)" data-headline="([a-z_]+)"', html)
    }


def _section(response, testid: str) -> str:
    html = response.content.decode()
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def tracked(make_recommendation):
    """Eight items: statuses of every kind, two past their due date (one closed), one due in the future."""
    due = {
        "F-1": datetime.date(2000, 1, 1),  # implemented below: not overdue
        "F-4": datetime.date(2005, 6, 30),  # not started: overdue
        "F-5": datetime.date(2001, 3, 31),  # not assessed: overdue
        "F-6": timezone.localdate() + datetime.timedelta(days=30),  # not yet due
    }
    items = {code: make_recommendation(code, due_date=due.get(code)) for code in [f"F-{n}" for n in range(1, 9)]}
    _status(items["F-1"], Status.IMPLEMENTED, "2018-06-01", "Done as asked: the 2018 brief says so.")
    _status(items["F-2"], Status.IN_PROGRESS, "2019-03-01", "Talks opened in March 2019.")
    _status(items["F-3"], Status.PARTIALLY_IMPLEMENTED, "2020-07-15", "Half of it is in place.")
    _status(items["F-4"], Status.NOT_STARTED, "2021-01-10", "Nothing on record.")
    _status(items["F-2"], Status.IMPLEMENTED, "2022-09-30", "Signed and in force.")
    return items


@pytest.mark.django_db
def test_headline_counts_match_the_data_and_follow_each_status_change(client, tracked):
    response = client.get(FRONT)
    assert response.status_code == 200
    assert _headlines(response) == {
        "assessed": 4,
        "implemented": 2,
        "partially_implemented": 1,
        "in_progress": 0,
        "overdue": 2,
        "not_assessed": 4,
    }
    assert "Where the 8 items stand" in response.content.decode()

    # A change recorded through the service shows at once: F-5 is assessed, and done, so no longer overdue.
    _status(tracked["F-5"], Status.IMPLEMENTED, "2023-05-05", "Held at last.")
    _status(tracked["F-7"], Status.IN_PROGRESS, "2023-05-06", "Under way.")
    after = _headlines(client.get(FRONT))
    assert after["assessed"] == 6 and after["not_assessed"] == 2
    assert after["implemented"] == 3 and after["in_progress"] == 1 and after["overdue"] == 1
    assert after["overdue"] == Recommendation.objects.filter(overdue_q()).count()


@pytest.mark.django_db
def test_each_headline_leads_to_a_list_of_exactly_that_many_items(client, tracked):
    front = client.get(FRONT)
    counts, urls = _headlines(front), _headline_urls(front)
    assert set(urls) == set(counts)
    assert urls["implemented"] == "/?status=implemented"
    assert urls["overdue"] == "/?overdue=true"
    for name, url in urls.items():
        listed = client.get(url)
        assert listed.status_code == 200, url
        assert listed.context["paginator"].count == counts[name], name
        assert 'data-testid="front-summary"' not in listed.content.decode(), f"{url} is a question: the list first"


@pytest.mark.django_db
def test_latest_changes_newest_first_with_dates_notes_and_links(client, tracked):
    section = _section(client.get(FRONT), "latest-changes")
    codes = re.findall(r'<li class="front-change" data-code="([^"]+)"', section)
    # By the date each took effect, newest first; F-2's later change is its own entry.
    assert codes == ["F-2", "F-4", "F-3", "F-2", "F-1"]
    assert section.index("Signed and in force.") < section.index("Nothing on record.") < section.index("Half of it")
    assert '<time datetime="2022-09-30">30 Sep 2022</time>' in section
    latest = section[: section.index("</li>")]
    assert "status--in_progress" in latest and "status--implemented" in latest
    change = tracked["F-2"].status_changes.order_by("-effective_date").first()
    assert f'href="/recommendations/F-2/#change-{change.pk}"' in latest


@pytest.mark.django_db
def test_latest_changes_show_at_most_the_set_number(client, make_recommendation):
    for n in range(dashboard.LATEST_CHANGES_SHOWN + 3):
        _status(make_recommendation(f"M-{n}"), Status.IN_PROGRESS, f"2020-01-{n + 1:02d}", f"Step {n}.")
    section = _section(client.get(FRONT), "latest-changes")
    codes = re.findall(r'<li class="front-change" data-code="([^"]+)"', section)
    last = dashboard.LATEST_CHANGES_SHOWN + 2
    assert codes == [f"M-{n}" for n in range(last, last - dashboard.LATEST_CHANGES_SHOWN, -1)]
    assert 'href="/feeds/changes/"' in section


@pytest.mark.django_db
def test_a_reassessment_reads_as_still_that_status(client, tracked):
    _status(tracked["F-3"], Status.PARTIALLY_IMPLEMENTED, "2024-02-02", "Reviewed: nothing more done.")
    section = _section(client.get(FRONT), "latest-changes")
    first = section[section.index('<li class="front-change"') :]
    first = first[: first.index("</li>")]
    assert "still" in first and "(reviewed)" in first and "Reviewed: nothing more done." in first


@pytest.mark.django_db
def test_overdue_items_are_listed_with_their_due_dates(client, tracked):
    section = _section(client.get(FRONT), "overdue")
    codes = re.findall(r'<li data-code="([^"]+)"', section)
    assert codes == ["F-5", "F-4"]  # earliest due date first; the implemented F-1 and the not-yet-due F-6 are not
    assert "due 31 Mar 2001" in section and "due 30 Jun 2005" in section
    assert 'href="/?overdue=true"' in section


@pytest.mark.django_db
def test_no_overdue_and_no_changes_say_so(client, make_recommendation):
    make_recommendation("E-1")
    response = client.get(FRONT)
    assert "No status change has been recorded yet." in _section(response, "latest-changes")
    assert "None: no open item" in _section(response, "overdue")
    assert _headlines(response)["not_assessed"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", [{"page": "1"}, {"status": "implemented"}, {"as_of": "2020-01-01"}, {"search": "ministers"}]
)
def test_a_url_with_any_parameter_shows_the_list_as_before(client, tracked, query):
    response = client.get(FRONT, query)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="front-summary"' not in html
    assert 'data-testid="results"' in html


@pytest.mark.django_db
def test_the_header_makes_one_as_of_statement(client, tracked):
    stamp = client.get(FRONT).content.decode()
    stamp = stamp[stamp.index('data-testid="as-of"') : stamp.index("</p>", stamp.index('data-testid="as-of"'))]
    assert "Statuses as recorded up to" in stamp and '<time datetime="2022-09-30">30 September 2022</time>' in stamp
    assert stamp.count("<time") == 1  # one date, not two unrelated ones side by side

    chosen = client.get(FRONT, {"as_of": "2019-06-01"}).content.decode()
    chosen = chosen[chosen.index('data-testid="as-of"') : chosen.index("</p>", chosen.index('data-testid="as-of"'))]
    assert "Statuses as they stood on" in chosen and '<time datetime="2019-06-01">1 June 2019</time>' in chosen
    assert chosen.count("<time") == 1 and "show today's" in chosen


def _queries(client, path: str, **params) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path, params).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
def test_the_summary_costs_three_queries_whatever_the_numbers(client, tracked, make_recommendation):
    front, listed = _queries(client, FRONT), _queries(client, FRONT, page="1")
    # The counts are the status facet's; the summary adds one count and one page of overdue items, and one
    # page of the log. (A URL with parameters counts all items apart for its "n of N"; the bare page need not.)
    added = [sql for sql in front if sql not in listed]
    assert len(added) == 3, added
    assert (
        sum("COUNT(" in sql for sql in added) == 1
        and sum('ORDER BY "recommendations_statuschange"."effective_date" DESC' in sql for sql in added) == 1
    )
    assert all("LIMIT" in sql for sql in added if "COUNT(" not in sql)
    assert len(front) <= len(listed) + 3
    for n in range(30):
        item = make_recommendation(f"G-{n:02d}", due_date=datetime.date(1999, 1, 1))
        _status(item, Status.IN_PROGRESS, "2018-06-01")
        _status(item, Status.PARTIALLY_IMPLEMENTED, "2021-06-01")
    assert len(_queries(client, FRONT)) == len(front)
    page = client.get(FRONT)
    assert len(re.findall(r'<li class="front-change"', _section(page, "latest-changes"))) == 6
    assert len(re.findall(r"<li data-code=", _section(page, "overdue"))) == dashboard.OVERDUE_SHOWN
    assert "All 32 overdue items" in _section(page, "overdue")


@pytest.mark.django_db
def test_front_page_data_in_a_fixed_number_of_queries(tracked, django_assert_num_queries):
    # One GROUP BY on the status column, one count and one page of overdue items, one page of the log.
    with django_assert_num_queries(4) as ctx:
        summary = dashboard.front_page()
    grouped = [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1 and '"status"' in grouped[0]
    assert any(
        'ORDER BY "recommendations_statuschange"."effective_date" DESC' in q["sql"] and "LIMIT" in q["sql"]
        for q in ctx.captured_queries
    )
    assert summary.headline("assessed").count == 4 and summary.total == 8
    counts = dashboard.status_counts()
    with django_assert_num_queries(3):
        dashboard.front_page(counts=counts)
