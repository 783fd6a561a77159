"""The analysts' admin: status changes through the form and the bulk action, roles, stale edits, refusals
that tell the truth and keep the work, reassessments, and the list at working size."""

import datetime
import re
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from recommendations import derived
from recommendations.admin import owner_abbreviation, source_abbreviation
from recommendations.forms import ERROR_EVIDENCE_TITLE_REQUIRED, ERROR_EVIDENCE_URL_INVALID
from recommendations.models import Evidence, Owner, Recommendation, StatusChange, StatusPeriod
from recommendations.roles import ANALYST_GROUP, REVIEWER_GROUP, ROLE_PERMISSIONS
from recommendations.services import ERROR_NOTE_REQUIRED, recommendation_change_status, recommendation_update

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
    assert '<blockquote class="tracker-quote" lang="en">Ministers should meet every year.</blockquote>' in page
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
    assert "Someone else changed T-1 since you opened this form" in response.content.decode()
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
    assert "Someone else changed T-1 since you opened it" in response.content.decode()
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
    refused = response.context["refusals"]
    assert [(item.code, reasons) for item, reasons, stale in refused] == [
        (
            "T-2",
            [
                (
                    "Effective date",
                    "The effective date cannot be before the current status date (2024-06-01); "
                    "the timeline is kept in order. Use 2024-06-01 or later.",
                )
            ],
        )
    ]
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
    # What the analyst loaded rides beside each editable field, as the browser sends it.
    data.update(
        {f"initial-{name}": form[name].value() for name in form.fields if form.fields[name].show_hidden_initial}
    )
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


# --- the list at working size ------------------------------------------------------------------


def _rows(page) -> list[str]:
    return re.findall(r'<input type="checkbox" name="_selected_action" value="(\d+)"', page)


def test_changelist_is_paginated_with_one_compact_line_per_item(client, analyst, seeded):
    client.force_login(analyst)
    url = reverse("admin:recommendations_recommendation_changelist")
    total = Recommendation.objects.count()
    first = client.get(url).content.decode()
    assert len(_rows(first)) == 25
    assert f"{total} recommendations" in first
    last_page = (total - 1) // 25
    last = client.get(url, {"p": last_page + 1}).content.decode()
    assert len(_rows(last)) == total - 25 * last_page
    # Owners abbreviated, each with its full name on hover; the source as items' codes cite it.
    assert '<abbr title="Global Affairs Canada">GAC</abbr>' in first
    assert '<abbr title="Job &amp; Nishihara 1997">JN 1997</abbr>' in first


def test_owners_are_abbreviated_to_three_and_a_count(client, analyst, make_recommendation):
    owners = [
        Owner.objects.create(slug=f"o{i}", name=name, country="canada", kind="ministry")
        for i, name in enumerate(
            [
                "Department of National Defence",
                "Ministry of Foreign Affairs of Japan (MOFA)",
                "CSCAP Japan (Japanese Member Committee of the Council)",
                "Prime Minister of Japan and His Cabinet (Kantei)",
                "Ministry of Defense (Japan)",
            ]
        )
    ]
    make_recommendation("T-5", owners=owners)
    client.force_login(analyst)
    page = client.get(reverse("admin:recommendations_recommendation_changelist")).content.decode()
    row = page[page.index("T-5</a>") :].split("</tr>")[0]
    assert re.findall(r"<abbr[^>]*>([^<]+)</abbr>", row)[:4] == ["CSCAP Japan", "DND", "MD", "+2"]


def test_abbreviations_read_as_analysts_expect():
    assert owner_abbreviation("Ministry of Foreign Affairs of Japan (MOFA)") == "MOFA"
    assert owner_abbreviation("Prime Minister of Japan and His Cabinet (Kantei)") == "Kantei"
    assert owner_abbreviation("Department of National Defence") == "DND"
    assert owner_abbreviation("CSCAP Canada (Canadian Member Committee of the Council)") == "CSCAP Canada"
    assert owner_abbreviation("Prime Minister's Office and Cabinet (Canada)") == "PMOC"

    class Doc:
        short_title = "Berkshire Miller 2018"

    assert source_abbreviation(Doc()) == "BM 2018"


