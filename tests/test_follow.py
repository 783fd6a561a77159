"""Following items: the priority flag analysts set on record (with its note, a new version) and its filter
and badge; one item's Atom feed, linked from its page; and `code`, which narrows the site's feeds, the
API's change feed and the item list to the items a reader cares about."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommendations.models import ERROR_PRIORITY_NOTE_REQUIRED, Recommendation, RecommendationEdit
from recommendations.services import recommendation_change_status, recommendation_update
from recommendations.vocabulary import Status

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
LIST = "/api/recommendations/"


@pytest.fixture
def followed(make_recommendation):
    """Three items, each with its own status changes: T-1 two, T-2 one, T-3 one."""
    made = {code: make_recommendation(code, title=f"Item {code}") for code in ("T-1", "T-2", "T-3")}
    for code, status, day in [
        ("T-1", Status.IN_PROGRESS, datetime.date(2019, 1, 1)),
        ("T-2", Status.NOT_STARTED, datetime.date(2019, 2, 1)),
        ("T-1", Status.IMPLEMENTED, datetime.date(2020, 1, 1)),
        ("T-3", Status.IN_PROGRESS, datetime.date(2020, 2, 1)),
    ]:
        recommendation_change_status(
            recommendation=made[code], status=status, note=f"{code} to {status}.", effective_date=day
        )
    return made


def entry_titles(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314 - our own server's output
    return [entry.find(f"{ATOM}title").text for entry in feed.findall(f"{ATOM}entry")]


def page_codes(client, query: str) -> list[str]:
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    return re.findall(r'<li class="item" data-code="([^"]+)"', response.content.decode())


# --- priority ---------------------------------------------------------------------------


def test_flagging_a_priority_is_an_edit_on_record_with_its_note_and_a_new_version(followed, analyst):
    item = followed["T-2"]
    version = item.version
    recommendation_update(
        recommendation=item,
        data={"priority": True, "priority_note": "The ministers meet next month."},
        edited_by=analyst,
        note="Raised at the team meeting.",
        expected_version=version,
    )
    item.refresh_from_db()
    assert (item.priority, item.version) == (True, version + 1)
    edit = RecommendationEdit.objects.get(recommendation=item)
    assert edit.changes == {
        "priority": {"before": False, "after": True},
        "priority_note": {"before": "", "after": "The ministers meet next month."},
    }
    assert (edit.note, edit.edited_by, edit.version) == ("Raised at the team meeting.", analyst, version + 1)


def test_a_priority_without_its_note_is_refused_naming_the_note_and_nothing_is_written(followed, analyst):
    item = followed["T-2"]
    with pytest.raises(ValidationError) as refused:
        recommendation_update(recommendation=item, data={"priority": True}, edited_by=analyst)
    assert refused.value.message_dict == {"priority_note": [ERROR_PRIORITY_NOTE_REQUIRED]}
    item.refresh_from_db()
    assert (item.priority, item.version) == (False, 2)
    assert not RecommendationEdit.objects.filter(recommendation=item).exists()


def test_an_analyst_flags_a_priority_through_the_api_with_if_match(followed, analyst):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    url = f"{LIST}T-3/"
    etag = api.get(url)["ETag"]
    refused = api.patch(url, {"priority": True}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 400 and refused.json()["priority_note"] == [ERROR_PRIORITY_NOTE_REQUIRED]
    done = api.patch(
        url, {"priority": True, "priority_note": "Watched by the committee."}, format="json", HTTP_IF_MATCH=etag
    )
    assert done.status_code == 200, done.content
    assert (done.json()["priority"], done.json()["priority_note"]) == (True, "Watched by the committee.")
    assert done["ETag"] != etag
    assert done.json()["edits"][-1]["changes"]["priority"] == {"before": False, "after": True}


def test_the_priority_filter_selects_the_same_items_on_the_page_and_in_the_api(client, followed, analyst):
    recommendation_update(
        recommendation=followed["T-3"], data={"priority": True, "priority_note": "Due for review."}, edited_by=analyst
    )
    for query, expected in [
        ("priority=true", ["T-3"]),
        ("priority=false", ["T-1", "T-2"]),
        ("priority=0", ["T-1", "T-2"]),
    ]:
        api_codes = [row["code"] for row in APIClient().get(f"{LIST}?{query}").json()["results"]]
        assert page_codes(client, query) == api_codes == expected
    refused = APIClient().get(LIST, {"priority": "yes-ish"})
    assert refused.status_code == 400 and refused.json()["priority"] == ["Enter true or false."]
    assert client.get("/", {"priority": "yes-ish"}).status_code == 400


def test_the_priority_badge_shows_on_the_list_and_on_the_item_page_with_its_note(client, followed, analyst):
    recommendation_update(
        recommendation=followed["T-3"], data={"priority": True, "priority_note": "Due for review."}, edited_by=analyst
    )
    html = client.get("/").content.decode()
    start = html.index('<li class="item" data-code="T-3">')
    assert 'data-testid="priority"' in html[start : html.index("</li>", start)]
    assert html.count('data-testid="priority"') == 1
    page = client.get("/recommendations/T-3/").content.decode()
    assert 'data-testid="priority-note"' in page and "Due for review." in page
    assert 'data-testid="priority"' not in client.get("/recommendations/T-1/").content.decode()


# --- one item's feed ---------------------------------------------------------------------


def test_an_items_feed_lists_only_its_changes_newest_first(client, followed):
    titles = entry_titles(client.get("/feeds/recommendations/T-1/changes/"))
    assert titles == ["T-1: In progress → Implemented — Item T-1", "T-1: Not assessed → In progress — Item T-1"]
    feed = ET.fromstring(client.get("/feeds/recommendations/T-1/changes/").content)  # noqa: S314
    assert "T-1" in feed.find(f"{ATOM}title").text
    assert client.get("/feeds/recommendations/NO-SUCH/changes/").status_code == 404
    assert client.get("/feeds/recommendations/T%001/changes/").status_code == 404


def test_an_items_page_links_its_feed_in_the_head_and_visibly(client, followed):
    html = client.get("/recommendations/T-2/").content.decode()
    head = html[: html.index("</head>")]
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Status changes of T-2 (Atom)" '
        'href="/feeds/recommendations/T-2/changes/">' in head
    )
    body = html[html.index("<body") :]
    assert re.search(r'<a href="/feeds/recommendations/T-2/changes/"[^>]*>Atom feed of its status changes</a>', body)


# --- code: following some items -----------------------------------------------------------


def test_the_site_feed_follows_just_the_codes_given(client, followed):
    titles = entry_titles(client.get("/feeds/changes/?code=T-2&code=T-3"))
    assert [title.split(":")[0] for title in titles] == ["T-3", "T-2"]
    refused = client.get("/feeds/changes/?code=T-2&code=NOPE")
    assert refused.status_code == 400
    assert refused.content.decode().startswith("code: Unknown item code: NOPE.")


def test_the_api_change_feed_follows_just_the_codes_given(followed):
    api = APIClient()
    rows = api.get("/api/changes/?code=T-1&code=T-3").json()["results"]
    assert [row["recommendation"] for row in rows] == ["T-1", "T-1", "T-3"]
    since = api.get("/api/changes/?code=T-1&since=2000-01-01").json()
    assert since["count"] == 2
    refused = api.get("/api/changes/?code=T-1&code=NOPE&code=ZZZ")
    assert refused.status_code == 400
    assert refused.json()["code"][0].startswith("Unknown item code: NOPE, ZZZ.")


def test_the_item_list_follows_just_the_codes_given_on_the_page_and_in_the_api(client, followed):
    api = APIClient()
    assert [row["code"] for row in api.get(f"{LIST}?code=T-3&code=T-1").json()["results"]] == ["T-1", "T-3"]
    assert page_codes(client, "code=T-3&code=T-1") == ["T-1", "T-3"]
    csv_body = b"".join(api.get(f"{LIST}?code=T-2&format=csv").streaming_content).decode()
    assert [line.split(",")[0] for line in csv_body.splitlines()[1:]] == ["T-2"]
    refused = api.get(f"{LIST}?code=T-1&code=NOPE")
    assert refused.status_code == 400 and "NOPE" in refused.json()["code"][0]
    page = client.get("/?code=NOPE")
    assert page.status_code == 400 and "Unknown item code: NOPE." in page.content.decode()


def test_the_schema_documents_the_new_parameters(followed):
    schema = APIClient().get("/api/schema/?format=json").json()
    listed = {p["name"] for p in schema["paths"]["/api/recommendations/"]["get"]["parameters"]}
    assert {"overdue", "due_before", "due_after", "priority", "code"} <= listed
    feed = {p["name"] for p in schema["paths"]["/api/changes/"]["get"]["parameters"]}
    assert "code" in feed
    item = schema["components"]["schemas"]["RecommendationDetail"]["properties"]
    assert {"overdue", "schedule_months", "last_occurrence", "next_occurrence_due", "priority"} <= set(item)


def test_backup_and_restore_keep_the_schedule_and_the_priority(followed, analyst, tmp_path):
    from django.core.management import call_command

    recommendation_update(
        recommendation=followed["T-1"],
        data={"priority": True, "priority_note": "Watch.", "schedule_months": 12, "schedule_note": "Yearly."},
        edited_by=analyst,
    )
    path = tmp_path / "backup.json"
    call_command("export_tracker", str(path), verbosity=0)
    call_command("import_tracker", str(path), "--replace", verbosity=0)
    restored = Recommendation.objects.get(code="T-1")
    assert (restored.priority, restored.priority_note, restored.schedule_months, restored.schedule_note) == (
        True,
        "Watch.",
        12,
        "Yearly.",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "ok"), [("true", True), ("0", True), ("True", False), (" true", False), ("yes", False)]
)
def test_the_priority_filter_takes_exactly_the_values_the_schema_lists(value, ok):
    response = APIClient().get("/api/recommendations/", {"priority": value})
    if ok:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["priority"] == ["Enter true or false."]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [("priority", 0), ("priority", "true"), ("schedule_months", "12")])
def test_a_patch_takes_json_booleans_and_integers_only(followed, analyst, field, value):
    client = APIClient()
    client.force_authenticate(analyst)
    url = "/api/recommendations/T-1/"
    etag = client.get(url)["ETag"]
    response = client.patch(url, {field: value}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400
    assert field in response.json()
