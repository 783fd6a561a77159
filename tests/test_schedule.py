"""Due dates and recurring schedules: the one overdue rule (timeline.py) in the database and in memory,
the `overdue`, `due_before` and `due_after` filters on the pages and in the API (same items, bad values
refused by name), the list, detail and CSV fields, and the schedules the seed loads from the texts."""

from __future__ import annotations

import csv
import datetime
import io
import re
import shutil
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from django.http import QueryDict
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations.filters import ERROR_BOOLEAN, ERROR_DATE_FORMAT, RecommendationFilterSet
from recommendations.models import Evidence, Recommendation, RecommendationEdit, SeededValues
from recommendations.services import (
    evidence_create,
    evidence_retract,
    recommendation_change_status,
    recommendation_update,
)
from recommendations.timeline import (
    add_months,
    is_overdue,
    last_occurrence,
    next_occurrence_due,
    overdue_q,
)
from recommendations.vocabulary import Status

pytestmark = pytest.mark.django_db

LIST = "/api/recommendations/"
TODAY = timezone.localdate()
FIXTURES = settings.FIXTURES_DIR


def months_ago(months: int) -> datetime.date:
    return add_months(TODAY, -months)


def page_codes(client, query: str) -> list[str]:
    response = client.get(f"/?{query}")
    assert response.status_code == 200, response.content.decode()[:500]
    return re.findall(r'<li class="item" data-code="([^"]+)"', response.content.decode())


def api_codes(query: str) -> list[str]:
    response = APIClient().get(f"{LIST}?{query}&page_size=500")
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


def csv_rows(query: str) -> dict[str, dict[str, str]]:
    response = APIClient().get(f"{LIST}?{query}&format=csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    return {row["code"]: row for row in csv.DictReader(io.StringIO(body))}


@pytest.fixture
def scheduled(make_recommendation):
    """Items meeting every 12 months (the test study is dated 1 January 2000), and items with due dates.

    lapsed: met 2 years ago; recent: met 3 months ago; silent: nothing recorded (counts from the study);
    done: implemented 3 years ago (a schedule is never finished); dropped: not pursued 3 years ago.
    late: due a year ago, in progress; closed: due a year ago, implemented; coming: due next year.
    """
    made = {}
    for code, months, status in [
        ("S-LAPSED", 24, Status.IN_PROGRESS),
        ("S-RECENT", 3, Status.IN_PROGRESS),
        ("S-DONE", 36, Status.IMPLEMENTED),
        ("S-DROPPED", 36, Status.NOT_PURSUED),
    ]:
        item = make_recommendation(code, schedule_months=12, schedule_note="Once a year.")
        recommendation_change_status(recommendation=item, status=status, note="Met.", effective_date=months_ago(months))
        made[code] = item
    made["S-SILENT"] = make_recommendation("S-SILENT", schedule_months=12)
    made["D-LATE"] = make_recommendation("D-LATE", due_date=months_ago(12), status=Status.IN_PROGRESS)
    made["D-CLOSED"] = make_recommendation("D-CLOSED", due_date=months_ago(12), status=Status.IMPLEMENTED)
    made["D-COMING"] = make_recommendation("D-COMING", due_date=add_months(TODAY, 12))
    made["PLAIN"] = make_recommendation("PLAIN")
    return made


# --- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (datetime.date(2024, 1, 31), 1, datetime.date(2024, 2, 29)),
        (datetime.date(2023, 1, 31), 1, datetime.date(2023, 2, 28)),
        (datetime.date(2022, 8, 31), 18, datetime.date(2024, 2, 29)),
        (datetime.date(2022, 3, 10), 18, datetime.date(2023, 9, 10)),
        (datetime.date(2024, 2, 29), 12, datetime.date(2025, 2, 28)),
        (datetime.date(2024, 3, 31), -1, datetime.date(2024, 2, 29)),
    ],
)
def test_the_next_occurrence_is_due_the_same_day_months_later_or_that_months_last_day(day, months, expected):
    assert add_months(day, months) == expected