# --- a reassessment: the same status again ---------------------------------------------------


def test_recording_the_same_status_is_a_reassessment_everywhere_it_is_shown(client, analyst, recommendation):
    recommendation_change_status(
        recommendation=recommendation,
        status="in_progress",
        note="Talks began.",
        effective_date=datetime.date(2020, 3, 1),
    )
    recommendation.refresh_from_db()
    client.force_login(analyst)
    response = client.post(
        change_status_url(recommendation),
        {
            "status": "in_progress",
            "note": "Reviewed: talks go on, nothing signed.",
            "effective_date": "2024-05-01",
            "loaded_version": recommendation.version,
        },
        follow=True,
    )
    html = response.content.decode()
    assert "T-1: still In progress, reviewed on 2024-05-01." in html
    assert "In progress to In progress" not in html
    assert "Still In progress, reviewed on 2024-05-01" in html  # the change page's status log
    entry = recommendation.status_changes.order_by("id").last()
    assert (entry.from_status, entry.to_status, entry.recorded_by) == ("in_progress", "in_progress", analyst)

    # The item's public timeline, the feeds and the API say the same.
    page = client.get(recommendation.get_absolute_url()).content.decode()
    assert "reviewed on 1 May 2024 (a reassessment)" in page  # the page writes dates as people read them
    assert "the date it was last reviewed and found unchanged" in page
    feed = ET.fromstring(client.get("/feeds/changes/").content)  # noqa: S314 - the tracker's own feed
    atom = "{http://www.w3.org/2005/Atom}"
    newest = feed.findall(f"{atom}entry")[0]
    assert newest.findtext(f"{atom}title").startswith("T-1: still In progress (reviewed)")
    assert newest.findtext(f"{atom}summary").startswith("Still In progress, reviewed on 2024-05-01.")
    history = client.get(f"/api/recommendations/{recommendation.code}/").json()["status_history"]
    assert [(h["kind"], h["summary"]) for h in history] == [
        ("change", "status changed from Not assessed to In progress, effective 2020-03-01"),
        ("reassessment", "still In progress, reviewed on 2024-05-01"),
    ]

    # The derived structures stay in step: the status date moves, a period with the same status opens.
    item = Recommendation.objects.get(pk=recommendation.pk)
    assert (item.status, item.status_date) == ("in_progress", datetime.date(2024, 5, 1))
    periods = list(StatusPeriod.objects.filter(recommendation=item).values_list("status", "valid_from", "valid_until"))
    assert periods == [
        ("in_progress", datetime.date(2020, 3, 1), datetime.date(2024, 5, 1)),
        ("in_progress", datetime.date(2024, 5, 1), None),
    ]
    assert derived.differences() == {}


def test_the_status_form_marks_the_current_status_and_says_what_choosing_it_again_does(client, analyst, recommendation):
    recommendation_change_status(recommendation=recommendation, status="not_started", note="Nothing yet.")
    client.force_login(analyst)
    html = client.get(change_status_url(recommendation)).content.decode()
    assert "Not started (current) —" in html
    assert "Choosing the current status again records a reassessment" in html


def test_bulk_reassessment_is_said_as_such(client, analyst, recommendation, make_recommendation):
    second = make_recommendation("T-2")
    recommendation_change_status(recommendation=second, status="not_started", note="Looked; nothing.")
    client.force_login(analyst)
    done = client.post(
        reverse("admin:recommendations_recommendation_changelist"),
        {
            "action": "record_status_change",
            "_selected_action": [recommendation.pk, second.pk],
            "apply": "1",
            "status": "not_started",
            "note": "Reviewed again.",
            "effective_date": timezone.localdate().isoformat(),
        },
        follow=True,
    )
    html = done.content.decode()
    assert "Recorded “Not started” for 2 items: one log entry each." in html
    assert "1 of them already held it, so recorded as a reassessment (still Not started, reviewed on" in html
    assert html.count("T-2") >= 1


# --- refusals that tell the truth and keep the work --------------------------------------------


