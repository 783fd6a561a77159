"""The analysts' admin: status changes through the form and the bulk action, roles, stale edits."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from recommendations.forms import ERROR_EVIDENCE_TITLE_REQUIRED
from recommendations.models import Evidence, Recommendation, StatusChange
from recommendations.roles import ANALYST_GROUP, REVIEWER_GROUP, ROLE_PERMISSIONS
from recommendations.services import ERROR_NOTE_REQUIRED, recommendation_change_status

pytestmark = pytest.mark.django_db


def change_status_url(item):
    return reverse("admin:recommendations_recommendation_change_status", args=[item.pk])


def change_url(item):
    return reverse("admin:recommendations_recommendation_change", args=[item.pk])


def test_groups_have_exactly_the_role_permissions():
    for name, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        assert set(group.permissions.values_list("codename", flat=True)) == set(codenames)
    reviewer_perms = set(Group.objects.get(name=REVIEWER_GROUP).permissions.values_list("codename", flat=True))
    assert all(codename.startswith("view_") for codename in reviewer_perms)
    assert Permission.objects.get(codename="add_statuschange").group_set.filter(name=ANALYST_GROUP).exists()


def test_changelist_shows_columns_filters_and_searches(
    client, analyst, recommendation, make_recommendation, other_theme, seeded
):
    make_recommendation("T-2", title="Ship visits", text="Navies should exchange visits.", themes=[other_theme])
    client.force_login(analyst)
    url = reverse("admin:recommendations_recommendation_changelist")
    page = client.get(url).content.decode()
    for column in ("Code", "Title", "Status", "Status date", "Owners"):
        assert column in page
    for facet in ("By status", "By themes", "By source", "By owners", "By level", "By evidence", "By freshness"):
        assert facet in page
    assert "Global Affairs Canada" in page  # owners column
    found = client.get(url, {"q": "navies"}).content.decode()
    assert "T-2" in found and "T-1</a>" not in found


def test_change_page_shows_the_quote_read_only_and_the_log(client, analyst, recommendation):
    recommendation_change_status(recommendation=recommendation, status="in_progress", note="Talks have begun.")
    client.force_login(analyst)
    page = client.get(change_url(recommendation)).content.decode()
    assert "<blockquote>Ministers should meet every year.</blockquote>" in page
    assert 'name="text"' not in page  # the quoted text is not an input
    assert "Talks have begun." in page
    assert "Record a status change" in page


def test_analyst_records_a_status_change_with_evidence_through_the_form(client, analyst, recommendation):
    client.force_login(analyst)
    form_page = client.get(change_status_url(recommendation))
    assert form_page.status_code == 200
    response = client.post(
        change_status_url(recommendation),
        {
            "status": "in_progress",
            "note": "Negotiations opened.",
            "effective_date": "2024-05-01",
            "evidence_url": "https://example.org/news",
            "evidence_title": "Joint statement",
            "evidence_publisher": "Global Affairs Canada",
            "loaded_version": recommendation.version,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == change_url(recommendation)
    assert "status changed from Not assessed to In progress, effective 2024-05-01" in response.content.decode()
    change = StatusChange.objects.get(recommendation=recommendation)
    assert (change.to_status, change.note, change.recorded_by) == ("in_progress", "Negotiations opened.", analyst)
    assert change.evidence.url == "https://example.org/news" and change.evidence.added_by == analyst
    assert "Negotiations opened." in response.content.decode()  # the log on the change page shows it


def test_form_errors_name_the_field_and_record_nothing(client, analyst, recommendation):
    client.force_login(analyst)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(
        change_status_url(recommendation),
        {"status": "implemented", "note": "", "effective_date": tomorrow, "evidence_url": "https://example.org/"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["note"] == [ERROR_NOTE_REQUIRED]
    assert "future" in errors["effective_date"][0]
    assert errors["evidence_title"] == [ERROR_EVIDENCE_TITLE_REQUIRED]
    assert not StatusChange.objects.exists() and not Evidence.objects.exists()


def test_stale_form_is_refused_and_keeps_the_first_change(client, analyst, other_analyst, recommendation):
    loaded = recommendation.version
    recommendation_change_status(
        recommendation=recommendation, status="not_started", note="First", recorded_by=other_analyst
    )
    client.force_login(analyst)
    response = client.post(
        change_status_url(recommendation),
        {"status": "implemented", "note": "Second", "effective_date": timezone.localdate(), "loaded_version": loaded},
    )
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert list(recommendation.status_changes.values_list("note", flat=True)) == ["First"]


def test_stale_edit_of_other_fields_is_refused_and_keeps_the_input(client, analyst, recommendation):
    client.force_login(analyst)
    page = client.get(change_url(recommendation))
    data = _change_form_data(page)
    data["title"] = "Analyst edit"
    # Someone else records a change in between.
    recommendation_change_status(recommendation=recommendation, status="not_started", note="Meanwhile")
    response = client.post(change_url(recommendation), data)
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert 'value="Analyst edit"' in response.content.decode()  # what the analyst typed is still there
    assert Recommendation.objects.get(pk=recommendation.pk).title == "Item T-1"


def test_analyst_edits_other_fields_and_adds_evidence(client, analyst, recommendation, other_theme):
    client.force_login(analyst)
    page = client.get(change_url(recommendation))
    data = _change_form_data(page)
    data["title"] = "Ministers meet yearly"
    data["themes"] = [other_theme.pk]
    prefix = _add_evidence_prefix(page)
    data.update({f"{prefix}-0-url": "https://example.org/meeting", f"{prefix}-0-title": "Meeting readout"})
    response = client.post(change_url(recommendation), data)
    assert response.status_code == 302
    item = Recommendation.objects.get(pk=recommendation.pk)
    assert item.title == "Ministers meet yearly" and list(item.themes.all()) == [other_theme]
    evidence = item.evidence.get()
    assert (evidence.url, evidence.added_by) == ("https://example.org/meeting", analyst)
    assert item.version == 3  # one for the fields, one for the evidence


def test_reviewer_can_view_and_cannot_change(client, reviewer, recommendation):
    client.force_login(reviewer)
    assert client.get(reverse("admin:recommendations_recommendation_changelist")).status_code == 200
    assert client.get(change_url(recommendation)).status_code == 200
    assert client.get(change_status_url(recommendation)).status_code == 403
    response = client.post(
        change_status_url(recommendation),
        {"status": "implemented", "note": "Reviewer tries", "effective_date": "2024-01-01"},
    )
    assert response.status_code == 403
    assert client.post(change_url(recommendation), {"title": "Reviewer edit"}).status_code == 403
    assert not StatusChange.objects.exists()
    assert Recommendation.objects.get(pk=recommendation.pk).title == "Item T-1"


def test_bulk_action_records_one_log_entry_per_item(client, analyst, recommendation, make_recommendation):
    second = make_recommendation("T-2")
    client.force_login(analyst)
    url = reverse("admin:recommendations_recommendation_changelist")
    selected = [recommendation.pk, second.pk]
    confirm = client.post(url, {"action": "record_status_change", "_selected_action": selected})
    assert confirm.status_code == 200 and "Record a status change for 2 items" in confirm.content.decode()
    done = client.post(
        url,
        {
            "action": "record_status_change",
            "_selected_action": selected,
            "apply": "1",
            "status": "not_started",
            "note": "Reviewed against the 2018 brief.",
            "effective_date": "2024-02-01",
        },
        follow=True,
    )
    assert "Recorded “Not started” for 2 items: one log entry each." in done.content.decode()
    for item in (recommendation, second):
        change = StatusChange.objects.get(recommendation=item)
        assert (change.to_status, change.recorded_by, change.effective_date) == (
            "not_started",
            analyst,
            datetime.date(2024, 2, 1),
        )


def test_bulk_action_is_all_or_nothing(client, analyst, recommendation, make_recommendation):
    later = make_recommendation("T-2")
    recommendation_change_status(
        recommendation=later, status="in_progress", note="x", effective_date=datetime.date(2024, 6, 1)
    )
    client.force_login(analyst)
    response = client.post(
        reverse("admin:recommendations_recommendation_changelist"),
        {
            "action": "record_status_change",
            "_selected_action": [recommendation.pk, later.pk],
            "apply": "1",
            "status": "not_started",
            "note": "Back-dated",
            "effective_date": "2024-01-01",
        },
    )
    assert response.status_code == 200
    assert "T-2: The effective date cannot be before the current status date (2024-06-01)" in response.content.decode()
    assert not StatusChange.objects.filter(recommendation=recommendation).exists()


def test_status_log_admin_is_read_only(client, analyst, recommendation):
    change = recommendation_change_status(recommendation=recommendation, status="in_progress", note="Talks")
    client.force_login(analyst)
    url = reverse("admin:recommendations_statuschange_change", args=[change.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="note"' not in page.content.decode()
    assert client.post(url, {"note": "Rewritten"}).status_code == 403
    assert client.get(reverse("admin:recommendations_statuschange_delete", args=[change.pk])).status_code == 403


def _add_evidence_prefix(page):
    for formset in page.context["inline_admin_formsets"]:
        if formset.formset.model is Evidence and formset.opts.verbose_name_plural == "add evidence":
            return formset.formset.prefix
    raise AssertionError("no add-evidence inline on the page")


def _change_form_data(page):
    """The change form as the browser would submit it untouched: fields and every inline's management form."""
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v is not None}
    for formset in page.context["inline_admin_formsets"]:
        fs = formset.formset
        data[f"{fs.prefix}-TOTAL_FORMS"] = fs.management_form["TOTAL_FORMS"].value()
        data[f"{fs.prefix}-INITIAL_FORMS"] = fs.management_form["INITIAL_FORMS"].value()
        for inline_form in fs.initial_forms:
            data[f"{inline_form.prefix}-id"] = inline_form.instance.pk
            if "recommendation" in inline_form.fields or fs.fk.name in inline_form.fields:
                data[f"{inline_form.prefix}-{fs.fk.name}"] = page.context["original"].pk
    return data


def test_the_change_form_offers_the_editable_fields_the_service_names():
    from recommendations.forms import RecommendationAdminForm
    from recommendations.services import EDITABLE_FIELDS

    form_fields = set(RecommendationAdminForm.Meta.fields)
    assert form_fields == EDITABLE_FIELDS - {"links"}  # links have their own inline on the same page
