"""The reviewer pages and feeds in French and Japanese: headings, labels and dates in the reader's language.

English stays at today's addresses and reads as before (tests/test_pages.py and the others hold it).
Needs the compiled catalogues (`python3 dev.py messages`, or `python3 dev.py test`).
"""

from __future__ import annotations

import html as entities
import re
from xml.etree import ElementTree

import pytest

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
# An item of the 1997 study whose status the seed records as of 1 June 2018, from the 2018 brief.
ITEM = "JN97-A"


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def _text(html: str) -> str:
    """The page's words without tags, spaces collapsed (non-breaking spaces kept)."""
    return re.sub(r"[ \t\r\n]+", " ", entities.unescape(re.sub(r"<[^>]+>", " ", html)))


def test_front_page_in_french(client, db, seeded_once):
    html = _page(client, "/fr/")
    text = _text(html)
    assert '<html lang="fr">' in html
    assert "<h1>Recommandations</h1>" in html
    assert "Outil de suivi des recommandations Canada-Japon" in text
    assert "Derniers changements d'état" in text
    assert "Passer au contenu principal" in text
    assert "Rechercher dans les titres et le texte cité" in text
    assert "Ordre du document (meilleure correspondance d'abord lors d'une recherche)" in text
    assert "Latest status changes" not in text and "Skip to main content" not in text
    # The header's stamp: the date of the latest change, as French writes dates.
    stamp = _text(html.split('data-testid="as-of"', 1)[1].split("</p>", 1)[0])
    assert "États consignés jusqu'au" in stamp
    months = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    assert re.search(rf"\d{{1,2}} ({months}) \d{{4}}", stamp)


def test_front_page_in_japanese(client, db, seeded_once):
    html = _page(client, "/ja/")
    text = _text(html)
    assert '<html lang="ja">' in html
    assert "<h1>提言</h1>" in html
    assert "日加提言追跡ツール" in text
    assert "最近の状況の変更" in text
    assert "表題及び引用原文を検索" in text
    stamp = _text(html.split('data-testid="as-of"', 1)[1].split("</p>", 1)[0])
    assert "までに記録された状況" in stamp
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", stamp)


def test_item_page_in_french_and_japanese(client, db, seeded_once):
    french = _page(client, f"/fr/recommendations/{ITEM}/")
    text = _text(french)
    for heading in ("Qui doit agir", "À propos de cet élément", "Chronologie de son état", "Preuves", "Échéance"):
        assert heading in text, heading
    # The seed's status of 1 June 2018: its effective date in the timeline, its evidence's date.
    assert '<time datetime="2018-06-01">1 juin 2018</time>' in french
    assert "2018-06-01</time>" not in french
    # The quotation stays in English.
    assert "Canada-Japan" in text

    japanese = _page(client, f"/ja/recommendations/{ITEM}/")
    text = _text(japanese)
    for heading in ("担当機関", "この項目について", "状況の経過", "根拠資料", "期限"):
        assert heading in text, heading
    assert '<time datetime="2018-06-01">2018年6月1日</time>' in japanese


def test_item_page_in_english_reads_as_before(client, db, seeded_once):
    html = _page(client, f"/recommendations/{ITEM}/")
    text = _text(html)
    assert '<html lang="en">' in html
    assert "Who must act" in text and "Timeline of its status" in text and "About this item" in text
    assert '<time datetime="2018-06-01">1 June 2018</time>' in html
    assert "juin" not in text and "提言" not in text


def test_progress_page_in_french(client, db, seeded_once):
    html = _page(client, "/fr/progress/")
    text = _text(html)
    assert "<h1>Aperçu de l'avancement</h1>" in html
    assert "État par source" in text and "État par thème" in text and "Année par année" in text
    assert "Tous les éléments" in text
    # The tables' headings and the bars' text equivalents.
    assert ">Année</th>" in html and ">Total</th>" in html
    assert "état à la fin de chaque année" in text
    assert re.search(r"\d+ sur \d+ clos \(mis en œuvre, remplacés ou non poursuivis\)", text)
    # A chosen date reads as French writes it.
    dated = _page(client, "/fr/progress/?as_of=2018-06-01")
    assert "Tous les éléments le 1 juin 2018" in _text(dated)
    assert "Year by year" not in text


def test_progress_page_in_japanese_with_a_date(client, db, seeded_once):
    html = _page(client, "/ja/progress/?as_of=2018-06-01")
    text = _text(html)
    assert "<h1>進捗の概要</h1>" in html
    assert "2018年6月1日時点の全項目" in text
    assert "原典別の状況" in text and "テーマ別の状況" in text


def test_sources_page_in_japanese(client, db, seeded_once):
    html = _page(client, "/ja/sources/")
    text = _text(html)
    assert "<h1>原典</h1>" in html
    assert "追跡ツールが提言を追跡する原典" in text
    assert re.search(r"— \d+項目。", text)
    # The documents' titles are not translated.
    assert "Japan and Canada: Enhancing Security Cooperation" in text
    assert "The documents whose recommendations" not in text


def test_source_page_in_french(client, db, seeded_once):
    html = _page(client, "/fr/sources/berkshire-miller-2018/")
    text = _text(html)
    assert "Ses éléments, dans l'ordre de lecture" in text
    assert "Comparer avec l'autre document" in text


def test_list_in_french_with_a_date(client, db, seeded_once):
    html = _page(client, "/fr/?as_of=2018-06-01")
    text = _text(html)
    assert "État de chaque élément en date du 1 juin 2018" in text
    assert "Avancement de ces éléments (sans le filtre d'état) le 1 juin 2018" in text
    assert "afficher ceux d'aujourd'hui" in text


def test_missing_item_in_japanese(client, db, seeded_once):
    response = client.get("/ja/recommendations/JN97-NOPE/")
    assert response.status_code == 404
    text = _text(response.content.decode())
    assert "コード「JN97-NOPE」の提言はない。" in text


def test_feed_in_french(client, db, seeded_once):
    response = client.get("/fr/feeds/changes/")
    assert response.status_code == 200
    feed = ElementTree.fromstring(response.content)  # noqa: S314 - the tracker's own feed
    assert feed.findtext(f"{ATOM}title") == "Outil de suivi des recommandations Canada-Japon\u00a0: changements d'état"
    assert feed.findtext(f"{ATOM}subtitle").startswith("Chaque changement d'état consigné")
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    summaries = [e.findtext(f"{ATOM}summary") for e in entries]
    assert any(re.match(r"En vigueur le \d{1,2} \w+ \d{4}\.", s) for s in summaries)
    assert any("Preuve\u00a0: " in s for s in summaries)


def test_item_feed_in_japanese(client, db, seeded_once):
    response = client.get(f"/ja/feeds/recommendations/{ITEM}/changes/")
    assert response.status_code == 200
    feed = ElementTree.fromstring(response.content)  # noqa: S314 - the tracker's own feed
    assert feed.findtext(f"{ATOM}title") == f"日加提言追跡ツール：{ITEM}の状況の変更"
    summaries = [e.findtext(f"{ATOM}summary") for e in feed.findall(f"{ATOM}entry")]
    assert any("2018年6月1日適用。" in s for s in summaries)
    # The English feed is unchanged.
    english = ElementTree.fromstring(client.get(f"/feeds/recommendations/{ITEM}/changes/").content)  # noqa: S314
    assert english.findtext(f"{ATOM}title") == f"Canada–Japan recommendation tracker: status changes of {ITEM}"