def _status_post(item, version, **extra):
    data = {
        "status": "implemented",
        "note": "Signed and in force.",
        "effective_date": "2024-06-01",
        "loaded_version": version,
        "loaded_at": timezone.now().isoformat(),
    }
    data.update(extra)
    return data


def test_a_stale_status_change_shows_saved_and_entered_apart_and_goes_in_with_one_click(
    client, analyst, other_analyst, recommendation
):
    client.force_login(analyst)
    opened = _status_post(recommendation, recommendation.version)
    # Someone else records a change after the analyst opened the form.
    recommendation_change_status(
        recommendation=recommendation,
        status="in_progress",
        note="Talks opened.",
        recorded_by=other_analyst,
        effective_date=datetime.date(2024, 5, 1),
    )
    now = Recommendation.objects.get(pk=recommendation.pk).version
    refused = client.post(change_status_url(recommendation), opened)
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "Nothing was recorded" in html
    assert f"you saw version {opened['loaded_version']}; it is now version {now}" in html
    assert f"Saved now (version {now})" in html and "Your change (not recorded)" in html
    refusal = refused.context["refusal"]
    assert ("Note", "Signed and in force.") in refusal["entered"] and ("New status", "Implemented") in refusal[
        "entered"
    ]
    assert [c.note for c in refusal["since"]["changes"]] == ["Talks opened."]  # what the other analyst did
    assert "status changed from In progress to Implemented, effective 2024-06-01" in refusal["would_be"]
    assert (
        f'value="Record my change against version {now}"' in html or f"Record my change against version {now}" in html
    )
    assert f'name="loaded_version" value="{now}"' in html  # the kept input is now set against what was shown
    assert "Signed and in force.</textarea>" in html
    assert StatusChange.objects.filter(note="Signed and in force.").count() == 0

    # One click: the same input, against the version now saved.
    again = client.post(
        change_status_url(recommendation), {**opened, "loaded_version": now, "_reapply": now}, follow=True
    )
    assert "T-1: status changed from In progress to Implemented, effective 2024-06-01." in again.content.decode()
    assert list(recommendation.status_changes.order_by("id").values_list("note", flat=True)) == [
        "Talks opened.",
        "Signed and in force.",
    ]


def test_re_applying_is_checked_again_and_refused_if_the_item_moved_once_more(
    client, analyst, other_analyst, recommendation
):
    client.force_login(analyst)
    shown = recommendation.version
    recommendation_change_status(
        recommendation=recommendation, status="in_progress", note="Again.", recorded_by=other_analyst
    )
    response = client.post(change_status_url(recommendation), _status_post(recommendation, shown, _reapply=shown))
    assert response.context["refusal"]["stale"]
    assert not StatusChange.objects.filter(note="Signed and in force.").exists()


def test_a_status_change_refused_by_a_rule_keeps_the_input_and_offers_no_blind_retry(client, analyst, recommendation):
    recommendation_change_status(
        recommendation=recommendation, status="in_progress", note="x", effective_date=datetime.date(2024, 6, 1)
    )
    recommendation.refresh_from_db()
    client.force_login(analyst)
    response = client.post(
        change_status_url(recommendation),
        _status_post(recommendation, recommendation.version, effective_date="2024-01-01"),
    )
    html = response.content.decode()
    refusal = response.context["refusal"]
    assert not refusal["stale"] and not refusal["can_reapply"]
    assert any(
        label == "Effective date" and "before the current status date (2024-06-01)" in m
        for label, m in refusal["reasons"]
    )
    assert "Record my change against version" not in html
    assert 'value="2024-01-01"' in html  # kept, to correct


def test_a_bad_evidence_url_gets_one_message_that_names_the_field(client, analyst, recommendation):
    client.force_login(analyst)
    response = client.post(
        change_status_url(recommendation),
        _status_post(
            recommendation, recommendation.version, evidence_url="not a web address", evidence_title="Readout"
        ),
    )
    errors = response.context["form"].errors
    assert errors["evidence_url"] == [ERROR_EVIDENCE_URL_INVALID]
    assert "evidence's web address" in ERROR_EVIDENCE_URL_INVALID
    assert "Enter a valid URL." not in response.content.decode()


