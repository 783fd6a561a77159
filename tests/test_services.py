"""The status-change service: the one way a status changes, with each of its refusals."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from recommendations.models import Evidence, Recommendation, StatusChange
from recommendations.services import (
    ERROR_EFFECTIVE_DATE_BEFORE_CURRENT,
    ERROR_EFFECTIVE_DATE_FUTURE,
    ERROR_EVIDENCE_OTHER_ITEM,
    ERROR_FIELD_NOT_EDITABLE,
    ERROR_NOTE_REQUIRED,
    StaleVersionError,
    evidence_create,
    evidence_retract,
    recommendation_change_status,
    recommendation_update,
)

pytestmark = pytest.mark.django_db

JUNE_2018 = datetime.date(2018, 6, 1)


def test_a_valid_change_writes_the_log_updates_the_item_and_bumps_the_version(recommendation, analyst):
    evidence = evidence_create(recommendation=recommendation, url="https://example.org/acsa", title="ACSA signed")
    version_before = Recommendation.objects.get(pk=recommendation.pk).version

    change = recommendation_change_status(
        recommendation=recommendation,
        status="in_progress",
        note="  Signed in April 2018; awaiting ratification.  ",
        effective_date=JUNE_2018,
        recorded_by=analyst,
        evidence=evidence,
        expected_version=version_before,
    )

    item = Recommendation.objects.get(pk=recommendation.pk)
    assert (item.status, item.status_date, item.version) == ("in_progress", JUNE_2018, version_before + 1)
    assert (change.from_status, change.to_status) == ("not_assessed", "in_progress")
    assert change.note == "Signed in April 2018; awaiting ratification."
    assert change.recorded_by == analyst and change.evidence == evidence
    # The caller's instance reflects the new state too, so it can be used for the next write.
    assert recommendation.version == item.version and recommendation.status == "in_progress"


def test_effective_date_defaults_to_today(recommendation):
    change = recommendation_change_status(recommendation=recommendation, status="not_started", note="Checked.")
    assert change.effective_date == timezone.localdate()


def test_successive_changes_chain_from_and_to(recommendation):
    recommendation_change_status(
        recommendation=recommendation, status="in_progress", note="a", effective_date=JUNE_2018
    )
    second = recommendation_change_status(recommendation=recommendation, status="implemented", note="b")
    assert second.from_status == "in_progress"
    assert list(recommendation.status_changes.values_list("to_status", flat=True)) == ["in_progress", "implemented"]


@pytest.mark.parametrize("note", ["", "   ", None])
def test_refuses_a_change_without_a_note(recommendation, note):
    with pytest.raises(ValidationError) as excinfo:
        recommendation_change_status(recommendation=recommendation, status="in_progress", note=note)
    assert excinfo.value.message_dict == {"note": [ERROR_NOTE_REQUIRED]}
    assert not StatusChange.objects.exists()


def test_refuses_a_status_outside_the_vocabulary(recommendation):
    with pytest.raises(ValidationError) as excinfo:
        recommendation_change_status(recommendation=recommendation, status="done", note="Finished")
    assert "not_assessed, not_started, in_progress" in excinfo.value.message_dict["status"][0]
    assert Recommendation.objects.get(pk=recommendation.pk).status == "not_assessed"


def test_refuses_an_effective_date_in_the_future(recommendation):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        recommendation_change_status(
            recommendation=recommendation, status="in_progress", note="x", effective_date=tomorrow
        )
    assert excinfo.value.message_dict == {"effective_date": [ERROR_EFFECTIVE_DATE_FUTURE]}


def test_refuses_an_effective_date_before_the_current_status_date(recommendation):
    recommendation_change_status(
        recommendation=recommendation, status="in_progress", note="x", effective_date=JUNE_2018
    )
    with pytest.raises(ValidationError) as excinfo:
        recommendation_change_status(
            recommendation=recommendation, status="implemented", note="y", effective_date=datetime.date(2017, 1, 1)
        )
    assert excinfo.value.message_dict["effective_date"] == [
        ERROR_EFFECTIVE_DATE_BEFORE_CURRENT.format(current="2018-06-01")
    ]
    assert recommendation.status_changes.count() == 1


def test_refuses_evidence_of_another_item(recommendation, make_recommendation):
    other = make_recommendation("T-2")
    foreign = evidence_create(recommendation=other, url="https://example.org/", title="Other")
    with pytest.raises(ValidationError) as excinfo:
        recommendation_change_status(recommendation=recommendation, status="in_progress", note="x", evidence=foreign)
    assert excinfo.value.message_dict["evidence"] == [ERROR_EVIDENCE_OTHER_ITEM.format(code="T-1")]


def test_refuses_a_stale_version_and_writes_nothing(recommendation):
    loaded = recommendation.version
    recommendation_change_status(recommendation=recommendation, status="in_progress", note="First analyst")
    with pytest.raises(StaleVersionError) as excinfo:
        recommendation_change_status(
            recommendation=recommendation, status="not_pursued", note="Second analyst", expected_version=loaded
        )
    assert "changed by someone else" in excinfo.value.message_dict["version"][0]
    assert (excinfo.value.expected, excinfo.value.actual) == (loaded, loaded + 1)
    item = Recommendation.objects.get(pk=recommendation.pk)
    assert item.status == "in_progress" and item.status_changes.count() == 1


def test_a_failure_inside_the_transaction_leaves_nothing_behind(recommendation, monkeypatch):
    """If the item cannot be saved after the log entry is written, the log entry is rolled back too."""

    def broken_save(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Recommendation, "save", broken_save)
    with pytest.raises(RuntimeError):
        recommendation_change_status(recommendation=recommendation, status="implemented", note="Done")
    monkeypatch.undo()
    assert not StatusChange.objects.exists()
    assert Recommendation.objects.get(pk=recommendation.pk).status == "not_assessed"


def test_evidence_create_validates_and_bumps_the_version(recommendation, analyst):
    with pytest.raises(ValidationError) as excinfo:
        evidence_create(recommendation=recommendation, url="javascript:alert(1)", title="Bad")
    assert "url" in excinfo.value.message_dict
    assert not Evidence.objects.exists()
    evidence = evidence_create(
        recommendation=recommendation, url="https://example.org/x", title="A page", added_by=analyst
    )
    assert evidence.added_by == analyst
    assert Recommendation.objects.get(pk=recommendation.pk).version == 2


def test_update_changes_editable_fields_only(recommendation, other_theme):
    recommendation_update(
        recommendation=recommendation, data={"title": "New title", "themes": [other_theme]}, expected_version=1
    )
    item = Recommendation.objects.get(pk=recommendation.pk)
    assert item.title == "New title" and list(item.themes.all()) == [other_theme] and item.version == 2

    with pytest.raises(ValidationError) as excinfo:
        recommendation_update(recommendation=item, data={"text": "Paraphrased", "status": "implemented"})
    assert excinfo.value.message_dict == {"status": [ERROR_FIELD_NOT_EDITABLE], "text": [ERROR_FIELD_NOT_EDITABLE]}


def test_update_without_a_difference_keeps_the_version(recommendation):
    recommendation_update(recommendation=recommendation, data={"title": recommendation.title}, expected_version=1)
    assert Recommendation.objects.get(pk=recommendation.pk).version == 1


def test_update_refuses_a_stale_version(recommendation):
    recommendation_update(recommendation=recommendation, data={"title": "One"}, expected_version=1)
    with pytest.raises(StaleVersionError):
        recommendation_update(recommendation=recommendation, data={"title": "Two"}, expected_version=1)
    assert Recommendation.objects.get(pk=recommendation.pk).title == "One"


@pytest.mark.django_db(transaction=True)
def test_two_analysts_at_once_one_wins_and_the_other_is_told(recommendation, analyst, other_analyst):
    """Two concurrent writers with the same loaded version: exactly one change is recorded."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks between concurrent connections need PostgreSQL")
    loaded = recommendation.version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(user, status):
        try:
            barrier.wait(timeout=10)
            item = Recommendation.objects.get(pk=recommendation.pk)
            recommendation_change_status(
                recommendation=item,
                status=status,
                note=f"{user} says {status}",
                recorded_by=user,
                expected_version=loaded,
            )
            outcomes.append("recorded")
        except StaleVersionError:
            outcomes.append("stale")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(analyst, "in_progress")),
        threading.Thread(target=write, args=(other_analyst, "not_pursued")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["recorded", "stale"]
    item = Recommendation.objects.get(pk=recommendation.pk)
    assert item.status_changes.count() == 1 and item.version == loaded + 1


def test_a_change_with_new_evidence_is_one_write_and_one_new_version(recommendation, analyst):
    change = recommendation_change_status(
        recommendation=recommendation,
        status="in_progress",
        note="Talks opened.",
        recorded_by=analyst,
        new_evidence={"url": "https://example.org/talks", "title": "Talks open"},
        expected_version=1,
    )
    assert change.evidence.url == "https://example.org/talks" and change.evidence.added_by == analyst
    assert Recommendation.objects.get(pk=recommendation.pk).version == 2


def test_bad_new_evidence_refuses_the_whole_change_naming_the_field(recommendation):
    with pytest.raises(ValidationError) as refused:
        recommendation_change_status(
            recommendation=recommendation,
            status="in_progress",
            note="Talks opened.",
            new_evidence={"url": "javascript:alert(1)", "title": "Bad"},
        )
    assert "new_evidence.url" in refused.value.message_dict
    assert not recommendation.evidence.exists() and not recommendation.status_changes.exists()
    assert Recommendation.objects.get(pk=recommendation.pk).version == 1


def test_every_write_takes_the_version_its_caller_read(recommendation):
    evidence = evidence_create(
        recommendation=recommendation, url="https://example.org/a", title="A", expected_version=1
    )
    for write in (
        lambda: evidence_create(
            recommendation=recommendation, url="https://example.org/b", title="B", expected_version=1
        ),
        lambda: evidence_retract(evidence=evidence, reason="Wrong page.", expected_version=1),
        lambda: recommendation_change_status(
            recommendation=recommendation, status="in_progress", note="x", expected_version=1
        ),
        lambda: recommendation_update(recommendation=recommendation, data={"title": "New"}, expected_version=1),
    ):
        with pytest.raises(StaleVersionError):
            write()
    assert Recommendation.objects.get(pk=recommendation.pk).version == 2
