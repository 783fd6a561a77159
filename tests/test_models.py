"""Models and their constraints: what the database itself refuses."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from recommendations import derived
from recommendations.models import (
    ERROR_EVIDENCE_NEEDS_TARGET,
    ERROR_EVIDENCE_URL_SCHEME,
    ERROR_STATUS_CHANGE_APPEND_ONLY,
    Evidence,
    Recommendation,
    RecommendationLink,
    StatusChange,
    StatusPeriod,
)
from recommendations.services import recommendation_change_status
from recommendations.timeline import is_overdue, overdue_q, periods_in_effect
from recommendations.vocabulary import STATUS_DEFINITIONS, Status

pytestmark = pytest.mark.django_db


def test_the_seven_status_codes_each_have_a_definition():
    assert Status.values == [
        "not_assessed",
        "not_started",
        "in_progress",
        "partially_implemented",
        "implemented",
        "superseded",
        "not_pursued",
    ]
    assert set(STATUS_DEFINITIONS) == set(Status.values)
    assert all(len(text) > 20 for text in STATUS_DEFINITIONS.values())


def test_new_item_is_not_assessed_at_version_one(recommendation):
    assert recommendation.status == Status.NOT_ASSESSED
    assert recommendation.version == 1
    assert recommendation.status_definition == STATUS_DEFINITIONS[Status.NOT_ASSESSED]


def test_code_is_unique(recommendation, make_recommendation):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_recommendation(recommendation.code)


def test_code_format_is_validated(make_recommendation):
    item = make_recommendation("T-9")
    item.code = "t 9/lower"
    with pytest.raises(ValidationError) as excinfo:
        item.full_clean()
    assert "code" in excinfo.value.message_dict


def test_database_refuses_a_status_outside_the_vocabulary(recommendation):
    with pytest.raises(IntegrityError), transaction.atomic():
        Recommendation.objects.filter(pk=recommendation.pk).update(status="done")


def test_database_refuses_an_unknown_level(recommendation):
    with pytest.raises(IntegrityError), transaction.atomic():
        Recommendation.objects.filter(pk=recommendation.pk).update(level="municipal")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/file", "file:///etc/passwd"])
def test_evidence_url_must_be_http_or_https(recommendation, url):
    evidence = Evidence(recommendation=recommendation, url=url, title="A page")
    with pytest.raises(ValidationError) as excinfo:
        evidence.full_clean()
    assert ERROR_EVIDENCE_URL_SCHEME in excinfo.value.message_dict["url"]
    # The database refuses it too, even past the validator.
    with pytest.raises(IntegrityError), transaction.atomic():
        evidence.save()


def test_evidence_needs_a_url_or_a_source(recommendation, source):
    evidence = Evidence(recommendation=recommendation, title="Nothing to point at")
    with pytest.raises(ValidationError) as excinfo:
        evidence.full_clean()
    assert ERROR_EVIDENCE_NEEDS_TARGET in str(excinfo.value)
    evidence.source = source
    evidence.full_clean()
    evidence.save()
    assert evidence.link == source.get_absolute_url()


def test_status_change_refuses_update_and_delete(recommendation):
    change = recommendation_change_status(recommendation=recommendation, status="in_progress", note="Talks began.")
    change.note = "Rewritten history"
    with pytest.raises(ValidationError, match="append-only"):
        change.save()
    with pytest.raises(ValidationError, match="append-only"):
        change.delete()
    with pytest.raises(ValidationError, match="append-only"):
        StatusChange.objects.filter(pk=change.pk).update(note="Rewritten")
    with pytest.raises(ValidationError, match="append-only"):
        StatusChange.objects.filter(pk=change.pk).delete()
    assert StatusChange.objects.get(pk=change.pk).note == "Talks began."
    assert ERROR_STATUS_CHANGE_APPEND_ONLY.startswith("Status changes are append-only")


def test_database_trigger_refuses_update_of_the_status_log(recommendation):
    change = recommendation_change_status(recommendation=recommendation, status="in_progress", note="Talks began.")
    table = StatusChange._meta.db_table
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET note = %s WHERE id = %s", ["Rewritten", change.pk])  # noqa: S608
    assert StatusChange.objects.get(pk=change.pk).note == "Talks began."


def test_an_item_with_history_cannot_be_deleted(recommendation):
    recommendation_change_status(recommendation=recommendation, status="in_progress", note="Talks began.")
    with pytest.raises(Exception, match="protected"), transaction.atomic():
        recommendation.delete()
    assert Recommendation.objects.filter(pk=recommendation.pk).exists()


def test_link_cannot_point_to_itself(recommendation):
    with pytest.raises(IntegrityError), transaction.atomic():
        RecommendationLink.objects.create(
            from_recommendation=recommendation, to_recommendation=recommendation, kind="related"
        )


def test_overdue_means_past_due_and_not_closed(make_recommendation):
    import datetime

    late = make_recommendation("T-2", due_date=datetime.date(1998, 3, 31))
    done = make_recommendation("T-3", due_date=datetime.date(1998, 3, 31), status="implemented")
    future = make_recommendation("T-4", due_date=datetime.date(2999, 1, 1))
    assert is_overdue(late.due_date, late.status) and not is_overdue(done.due_date, done.status)
    assert not is_overdue(future.due_date, future.status)
    assert not is_overdue(late.due_date, late.status, on=datetime.date(1998, 3, 31))  # due that day: not yet
    assert list(Recommendation.objects.filter(overdue_q()).values_list("code", flat=True)) == ["T-2"]


def test_status_periods_follow_the_log(recommendation):
    import datetime

    def periods():
        return list(StatusPeriod.objects.order_by("change_id").values_list("status", "valid_from", "valid_until"))

    day = datetime.date
    recommendation_change_status(
        recommendation=recommendation, status="in_progress", note="Talks", effective_date=day(2018, 6, 1)
    )
    recommendation_change_status(
        recommendation=recommendation, status="not_started", note="Oops", effective_date=day(2020, 1, 1)
    )
    recommendation_change_status(
        recommendation=recommendation, status="implemented", note="Signed", effective_date=day(2020, 1, 1)
    )
    assert periods() == [
        ("in_progress", day(2018, 6, 1), day(2020, 1, 1)),
        ("not_started", day(2020, 1, 1), day(2020, 1, 1)),  # superseded the same day: held no whole day
        ("implemented", day(2020, 1, 1), None),
    ]
    on = {
        d: dict(periods_in_effect(d).values_list("recommendation__code", "status"))
        for d in (day(2017, 1, 1), day(2019, 1, 1), day(2020, 1, 1))
    }
    assert on == {day(2017, 1, 1): {}, day(2019, 1, 1): {"T-1": "in_progress"}, day(2020, 1, 1): {"T-1": "implemented"}}
    assert derived.differences() == {}