def test_date_boxes_and_their_hints_agree_on_yyyy_mm_dd(client, analyst, recommendation):
    client.force_login(analyst)
    html = client.get(change_status_url(recommendation)).content.decode()
    box = re.search(r'<input[^>]*name="effective_date"[^>]*>', html).group(0)
    assert 'type="text"' in box and 'placeholder="YYYY-MM-DD"' in box
    assert "YYYY-MM-DD: when the new status took effect" in html
    response = client.post(
        change_status_url(recommendation), _status_post(recommendation, 1, effective_date="06/01/2024")
    )
    assert response.context["form"].errors["effective_date"] == [
        "Enter the effective date as YYYY-MM-DD, e.g. 2024-05-01."
    ]
    change_page = client.get(change_url(recommendation)).content.decode()
    due = re.search(r'<input[^>]*name="due_date"[^>]*>', change_page).group(0)
    assert 'placeholder="YYYY-MM-DD"' in due


def test_a_refused_edit_shows_what_is_saved_and_the_refused_input_apart(client, analyst, other_analyst, recommendation):
    recommendation_update(recommendation=recommendation, data={"editorial_note": "Saved note."})
    client.force_login(analyst)
    page = client.get(change_url(recommendation))
    data = _change_form_data(page)
    data["editorial_note"] = "My refused note."
    data["title"] = "My refused title"
    recommendation_update(recommendation=recommendation, data={"level": "regional"}, edited_by=other_analyst)
    response = client.post(change_url(recommendation), data)
    html = response.content.decode()
    assert response.status_code == 200
    # The title and the read-only parts show what is saved; the refused input only where it is labelled so.
    assert response.context["original"].title == "Item T-1"
    assert "<h2>T-1 Item T-1</h2>" in html
    rows = {row["label"]: row for row in response.context["refusal"]["rows"]}
    assert set(rows) == {"Title", "Editorial note"}  # only what this analyst changed
    assert (rows["Editorial note"]["saved"], rows["Editorial note"]["entered"]) == ("Saved note.", "My refused note.")
    assert "Your edit (not saved)" in html and "Saved now (version" in html
    since = response.context["refusal"]["since"]["edits"]
    assert [list(edit.changes) for edit, _ in since] == [["level"]]
    assert Recommendation.objects.get(pk=recommendation.pk).editorial_note == "Saved note."


def test_a_refused_edit_is_applied_again_in_one_click_without_undoing_the_other_edit(
    client, analyst, other_analyst, recommendation
):
    client.force_login(analyst)
    data = _change_form_data(client.get(change_url(recommendation)))
    data["title"] = "Ministers meet yearly"
    recommendation_update(recommendation=recommendation, data={"level": "regional"}, edited_by=other_analyst)
    refused = client.post(change_url(recommendation), data)
    refusal = refused.context["refusal"]
    assert refusal["can_reapply"]
    now = refusal["version_now"]
    assert f'name="_reapply_version" value="{now}"' in refused.content.decode()
    done = client.post(change_url(recommendation), {**data, "_reapply_version": now}, follow=True)
    assert f"T-1: your edits were saved against version {now}" in done.content.decode()
    item = Recommendation.objects.get(pk=recommendation.pk)
    # The analyst's field changed; the other analyst's stays (the form still held the old level).
    assert (item.title, item.level) == ("Ministers meet yearly", "regional")


def test_an_edit_of_a_field_someone_else_changed_too_is_flagged_before_it_is_applied(
    client, analyst, other_analyst, recommendation
):
    client.force_login(analyst)
    data = _change_form_data(client.get(change_url(recommendation)))
    data["title"] = "Mine"
    recommendation_update(recommendation=recommendation, data={"title": "Theirs"}, edited_by=other_analyst)
    refused = client.post(change_url(recommendation), data)
    (row,) = refused.context["refusal"]["rows"]
    assert (row["saved"], row["entered"], row["conflict"]) == ("Theirs", "Mine", True)
    assert "Also changed by someone else since you opened it" in refused.content.decode()


