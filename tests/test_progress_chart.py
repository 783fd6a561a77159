"""Progress year by year: the status mix at the end of each year since each document, on the progress page
(all items, then each document) and on a document's page, as SVG with a legend and a table of the numbers."""

from __future__ import annotations

import datetime
import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations import dashboard
from recommendations.models import Recommendation, Source
from recommendations.services import recommendation_change_status
from recommendations.timeline import status_in_effect
from recommendations.vocabulary import Status


def _status(item: Recommendation, status: str, when: str, note: str = "Assessed.") -> None:
    recommendation_change_status(
        recommendation=item, status=status, note=note, effective_date=datetime.date.fromisoformat(when)
    )


def _item(code: str, source: Source) -> Recommendation:
    """An item of another document than the test study."""
    position = Recommendation.objects.filter(source=source).count() + 1
    return Recommendation.objects.create(
        code=code,
        source=source,
        position=position,
        section="Next steps",
        title=code,
        text="Keep meeting.",
        level="bilateral",
    )


def _mix(series: dashboard.StatusOverTime) -> dict[int, dict[str, int]]:
    """{year: {status: count}} with the zeros left out."""
    return {p.year: {c.status: c.count for c in p.progress.counts if c.count} for p in series.points}


@pytest.fixture
def history(make_recommendation, source):
    """The test study (2000) with four items whose statuses change in the middle of years."""
    a, b, c, d = (make_recommendation(code) for code in ("Y-A", "Y-B", "Y-C", "Y-D"))
    _status(a, Status.IN_PROGRESS, "2001-06-15")
    _status(a, Status.IMPLEMENTED, "2003-03-01")
    _status(b, Status.NOT_STARTED, "2001-12-31")  # the year's last day: counts at that year's end
    _status(b, Status.IN_PROGRESS, "2002-01-01")  # the next day: counts only from the next year's end
    _status(c, Status.IN_PROGRESS, "2002-05-05")
    _status(c, Status.PARTIALLY_IMPLEMENTED, "2002-05-05")  # of two on one day, the last recorded holds
    _status(c, Status.NOT_ASSESSED, "2004-08-01")  # a change back to "not assessed" counts as not assessed
    return {"A": a, "B": b, "C": c, "D": d}


@pytest.mark.django_db
def test_year_end_mix_is_exact_for_items_that_changed_mid_year(history):
    (series,) = dashboard.status_over_time(source=Source.objects.get(slug="test-study"))
    mix = _mix(series)
    assert series.points[0].year == 2000 and series.points[-1].year == timezone.localdate().year
    assert mix[2000] == {"not_assessed": 4}
    assert mix[2001] == {"not_assessed": 2, "in_progress": 1, "not_started": 1}
    assert mix[2002] == {"not_assessed": 1, "in_progress": 2, "partially_implemented": 1}
    assert mix[2003] == {"not_assessed": 1, "in_progress": 1, "partially_implemented": 1, "implemented": 1}
    assert mix[2004] == {"not_assessed": 2, "in_progress": 1, "implemented": 1}
    assert mix[timezone.localdate().year] == mix[2004]
    assert all(p.progress.total == 4 for p in series.points)


@pytest.mark.django_db
def test_year_end_mix_agrees_with_the_status_in_effect_read_from_each_items_log(history, make_recommendation):
    (series,) = dashboard.status_over_time(source=Source.objects.get(slug="test-study"))
    logs = {item.pk: list(item.status_changes.all()) for item in Recommendation.objects.all()}
    for point in series.points:
        expected = Counter(status_in_effect(changes, point.on)[0] for changes in logs.values())
        assert {c.status: c.count for c in point.progress.counts if c.count} == dict(expected), point.year


