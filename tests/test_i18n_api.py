"""The API in the language of the request's Accept-Language: French and Japanese errors and vocabularies,
English (exactly as before) without the header or for a language the tracker does not speak.

The catalogues must be compiled (`python3 dev.py test` or `python3 dev.py messages` does it).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommendations.api.exceptions import ERROR_NO_SUCH_ENDPOINT
from recommendations.api.language import language_from_accept_language
from recommendations.api.permissions import ERROR_ANALYSTS_ONLY
from recommendations.api.views import ERROR_NO_ITEM
from recommendations.filters import ERROR_AS_OF_FORMAT
from recommendations.services import ERROR_STALE_VERSION
from recommendations.vocabulary import STATUS_DEFINITIONS, Level, Status

pytestmark = pytest.mark.django_db

NB = "\u00a0"  # French puts a non-breaking space before a colon and inside « »
LIST = "/api/recommendations/"
ITEM = "/api/recommendations/T-1/"
CHANGES = "/api/recommendations/T-1/status-changes/"
STATUSES = "/api/statuses/"
TRANSLATIONS = Path(settings.BASE_DIR) / "fixtures" / "translations"


def agreed(language: str) -> dict:
    """The agreed words of the statuses and levels (fixtures/translations/<language>.yaml, locale/GLOSSARY.md)."""
    return yaml.safe_load((TRANSLATIONS / f"{language}.yaml").read_text(encoding="utf-8"))


def body(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def speaks(response, language: str) -> None:
    """The answer says its language and that it depends on Accept-Language."""
    assert response["Content-Language"] == language
    assert "Accept-Language" in [v.strip() for v in response["Vary"].split(",")]


@pytest.fixture
def api():
    return APIClient(raise_request_exception=False)


@pytest.fixture
def analyst_api(analyst):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    return client


# --- the vocabulary: exactly the glossary's words --------------------------------------


@pytest.mark.parametrize("language", ["fr", "ja"])
def test_the_catalogue_gives_each_status_and_level_exactly_the_agreed_words(language):
    words = agreed(language)
    with translation.override(language):
        for status in Status:
            assert str(status.label) == words["statuses"][status.value]["label"], status
            assert str(STATUS_DEFINITIONS[status]) == words["statuses"][status.value]["definition"], status
        for level in Level:
            assert str(level.label) == words["levels"][level.value]["label"], level


@pytest.mark.parametrize(("header", "language"), [("fr", "fr"), ("ja", "ja")])
def test_the_statuses_endpoint_answers_with_the_agreed_labels_and_definitions(api, header, language):
    response = api.get(STATUSES, HTTP_ACCEPT_LANGUAGE=header)
    rows = body(response, 200)
    speaks(response, language)
    words = agreed(language)["statuses"]
    assert [row["code"] for row in rows] == [status.value for status in Status]  # the codes never change
    assert {row["code"]: {"label": row["label"], "definition": row["definition"]} for row in rows} == words
    assert set(rows[0]) == {"code", "label", "definition", "closed", "item_count", "items"}


def test_the_statuses_csv_is_in_the_language_asked_for_too(api):
    response = api.get(STATUSES, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    speaks(response, "ja")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    assert rows[0]["code"] == "not_assessed" and rows[0]["label"] == "未評価"
    assert rows[4]["label"] == "実施済み"


def test_without_the_header_the_statuses_are_english_exactly_as_before(api):
    response = api.get(STATUSES)
    speaks(response, "en")
    rows = body(response, 200)
    assert rows[0]["label"] == "Not assessed"
    assert rows[0]["definition"] == (
        "No one has yet assessed this item against the evidence. The default for every item."
    )
    assert [row["label"] for row in rows] == [
        "Not assessed",
        "Not started",
        "In progress",
        "Partially implemented",
        "Implemented",
        "Superseded",
        "Not pursued",
    ]


def test_an_items_detail_has_its_status_in_the_language_and_an_etag_for_that_language(api, recommendation):
    french = api.get(ITEM, HTTP_ACCEPT_LANGUAGE="fr")
    data = body(french, 200)
    speaks(french, "fr")
    assert (data["status"], data["status_label"]) == ("not_assessed", "Non évalué")
    assert data["status_definition"] == agreed("fr")["statuses"]["not_assessed"]["definition"]
    assert data["version"] == 1
    assert french["ETag"] == '"1-fr"'
    english = api.get(ITEM)
    assert english["ETag"] == '"1"'  # English keeps the bare version, as before
    assert body(english, 200)["status_label"] == "Not assessed"
    assert api.get(ITEM, HTTP_ACCEPT_LANGUAGE="ja")["ETag"] == '"1-ja"'


def test_a_french_etag_never_makes_the_french_body_current_for_an_english_request(api, recommendation):
    # A cache holding the French variant revalidates an English request with the ETags it holds:
    # the answer is the English body with the English ETag, never a 304 for the French one.
    french_etag = api.get(ITEM, HTTP_ACCEPT_LANGUAGE="fr")["ETag"]
    english = api.get(ITEM, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=french_etag)
    assert english.status_code == 200
    assert english["ETag"] != french_etag
    assert body(english, 200)["status_label"] == "Not assessed"
    speaks(english, "en")


def test_a_write_takes_the_etag_read_in_french_and_answers_with_the_new_french_one(analyst_api, recommendation):
    etag = analyst_api.get(ITEM, HTTP_ACCEPT_LANGUAGE="fr")["ETag"]
    done = analyst_api.patch(ITEM, {"title": "Nouveau"}, format="json", HTTP_IF_MATCH=etag, HTTP_ACCEPT_LANGUAGE="fr")
    assert body(done, 200)["version"] == 2
    assert done["ETag"] == '"2-fr"'
    stale = analyst_api.patch(ITEM, {"title": "Encore"}, format="json", HTTP_IF_MATCH=etag)
    assert body(stale, 412)["current_version"] == 2
    assert stale["ETag"] == '"2"'


# --- errors in French and Japanese ------------------------------------------------------


def test_a_bad_filter_is_a_400_in_french(api, recommendation):
    response = api.get(LIST, {"theme": "nope"}, HTTP_ACCEPT_LANGUAGE="fr")
    data = body(response, 400)
    speaks(response, "fr")
    message = f"Thème inconnu{NB}: nope. Utilisez l'une des valeurs suivantes{NB}: dialogue."
    assert data == {"detail": f"theme{NB}: {message}", "theme": [message]}
    as_of = body(api.get(LIST, {"as_of": "yesterday"}, HTTP_ACCEPT_LANGUAGE="fr"), 400)
    assert as_of["as_of"] == ["Entrez une date au format AAAA-MM-JJ, p. ex. 2018-06-01."]


def test_a_bad_filter_is_a_400_in_japanese_with_every_problem_in_one_sentence(api, recommendation):
    response = api.get(LIST, {"theme": "nope", "as_of": "yesterday"}, HTTP_ACCEPT_LANGUAGE="ja")
    data = body(response, 400)
    speaks(response, "ja")
    assert data["theme"] == ["不明なテーマ：nope。次のいずれかを使用すること：dialogue。"]
    assert data["as_of"] == ["日付はYYYY-MM-DD形式で入力すること（例：2018-06-01）。"]
    assert data["detail"] == (
        "theme：不明なテーマ：nope。次のいずれかを使用すること：dialogue。as_of：日付はYYYY-MM-DD形式で入力すること（例：2018-06-01）。"
    )


@pytest.mark.parametrize(
    ("header", "language", "no_item", "no_endpoint"),
    [
        (
            "fr",
            "fr",
            "Aucune recommandation ne porte le code NOPE-1. Les codes ont la forme JN97-A; "
            "consultez /api/recommendations/.",
            "Il n'y a aucun point de terminaison de l'API à cette adresse. "
            "La liste des points de terminaison se trouve à /api/.",
        ),
        (
            "ja",
            "ja",
            "コードNOPE-1の提言はない。コードはJN97-Aのような形式である。/api/recommendations/ を参照すること。",
            "このアドレスにAPIのエンドポイントはない。エンドポイントの一覧は /api/ にある。",
        ),
    ],
)
def test_a_404_is_in_the_language_asked_for(api, recommendation, header, language, no_item, no_endpoint):
    response = api.get("/api/recommendations/NOPE-1/", HTTP_ACCEPT_LANGUAGE=header)
    assert body(response, 404) == {"detail": no_item}
    speaks(response, language)
    nowhere = api.post("/api/nowhere/", HTTP_ACCEPT_LANGUAGE=header)
    assert body(nowhere, 404) == {"detail": no_endpoint}
    speaks(nowhere, language)


@pytest.mark.parametrize("language", ["fr", "ja"])
def test_a_412_stale_version_is_in_the_language_asked_for(analyst_api, recommendation, language):
    response = analyst_api.post(
        CHANGES,
        {"status": "in_progress", "note": "x"},
        format="json",
        HTTP_IF_MATCH='"7"',
        HTTP_ACCEPT_LANGUAGE=language,
    )
    data = body(response, 412)
    speaks(response, language)
    assert data["current_version"] == 1
    assert response["ETag"] == f'"1-{language}"'
    # The services' sentence, read in the request's language when the refusal is made.
    with translation.override(language):
        assert data["detail"] == ERROR_STALE_VERSION.format(expected=7, actual=1)


def test_an_unreadable_if_match_is_a_412_in_french_and_japanese(analyst_api, recommendation):
    french = analyst_api.patch(ITEM, {"title": "x"}, format="json", HTTP_IF_MATCH='"abc"', HTTP_ACCEPT_LANGUAGE="fr")
    assert body(french, 412)["detail"] == (
        f'L\'en-tête If-Match ("abc") ne désigne aucune version de cet élément{NB}: '
        'envoyez l\'ETag que vous avez lu, p. ex. If-Match: "1".'
    )
    japanese = analyst_api.patch(ITEM, {"title": "x"}, format="json", HTTP_IF_MATCH='"abc"', HTTP_ACCEPT_LANGUAGE="ja")
    assert body(japanese, 412)["detail"] == (
        'If-Matchヘッダー（"abc"）は、この項目のいずれのバージョンも示していない。'
        '読み取ったETagを送信すること（例：If-Match: "1"）。'
    )


def test_401_and_403_are_in_the_language_asked_for(api, reviewer, recommendation):
    anonymous = api.post(CHANGES, {"status": "in_progress", "note": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert body(anonymous, 401)["detail"] == "Informations d'authentification non fournies."
    speaks(anonymous, "fr")
    reviewer_api = APIClient(raise_request_exception=False)
    reviewer_api.force_login(reviewer)
    change = {"status": "in_progress", "note": "x"}
    refused = reviewer_api.post(CHANGES, change, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert body(refused, 403)["detail"] == (
        "Seuls les analystes peuvent modifier l'outil de suivi. "
        "Demandez à un administrateur de vous ajouter au groupe des analystes."
    )
    japanese = reviewer_api.post(CHANGES, change, format="json", HTTP_ACCEPT_LANGUAGE="ja")
    assert body(japanese, 403)["detail"] == (
        "追跡ツールを変更できるのは分析担当者のみである。管理者に分析担当者グループへの追加を依頼すること。"
    )
    speaks(japanese, "ja")


def test_a_refused_field_and_a_refused_method_are_in_french(analyst_api, recommendation):
    etag = analyst_api.get(ITEM)["ETag"]
    refused = analyst_api.patch(ITEM, {"title": 5}, format="json", HTTP_IF_MATCH=etag, HTTP_ACCEPT_LANGUAGE="fr")
    assert body(refused, 400)["title"] == [
        "Indiquez title sous forme de texte entre guillemets droits, et non un nombre."
    ]
    put = analyst_api.put(LIST, {}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert body(put, 405)["detail"] == f"La méthode «{NB}PUT{NB}» n'est pas permise à cette adresse{NB}: utilisez GET."


# --- which language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-CA,fr;q=0.9", "fr"),
        ("fr-FR", "fr"),
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("de", "en"),
        ("de-DE,fr;q=0.5", "fr"),
        ("en-GB,fr;q=0.9", "en"),
        ("*", "en"),
        ("", "en"),
        ("not a language header;;", "en"),
    ],
)
def test_the_language_comes_from_accept_language_english_when_none_is_spoken(api, recommendation, header, language):
    assert language_from_accept_language(header) == language
    response = api.get("/api/recommendations/NOPE-1/", HTTP_ACCEPT_LANGUAGE=header)
    speaks(response, language)
    with translation.override(language):
        assert body(response, 404)["detail"] == ERROR_NO_ITEM.format(code="NOPE-1")


def test_without_the_header_every_error_is_english_exactly_as_before(api, reviewer, recommendation):
    response = api.get("/api/recommendations/NOPE-1/")
    speaks(response, "en")
    assert body(response, 404)["detail"] == (
        "No recommendation has the code NOPE-1. Codes look like JN97-A; see /api/recommendations/."
    )
    assert body(api.get("/api/nowhere/"), 404)["detail"] == str(ERROR_NO_SUCH_ENDPOINT)
    assert body(api.get(LIST, {"theme": "nope"}), 400) == {
        "detail": "theme: Unknown theme: nope. Use one of: dialogue.",
        "theme": ["Unknown theme: nope. Use one of: dialogue."],
    }
    assert body(api.get(LIST, {"as_of": "yesterday"}), 400)["as_of"] == [str(ERROR_AS_OF_FORMAT)]
    reviewer_api = APIClient(raise_request_exception=False)
    reviewer_api.force_login(reviewer)
    refused = reviewer_api.post(CHANGES, {"status": "in_progress", "note": "x"}, format="json")
    assert body(refused, 403)["detail"] == str(ERROR_ANALYSTS_ONLY)
    assert body(api.get(ITEM), 200)["status_label"] == "Not assessed"


def test_the_language_cookie_is_not_read_by_the_api(api, recommendation):
    # The pages remember a reader's choice in a cookie; a script's answer depends on its header alone.
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = api.get("/api/recommendations/NOPE-1/")
    speaks(response, "en")
    assert body(response, 404)["detail"].startswith("No recommendation has the code NOPE-1.")
    assert api.get(ITEM)["ETag"] == '"1"'


# --- the pages' errors keep their language -----------------------------------------------


@pytest.mark.parametrize("language", ["fr", "ja"])
def test_a_missing_page_under_a_language_prefix_is_an_html_page_in_that_language(client, language):
    response = client.get(f"/{language}/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Language"] == language
    english = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert english.status_code == 404 and english["Content-Type"].startswith("text/html")
    assert english["Content-Language"] == "en"


def test_the_health_check_says_its_language_and_keeps_its_codes(client, db):
    response = client.get("/healthz", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200 and json.loads(response.content) == {"status": "ok"}
    speaks(response, "ja")
    speaks(client.get("/healthz"), "en")