def test_a_refused_bulk_change_names_every_refused_item_and_shows_what_each_holds(
    client, analyst, recommendation, make_recommendation
):
    late_a, late_b = make_recommendation("T-2"), make_recommendation("T-3")
    for item in (late_a, late_b):
        recommendation_change_status(
            recommendation=item, status="in_progress", note="x", effective_date=datetime.date(2024, 6, 1)
        )
    client.force_login(analyst)
    url = reverse("admin:recommendations_recommendation_changelist")
    selected = [recommendation.pk, late_a.pk, late_b.pk]
    response = client.post(
        url,
        {
            "action": "record_status_change",
            "_selected_action": selected,
            "apply": "1",
            "status": "implemented",
            "note": "Done, as the 2017 report says.",
            "effective_date": "2017-01-01",
        },
    )
    html = response.content.decode()
    assert "Nothing was recorded: 2 of 3 items refused the change" in html
    refused = re.findall(r'<li data-code="([^"]+)">', html)
    assert refused == ["T-2", "T-3"]
    # T-1 took the change inside the attempt, which was rolled back: it is shown as it is stored.
    assert "Implemented as of 1 January 2017" not in html
    assert "(now Not assessed)" in html
    assert not StatusChange.objects.filter(note="Done, as the 2017 report says.").exists()

    # One click: the same input for the item that can take it.
    assert "Record it for the other 1 item only" in html
    retry = response.context["retry_items"]
    assert [i.code for i in retry] == ["T-1"]
    done = client.post(
        url,
        {
            "action": "record_status_change",
            "_selected_action": [i.pk for i in retry],
            "apply": "1",
            "status": "implemented",
            "note": "Done, as the 2017 report says.",
            "effective_date": "2017-01-01",
            "item_versions": response.context["retry_versions"],
        },
        follow=True,
    )
    assert "Recorded “Implemented” for 1 item: one log entry." in done.content.decode()
    assert StatusChange.objects.get(note="Done, as the 2017 report says.").recommendation == recommendation


def test_a_bulk_change_is_checked_against_the_versions_shown(
    client, analyst, other_analyst, recommendation, make_recommendation
):
    second = make_recommendation("T-2")
    client.force_login(analyst)
    url = reverse("admin:recommendations_recommendation_changelist")
    confirm = client.post(url, {"action": "record_status_change", "_selected_action": [recommendation.pk, second.pk]})
    versions = confirm.context["item_versions"]
    recommendation_change_status(
        recommendation=second, status="in_progress", note="Meanwhile.", recorded_by=other_analyst
    )
    post = {
        "action": "record_status_change",
        "_selected_action": [recommendation.pk, second.pk],
        "apply": "1",
        "status": "not_started",
        "note": "Reviewed.",
        "effective_date": timezone.localdate().isoformat(),
        "item_versions": versions,
    }
    response = client.post(url, post)
    ((item, reasons, stale),) = response.context["refusals"]
    assert item.code == "T-2" and stale and "Someone else changed it since this form was opened" in reasons[0][1]
    assert "Record it for all 2 items as they are now" in response.content.decode()
    done = client.post(url, {**post, "item_versions": response.context["retry_versions"]}, follow=True)
    assert "Recorded “Not started” for 2 items" in done.content.decode()


def test_analyst_edits_the_translations_in_the_french_admin(client, analyst, recommendation):
    client.force_login(analyst)
    french_url = "/fr" + change_url(recommendation)  # read before a French page makes French the active language
    page = client.get(french_url)
    body = page.content.decode()
    # A fieldset per language, named in the admin's language, holding the title and every note.
    assert "Son titre et ses notes en japonais" in body
    assert 'name="title_ja"' in body and 'name="editorial_note_fr"' in body
    data = _change_form_data(page)
    data["title_fr"] = "Les ministres se rencontrent chaque année"
    response = client.post(french_url, data)
    assert response.status_code == 302
    item = Recommendation.objects.get(pk=recommendation.pk)
    assert item.title_fr == "Les ministres se rencontrent chaque année"
    assert item.edits.filter(changes__has_key="title_fr", edited_by=analyst).exists()
    # The French change list shows the French title.
    assert (
        "Les ministres se rencontrent chaque année"
        in client.get("/fr/admin/recommendations/recommendation/").content.decode()
    )