@pytest.mark.django_db
def test_all_items_count_each_documents_items_from_the_year_it_was_published(history, make_recommendation):
    later = Source.objects.create(
        slug="later-brief",
        title="A Later Brief",
        short_title="Brief 2003",
        authors="B. Author",
        published="2003-06-01",
        date_label="June 2003",
        kind="policy_brief",
        text="Ministers should keep meeting.",
    )
    e = _item("Z-1", later)
    _status(e, Status.IMPLEMENTED, "2003-09-09")
    every, study, brief = dashboard.status_over_time()
    assert (every.key, study.key, brief.key) == ("all", "test-study", "later-brief")
    assert [p.year for p in brief.points][:2] == [2003, 2004]
    assert _mix(every)[2002] == _mix(study)[2002]  # the brief's item is not counted before the brief
    assert _mix(every)[2003] == {"not_assessed": 1, "in_progress": 1, "partially_implemented": 1, "implemented": 2}
    assert every.points[0].year == 2000 and every.points[-1].progress.total == 5


@pytest.mark.django_db
def test_as_of_ends_the_chart_on_that_date(client, history):
    (series,) = dashboard.status_over_time(datetime.date(2002, 5, 4), source=Source.objects.get(slug="test-study"))
    assert [p.year for p in series.points] == [2000, 2001, 2002]
    assert series.latest.partial and series.latest.on == datetime.date(2002, 5, 4)
    # On 4 May 2002: A in progress, B in progress (since 1 January), C and D not yet assessed.
    assert _mix(series)[2002] == {"not_assessed": 2, "in_progress": 2}
    html = client.get("/progress/", {"as_of": "2002-05-04"}).content.decode()
    assert "Year by year, to 4 May 2002" in html
    assert "(the last bar: on 4 May 2002)" in html
    assert dashboard.status_over_time(datetime.date(1999, 1, 1)) == []  # no document published yet


def _table(html: str, key: str) -> dict[str, dict[str, str]]:
    """A chart's table as shown: {year: {status: count}}."""
    start = html.index(f'data-testid="over-time-{key}-table"')
    table = html[start : html.index("</table>", start)]
    rows = {}
    for year, cells in re.findall(r'<tr data-year="(\d+)">(.*?)</tr>', table, re.S):
        rows[year] = dict(re.findall(r'<td data-status="([a-z_]+)"[^>]*>(\d+)</td>', cells))
    return rows


def _svg(html: str, key: str) -> str:
    start = html.index(f'data-testid="over-time-{key}-chart"')
    return html[html.rindex("<svg", 0, start) : html.index("</svg>", start)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,key", [("/progress/", "all"), ("/progress/", "test-study"), ("/sources/test-study/", "test-study")]
)
def test_pages_draw_the_chart_as_svg_with_a_table_of_the_same_numbers(client, history, url, key):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    table = _table(html, key)
    assert table["2001"] == {
        "not_assessed": "2",
        "not_started": "1",
        "in_progress": "1",
        "partially_implemented": "0",
        "implemented": "0",
        "superseded": "0",
        "not_pursued": "0",
        "total": "4",
    }
    assert next(iter(table)) == str(timezone.localdate().year)  # the table reads latest first
    svg = _svg(html, key)
    assert 'role="img"' in svg and 'aria-label="' in svg and "<title>" in svg
    assert "style=" not in svg  # nothing the Content-Security-Policy could refuse
    # One bar per year, each segment as tall as its count: the 2001 bar's segments, bottom up.
    bar = svg[svg.index('data-year="2001"') :]
    bar = bar[: bar.index("</g>")]
    segments = re.findall(r'class="year-seg year-seg--([a-z_]+)"[^>]*height="([\d.]+)"[^>]*data-count="(\d+)"', bar)
    assert [(s, int(n)) for s, _, n in segments] == [("in_progress", 1), ("not_started", 1), ("not_assessed", 2)]
    heights = [float(h) for _, h, _ in segments]
    assert heights[0] > 0 and heights[2] == pytest.approx(2 * heights[0], rel=0.01)
    assert svg.count('class="year-bar"') == timezone.localdate().year - 2000 + 1
    legend = html[html.index("Colours, top of each bar to bottom") :]
    assert all(str(status.label) in legend[: legend.index("</ul>")] for status in Status)