def test_a_schedule_whose_last_occurrence_is_too_old_is_overdue_and_a_recent_one_is_not(scheduled):
    overdue = set(Recommendation.objects.filter(overdue_q()).values_list("code", flat=True))
    assert overdue == {"S-LAPSED", "S-SILENT", "S-DONE", "D-LATE"}
    assert "S-RECENT" not in overdue and "S-DROPPED" not in overdue  # met lately; released by "not pursued"
    assert "D-CLOSED" not in overdue and "D-COMING" not in overdue  # a due date: closed, or not yet due


def test_dated_evidence_is_an_occurrence_and_retracted_evidence_is_not(scheduled, analyst):
    item = scheduled["S-LAPSED"]
    evidence = evidence_create(
        recommendation=item,
        title="The annual meeting was held",
        url="https://example.org/meeting",
        published=months_ago(1),
        added_by=analyst,
    )
    assert not Recommendation.objects.filter(overdue_q(), pk=item.pk).exists()
    evidence_retract(evidence=evidence, reason="The page reports another meeting.", retracted_by=analyst)
    assert Recommendation.objects.filter(overdue_q(), pk=item.pk).exists()


def test_with_nothing_recorded_the_schedule_counts_from_the_documents_date(scheduled):
    silent = scheduled["S-SILENT"]  # the test study is dated 1 January 2000; a meeting was due by 1 January 2001
    assert not Recommendation.objects.filter(overdue_q(datetime.date(2001, 1, 1)), pk=silent.pk).exists()
    assert Recommendation.objects.filter(overdue_q(datetime.date(2001, 1, 2)), pk=silent.pk).exists()


def _occurrences(make_recommendation, analyst):
    """Items whose one occurrence is dated evidence on a month's end or its middle, with schedules of 1 to 24."""
    items = []
    for n, (day, months) in enumerate(
        (day, months)
        for day in (datetime.date(2023, 1, 31), datetime.date(2023, 8, 31), datetime.date(2024, 2, 29))
        for months in (1, 6, 18)
    ):
        item = make_recommendation(f"M-{n}", schedule_months=months)
        evidence_create(recommendation=item, title="Met", url="https://example.org/m", published=day, added_by=analyst)
        items.append((item, day, months))
    return items


def test_the_database_and_the_in_memory_rule_agree_at_each_day_around_the_next_due_date(make_recommendation, analyst):
    for made, day, months in _occurrences(make_recommendation, analyst):
        item = Recommendation.objects.select_related("source").get(pk=made.pk)
        next_due = next_occurrence_due(day, months)
        for on in (next_due - datetime.timedelta(days=1), next_due, next_due + datetime.timedelta(days=1)):
            in_db = Recommendation.objects.filter(overdue_q(on), pk=item.pk).exists()
            last = last_occurrence(
                source_published=item.source.published,
                changes=item.status_changes.all(),
                evidence=Evidence.objects.filter(recommendation=item).with_retraction(),
                on=on,
            )
            in_memory = is_overdue(None, item.status, on, schedule_months=months, last_occurrence=last)
            assert in_db == in_memory == (on > next_due), (item.code, day, months, on)


def test_as_of_reads_overdue_on_that_date_with_the_status_and_the_record_then(client, make_recommendation):
    item = make_recommendation("S-AGAIN", schedule_months=24)
    recommendation_change_status(
        recommendation=item, status=Status.IN_PROGRESS, note="Met.", effective_date=datetime.date(2018, 1, 1)
    )
    recommendation_change_status(
        recommendation=item, status=Status.IN_PROGRESS, note="Met again.", effective_date=months_ago(6)
    )
    # Lapsed in 2020 (24 months after January 2018), met again half a year ago.
    assert page_codes(client, "overdue=true&as_of=2021-01-01") == api_codes("overdue=true&as_of=2021-01-01")
    assert api_codes("overdue=true&as_of=2021-01-01") == ["S-AGAIN"]
    assert api_codes("overdue=true") == []
    html = client.get("/?as_of=2021-01-01").content.decode()
    assert "Overdue then on its schedule: every 24 months" in html
    then = APIClient().get(f"{LIST}S-AGAIN/?as_of=2021-01-01").json()
    assert (then["overdue"], then["last_occurrence"], then["next_occurrence_due"]) == (True, "2018-01-01", "2020-01-01")
    assert APIClient().get(f"{LIST}S-AGAIN/").json()["overdue"] is False


