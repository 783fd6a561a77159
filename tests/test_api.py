"""The REST API as a script uses it: lists with the reviewers' filters, one item with its ETag,
safe writes by analysts (session with CSRF, or token), the change feed, CSV, errors as JSON,
the schema and the docs."""

from __future__ import annotations

import csv
import datetime
import io
import json
import secrets

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommendations.api.permissions import ApiAnonThrottle
from recommendations.api.renderers import csv_cell
from recommendations.api.serializers import RecommendationDetailSerializer, RecommendationListItemSerializer
from recommendations.filters import ERROR_AS_OF_FORMAT, ERROR_AS_OF_FUTURE, RecommendationFilterSet
from recommendations.models import (
    Evidence,
    EvidenceLinkCheck,
    Owner,
    Recommendation,
    RecommendationLink,
    Source,
    StatusChange,
)
from recommendations.services import (
    ERROR_NOTE_REQUIRED,
    evidence_create,
    evidence_retract,
    recommendation_change_status,
    recommendation_update,
)
from recommendations.vocabulary import STATUS_DEFINITIONS, Status
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIST = "/api/recommendations/"
FEED = "/api/changes/"


def item_url(code: str, tail: str = "") -> str:
    return f"/api/recommendations/{code}/{tail}"


@pytest.fixture
def api():
    return APIClient()


def client_for(user, *, how: str) -> APIClient:
    client = APIClient()
    if how == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    elif how == "session":
        client.force_login(user)
    return client


@pytest.fixture
def analyst_api(analyst):
    return client_for(analyst, how="token")


JAN_2020 = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def items(make_recommendation, theme, other_theme, owner):
    parent = make_recommendation(
        "T-1", title="Annual ministerial meetings", themes=[theme], owners=[owner], updated_at=JAN_2020
    )
    navies = make_recommendation(
        "T-2",
        updated_at=JAN_2020,
        title="Naval visits",
        text="Navies should exchange visits.",
        themes=[other_theme],
        level="regional",
        status="in_progress",
        parent=parent,
    )
    scholars = make_recommendation(
        "T-3",
        title="Café – Tokyo 東京 dialogue",
        text="Scholars should talk.",
        themes=[theme, other_theme],
        level="global",
        updated_at=datetime.datetime(2021, 6, 1, tzinfo=datetime.UTC),
    )
    return {"parent": parent, "navies": navies, "scholars": scholars}


def all_codes(client: APIClient, query: str = "") -> list[str]:
    """Follow `next` through every page and return the codes in order."""
    url, codes = f"{LIST}?{query}", []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        codes += [row["code"] for row in response.json()["results"]]
        url = response.json()["next"]
    return codes


def csv_rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


# --- the list and its filters ----------------------------------------------


def test_list_results_have_the_contract_fields(api, items, theme, owner):
    response = api.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    first = body["results"][0]
    required = {"code", "url", "title", "text", "source", "section", "level", "themes", "owners", "status"}
    required |= {"status_date", "evidence", "updated_at"}
    assert required <= set(first)
    # What the schema documents is exactly what the list gives.
    assert set(first) == set(RecommendationListItemSerializer().fields)
    assert first["code"] == "T-1"
    assert first["url"] == "http://testserver/api/recommendations/T-1/"
    assert first["themes"] == [theme.slug]
    assert first["owners"] == [owner.slug]
    assert first["source"] == "test-study"
    assert body["results"][1]["parent"] == "T-1"


@pytest.mark.parametrize(
    ("query", "matching", "not_matching"),
    [
        ("source=test-study", ["T-1", "T-2", "T-3"], "source=test-brief"),
        ("theme=navies", ["T-2", "T-3"], "theme=navies&status=implemented"),
        ("owner=gac", ["T-1"], "owner=gac&level=global"),
        ("status=in_progress", ["T-2"], "status=not_started"),
        ("level=global", ["T-3"], "level=global&status=in_progress"),
        ("parent=T-1", ["T-2"], "parent=T-2"),
        ("search=navies", ["T-2"], "search=submarines"),
        ("updated_since=2021-01-01", ["T-3"], "updated_since=2099-01-01"),
    ],
)
def test_each_filter_over_the_api(api, items, brief, query, matching, not_matching):
    assert sorted(all_codes(api, query)) == matching
    assert all_codes(api, not_matching) == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "theme=dialogue",
        "theme=dialogue&theme=navies",
        "status=in_progress&status=not_assessed&level=regional",
        "search=navies",
        "search=dialogue",
        "ordering=-code",
        "ordering=status,-code",
        "owner=gac",
        "parent=T-1",
        "updated_since=2021-01-01",
        "source=test-study&ordering=-reading",
        "page_size=1",
    ],
)
def test_the_same_parameters_give_the_same_items_as_the_filterset(api, items, query):
    filterset = RecommendationFilterSet(QueryDict(query), Recommendation.objects.all())
    assert filterset.is_valid()
    expected = list(filterset.qs.values_list("code", flat=True))
    assert all_codes(api, query) == expected
    assert [row["code"] for row in csv_rows(api.get(f"{LIST}?{query}&format=csv"))] == expected