@pytest.mark.django_db
def test_the_chart_tells_its_numbers_in_words(client, history):
    html = client.get("/sources/test-study/").content.decode()
    svg = _svg(html, "test-study")
    label = re.search(r'aria-label="([^"]+)"', svg).group(1)
    year = timezone.localdate().year
    assert label.startswith(f"Test 2000: status at the end of each year from 2000 to {year}.")
    assert "2 not assessed, 1 in progress, 1 implemented (of 4)" in label


@pytest.mark.django_db
def test_chart_geometry_labels_years_without_crowding_and_scales_to_round_numbers():
    def series(years: range, total: int) -> dashboard.StatusOverTime:
        points = tuple(
            dashboard.YearEnd(
                year=y,
                on=datetime.date(y, 12, 31),
                progress=dashboard.Progress.from_counts({"not_assessed": total}),
            )
            for y in years
        )
        return dashboard.StatusOverTime(key="k", label="K", url="", points=points)

    chart = series(range(1997, 2027), 98).chart()
    assert [c.label for c in chart.columns if c.label] == ["1997", "2005", "2010", "2015", "2020", "2026"]
    assert [t.value for t in chart.ticks] == ["0", "20", "40", "60", "80", "100"]
    assert chart.columns[-1].label_anchor == "end"  # the last year stays inside the chart
    few = series(range(2018, 2027), 7).chart()
    assert all(c.label for c in few.columns) and [t.value for t in few.ticks] == ["0", "2", "4", "6", "8"]
    big = series(range(2019, 2027), 300_000).chart()
    assert big.ticks[-1].value == "300,000"


def _count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_years_or_the_documents(client, history, make_recommendation):
    source = Source.objects.get(slug="test-study")
    with CaptureQueriesContext(connection) as ctx:  # (a date of its own: the pages below read theirs afresh)
        dashboard.status_over_time(datetime.date(2024, 12, 31))
    # the documents with their number of items and the log's latest entry; one pass over the periods
    assert len(ctx.captured_queries) == 2
    progress, page = _count_queries(client, "/progress/"), _count_queries(client, "/sources/test-study/")

    # Thirty more years, a second document and more changes: the same number of queries.
    Source.objects.filter(pk=source.pk).update(published="1970-01-01")
    brief = Source.objects.create(
        slug="later-brief",
        title="A Later Brief",
        short_title="Brief 2018",
        authors="B. Author",
        published="2018-06-01",
        date_label="June 2018",
        kind="policy_brief",
    )
    for n in range(5):
        _status(_item(f"L-{n}", brief), Status.IN_PROGRESS, "2019-01-01")
    assert _count_queries(client, "/progress/") == progress
    assert _count_queries(client, "/sources/test-study/") == page
    assert _count_queries(client, "/sources/later-brief/") == page
    assert len(dashboard.status_over_time()[0].points) == timezone.localdate().year - 1970 + 1


@pytest.mark.django_db
def test_the_periods_counts_are_kept_until_the_next_change_and_a_backdated_change_shows_at_once(history):
    source = Source.objects.get(slug="test-study")
    assert _mix(dashboard.status_over_time(source=source)[0])[2005] == {
        "not_assessed": 2,
        "in_progress": 1,
        "implemented": 1,
    }
    with CaptureQueriesContext(connection) as ctx:
        again = dashboard.status_over_time(source=source)[0]
    assert len(ctx.captured_queries) == 1  # the pass over the periods is not made again
    assert _mix(again)[2005] == {"not_assessed": 2, "in_progress": 1, "implemented": 1}

    # D's first status, effective back in 2005: every year's end since then counts it at once.
    _status(history["D"], Status.NOT_PURSUED, "2005-07-01", "Declined.")
    with CaptureQueriesContext(connection) as ctx:
        after = dashboard.status_over_time(source=source)[0]
    assert len(ctx.captured_queries) == 2
    assert _mix(after)[2004] == {"not_assessed": 2, "in_progress": 1, "implemented": 1}
    assert _mix(after)[2005] == {"not_assessed": 1, "in_progress": 1, "implemented": 1, "not_pursued": 1}
