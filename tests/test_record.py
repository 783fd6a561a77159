"""The record is kept: the seed never reverts an analyst, evidence is append-only (retracted,
never rewritten), every edit of an item is on record, and CSV cells never run as formulas."""

from __future__ import annotations

import csv
import io
import shutil
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, InternalError, OperationalError, connection, transaction
from django.urls import reverse

from recommendations.api.renderers import csv_cell
from recommendations.models import (
    Evidence,
    EvidenceRetraction,
    Recommendation,
    RecommendationEdit,
    RecommendationLink,
    Theme,
)
from recommendations.services import (
    ERROR_EVIDENCE_RETRACTED,
    ERROR_RETRACTION_REASON_REQUIRED,
    LinkSpec,
    evidence_create,
    evidence_retract,
    recommendation_change_status,
    recommendation_update,
)
from tests.test_admin import _change_form_data, change_url

pytestmark = pytest.mark.django_db

FIXTURES = settings.FIXTURES_DIR
NOTE_ITEM = "JN97-SA-BIL-1"  # any seeded item; the tests change its fields


def _seed(folder=None) -> str:
    out = StringIO()
    call_command("seed", stdout=out, **({"fixtures": str(folder)} if folder else {}))
    return out.getvalue()


def _fixtures_copy(tmp_path):
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    return folder


def _edit_fixture(folder, name: str, match, change) -> None:
    path = folder / name
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    hits = [entry for entry in entries if match(entry)]
    assert hits, f"no entry of {name} matched"
    for entry in hits:
        change(entry)
    path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _item(code=NOTE_ITEM) -> Recommendation:
    return Recommendation.objects.get(code=code)


# --- the seed never reverts an analyst -----------------------------------------------


def test_an_analysts_edit_in_the_admin_survives_a_reseed(seeded, client, analyst):
    item = _item()
    client.force_login(analyst)
    data = _change_form_data(client.get(change_url(item)))
    data["editorial_note"] = "An analyst's reading of this passage."
    assert client.post(change_url(item), data).status_code == 302

    output = _seed()

    assert _item().editorial_note == "An analyst's reading of this passage."
    assert f"recommendation {NOTE_ITEM}: editorial_note" in output
    assert "Kept as analysts left them" in output
    assert "Seed already up to date: nothing changed." in output


def test_a_fixture_change_to_an_untouched_field_comes_in_and_is_on_record(seeded, tmp_path):
    folder = _fixtures_copy(tmp_path)
    _edit_fixture(
        folder, "recommendations.yaml", lambda e: e["code"] == NOTE_ITEM, lambda e: e.update(title="A corrected title")
    )
    before = _item()

    output = _seed(folder)

    after = _item()
    assert after.title == "A corrected title"
    assert after.version == before.version + 1
    edit = after.edits.get()
    assert edit.edited_by is None and edit.changes == {"title": {"before": before.title, "after": "A corrected title"}}
    assert "recommendations: 1 updated" in output and "Kept" not in output


def test_a_fixture_change_to_a_field_the_analyst_changed_is_kept_and_reported(seeded, analyst, tmp_path):
    recommendation_update(recommendation=_item(), data={"title": "The analyst's title"}, edited_by=analyst)
    folder = _fixtures_copy(tmp_path)
    _edit_fixture(
        folder,
        "recommendations.yaml",
        lambda e: e["code"] == NOTE_ITEM,
        lambda e: e.update(title="The fixture's new title", due_date_note="Read from the text anew."),
    )

    output = _seed(folder)

    item = _item()
    assert item.title == "The analyst's title"  # kept
    assert item.due_date_note == "Read from the text anew."  # untouched by the analyst: brought in
    assert f"recommendation {NOTE_ITEM}: title" in output
    # and a second run says the same, without writing anything
    assert f"recommendation {NOTE_ITEM}: title" in _seed(folder)
    assert _item().version == item.version


def test_a_new_theme_in_the_fixture_comes_in_unless_the_analyst_changed_the_themes(seeded, analyst, tmp_path):
    other = "JN97-SA-BIL-2"
    recommendation_update(recommendation=_item(other), data={"themes": []}, edited_by=analyst)
    folder = _fixtures_copy(tmp_path)
    _edit_fixture(
        folder,
        "recommendations.yaml",
        lambda e: e["code"] in (NOTE_ITEM, other),
        lambda e: e.update(themes=[*e.get("themes", []), "un-reform"]),
    )

    _seed(folder)

    assert "un-reform" in set(_item().themes.values_list("slug", flat=True))
    assert not _item(other).themes.exists()  # the analyst emptied them: kept