def test_page_size_up_to_the_documented_maximum(api, items, settings):
    response = api.get(f"{LIST}?page_size=2")
    assert len(response.json()["results"]) == 2
    assert response.json()["next"].endswith("page=2&page_size=2")
    assert api.get(f"{LIST}?page_size={settings.API_MAX_PAGE_SIZE}").status_code == 200
    too_big = api.get(f"{LIST}?page_size={settings.API_MAX_PAGE_SIZE + 1}")
    assert too_big.status_code == 400
    assert too_big.json() == {
        "detail": f"page_size: Use a page size from 1 to {settings.API_MAX_PAGE_SIZE}.",
        "page_size": [f"Use a page size from 1 to {settings.API_MAX_PAGE_SIZE}."],
    }
    assert api.get(f"{LIST}?page_size=0").status_code == 400
    assert api.get(f"{LIST}?page_size=lots").status_code == 400


def test_pages_past_the_end_and_bad_page_numbers(api, items):
    past = api.get(f"{LIST}?page=9")
    assert past.status_code == 404
    assert past.json() == {"detail": "There is no page 9: the last page is 1."}
    assert api.get(f"{LIST}?page=0").json()["page"] == ["Use a page number from 1 (the first page)."]
    assert api.get(f"{LIST}?page=x").status_code == 400


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("theme=nope", "theme", "Unknown theme: nope"),
        ("owner=nobody", "owner", "Unknown owner: nobody"),
        ("source=nope", "source", "Unknown source"),
        ("parent=NOPE", "parent", "Unknown parent item"),
        ("status=done", "status", "done"),
        ("level=cosmic", "level", "cosmic"),
        ("updated_since=last-week", "updated_since", "ISO 8601"),
        ("updated_since=9999-12-31T23:59:59-05:00", "updated_since", "ISO 8601"),
        ("ordering=colour", "ordering", "colour"),
        ("theme=50%25off&owner=%25s%25d", "theme", "Unknown theme: 50%off"),
        ("search=navies%00", "search", "NUL"),
        ("theme=%00", "theme", "NUL"),
        ("pa%00ge=1", "page", "NUL"),
    ],
)
def test_bad_parameters_are_400_json_naming_the_field(api, items, query, field, words):
    response = api.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert any(words in message for message in response.json()[field])
    # Asked as CSV, the error is still JSON.
    as_csv = api.get(f"{LIST}?{query}&format=csv")
    assert as_csv.status_code == 400
    assert field in as_csv.json()


def test_list_queries_do_not_grow_with_the_page_size(
    api, make_recommendation, theme, owner, django_assert_max_num_queries
):
    def make(first: int, last: int) -> None:
        for i in range(first, last):
            item = make_recommendation(f"Q-{i}", themes=[theme], owners=[owner])
            evidence_create(recommendation=item, title="Proof", url="https://example.org/proof")

    make(0, 1)
    # The slug check for ?theme=, the count, the page, its themes, owners and evidence.
    with django_assert_max_num_queries(6):
        assert len(api.get(f"{LIST}?theme={theme.slug}").json()["results"]) == 1
    make(1, 50)
    with django_assert_max_num_queries(6):
        results = api.get(f"{LIST}?theme={theme.slug}&page_size=50").json()["results"]
    assert len(results) == 50
    assert all(row["evidence"][0]["url"] == "https://example.org/proof" for row in results)


# --- one item ----------------------------------------------------------------


@pytest.fixture
def storied(items, analyst, other_source_item):
    """T-1 with evidence, two status changes, a child and links both ways."""
    item = items["parent"]
    evidence = evidence_create(recommendation=item, title="Joint statement", url="https://example.org/statement")
    recommendation_change_status(
        recommendation=item,
        status="in_progress",
        note="Talks began.",
        effective_date=datetime.date(2020, 1, 1),
        recorded_by=analyst,
    )
    recommendation_change_status(
        recommendation=item, status="implemented", note="Meetings held.", recorded_by=analyst, evidence=evidence
    )
    RecommendationLink.objects.create(
        from_recommendation=other_source_item, to_recommendation=item, kind="follows_up", note="Same meetings."
    )
    RecommendationLink.objects.create(from_recommendation=item, to_recommendation=items["scholars"], kind="related")
    item.refresh_from_db()
    return item


@pytest.fixture
def brief(db):
    return Source.objects.create(
        slug="test-brief",
        title="A Test Brief",
        short_title="Brief",
        authors="B",
        published="2018-06-01",
        date_label="June 2018",
        kind="policy_brief",
    )


@pytest.fixture
def other_source_item(brief):
    return Recommendation.objects.create(
        code="B-1",
        source=brief,
        position=1,
        section="Next",
        title="Keep meeting",
        text="Keep meeting.",
        level="bilateral",
    )


def test_detail_has_evidence_related_items_parent_children_and_history(api, storied):
    response = api.get(item_url("T-1"))
    assert response.status_code == 200
    assert response["ETag"] == f'"{storied.version}"'
    body = response.json()
    assert set(body) == set(RecommendationDetailSerializer().fields)
    assert body["status"] == "implemented"
    assert body["status_definition"] == STATUS_DEFINITIONS[Status.IMPLEMENTED]
    assert [e["title"] for e in body["evidence"]] == ["Joint statement"]
    assert [c["code"] for c in body["children"]] == ["T-2"]
    assert body["parent"] is None
    assert [(h["from_status"], h["to_status"]) for h in body["status_history"]] == [
        ("not_assessed", "in_progress"),
        ("in_progress", "implemented"),
    ]
    assert body["status_history"][1]["evidence"]["url"] == "https://example.org/statement"
    assert body["status_history"][0]["recorded_by"] == "ana"
    related = {(r["code"], r["direction"], r["label"]) for r in body["related"]}
    assert related == {("B-1", "incoming", "Followed up by"), ("T-3", "outgoing", "Related to")}
    child = api.get(item_url("T-2")).json()
    assert child["parent"]["code"] == "T-1"