# --- the filters, on the pages and in the API -------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("overdue=true", {"S-LAPSED", "S-SILENT", "S-DONE", "D-LATE"}),
        ("overdue=false", {"S-RECENT", "S-DROPPED", "D-CLOSED", "D-COMING", "PLAIN"}),
        ("overdue=1&status=in_progress", {"S-LAPSED", "D-LATE"}),
        (f"due_before={TODAY.isoformat()}", {"D-LATE", "D-CLOSED"}),
        (f"due_after={TODAY.isoformat()}", {"D-COMING"}),
        (f"due_after={months_ago(12).isoformat()}&due_before={months_ago(12).isoformat()}", {"D-LATE", "D-CLOSED"}),
        ("overdue=", None),  # empty: not given, every item
    ],
)
def test_the_pages_and_the_api_select_the_same_items(client, scheduled, query, expected):
    on_page, in_api = page_codes(client, query), api_codes(query)
    assert on_page == in_api
    assert set(in_api) == (expected if expected is not None else set(scheduled))
    assert set(RecommendationFilterSet(QueryDict(query)).qs.values_list("code", flat=True)) == set(in_api)


@pytest.mark.parametrize(
    "parameter, value, message",
    [
        ("overdue", "maybe", ERROR_BOOLEAN),
        ("overdue", "yes please", ERROR_BOOLEAN),
        ("due_before", "31/03/2000", ERROR_DATE_FORMAT),
        ("due_after", "2000-02-30", ERROR_DATE_FORMAT),
        ("due_after", "2000-3-1", ERROR_DATE_FORMAT),
    ],
)
def test_a_bad_value_is_a_400_naming_the_parameter_on_the_page_and_in_the_api(
    client, scheduled, parameter, value, message
):
    response = APIClient().get(LIST, {parameter: value})
    assert response.status_code == 400
    assert response.json()[parameter] == [message]
    page = client.get("/", {parameter: value})
    assert page.status_code == 400
    assert str(message) in page.content.decode()


def test_the_list_detail_and_csv_carry_the_due_date_overdue_and_the_schedule(client, scheduled):
    rows = {row["code"]: row for row in APIClient().get(f"{LIST}?page_size=500").json()["results"]}
    assert (rows["D-LATE"]["due_date"], rows["D-LATE"]["overdue"]) == (months_ago(12).isoformat(), True)
    assert (rows["S-RECENT"]["schedule_months"], rows["S-RECENT"]["overdue"]) == (12, False)
    assert rows["PLAIN"]["schedule_months"] is None and rows["PLAIN"]["overdue"] is False
    # A page says what the overdue filter selects, scheduled items included.
    late = {row["code"] for row in APIClient().get(f"{LIST}?overdue=true&page_size=500").json()["results"]}
    assert late == {code for code, row in rows.items() if row["overdue"]} and "S-LAPSED" in late
    table = csv_rows("")
    assert (table["D-LATE"]["due_date"], table["D-LATE"]["overdue"]) == (months_ago(12).isoformat(), "true")
    assert (table["S-LAPSED"]["overdue"], table["S-LAPSED"]["schedule_months"]) == ("true", "12")
    assert (table["D-COMING"]["overdue"], table["PLAIN"]["schedule_months"]) == ("false", "")
    detail = APIClient().get(f"{LIST}S-LAPSED/").json()
    assert detail["schedule_note"] == "Once a year."
    assert detail["last_occurrence"] == months_ago(24).isoformat()
    assert detail["next_occurrence_due"] == months_ago(12).isoformat()
    assert detail["overdue"] is True


