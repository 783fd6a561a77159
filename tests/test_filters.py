"""The one FilterSet, used directly as the reviewer pages and the API use it:
`RecommendationFilterSet(params, queryset).qs`. Each filter with a value that
matches and one that does not; bad input as errors naming the parameter."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.utils import timezone

from recommendations import selectors
from recommendations.filters import (
    ERROR_AS_OF_FORMAT,
    ERROR_AS_OF_FUTURE,
    ERROR_BAD_DATETIME,
    RecommendationFilterSet,
    StatusChangeFeedFilterSet,
)
from recommendations.models import Owner, Recommendation, Source, StatusChange
from recommendations.search import full_text_supported
from recommendations.services import recommendation_change_status
from recommendations.timeline import STATUS_AS_OF, STATUS_DATE_AS_OF, status_in_effect
from recommendations.vocabulary import Status

pytestmark = pytest.mark.django_db

JAN_2020 = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
JUN_2021 = datetime.datetime(2021, 6, 1, tzinfo=datetime.UTC)


@pytest.fixture
def other_source(db):
    return Source.objects.create(
        slug="test-brief",
        title="A Test Brief",
        short_title="Brief 2018",
        authors="B. Author",
        published="2018-06-01",
        date_label="June 2018",
        kind="policy_brief",
    )


@pytest.fixture
def other_owner(db):
    return Owner.objects.create(slug="mofa", name="Ministry of Foreign Affairs", country="japan", kind="ministry")


@pytest.fixture
def items(make_recommendation, theme, other_theme, owner, other_owner, other_source):
    """Three items that differ in every filtered field."""
    ministers = make_recommendation(
        "T-1",
        title="Annual ministerial meetings",
        text="Ministers should meet every year.",
        themes=[theme],
        owners=[owner],
        level="bilateral",
        updated_at=JAN_2020,
    )
    navies = make_recommendation(
        "T-2",
        title="Naval visits",
        text="Navies should exchange port visits.",
        themes=[other_theme],
        owners=[other_owner],
        level="regional",
        status="in_progress",
        parent=ministers,
        updated_at=JUN_2021,
    )
    scholars = Recommendation.objects.create(
        code="B-1",
        source=other_source,
        position=1,
        section="Next steps",
        title="Scholars' dialogue",
        text="Scholars should talk about regional security.",
        level="global",
        status="implemented",
        updated_at=JUN_2021,
    )
    scholars.themes.set([theme, other_theme])
    return {"ministers": ministers, "navies": navies, "scholars": scholars}


def codes(params, queryset=None) -> list[str]:
    data = params if isinstance(params, QueryDict) else QueryDict(params)
    filterset = RecommendationFilterSet(data, queryset if queryset is not None else Recommendation.objects.all())
    assert filterset.is_valid(), filterset.errors
    return list(filterset.qs.values_list("code", flat=True))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("source=test-study", ["T-1", "T-2"]),
        ("source=test-brief", ["B-1"]),
        ("theme=dialogue", ["T-1", "B-1"]),
        ("theme=navies", ["T-2", "B-1"]),
        ("owner=gac", ["T-1"]),
        ("owner=mofa", ["T-2"]),
        ("status=in_progress", ["T-2"]),
        ("status=not_started", []),
        ("level=regional", ["T-2"]),
        ("level=global", ["B-1"]),
        ("parent=T-1", ["T-2"]),
        ("parent=T-2", []),
        ("search=navies", ["T-2"]),
        ("search=submarines", []),
        ("updated_since=2021-01-01", ["T-2", "B-1"]),
        ("updated_since=2022-01-01", []),
    ],
)
def test_each_filter_keeps_the_matching_items_only(items, params, expected):
    assert sorted(codes(params)) == sorted(expected)


def test_repeating_a_parameter_means_or_and_different_parameters_mean_and(items):
    assert sorted(codes("status=in_progress&status=implemented")) == ["B-1", "T-2"]
    assert sorted(codes("level=bilateral&level=global")) == ["B-1", "T-1"]
    assert codes("theme=navies&source=test-study") == ["T-2"]
    assert codes("theme=dialogue&status=implemented") == ["B-1"]


def test_many_to_many_filters_do_not_repeat_an_item_with_several_matches(items):
    # B-1 has both themes: an OR over them must still list it once.
    assert sorted(codes("theme=dialogue&theme=navies")) == ["B-1", "T-1", "T-2"]


def test_updated_since_takes_a_date_time_with_an_offset(items):
    assert sorted(codes("updated_since=2021-06-01T00:00:00Z")) == ["B-1", "T-2"]
    # 2021-06-01T02:00+02:00 is midnight UTC: still included.
    assert sorted(codes(urlencode({"updated_since": "2021-06-01T02:00:00+02:00"}))) == ["B-1", "T-2"]
    assert codes("updated_since=2021-06-01T00:00:01Z") == []


def test_default_order_is_document_order(items):
    # The test study (2000) comes before the brief (2018); within a document, by position.
    assert codes("") == ["T-1", "T-2", "B-1"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("code", ["B-1", "T-1", "T-2"]),
        ("-code", ["T-2", "T-1", "B-1"]),
        ("-reading", ["B-1", "T-2", "T-1"]),
        ("status", ["B-1", "T-2", "T-1"]),  # implemented, in_progress, not_assessed
        ("updated_at", ["T-1", "T-2", "B-1"]),
    ],
)
def test_ordering(items, ordering, expected):
    assert codes(f"ordering={ordering}") == expected


def test_search_matches_title_and_text(items):
    assert codes("search=ministerial") == ["T-1"]  # title
    assert codes("search=scholars regional") == ["B-1"]  # text, every word
    assert codes("search=scholars navies") == []


@pytest.mark.skipif(not full_text_supported(), reason="ranking needs PostgreSQL full-text search")
def test_search_on_postgresql_ranks_the_best_match_first(make_recommendation):
    make_recommendation("R-1", title="Ports", text="Navies should exchange visits and talk about ports.")
    make_recommendation("R-2", title="Navies and ports", text="Navies should exchange visits of navies.")
    assert codes("search=navies") == ["R-2", "R-1"]
    # Stemming: "visit" finds "visits".
    assert sorted(codes("search=visit")) == ["R-1", "R-2"]


def test_the_filterset_narrows_the_queryset_it_is_given(items):
    only_study = Recommendation.objects.filter(source__slug="test-study")
    assert codes("theme=navies", only_study) == ["T-2"]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ("theme=nope", "theme", "Unknown theme: nope"),
        ("theme=50%25off", "theme", "Unknown theme: 50%off"),
        ("owner=gac&owner=nobody", "owner", "Unknown owner: nobody"),
        ("source=nope", "source", "Unknown source: nope"),
        ("parent=NOPE-1", "parent", "Unknown parent item: NOPE-1"),
        ("status=finished", "status", "finished"),
        ("level=cosmic", "level", "cosmic"),
        ("updated_since=yesterday", "updated_since", ERROR_BAD_DATETIME),
        ("updated_since=2021-02-30", "updated_since", ERROR_BAD_DATETIME),
        ("ordering=colour", "ordering", "colour"),
    ],
)
def test_bad_values_are_errors_naming_the_parameter(items, params, field, words):
    filterset = RecommendationFilterSet(QueryDict(params), Recommendation.objects.all())
    assert not filterset.is_valid()
    assert field in filterset.errors
    assert any(str(words) in message for message in filterset.errors[field])


def test_an_unknown_slug_error_lists_the_known_ones(items):
    filterset = RecommendationFilterSet(QueryDict("theme=nope"), Recommendation.objects.all())
    filterset.is_valid()
    assert "dialogue, navies" in filterset.errors["theme"][0]


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_a_moment_with_no_utc_date_time_is_an_error_not_a_crash(items, value):
    filterset = RecommendationFilterSet(QueryDict(urlencode({"updated_since": value})), Recommendation.objects.all())
    assert not filterset.is_valid()
    assert filterset.errors["updated_since"] == [ERROR_BAD_DATETIME]


def test_a_nul_byte_in_a_value_or_a_name_is_an_error_naming_the_parameter(items):
    data = QueryDict(mutable=True)
    data.setlist("search", ["navies\x00"])
    data.setlist("the\x00me", ["dialogue"])
    filterset = RecommendationFilterSet(data, Recommendation.objects.all())
    assert not filterset.is_valid()
    assert filterset.errors["search"] == ["Remove the NUL character (%00) from this parameter."]
    assert "theme" in filterset.errors
    # The errors render like any form's (as the reviewer pages show them).
    assert "%00" in filterset.errors.as_text()
    assert list(filterset.qs)  # the page can still list (nothing reached the database with the NUL)


def test_a_plain_dict_works_as_well_as_a_query_dict(items):
    filterset = RecommendationFilterSet({"status": ["in_progress"], "theme": "navies"}, Recommendation.objects.all())
    assert filterset.is_valid(), filterset.errors
    assert [r.code for r in filterset.qs] == ["T-2"]


def test_without_a_queryset_the_filterset_covers_every_item(items):
    filterset = RecommendationFilterSet(QueryDict("level=global"))
    assert [r.code for r in filterset.qs] == ["B-1"]


def test_the_change_feed_filter_keeps_changes_recorded_since(recommendation, analyst):
    change = recommendation_change_status(
        recommendation=recommendation, status="in_progress", note="Talks began.", recorded_by=analyst
    )
    today = change.recorded_at.date().isoformat()
    tomorrow = (change.recorded_at.date() + datetime.timedelta(days=1)).isoformat()
    assert list(StatusChangeFeedFilterSet(QueryDict(f"since={today}"), StatusChange.objects.all()).qs) == [change]
    assert not StatusChangeFeedFilterSet(QueryDict(f"since={tomorrow}"), StatusChange.objects.all()).qs.exists()
    bad = StatusChangeFeedFilterSet(QueryDict("since=soon"), StatusChange.objects.all())
    assert not bad.is_valid()
    assert bad.errors["since"] == [ERROR_BAD_DATETIME]


# --- as_of: every item's status as it stood on a date ---------------------------------


def _change(item: Recommendation, status: str, when: str) -> StatusChange:
    return recommendation_change_status(
        recommendation=item, status=status, note="Assessed.", effective_date=datetime.date.fromisoformat(when)
    )


@pytest.fixture
def history(make_recommendation):
    """Four items whose logs differ: changed before and after the dates the tests ask about."""
    early = make_recommendation("H-1", title="Changed twice")
    _change(early, "in_progress", "2018-06-01")
    _change(early, "implemented", "2020-03-01")
    late = make_recommendation("H-2", title="Changed once, later")
    _change(late, "not_started", "2019-01-01")
    never = make_recommendation("H-3", title="Never assessed")
    same_day = make_recommendation("H-4", title="Changed twice on one day")
    _change(same_day, "in_progress", "2018-06-01")
    _change(same_day, "partially_implemented", "2018-06-01")  # recorded last: this one holds
    return {"early": early, "late": late, "never": never, "same_day": same_day}


def as_of_rows(params: str) -> dict[str, tuple[str, datetime.date | None]]:
    filterset = RecommendationFilterSet(QueryDict(params), Recommendation.objects.all())
    assert filterset.is_valid(), filterset.errors
    return {
        row["code"]: (row[STATUS_AS_OF], row[STATUS_DATE_AS_OF])
        for row in filterset.qs.values("code", STATUS_AS_OF, STATUS_DATE_AS_OF)
    }


def test_as_of_reads_each_items_status_on_that_date(history):
    d = datetime.date.fromisoformat
    assert as_of_rows("as_of=2018-05-31") == {
        "H-1": ("not_assessed", None),
        "H-2": ("not_assessed", None),
        "H-3": ("not_assessed", None),
        "H-4": ("not_assessed", None),
    }
    # The effective date itself counts; of two changes on one day, the later recorded holds.
    assert as_of_rows("as_of=2018-06-01") == {
        "H-1": ("in_progress", d("2018-06-01")),
        "H-2": ("not_assessed", None),
        "H-3": ("not_assessed", None),
        "H-4": ("partially_implemented", d("2018-06-01")),
    }
    assert as_of_rows("as_of=2019-06-01") == {
        "H-1": ("in_progress", d("2018-06-01")),
        "H-2": ("not_started", d("2019-01-01")),
        "H-3": ("not_assessed", None),
        "H-4": ("partially_implemented", d("2018-06-01")),
    }


def test_as_of_today_agrees_with_the_current_status(history):
    today = timezone.localdate().isoformat()
    current = {item.code: (item.status, item.status_date) for item in Recommendation.objects.all()}
    assert as_of_rows(f"as_of={today}") == current
    assert current["H-1"][0] == "implemented"


def test_as_of_selects_every_item_and_changes_no_order(history):
    assert codes("as_of=2018-05-31") == codes("") == ["H-1", "H-2", "H-3", "H-4"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("status=implemented", ["H-1"]),  # today
        ("status=implemented&as_of=2019-06-01", []),
        ("status=in_progress&as_of=2019-06-01", ["H-1"]),
        ("status=in_progress&as_of=2018-05-31", []),
        ("status=not_started&as_of=2019-06-01", ["H-2"]),
        ("status=not_started&as_of=2018-12-31", []),
        ("status=not_assessed&as_of=2018-06-01", ["H-2", "H-3"]),
        ("status=not_assessed&as_of=2018-05-31", ["H-1", "H-2", "H-3", "H-4"]),
        ("status=in_progress&status=not_started&as_of=2019-06-01", ["H-1", "H-2"]),
        ("status=partially_implemented&as_of=2018-06-01", ["H-4"]),
    ],
)
def test_status_filters_on_the_status_as_of_the_date_when_one_is_given(history, params, expected):
    assert codes(params) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # today: H-1 implemented, H-2 not_started, H-3 not_assessed, H-4 partially_implemented
        ("ordering=status", ["H-1", "H-3", "H-2", "H-4"]),
        ("ordering=-status", ["H-4", "H-2", "H-3", "H-1"]),
        # as of 2018-06-01: H-1 in_progress, H-2 and H-3 not_assessed, H-4 partially_implemented
        ("ordering=-status&as_of=2018-06-01", ["H-4", "H-3", "H-2", "H-1"]),
        ("ordering=status&as_of=2018-06-01", ["H-1", "H-2", "H-3", "H-4"]),
        # as of 2018-05-31 all are not_assessed: then by code
        ("ordering=-status&as_of=2018-05-31", ["H-4", "H-3", "H-2", "H-1"]),
    ],
)
def test_ordering_by_status_uses_the_status_as_of_the_date(history, params, expected):
    assert codes(params) == expected


def test_ordering_by_status_date_uses_the_date_of_the_status_then_in_effect(history):
    dated = [code for code in codes("ordering=status_date&as_of=2019-06-01") if code != "H-3"]
    assert dated == ["H-1", "H-4", "H-2"]  # 2018-06-01, 2018-06-01, 2019-01-01
    today = [code for code in codes("ordering=status_date") if code != "H-3"]
    assert today == ["H-4", "H-2", "H-1"]  # 2018-06-01, 2019-01-01, 2020-03-01


def test_as_of_is_one_query_whatever_the_number_of_items(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert len(as_of_rows("as_of=2019-06-01&status=in_progress&ordering=status_date")) == 1
    with django_assert_num_queries(1):
        assert len(as_of_rows("as_of=2019-06-01")) == 4


def test_without_as_of_the_query_never_reads_the_status_log(history):
    filterset = RecommendationFilterSet(QueryDict("status=in_progress&ordering=status"), Recommendation.objects.all())
    sql = str(filterset.qs.query)
    assert STATUS_AS_OF not in filterset.qs.query.annotations
    assert "statuschange" not in sql
    # A status (or level) filter is an IN on the item's own column: no join, so no DISTINCT.
    assert "DISTINCT" not in sql
    assert "DISTINCT" not in str(RecommendationFilterSet(QueryDict("level=global")).qs.query)


def test_the_as_of_subquery_reads_the_status_periods_by_item_and_start(history):
    sql = str(RecommendationFilterSet(QueryDict("as_of=2019-06-01")).qs.query)
    assert sql.count("recommendations_statusperiod") == 2  # the status and its date
    assert "recommendations_statuschange" not in sql  # not a search of the log
    assert '"valid_from" <=' in sql and '"recommendation_id" =' in sql


def test_an_empty_as_of_means_today(history):
    filterset = RecommendationFilterSet(QueryDict("as_of=&status=implemented"), Recommendation.objects.all())
    assert filterset.is_valid(), filterset.errors
    assert filterset.as_of_date is None
    assert [r.code for r in filterset.qs] == ["H-1"]


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2018-02-30", "2018-6-1", "20180601", "2018-06-01T00:00:00Z", "01/06/2018", "2018-13-01", "-1"],
)
def test_a_bad_as_of_date_is_an_error_naming_the_parameter(history, value):
    filterset = RecommendationFilterSet(QueryDict(urlencode({"as_of": value})), Recommendation.objects.all())
    assert not filterset.is_valid()
    assert filterset.errors["as_of"] == [ERROR_AS_OF_FORMAT]


def test_a_future_as_of_date_is_refused_and_today_is_accepted(history):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    filterset = RecommendationFilterSet(QueryDict(f"as_of={tomorrow}"), Recommendation.objects.all())
    assert not filterset.is_valid()
    assert filterset.errors["as_of"] == [ERROR_AS_OF_FUTURE]
    assert RecommendationFilterSet(QueryDict(f"as_of={timezone.localdate().isoformat()}")).is_valid()


def test_the_in_memory_rule_for_one_item_agrees_with_the_query(history):
    """`status_in_effect` (item pages, API detail) and `with_status_on` (lists) give the same answer."""
    for day in ["2018-05-31", "2018-06-01", "2018-12-31", "2019-01-01", "2020-02-29", "2020-03-01"]:
        as_of = datetime.date.fromisoformat(day)
        in_sql = as_of_rows(f"as_of={day}")
        for item in Recommendation.objects.prefetch_related("status_changes"):
            assert status_in_effect(item.status_changes.all(), as_of) == in_sql[item.code], (item.code, day)


def test_the_seeded_statuses_took_effect_on_1_june_2018(seeded):
    assert {status for status, _ in as_of_rows("as_of=2018-05-31").values()} == {"not_assessed"}
    on_the_day = as_of_rows("as_of=2018-06-01")
    assert on_the_day["BM18-1"] == ("in_progress", datetime.date(2018, 6, 1))
    assert "BM18-1" in codes("as_of=2018-06-01&status=in_progress")
    assert codes("as_of=2018-05-31&status=in_progress") == []


@pytest.fixture
def fuller_history(history, make_recommendation):
    """The four items and one whose assessment was withdrawn: back to not assessed from 2019-01-01."""
    withdrawn = make_recommendation("H-5", title="Assessed, then withdrawn")
    _change(withdrawn, "in_progress", "2018-06-01")
    _change(withdrawn, "not_assessed", "2019-01-01")
    return {**history, "withdrawn": withdrawn}


AS_OF_DAYS = ["2018-05-31", "2018-06-01", "2018-12-31", "2019-01-01", "2020-03-01"]
STATUS_SETS = [
    ["not_assessed"],
    ["in_progress"],
    ["in_progress", "not_started"],
    ["not_assessed", "in_progress"],
    ["implemented", "partially_implemented", "not_assessed"],
]


@pytest.mark.parametrize("day", AS_OF_DAYS)
def test_the_status_filter_with_as_of_keeps_exactly_the_items_whose_status_then_matches(fuller_history, day):
    """The filter reads the log's changes in effect; the rows show the per-item subquery: they must agree."""
    statuses = as_of_rows(f"as_of={day}")
    assert statuses["H-5"][0] == ("in_progress" if day < "2019-01-01" and day >= "2018-06-01" else "not_assessed")
    for chosen in STATUS_SETS:
        query = urlencode({"as_of": day, "status": chosen}, doseq=True)
        expected = sorted(code for code, (status, _) in statuses.items() if status in chosen)
        assert sorted(codes(query)) == expected, (day, chosen)