def test_detail_queries_do_not_grow_with_history(api, storied, analyst, django_assert_max_num_queries):
    with django_assert_max_num_queries(9) as before:
        api.get(item_url("T-1"))
    for n in range(5):
        evidence_create(recommendation=storied, title=f"Proof {n}", url=f"https://example.org/{n}")
        recommendation_change_status(recommendation=storied, status="implemented", note=f"Again {n}")
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert len(api.get(item_url("T-1")).json()["status_history"]) == 7


def test_detail_queries_do_not_grow_with_its_story(api, storied, analyst, items, make_recommendation):
    """The item, its themes, owners, children, evidence, status history, edits, and its links both ways."""

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(item_url("T-1")).status_code == 200
        return len(captured.captured_queries)

    before = queries()
    assert before <= 8
    for n in range(4):
        evidence = evidence_create(recommendation=storied, title=f"Proof {n}", url=f"https://example.org/{n}")
        recommendation_change_status(recommendation=storied, status="in_progress", note=f"Again {n}", evidence=evidence)
        EvidenceLinkCheck.objects.create(evidence=evidence, outcome="not_found", http_status=404)
        evidence_retract(evidence=evidence, reason="Wrong page.", retracted_by=analyst)
        recommendation_update(recommendation=storied, data={"title": f"Title {n}"}, edited_by=analyst)
        other = make_recommendation(f"U-{n}", parent=storied)
        RecommendationLink.objects.create(from_recommendation=other, to_recommendation=storied, kind="follows_up")
        RecommendationLink.objects.create(from_recommendation=storied, to_recommendation=other, kind="related")
    assert queries() == before
    body = api.get(item_url("T-1")).json()
    assert len(body["children"]) == 5 and len(body["related"]) == 10 and len(body["edits"]) == 4
    assert [e["link_status"] for e in body["evidence"]][1:] == ["dead"] * 4


@pytest.mark.parametrize("code", ["NOPE-1", "t-1", "T%00-1", "..", "A" * 40])
def test_an_unknown_item_is_a_404_in_json(api, items, code):
    for tail in ("", "status-changes/", "evidence/"):
        response = api.get(item_url(code, tail))
        assert response.status_code == 404
        assert "No recommendation has the code" in response.json()["detail"]


def test_an_unknown_api_address_is_a_404_in_json(api):
    response = api.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("There is no API endpoint")


# --- permissions ------------------------------------------------------------

WRITES = {
    "status change": ("post", "status-changes/", {"status": "in_progress", "note": "Talks began."}, 201),
    "evidence": ("post", "evidence/", {"title": "Statement", "url": "https://example.org/s"}, 201),
    "patch": ("patch", "", {"title": "Meetings every year"}, 200),
}


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize(
    ("who", "how", "expected"),
    [
        (None, None, 401),
        ("reviewer", "session", 403),
        ("reviewer", "token", 403),
        ("analyst", "session", "ok"),
        ("analyst", "token", "ok"),
    ],
)
def test_writes_are_for_analysts_only(request, recommendation, write, who, how, expected):
    method, tail, payload, ok = WRITES[write]
    client = client_for(request.getfixturevalue(who), how=how) if who else APIClient()
    response = getattr(client, method)(
        item_url("T-1", tail), payload, format="json", HTTP_IF_MATCH=f'"{recommendation.version}"'
    )
    assert response.status_code == (ok if expected == "ok" else expected), response.content
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"
    if expected != "ok":
        assert "detail" in response.json()
        recommendation.refresh_from_db()
        assert recommendation.version == 1
        assert not StatusChange.objects.exists()
        assert not Evidence.objects.exists()


READS = [LIST, item_url("T-1"), item_url("T-1", "status-changes/"), item_url("T-1", "evidence/"), FEED]
READS += ["/api/", "/api/themes/", "/api/owners/", "/api/sources/", "/api/statuses/"]


@pytest.mark.parametrize("url", READS)
def test_reads_are_open_by_default_and_closed_by_the_setting(api, recommendation, reviewer, analyst, settings, url):
    assert api.get(url).status_code == 200
    settings.API_READS_REQUIRE_LOGIN = True
    closed = api.get(url)
    assert closed.status_code == 401
    assert closed.json() == {"detail": "Authentication credentials were not provided."}
    assert client_for(reviewer, how="session").get(url).status_code == 200
    assert client_for(analyst, how="token").get(url).status_code == 200


