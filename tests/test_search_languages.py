"""Search finds items by their French and Japanese titles, the same on SQLite and PostgreSQL.

Japanese is matched as pairs of characters (recommendations.cjk): a search finds the items whose
Japanese title holds the searched characters, in that order, next to each other, as a substring
search would; French words as written. English searches find and rank what they always have
(tests/test_search.py holds them to it).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection

from recommendations import cjk
from recommendations.highlight import highlight
from recommendations.management.commands.search import codes_for
from recommendations.models import Recommendation
from recommendations.services import recommendation_update
from tests.test_search import EXPECTED

pytestmark = pytest.mark.django_db

API_URL = "/api/recommendations/"


def _page_codes(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<li class="item" data-code="([^"]+)"', response.content.decode())


def _api_codes(client, search: str, **headers) -> list[str]:
    body = client.get(API_URL, {"search": search, "page_size": 200}, **headers).json()
    assert body["count"] == len(body["results"])
    return [row["code"] for row in body["results"]]


def _with_japanese_title(text: str) -> set[str]:
    return set(Recommendation.objects.filter(title_ja__contains=text).values_list("code", flat=True))


# Two, four and one character(s), and a whole title's worth: each finds exactly the titles that hold it.
JAPANESE = ["協定", "安全保障", "協", "防衛協議", "日加安全保障協力", "アジア太平洋"]


@pytest.mark.parametrize("search", JAPANESE)
def test_a_japanese_search_finds_the_japanese_titles_that_hold_it(client, seeded, search):
    expected = _with_japanese_title(search)
    assert expected, f"the seed has a Japanese title with {search}"
    assert set(codes_for(search)) == expected
    assert set(_api_codes(client, search)) == expected
    page = _page_codes(client.get("/", {"search": search}))  # the first page of 25
    assert set(page) <= expected and len(page) == min(len(expected), 25)


def test_the_api_and_the_list_pages_find_security_in_japanese(client, seeded, reviewer):
    expected = _with_japanese_title("安全保障")
    assert len(expected) > 10
    assert set(_api_codes(client, "安全保障")) == expected
    assert set(_api_codes(client, "安全保障", HTTP_ACCEPT_LANGUAGE="ja")) == expected
    client.force_login(reviewer)
    for prefix in ("", "/ja", "/fr"):
        assert set(_page_codes(client.get(f"{prefix}/", {"search": "安全保障"}))) == expected
    # The Japanese page of an agreement search renders, every match listed.
    assert set(_page_codes(client.get("/ja/", {"search": "協定"}))) == _with_japanese_title("協定")


def test_japanese_characters_match_only_next_to_each_other(seeded):
    # 平和・安全保障 is in titles; with the middle dot gone the characters are no longer next to each other.
    assert _with_japanese_title("平和・安全保障")
    assert codes_for("平和安全保障") == []
    assert set(codes_for("平和・安全保障")) == _with_japanese_title("平和・安全保障")
    # Both words, anywhere in the title; and one of them left out.
    both = _with_japanese_title("協定") & _with_japanese_title("安全保障")
    assert both and set(codes_for("協定 安全保障")) == both
    assert set(codes_for("協定 -安全保障")) == _with_japanese_title("協定") - both
    # Characters that no title holds next to each other find nothing, though each is in some title.
    assert _with_japanese_title("保") and _with_japanese_title("定") and codes_for("保定") == []


def test_a_french_search_finds_the_french_titles_with_the_word_as_written(client, seeded):
    def with_word(word: str) -> set[str]:
        pattern = re.compile(rf"(?<!\w){word}(?!\w)")
        return {
            code
            for code, title in Recommendation.objects.values_list("code", "title_fr")
            if pattern.search(title.lower())
        }

    expected = with_word("défense")
    assert expected
    assert set(codes_for("défense")) == expected
    assert set(codes_for("Défense")) == expected
    assert set(_api_codes(client, "« défense »")) == expected
    assert set(_page_codes(client.get("/fr/", {"search": "défense"}))) == expected
    # As written: the accent counts, and French words are not stemmed (nor read as English).
    assert codes_for("defense") != codes_for("défense")
    assert set(codes_for('"forces en visite"')) == with_word("forces en visite")


def test_english_searches_find_what_they_always_did(seeded):
    for search in ("visit", "visiting forces", "port", "Kashima Halifax", "peace and security"):
        assert codes_for(search) == EXPECTED[search], search


def test_translated_titles_rank_first_for_readers_of_that_language(client, make_recommendation):
    make_recommendation("S-1", title="Ministers", text="Ministers should discuss défense.")
    make_recommendation("S-2", title="Ministers", title_fr="La défense", text="Ministers should meet.")
    # In English, the text's match first: no English title has the word.
    assert _api_codes(client, "défense") == ["S-1", "S-2"]
    assert _page_codes(client.get("/", {"search": "défense"})) == ["S-1", "S-2"]
    assert codes_for("défense") == ["S-1", "S-2"]
    # A reader of French sees the French title, which has it.
    assert _page_codes(client.get("/fr/", {"search": "défense"})) == ["S-2", "S-1"]
    assert codes_for("défense", "fr") == codes_for("défense", "ja") == ["S-2", "S-1"]


def test_the_index_follows_every_write_of_a_translated_title(make_recommendation, analyst):
    item = make_recommendation("S-1", title="Frigates", title_ja="護衛艦の寄港", title_fr="Frégates")
    make_recommendation("S-2", title="Ministers", title_ja="閣僚協議")
    assert codes_for("寄港") == ["S-1"] and codes_for("frégates") == ["S-1"]
    recommendation_update(
        recommendation=item, data={"title_ja": "潜水艦の寄港"}, edited_by=analyst, expected_version=item.version
    )
    assert codes_for("護衛艦") == [] and codes_for("潜水艦") == ["S-1"]
    Recommendation.objects.filter(code="S-2").update(title_ja="閣僚の寄港", title_fr="Escales")
    assert codes_for("寄港") == ["S-1", "S-2"] and codes_for("協議") == [] and codes_for("escales") == ["S-2"]
    # Written by SQL alone, as a bulk load does.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Recommendation._meta.db_table} SET title_ja = %s WHERE code = %s", ["首脳会談", "S-1"])  # noqa: S608
    assert codes_for("首脳") == ["S-1"] and codes_for("潜水艦") == []


def test_full_width_letters_are_the_ascii_ones(make_recommendation):
    make_recommendation("S-1", title="WTO accession", title_ja="ＷＴＯ加盟")
    make_recommendation("S-2", title="Ministers", title_ja="ＡＳＥＡＮ地域フォーラム（ＡＲＦ）")
    assert codes_for("ＷＴＯ") == ["S-1"] and codes_for("wto") == ["S-1"]
    assert codes_for("arf") == ["S-2"] and codes_for("ＡＳＥＡＮ地域") == ["S-2"]


def test_japanese_words_are_marked_where_they_were_found():
    title = "2〜3年以内の日加平和・安全保障協力協定の締結 <b>"
    assert str(highlight(title, "安全保障 協定")) == (
        "2〜3年以内の日加平和・<mark>安全保障</mark>協力<mark>協定</mark>の締結 &lt;b&gt;"
    )
    assert str(highlight("日加協力と協議", "協")) == "日加<mark>協</mark>力と<mark>協</mark>議"
    assert str(highlight("Ship visits", "visiting")) == "Ship <mark>visits</mark>"


SAMPLES = [
    "",
    "Port visits, CP-140 and the 2+2 (U.N.)",
    "2〜3年以内の日加平和・安全保障協力協定の締結",
    "相手国の安全保障の主要概念（協調的安全保障、総合安全保障、人間の安全保障）の理解",
    "ＷＴＯ　ＡＳＥＡＮ地域フォーラム「ＡＲＦ」：１００％",
    "ｶﾀｶﾅとカタカナー、々〆〇ゝゞヽヾ 𠮷野家",
    "日本Canada日本 x協y 協",
    "Défense « nationale » l'ONU — 50 %",
]


def test_the_pairs_are_as_described():
    assert cjk.search_form("日加安全保障協力") == " 日加 加安 安全 全保 保障 障協 協力 力 "
    assert cjk.search_form("協") == " 協 "
    assert cjk.search_form("Port visits") == "Port visits"
    assert cjk.search_form("ＷＴＯ（世界）") == "WTO( 世界 界 )"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's function against the Python one")
def test_postgresql_writes_the_pairs_as_python_does(seeded):
    titles = list(Recommendation.objects.values_list("title_ja", flat=True))
    texts = [*SAMPLES, *titles]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t, {cjk.SQL_FUNCTION}(t) FROM unnest(%s::text[]) AS t", [texts])  # noqa: S608
        theirs = dict(cursor.fetchall())
    assert {t: theirs[t] for t in texts} == {t: cjk.search_form(t) for t in texts}
