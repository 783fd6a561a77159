"""Derived read structures agree with the record, and `verify_tracker` says so, or names what differs."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recommendations.derived import differences, rebuild_status_periods
from recommendations.models import Recommendation, StatusPeriod
from recommendations.services import evidence_create, recommendation_change_status, recommendation_update

pytestmark = pytest.mark.django_db


def _verify() -> str:
    out = StringIO()
    call_command("verify_tracker", stdout=out)
    return out.getvalue()


def test_the_seed_and_an_analysts_writes_leave_everything_in_step(seeded, analyst):
    item = Recommendation.objects.get(code="BM18-2")
    evidence = evidence_create(recommendation=item, url="https://example.org/gsomia", title="Talks", added_by=analyst)
    recommendation_change_status(
        recommendation=item, status="in_progress", note="Talks launched.", recorded_by=analyst, evidence=evidence
    )
    recommendation_update(recommendation=item, data={"title": "Conclude the GSOMIA"}, edited_by=analyst)
    assert "Every derived structure agrees with the record." in _verify()


def test_a_period_changed_behind_the_services_back_is_reported(seeded):
    StatusPeriod.objects.filter(recommendation__code="BM18-1").update(status="implemented")
    with pytest.raises(CommandError, match="disagree with the record"):
        _verify()
    assert "status periods missing or wrong" in differences()


def test_a_status_written_behind_the_services_back_is_reported(seeded):
    Recommendation.objects.filter(code="JN97-A").update(status="not_started")
    assert "items whose status or status date is not their last change's" in differences()


def test_a_version_lowered_behind_the_services_back_is_reported(seeded):
    Recommendation.objects.filter(code="JN97-A").update(version=1)
    found = differences()
    assert [row[0] for row in found["items whose version is below the writes on record"]] == ["JN97-A"]


def test_rebuilding_the_periods_restores_what_the_log_implies(recommendation):
    for status, day in (("in_progress", "2019-01-01"), ("implemented", "2021-05-05")):
        recommendation_change_status(
            recommendation=recommendation, status=status, note=status, effective_date=datetime.date.fromisoformat(day)
        )
    kept = list(StatusPeriod.objects.order_by("id").values_list("change_id", "status", "valid_from", "valid_until"))
    StatusPeriod.objects.all().delete()
    assert rebuild_status_periods() == 2
    rebuilt = list(StatusPeriod.objects.order_by("id").values_list("change_id", "status", "valid_from", "valid_until"))
    assert rebuilt == kept and differences() == {}