def test_a_theme_renamed_by_an_analyst_keeps_its_name(seeded):
    Theme.objects.filter(slug="un-reform").update(name="Reform of the United Nations")
    assert "theme un-reform: name" in _seed()
    assert Theme.objects.get(slug="un-reform").name == "Reform of the United Nations"


def test_a_link_the_analyst_removed_stays_removed_and_one_they_added_stays(seeded, analyst):
    item = _item("BM18-1")
    links = {LinkSpec(kind=link.kind, to=link.to_recommendation, note=link.note) for link in item.links_out.all()}
    removed = sorted(links, key=lambda spec: spec.to.code)[0]
    added = LinkSpec(kind="related", to=_item(), note="An analyst's link.")
    recommendation_update(recommendation=item, data={"links": (links - {removed}) | {added}}, edited_by=analyst)

    output = _seed()

    keys = set(item.links_out.values_list("kind", "to_recommendation__code"))
    assert (removed.kind, removed.to.code) not in keys
    assert ("related", NOTE_ITEM) in keys
    assert f"links BM18-1: {removed.kind} {removed.to.code}" in output


def test_a_new_link_in_the_fixture_comes_in(seeded, tmp_path):
    folder = _fixtures_copy(tmp_path)
    path = folder / "links.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries.append({"from": "BM18-2", "to": NOTE_ITEM, "kind": "related", "note": "A link added to the fixture."})
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")

    output = _seed(folder)

    link = RecommendationLink.objects.get(from_recommendation__code="BM18-2", to_recommendation__code=NOTE_ITEM)
    assert link.note == "A link added to the fixture."
    assert "links: 1 created" in output
    assert _item("BM18-2").edits.get().changes["links"]["after"]


def test_seeded_evidence_is_never_rewritten_by_a_changed_fixture(seeded, tmp_path):
    before = list(Evidence.objects.order_by("id").values_list("id", "title"))
    folder = _fixtures_copy(tmp_path)
    _edit_fixture(
        folder, "statuses.yaml", lambda e: bool(e.get("evidence")), lambda e: e["evidence"].update(title="Renamed")
    )

    output = _seed(folder)

    assert list(Evidence.objects.order_by("id").values_list("id", "title")) == before
    assert "recorded evidence is never rewritten" in output


# --- evidence is append-only ------------------------------------------------------------


@pytest.fixture
def cited(recommendation, analyst):
    evidence = evidence_create(
        recommendation=recommendation, url="https://example.org/a", title="Readout", added_by=analyst
    )
    recommendation_change_status(
        recommendation=recommendation, status="in_progress", note="Talks began.", recorded_by=analyst, evidence=evidence
    )
    return evidence


