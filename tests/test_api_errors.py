"""Errors of the API as a script meets them: every status is JSON in the one documented shape, never a
500 for bad input, never a traceback; and the schema documents each error an operation gives."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommendations.api.exceptions import (
    ERROR_BAD_REQUEST,
    ERROR_NO_SUCH_ENDPOINT,
    ERROR_SERVER,
    bad_request,
    page_not_found,
    server_error,
)
from recommendations.api.parsers import ERROR_TOO_DEEP, MAX_JSON_DEPTH
from recommendations.api.permissions import ApiAnonThrottle
from recommendations.api.serializers import ERROR_NOT_TEXT
from recommendations.filters import ERROR_ORDERING_EMPTY, ERROR_ORDERING_REPEATED
from recommendations.models import StatusChange

pytestmark = pytest.mark.django_db

LIST = "/api/recommendations/"
CHANGES = "/api/recommendations/T-1/status-changes/"
EVIDENCE = "/api/recommendations/T-1/evidence/"
ITEM = "/api/recommendations/T-1/"


@pytest.fixture
def api():
    return APIClient(raise_request_exception=False)


@pytest.fixture
def analyst_api(analyst):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    return client


def error_body(response, status: int) -> dict:
    """Assert the one error shape, as a script reads it, and return the body.

    JSON; `detail` a sentence; any other key a list of messages (a 400's fields), or a 412's
    `current_version`; nothing that looks like a traceback.
    """
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict)
    assert isinstance(body["detail"], str) and body["detail"].strip()
    for key, value in body.items():
        if key == "detail":
            continue
        if key == "current_version":
            assert status == 412 and isinstance(value, int)
            continue
        assert status == 400, f"{status} has the field key {key}"
        assert isinstance(value, list) and value and all(isinstance(m, str) for m in value), (key, value)
    text = response.content.decode()
    assert "Traceback" not in text and 'File "' not in text
    return body


# --- ordering: one FilterSet, the API and the pages agree ------------------------------------


@pytest.mark.parametrize(
    ("ordering", "message"),
    [
        (",", ERROR_ORDERING_EMPTY),
        ("code,,status", ERROR_ORDERING_EMPTY),
        ("code,", ERROR_ORDERING_EMPTY),
        ("code,code", ERROR_ORDERING_REPEATED % {"terms": "code"}),
        ("-status,code,-status", ERROR_ORDERING_REPEATED % {"terms": "-status"}),
    ],
)
def test_an_empty_or_repeated_ordering_term_is_a_400_naming_ordering(api, recommendation, client, ordering, message):
    body = error_body(api.get(LIST, {"ordering": ordering}), 400)
    assert body["ordering"] == [message]
    assert "ordering" in body["detail"]
    assert error_body(api.get(LIST, {"ordering": ordering, "format": "csv"}), 400)["ordering"] == [message]
    # The reviewer page renders, with the message beside the sort control.
    page = client.get("/", {"ordering": ordering})
    assert page.status_code == 400
    html = page.content.decode()
    assert '<p class="error" id="ordering-error">' in html
    assert message.split(":")[0] in html


def test_distinct_ordering_terms_still_sort(api, make_recommendation):
    for code in ("T-2", "T-1", "T-3"):
        make_recommendation(code)
    response = api.get(LIST, {"ordering": "-code,status"})
    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["T-3", "T-2", "T-1"]


# --- bodies: depth, size, type, text -------------------------------------------------------


def test_a_deeply_nested_body_is_a_400_saying_the_limit(analyst_api, recommendation):
    body = error_body(analyst_api.post(CHANGES, "[" * 2000, content_type="application/json"), 400)
    assert body["detail"] == ERROR_TOO_DEEP.format(limit=MAX_JSON_DEPTH)
    too_deep = {"status": "in_progress", "note": "x", "extra": json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)}
    assert error_body(analyst_api.post(CHANGES, too_deep, format="json"), 400)["detail"] == body["detail"]
    # Brackets inside strings are text, not nesting.
    note = {"status": "in_progress", "note": "[" * 5000 + '{"'}
    assert analyst_api.post(CHANGES, note, format="json").status_code == 201
    assert StatusChange.objects.get().note == note["note"]


def test_a_body_over_the_limit_is_a_413_in_json(analyst_api, recommendation, settings):
    big = json.dumps({"status": "in_progress", "note": "x" * (10 * 2**20)})
    body = error_body(analyst_api.post(CHANGES, big, content_type="application/json"), 413)
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in body["detail"]
    assert error_body(analyst_api.patch(ITEM, big, content_type="application/json", HTTP_IF_MATCH='"1"'), 413)
    assert not StatusChange.objects.exists()


def test_a_body_that_is_not_json_is_a_415_and_malformed_json_a_400(analyst_api, recommendation):
    refused = error_body(analyst_api.post(CHANGES, "status=x", content_type="text/plain"), 415)
    assert "application/json" in refused["detail"]
    assert error_body(analyst_api.post(EVIDENCE, "<x/>", content_type="application/xml"), 415)
    broken = error_body(analyst_api.post(CHANGES, '{"note": ', content_type="application/json"), 400)
    assert broken["detail"].startswith("JSON parse error")
    assert error_body(analyst_api.post(CHANGES, b"\xff\xfe{", content_type="application/json"), 400)
    assert error_body(analyst_api.post(CHANGES, '{"note": NaN}', content_type="application/json"), 400)


@pytest.mark.parametrize(
    ("url", "method", "payload", "field"),
    [
        (CHANGES, "post", {"status": "in_progress", "note": 5}, "note"),
        (CHANGES, "post", {"status": "in_progress", "note": 1.5}, "note"),
        (EVIDENCE, "post", {"title": 2018, "url": "https://example.org/"}, "title"),
        (EVIDENCE, "post", {"title": "Statement", "publisher": 7}, "publisher"),
        (ITEM, "patch", {"title": 12}, "title"),
        (ITEM, "patch", {"editorial_note": True}, "editorial_note"),
    ],
)
def test_a_number_for_a_text_field_is_refused_naming_the_field(
    analyst_api, recommendation, url, method, payload, field
):
    response = getattr(analyst_api, method)(url, payload, format="json", HTTP_IF_MATCH='"1"')
    body = error_body(response, 400)
    kind = "true or false" if payload[field] is True else "a number"
    assert body[field] == [ERROR_NOT_TEXT.format(field=field, kind=kind)]
    assert field in body["detail"]
    recommendation.refresh_from_db()
    assert recommendation.version == 1


def test_a_list_field_takes_a_list_only(analyst_api, recommendation):
    body = error_body(analyst_api.patch(ITEM, {"owners": {}}, format="json", HTTP_IF_MATCH='"1"'), 400)
    assert "owners" in body
    recommendation.refresh_from_db()
    assert recommendation.version == 1


def test_an_unpaired_surrogate_in_text_is_a_400_not_a_500(analyst_api, recommendation):
    body = error_body(
        analyst_api.post(CHANGES, '{"status": "in_progress", "note": "a\\ud800b"}', content_type="application/json"),
        400,
    )
    assert "note" in body
    assert not StatusChange.objects.exists()


def test_a_400_keeps_each_field_at_the_top_level_with_a_detail_sentence(analyst_api, recommendation):
    body = error_body(analyst_api.post(CHANGES, {"status": "done", "note": ""}, format="json"), 400)
    assert set(body) == {"detail", "status", "note"}
    assert body["detail"].startswith("status: ") or body["detail"].startswith("note: ")
    assert "; " in body["detail"]
    # A field called `detail` cannot displace the sentence: it is named in it.
    refused = error_body(analyst_api.patch(ITEM, {"detail": "x"}, format="json", HTTP_IF_MATCH='"1"'), 400)
    assert refused["detail"].startswith("detail: ")
    # The input as a whole.
    whole = error_body(analyst_api.post(CHANGES, [1, 2], format="json"), 400)
    assert "non_field_errors" in whole


# --- every status in the one shape ----------------------------------------------------------


def test_401_403_404_405_406_412_428_are_json_in_the_one_shape(api, analyst_api, reviewer, recommendation):
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token nope")
    assert error_body(bad_token.get(LIST), 401)["detail"] == "Invalid token."
    assert error_body(api.post(CHANGES, {"status": "in_progress", "note": "x"}, format="json"), 401)
    reviewer_api = APIClient()
    reviewer_api.force_login(reviewer)
    assert error_body(reviewer_api.post(CHANGES, {"status": "in_progress", "note": "x"}, format="json"), 403)
    assert error_body(api.get("/api/recommendations/NOPE-1/"), 404)
    assert "page" in error_body(api.get(LIST, {"page": 9}), 404)["detail"]
    put = analyst_api.put(LIST, {}, format="json")
    assert "GET" in error_body(put, 405)["detail"]
    assert "GET" in put["Allow"]
    assert error_body(api.get(LIST, HTTP_ACCEPT="application/xml"), 406)
    stale = error_body(
        analyst_api.post(CHANGES, {"status": "in_progress", "note": "x"}, format="json", HTTP_IF_MATCH='"7"'), 412
    )
    assert stale["current_version"] == 1
    assert "If-Match" in error_body(analyst_api.patch(ITEM, {"title": "New"}, format="json"), 428)["detail"]


def test_429_is_json_in_the_one_shape(api, recommendation, monkeypatch):
    monkeypatch.setattr(ApiAnonThrottle, "rate", "1/minute", raising=False)
    assert api.get(LIST).status_code == 200
    response = api.get(LIST)
    assert error_body(response, 429)
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_address_is_a_json_404_whatever_the_method(method):
    # CSRF is enforced as for a browser: a POST to no endpoint still gets the JSON 404, not a CSRF page.
    client = APIClient(enforce_csrf_checks=True)
    body = error_body(getattr(client, method)("/api/no-such-thing/"), 404)
    assert body == {"detail": ERROR_NO_SUCH_ENDPOINT}


def test_too_many_query_parameters_is_a_json_400(api, recommendation):
    query = "&".join(f"theme=t{i}" for i in range(1200))
    assert error_body(api.get(f"{LIST}?{query}"), 400)["detail"] == ERROR_BAD_REQUEST


def test_pages_keep_their_html_errors(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- 500: JSON under /api/, with no traceback, even when the database fails ------------------------


def test_a_database_failure_under_the_api_is_a_json_500(api, recommendation):
    # A real failure of the database, inside this test's transaction (rolled back after it): the token
    # table is gone, so authenticating the request fails before any view code runs.
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {Token._meta.db_table}")
    api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = api.get(LIST)
    body = error_body(response, 500)
    assert body == {"detail": ERROR_SERVER}
    assert Token._meta.db_table not in response.content.decode()


def test_the_500_handler_answers_json_under_the_api_and_a_page_elsewhere():
    factory = RequestFactory()
    api_error = server_error(factory.get("/api/recommendations/"))
    assert api_error.status_code == 500
    assert json.loads(api_error.content) == {"detail": ERROR_SERVER}
    page_error = server_error(factory.get("/"))
    assert page_error.status_code == 500
    assert page_error["Content-Type"].startswith("text/html")


def test_the_400_and_404_handlers_answer_json_under_the_api(db):
    factory = RequestFactory()
    too_big = bad_request(factory.post("/api/recommendations/T-1/evidence/"), RequestDataTooBig("too big"))
    assert too_big.status_code == 413
    assert "bytes" in json.loads(too_big.content)["detail"]
    assert json.loads(bad_request(factory.get("/api/"), ValueError()).content) == {"detail": ERROR_BAD_REQUEST}
    assert json.loads(page_not_found(factory.get("/api/x/"), None).content) == {"detail": ERROR_NO_SUCH_ENDPOINT}
    assert page_not_found(factory.get("/x/"), None)["Content-Type"].startswith("text/html")


# --- the schema documents the errors that operations give -------------------------------------------


@pytest.fixture
def schema(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_operation_documents_its_errors_with_the_one_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert error["properties"]["detail"]["type"] == "string"
    assert error["properties"]["current_version"]["type"] == "integer"
    assert error["additionalProperties"] == {**error["additionalProperties"], "type": "array"}
    assert "PreconditionFailed" not in schema["components"]["schemas"]
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        wanted = {"400", "401", "403", "406", "414", "429", "500"}
        if method in ("post", "patch"):
            wanted |= {"404", "412", "413", "415"}
        if method == "patch":
            wanted.add("428")
        if "{code}" in path or "page" in {p["name"] for p in operation.get("parameters", [])}:
            wanted.add("404")  # no such item, or a page past the last
        assert wanted <= codes, (method, path, wanted - codes)
        # A request line too long for gunicorn never reaches Django: its short HTML page, said so.
        assert list(operation["responses"]["414"]["content"]) == ["text/html"], (method, path)
        for code in codes - {"200", "201", "414"}:
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/json"], (method, path, code)
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_required_text_fields_are_strings_of_at_least_one_character(schema):
    components = schema["components"]["schemas"]
    note = components["StatusChangeInput"]["properties"]["note"]
    assert (note["type"], note["minLength"]) == ("string", 1)
    assert components["EvidenceInput"]["properties"]["title"]["minLength"] == 1
    assert components["PatchedRecommendationUpdate"]["properties"]["title"]["minLength"] == 1
    ordering = next(p for p in schema["paths"][LIST]["get"]["parameters"] if p["name"] == "ordering")
    assert ordering["schema"]["uniqueItems"] is True