def test_the_item_page_shows_the_schedule_and_whether_it_is_kept(client, scheduled):
    lapsed = client.get("/recommendations/S-LAPSED/").content.decode()
    assert 'data-testid="schedule"' in lapsed and 'data-testid="schedule-overdue"' in lapsed
    assert "At least every 12 months." in lapsed and "Once a year." in lapsed
    recent = client.get("/recommendations/S-RECENT/").content.decode()
    assert 'data-testid="schedule"' in recent and 'data-testid="schedule-overdue"' not in recent
    assert "the next is due by" in recent
    dropped = client.get("/recommendations/S-DROPPED/").content.decode()
    assert "no longer followed" in dropped
    assert 'data-testid="schedule"' not in client.get("/recommendations/PLAIN/").content.decode()


def test_the_list_says_which_way_an_item_is_overdue(client, scheduled):
    html = client.get("/").content.decode()

    def entry(code: str) -> str:
        start = html.index(f'<li class="item" data-code="{code}">')
        return html[start : html.index("</li>", start)]

    assert "Overdue on its schedule: every 12 months" in entry("S-LAPSED")
    assert "Recurring: every 12 months" in entry("S-RECENT")
    assert "Overdue: due" in entry("D-LATE")
    assert "flag--overdue" not in entry("D-COMING")


# --- the seed ---------------------------------------------------------------------------


def test_the_seed_loads_the_schedules_the_texts_set(seeded):
    schedules = dict(
        Recommendation.objects.filter(schedule_months__isnull=False).values_list("code", "schedule_months")
    )
    assert schedules == {"JN97-R2.1": 18, "JN97-R3.1": 12, "JN97-R3.2": 24, "JN97-R3.5": 24}
    talks = Recommendation.objects.get(code="JN97-R2.1")
    assert "12 to 18 month" in talks.text and "18 months" in talks.schedule_note
    assert "biennial" in Recommendation.objects.get(code="JN97-R3.2").text


def test_the_seed_keeps_an_analysts_schedule(seeded, analyst):
    talks = Recommendation.objects.get(code="JN97-R2.1")
    recommendation_update(recommendation=talks, data={"schedule_months": 12}, edited_by=analyst, note="Read as yearly.")
    out = StringIO()
    call_command("seed", stdout=out)
    talks.refresh_from_db()
    assert talks.schedule_months == 12
    assert "recommendation JN97-R2.1: schedule_months" in out.getvalue()


def test_the_seed_fills_a_schedule_nobody_has_set_yet_but_keeps_one_an_analyst_cleared(seeded, analyst):
    # As on a tracker seeded before items had schedules: the seed remembers none, the fields are empty.
    ships, visits = Recommendation.objects.get(code="JN97-R3.2"), Recommendation.objects.get(code="JN97-R3.5")
    recommendation_update(recommendation=visits, data={"schedule_months": None}, edited_by=analyst, note="No schedule.")
    Recommendation.objects.filter(pk=ships.pk).update(schedule_months=None, schedule_note="")
    for row in SeededValues.objects.filter(model="recommendation", key__in=["JN97-R3.2", "JN97-R3.5"]):
        row.values = {k: v for k, v in row.values.items() if k not in ("schedule_months", "schedule_note")}
        row.save()
    version = Recommendation.objects.get(pk=ships.pk).version

    call_command("seed", verbosity=0)

    ships.refresh_from_db()
    visits.refresh_from_db()
    assert (ships.schedule_months, ships.version) == (24, version + 1)
    assert RecommendationEdit.objects.filter(recommendation=ships, edited_by__isnull=True).last().changes[
        "schedule_months"
    ] == {"before": None, "after": 24}
    assert visits.schedule_months is None  # the analyst's clearing is on record: kept
    out = StringIO()
    call_command("seed", stdout=out)
    assert "nothing changed" in out.getvalue()


def test_a_schedule_that_is_no_number_of_months_is_refused_by_the_seed(db, tmp_path):
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    path = folder / "recommendations.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    next(e for e in entries if e["code"] == "JN97-R2.1")["schedule_months"] = "18 months"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CommandError, match=r"JN97-R2\.1: schedule_months"):
        call_command("seed", fixtures=str(folder), verbosity=0)