def test_evidence_cannot_be_edited_or_deleted_through_the_orm(cited):
    cited.url = "https://example.org/elsewhere"
    with pytest.raises(ValidationError, match="append-only"):
        cited.save()
    with pytest.raises(ValidationError, match="append-only"):
        cited.delete()
    with pytest.raises(ValidationError, match="append-only"):
        Evidence.objects.filter(pk=cited.pk).update(url="https://example.org/elsewhere")
    with pytest.raises(ValidationError, match="append-only"):
        Evidence.objects.filter(pk=cited.pk).delete()
    assert Evidence.objects.get(pk=cited.pk).url == "https://example.org/a"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE recommendations_evidence SET url = 'https://example.org/elsewhere'",
        "UPDATE recommendations_recommendationedit SET note = 'rewritten'",
    ],
)
def test_the_database_refuses_plain_sql_updates(cited, analyst, recommendation, sql):
    recommendation_update(recommendation=recommendation, data={"title": "Edited"}, edited_by=analyst)
    with (
        pytest.raises((IntegrityError, InternalError, OperationalError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert Evidence.objects.get(pk=cited.pk).url == "https://example.org/a"
    assert RecommendationEdit.objects.get().note == ""


def test_the_database_refuses_plain_sql_deletes_on_postgresql(cited):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE open for the test flush; the models refuse it")
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM recommendations_evidence")
    assert Evidence.objects.filter(pk=cited.pk).exists()


def test_a_retraction_keeps_the_evidence_and_the_change_that_cites_it(cited, analyst, recommendation):
    version = Recommendation.objects.get(pk=recommendation.pk).version
    with pytest.raises(ValidationError) as refused:
        evidence_retract(evidence=cited, reason="  ", retracted_by=analyst)
    assert refused.value.message_dict == {"reason": [ERROR_RETRACTION_REASON_REQUIRED]}

    retraction = evidence_retract(evidence=cited, reason="The readout is of another meeting.", retracted_by=analyst)

    assert Recommendation.objects.get(pk=recommendation.pk).version == version + 1
    assert Evidence.objects.get(pk=cited.pk).url == "https://example.org/a"
    assert recommendation.status_changes.get().evidence_id == cited.pk
    assert (retraction.retracted_by, retraction.reason) == (analyst, "The readout is of another meeting.")
    with pytest.raises(ValidationError, match="already been retracted"):
        evidence_retract(evidence=cited, reason="Again.", retracted_by=analyst)
    with pytest.raises(ValidationError) as refused:
        recommendation_change_status(
            recommendation=recommendation,
            status="implemented",
            note="Done.",
            evidence=Evidence.objects.get(pk=cited.pk),
        )
    assert refused.value.message_dict == {"evidence": [ERROR_EVIDENCE_RETRACTED]}


def test_the_admin_offers_no_way_to_edit_evidence_only_to_retract_it(client, analyst, cited, recommendation):
    client.force_login(analyst)
    change = reverse("admin:recommendations_evidence_change", args=[cited.pk])
    page = client.get(change)
    assert page.status_code == 200 and b'name="url"' not in page.content  # a view, not a form
    client.post(change, {"url": "https://evil.example.org", "title": "Rewritten"})
    assert Evidence.objects.get(pk=cited.pk).url == "https://example.org/a"

    item_page = client.get(change_url(recommendation)).content.decode()
    retract = reverse("admin:recommendations_evidence_retract", args=[cited.pk])
    assert retract in item_page

    refused = client.post(retract, {"reason": ""})
    assert refused.status_code == 200 and str(ERROR_RETRACTION_REASON_REQUIRED) in refused.content.decode()
    assert not EvidenceRetraction.objects.exists()

    done = client.post(retract, {"reason": "Wrong page."}, follow=True)
    assert "retracted" in done.content.decode()
    assert EvidenceRetraction.objects.get().retracted_by == analyst


def test_the_item_page_shows_retracted_evidence_beside_the_change_that_cited_it(client, cited, analyst):
    evidence_retract(evidence=cited, reason="The readout is of another meeting.", retracted_by=analyst)
    html = client.get(cited.recommendation.get_absolute_url()).content.decode()
    assert "https://example.org/a" in html  # still shown where the change cites it
    assert "Retracted on" in html and "The readout is of another meeting." in html
    assert "change-evidence--retracted" in html


def test_the_api_shows_the_retraction_and_retracts_with_a_token(client, analyst, cited, recommendation):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=analyst)
    url = f"/api/recommendations/{recommendation.code}/evidence/{cited.pk}/retraction/"
    headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.post(url, {"reason": "Wrong page."}, content_type="application/json").status_code in (401, 403)
    response = client.post(url, {"reason": "Wrong page."}, content_type="application/json", **headers)
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == "https://example.org/a" and body["retraction_reason"] == "Wrong page."
    assert body["retracted_by"] == analyst.username
    assert response["ETag"] == f'"{Recommendation.objects.get(pk=recommendation.pk).version}"'
    detail = client.get(f"/api/recommendations/{recommendation.code}/").json()
    assert detail["evidence"][0]["retracted_at"] is not None
    again = client.post(url, {"reason": "Again."}, content_type="application/json", **headers)
    assert again.status_code == 400 and "already been retracted" in str(again.json())
    missing = client.post(
        url.replace(str(cited.pk), "999999"), {"reason": "x"}, content_type="application/json", **headers
    )
    assert missing.status_code == 404


# --- every change to an item is on record ---------------------------------------------


def test_an_admin_edit_records_who_what_and_when_and_bumps_the_version(
    client, analyst, recommendation, other_theme, make_recommendation
):
    target = make_recommendation("T-9", text="Navies should exchange visits.")
    client.force_login(analyst)
    page = client.get(change_url(recommendation))
    data = _change_form_data(page)
    data["title"] = "Ministers meet yearly"
    data["themes"] = [other_theme.pk]
    prefix = next(
        f.formset.prefix for f in page.context["inline_admin_formsets"] if f.formset.model is RecommendationLink
    )
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-kind": "related",
            f"{prefix}-0-to_recommendation": str(target.pk),
            f"{prefix}-0-note": "Both about meetings.",
        }
    )
    assert client.post(change_url(recommendation), data).status_code == 302

    item = Recommendation.objects.get(pk=recommendation.pk)
    edit = item.edits.get()  # one save, one entry
    assert edit.edited_by == analyst and edit.version == item.version == 2
    assert edit.changes["title"] == {"before": "Item T-1", "after": "Ministers meet yearly"}
    assert edit.changes["themes"] == {"before": ["Dialogue"], "after": ["Navies"]}
    assert edit.changes["links"] == {"before": [], "after": ["Related to T-9: Both about meetings."]}

    admin_page = client.get(change_url(recommendation)).content.decode()
    assert "edit history" in admin_page.lower() and "Ministers meet yearly" in admin_page
    public = client.get(item.get_absolute_url()).content.decode()
    assert 'data-testid="edits"' in public and "Item T-1" in public and "Ministers meet yearly" in public