def test_a_bad_token_is_refused_even_for_reads(api, recommendation):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api.get(LIST)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_session_write_needs_the_csrf_token(analyst, recommendation):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="ana", password=PASSWORD)
    payload = {"status": "in_progress", "note": "Talks began."}
    refused = client.post(item_url("T-1", "status-changes/"), payload, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    # As a browser would: the CSRF cookie (set by any page with a form) sent back in the header.
    token = secrets.token_hex(16)
    client.cookies["csrftoken"] = token
    accepted = client.post(item_url("T-1", "status-changes/"), payload, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


# --- writes through the services, and If-Match ------------------------------


def test_recording_a_status_change_goes_through_the_service(analyst_api, recommendation):
    response = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {"status": "partially_implemented", "note": "Half done.", "effective_date": "2020-02-03"},
        format="json",
    )
    assert response.status_code == 201
    assert response["ETag"] == '"2"'
    body = response.json()
    assert (body["from_status"], body["to_status"], body["recorded_by"]) == (
        "not_assessed",
        "partially_implemented",
        "ana",
    )
    recommendation.refresh_from_db()
    assert (recommendation.status, recommendation.status_date, recommendation.version) == (
        "partially_implemented",
        datetime.date(2020, 2, 3),
        2,
    )
    log = analyst_api.get(item_url("T-1", "status-changes/")).json()
    assert [c["id"] for c in log["results"]] == [body["id"]]


def test_service_refusals_are_400s_naming_the_field(analyst_api, recommendation):
    future = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    response = analyst_api.post(
        item_url("T-1", "status-changes/"), {"status": "done", "note": "", "effective_date": future}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["note"] == [ERROR_NOTE_REQUIRED]
    assert "status" in body
    refused_by_service = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {"status": "implemented", "note": "x", "effective_date": future},
        format="json",
    )
    assert refused_by_service.status_code == 400
    assert "future" in refused_by_service.json()["effective_date"][0]


def test_new_evidence_with_a_refused_change_is_not_kept(analyst_api, recommendation):
    future = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    response = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {
            "status": "implemented",
            "note": "Done.",
            "effective_date": future,
            "new_evidence": {"title": "Statement", "url": "https://example.org/s"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert not Evidence.objects.exists()


def test_a_status_change_with_new_or_existing_evidence(analyst_api, recommendation, other_theme):
    with_new = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {"status": "in_progress", "note": "Talks.", "new_evidence": {"title": "Communiqué", "url": "https://x.org/c"}},
        format="json",
    )
    assert with_new.status_code == 201
    assert with_new["ETag"] == '"2"'  # the change and its new evidence are one write: one new version
    evidence_id = with_new.json()["evidence"]["id"]
    with_existing = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {"status": "implemented", "note": "Done.", "evidence": evidence_id},
        format="json",
    )
    assert with_existing.status_code == 201
    assert with_existing.json()["evidence"]["title"] == "Communiqué"
    bad_url = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {"status": "implemented", "note": "x", "new_evidence": {"title": "x", "url": "javascript:alert(1)"}},
        format="json",
    )
    assert bad_url.status_code == 400
    assert "new_evidence.url" in bad_url.json()
    unknown = analyst_api.post(
        item_url("T-1", "status-changes/"), {"status": "implemented", "note": "x", "evidence": 999999}, format="json"
    )
    assert unknown.status_code == 400
    assert "No evidence with id 999999" in unknown.json()["evidence"][0]


def test_adding_evidence(analyst_api, recommendation):
    response = analyst_api.post(
        item_url("T-1", "evidence/"),
        {"title": "Statement", "url": "https://example.org/s", "published": "2018-06-01", "quote": "We met."},
        format="json",
    )
    assert response.status_code == 201
    assert response["ETag"] == '"2"'
    assert Evidence.objects.get().added_by.username == "ana"
    listed = analyst_api.get(item_url("T-1", "evidence/")).json()["results"]
    assert [(e["title"], e["quote"]) for e in listed] == [("Statement", "We met.")]
    refused = analyst_api.post(item_url("T-1", "evidence/"), {"title": "x", "url": "ftp://x.org/"}, format="json")
    assert refused.status_code == 400
    assert "http" in " ".join(refused.json()["url"])