@pytest.mark.parametrize("day", AS_OF_DAYS)
def test_counts_as_of_a_date_agree_with_each_items_status_then(fuller_history, day, theme, other_theme):
    fuller_history["early"].themes.set([theme])
    fuller_history["withdrawn"].themes.set([theme, other_theme])
    as_of = datetime.date.fromisoformat(day)
    statuses = as_of_rows(f"as_of={day}")

    def expected(codes_in: set[str]) -> dict[str, int]:
        counted = dict.fromkeys(Status.values, 0)
        for code in codes_in:
            counted[statuses[code][0]] += 1
        return counted

    def shown(progress) -> dict[str, int]:
        return {c.status: c.count for c in progress.counts}

    assert shown(selectors.progress_of(Recommendation.objects.all(), as_of)) == expected(set(statuses))
    only_study = Recommendation.objects.filter(code__in=["H-1", "H-5"])
    assert shown(selectors.progress_of(only_study, as_of)) == expected({"H-1", "H-5"})
    by_theme = {row.slug: shown(row.progress) for row in selectors.status_by_theme(as_of) if row.slug}
    assert by_theme == {"dialogue": expected({"H-1", "H-5"}), "navies": expected({"H-5"})}
    without = [row for row in selectors.status_by_theme(as_of) if not row.slug]
    assert [shown(row.progress) for row in without] == [expected({"H-2", "H-3", "H-4"})]
    by_source = {source.slug: shown(progress) for source, progress in selectors.sources_with_progress(as_of)}
    assert by_source == {"test-study": expected(set(statuses))}
    facets = selectors.facet_counts(RecommendationFilterSet(QueryDict(f"as_of={day}&theme=dialogue")))
    status_facet = next(f for f in facets if f.name == "status")
    assert {o.value: o.count for o in status_facet.options} == expected({"H-1", "H-5"})