def test_an_api_patch_is_on_record_with_its_author(client, analyst, recommendation):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=analyst)
    response = client.patch(
        f"/api/recommendations/{recommendation.code}/",
        {"editorial_note": "Read anew.", "steward": analyst.username},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200, response.content
    edits = response.json()["edits"]
    assert len(edits) == 1 and edits[0]["edited_by"] == analyst.username and edits[0]["version"] == 2
    assert edits[0]["changes"]["editorial_note"] == {"before": "", "after": "Read anew."}
    assert edits[0]["changes"]["steward"] == {"before": None, "after": analyst.username}


def test_an_edit_that_changes_nothing_leaves_no_entry_and_keeps_the_version(recommendation, analyst):
    recommendation_update(recommendation=recommendation, data={"title": recommendation.title}, edited_by=analyst)
    assert not RecommendationEdit.objects.exists()
    assert Recommendation.objects.get(pk=recommendation.pk).version == 1


def test_the_edit_history_cannot_be_rewritten(recommendation, analyst):
    recommendation_update(recommendation=recommendation, data={"title": "Edited"}, edited_by=analyst)
    edit = RecommendationEdit.objects.get()
    edit.note = "rewritten"
    with pytest.raises(ValidationError):
        edit.save()
    with pytest.raises(ValidationError):
        RecommendationEdit.objects.all().delete()


# --- CSV cells never run as formulas --------------------------------------------------


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")'])
def test_a_cell_a_spreadsheet_would_run_is_prefixed(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Ministers meet", "", "2018-06-01", "a=b"])
def test_ordinary_cells_are_unchanged(value):
    assert csv_cell(value) == value


HOSTILE = '=HYPERLINK("http://evil.example.org","x")'


def test_every_csv_the_tracker_writes_neutralises_formulas(client, analyst, recommendation):
    recommendation_update(recommendation=recommendation, data={"title": HOSTILE}, edited_by=analyst)
    evidence = evidence_create(recommendation=recommendation, url="https://example.org/e", title="@evil", quote="-x")
    recommendation_change_status(recommendation=recommendation, status="in_progress", note="+cmd", evidence=evidence)
    for path, column, value in [
        ("/api/recommendations/?format=csv", "title", HOSTILE),
        (f"/api/recommendations/{recommendation.code}/status-changes/?format=csv", "note", "+cmd"),
        (f"/api/recommendations/{recommendation.code}/evidence/?format=csv", "title", "@evil"),
        ("/api/changes/?format=csv", "note", "+cmd"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert rows[-1][column] == "'" + value, path


def test_a_retraction_reason_must_be_text(client, analyst, cited, recommendation):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=analyst)
    response = client.post(
        f"/api/recommendations/{recommendation.code}/evidence/{cited.pk}/retraction/",
        {"reason": 0},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 400 and "reason" in response.json()
    assert not EvidenceRetraction.objects.exists()