def test_patch_changes_other_fields_and_refuses_the_rest(analyst_api, recommendation, other_theme):
    response = analyst_api.patch(
        item_url("T-1"),
        {"title": "Meet every year", "themes": ["navies"], "due_date": "2030-01-01"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert response.json()["themes"] == ["navies"]
    recommendation.refresh_from_db()
    assert (recommendation.title, recommendation.due_date) == ("Meet every year", datetime.date(2030, 1, 1))
    refused = analyst_api.patch(
        item_url("T-1"), {"status": "implemented", "code": "X-1"}, format="json", HTTP_IF_MATCH='"2"'
    )
    assert refused.status_code == 400
    assert set(refused.json()) == {"detail", "status", "code"}
    unknown = analyst_api.patch(item_url("T-1"), {"themes": ["nope"]}, format="json", HTTP_IF_MATCH='"2"')
    assert unknown.status_code == 400
    assert "Unknown theme: nope" in unknown.json()["themes"][0]


def test_patch_changes_a_translation_and_refuses_one_too_long(analyst_api, recommendation):
    response = analyst_api.patch(item_url("T-1"), {"title_ja": "毎年会合を開く"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    recommendation.refresh_from_db()
    assert recommendation.title_ja == "毎年会合を開く"
    assert recommendation.edits.filter(changes__has_key="title_ja").exists()
    too_long = analyst_api.patch(item_url("T-1"), {"title_fr": "x" * 201}, format="json", HTTP_IF_MATCH='"2"')
    assert too_long.status_code == 400
    assert "title_fr" in too_long.json()


def test_patch_requires_if_match(analyst_api, recommendation):
    response = analyst_api.patch(item_url("T-1"), {"title": "New"}, format="json")
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]
    recommendation.refresh_from_db()
    assert recommendation.title == "Item T-1"


@pytest.mark.parametrize("write", list(WRITES))
def test_a_stale_if_match_gets_412_and_changes_nothing(analyst_api, recommendation, write):
    method, tail, payload, _ = WRITES[write]
    recommendation_change_status(recommendation=recommendation, status="in_progress", note="Someone else.")
    recommendation.refresh_from_db()
    before = (recommendation.version, recommendation.title, recommendation.status)
    response = getattr(analyst_api, method)(item_url("T-1", tail), payload, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    assert "changed by someone else" in response.json()["detail"]
    assert response["ETag"] == '"2"'
    recommendation.refresh_from_db()
    assert (recommendation.version, recommendation.title, recommendation.status) == before
    assert StatusChange.objects.count() == 1
    assert not Evidence.objects.exists()


def test_a_stale_if_match_keeps_new_evidence_out_too(analyst_api, recommendation):
    recommendation_change_status(recommendation=recommendation, status="in_progress", note="Someone else.")
    payload = {"status": "implemented", "note": "x", "new_evidence": {"title": "x", "url": "https://x.org/"}}
    response = analyst_api.post(item_url("T-1", "status-changes/"), payload, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert not Evidence.objects.exists()


def test_the_retry_recipe_read_the_etag_then_write_with_it(analyst_api, recommendation):
    etag = analyst_api.get(item_url("T-1"))["ETag"]
    payload = {"status": "in_progress", "note": "Talks began."}
    first = analyst_api.post(item_url("T-1", "status-changes/"), payload, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 201
    # The same ETag again is now stale: someone (here, us) changed the item.
    again = analyst_api.post(item_url("T-1", "status-changes/"), payload, format="json", HTTP_IF_MATCH=etag)
    assert again.status_code == 412
    fresh = analyst_api.get(item_url("T-1"))["ETag"]
    assert fresh == first["ETag"] == '"2"'
    retried = analyst_api.post(item_url("T-1", "status-changes/"), payload, format="json", HTTP_IF_MATCH=fresh)
    assert retried.status_code == 201


@pytest.mark.parametrize(("if_match", "expected"), [('W/"1"', 201), ("1", 201), ("*", 201), ('"0", "1"', 201)])
def test_if_match_forms(analyst_api, recommendation, if_match, expected):
    response = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {"status": "in_progress", "note": "x"},
        format="json",
        HTTP_IF_MATCH=if_match,
    )
    assert response.status_code == expected


@pytest.mark.parametrize("if_match", ['"abc"', "W/", '"99999999999999999999999"'])
def test_an_if_match_that_names_no_version_is_412(analyst_api, recommendation, if_match):
    response = analyst_api.post(
        item_url("T-1", "status-changes/"),
        {"status": "in_progress", "note": "x"},
        format="json",
        HTTP_IF_MATCH=if_match,
    )
    assert response.status_code == 412
    assert "detail" in response.json()
    assert not StatusChange.objects.exists()


def test_writes_take_json_only(analyst_api, recommendation):
    response = analyst_api.post(item_url("T-1", "status-changes/"), "status=x", content_type="text/plain")
    assert response.status_code == 415
    assert "detail" in response.json()
    broken = analyst_api.post(item_url("T-1", "status-changes/"), "{", content_type="application/json")
    assert broken.status_code == 400


# --- CSV ---------------------------------------------------------------------


def test_csv_gives_every_row_with_a_header_in_utf8(api, items, theme, other_theme):
    response = api.get(f"{LIST}?format=csv&theme={theme.slug}")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="recommendations.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [row["code"] for row in rows] == ["T-1", "T-3"]
    assert list(rows[0]) == list(RecommendationListItemSerializer().fields)
    scholars = rows[1]
    assert scholars["title"] == "Café – Tokyo 東京 dialogue"
    assert scholars["themes"] == "dialogue; navies"
    assert rows[0]["owners"] == "gac"
    # Every row, not one page.
    assert len(csv_rows(api.get(f"{LIST}?format=csv&page_size=1"))) == 3


def test_csv_rows_say_what_the_json_list_says(api, storied, items, owner, source, django_assert_max_num_queries):
    """Themes, owners and evidence in the CSV are those of the JSON list, in the same order, with as_of too."""
    scholars = items["scholars"]
    second_owner = Owner.objects.create(
        slug="jsdf", name="Japan Self-Defense Forces", country="japan", kind="armed_forces"
    )
    scholars.owners.set([second_owner, owner])
    evidence_create(
        recommendation=scholars,
        title="A later web page",
        url="https://example.org/b",
        published=datetime.date(2021, 1, 1),
    )
    evidence_create(
        recommendation=scholars, title="The document itself", source=source, published=datetime.date(2020, 1, 1)
    )
    for query in ("", "&as_of=2020-06-01", "&theme=dialogue"):
        listed = api.get(f"{LIST}?page_size=500{query}").json()["results"]
        with django_assert_max_num_queries(2):  # the items and their aggregated themes, owners and evidence
            rows = csv_rows(api.get(f"{LIST}?format=csv{query}"))
        expected = [{column: csv_cell(value) for column, value in result.items()} for result in listed]
        for row in [*rows, *expected]:  # the same moment, written by the CSV and by JSON
            row["updated_at"] = datetime.datetime.fromisoformat(row["updated_at"])
        assert rows == expected
    by_code = {row["code"]: row for row in rows}
    assert by_code["T-3"]["evidence"] == f"http://testserver/sources/{source.slug}/; https://example.org/b"


def test_csv_by_accept_header_and_for_the_other_lists(api, storied):
    by_header = api.get(LIST, HTTP_ACCEPT="text/csv")
    assert [row["code"] for row in csv_rows(by_header)][:1] == ["T-1"]
    history = csv_rows(api.get(item_url("T-1", "status-changes/") + "?format=csv"))
    assert [row["to_status"] for row in history] == ["in_progress", "implemented"]
    evidence = csv_rows(api.get(item_url("T-1", "evidence/") + "?format=csv"))
    assert [row["url"] for row in evidence] == ["https://example.org/statement"]
    feed = csv_rows(api.get(f"{FEED}?format=csv"))
    assert [row["recommendation"] for row in feed] == ["T-1", "T-1"]
    statuses = csv_rows(api.get("/api/statuses/?format=csv"))
    assert [row["code"] for row in statuses] == list(Status.values)


# --- the change feed ---------------------------------------------------------


def test_the_change_feed_is_oldest_first_across_items_and_follows_since(api, items, analyst):
    first = recommendation_change_status(recommendation=items["navies"], status="implemented", note="One.")
    second = recommendation_change_status(recommendation=items["parent"], status="in_progress", note="Two.")
    third = recommendation_change_status(recommendation=items["navies"], status="superseded", note="Three.")
    body = api.get(FEED).json()
    assert [c["id"] for c in body["results"]] == [first.id, second.id, third.id]
    assert [c["recommendation"] for c in body["results"]] == ["T-2", "T-1", "T-2"]
    paged = api.get(f"{FEED}?page_size=2").json()
    assert [c["id"] for c in paged["results"]] == [first.id, second.id]
    assert paged["next"]
    # A script passes the recorded_at of the last change it processed (inclusive).
    since = body["results"][1]["recorded_at"]
    following = api.get(FEED, {"since": since}).json()["results"]
    assert [c["id"] for c in following] == [second.id, third.id]
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    assert api.get(f"{FEED}?since={tomorrow}").json()["count"] == 0
    bad = api.get(f"{FEED}?since=last-tuesday")
    assert bad.status_code == 400
    assert "since" in bad.json()


def test_feed_queries_do_not_grow_with_the_page(api, items, django_assert_max_num_queries):
    for n in range(20):
        recommendation_change_status(recommendation=items["navies"], status="in_progress", note=f"Again {n}.")
    with django_assert_max_num_queries(2):
        assert len(api.get(f"{FEED}?page_size=20").json()["results"]) == 20


# --- vocabularies, root, schema, docs, throttling ---------------------------


def test_statuses_list_the_seven_codes_with_their_definitions(api, recommendation):
    body = api.get("/api/statuses/").json()
    assert [s["code"] for s in body] == list(Status.values)
    assert all(s["definition"] == STATUS_DEFINITIONS[Status(s["code"])] for s in body)
    assert {s["code"]: s["item_count"] for s in body}["not_assessed"] == 1
    assert [s["code"] for s in body if s["closed"]] == ["implemented", "superseded", "not_pursued"]


def test_themes_owners_and_sources(api, items, theme, owner):
    themes = api.get("/api/themes/").json()
    assert [(t["slug"], t["item_count"]) for t in themes] == [("dialogue", 2), ("navies", 2)]
    assert api.get(themes[0]["items"]).json()["count"] == 2
    assert [o["slug"] for o in api.get("/api/owners/").json()] == ["gac"]
    sources = api.get("/api/sources/").json()
    assert [(s["slug"], s["item_count"]) for s in sources] == [("test-study", 3)]
    assert "text" not in sources[0]


def test_the_root_lists_the_endpoints(api):
    body = api.get("/api/").json()
    for name in ("recommendations", "changes", "themes", "owners", "sources", "statuses", "schema", "docs"):
        assert api.get(body[name]).status_code == 200, name


def test_the_schema_documents_every_endpoint_parameter_and_error(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/recommendations/",
        "/api/recommendations/{code}/",
        "/api/recommendations/{code}/status-changes/",
        "/api/recommendations/{code}/evidence/",
        "/api/changes/",
        "/api/themes/",
        "/api/owners/",
        "/api/sources/",
        "/api/statuses/",
    ):
        assert path in paths, path
    listed = {p["name"] for p in paths["/api/recommendations/"]["get"]["parameters"]}
    wanted = {"source", "theme", "owner", "status", "level", "parent", "search", "updated_since", "ordering"}
    assert wanted | {"page", "page_size", "format"} <= listed
    assert {"400", "401", "403", "429"} <= set(paths["/api/recommendations/"]["get"]["responses"])
    post = paths["/api/recommendations/{code}/status-changes/"]["post"]
    assert {"201", "400", "401", "403", "404", "412", "429"} <= set(post["responses"])
    assert any(p["name"] == "If-Match" for p in post["parameters"])
    patch = paths["/api/recommendations/{code}/"]["patch"]
    assert next(p for p in patch["parameters"] if p["name"] == "If-Match")["required"] is True
    assert "428" in patch["responses"]
    assert "since" in {p["name"] for p in paths["/api/changes/"]["get"]["parameters"]}
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_interactive_docs_are_served_from_the_tracker_itself(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    assert "/api/schema/" in html


def test_too_many_requests_is_a_429_in_json(api, recommendation, monkeypatch):
    monkeypatch.setattr(ApiAnonThrottle, "rate", "2/minute", raising=False)
    assert api.get(LIST).status_code == 200
    assert api.get(LIST).status_code == 200
    response = api.get(LIST)
    assert response.status_code == 429
    assert "throttled" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0


def test_the_real_seed_through_the_api(api, seeded):
    """Every seeded item is listed, and linked items show their links across the two documents."""
    assert api.get(f"{LIST}?page_size=1").json()["count"] == Recommendation.objects.count()
    link = RecommendationLink.objects.select_related("from_recommendation", "to_recommendation").first()
    assert link is not None
    detail = api.get(item_url(link.to_recommendation.code)).json()
    assert (link.from_recommendation.code, "incoming") in {(r["code"], r["direction"]) for r in detail["related"]}
    seeded_changes = api.get(FEED).json()
    assert seeded_changes["count"] == StatusChange.objects.count()


def test_an_unknown_format_is_a_400_saying_which_formats_there_are(api, recommendation):
    assert api.get(f"{LIST}?format=xml").json()["format"] == ["Use format=json or format=csv."]
    assert api.get(item_url("T-1") + "?format=csv").json()["format"] == ["Use format=json."]
    refused = api.get(LIST, HTTP_ACCEPT="application/xml")
    assert refused.status_code == 406
    assert "detail" in refused.json()


# --- as_of: statuses as they stood on a past date ---------------------------------------


def _change(item: Recommendation, status: str, when: str) -> StatusChange:
    return recommendation_change_status(
        recommendation=item, status=status, note="Assessed.", effective_date=datetime.date.fromisoformat(when)
    )


@pytest.fixture
def dated(items):
    """T-1 in progress from 2018-06-01 and implemented from 2020-03-01; T-3 not started from 2019-01-01."""
    _change(items["parent"], "in_progress", "2018-06-01")
    _change(items["parent"], "implemented", "2020-03-01")
    _change(items["scholars"], "not_started", "2019-01-01")
    return items


def test_list_with_as_of_gives_each_items_status_on_that_date(api, dated):
    body = api.get(f"{LIST}?as_of=2019-06-01").json()
    rows = {row["code"]: row for row in body["results"]}
    assert body["count"] == 3  # as_of selects nothing by itself
    assert (rows["T-1"]["status"], rows["T-1"]["status_date"]) == ("in_progress", "2018-06-01")
    assert (rows["T-3"]["status"], rows["T-3"]["status_date"]) == ("not_started", "2019-01-01")
    # T-2's current status was never logged: on any past date it was not assessed.
    assert (rows["T-2"]["status"], rows["T-2"]["status_date"]) == ("not_assessed", None)
    assert {row["as_of"] for row in body["results"]} == {"2019-06-01"}
    # The rows have exactly the documented fields, with or without as_of.
    assert set(rows["T-1"]) == set(RecommendationListItemSerializer().fields)


def test_list_without_as_of_gives_todays_status_and_a_null_as_of(api, dated):
    rows = {row["code"]: row for row in api.get(LIST).json()["results"]}
    assert (rows["T-1"]["status"], rows["T-1"]["status_date"]) == ("implemented", "2020-03-01")
    assert rows["T-2"]["status"] == "in_progress"
    assert {row["as_of"] for row in rows.values()} == {None}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=implemented", ["T-1"]),
        ("status=implemented&as_of=2019-06-01", []),
        ("status=in_progress&as_of=2019-06-01", ["T-1"]),
        ("status=in_progress&as_of=2018-05-31", []),
        ("status=not_assessed&as_of=2018-06-01", ["T-2", "T-3"]),
        ("status=not_started&as_of=2019-01-01", ["T-3"]),
        ("as_of=2019-06-01&ordering=-status", ["T-3", "T-2", "T-1"]),
        ("as_of=2019-06-01&ordering=-status_date", None),  # where nulls sort is the database's own
    ],
)
def test_status_and_its_ordering_follow_as_of_over_the_api_as_in_the_filterset(api, dated, query, expected):
    filterset = RecommendationFilterSet(QueryDict(query), Recommendation.objects.all())
    assert filterset.is_valid(), filterset.errors
    from_filterset = list(filterset.qs.values_list("code", flat=True))
    if expected is not None:
        assert from_filterset == expected
    assert all_codes(api, query) == from_filterset
    assert [row["code"] for row in csv_rows(api.get(f"{LIST}?{query}&format=csv"))] == from_filterset


def test_csv_with_as_of_has_the_as_of_status_date_and_column(api, dated):
    rows = {row["code"]: row for row in csv_rows(api.get(f"{LIST}?as_of=2019-06-01&format=csv"))}
    assert list(next(iter(rows.values()))) == list(RecommendationListItemSerializer().fields)
    assert (rows["T-1"]["status"], rows["T-1"]["status_date"], rows["T-1"]["as_of"]) == (
        "in_progress",
        "2018-06-01",
        "2019-06-01",
    )
    assert (rows["T-2"]["status"], rows["T-2"]["status_date"]) == ("not_assessed", "")
    today = {row["code"]: row for row in csv_rows(api.get(f"{LIST}?format=csv"))}
    assert (today["T-1"]["status"], today["T-1"]["as_of"]) == ("implemented", "")


def test_detail_with_as_of_gives_the_status_then_and_the_whole_history(api, dated):
    body = api.get(item_url("T-1") + "?as_of=2019-06-01").json()
    assert set(body) == set(RecommendationDetailSerializer().fields)
    assert (body["status"], body["status_date"], body["as_of"]) == ("in_progress", "2018-06-01", "2019-06-01")
    assert body["status_label"] == Status.IN_PROGRESS.label
    assert body["status_definition"] == STATUS_DEFINITIONS[Status.IN_PROGRESS]
    assert [h["to_status"] for h in body["status_history"]] == ["in_progress", "implemented"]
    before = api.get(item_url("T-1") + "?as_of=2018-05-31").json()
    assert (before["status"], before["status_date"]) == ("not_assessed", None)
    today = api.get(item_url("T-1")).json()
    assert (today["status"], today["status_date"], today["as_of"]) == ("implemented", "2020-03-01", None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", ERROR_AS_OF_FORMAT),
        ("2019-02-30", ERROR_AS_OF_FORMAT),
        ("2019-06-01T00:00:00Z", ERROR_AS_OF_FORMAT),
        ("2019%00", None),
        ("tomorrow", ERROR_AS_OF_FUTURE),
    ],
)
def test_a_bad_or_future_as_of_is_a_400_naming_the_parameter(api, dated, value, message):
    if value == "tomorrow":
        value = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    for url in (f"{LIST}?as_of={value}", f"{LIST}?as_of={value}&format=csv", item_url("T-1") + f"?as_of={value}"):
        response = api.get(url)
        assert response.status_code == 400, url
        body = response.json()
        assert set(body) == {"detail", "as_of"}, url
        if message:
            assert body["as_of"] == [message]


def test_as_of_list_queries_do_not_grow_with_the_page_size(api, make_recommendation, theme, owner):
    def make(first: int, last: int) -> None:
        for i in range(first, last):
            item = make_recommendation(f"Q-{i}", themes=[theme], owners=[owner])
            evidence_create(recommendation=item, title="Proof", url="https://example.org/proof")
            _change(item, "in_progress", "2018-06-01")
            _change(item, "implemented", "2020-03-01")

    def queries(query: str, size: int, status: str = "in_progress") -> int:
        cache.clear()  # the same request-rate bookkeeping for each request measured
        with CaptureQueriesContext(connection) as captured:
            response = api.get(f"{LIST}?{query}&page_size={size}")
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        assert {row["status"] for row in response.json()["results"]} == {status}
        return len(captured)

    query = f"theme={theme.slug}&as_of=2019-06-01&status=in_progress&ordering=-status_date"
    make(0, 1)
    one = queries(query, 1)
    make(1, 50)
    assert queries(query, 50) == one
    # Today's list costs the same number of queries: the as-of values come in the page's own query.
    assert queries(f"theme={theme.slug}&status=implemented", 50, "implemented") == one


def test_detail_with_as_of_costs_no_more_queries_than_without(api, dated):
    cache.clear()
    with CaptureQueriesContext(connection) as today:
        api.get(item_url("T-1"))
    cache.clear()
    with CaptureQueriesContext(connection) as then:
        api.get(item_url("T-1") + "?as_of=2019-06-01")
    assert len(then) == len(today)


def test_the_schema_documents_as_of_on_the_list_and_the_detail(api):
    paths = json.loads(api.get("/api/schema/?format=json").content)["paths"]
    for path in ("/api/recommendations/", "/api/recommendations/{code}/"):
        parameter = next(p for p in paths[path]["get"]["parameters"] if p["name"] == "as_of")
        assert parameter["in"] == "query"
        assert parameter["schema"]["format"] == "date"
        assert "not_assessed" in parameter["description"]


def test_the_seed_as_of_the_day_before_and_the_day_of_the_2018_brief(api, seeded):
    before = csv_rows(api.get(f"{LIST}?as_of=2018-05-31&format=csv"))
    assert len(before) == Recommendation.objects.count()
    assert {row["status"] for row in before} == {"not_assessed"}
    on_the_day = api.get(f"{LIST}?as_of=2018-06-01&status=in_progress&page_size=500").json()
    assert "BM18-1" in [row["code"] for row in on_the_day["results"]]
    assert api.get(item_url("BM18-1") + "?as_of=2018-06-01").json()["status"] == "in_progress"
    assert api.get(item_url("BM18-1") + "?as_of=2018-05-31").json()["status"] == "not_assessed"


def test_the_exact_counts_read_no_table_the_filter_does_not_need(client, recommendation, analyst):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    recommendation_change_status(recommendation=recommendation, status="in_progress", note="Talks", recorded_by=analyst)
    for path, needless in [
        ("/api/recommendations/?status=in_progress", ("recommendations_source",)),
        ("/api/changes/?since=2000-01-01", ("recommendations_recommendation",)),
    ]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).json()["count"] == 1
        count_sql = next(q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper())
        assert not any(table in count_sql for table in needless), (path, count_sql)


def test_patch_takes_the_editable_fields_the_service_names_links_aside():
    from recommendations.api.serializers import RecommendationUpdateSerializer
    from recommendations.services import EDITABLE_FIELDS

    # Links are edited on the item's admin page, where their form is; every other editable field is here.
    assert set(RecommendationUpdateSerializer().fields) == EDITABLE_FIELDS - {"links"}
