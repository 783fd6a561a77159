"""The same pages in English, French and Japanese: the addresses, the switch, the remembered choice, `lang`.

English pages keep today's addresses; French and Japanese ones stand under /fr/ and /ja/ with the
same query string. Each page links to itself in the other languages (`hreflang`) and offers a switch
that keeps the page and its filters; a reader who chose French or Japanese is brought back to it
from an English address. The API and the health check have one address each.
"""

import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

FILTERED = "/?theme=agreements&status=in_progress"


def _html_lang(response):
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


@pytest.mark.parametrize(
    ("path", "language"),
    [("/", "en"), ("/fr/", "fr"), ("/ja/", "ja"), ("/fr/progress/", "fr"), ("/ja/methodology/", "ja")],
)
def test_each_page_says_its_language(client, db, seeded_once, path, language):
    response = client.get(path)
    assert response.status_code == 200
    assert _html_lang(response) == language
    assert response["Content-Language"] == language


def test_each_page_links_to_itself_in_every_language_with_its_filters(client, db, seeded_once):
    body = client.get("/fr" + FILTERED).content.decode()
    query = "?theme=agreements&amp;status=in_progress"
    assert f'hreflang="en" href="http://testserver/{query}"' in body
    assert f'hreflang="fr" href="http://testserver/fr/{query}"' in body
    assert f'hreflang="ja" href="http://testserver/ja/{query}"' in body
    assert f'hreflang="x-default" href="http://testserver/{query}"' in body
    item = client.get("/ja/recommendations/JN97-A/").content.decode()
    assert 'hreflang="en" href="http://testserver/recommendations/JN97-A/"' in item


def test_the_switch_keeps_the_page_and_its_filters_and_remembers_the_choice(client, db, seeded_once):
    english = client.get(FILTERED).content.decode()
    switch = re.search(r'<a href="([^"]+)" lang="fr"', english).group(1).replace("&amp;", "&")
    chosen = client.get(switch)
    assert chosen.status_code == 302
    assert chosen["Location"] == "/fr" + FILTERED
    assert chosen.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"

    # Remembered: an English address now brings the reader to the same page in French, filters kept.
    again = client.get("/progress/?as_of=2018-06-01")
    assert (again.status_code, again["Location"]) == (302, "/fr/progress/?as_of=2018-06-01")
    assert "Cookie" in again["Vary"]

    # Back to English: the English addresses stay English.
    back = client.get(re.search(r'<a href="([^"]+)" lang="en"', client.get("/fr/").content.decode()).group(1))
    assert back["Location"] == "/"
    assert client.get("/progress/").status_code == 200


def test_the_choice_never_moves_the_api_or_a_form_post(client, db, seeded_once):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    assert client.get("/api/recommendations/JN97-A/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/admin/login/", {"username": "x", "password": "y"}).status_code != 302


def test_a_reader_without_a_choice_reads_english_at_english_addresses(client, db, seeded_once):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="ja,fr;q=0.8")
    assert response.status_code == 200
    assert _html_lang(response) == "en"


def test_the_switch_refuses_another_site_and_an_unknown_language(client, db, seeded_once):
    response = client.get("/i18n/fr/?next=https://evil.example/")
    assert response["Location"] == "/fr/"
    assert client.get("/i18n/de/?next=/").status_code == 404


def test_quotations_stay_in_english_and_say_so(client, db, seeded_once):
    body = client.get("/fr/recommendations/JN97-A/").content.decode()
    assert re.search(r'<blockquote[^>]*lang="en"', body)
    assert "Citation telle que publiée, dans l’original anglais." in body or "original anglais" in body
    japanese = client.get("/ja/recommendations/JN97-A/").content.decode()
    assert re.search(r'<blockquote[^>]*lang="en"', japanese)
    assert "原文" in japanese


def test_translated_titles_show_and_a_missing_one_shows_the_english_marked(client, db, seeded_once):
    from recommendations.models import Recommendation

    item = Recommendation.objects.get(code="JN97-A")
    assert item.title_ja in client.get("/ja/recommendations/JN97-A/").content.decode()
    Recommendation.objects.filter(pk=item.pk).update(title_fr="")
    body = client.get("/fr/recommendations/JN97-A/").content.decode()
    assert re.search(rf'<span lang="en">{re.escape(item.title)}</span><span class="untranslated-mark"', body)
    assert "en anglais" in body
